package report_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/golden"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// TestDocument: the document of a breaking change holds the plan, the
// lineage, every diff with its samples as the comment writes them, the
// failing test with its sample, and reads back from JSON unchanged (values
// are text: a large integer or a date cannot change on the way).
func TestDocument(t *testing.T) {
	in := breakingInput(t)
	fct := in.Diffs[0].Result
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	masked := mask.Prefix + "3f2a91c0"
	fct.Samples.Changed = append(fct.Samples.Changed,
		datadiff.ChangedRow{Key: []any{int64(9007199254740993)}, Changes: map[string][2]any{"ordered_at": {day, day.Add(36 * time.Hour)}}},
		datadiff.ChangedRow{Key: []any{int64(11)}, Changes: map[string][2]any{"email": {masked, mask.Prefix + "77aa01bb"}, "note": {strings.Repeat("x", 1500), "y"}}})
	in.Build.Nodes = append(in.Build.Nodes, build.NodeResult{Name: "unique_contacts_email", Kind: project.KindTest, Path: "models/_contacts.yml",
		Status: build.StatusFail, Failures: 1, Message: "1 failing rows",
		Sample: &warehouse.Rows{Columns: []string{"email", "n"}, Values: [][]any{{masked, int64(2)}}}})

	doc := report.NewDocument(in)
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "document.json", []byte(string(data)+"\n"))
	var back report.Document
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, doc) {
		t.Errorf("the document changed through JSON:\n got %+v\nwant %+v", back, *doc)
	}

	if doc.Version != report.DocumentVersion || doc.Outcome != "failure" || doc.Headline != "failed: build, diff, gate" {
		t.Errorf("headline: %d %q %q", doc.Version, doc.Outcome, doc.Headline)
	}
	if doc.Lineage == nil || len(doc.Lineage.Nodes) == 0 || len(doc.Lineage.Edges) == 0 {
		t.Fatalf("lineage: %+v", doc.Lineage)
	}
	var changed []report.DocChangedValue
	for _, d := range doc.Diffs {
		if d.Model == "fct_orders" {
			changed = d.ChangedValues
		}
	}
	want := map[string]report.DocChangedValue{
		"9007199254740993/ordered_at": {Key: "9007199254740993", Column: "ordered_at", Base: "2024-03-01", Head: "2024-03-02 12:00:00"},
		"9/net_revenue":               {Key: "9", Column: "net_revenue", Base: "15.00", Head: "NULL"},
		"11/email":                    {Key: "11", Column: "email", Base: masked, Head: mask.Prefix + "77aa01bb"},
	}
	for _, v := range changed {
		if w, ok := want[v.Key+"/"+v.Column]; ok && w != v {
			t.Errorf("changed value %s/%s: %+v, want %+v", v.Key, v.Column, v, w)
		}
		if v.Column == "note" && !strings.HasSuffix(v.Base, "… (500 more characters)") {
			t.Errorf("a 1,500-character value is not bounded: %d characters", len(v.Base))
		}
	}
	if len(changed) != 5 {
		t.Errorf("%d changed values, want 5: %+v", len(changed), changed)
	}
	if len(doc.Failures) != 2 || doc.Failures[0].Where != "models/marts/_marts.yml:31" || doc.Failures[1].Sample == nil ||
		!reflect.DeepEqual(doc.Failures[1].Sample.Rows[0].Values, []string{masked, "2"}) {
		t.Errorf("failures: %+v", doc.Failures)
	}
}

// TestDocumentKeepsWhatTheCommentCut: a pull request too big for a
// comment: the comment drops the samples and says so, the document keeps
// every one.
func TestDocumentKeepsWhatTheCommentCut(t *testing.T) {
	in := hugeInput()
	comment, shortened := report.CommentShortened(in)
	if !shortened || strings.Contains(comment, "a long value before") {
		t.Fatalf("the comment was not shortened, or kept its samples (shortened %v)", shortened)
	}
	doc := report.NewDocument(in)
	samples := 0
	for _, d := range doc.Diffs {
		for _, v := range d.ChangedValues {
			if v.Base == "a long value before" && v.Head == "a long value after" {
				samples++
			}
		}
	}
	if len(doc.Diffs) != 600 || samples != 600*12 {
		t.Errorf("the document holds %d diffs and %d samples, want 600 and %d", len(doc.Diffs), samples, 600*12)
	}
	if _, short := report.CommentShortened(breakingInput(t)); short {
		t.Error("a small comment reported as shortened")
	}
}

// TestCommentLinksToTheRunPage: with the bot's public URL the comment
// links to the run's page, and a shortened one says the full report is
// there.
func TestCommentLinksToTheRunPage(t *testing.T) {
	const url = "https://dataops.example.com/repos/github/acme%2Fshop/runs/r1"
	in := breakingInput(t)
	in.RunURL = url
	if out := report.Comment(in); !strings.Contains(out, "· [full report]("+url+")</sub>") {
		t.Errorf("the comment does not link to the run's page:\n%s", out)
	}
	huge := hugeInput()
	huge.RunURL = url
	if out := report.Comment(huge); !strings.Contains(out, "This comment was shortened to fit GitHub's limit. The full report, with nothing left out, is on [the run's page]("+url+").") {
		t.Errorf("the shortened comment does not say where the full report is:\n%s", out[len(out)-600:])
	}
	if out := report.Comment(breakingInput(t)); strings.Contains(out, "full report](") {
		t.Error("a link without a public URL")
	}
}

// TestDocumentProfiles: every column of every profile, flagged ones
// marked, values as the data has them (the page escapes them).
func TestDocumentProfiles(t *testing.T) {
	doc := report.NewDocument(report.Input{Project: "shop", Diffs: profileDiffs(t)})
	data, err := json.MarshalIndent(doc.Diffs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "document-profile.json", []byte(string(data)+"\n"))
	p := doc.Diffs[0].Profile
	if p == nil || len(p.Columns) != 7 {
		t.Fatalf("fct_orders' profile: %+v", p)
	}
	byName := map[string]report.DocProfileColumn{}
	for _, c := range p.Columns {
		byName[c.Name] = c
	}
	if c := byName["status"]; !c.Flagged || !strings.Contains(c.Values, "“<lost>” (5)") || c.Distinct != "3 → 4" {
		t.Errorf("status: %+v", c)
	}
	if c := byName["ordered_at"]; c.Flagged || c.Changed || c.Range != "2024-03-01 … 2024-03-30" {
		t.Errorf("ordered_at: %+v", c)
	}
	if doc.Diffs[3].ProfileError == "" || doc.Diffs[3].Profile != nil {
		t.Errorf("a profile that failed: %+v", doc.Diffs[3])
	}
	if !strings.Contains(doc.Diffs[1].Profile.Note, "sampled rows (by the hash of whole rows)") || strings.Contains(doc.Diffs[1].Profile.Headline, "**") {
		t.Errorf("daily_revenue's profile: %+v", doc.Diffs[1].Profile)
	}
}

// TestDocumentListsEveryValue: a column with more values than a cell
// lists has all of them on the page.
func TestDocumentListsEveryValue(t *testing.T) {
	many := func(schema string) *profile.Profile {
		c := profile.Column{Name: "state", Type: "varchar", Kind: profile.KindText, Distinct: 8}
		for _, v := range []string{"a", "b", "c", "d", "e", "f", "g", "<h>"} {
			c.Values = append(c.Values, profile.ValueCount{Value: v, Count: 10})
		}
		return &profile.Profile{Relation: warehouse.Relation{Schema: schema, Name: "m"}, Exists: true, Rows: 80, Columns: []profile.Column{c}}
	}
	d, err := profile.Compare("m", many("main"), many("pr_1"), profile.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	doc := report.NewDocument(report.Input{Diffs: []report.ModelDiff{{Model: "m", Profile: d}}})
	col := doc.Diffs[0].Profile.Columns[0]
	if !strings.Contains(col.Values, "+3 more") || col.AllValues != "“a” (10) · “b” (10) · “c” (10) · “d” (10) · “e” (10) · “f” (10) · “g” (10) · “<h>” (10)" {
		t.Errorf("values %q, all %q", col.Values, col.AllValues)
	}
}
