package datadiff

// A random table generator and an in-memory reference diff, shared by the
// Join and HashDiff tests.
//
//	base, head := genPair(rng, genOptions{Rows: 200, Remove: 0.05, Add: 0.05, Change: 0.1})
//	rb := load(t, w, schema, base)   // CREATE TABLE + INSERTs with bound parameters
//	rh := load(t, w, schema, head)
//	want := referenceDiff(base, head, Options{Base: rb, Head: rh, Key: base.Key})
//
// Values are held as Go values with one representation per kind (see
// genKind), so that the reference comparison is exact and independent of any
// engine; load converts them to SQL with explicit CASTs.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// genKind is the type of a generated column; see warehousetest.Kind for
// each kind's Go value. Decimals are int64 hundredths.
type genKind = warehousetest.Kind

const (
	genInteger   = warehousetest.KindInteger
	genBigint    = warehousetest.KindBigint
	genDecimal   = warehousetest.KindDecimal
	genDouble    = warehousetest.KindDouble
	genText      = warehousetest.KindText
	genBoolean   = warehousetest.KindBoolean
	genDate      = warehousetest.KindDate
	genTimestamp = warehousetest.KindTimestamp
	genKinds     = warehousetest.Kinds
)

// genColumn is a generated column. Type, when set, overrides the SQL type
// load creates (e.g. "timestamp(3)"); the values must still fit it.
type genColumn struct {
	Name string
	Kind genKind
	Type string
}

func (c genColumn) sqlType(engine string) string {
	if c.Type != "" {
		return c.Type
	}
	return c.Kind.SQLType(engine)
}

// genTable is a generated relation: its name, columns (the key columns
// first), the names of its key columns, and its rows in table order.
type genTable struct {
	Name    string
	Columns []genColumn
	Key     []string
	Rows    [][]any
}

func (t genTable) columnIndex(name string) int {
	return slices.IndexFunc(t.Columns, func(c genColumn) bool { return c.Name == name })
}

// keyOf encodes a row's key as a map key, and reports whether it has a
// NULL in a key column.
func (t genTable) keyOf(row []any) (key string, null bool) {
	var b strings.Builder
	for _, k := range t.Key {
		v := row[t.columnIndex(k)]
		if v == nil {
			return "", true
		}
		fmt.Fprintf(&b, "%T:%q|", v, fmt.Sprint(v))
	}
	return b.String(), false
}

// genOptions say what genPair generates. Fractions are per row of base.
type genOptions struct {
	Rows      int     // rows of base before NULL and duplicated keys are added
	Composite bool    // key (id integer, code text) instead of (id integer)
	Remove    float64 // rows of base missing from head
	Add       float64 // rows only in head (new keys)
	Change    float64 // rows of head with 1 to 3 values changed (a new value, or NULL <-> value)
	Nudge     float64 // rows of head with a numeric value moved by a small amount (for Tolerance)
	NullFrac  float64 // NULL values among the non-key values
	NullKeys  int     // rows with a NULL in a key column, added to each side
	DupKeys   int     // keys duplicated on each side (some in both, some on one side only)
	// Kinds of the non-key columns; empty means one column of every kind.
	Kinds []genKind
	// Hostile gives tables and columns names with quotes, spaces, dots,
	// upper case and unicode.
	Hostile bool
}

// genPair returns two tables to diff: base is random, head is base with
// the differences opts asks for, both in random row order.
func genPair(rng *rand.Rand, opts genOptions) (base, head genTable) {
	names := struct{ base, head, id, code, col string }{"base", "head", "id", "code", "c_%d_%s"}
	if opts.Hostile {
		names.base, names.head = `Base "tbl"`, "head table.ü"
		names.id, names.code, names.col = `Id "key"`, "code; drop", `C %d "%s" ✓`
	}
	kinds := opts.Kinds
	if len(kinds) == 0 {
		for k := genKind(0); k < genKinds; k++ {
			kinds = append(kinds, k)
		}
	}
	cols := []genColumn{{Name: names.id, Kind: genInteger}}
	key := []string{names.id}
	if opts.Composite {
		cols = append(cols, genColumn{Name: names.code, Kind: genText})
		key = append(key, names.code)
	}
	nkey := len(cols)
	for i, k := range kinds {
		cols = append(cols, genColumn{Name: fmt.Sprintf(names.col, i, k), Kind: k})
	}
	base = genTable{Name: names.base, Columns: cols, Key: key}
	head = genTable{Name: names.head, Columns: slices.Clone(cols), Key: slices.Clone(key)}

	// Keys: ids spread over a range wider than the table, so that added
	// rows find free ones; composite keys reuse ids with different codes.
	used := map[string]bool{}
	nextKey := func() []any {
		for {
			id := int64(rng.IntN(4*opts.Rows+10)) - int64(opts.Rows)
			k := []any{id}
			if opts.Composite {
				k = append(k, genKeyCodes[rng.IntN(len(genKeyCodes))])
			}
			s := fmt.Sprint(k...)
			if !used[s] {
				used[s] = true
				return k
			}
		}
	}
	newRow := func() []any {
		row := nextKey()
		for _, c := range cols[nkey:] {
			row = append(row, genValue(rng, c.Kind, opts.NullFrac))
		}
		return row
	}
	for range opts.Rows {
		base.Rows = append(base.Rows, newRow())
	}
	for _, r := range base.Rows {
		if rng.Float64() < opts.Remove {
			continue
		}
		r = slices.Clone(r)
		if rng.Float64() < opts.Change && len(cols) > nkey {
			for n := 1 + rng.IntN(3); n > 0; n-- {
				j := nkey + rng.IntN(len(cols)-nkey)
				switch {
				case r[j] == nil:
					r[j] = genValue(rng, cols[j].Kind, 0)
				case rng.IntN(4) == 0:
					r[j] = nil
				default:
					r[j] = genValue(rng, cols[j].Kind, 0)
				}
			}
		}
		if rng.Float64() < opts.Nudge {
			var numeric []int
			for j := nkey; j < len(cols); j++ {
				if cols[j].Kind.Numeric() && r[j] != nil {
					numeric = append(numeric, j)
				}
			}
			if len(numeric) > 0 {
				j := numeric[rng.IntN(len(numeric))]
				r[j] = genNudge(rng, cols[j].Kind, r[j])
			}
		}
		head.Rows = append(head.Rows, r)
	}
	for range int(math.Round(opts.Add * float64(opts.Rows))) {
		head.Rows = append(head.Rows, newRow())
	}

	// Duplicated keys: a copy of a row (with its values possibly changed)
	// under the same key. Some keys are duplicated on both sides.
	for i := range opts.DupKeys {
		for _, t := range []*genTable{&base, &head} {
			if len(t.Rows) == 0 {
				continue
			}
			var src []any
			if i%3 == 0 && t == &head && len(base.Rows) > 0 {
				// the same key as a row of base: in both, or only in head
				src = slices.Clone(base.Rows[rng.IntN(len(base.Rows))])
			} else {
				src = slices.Clone(t.Rows[rng.IntN(len(t.Rows))])
			}
			if rng.IntN(2) == 0 && len(cols) > nkey {
				j := nkey + rng.IntN(len(cols)-nkey)
				src[j] = genValue(rng, cols[j].Kind, opts.NullFrac)
			}
			t.Rows = append(t.Rows, src)
		}
	}
	for _, t := range []*genTable{&base, &head} {
		for range opts.NullKeys {
			row := newRow()
			row[rng.IntN(nkey)] = nil
			t.Rows = append(t.Rows, row)
		}
		rng.Shuffle(len(t.Rows), func(i, j int) { t.Rows[i], t.Rows[j] = t.Rows[j], t.Rows[i] })
	}
	return base, head
}

var genKeyCodes = []string{"a", "B", "é", "日本", "😀", "x'y", `q"q`, "line\nbreak", " ", ""}

// genValue is a random non-NULL value of kind k, or nil with probability
// nullFrac.
func genValue(rng *rand.Rand, k genKind, nullFrac float64) any {
	return warehousetest.Value(rng, k, nullFrac)
}

// genNudge moves a numeric value by a small amount: 1 for integers, 0.01
// to 0.05 for decimals, a relative 1e-9 to 1e-3 for doubles.
func genNudge(rng *rand.Rand, k genKind, v any) any {
	switch k {
	case genInteger:
		x := v.(int64)
		if x >= math.MaxInt32 {
			return x - 1
		}
		return x + 1
	case genBigint:
		x := v.(int64)
		if x == math.MaxInt64 {
			return x - 1
		}
		return x + 1
	case genDecimal:
		x := v.(int64) + int64(1+rng.IntN(5))
		return min(x, 999_999_999_999)
	case genDouble:
		x := v.(float64)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return x
		}
		if x == 0 {
			return 0.001 * rng.Float64()
		}
		return x * (1 + math.Pow(10, -float64(3+rng.IntN(7))))
	}
	return v
}

// genEqual compares two values of kind k as the SQL diff does: NULL equals
// NULL only, NaN equals NaN, -0 equals 0, and numeric values differing by
// at most tolerance are equal.
func genEqual(k genKind, a, b any, tolerance float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch k {
	case genInteger, genBigint:
		x, y := a.(int64), b.(int64)
		if x == y {
			return true
		}
		if tolerance <= 0 {
			return false
		}
		return genAbsDiff(x, y) <= tolerance
	case genDecimal:
		x, y := a.(int64), b.(int64)
		if x == y {
			return true
		}
		if tolerance <= 0 {
			return false
		}
		return math.Abs(float64(x-y))/100 <= tolerance
	case genDouble:
		x, y := a.(float64), b.(float64)
		if x == y || math.IsNaN(x) && math.IsNaN(y) {
			return true
		}
		if tolerance <= 0 || math.IsNaN(x) || math.IsNaN(y) {
			return false
		}
		return math.Abs(x-y) <= tolerance
	case genDate, genTimestamp:
		return a.(time.Time).Equal(b.(time.Time))
	}
	return a == b
}

// genAbsDiff is |x-y| as a float64, without overflowing.
func genAbsDiff(x, y int64) float64 {
	if x > y {
		x, y = y, x
	}
	return float64(uint64(y) - uint64(x)) // the subtraction is exact for any int64 pair
}

// load creates tbl in schema on w and inserts its rows in batches, every
// value a bound parameter with an explicit CAST. The table is dropped with
// the schema; the caller creates and drops the schema.
func load(t testing.TB, w warehouse.Warehouse, schema string, tbl genTable) warehouse.Relation {
	t.Helper()
	rel := warehouse.Relation{Schema: schema, Name: tbl.Name}
	cols := make([]warehousetest.Column, len(tbl.Columns))
	for i, c := range tbl.Columns {
		cols[i] = warehousetest.Column{Name: c.Name, Type: c.sqlType(w.Dialect().Name())}
	}
	rows := make([][]any, len(tbl.Rows))
	for i, r := range tbl.Rows {
		rows[i] = make([]any, len(r))
		for j, v := range r {
			rows[i][j] = genSQLValue(tbl.Columns[j].Kind, v)
		}
	}
	warehousetest.Load(t, w, rel, cols, rows)
	return rel
}

// genSQLValue is the bound parameter for a value: decimals (held in
// hundredths) as their text, the rest as warehousetest.BindValue has them.
func genSQLValue(k genKind, v any) any {
	if k == genDecimal && v != nil {
		return warehousetest.DecimalText(v.(int64))
	}
	return v
}

// referenceDiff computes in memory what a diff of base and head must
// report, with the same meaning as Join and HashDiff:
//
//   - Base/Head: Exists, Rows, NullKeys (rows with a NULL in a key column)
//     and DuplicateKeys (non-NULL key values held by more than one row of
//     that side). Relation is copied from opts; Columns, DuplicateSample
//     and samples are not filled.
//   - Schema: columns added, removed and retyped by name; a retyped column
//     is one whose genColumn Kind or Type differs, and Column.Type holds
//     the Kind's name (or Type), not an engine's spelling: compare names.
//   - Per key, over the rows of each side whose key is neither NULL nor
//     duplicated on that side (a key duplicated on one side leaves that
//     side only: the other side's single row with it counts as only in
//     its side): OnlyInBase, OnlyInHead, Changed, Unchanged, and per
//     compared column Changed and MatchPercent.
//
// Compared columns are opts.Columns (less the key), or else the non-key
// columns both sides have (one side's, when the other is missing), in
// base's order. Values compare as genEqual does, with
// opts.Tolerance. opts.Where is ignored: the tables are the whole input.
// A nil table (no columns) means the relation does not exist.
func referenceDiff(base, head genTable, opts Options) *Result {
	res := &Result{Key: opts.Key, Base: Side{Relation: opts.Base}, Head: Side{Relation: opts.Head}}
	type keyed map[string][]any
	valid := func(t genTable, s *Side) keyed {
		if len(t.Columns) == 0 {
			return keyed{}
		}
		s.Exists = true
		s.Rows = int64(len(t.Rows))
		groups := map[string][][]any{}
		for _, r := range t.Rows {
			k, null := t.keyOf(r)
			if null {
				s.NullKeys++
				continue
			}
			groups[k] = append(groups[k], r)
		}
		out := keyed{}
		for k, rows := range groups {
			if len(rows) > 1 {
				s.DuplicateKeys++
				continue
			}
			out[k] = rows[0]
		}
		return out
	}
	b, h := valid(base, &res.Base), valid(head, &res.Head)

	typeName := func(c genColumn) string {
		if c.Type != "" {
			return c.Type
		}
		return c.Kind.String()
	}
	for _, c := range base.Columns {
		j := head.columnIndex(c.Name)
		switch {
		case j < 0:
			res.Schema.Removed = append(res.Schema.Removed, warehouse.Column{Name: c.Name, Type: typeName(c)})
		case typeName(c) != typeName(head.Columns[j]):
			res.Schema.Retyped = append(res.Schema.Retyped, Retyped{Name: c.Name, BaseType: typeName(c), HeadType: typeName(head.Columns[j])})
		}
	}
	for _, c := range head.Columns {
		if base.columnIndex(c.Name) < 0 {
			res.Schema.Added = append(res.Schema.Added, warehouse.Column{Name: c.Name, Type: typeName(c)})
		}
	}
	if len(base.Columns) == 0 || len(head.Columns) == 0 {
		// One side only: all its valid rows are only in it, and its
		// columns are reported as matching.
		res.OnlyInBase, res.OnlyInHead = int64(len(b)), int64(len(h))
		t := base
		if len(t.Columns) == 0 {
			t = head
		}
		compared := opts.Columns
		if len(compared) == 0 {
			for _, c := range t.Columns {
				compared = append(compared, c.Name)
			}
		}
		for _, name := range compared {
			if !slices.Contains(opts.Key, name) {
				res.Columns = append(res.Columns, ColumnDiff{Name: name, MatchPercent: 100})
			}
		}
		return res
	}

	var compared []string
	for _, name := range opts.Columns {
		if !slices.Contains(opts.Key, name) {
			compared = append(compared, name)
		}
	}
	if len(opts.Columns) == 0 {
		for _, c := range base.Columns {
			if !slices.Contains(opts.Key, c.Name) && head.columnIndex(c.Name) >= 0 {
				compared = append(compared, c.Name)
			}
		}
	}
	changed := make([]int64, len(compared))
	for k, br := range b {
		hr, ok := h[k]
		if !ok {
			res.OnlyInBase++
			continue
		}
		differs := false
		for j, name := range compared {
			bi, hi := base.columnIndex(name), head.columnIndex(name)
			kind := base.Columns[bi].Kind
			tol := opts.Tolerance
			if !kind.Numeric() || !head.Columns[hi].Kind.Numeric() {
				tol = 0
			}
			if !genEqual(kind, br[bi], hr[hi], tol) {
				changed[j]++
				differs = true
			}
		}
		if differs {
			res.Changed++
		} else {
			res.Unchanged++
		}
	}
	for k := range h {
		if _, ok := b[k]; !ok {
			res.OnlyInHead++
		}
	}
	matched := res.Changed + res.Unchanged
	for j, name := range compared {
		cd := ColumnDiff{Name: name, Changed: changed[j], MatchPercent: 100}
		if matched > 0 {
			cd.MatchPercent = 100 * float64(matched-changed[j]) / float64(matched)
		}
		res.Columns = append(res.Columns, cd)
	}
	return res
}
