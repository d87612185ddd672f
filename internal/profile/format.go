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
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04:05.999999")
	}
	return fmt.Sprint(v)
}
