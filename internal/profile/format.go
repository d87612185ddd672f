package profile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Formatting for people, shared by the comment, the check text and the
// command line.

// Count writes a count with thousands separators: 1,234,567.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Percent writes a share: 0%, <0.1%, 7.5%, 100%.
func Percent(p float64) string {
	switch {
	case p == 0:
		return "0%"
	case p < 0.05:
		return "<0.1%"
	case p > 99.95 && p < 100:
		return ">99.9%"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", p), ".0") + "%"
}

// Number writes a statistic with about four significant digits, without
// an exponent in the usual range: 35.21, 5000000.5 → 5000000, 0.001234.
func Number(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	a := math.Abs(f)
	if a >= 1e15 || a < 1e-4 {
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	digits := int(math.Floor(math.Log10(a))) + 1 // before the point
	prec := max(0, 4-digits)
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// maxValueRunes cuts long text values.
const maxValueRunes = 40

// Value writes a value as a person reads it: NULL, dates without a time,
// timestamps without a zone, floats in full without an exponent in the
// usual range, long text cut.
func Value(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		switch a := math.Abs(x); {
		case math.IsNaN(x) || math.IsInf(x, 0):
			return Number(x)
		case a >= 1e-4 && a < 1e15 || a == 0:
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		if r := []rune(x); len(r) > maxValueRunes {
			return string(r[:maxValueRunes-1]) + "…"
		}
		return x
	case time.Time:
		if isDate(x) {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04:05.999999")
	}
	return fmt.Sprint(v)
}

// Headline sums a profile diff up: the rows on both sides, how many
// columns changed, how many flags.
func (d *Diff) Headline() string {
	h := d.Head
	if !d.Base.exists() {
		return fmt.Sprintf("Profile: %s rows, %s; new, nothing in production to compare with.", Count(h.Rows), plural(int64(len(h.Columns)), "column"))
	}
	rows := Count(d.Base.Rows)
	if d.Base.Rows != h.Rows {
		rows += " → " + Count(h.Rows)
	}
	s := "Profile (production → here): " + rows + " rows"
	if changed := len(d.Changed); changed == 0 {
		s += ", no column's statistics changed"
	} else {
		s += fmt.Sprintf(", %s of %d changed", plural(int64(changed), "column"), len(d.Pairs()))
	}
	if n := len(d.Flags); n > 0 {
		s += ", " + plural(int64(n), "flag")
	}
	return s + "."
}

// SampleNote says which statistics are estimated, and from what; "" when
// both sides were profiled whole.
func (d *Diff) SampleNote() string {
	var notes []string
	for _, s := range []struct {
		name string
		p    *Profile
	}{{"production", d.Base}, {"here", d.Head}} {
		if !s.p.exists() || !s.p.Sampled {
			continue
		}
		by := "whole rows"
		if len(s.p.SampleKey) > 0 {
			by = strings.Join(s.p.SampleKey, ", ")
		}
		notes = append(notes, fmt.Sprintf("%s from %s sampled rows (by the hash of %s)", s.name, Count(s.p.SampleRows), by))
	}
	if len(notes) == 0 {
		return ""
	}
	return "≈ estimated: " + strings.Join(notes, "; ") + "."
}

// ColumnHeader names the cells of Pair.Cells.
var ColumnHeader = []string{"column", "type", "NULLs", "distinct", "min … max", "mean ± sd", "values"}

// maxListedValues is how many of a column's values a cell lists.
const maxListedValues = 5

// Cells are a column's statistics for a table row (see ColumnHeader): each
// as "production → here" when it changed, once when it did not, "—" on a
// side without the column.
func (p Pair) Cells() []string {
	return []string{p.Name,
		p.side(func(c *Column) string { return c.Type }),
		p.side(nullsText),
		p.side(distinctText),
		p.side(rangeText),
		p.side(meanText),
		p.side(valuesText)}
}

func (p Pair) side(text func(*Column) string) string {
	get := func(c *Column) string {
		if c == nil {
			return "—"
		}
		return text(c)
	}
	b, h := get(p.Base), get(p.Head)
	if p.Base == nil || b == h {
		return h
	}
	return b + " → " + h
}

func nullsText(c *Column) string {
	if c.Nulls == 0 {
		return "0"
	}
	return Count(c.Nulls) + " (" + Percent(c.NullPercent) + ")"
}

func distinctText(c *Column) string {
	if c.Skipped != "" {
		return ""
	}
	return approx(c.Estimated) + Count(c.Distinct)
}

func rangeText(c *Column) string {
	if c.Skipped != "" {
		return "skipped: " + c.Skipped
	}
	if c.Min == nil && c.Max == nil {
		return ""
	}
	return Value(c.Min) + " … " + Value(c.Max)
}

func meanText(c *Column) string {
	if c.Mean == nil {
		return ""
	}
	s := approx(c.Estimated) + Number(*c.Mean)
	if c.StdDev != nil {
		s += " ± " + Number(*c.StdDev)
	}
	return s
}

// valuesText is what a column's values look like: its values with their
// counts when it has few, else its quantiles (numbers) or lengths (text).
func valuesText(c *Column) string {
	switch {
	case c.Values != nil:
		var parts []string
		for i, v := range c.Values {
			if i == maxListedValues {
				parts = append(parts, fmt.Sprintf("+%d more", len(c.Values)-i))
				break
			}
			parts = append(parts, fmt.Sprintf("%s (%s%s)", quoteValue(v.Value), approx(c.Estimated), Count(v.Count)))
		}
		return strings.Join(parts, " · ")
	case c.P50 != nil:
		return fmt.Sprintf("p5 %s · p50 %s · p95 %s", Value(c.P5), Value(c.P50), Value(c.P95))
	case c.Length != nil:
		return fmt.Sprintf("length %d–%d, avg %s%s", c.Length.Min, c.Length.Max, approx(c.Estimated), Number(c.Length.Avg))
	}
	return ""
}

// quoteValue sets a listed text value apart from its count.
func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return "“" + Value(s) + "”"
	}
	return Value(v)
}
