// Package report turns the results of a pull request's checks into what
// people read: one PR comment, found again by a hidden marker and edited
// rather than duplicated, and the longer markdown for a check run's text or
// an Actions step summary. Templates are embedded; the comment is
// shortened, section by section, to fit GitHub's limit.
package report

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/scm"
)

// Marker finds the one dataops comment of a pull request.
const Marker = "<!-- dataops:report -->"

// MaxComment is GitHub's limit on a comment body, in characters.
const MaxComment = 65536

//go:embed templates/*.tmpl
var templates embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"icon":  icon,
	"cell":  cell,
	"join":  strings.Join,
	"rows":  rows,
	"lower": strings.ToLower,
}).ParseFS(templates, "templates/*.tmpl"))

// ModelDiff is the data diff of one model between production and the
// environment.
type ModelDiff struct {
	Model  string           `json:"model"`
	Path   string           `json:"path"`
	Key    []string         `json:"key,omitempty"`
	Result *datadiff.Result `json:"result,omitempty"`
	Error  string           `json:"error,omitempty"`
	// Profile compares the model's column statistics; ProfileError says
	// why it could not.
	Profile      *profile.Diff `json:"profile,omitempty"`
	ProfileError string        `json:"profile_error,omitempty"`
	// ProfileErrorPath and ProfileErrorLine locate ProfileError when a
	// profile rule of dataops.yml caused it, not the model (the path from
	// the repository's root), so it is annotated where it is fixed.
	ProfileErrorPath string `json:"profile_error_path,omitempty"`
	ProfileErrorLine int    `json:"profile_error_line,omitempty"`
}

// Command is a comment command people can run next.
type Command struct{ Command, What string }

// Input is everything a report says.
type Input struct {
	Project     string
	Environment string
	HeadSHA     string
	Base        string // the base branch or revision
	// Comparison is what was compiled, compared and built; the headline
	// names its commits.
	Comparison scm.Comparison
	Checks     []scm.Check
	Plan       *plan.Plan
	Head       *project.Manifest // for the lineage graph
	Diffs      []ModelDiff
	Build      *build.Result
	Commands   []Command
	// FullDetails says where the unshortened report is, e.g. "The full
	// report is in the dataops/diff check run."
	FullDetails string
	// RunURL is the run's page on the bot's web server (serve.yml
	// public_url): the comment links to it, and names it as where the full
	// report is when the comment had to be shortened.
	RunURL string
}

// fullDetails says where the unshortened report is.
func (in Input) fullDetails() string {
	if in.RunURL != "" {
		return "The full report, with nothing left out, is on [the run's page](" + in.RunURL + ")."
	}
	return in.FullDetails
}

// Comment renders the PR comment, shortened until it fits MaxComment.
func Comment(in Input) string {
	out, _ := CommentShortened(in)
	return out
}

// CommentShortened is Comment, and whether it had to leave something out.
func CommentShortened(in Input) (string, bool) {
	for level := 0; ; level++ {
		v := view(in, level, false)
		out := render(v)
		if len([]rune(out)) <= MaxComment || level >= maxLevel {
			if len([]rune(out)) > MaxComment {
				out = string([]rune(out)[:MaxComment-300]) + "\n\n> Cut to fit GitHub's limit. " + in.fullDetails() + "\n"
			}
			return out, level > 0 || len([]rune(out)) > MaxComment
		}
	}
}

// Full renders the whole report with nothing shortened, for a check run's
// text or a step summary.
func Full(in Input) string { return render(view(in, 0, true)) }

func render(v *commentView) string {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, "comment", v); err != nil {
		// The templates are compiled in and tested; this is a bug.
		panic(fmt.Sprintf("report template: %v", err))
	}
	return strings.TrimSpace(b.String()) + "\n"
}

// Shortening levels: each drops more detail.
const (
	levelNoSamples  = 1
	levelNoColumns  = 2
	levelFewRows    = 3
	levelHeadline   = 4
	maxLevel        = levelHeadline
	rowsWhenShort   = 20
	samplesPerModel = 5
)

type commentView struct {
	Marker, Icon, Headline, Where string
	Checks                        []scm.Check
	Plan                          *plan.Plan
	ChangeRows                    []changeRow
	MoreChanges                   int
	Lineage                       string
	Diffs                         []diffView
	MoreDiffs                     int
	Failures                      []string
	// Skipped lists the models left out because they, or a model they
	// depend on, did not compile (the base's errors among them).
	Skipped               []string
	SkippedSummary        string
	Shortened             bool
	FullDetails           string
	Commands              []Command
	ShortSHA, Environment string
	RunURL                string
}

type changeRow struct{ Mark, Name, Change, Impact string }

type diffView struct {
	ModelDiff
	SchemaLine string
	Columns    []datadiff.ColumnDiff
	Samples    string
	Profile    string
}

// view prepares the report at a shortening level; full shows every
// column of the profiles (the check text), where the comment shows the
// changed ones.
func view(in Input, level int, full bool) *commentView {
	v := &commentView{Marker: Marker, Checks: in.Checks, Plan: in.Plan, Shortened: level > 0,
		FullDetails: in.fullDetails(), Commands: in.Commands, ShortSHA: short(in.HeadSHA), Environment: in.Environment, RunURL: in.RunURL}
	if in.Comparison.PullHead != "" {
		v.ShortSHA = short(in.Comparison.PullHead)
	}
	v.Icon, v.Headline = headline(in.Checks)
	if in.Comparison.Why != "" {
		v.Headline += " (against the merge base)"
	}
	v.Headline += projectNote(in.Plan)
	v.Where = where(in)
	if in.Plan != nil {
		v.ChangeRows = changeRows(in.Plan)
		if level >= levelFewRows && len(v.ChangeRows) > rowsWhenShort {
			v.MoreChanges = len(v.ChangeRows) - rowsWhenShort
			v.ChangeRows = v.ChangeRows[:rowsWhenShort]
		}
		if level < levelFewRows && in.Head != nil {
			v.Lineage = lineage(in.Plan, in.Head)
		}
	}
	if level >= levelHeadline {
		v.Plan, v.ChangeRows, v.Lineage = nil, nil, ""
	}
	for i, d := range in.Diffs {
		if level >= levelHeadline || (level >= levelFewRows && i >= rowsWhenShort) {
			v.MoreDiffs = len(in.Diffs) - i
			break
		}
		dv := diffView{ModelDiff: d}
		if d.Result != nil {
			dv.SchemaLine = schemaLine(d.Result)
			if level < levelNoColumns {
				for _, c := range d.Result.Columns {
					if c.Changed > 0 {
						dv.Columns = append(dv.Columns, c)
					}
				}
			}
			if level < levelNoSamples {
				dv.Samples = samples(d.Result)
			}
		}
		pv := profileCompact
		switch {
		case full:
			pv = profileFull
		case level >= levelNoColumns:
			pv = profileFlagsOnly
		}
		dv.Profile = profileMarkdown(d.Profile, pv)
		v.Diffs = append(v.Diffs, dv)
	}
	v.Failures = failures(in)
	if level >= levelFewRows && len(v.Failures) > rowsWhenShort {
		more := len(v.Failures) - rowsWhenShort
		v.Failures = append(v.Failures[:rowsWhenShort], fmt.Sprintf("… and %d more", more))
	}
	v.Skipped = skippedModels(in.Head)
	switch len(v.Skipped) {
	case 0:
	case 1:
		v.SkippedSummary = "1 model not checked: it did not compile, or depends on one that did not"
	default:
		v.SkippedSummary = fmt.Sprintf("%d models not checked: they did not compile, or depend on one that did not", len(v.Skipped))
	}
	if level >= levelFewRows && len(v.Skipped) > rowsWhenShort {
		more := len(v.Skipped) - rowsWhenShort
		v.Skipped = append(v.Skipped[:rowsWhenShort], fmt.Sprintf("… and %d more", more))
	}
	return v
}

// skippedModels lists the models of a partial compile that were left
// out, with the reason: a team adopting dataops sees which of its models
// are not checked yet, and why.
func skippedModels(m *project.Manifest) []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, s := range m.Skipped {
		if s.Kind == project.KindModel {
			out = append(out, fmt.Sprintf("`%s` (%s): %s", s.Name, s.Path, cell(s.Reason)))
		}
	}
	sort.Strings(out)
	return out
}

// where says what was compared, by commit: what was built (the merge of
// the pull request into its base, its head, or a work tree) and what it
// was compared with (the base's tip, or the merge base).
func where(in Input) string {
	c := in.Comparison
	branch := "the base"
	if in.Base != "" {
		branch = "`" + in.Base + "`"
	}
	change := short(c.PullHead)
	if c.WorkTree {
		change = "the work tree (on " + short(c.PullHead) + ")"
	}
	var head, base string
	switch {
	case c.Mode == "":
		head, base = short(in.HeadSHA), branch
	case c.Mode == scm.CompareMerge:
		head = fmt.Sprintf("%s merged into %s (merge %s)", change, branch, short(c.Head))
		base = fmt.Sprintf("%s at %s", branch, short(c.Base))
	default:
		head = change
	}
	switch c.Mode {
	case scm.CompareMergeBase:
		base = fmt.Sprintf("its merge base %s with %s", short(c.Base), branch)
	case scm.CompareTip:
		base = fmt.Sprintf("%s at %s", branch, short(c.Base))
	}
	s := fmt.Sprintf("`%s`: %s compared with %s", in.Project, head, base)
	if c.Why != "" {
		s += " (no merge to compare: " + c.Why + ")"
	}
	switch {
	case nothingBuilt(in.Checks):
		s += "; nothing was built"
	case in.Environment != "":
		s += ", built in environment `" + in.Environment + "`"
	}
	return s
}

// nothingBuilt reports whether the build stage was skipped: the pull
// request removes the project, changes no model, or an earlier stage
// failed. Until it completes, the environment is where it builds.
func nothingBuilt(checks []scm.Check) bool {
	for _, c := range checks {
		if c.Name == scm.CheckBuild {
			return c.Status == scm.StatusCompleted && c.Conclusion == scm.ConclusionSkipped
		}
	}
	return false
}

// projectNote tells, after the headline, a pull request that adds the
// project (the base has none yet) or removes it.
func projectNote(p *plan.Plan) string {
	switch {
	case p == nil:
	case p.NoBase:
		return " — the base has no project yet, so every model is new"
	case p.NoHead:
		return " — this pull request removes the project"
	}
	return ""
}

// headline sums the checks up: failed if any failed, running while any
// runs, passed otherwise.
func headline(checks []scm.Check) (string, string) {
	var failed, running []string
	for _, c := range checks {
		switch {
		case c.Status != scm.StatusCompleted:
			running = append(running, c.Name)
		case c.Conclusion == scm.ConclusionFailure || c.Conclusion == scm.ConclusionCancelled:
			failed = append(failed, strings.TrimPrefix(c.Name, "dataops/"))
		}
	}
	switch {
	case len(failed) > 0:
		return "❌", "failed: " + strings.Join(failed, ", ")
	case len(running) > 0:
		return "⏳", "running"
	case len(checks) == 0:
		return "ℹ️", "nothing checked"
	}
	return "✅", "all checks passed"
}

func icon(conclusion, status string) string {
	if status != "" && status != scm.StatusCompleted {
		return "⏳"
	}
	switch conclusion {
	case scm.ConclusionSuccess:
		return "✅"
	case scm.ConclusionFailure:
		return "❌"
	case scm.ConclusionNeutral:
		return "ℹ️"
	case scm.ConclusionSkipped:
		return "⏭️"
	case scm.ConclusionCancelled:
		return "🚫"
	}
	return "•"
}

var marks = map[plan.Status]string{plan.Modified: "🟠", plan.Added: "🟢", plan.Removed: "🔴", plan.Cosmetic: "⚪", plan.Impacted: "🔵"}

func changeRows(p *plan.Plan) []changeRow {
	var out []changeRow
	for _, c := range p.Changes {
		if c.Kind == project.KindTest {
			continue
		}
		out = append(out, changeRow{Mark: marks[c.Status], Name: c.Name, Change: changeText(c.Status, c.Reasons, c.Upstream), Impact: impact(c.Impact)})
	}
	return out
}

func impact(im *plan.Impact) string {
	if im == nil {
		return ""
	}
	return "**" + im.Kind + "**" + impactDetail(im, mdName)
}

// mdName sets a name apart in markdown; plainName leaves it as it is, for
// the web page, which sets names apart itself.
func mdName(s string) string    { return "`" + s + "`" }
func plainName(s string) string { return s }

// impactDetail says what an impact is made of, after its kind: ": removed
// x; used by y".
func impactDetail(im *plan.Impact, name func(string) string) string {
	var parts []string
	for _, c := range im.Removed {
		parts = append(parts, "removed "+name(c.Name))
	}
	for _, r := range im.Renamed {
		parts = append(parts, "renamed "+name(r.From)+" → "+name(r.To))
	}
	for _, r := range im.Retyped {
		parts = append(parts, fmt.Sprintf("%s %s → %s", name(r.Name), r.From, r.To))
	}
	if im.GrainChanged {
		parts = append(parts, "grain changed")
	}
	if len(im.Added) > 0 && im.Why != "new model" {
		var names []string
		for _, c := range im.Added {
			names = append(names, name(c.Name))
		}
		parts = append(parts, "added "+strings.Join(names, ", "))
	}
	var used []string
	for _, u := range im.Downstream {
		if u.Uses == "yes" {
			used = append(used, name(u.Model))
		}
	}
	if len(parts) == 0 && im.Why != "" {
		parts = append(parts, im.Why)
	}
	s := ""
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, "; ")
	}
	if len(used) > 0 {
		s += "; used by " + strings.Join(used, ", ")
	}
	return s
}

// Graph is the lineage of a plan's changes: the changed models and what
// is downstream of them (not tests, nor removed or cosmetic nodes), with
// the edges between them.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	// Edges go from parent to child, as indexes into Nodes.
	Edges [][2]int `json:"edges"`
}

// GraphNode is one node of a Graph.
type GraphNode struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Status   plan.Status `json:"status"`
	Breaking bool        `json:"breaking,omitempty"`
}

// LineageGraph makes the Graph of a plan on the head's manifest.
func LineageGraph(p *plan.Plan, head *project.Manifest) Graph {
	var g Graph
	index := map[string]int{}
	for _, c := range p.Changes {
		if c.Kind == project.KindTest || c.Status == plan.Removed || c.Status == plan.Cosmetic || head.Nodes[c.ID] == nil {
			continue
		}
		index[c.ID] = len(g.Nodes)
		g.Nodes = append(g.Nodes, GraphNode{ID: c.ID, Name: head.Nodes[c.ID].Name, Status: c.Status,
			Breaking: c.Impact != nil && c.Impact.Kind == "breaking"})
	}
	for i, n := range g.Nodes {
		for _, parent := range head.Parents(n.ID) {
			if pi, ok := index[parent]; ok {
				g.Edges = append(g.Edges, [2]int{pi, i})
			}
		}
	}
	return g
}

// maxLineageNodes bounds the comment's picture; the web page draws any.
const maxLineageNodes = 60

// lineage draws the changed models and what is downstream of them.
func lineage(p *plan.Plan, head *project.Manifest) string {
	g := LineageGraph(p, head)
	if len(g.Nodes) == 0 || len(g.Nodes) > maxLineageNodes {
		return "" // too big to read as a picture
	}
	var b strings.Builder
	b.WriteString("graph LR\n")
	for i, n := range g.Nodes {
		class := string(n.Status)
		if n.Breaking {
			class = "breaking"
		}
		fmt.Fprintf(&b, "  n%d[\"%s\"]:::%s\n", i, strings.ReplaceAll(n.Name, `"`, "'"), class)
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  n%d --> n%d\n", e[0], e[1])
	}
	b.WriteString("  classDef modified fill:#fdebd0,stroke:#e67e22\n")
	b.WriteString("  classDef added fill:#d5f5e3,stroke:#27ae60\n")
	b.WriteString("  classDef impacted fill:#eaf2f8,stroke:#5d6d7e\n")
	b.WriteString("  classDef breaking fill:#fadbd8,stroke:#c0392b")
	return b.String()
}

func schemaLine(r *datadiff.Result) string { return schemaLineWith(r, mdName) }

func schemaLineWith(r *datadiff.Result, name func(string) string) string {
	var parts []string
	if !r.Base.Exists || !r.Head.Exists {
		return "" // a new or removed relation: every column is, obviously
	}
	for _, c := range r.Schema.Added {
		parts = append(parts, "added "+name(c.Name))
	}
	for _, c := range r.Schema.Removed {
		parts = append(parts, "removed "+name(c.Name))
	}
	for _, c := range r.Schema.Retyped {
		parts = append(parts, fmt.Sprintf("%s %s → %s", name(c.Name), c.BaseType, c.HeadType))
	}
	var keys []string
	for _, s := range []struct {
		name string
		side datadiff.Side
	}{{"production", r.Base}, {"here", r.Head}} {
		if s.side.NullKeys > 0 {
			keys = append(keys, fmt.Sprintf("%d rows with a NULL key %s", s.side.NullKeys, s.name))
		}
		if s.side.DuplicateKeys > 0 {
			keys = append(keys, fmt.Sprintf("%d duplicated keys %s", s.side.DuplicateKeys, s.name))
		}
	}
	var out []string
	if len(parts) > 0 {
		out = append(out, "Columns: "+strings.Join(parts, ", ")+".")
	}
	if len(keys) > 0 {
		out = append(out, "⚠️ Not compared: "+strings.Join(keys, ", ")+".")
	}
	return strings.Join(out, " ")
}

// samples renders example rows as small tables.
func samples(r *datadiff.Result) string {
	var b strings.Builder
	if len(r.Samples.Changed) > 0 {
		b.WriteString("Changed (production → here):\n\n| key | column | production | here |\n|---|---|---|---|\n")
		for i, row := range r.Samples.Changed {
			if i >= samplesPerModel {
				break
			}
			for _, col := range sortedKeys(row.Changes) {
				v := row.Changes[col]
				fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", cell(keyText(row.Key)), col, cell(Value(v[0])), cell(Value(v[1])))
			}
		}
		b.WriteString("\n")
	}
	for _, s := range []struct {
		title string
		rows  []datadiff.Row
	}{{"Only in production (removed)", r.Samples.OnlyInBase}, {"Only here (added)", r.Samples.OnlyInHead}} {
		if len(s.rows) == 0 {
			continue
		}
		cols := sortedKeys(s.rows[0].Values)
		fmt.Fprintf(&b, "%s:\n\n| key | %s |\n|---|%s\n", s.title, strings.Join(quoteAll(cols), " | "), strings.Repeat("---|", len(cols)))
		for i, row := range s.rows {
			if i >= samplesPerModel {
				break
			}
			vals := make([]string, len(cols))
			for j, c := range cols {
				vals[j] = cell(Value(row.Values[c]))
			}
			fmt.Fprintf(&b, "| %s | %s |\n", cell(keyText(row.Key)), strings.Join(vals, " | "))
		}
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}

// failures lists the compile errors the pull request brought and the
// failing models and tests, with their place in the code: on GitLab the
// comment is the only place that shows them.
func failures(in Input) []string {
	var out []string
	for _, c := range in.Checks {
		if c.Name != scm.CheckCompile {
			continue
		}
		for _, a := range c.Annotations {
			if a.Level != scm.LevelFailure {
				continue
			}
			where := a.Path
			if a.Line > 0 {
				where = fmt.Sprintf("%s:%d", a.Path, a.Line)
			}
			out = append(out, fmt.Sprintf("compile error (%s): %s", where, cell(a.Message)))
		}
	}
	if in.Build == nil {
		return out
	}
	for _, n := range in.Build.Nodes {
		if !n.Status.Failed() {
			continue
		}
		where := n.Path
		if n.Failure != nil && n.Failure.Line > 0 {
			where = fmt.Sprintf("%s:%d", n.Failure.Path, n.Failure.Line)
		}
		msg := n.Message
		if n.Failure != nil {
			msg = n.Failure.Message
		}
		out = append(out, fmt.Sprintf("%s `%s` (%s): %s", n.Kind, n.Name, where, cell(msg)))
	}
	return out
}

func rows(s datadiff.Side) string {
	if !s.Exists {
		return "—"
	}
	return fmt.Sprint(s.Rows)
}

// tagEscaper is built once: building a Replacer costs far more than
// using one, and cell runs for every value of a report.
var tagEscaper = strings.NewReplacer("<", "&lt;", ">", "&gt;")

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	// Text from a pull request's data must not open tags: GitHub renders
	// some HTML in markdown.
	s = tagEscaper.Replace(s)
	if len([]rune(s)) > 200 {
		s = string([]rune(s)[:197]) + "…"
	}
	return s
}

// Value prints a database value as a person reads it: NULL, dates without
// a midnight time, timestamps without a zone.
func Value(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04:05.999999")
	}
	return fmt.Sprint(v)
}

func keyText(key []any) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = Value(k)
	}
	return strings.Join(parts, ", ")
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
