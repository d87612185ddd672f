// Package profile computes column statistics of a relation in the
// warehouse, one statement per relation, and compares two profiles
// (production and a pull request's environment) with rules that flag data
// that looks wrong: a row count that jumps, more NULLs, a mean that moves,
// values outside production's range, values production never had.
//
// # What is exact and what is estimated
//
// One aggregate scan of the relation counts exactly: rows, and per column
// NULLs, minimum and maximum of numbers and times (and the true count of a
// boolean). Everything that needs the values grouped or sorted (distinct
// counts, means and standard deviations, quantiles p5/p50/p95, text lengths
// and text's minimum and maximum, the values of low-cardinality columns)
// is computed in the same statement from a sample: the whole relation when it has at most Options.SampleRows rows
// (by the engine's estimate), so small relations are profiled exactly, and
// above that between half of and all SampleRows rows, picked by the hash of
// Options.SampleKey
// (the model's unique key) or, without a key, of the whole row. Hashing
// makes the sample a function of the data: identical rows are sampled
// alike in production and in the environment, so identical data gives
// identical estimates and a change shows only where rows changed. Above
// SampleRows, distinct counts are estimated from the sample as PostgreSQL's
// ANALYZE does (Haas and Stokes' Duj1 estimator), and value counts are
// scaled up; Profile.Sampled says so.
//
// Exact distinct counts and quantiles sort or hash every value of every
// column, several times the cost of reading the relation once; the sample
// keeps a profile within 1.5 scans when it is picked by a key, and about
// two without one, when picking it hashes every value (see BENCHMARKS.md). On PostgreSQL the
// sample is a second, filtered scan in the same statement rather than part
// of the aggregate scan, because PostgreSQL 15 cannot aggregate in parallel
// once any aggregate collects values; two parallel scans cost less than one
// serial one. A view is therefore run twice.
//
// # Types
//
// Numbers get mean, standard deviation (over finite values) and quantiles;
// text gets lengths in characters and its minimum and maximum by byte
// order; dates and timestamps get minimum and maximum. A type the engine
// cannot compare (PostgreSQL's json, xml, geometric types, or any type
// whose min/count(DISTINCT) does not plan) is listed as skipped with the
// reason, with its NULLs still counted: never an error.
//
// # Sensitive columns
//
// Options.Sensitive names columns whose values must not leave the
// warehouse: their minimum, maximum, quantiles and listed values are
// replaced by Options.Mask, and their mean and standard deviation are left
// out. Counts stay real, and Compare still judges them on the real values,
// which a Profile keeps unexported (never rendered or encoded).
package profile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Options say how to profile a relation.
type Options struct {
	// SampleRows: relations with at most this many rows (as the engine
	// estimates them) are profiled exactly; larger ones from a sample of
	// about this many rows. 0 means DefaultSampleRows.
	SampleRows int64
	// LowCardinality: a column with at most this many distinct values
	// lists them with their counts. 0 means DefaultLowCardinality.
	LowCardinality int
	// SampleKey are the columns whose hash picks the sample rows: the
	// model's unique key; without them (or when the relation lacks one)
	// the whole row is hashed. A key is also exempt from out_of_range, as
	// new keys are usually beyond production's.
	SampleKey []string
	// Sensitive reports whether a column's values must be masked; nil
	// means none is.
	Sensitive func(column string) bool
	// Mask is what a masked value shows; nil shows MaskedValue.
	Mask func(v any) string
}

// Defaults for Options.
const (
	DefaultSampleRows     = 30_000
	DefaultLowCardinality = 20
	// MaskedValue replaces a sensitive value when Options.Mask is nil.
	MaskedValue = "•••"
)

// Kind is what a column holds, as the profile treats it.
type Kind string

const (
	KindNumber  Kind = "number"
	KindText    Kind = "text"
	KindBoolean Kind = "boolean"
	KindTime    Kind = "time" // dates and timestamps
	KindOther   Kind = "other"
)

// Profile is the statistics of one relation.
type Profile struct {
	Relation warehouse.Relation `json:"relation"`
	Exists   bool               `json:"exists"`
	Rows     int64              `json:"rows"`
	// Sampled: the estimated statistics come from SampleRows rows picked
	// by the hash of SampleKey (of the whole row when it is empty).
	Sampled    bool     `json:"sampled"`
	SampleRows int64    `json:"sample_rows"`
	SampleKey  []string `json:"sample_key,omitempty"`
	// Key are the columns of Options.SampleKey the relation has.
	Key     []string `json:"key,omitempty"`
	Columns []Column `json:"columns"`
}

// Column is the statistics of one column. Values (Min, Max, the quantiles,
// Values[].Value) are Go values as datadiff decodes them: int64, float64,
// decimal text, string, bool, time.Time, or the engine's text; a masked
// value is the mask's text.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Kind Kind   `json:"kind"`
	// Skipped says why the column has only its NULLs counted.
	Skipped     string  `json:"skipped,omitempty"`
	Nulls       int64   `json:"nulls"`
	NullPercent float64 `json:"null_percent"`
	// Distinct counts the distinct non-NULL values (estimated when
	// Estimated).
	Distinct int64 `json:"distinct"`
	// Estimated: Distinct, Mean, StdDev, the quantiles, Length, Values,
	// and text's Min and Max come from the sample.
	Estimated bool     `json:"estimated,omitempty"`
	Min       any      `json:"min,omitempty"`
	Max       any      `json:"max,omitempty"`
	Mean      *float64 `json:"mean,omitempty"`
	StdDev    *float64 `json:"stddev,omitempty"`
	P5        any      `json:"p5,omitempty"`
	P50       any      `json:"p50,omitempty"`
	P95       any      `json:"p95,omitempty"`
	Length    *Lengths `json:"length,omitempty"`
	// Values lists every value with its count, most frequent first, when
	// the column has at most LowCardinality distinct values.
	Values []ValueCount `json:"values,omitempty"`
	// Masked: the column is sensitive; its values above are masks.
	Masked bool `json:"masked,omitempty"`

	// raw holds the real values of a masked column for Compare.
	raw rawValues
}

// rawValues are the real values behind a masked Column.
type rawValues struct {
	set          bool
	min, max     any
	mean, stddev *float64
	values       []ValueCount
}

// Lengths of text values, in characters.
type Lengths struct {
	Min int64   `json:"min"`
	Avg float64 `json:"avg"`
	Max int64   `json:"max"`
}

// ValueCount is a value and how many rows hold it.
type ValueCount struct {
	Value any   `json:"value"`
	Count int64 `json:"count"`
}

// Column finds a column by name (exactly, then ignoring case).
func (p *Profile) Column(name string) (*Column, bool) {
	if p == nil {
		return nil, false
	}
	for i := range p.Columns {
		if p.Columns[i].Name == name {
			return &p.Columns[i], true
		}
	}
	for i := range p.Columns {
		if equalFold(p.Columns[i].Name, name) {
			return &p.Columns[i], true
		}
	}
	return nil, false
}

// Run profiles rel in w with one statement. A relation that does not exist
// gives a Profile with Exists false and no error.
func Run(ctx context.Context, w warehouse.Warehouse, rel warehouse.Relation, opts Options) (*Profile, error) {
	d := w.Dialect()
	what := "profile " + d.QuoteRelation(rel)
	opts = opts.withDefaults()
	p := &Profile{Relation: rel}
	cols, err := w.Columns(ctx, rel)
	switch {
	case errors.Is(err, warehouse.ErrRelationNotFound):
		return p, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	p.Exists = true
	for _, k := range opts.SampleKey {
		if c, ok := datadiff.FindColumn(cols, k); ok {
			p.Key = append(p.Key, c.Name)
		}
	}
	st, err := plan(ctx, w, rel, cols, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	query, args := st.sql()
	rows, err := w.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(rows.Values) != 1 {
		return nil, fmt.Errorf("%s: %d result rows, want 1", what, len(rows.Values))
	}
	if err := st.decode(rows.Values[0], p); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	p.mask(opts)
	return p, nil
}

func (o Options) withDefaults() Options {
	if o.SampleRows <= 0 {
		o.SampleRows = DefaultSampleRows
	}
	if o.LowCardinality <= 0 {
		o.LowCardinality = DefaultLowCardinality
	}
	if o.Mask == nil {
		o.Mask = func(any) string { return MaskedValue }
	}
	return o
}

// mask replaces the values of sensitive columns, keeping the real ones
// for Compare.
func (p *Profile) mask(opts Options) {
	if opts.Sensitive == nil {
		return
	}
	m := func(v any) any {
		if v == nil {
			return nil
		}
		return opts.Mask(v)
	}
	for i := range p.Columns {
		c := &p.Columns[i]
		if !opts.Sensitive(c.Name) {
			continue
		}
		c.raw = rawValues{set: true, min: c.Min, max: c.Max, mean: c.Mean, stddev: c.StdDev, values: c.Values}
		c.Masked = true
		c.Min, c.Max, c.P5, c.P50, c.P95 = m(c.Min), m(c.Max), m(c.P5), m(c.P50), m(c.P95)
		c.Mean, c.StdDev = nil, nil
		if c.Values != nil {
			masked := make([]ValueCount, len(c.Values))
			for j, vc := range c.Values {
				masked[j] = ValueCount{Value: m(vc.Value), Count: vc.Count}
			}
			c.Values = masked
		}
	}
}

// real returns the column's real values: the raw ones of a masked column.
func (c *Column) real() rawValues {
	if c.raw.set {
		return c.raw
	}
	return rawValues{min: c.Min, max: c.Max, mean: c.Mean, stddev: c.StdDev, values: c.Values}
}

// JSONValue makes a value encodable as JSON: NaN and infinities become
// the strings "NaN", "+Inf" and "-Inf", and dates without a time their
// date.
func JSONValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case time.Time:
		if isDate(x) {
			return x.Format("2006-01-02")
		}
	}
	return v
}

// isDate reports whether t is a date: midnight exactly.
func isDate(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}
