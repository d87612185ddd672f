package gitlab

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/golden"

	"github.com/dataops-dev/dataops/internal/scm"
)

// annotations as the compile and dry-run stages make them.
var annotations = []scm.Annotation{
	{Path: "models/orders.sql", Line: 3, Level: scm.LevelFailure, Title: "compile",
		Message: `ref to unknown model "stg_order" (did you mean 'stg_orders'?)`},
	{Path: "models/payments.sql", Line: 3, EndLine: 5, Level: scm.LevelFailure, Title: "compile",
		Message: `unknown macro or function "cents_to_dolars" (did you mean 'cents_to_dollars'?)`},
	{Path: "./models/schema.yml", Line: 4, Level: scm.LevelWarning, Title: "properties",
		Message: `unknown key "descripton" in model properties (did you mean 'description'?)`},
	{Path: `models\marts\daily_revenue.sql`, Line: 0, Level: scm.LevelNotice, Title: "dry-run",
		Message: "adds column <net_revenue> & drops ü-column"},
	{Path: "models/a.sql", Line: 1, Level: "", Message: "dependency cycle: b -> c -> a -> b"},
	// The first again: GitLab shows a fingerprint once, so it is written once.
	{Path: "models/orders.sql", Line: 3, Level: scm.LevelFailure, Title: "compile",
		Message: `ref to unknown model "stg_order" (did you mean 'stg_orders'?)`},
}

func TestWriteCodeQuality(t *testing.T) {
	tests := []struct {
		name        string
		annotations []scm.Annotation
		golden      string
	}{
		{"compile and dry-run findings", annotations, "codequality.golden.json"},
		{"nothing found", nil, "codequality-empty.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCodeQuality(&buf, tt.annotations); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.golden, buf.Bytes())
		})
	}
}

// documentedIssue is a finding as GitLab's Code Quality report format
// documents it; decoding refuses any other field.
type documentedIssue struct {
	Description string `json:"description"`
	CheckName   string `json:"check_name"`
	Fingerprint string `json:"fingerprint"`
	Severity    string `json:"severity"`
	Location    struct {
		Path  string `json:"path"`
		Lines struct {
			Begin int `json:"begin"`
			End   int `json:"end"`
		} `json:"lines"`
	} `json:"location"`
}

func TestCodeQualityHasTheDocumentedShape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCodeQuality(&buf, annotations); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.DisallowUnknownFields()
	var issues []documentedIssue
	if err := dec.Decode(&issues); err != nil {
		t.Fatalf("the report does not decode as the documented array: %v", err)
	}
	if len(issues) != len(annotations)-1 {
		t.Fatalf("%d findings, want %d (one duplicate dropped)", len(issues), len(annotations)-1)
	}
	seen := map[string]bool{}
	for i, is := range issues {
		if is.Description == "" || is.CheckName == "" || is.Fingerprint == "" || is.Location.Path == "" {
			t.Errorf("finding %d lacks a required field: %+v", i, is)
		}
		if !slices.Contains([]string{"info", "minor", "major", "critical", "blocker"}, is.Severity) {
			t.Errorf("finding %d: severity %q is not a documented one", i, is.Severity)
		}
		if is.Location.Lines.Begin < 1 {
			t.Errorf("finding %d: lines.begin %d, want at least 1", i, is.Location.Lines.Begin)
		}
		if strings.HasPrefix(is.Location.Path, "./") || strings.Contains(is.Location.Path, `\`) {
			t.Errorf("finding %d: path %q is not clean and relative", i, is.Location.Path)
		}
		if seen[is.Fingerprint] {
			t.Errorf("finding %d: fingerprint %s repeats", i, is.Fingerprint)
		}
		seen[is.Fingerprint] = true
	}
	if got := []string{issues[0].Severity, issues[2].Severity, issues[3].Severity, issues[4].Severity}; !slices.Equal(got, []string{"critical", "minor", "info", "major"}) {
		t.Errorf("severities %v, want failure critical, warning minor, notice info, unknown major", got)
	}

	// The same finding keeps its fingerprint; another line changes it.
	moved := annotations[0]
	moved.Line = 4
	a, b := fingerprint("models/orders.sql", 3, annotations[0].Message), fingerprint("models/orders.sql", 4, moved.Message)
	if a != issues[0].Fingerprint || a == b {
		t.Errorf("fingerprints %s (stable: %s) and %s (moved) ", a, issues[0].Fingerprint, b)
	}
}

var suites = []TestSuite{
	{Name: "orders", Cases: []TestCase{
		{Name: "not_null_orders_order_id", Classname: "models.orders", File: "models/schema.yml", Line: 12, Time: 12 * time.Millisecond},
		{Name: "unique_orders_order_id", Classname: "models.orders", File: "./models/schema.yml", Line: 13, Time: 1500 * time.Millisecond,
			Failure: "3 rows failed\norder_id=1 (2 times)\norder_id=7 (2 times)"},
		{Name: `accepted_values_orders_status__placed__shipped`, Classname: "models.orders", File: "models/schema.yml", Line: 14,
			Error: "Binder Error: Referenced column \"statuz\" not found\x1b[0m\x00"},
		{Name: "relationships_orders_customer_id", Classname: "models.orders", Skipped: "upstream model stg_customers failed"},
	}},
	{Name: `payments <"&'>`, Cases: []TestCase{
		{Name: `expression_is_true "amount >= 0" & <cents>`, File: "tests/assert_amount.sql", Time: 250 * time.Microsecond},
	}},
	{Name: "empty"},
}

func TestWriteJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, suites); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "junit.golden.xml", buf.Bytes())

	var parsed struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Skipped  int      `xml:"skipped,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				File      string `xml:"file,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &parsed); err != nil {
		t.Fatalf("the report is not well-formed XML: %v", err)
	}
	if parsed.Tests != 5 || parsed.Failures != 1 || parsed.Errors != 1 || parsed.Skipped != 1 || len(parsed.Suites) != 3 {
		t.Errorf("totals %+v", parsed)
	}
	if got := parsed.Suites[1]; got.Name != `payments <"&'>` || got.Cases[0].Name != `expression_is_true "amount >= 0" & <cents>` || got.Cases[0].Classname != got.Name {
		t.Errorf("escaped names did not come back: %+v", got)
	}
	f := parsed.Suites[0].Cases[1].Failure
	if f == nil || f.Message != "3 rows failed" || f.Text != suites[0].Cases[1].Failure || parsed.Suites[0].Cases[1].File != "models/schema.yml" {
		t.Errorf("failure %+v", f)
	}
}
