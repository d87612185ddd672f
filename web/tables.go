package web

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"

	"github.com/dataops-dev/dataops/internal/report"
)

// The report's three long parts (the plan's rows, every model's diff with
// its samples and profile, the build's nodes) are written here in Go, as
// the lineage's SVG is, rather than by html/template: a large project's
// report has tens of thousands of cells, and html/template calls its
// escaper through reflection for each. Every text from the report goes
// through escape.

// htmlOut writes markup and escaped text.
type htmlOut struct{ b *bytes.Buffer }

// raw writes markup of our own.
func (o htmlOut) raw(s string) { o.b.WriteString(s) }

// text writes text from the report, escaped for an element's content or a
// quoted attribute value.
func (o htmlOut) text(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case 0:
			esc = "\uFFFD"
		default:
			continue
		}
		o.b.WriteString(s[last:i])
		o.b.WriteString(esc)
		last = i + 1
	}
	o.b.WriteString(s[last:])
}

// cell writes <td class="...">text</td>.
func (o htmlOut) cell(class, s string) {
	if class == "" {
		o.raw("<td>")
	} else {
		o.raw(`<td class="` + class + `">`)
	}
	o.text(s)
	o.raw("</td>")
}

// code writes <code>text</code>.
func (o htmlOut) code(s string) {
	o.raw("<code>")
	o.text(s)
	o.raw("</code>")
}

func (o htmlOut) html() template.HTML { return template.HTML(o.b.String()) }

func newOut(size int) htmlOut {
	var b bytes.Buffer
	b.Grow(size)
	return htmlOut{&b}
}

// planRows writes the rows of the plan's table.
func planRows(changes []report.DocChange, hasDiff map[string]bool) template.HTML {
	o := newOut(len(changes) * 200)
	for _, c := range changes {
		o.raw(`<tr id="` + anchor("change", c.Name) + `" class="c-`)
		o.text(c.Status)
		o.raw(`"><td class="mark">` + mark(c.Status) + `</td><td>`)
		if hasDiff[c.Name] {
			o.raw(`<a href="#` + anchor("model", c.Name) + `">`)
			o.text(c.Name)
			o.raw("</a>")
		} else {
			o.text(c.Name)
		}
		o.raw(`<br><small class="muted">`)
		o.text(c.Path)
		o.raw("</small></td>")
		o.cell("", c.Kind)
		o.cell("", c.Change)
		o.raw("<td>")
		if c.ImpactKind != "" {
			o.raw(`<span class="impact `)
			o.text(c.ImpactKind)
			o.raw(`">`)
			o.text(c.ImpactKind)
			o.raw("</span> ")
		}
		o.text(c.Impact)
		o.raw("</td></tr>\n")
	}
	return o.html()
}

// nodeRows writes the rows of the build's table.
func nodeRows(nodes []report.DocNode) template.HTML {
	o := newOut(len(nodes) * 220)
	for _, n := range nodes {
		o.raw("<tr>")
		o.cell("", n.Name)
		o.cell("", n.Kind)
		o.cell("", n.Materialized)
		o.raw("<td>")
		o.code(n.Relation)
		o.raw("</td>")
		o.cell("", n.Status)
		o.cell("n", num(n.Rows))
		o.cell("n", strconv.FormatInt(n.Millis, 10)+" ms")
		o.cell("v", n.Message)
		o.raw("</tr>\n")
	}
	return o.html()
}

// diffSections writes every model's section of the data compared with
// production.
func diffSections(diffs []report.DocDiff) template.HTML {
	o := newOut(len(diffs) * 8 << 10)
	for _, d := range diffs {
		o.raw(`<section class="diff" id="` + anchor("model", d.Model) + `">` + "\n<h3>")
		o.text(d.Model)
		if len(d.Key) > 0 {
			o.raw(" <small>by ")
			o.text(strings.Join(d.Key, ", "))
			o.raw("</small>")
		}
		o.raw("</h3>\n")
		if d.Path != "" {
			o.raw(`<p class="muted">`)
			o.code(d.Path)
			o.raw("</p>\n")
		}
		if d.Error != "" {
			o.raw(`<p class="problem">`)
			o.text(d.Error)
			o.raw("</p>\n")
		}
		if d.Compared {
			diffCounts(o, d)
		}
		if p := d.Profile; p != nil {
			profileTable(o, p)
		}
		if d.ProfileError != "" {
			o.raw(`<p class="problem">Profile: `)
			o.text(d.ProfileError)
			o.raw("</p>\n")
		}
		o.raw("</section>\n")
	}
	return o.html()
}

func diffCounts(o htmlOut, d report.DocDiff) {
	side := func(s report.DocSide) string {
		if !s.Exists {
			return "—"
		}
		return num(s.Rows)
	}
	o.raw(`<table class="counts"><thead><tr><th>rows in production</th><th>rows here</th>`)
	if d.Keyed {
		o.raw("<th>added</th><th>removed</th><th>changed</th><th>unchanged</th>")
	}
	o.raw("</tr></thead><tbody><tr>")
	o.cell("", side(d.Base))
	o.cell("", side(d.Head))
	if d.Keyed {
		for _, n := range []int64{d.Added, d.Removed, d.Changed, d.Same} {
			o.cell("", num(n))
		}
	}
	o.raw("</tr></tbody></table>\n")
	if d.Schema != "" {
		o.raw("<p>")
		o.text(d.Schema)
		o.raw("</p>\n")
	}
	if len(d.Columns) > 0 {
		o.raw(`<table class="list compact"><thead><tr><th>column</th><th class="n">changed</th><th class="n">match</th></tr></thead><tbody>`)
		for _, c := range d.Columns {
			if c.Changed > 0 {
				o.raw(`<tr class="changed"><td>`)
			} else {
				o.raw("<tr><td>")
			}
			o.code(c.Name)
			o.raw("</td>")
			o.cell("n", num(c.Changed))
			o.cell("n", strconv.FormatFloat(c.MatchPercent, 'f', 2, 64)+"%")
			o.raw("</tr>")
		}
		o.raw("</tbody></table>\n")
	}
	if len(d.ChangedValues) > 0 {
		o.raw("<h4>Changed rows (production → here)</h4>\n" +
			`<table class="list compact samples"><thead><tr><th>key</th><th>column</th><th>production</th><th>here</th></tr></thead><tbody>`)
		for _, v := range d.ChangedValues {
			o.raw("<tr>")
			o.cell("", v.Key)
			o.raw("<td>")
			o.code(v.Column)
			o.raw("</td>")
			o.cell("v", v.Base)
			o.cell("v", v.Head)
			o.raw("</tr>")
		}
		o.raw("</tbody></table>\n")
	}
	if d.OnlyInBase != nil {
		o.raw("<h4>Only in production (removed)</h4>\n")
		sampleTable(o, d.OnlyInBase)
	}
	if d.OnlyInHead != nil {
		o.raw("<h4>Only here (added)</h4>\n")
		sampleTable(o, d.OnlyInHead)
	}
}

// sampleTable writes sample rows: their key, when they have one, then
// their values by column.
func sampleTable(o htmlOut, t *report.DocTable) {
	keyed := false
	for _, r := range t.Rows {
		keyed = keyed || r.Key != ""
	}
	o.raw(`<table class="list compact samples"><thead><tr>`)
	if keyed {
		o.raw("<th>key</th>")
	}
	for _, c := range t.Columns {
		o.raw("<th>")
		o.code(c)
		o.raw("</th>")
	}
	o.raw("</tr></thead><tbody>")
	for _, r := range t.Rows {
		o.raw("<tr>")
		if keyed {
			o.cell("", r.Key)
		}
		for _, v := range r.Values {
			o.cell("v", v)
		}
		o.raw("</tr>")
	}
	o.raw("</tbody></table>\n")
}

func profileTable(o htmlOut, p *report.DocProfile) {
	o.raw("<h4>Profile</h4>\n<p>")
	o.text(p.Headline)
	o.raw("</p>\n" + `<table class="list compact profile"><thead><tr><th>column</th><th>type</th><th>NULLs</th><th>distinct</th><th>min … max</th><th>mean ± sd</th><th>values</th></tr></thead><tbody>`)
	for _, c := range p.Columns {
		switch {
		case c.Flagged:
			o.raw(`<tr class="flagged"><td>⚠ `)
		case c.Changed:
			o.raw(`<tr class="changed"><td>`)
		default:
			o.raw("<tr><td>")
		}
		o.code(c.Name)
		o.raw("</td>")
		o.cell("", c.Type)
		o.cell("", c.Nulls)
		o.cell("", c.Distinct)
		o.cell("v", c.Range)
		o.cell("", c.Mean)
		o.cell("v", c.Values)
		o.raw("</tr>")
	}
	o.raw("</tbody></table>\n")
	for _, c := range p.Columns {
		if c.AllValues != "" {
			o.raw(`<p class="muted">Every value of `)
			o.code(c.Name)
			o.raw(" here: ")
			o.text(c.AllValues)
			o.raw("</p>\n")
		}
	}
	if len(p.Flags) > 0 {
		o.raw(`<ul class="flags">`)
		for _, f := range p.Flags {
			o.raw("<li><strong>")
			o.text(f.Flag)
			o.raw("</strong>")
			if f.Column != "" {
				o.raw(" ")
				o.code(f.Column)
			}
			o.raw(": ")
			o.text(f.Message)
			o.raw("</li>")
		}
		o.raw("</ul>\n")
	}
	if p.Note != "" {
		o.raw(`<p class="muted">`)
		o.text(p.Note)
		o.raw("</p>\n")
	}
}
