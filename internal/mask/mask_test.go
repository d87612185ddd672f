package mask

import (
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

func compile(t *testing.T, files map[string]string) *project.Manifest {
	t.Helper()
	files["dbt_project.yml"] = "name: p\n"
	var list []project.File
	for p, c := range files {
		list = append(list, project.File{Path: p, Content: []byte(c)})
	}
	return projecttest.Compile(t, list, project.Target{Name: "dev", Schema: "main", Type: "duckdb"})
}

func TestNamed(t *testing.T) {
	p := NewPolicy(config.Mask{Defaults: true, Columns: []string{"*salary*"}, Except: []string{"email_domain", "tokens_*"}})
	tests := []struct {
		column string
		want   bool
	}{
		{"email", true}, {"Customer_Email", true}, {"EmailAddress", true}, {"phone_number", true}, {"ssn", true},
		{"customer_ssn", true}, {"password_hash", true}, {"api_token", true}, {"iban", true}, {"card_number", true},
		{"first_name", true}, {"date_of_birth", true}, {"street_address", true}, {"ip_address", true},
		{"base_salary", true},
		// Not sensitive by name.
		{"email_domain", false}, {"tokens_used", false}, {"customer_id", false}, {"credit_card_amount", false},
		{"address_id", false}, {"product_name", false}, {"lesson", false}, {"amount", false},
	}
	for _, tc := range tests {
		if got := p.Named(tc.column); got != tc.want {
			t.Errorf("Named(%q) = %v, want %v", tc.column, got, tc.want)
		}
	}
	if off := NewPolicy(config.Mask{Defaults: false}); off.Named("email") {
		t.Error("defaults off still masks email")
	}
}

func TestProjectMarks(t *testing.T) {
	m := compile(t, map[string]string{
		"seeds/raw_people.csv":   "id,contact,nick\n1,a@b.c,al\n",
		"models/people.sql":      "select id, contact, nick, 1 as score from {{ ref('raw_people') }}",
		"models/people_wide.sql": "select id, contact as reach, score from {{ ref('people') }}",
		"models/secrets.sql":     "select 1 as id, 'x' as anything",
		"models/other.sql":       "select 1 as id, 'x' as contact",
		"models/props.yml": `version: 2
seeds:
  - name: raw_people
    columns:
      - name: contact
        meta: {sensitive: true}
models:
  - name: people
    columns:
      - name: nick
        tags: [pii]
      - name: id
        tests: [unique]
      - name: contact
        tests: [not_null]
  - name: secrets
    config:
      tags: [pii]
`,
		"tests/no_short_contacts.sql": "select contact, nick, score from {{ ref('people') }} where length(contact) < 3",
	})
	p := NewPolicy(config.Mask{}, m)
	tests := []struct {
		node, column string
		want         bool
	}{
		{"seed.p.raw_people", "contact", true},
		{"seed.p.raw_people", "nick", false},
		{"model.p.people", "contact", true}, // downstream of the seed's mark
		{"model.p.people", "NICK", true},
		{"model.p.people", "score", false},
		{"model.p.people_wide", "contact", true},
		{"model.p.people_wide", "reach", false}, // renamed: only a pattern or a mark catches it
		{"model.p.secrets", "anything", true},   // the whole model is marked
		{"model.p.other", "contact", false},     // not downstream of any mark
		{"", "contact", false},
	}
	for _, tc := range tests {
		if got := p.Column(tc.node, tc.column); got != tc.want {
			t.Errorf("Column(%s, %s) = %v, want %v", tc.node, tc.column, got, tc.want)
		}
	}
	checked := 0
	for id, n := range m.Nodes {
		if n.Kind != project.KindTest {
			continue
		}
		sensitive := p.TestColumns(n, m)
		checked++
		switch {
		case strings.Contains(id, "not_null_people_contact"):
			// dbt's tests rename the column: every column of the rows is masked.
			if !sensitive("contact") || !sensitive("anything_else") {
				t.Errorf("%s: a test of a sensitive column must mask all its rows", id)
			}
		case strings.Contains(id, "unique_people_id"):
			if sensitive("unique_field") || sensitive("n_records") || !sensitive("nick") {
				t.Errorf("%s: masks by the tested model's columns", id)
			}
		case strings.Contains(id, "no_short_contacts"):
			if !sensitive("contact") || !sensitive("nick") || sensitive("score") {
				t.Errorf("%s: a singular test masks its parents' sensitive columns", id)
			}
		default:
			checked--
		}
	}
	if checked != 3 {
		t.Errorf("checked %d of the 3 tests", checked)
	}
}

// TestBaseMarksHold: a pull request that removes a mark does not unmask
// its own report, since the base revision's marks count too.
func TestBaseMarksHold(t *testing.T) {
	files := func(tags string) map[string]string {
		return map[string]string{
			"models/a.sql": "select 1 as id, 'x' as handle",
			"models/a.yml": "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: handle\n        tags: [" + tags + "]\n",
		}
	}
	base, head := compile(t, files("pii")), compile(t, files(""))
	if !NewPolicy(config.Mask{}, base, head).Column("model.p.a", "handle") {
		t.Error("the head's removal of the pii tag unmasked the column")
	}
	if NewPolicy(config.Mask{}, head).Column("model.p.a", "handle") {
		t.Error("unmarked column masked")
	}
}

func TestMasker(t *testing.T) {
	k := NewMasker()
	a, b := k.Mask("alice@example.com"), k.Mask("alice@example.com")
	if a != b {
		t.Errorf("equal values masked differently: %v %v", a, b)
	}
	s, _ := a.(string)
	if !strings.HasPrefix(s, Prefix) || len(s) != len(Prefix)+8 || strings.Contains(s, "alice") {
		t.Errorf("mask %q", s)
	}
	if k.Mask("bob@example.com") == a {
		t.Error("different values masked the same")
	}
	if NewMasker().Mask("alice@example.com") == a {
		t.Error("two reports' keys give the same mask: a mask could be looked up across reports")
	}
	if k.Mask(nil) != nil {
		t.Error("NULL masked")
	}
	if k.Mask(int64(5)) != k.Mask("5") || k.Mask([]byte("x")) != k.Mask("x") {
		t.Error("values shown the same mask differently")
	}
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if k.Mask(ts) != k.Mask(ts.In(time.FixedZone("x", 3600))) {
		t.Error("the same instant masked differently")
	}
	var zero Columns
	if v := zero.Value("anything", "secret"); v == "secret" || v == nil {
		t.Errorf("the zero Columns shows a value: %v", v)
	}
	c := NewColumns(func(col string) bool { return col == "email" }, k)
	if c.Value("id", 7) != 7 || c.Value("email", "alice@example.com") != a {
		t.Error("Columns.Value")
	}
	if d := Defaults(); d.Value("email", "x") == "x" || d.Value("id", "x") != "x" {
		t.Error("Defaults")
	}
	var none Set
	if none.Node("model.p.a").Value("id", 1) == 1 || none.Test(&project.Node{}, nil).Value("id", 1) == 1 || none.Message("could not convert string 'x' to INT32") == "could not convert string 'x' to INT32" {
		t.Error("the zero Set shows a value")
	}
}

func TestMessage(t *testing.T) {
	set := New(config.Mask{Defaults: true})
	m := func(v string) string { return set.Masker.Mask(v).(string) }
	tests := []struct{ in, want string }{
		{"Conversion Error: Could not convert string 'ruby@example.com' to INT32 when casting from source column email",
			"Conversion Error: Could not convert string " + m("ruby@example.com") + " to INT32 when casting from source column email"},
		{`invalid input syntax for type integer: "ruby@example.com"`, `invalid input syntax for type integer: ` + m("ruby@example.com")},
		{`invalid input syntax for type timestamp with time zone: "x@y"`, `invalid input syntax for type timestamp with time zone: ` + m("x@y")},
		{`invalid input value for enum mood: "sad"`, `invalid input value for enum mood: ` + m("sad")},
		{`value "99999999999" is out of range for type integer`, `value ` + m("99999999999") + ` is out of range for type integer`},
		{`Conversion Error: Could not convert string 'it''s' to INT32`, `Conversion Error: Could not convert string ` + m("it''s") + ` to INT32`},
		// Identifiers and SQL stay readable.
		{`column "email" does not exist`, `column "email" does not exist`},
		{`Binder Error: Referenced column "emial" not found in FROM clause!`, `Binder Error: Referenced column "emial" not found in FROM clause!`},
		{`relation "analytics.x" does not exist`, `relation "analytics.x" does not exist`},
	}
	for _, tc := range tests {
		if got := set.Message(tc.in); got != tc.want {
			t.Errorf("Message(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
