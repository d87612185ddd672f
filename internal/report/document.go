package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/scm"
)

// A Document is a run's whole report as the bot's web pages show it and
// its store keeps it: everything the comment says and everything it had
// to leave out (every model's diff with its samples and profile, every
// failing test, the plan, the lineage, every check's text). Values are
// already text, formatted as the comment formats them (NULL, dates
// without a midnight time), so that reading the stored JSON back cannot
// change one (a large integer into a float, a date into a timestamp), and
// samples are already masked: the pipeline masks sensitive values before
// they leave the warehouse. Text is plain, not markdown: the page escapes
// it.

// DocumentVersion is written into every Document; a reader meeting a newer
// one says so instead of showing it wrong.
const DocumentVersion = 1

// MaxDocumentValue bounds one value on the page, in characters; the rest
// is counted, not shown. Values come from the pull request's data.
const MaxDocumentValue = 1000

// Document is a run's whole report.
type Document struct {
	Version     int            `json:"version"`
	Project     string         `json:"project"`
	Environment string         `json:"environment,omitempty"`
	HeadSHA     string         `json:"head_sha"`
	Base        string         `json:"base,omitempty"`
	Comparison  scm.Comparison `json:"comparison"`
	// Headline sums the checks up ("failed: build, gate"); Outcome is
	// "failure", "running", "success" or "none".
	Headline string      `json:"headline"`
	Outcome  string      `json:"outcome"`
	Where    string      `json:"where"`
	Checks   []scm.Check `json:"checks"`
	Plan     *DocPlan    `json:"plan,omitempty"`
	Lineage  *Graph      `json:"lineage,omitempty"`
	Diffs    []DocDiff   `json:"diffs,omitempty"`
	// Failures are the models and tests that failed, with their samples.
	Failures []DocFailure `json:"failures,omitempty"`
	// Nodes are every node the build ran, in build order.
	Nodes []DocNode `json:"nodes,omitempty"`
	// CommentShortened: the pull request's comment left parts of this out.
	CommentShortened bool `json:"comment_shortened,omitempty"`
}

// DocPlan is what changed and what the checks built.
type DocPlan struct {
	Base    string      `json:"base"`
	Head    string      `json:"head"`
	Changes []DocChange `json:"changes"`
	// Built is how many nodes the plan selects (state:modified+).
	Built int `json:"built"`
}

// DocChange is one changed node.
type DocChange struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Path   string `json:"path,omitempty"`
	Status string `json:"status"`
	// Change says how ("modified: sql", "downstream of a, b").
	Change string `json:"change"`
	// ImpactKind is "breaking", "non-breaking", ... and Impact what it is
	// made of.
	ImpactKind string `json:"impact_kind,omitempty"`
	Impact     string `json:"impact,omitempty"`
}

// DocSide is one side of a diff.
type DocSide struct {
	Relation string `json:"relation"`
	Exists   bool   `json:"exists"`
	Rows     int64  `json:"rows"`
}

// DocDiff is one model's data compared with production.
type DocDiff struct {
	Model string   `json:"model"`
	Path  string   `json:"path"`
	Key   []string `json:"key,omitempty"`
	// Error says why the diff could not run (Compared false) or why it
	// only counted rows.
	Error    string  `json:"error,omitempty"`
	Compared bool    `json:"compared"`
	Keyed    bool    `json:"keyed"`
	Base     DocSide `json:"base"`
	Head     DocSide `json:"head"`
	Added    int64   `json:"added"`
	Removed  int64   `json:"removed"`
	Changed  int64   `json:"changed"`
	Same     int64   `json:"unchanged"`
	// Schema says which columns were added, removed, retyped, and which
	// keys could not be compared.
	Schema  string                `json:"schema,omitempty"`
	Columns []datadiff.ColumnDiff `json:"columns,omitempty"`
	// ChangedValues are the sample rows present on both sides, one line
	// per changed column.
	ChangedValues []DocChangedValue `json:"changed_values,omitempty"`
	OnlyInBase    *DocTable         `json:"only_in_base,omitempty"`
	OnlyInHead    *DocTable         `json:"only_in_head,omitempty"`
	Profile       *DocProfile       `json:"profile,omitempty"`
	ProfileError  string            `json:"profile_error,omitempty"`
}

// Anchor names the model's section on the page.
func (d DocDiff) Anchor() string { return "model-" + d.Model }

// DocChangedValue is one changed column of a sample row.
type DocChangedValue struct {
	Key    string `json:"key"`
	Column string `json:"column"`
	Base   string `json:"base"`
	Head   string `json:"head"`
}

// DocTable is sample rows: each row's key, then its values by Columns.
type DocTable struct {
	Columns []string `json:"columns"`
	Rows    []DocRow `json:"rows"`
}

// DocRow is one row of a DocTable.
type DocRow struct {
	Key    string   `json:"key,omitempty"`
	Values []string `json:"values"`
}

// DocProfile is one model's profile diff, every column.
type DocProfile struct {
	Headline string             `json:"headline"`
	Columns  []DocProfileColumn `json:"columns"`
	Flags    []profile.Flag     `json:"flags,omitempty"`
	Note     string             `json:"note,omitempty"`
}

// DocProfileColumn is one column's statistics, each "production → here"
// when it changed.
type DocProfileColumn struct {
	Name     string `json:"name"`
	Changed  bool   `json:"changed,omitempty"`
	Flagged  bool   `json:"flagged,omitempty"`
	Type     string `json:"type"`
	Nulls    string `json:"nulls"`
	Distinct string `json:"distinct"`
	Range    string `json:"range"`
	Mean     string `json:"mean"`
	Values   string `json:"values"`
	// AllValues lists every value of the head's column when Values could
	// list only some.
	AllValues string `json:"all_values,omitempty"`
}

// DocFailure is a model or test that failed.
type DocFailure struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Where   string `json:"where"`
	Message string `json:"message"`
	// Failures counts a test's failing rows; Sample shows some.
	Failures int64     `json:"failures,omitempty"`
	Sample   *DocTable `json:"sample,omitempty"`
}

// DocNode is one node the build ran.
type DocNode struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Materialized string `json:"materialized,omitempty"`
	Relation     string `json:"relation,omitempty"`
	Status       string `json:"status"`
	Rows         int64  `json:"rows"`
	Millis       int64  `json:"ms"`
	Message      string `json:"message,omitempty"`
}

// NewDocument makes the Document of a report's input.
func NewDocument(in Input) *Document {
	d := &Document{Version: DocumentVersion, Project: in.Project, Environment: in.Environment, HeadSHA: in.HeadSHA, Base: in.Base,
		Comparison: in.Comparison, Checks: in.Checks}
	var icon string
	icon, d.Headline = headline(in.Checks)
	d.Outcome = map[string]string{"❌": "failure", "⏳": "running", "✅": "success"}[icon]
	if d.Outcome == "" {
		d.Outcome = "none"
	}
	if in.Comparison.Why != "" {
		d.Headline += " (against the merge base)"
	}
	d.Headline += projectNote(in.Plan)
	d.Where = strings.ReplaceAll(where(in), "`", "")
	if in.Plan != nil {
		d.Plan = &DocPlan{Base: in.Plan.Base, Head: in.Plan.Head, Built: len(in.Plan.Build)}
		for _, c := range in.Plan.Changes {
			dc := DocChange{ID: c.ID, Name: c.Name, Kind: string(c.Kind), Path: c.Path, Status: string(c.Status), Change: changeText(c.Status, c.Reasons, c.Upstream)}
			if c.Impact != nil {
				dc.ImpactKind = c.Impact.Kind
				dc.Impact = strings.TrimPrefix(impactDetail(c.Impact, plainName), ": ")
			}
			d.Plan.Changes = append(d.Plan.Changes, dc)
		}
		if in.Head != nil {
			g := LineageGraph(in.Plan, in.Head)
			d.Lineage = &g
		}
	}
	for _, md := range in.Diffs {
		d.Diffs = append(d.Diffs, docDiff(md))
	}
	if in.Build != nil {
		for _, n := range in.Build.Nodes {
			d.Nodes = append(d.Nodes, DocNode{Name: n.Name, Kind: string(n.Kind), Materialized: n.Materialized, Relation: relationText(n.Relation.Schema, n.Relation.Name),
				Status: string(n.Status), Rows: n.Rows, Millis: n.Duration.Milliseconds(), Message: docValue(n.Message)})
			if n.Status.Failed() {
				d.Failures = append(d.Failures, docFailure(n))
			}
		}
	}
	return d
}

// changeText says how a node changed, as the comment's table does.
func changeText(status plan.Status, reasons, upstream []string) string {
	switch {
	case len(reasons) > 0:
		return string(status) + ": " + strings.Join(reasons, "; ")
	case status == plan.Cosmetic:
		return "whitespace or comments only"
	case status == plan.Impacted:
		return "downstream of " + strings.Join(upstream, ", ")
	}
	return string(status)
}

func relationText(schema, name string) string {
	if name == "" {
		return ""
	}
	if schema == "" {
		return name
	}
	return schema + "." + name
}

func docDiff(md ModelDiff) DocDiff {
	d := DocDiff{Model: md.Model, Path: md.Path, Key: md.Key, Error: md.Error, ProfileError: md.ProfileError}
	if r := md.Result; r != nil {
		d.Compared, d.Keyed = true, len(r.Key) > 0
		d.Base = DocSide{Relation: relationText(r.Base.Relation.Schema, r.Base.Relation.Name), Exists: r.Base.Exists, Rows: r.Base.Rows}
		d.Head = DocSide{Relation: relationText(r.Head.Relation.Schema, r.Head.Relation.Name), Exists: r.Head.Exists, Rows: r.Head.Rows}
		d.Added, d.Removed, d.Changed, d.Same = r.OnlyInHead, r.OnlyInBase, r.Changed, r.Unchanged
		d.Schema = schemaLineWith(r, plainName)
		d.Columns = r.Columns
		for _, row := range r.Samples.Changed {
			key := docValue(keyText(row.Key))
			for _, col := range sortedKeys(row.Changes) {
				v := row.Changes[col]
				d.ChangedValues = append(d.ChangedValues, DocChangedValue{Key: key, Column: col, Base: docValue(Value(v[0])), Head: docValue(Value(v[1]))})
			}
		}
		d.OnlyInBase, d.OnlyInHead = docRows(r.Samples.OnlyInBase), docRows(r.Samples.OnlyInHead)
	}
	if p := md.Profile; p != nil && p.Head != nil {
		d.Profile = docProfile(p)
	}
	return d
}

func docRows(rows []datadiff.Row) *DocTable {
	if len(rows) == 0 {
		return nil
	}
	t := &DocTable{Columns: sortedKeys(rows[0].Values)}
	for _, row := range rows {
		vals := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			vals[i] = docValue(Value(row.Values[c]))
		}
		t.Rows = append(t.Rows, DocRow{Key: docValue(keyText(row.Key)), Values: vals})
	}
	return t
}

func docProfile(d *profile.Diff) *DocProfile {
	p := &DocProfile{Headline: d.Headline(), Flags: d.Flags, Note: d.SampleNote()}
	for _, pair := range d.Pairs() {
		c := pair.Cells() // as profile.ColumnHeader names them
		for i := range c {
			c[i] = docValue(c[i])
		}
		col := DocProfileColumn{Name: c[0], Changed: pair.Changed, Flagged: len(pair.Flags) > 0,
			Type: c[1], Nulls: c[2], Distinct: c[3], Range: c[4], Mean: c[5], Values: c[6]}
		if h := pair.Head; h != nil && len(h.Values) > maxCellValues {
			col.AllValues = allValues(h)
		}
		p.Columns = append(p.Columns, col)
	}
	return p
}

// maxCellValues is how many values a profile's cell lists
// (internal/profile's table); the page lists the rest as well.
const maxCellValues = 5

// allValues lists every value of a column with few values, with its
// count, as the profile's cells write them.
func allValues(c *profile.Column) string {
	parts := make([]string, len(c.Values))
	approx := ""
	if c.Estimated {
		approx = "≈"
	}
	for i, v := range c.Values {
		val := profile.Value(v.Value)
		if _, ok := v.Value.(string); ok {
			val = "“" + val + "”"
		}
		parts[i] = val + " (" + approx + profile.Count(v.Count) + ")"
	}
	return docValue(strings.Join(parts, " · "))
}

func docFailure(n build.NodeResult) DocFailure {
	f := DocFailure{Kind: string(n.Kind), Name: n.Name, Where: n.Path, Message: docValue(n.Message), Failures: n.Failures}
	if n.Failure != nil {
		if n.Failure.Line > 0 {
			f.Where = fmt.Sprintf("%s:%d", n.Failure.Path, n.Failure.Line)
		}
		f.Message = docValue(n.Failure.Message)
	}
	if s := n.Sample; s != nil && len(s.Columns) > 0 {
		f.Sample = &DocTable{Columns: s.Columns}
		for _, row := range s.Values {
			vals := make([]string, len(row))
			for i, v := range row {
				vals[i] = docValue(Value(v))
			}
			f.Sample.Rows = append(f.Sample.Rows, DocRow{Values: vals})
		}
	}
	return f
}

// docValue bounds one value for the page (MaxDocumentValue).
func docValue(s string) string {
	if utf8.RuneCountInString(s) <= MaxDocumentValue {
		return s
	}
	r := []rune(s)
	return string(r[:MaxDocumentValue]) + fmt.Sprintf("… (%d more characters)", len(r)-MaxDocumentValue)
}
