package profile

// A random table generator and an in-memory reference profile, for the
// property tests of Run.
//
//	tbl := genTable(rng, genOptions{Rows: 300, NullFrac: 0.1})
//	rel := load(t, w, schema, tbl)          // CREATE TABLE + INSERTs with bound parameters
//	want := reference(tbl, opts)            // what Run must report, computed in Go
//
// Values are Go values with one representation per kind (see genKind), so
// the reference is exact and independent of any engine; load converts them
// to SQL with explicit CASTs.

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// genKind is the type of a generated column. Its Go representation, for a
// non-NULL value:
//
//	genInteger, genBigint, genLowInt: int64
//	genDecimal:                       int64, in hundredths (numeric(12,2): 1234 is 12.34)
//	genDouble:                        float64 (NaN, ±Inf and -0 included)
//	genText, genLowText:              string (unicode, quotes, newlines; never NUL)
//	genBoolean:                       bool
//	genDate:                          time.Time at midnight UTC
//	genTimestamp:                     time.Time in UTC, microsecond precision
//
// genLowInt and genLowText draw from a few values, so that their values
// are listed. NULL is nil for every kind.
type genKind int

const (
	genInteger genKind = iota
	genBigint
	genDecimal
	genDouble
	genText
	genBoolean
	genDate
	genTimestamp
	genLowInt
	genLowText
	genKinds
)

func (k genKind) String() string {
	return [...]string{"integer", "bigint", "decimal", "double", "text", "boolean", "date", "timestamp", "lowint", "lowtext"}[k]
}

func (k genKind) sqlType(engine string) string {
	duck := engine == "duckdb"
	switch k {
	case genInteger, genLowInt:
		return "integer"
	case genBigint:
		return "bigint"
	case genDecimal:
		if duck {
			return "decimal(12,2)"
		}
		return "numeric(12,2)"
	case genDouble:
		if duck {
			return "double"
		}
		return "double precision"
	case genText, genLowText:
		if duck {
			return "varchar"
		}
		return "text"
	case genBoolean:
		return "boolean"
	case genDate:
		return "date"
	case genTimestamp:
		return "timestamp"
	}
	panic("unknown genKind")
}

func (k genKind) number() bool {
	return k == genInteger || k == genBigint || k == genDecimal || k == genDouble || k == genLowInt
}

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
	t := genTab{Name: name, Columns: []genColumn{{Name: key, Kind: genBigint}}}
	for i, k := range kinds {
		t.Columns = append(t.Columns, genColumn{Name: fmt.Sprintf(col, i, k), Kind: k})
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

var genTextPieces = []string{
	"plain", "café", "naïve", "日本語", "😀", "🎉👩‍💻", "it's", `say "hi"`, "line1\nline2", "tab\there",
	`back\slash`, "", "  spaces  ", "ß", "%_", "Ω≈ç√", "Z", "a",
}

var genLowTexts = []string{"completed", "returned", "placed", "shipped", "Ünïcödé", "it's", ""}

func genValue(rng *rand.Rand, k genKind, nullFrac float64) any {
	if rng.Float64() < nullFrac {
		return nil
	}
	switch k {
	case genInteger:
		switch rng.IntN(20) {
		case 0:
			return int64(math.MaxInt32)
		case 1:
			return int64(math.MinInt32)
		}
		return int64(rng.IntN(2001) - 1000)
	case genBigint:
		switch rng.IntN(20) {
		case 0:
			return int64(math.MaxInt64)
		case 1:
			return int64(math.MinInt64)
		}
		return rng.Int64() >> rng.IntN(63)
	case genDecimal:
		return rng.Int64N(1_999_999_999_999) - 999_999_999_999
	case genDouble:
		switch rng.IntN(40) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1)
		case 2:
			return math.Inf(-1)
		case 3:
			return math.Copysign(0, -1)
		}
		if rng.IntN(3) == 0 {
			return float64(rng.IntN(100))
		}
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(16)-6))
	case genText:
		var parts []string
		for n := rng.IntN(4); n >= 0; n-- {
			parts = append(parts, genTextPieces[rng.IntN(len(genTextPieces))])
		}
		return strings.Join(parts, "")
	case genBoolean:
		return rng.IntN(3) == 0
	case genDate:
		return time.Date(1900+rng.IntN(200), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(366))
	case genTimestamp:
		t := time.Unix(rng.Int64N(5_000_000_000)-1_000_000_000, 0).UTC()
		return t.Add(time.Duration(rng.IntN(1_000_000)) * time.Microsecond)
	case genLowInt:
		// skewed: small values far more often
		return int64(rng.IntN(1 + rng.IntN(6)))
	case genLowText:
		return genLowTexts[rng.IntN(1+rng.IntN(len(genLowTexts)))]
	}
	panic("unknown genKind")
}

// load creates tbl in schema and inserts its rows, each value a bound
// parameter with an explicit CAST.
func load(t testing.TB, w warehouse.Warehouse, schema string, tbl genTab) warehouse.Relation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := w.Dialect()
	rel := warehouse.Relation{Schema: schema, Name: tbl.Name}
	var defs, names, casts []string
	for _, c := range tbl.Columns {
		typ := c.Kind.sqlType(d.Name())
		defs = append(defs, d.QuoteIdent(c.Name)+" "+typ)
		names = append(names, d.QuoteIdent(c.Name))
		casts = append(casts, typ)
	}
	if err := w.Exec(ctx, "CREATE TABLE "+d.QuoteRelation(rel)+" ("+strings.Join(defs, ", ")+")"); err != nil {
		t.Fatalf("create %s: %v", d.QuoteRelation(rel), err)
	}
	const batch = 200
	for start := 0; start < len(tbl.Rows); start += batch {
		var values []string
		var args []any
		for _, r := range tbl.Rows[start:min(start+batch, len(tbl.Rows))] {
			var tuple []string
			for j, v := range r {
				args = append(args, sqlValue(tbl.Columns[j].Kind, v))
				tuple = append(tuple, "CAST("+d.Placeholder(len(args))+" AS "+casts[j]+")")
			}
			values = append(values, "("+strings.Join(tuple, ", ")+")")
		}
		if err := w.Exec(ctx, "INSERT INTO "+d.QuoteRelation(rel)+" ("+strings.Join(names, ", ")+") VALUES "+strings.Join(values, ", "), args...); err != nil {
			t.Fatalf("load %s: %v", d.QuoteRelation(rel), err)
		}
	}
	return rel
}

// sqlValue is the bound parameter for a value: text both engines cast
// exactly, except integers and text.
func sqlValue(k genKind, v any) any {
	if v == nil {
		return nil
	}
	switch k {
	case genDecimal:
		return decimalText(v.(int64))
	case genDouble:
		x := v.(float64)
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "Infinity"
		case math.IsInf(x, -1):
			return "-Infinity"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case genBoolean:
		return strconv.FormatBool(v.(bool))
	case genDate:
		return v.(time.Time).Format("2006-01-02")
	case genTimestamp:
		return v.(time.Time).Format("2006-01-02 15:04:05.999999")
	}
	return v
}

func decimalText(cents int64) string {
	sign, u := "", uint64(cents)
	if cents < 0 {
		sign, u = "-", uint64(-cents)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// refColumn is what Run must report for a column, computed from the rows.
// Values are in the profile's representation (decimals as their text).
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
		if c.Kind.number() {
			kind = KindNumber
		}
		var vals []any
		ref := refColumn{}
		for _, r := range tbl.Rows {
			if r[j] == nil {
				ref.Nulls++
				continue
			}
			vals = append(vals, profileValue(c.Kind, r[j]))
		}
		counts := map[string]int64{}
		for _, v := range vals {
			counts[valueKey(kind, v)]++
		}
		ref.Distinct = int64(len(counts))
		if len(counts) > 0 && (c.Kind == genBoolean || ref.Distinct <= int64(lowCardinality)) {
			ref.Values = counts
		}
		if len(vals) > 0 {
			sorted := slices.Clone(vals)
			sort.SliceStable(sorted, func(a, b int) bool { return refLess(c.Kind, sorted[a], sorted[b]) })
			ref.Min, ref.Max = sorted[0], sorted[len(sorted)-1]
			if c.Kind.number() {
				rank := func(q float64) any { return sorted[max(int(math.Ceil(q*float64(len(sorted))))-1, 0)] }
				ref.P5, ref.P50, ref.P95 = rank(0.05), rank(0.5), rank(0.95)
				ref.Mean, ref.StdDev, ref.finite = meanStdDev(c.Kind, vals)
			}
			if c.Kind == genText || c.Kind == genLowText {
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

// profileValue is a generated value as Run decodes it.
func profileValue(k genKind, v any) any {
	if k == genDecimal {
		return decimalText(v.(int64))
	}
	return v
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
		if k == genDecimal {
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
