package profile

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Rules say which differences between production and the environment are
// flagged; a threshold of 0 (or false) turns its rule off.
type Rules struct {
	config.ProfileRules
	// Columns change the rules for one column of one model.
	Columns []config.ColumnRules
	// Path names the configuration file, for errors about Columns.
	Path string
}

// RulesFrom takes the rules of dataops.yml's profile section; path is the
// file, for messages.
func RulesFrom(p config.Profile, path string) Rules {
	return Rules{ProfileRules: p.Rules, Columns: p.Columns, Path: path}
}

// DefaultRules are the rules an empty dataops.yml means.
func DefaultRules() Rules { return RulesFrom(config.DefaultProfile(), config.FileName) }

// OptionsFrom takes the sampling settings of dataops.yml's profile section.
func OptionsFrom(p config.Profile) Options {
	return Options{SampleRows: p.SampleRows, LowCardinality: p.LowCardinality}
}

// Model profiles a model's relation in production (base) and in the
// environment (head), the same way, and compares the two.
func Model(ctx context.Context, w warehouse.Warehouse, model string, base, head warehouse.Relation, opts Options, rules Rules) (*Diff, error) {
	pb, err := Run(ctx, w, base, opts)
	if err != nil {
		return nil, err
	}
	ph, err := Run(ctx, w, head, opts)
	if err != nil {
		return nil, err
	}
	return Compare(model, pb, ph, rules)
}

// Flag is one rule that fired.
type Flag struct {
	Flag    string `json:"flag"` // one of config.ProfileFlags
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// Diff compares the profile of a relation in production (Base) with its
// profile in the environment (Head). Either may not exist (a new or a
// removed model).
type Diff struct {
	Base  *Profile `json:"base"`
	Head  *Profile `json:"head"`
	Flags []Flag   `json:"flags"`
	// Changed lists the columns whose statistics differ, or that were
	// added, removed or retyped, in Pairs order.
	Changed []string `json:"changed_columns"`
}

// Pair is one column on both sides; Base or Head is nil when the column
// is only on the other side.
type Pair struct {
	Name       string
	Base, Head *Column
	Changed    bool
	Flags      []Flag
}

// Pairs lists the columns of both sides: base's in order, then those only
// in head.
func (d *Diff) Pairs() []Pair {
	var out []Pair
	seen := map[string]bool{}
	add := func(name string, b, h *Column) {
		p := Pair{Name: name, Base: b, Head: h, Changed: slices.Contains(d.Changed, name)}
		for _, f := range d.Flags {
			if f.Column == name {
				p.Flags = append(p.Flags, f)
			}
		}
		out = append(out, p)
	}
	if d.Base != nil {
		for i := range d.Base.Columns {
			b := &d.Base.Columns[i]
			h, _ := d.Head.Column(b.Name)
			if h != nil {
				seen[strings.ToLower(h.Name)] = true
			}
			add(b.Name, b, h)
		}
	}
	if d.Head != nil {
		for i := range d.Head.Columns {
			h := &d.Head.Columns[i]
			if !seen[strings.ToLower(h.Name)] {
				if b, ok := d.Base.Column(h.Name); !ok || b == nil {
					add(h.Name, nil, h)
				}
			}
		}
	}
	return out
}

// TableFlags are the flags about the whole relation (the row count).
func (d *Diff) TableFlags() []Flag {
	var out []Flag
	for _, f := range d.Flags {
		if f.Column == "" {
			out = append(out, f)
		}
	}
	return out
}

// HasFlag reports whether any flag is one of names.
func (d *Diff) HasFlag(names ...string) bool {
	for _, f := range d.Flags {
		if slices.Contains(names, f.Flag) {
			return true
		}
	}
	return false
}

// Compare applies rules to the profiles of model in production (base) and
// in the environment (head). A column rule for this model naming a column
// neither side has is an error naming its line in dataops.yml.
func Compare(model string, base, head *Profile, rules Rules) (*Diff, error) {
	d := &Diff{Base: base, Head: head}
	var mine []config.ColumnRules
	for _, cr := range rules.Columns {
		if cr.Model != model {
			continue
		}
		_, inBase := base.Column(cr.Column)
		_, inHead := head.Column(cr.Column)
		if !inBase && !inHead && (base.exists() || head.exists()) {
			return nil, &config.Error{Path: rules.Path, Line: cr.Line, Field: "profile.columns",
				Message: fmt.Sprintf("model %s has no column %q (its columns: %s)", model, cr.Column, columnNames(head, base))}
		}
		mine = append(mine, cr)
	}
	if !base.exists() || !head.exists() {
		// A new or removed model: nothing to compare with.
		for _, p := range d.Pairs() {
			d.Changed = append(d.Changed, p.Name)
		}
		return d, nil
	}
	if rules.RowCount > 0 && (base.Rows != head.Rows) {
		if base.Rows == 0 || pctChange(base.Rows, head.Rows) > rules.RowCount {
			d.Flags = append(d.Flags, Flag{Flag: config.FlagRowCount, Message: fmt.Sprintf("rows %s → %s (%s, limit %g%%)",
				Count(base.Rows), Count(head.Rows), signedPct(base.Rows, head.Rows), rules.RowCount)})
		}
	}
	for _, p := range d.Pairs() {
		if p.Base == nil || p.Head == nil || columnChanged(p.Base, p.Head) {
			d.Changed = append(d.Changed, p.Name)
		}
		if p.Base == nil || p.Head == nil || p.Base.Skipped != "" || p.Head.Skipped != "" || base.Rows == 0 || head.Rows == 0 {
			continue
		}
		r := columnRules(rules, mine, p.Name)
		if slices.ContainsFunc(head.Key, func(k string) bool { return strings.EqualFold(k, p.Name) }) {
			r.ignore = append(r.ignore, config.FlagOutOfRange)
		}
		d.Flags = append(d.Flags, r.check(p.Name, p.Base, p.Head)...)
	}
	return d, nil
}

func (p *Profile) exists() bool { return p != nil && p.Exists }

func columnNames(ps ...*Profile) string {
	for _, p := range ps {
		if p.exists() {
			var names []string
			for _, c := range p.Columns {
				names = append(names, c.Name)
			}
			return strings.Join(names, ", ")
		}
	}
	return ""
}

// colRules are the rules for one column, overrides applied.
type colRules struct {
	config.ProfileRules
	ignore []string
}

func columnRules(rules Rules, mine []config.ColumnRules, column string) colRules {
	r := colRules{ProfileRules: rules.ProfileRules}
	for _, cr := range mine {
		if cr.Column != column && !strings.EqualFold(cr.Column, column) {
			continue
		}
		r.ignore = append(r.ignore, cr.Ignore...)
		if cr.NullShare != nil {
			r.NullShare = *cr.NullShare
		}
		if cr.DistinctCount != nil {
			r.DistinctCount = *cr.DistinctCount
		}
		if cr.MeanShift != nil {
			r.MeanShift = *cr.MeanShift
		}
	}
	return r
}

func (r colRules) on(flag string) bool { return r.RuleOn(flag) && !slices.Contains(r.ignore, flag) }

// check applies the column rules to a column present on both sides.
func (r colRules) check(name string, b, h *Column) []Flag {
	var out []Flag
	flag := func(f, format string, args ...any) {
		out = append(out, Flag{Flag: f, Column: name, Message: fmt.Sprintf(format, args...)})
	}
	if r.on(config.FlagNullShare) {
		if up := h.NullPercent - b.NullPercent; up > r.NullShare {
			flag(config.FlagNullShare, "NULLs %s → %s (+%.1f points, limit %g)", Percent(b.NullPercent), Percent(h.NullPercent), up, r.NullShare)
		}
	}
	// A column with few values is watched value by value (new_value).
	if r.on(config.FlagDistinctCount) && b.real().values == nil && b.Distinct != h.Distinct && b.Distinct > 0 {
		if pctChange(b.Distinct, h.Distinct) > r.DistinctCount {
			flag(config.FlagDistinctCount, "distinct values %s%s → %s%s (%s, limit %g%%)", approx(b.Estimated), Count(b.Distinct),
				approx(h.Estimated), Count(h.Distinct), signedPct(b.Distinct, h.Distinct), r.DistinctCount)
		}
	}
	rb, rh := b.real(), h.real()
	if r.on(config.FlagMeanShift) && rb.mean != nil && rh.mean != nil && rb.stddev != nil && !sameFloat(rb.mean, rh.mean) {
		shift, sd := math.Abs(*rh.mean-*rb.mean), *rb.stddev
		moved := fmt.Sprintf("moved by %.1f standard deviations (limit %g)", shift/sd, r.MeanShift)
		if sd == 0 {
			moved = "production's values are all equal"
		}
		if sd == 0 || shift/sd > r.MeanShift {
			if h.Masked {
				flag(config.FlagMeanShift, "mean %s", moved)
			} else {
				flag(config.FlagMeanShift, "mean %s → %s: %s", Number(*rb.mean), Number(*rh.mean), moved)
			}
		}
	}
	if r.on(config.FlagOutOfRange) && (b.Kind == KindNumber || b.Kind == KindTime) && b.Kind == h.Kind {
		if c, ok := compareValues(rh.min, rb.min); ok && c < 0 {
			flag(config.FlagOutOfRange, "minimum %s is below production's %s", Value(h.Min), Value(b.Min))
		}
		if c, ok := compareValues(rh.max, rb.max); ok && c > 0 {
			flag(config.FlagOutOfRange, "maximum %s is above production's %s", Value(h.Max), Value(b.Max))
		}
	}
	if r.on(config.FlagNewValue) && rb.values != nil {
		known := map[string]bool{}
		for _, vc := range rb.values {
			known[valueKey(b.Kind, vc.Value)] = true
		}
		var news []string
		for i, vc := range rh.values {
			if !known[valueKey(h.Kind, vc.Value)] {
				news = append(news, fmt.Sprintf("%s (%s%s)", Value(h.Values[i].Value), approx(h.Estimated), plural(vc.Count, "row")))
			}
		}
		switch {
		case len(news) > 0:
			flag(config.FlagNewValue, "new %s: %s", pluralWord(len(news), "value"), strings.Join(news, ", "))
		case rh.values == nil && h.Distinct > b.Distinct:
			flag(config.FlagNewValue, "%s%s distinct values where production has %s", approx(h.Estimated), Count(h.Distinct), Count(b.Distinct))
		}
	}
	return out
}

// columnChanged reports whether any statistic of a column differs.
func columnChanged(b, h *Column) bool {
	rb, rh := b.real(), h.real()
	if !strings.EqualFold(b.Type, h.Type) || b.Skipped != h.Skipped || b.Nulls != h.Nulls || b.Distinct != h.Distinct {
		return true
	}
	same := func(x, y any) bool {
		return x == nil && y == nil || x != nil && y != nil && valueKey(b.Kind, x) == valueKey(h.Kind, y)
	}
	if !same(rb.min, rh.min) || !same(rb.max, rh.max) || !same(b.P5, h.P5) || !same(b.P50, h.P50) || !same(b.P95, h.P95) {
		return true
	}
	if !sameFloat(rb.mean, rh.mean) || !sameFloat(rb.stddev, rh.stddev) {
		return true
	}
	if (b.Length == nil) != (h.Length == nil) || b.Length != nil && (b.Length.Min != h.Length.Min || b.Length.Max != h.Length.Max ||
		!sameFloat(&b.Length.Avg, &h.Length.Avg)) {
		return true
	}
	if len(rb.values) != len(rh.values) {
		return true
	}
	for i := range rb.values {
		if rb.values[i].Count != rh.values[i].Count || !same(rb.values[i].Value, rh.values[i].Value) {
			return true
		}
	}
	return false
}

// sameFloat compares two floats loosely: the last bits of a sum depend on
// the order in which a parallel engine added it up.
func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, y := *a, *b
	if x == y || math.IsNaN(x) && math.IsNaN(y) {
		return true
	}
	return math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
}

// valueKey identifies a value of a column of kind k across the two sides:
// numbers by value (an integer 1 and a decimal "1.00" alike), times by
// instant, anything else by its Go type and text.
func valueKey(k Kind, v any) string {
	if k == KindNumber {
		if r, ok := ratOf(v); ok {
			return "n:" + r.RatString()
		}
	}
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("f:%v", x) // NaN, ±Inf
	case time.Time:
		return "t:" + x.UTC().Format(time.RFC3339Nano)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T:%v", v, v)
}

// ratOf reads a number exactly: int64, finite float64, or decimal text.
func ratOf(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(x), true
	case string:
		// decimal text, as the engines print it
		if strings.ContainsAny(x, "/") {
			return nil, false
		}
		r, ok := new(big.Rat).SetString(strings.TrimSpace(x))
		return r, ok
	}
	return nil, false
}

// compareValues orders two values of one kind: numbers by value (NaN
// above everything, as both engines sort it), times by instant. ok is
// false when they cannot be compared.
func compareValues(a, b any) (int, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	if ta, ok := a.(time.Time); ok {
		if tb, ok := b.(time.Time); ok {
			return ta.Compare(tb), true
		}
		return 0, false
	}
	fa, okA := floatOf(a)
	fb, okB := floatOf(b)
	if !okA || !okB {
		return 0, false
	}
	if math.IsNaN(fa) || math.IsNaN(fb) {
		// NaN above everything; cmp.Compare puts it below.
		return -cmp.Compare(fa, fb), true
	}
	ra, _ := ratOf(a)
	rb, _ := ratOf(b)
	if ra == nil || rb == nil {
		return cmp.Compare(fa, fb), true // infinities
	}
	return ra.Cmp(rb), true
}

func floatOf(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		if r, ok := ratOf(x); ok {
			f, _ := r.Float64()
			return f, true
		}
	}
	return 0, false
}

// pctChange is |head - base| as a percentage of base (base > 0).
func pctChange(base, head int64) float64 {
	return 100 * math.Abs(float64(head-base)) / float64(base)
}

func signedPct(base, head int64) string {
	if base == 0 {
		return "from none"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(head-base)/float64(base))
}

func approx(estimated bool) string {
	if estimated {
		return "≈"
	}
	return ""
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return Count(n) + " " + word + "s"
}

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// CheckModels reports a column rule naming a model the project does not
// have (isModel says which it has), as an error naming its line in
// dataops.yml.
func (r Rules) CheckModels(isModel func(name string) bool) error {
	for _, cr := range r.Columns {
		if !isModel(cr.Model) {
			return &config.Error{Path: r.Path, Line: cr.Line, Field: "profile.columns", Message: fmt.Sprintf("no model %q in the project", cr.Model)}
		}
	}
	return nil
}
