package report

import (
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/profile"
)

// Profile diffs as markdown: a line for the relation (rows, the sample),
// one table of columns, the flags under it. The comment's table lists only
// the columns that changed or were flagged, and folds the others in
// <details>; the full report lists every column.

// profileView is how much of a profile diff to show.
type profileView int

const (
	profileCompact   profileView = iota // changed and flagged columns; the rest folded
	profileFull                         // every column
	profileFlagsOnly                    // the row line and the flags, for a shortened comment
)

// maxProfileValues is how many of a column's values a cell lists.
const maxProfileValues = 5

// profileMarkdown renders one model's profile diff.
func profileMarkdown(d *profile.Diff, view profileView) string {
	if d == nil || d.Head == nil {
		return ""
	}
	blocks := []string{profileHeadline(d)}
	var shown, folded []profile.Pair
	for _, p := range d.Pairs() {
		if view == profileFull || p.Changed || len(p.Flags) > 0 {
			shown = append(shown, p)
		} else {
			folded = append(folded, p)
		}
	}
	if view != profileFlagsOnly && len(shown) > 0 {
		blocks = append(blocks, profileTable(shown))
	}
	if len(d.Flags) > 0 {
		var lines []string
		for _, f := range d.Flags {
			where := ""
			if f.Column != "" {
				where = " `" + cell(f.Column) + "`"
			}
			lines = append(lines, fmt.Sprintf("- ⚠️ **%s**%s: %s", f.Flag, where, cell(f.Message)))
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	if view == profileCompact && len(folded) > 0 {
		blocks = append(blocks, fmt.Sprintf("<details><summary>%s unchanged</summary>\n\n%s\n\n</details>", plural(len(folded), "column"), profileTable(folded)))
	}
	if note := sampleNote(d); note != "" {
		blocks = append(blocks, "<sub>"+note+"</sub>")
	}
	return strings.Join(blocks, "\n\n")
}

// profileHeadline is the relation's line: its rows on both sides and how
// many columns changed.
func profileHeadline(d *profile.Diff) string {
	h := d.Head
	if !d.Base.Exists {
		return fmt.Sprintf("Profile: %s rows, %s; new, nothing in production to compare with.", profile.Count(h.Rows), plural(len(h.Columns), "column"))
	}
	rows := profile.Count(d.Base.Rows)
	if d.Base.Rows != h.Rows {
		rows += " → " + profile.Count(h.Rows)
	}
	s := fmt.Sprintf("Profile (production → here): %s rows", rows)
	switch changed := len(d.Changed); {
	case changed == 0:
		s += ", no column's statistics changed"
	default:
		s += fmt.Sprintf(", %s of %d changed", plural(changed, "column"), len(d.Pairs()))
	}
	if n := len(d.Flags); n > 0 {
		s += fmt.Sprintf(", **%s**", plural(n, "flag"))
	}
	return s + "."
}

func sampleNote(d *profile.Diff) string { return sampleNoteWith(d, mdName) }

func sampleNoteWith(d *profile.Diff, name func(string) string) string {
	var notes []string
	for _, s := range []struct {
		name string
		p    *profile.Profile
	}{{"production", d.Base}, {"here", d.Head}} {
		if s.p == nil || !s.p.Sampled {
			continue
		}
		by := "whole rows"
		if len(s.p.SampleKey) > 0 {
			names := make([]string, len(s.p.SampleKey))
			for i, k := range s.p.SampleKey {
				names[i] = name(k)
			}
			by = strings.Join(names, ", ")
		}
		notes = append(notes, fmt.Sprintf("%s from %s sampled rows (by the hash of %s)", s.name, profile.Count(s.p.SampleRows), by))
	}
	if len(notes) == 0 {
		return ""
	}
	return "≈ estimated: " + strings.Join(notes, "; ") + "."
}

// profileTable has one row per column: each statistic as "production →
// here" when it changed, once when it did not.
func profileTable(pairs []profile.Pair) string {
	var b strings.Builder
	b.WriteString("| column | type | NULLs | distinct | min … max | mean ± sd | values |\n|---|---|---:|---:|---|---|---|\n")
	for _, p := range pairs {
		name := "`" + cell(p.Name) + "`"
		if len(p.Flags) > 0 {
			name = "⚠️ " + name
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", name,
			side(p, func(c *profile.Column) string { return c.Type }),
			side(p, nullsText),
			side(p, distinctText),
			side(p, rangeText),
			side(p, meanText),
			side(p, valuesText))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func nullsText(c *profile.Column) string {
	if c.Nulls == 0 {
		return "0"
	}
	return profile.Count(c.Nulls) + " (" + profile.Percent(c.NullPercent) + ")"
}

// side shows a statistic of both sides: once when equal, "a → b" when
// not, "—" for a side without the column.
func side(p profile.Pair, text func(*profile.Column) string) string {
	get := func(c *profile.Column) string {
		if c == nil {
			return "—"
		}
		return (cell(text(c)))
	}
	b, h := get(p.Base), get(p.Head)
	if p.Base == nil {
		return h
	}
	if b == h {
		return b
	}
	return b + " → " + h
}

func approx(c *profile.Column) string {
	if c.Estimated {
		return "≈"
	}
	return ""
}

func distinctText(c *profile.Column) string {
	if c.Skipped != "" {
		return ""
	}
	return approx(c) + profile.Count(c.Distinct)
}

func rangeText(c *profile.Column) string {
	if c.Skipped != "" {
		return "skipped: " + c.Skipped
	}
	if c.Min == nil && c.Max == nil {
		return ""
	}
	return profile.Value(c.Min) + " … " + profile.Value(c.Max)
}

func meanText(c *profile.Column) string {
	if c.Mean == nil {
		return ""
	}
	s := approx(c) + profile.Number(*c.Mean)
	if c.StdDev != nil {
		s += " ± " + profile.Number(*c.StdDev)
	}
	return s
}

// valuesText is what a column's values look like: its values with their
// counts when it has few, else its quantiles (numbers) or lengths (text).
func valuesText(c *profile.Column) string {
	switch {
	case c.Values != nil:
		var parts []string
		for i, v := range c.Values {
			if i == maxProfileValues {
				parts = append(parts, fmt.Sprintf("+%d more", len(c.Values)-i))
				break
			}
			parts = append(parts, fmt.Sprintf("%s (%s%s)", quoteValue(v.Value), approx(c), profile.Count(v.Count)))
		}
		return strings.Join(parts, " · ")
	case c.P50 != nil:
		return fmt.Sprintf("p5 %s · p50 %s · p95 %s", profile.Value(c.P5), profile.Value(c.P50), profile.Value(c.P95))
	case c.Length != nil:
		return fmt.Sprintf("length %d–%d, avg %s%s", c.Length.Min, c.Length.Max, approx(c), profile.Number(c.Length.Avg))
	}
	return ""
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// quoteValue sets a listed value apart from its count.
func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return "“" + profile.Value(s) + "”"
	}
	return profile.Value(v)
}
