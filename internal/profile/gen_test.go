package profile

// A random table generator and an in-memory reference profile, for the
// property tests of Run.
//
//	tbl := genTable(rng, genOptions{Rows: 300, NullFrac: 0.1})
//	rel := load(t, w, schema, tbl)          // CREATE TABLE + INSERTs with bound parameters
//	want := reference(tbl, opts)            // what Run must report, computed in Go
//
// Values are Go values with one representation per kind (see genKind), the
// one Run decodes, so the reference is exact and independent of any
// engine; load binds them with explicit CASTs.

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// genKind is the type of a generated column: warehousetest's kinds (see
// warehousetest.Kind for their Go values; decimals become their text, as
// Run decodes them) and two of this test's, genLowInt (int64) and
// genLowText (string), which draw from a few values so that their values
// are listed.
type genKind = warehousetest.Kind

const (
	genLowInt  = warehousetest.Kinds
	genLowText = warehousetest.Kinds + 1
	genKinds   = warehousetest.Kinds + 2
)

func kindName(k genKind) string {
	switch k {
	case genLowInt:
		return "lowint"
	case genLowText:
		return "lowtext"
	}
	return k.String()
}

func sqlType(k genKind, engine string) string {
	switch k {
	case genLowInt:
		return warehousetest.KindInteger.SQLType(engine)
	case genLowText:
		return warehousetest.KindText.SQLType(engine)
	}
	return k.SQLType(engine)
}

func isNumber(k genKind) bool { return k.Numeric() || k == genLowInt }

type genColumn struct {
	Name string
	Kind genKind
}

// genTab is a generated relation: its first column is a unique integer key.
type genTab struct {
	Name    string
	Columns []genColumn
	Rows    [][]any
}

type genOptions struct {
	Rows     int
	NullFrac float64 // NULLs among the values (never in the key)
	Kinds    []genKind
	Hostile  bool // names with quotes, spaces, dots, upper case and unicode
}

func genTable(rng *rand.Rand, o genOptions) genTab {
	name, col, key := "t", "c_%d_%s", "id"
	if o.Hostile {
		name, col, key = `Tbl "x".ü`, `C %d "%s" ✓`, `Id "key"`
	}
	kinds := o.Kinds
	if len(kinds) == 0 {
		for k := genKind(0); k < genKinds; k++ {
			kinds = append(kinds, k)
		}
	}
	t := genTab{Name: name, Columns: []genColumn{{Name: key, Kind: warehousetest.KindBigint}}}
	for i, k := range kinds {
		t.Columns = append(t.Columns, genColumn{Name: fmt.Sprintf(col, i, kindName(k)), Kind: k})
	}
	perm := rng.Perm(4*o.Rows + 10)
	for i := range o.Rows {
		row := []any{int64(perm[i]) - int64(o.Rows)}
		for _, c := range t.Columns[1:] {
			row = append(row, genValue(rng, c.Kind, o.NullFrac))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

var genLowTexts = []string{"completed", "returned", "placed", "shipped", "Ünïcödé", "it's", ""}

func genValue(rng *rand.Rand, k genKind, nullFrac float64) any {
	if rng.Float64() < nullFrac {
		return nil
	}
	switch k {
	case warehousetest.KindDecimal:
		return warehousetest.DecimalText(warehousetest.Value(rng, k, 0).(int64))
	case genLowInt:
		// skewed: small values far more often
		return int64(rng.IntN(1 + rng.IntN(6)))
	case genLowText:
		return genLowTexts[rng.IntN(1+rng.IntN(len(genLowTexts)))]
	}
	return warehousetest.Value(rng, k, 0)
}

// load creates tbl in schema and inserts its rows, each value a bound
// parameter with an explicit CAST.
func load(t testing.TB, w warehouse.Warehouse, schema string, tbl genTab) warehouse.Relation {
	t.Helper()
	rel := warehouse.Relation{Schema: schema, Name: tbl.Name}
	cols := make([]warehousetest.Column, len(tbl.Columns))
	for i, c := range tbl.Columns {
		cols[i] = warehousetest.Column{Name: c.Name, Type: sqlType(c.Kind, w.Dialect().Name())}
	}
	warehousetest.Load(t, w, rel, cols, tbl.Rows)
	return rel
}

// refColumn is what Run must report for a column, computed from the rows.
type refColumn struct {
	Nulls, Distinct int64
	Min, Max        any
	Mean, StdDev    *float64
	P5, P50, P95    any
	Length          *Lengths
	Values          map[string]int64 // valueKey -> count, when Distinct <= LowCardinality
	finite          []float64        // the finite numbers, for tolerances
}

// reference profiles tbl in memory, exactly.
func reference(tbl genTab, lowCardinality int) []refColumn {
	var out []refColumn
	for j, c := range tbl.Columns {
		kind := KindText
		if isNumber(c.Kind) {
			kind = KindNumber
		}
		var vals []any
		ref := refColumn{}
		for _, r := range tbl.Rows {
			if r[j] == nil {
				ref.Nulls++
				continue
			}
			vals = append(vals, r[j])
		}
		counts := map[string]int64{}
		for _, v := range vals {
			counts[valueKey(kind, v)]++
		}
		ref.Distinct = int64(len(counts))
		if len(counts) > 0 && (c.Kind == warehousetest.KindBoolean || ref.Distinct <= int64(lowCardinality)) {
			ref.Values = counts
		}
		if len(vals) > 0 {
			sorted := slices.Clone(vals)
			sort.SliceStable(sorted, func(a, b int) bool { return refLess(c.Kind, sorted[a], sorted[b]) })
			ref.Min, ref.Max = sorted[0], sorted[len(sorted)-1]
			if isNumber(c.Kind) {
				rank := func(q float64) any { return sorted[max(int(math.Ceil(q*float64(len(sorted))))-1, 0)] }
				ref.P5, ref.P50, ref.P95 = rank(0.05), rank(0.5), rank(0.95)
				ref.Mean, ref.StdDev, ref.finite = meanStdDev(c.Kind, vals)
			}
			if c.Kind == warehousetest.KindText || c.Kind == genLowText {
				l := &Lengths{Min: math.MaxInt64}
				var sum int64
				for _, v := range vals {
					n := int64(utf8.RuneCountInString(v.(string)))
					l.Min, l.Max, sum = min(l.Min, n), max(l.Max, n), sum+n
				}
				l.Avg = float64(sum) / float64(len(vals))
				ref.Length = l
			}
		}
		out = append(out, ref)
	}
	return out
}

// refLess orders values as both engines do: numbers by value with NaN
// last, text by bytes, false before true, times by instant.
func refLess(k genKind, a, b any) bool {
	switch x := a.(type) {
	case int64:
		return x < b.(int64)
	case float64:
		y := b.(float64)
		if math.IsNaN(x) || math.IsNaN(y) {
			return !math.IsNaN(x) && math.IsNaN(y)
		}
		return x < y
	case string:
		if k == warehousetest.KindDecimal {
			ra, _ := ratOf(x)
			rb, _ := ratOf(b)
			return ra.Cmp(rb) < 0
		}
		return x < b.(string)
	case bool:
		return !x && b.(bool)
	case time.Time:
		return x.Before(b.(time.Time))
	}
	panic(fmt.Sprintf("refLess %T", a))
}

// meanStdDev computes the mean and sample standard deviation of the finite
// values exactly (big.Rat), then rounds them to float64.
func meanStdDev(k genKind, vals []any) (mean, sd *float64, finite []float64) {
	var rats []*big.Rat
	for _, v := range vals {
		r, ok := ratOf(v)
		if !ok {
			continue // NaN, ±Inf
		}
		rats = append(rats, r)
		f, _ := r.Float64()
		finite = append(finite, f)
	}
	if len(rats) == 0 {
		return nil, nil, nil
	}
	sum := new(big.Rat)
	for _, r := range rats {
		sum.Add(sum, r)
	}
	n := new(big.Rat).SetInt64(int64(len(rats)))
	m := new(big.Rat).Quo(sum, n)
	mf, _ := m.Float64()
	mean = &mf
	if len(rats) > 1 {
		ss := new(big.Rat)
		for _, r := range rats {
			d := new(big.Rat).Sub(r, m)
			ss.Add(ss, d.Mul(d, d))
		}
		ss.Quo(ss, new(big.Rat).SetInt64(int64(len(rats)-1)))
		vf, _ := ss.Float64()
		s := math.Sqrt(vf)
		sd = &s
	}
	return mean, sd, finite
}
