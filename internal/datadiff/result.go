// Package datadiff compares the rows of two relations by key, exactly.
//
// Join diffs two relations in one warehouse with one SQL pass: a full outer
// join on the key with per-column comparison aggregates; only aggregates
// and a few sample rows leave the warehouse. HashDiff compares relations in
// two warehouses by checksum bisection, as datafold's data-diff "hashdiff"
// does: it compares counts and checksums of key segments on each side,
// recurses into segments that differ, and fetches rows only from small
// segments that differ.
package datadiff

import (
	"errors"

	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Options say what to compare.
type Options struct {
	Base, Head warehouse.Relation
	// Key columns identify a row on both sides. Without a key only row
	// counts and the schema are compared.
	Key []string
	// Columns to compare; empty means every column both sides have, but
	// the key.
	Columns []string
	// Where is a SQL predicate applied to both sides, from the user.
	Where string
	// Sample is how many example rows to return per category (default 5).
	Sample int
	// Tolerance: numeric values differing by at most this much are equal.
	Tolerance float64
	// Mask hides the values of sensitive columns in the samples (key
	// values included). Nil masks the columns internal/mask's default
	// patterns name, with a key of this diff's own. Counts and match
	// percentages always come from the real values.
	Mask Masker
}

// Masker is what a diff needs of internal/mask: a sample value of column
// as it may be shown.
type Masker interface {
	Value(column string, v any) any
}

// ErrNoKey is wrapped when no key is given; the Result still holds row
// counts and the schema diff.
var ErrNoKey = errors.New("no key to match rows by")

// Side describes one of the two relations.
type Side struct {
	Relation warehouse.Relation `json:"relation"`
	Exists   bool               `json:"exists"`
	Rows     int64              `json:"rows"`
	Columns  []warehouse.Column `json:"columns"`
	// NullKeys counts rows with a NULL in a key column; they are never
	// matched and not in the per-key counts.
	NullKeys int64 `json:"null_keys"`
	// DuplicateKeys counts key values held by more than one row; those rows
	// are reported, not joined.
	DuplicateKeys int64 `json:"duplicate_keys"`
	// DuplicateSample holds a few duplicated key values.
	DuplicateSample [][]any `json:"duplicate_sample,omitempty"`
}

// Retyped is a column whose type differs between the sides.
type Retyped struct {
	Name     string `json:"name"`
	BaseType string `json:"base_type"`
	HeadType string `json:"head_type"`
}

// SchemaDiff compares the columns of the two sides.
type SchemaDiff struct {
	Added   []warehouse.Column `json:"added"`   // only in head
	Removed []warehouse.Column `json:"removed"` // only in base
	Retyped []Retyped          `json:"retyped"`
}

// ColumnDiff is how one compared column changed among rows in both sides.
type ColumnDiff struct {
	Name    string `json:"name"`
	Changed int64  `json:"changed"`
	// MatchPercent is 100 * (matched rows - Changed) / matched rows; 100
	// when there are no matched rows.
	MatchPercent float64 `json:"match_percent"`
}

// Row is a sample row: its key values, and its compared columns' values.
type Row struct {
	Key    []any          `json:"key"`
	Values map[string]any `json:"values"`
}

// ChangedRow is a sample of a row present on both sides with different
// values: for each changed column, the base and the head value.
type ChangedRow struct {
	Key     []any             `json:"key"`
	Changes map[string][2]any `json:"changes"`
}

// Samples are example rows for each category.
type Samples struct {
	OnlyInBase []Row        `json:"only_in_base"`
	OnlyInHead []Row        `json:"only_in_head"`
	Changed    []ChangedRow `json:"changed"`
}

// Result is a whole diff.
type Result struct {
	Algorithm string     `json:"algorithm"` // "join" or "hashdiff"
	Key       []string   `json:"key"`
	Base      Side       `json:"base"`
	Head      Side       `json:"head"`
	Schema    SchemaDiff `json:"schema"`
	// The per-key counts, over rows with a non-NULL, non-duplicated key.
	OnlyInBase int64        `json:"only_in_base"`
	OnlyInHead int64        `json:"only_in_head"`
	Changed    int64        `json:"changed"`
	Unchanged  int64        `json:"unchanged"`
	Columns    []ColumnDiff `json:"columns"`
	Samples    Samples      `json:"samples"`
	// RowsTransferred counts table rows read out of the warehouses (not
	// aggregates): samples for Join, fetched segments for HashDiff.
	RowsTransferred int64 `json:"rows_transferred"`
}

// Identical reports whether the diff found no difference at all.
func (r *Result) Identical() bool {
	return r.Base.Exists && r.Head.Exists && r.Base.Rows == r.Head.Rows &&
		len(r.Schema.Added)+len(r.Schema.Removed)+len(r.Schema.Retyped) == 0 &&
		r.OnlyInBase+r.OnlyInHead+r.Changed == 0 && r.Base.DuplicateKeys+r.Head.DuplicateKeys == 0 &&
		r.Base.NullKeys+r.Head.NullKeys == 0
}

// maskSamples replaces the sample values of sensitive columns by their
// masks: it runs once, on the way out of Join and HashDiff, so no caller
// sees a real one.
func (r *Result) maskSamples(m Masker) {
	if r == nil {
		return
	}
	if m == nil {
		m = mask.Defaults()
	}
	keys := func(key []any) {
		for i := range key {
			if i < len(r.Key) {
				key[i] = m.Value(r.Key[i], key[i])
			} else {
				key[i] = m.Value("", key[i]) // not made: every key value has its column
			}
		}
	}
	for _, rows := range [][]Row{r.Samples.OnlyInBase, r.Samples.OnlyInHead} {
		for _, row := range rows {
			keys(row.Key)
			for col, v := range row.Values {
				row.Values[col] = m.Value(col, v)
			}
		}
	}
	for _, row := range r.Samples.Changed {
		keys(row.Key)
		for col, v := range row.Changes {
			row.Changes[col] = [2]any{m.Value(col, v[0]), m.Value(col, v[1])}
		}
	}
	for _, side := range []*Side{&r.Base, &r.Head} {
		for _, key := range side.DuplicateSample {
			keys(key)
		}
	}
}
