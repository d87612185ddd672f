package datadiff

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

func hashTestContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func hashExec(t testing.TB, w warehouse.Warehouse, query string, args ...any) {
	t.Helper()
	if err := w.Exec(hashTestContext(t), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// canonicalCase is one column type in both engines and values to store in
// it, as text each engine casts the same way (nil for NULL).
type canonicalCase struct {
	name           string
	pgType, duType string
	values         []any
}

var canonicalCases = []canonicalCase{
	{"smallint", "smallint", "smallint", []any{"0", "-1", "32767", "-32768", nil}},
	{"integer", "integer", "integer", []any{"0", "1", "-1", "2147483647", "-2147483648", nil}},
	{"bigint", "bigint", "bigint", []any{"0", "9223372036854775807", "-9223372036854775808", "42", nil}},
	{"integer against bigint", "integer", "bigint", []any{"7", "-7", "2147483647"}},
	{"decimal", "numeric(38,9)", "decimal(38,9)", []any{
		"0", "1.5", "1.500000000", "-0.5", "-0.000000001", "10", "100.25",
		"12345678901234567890123456789.123456789", "-99999999999999999999999999999.999999999", nil,
	}},
	{"decimal(10,2)", "numeric(10,2)", "decimal(10,2)", []any{"0.00", "1.10", "-1.05", "99999999.99", nil}},
	{"unconstrained numeric against decimal", "numeric", "decimal(38,9)", []any{"1.5", "1.50", "0", "-3", "0.001", "123456.000000001"}},
	{"integer against decimal", "bigint", "decimal(20,0)", []any{"0", "-5", "123456789012"}},
	{"double", "double precision", "double", []any{
		"0", "-0", "0.1", "-2.5", "1", "2", "3", "0.5", "1e15", "1e16", "1.2345e17", "1e-5", "123456789.12345679",
		"1.7976931348623157e308", "-1.7976931348623157e308", "5e-324", "2.2250738585072014e-308", "2.225073858507201e-308",
		"4503599627370496", "9007199254740993", "0.30000000000000004", "NaN", "Infinity", "-Infinity", nil,
	}},
	{"real", "real", "float", []any{"0", "0.1", "-3.4028235e38", "1.4e-45", "16777217", nil}},
	{"real against double", "real", "double", []any{"0.5", "-2", "1024"}},
	{"boolean", "boolean", "boolean", []any{"true", "false", nil}},
	{"date", "date", "date", []any{"2024-01-02", "1970-01-01", "1969-12-31", "0001-01-01", "9999-12-31", "2000-02-29", "infinity", "-infinity", nil}},
	{"timestamp", "timestamp", "timestamp", []any{
		"2024-01-02 03:04:05.123456", "1970-01-01 00:00:00", "1969-12-31 23:59:59.999999", "0001-01-01 00:00:00",
		"9999-12-31 23:59:59.999999", "2024-02-29 12:00:00.5", "infinity", "-infinity", nil,
	}},
	{"timestamptz", "timestamptz", "timestamptz", []any{"2024-01-02 03:04:05.123456+02", "1970-01-01 00:00:00+00", "1900-06-30 23:59:59.000001-05", nil}},
	{"date against timestamp", "date", "timestamp", []any{"2024-01-02", "1970-01-01", "1900-03-04", nil}},
	{"timestamp against timestamptz", "timestamp", "timestamptz", []any{"2024-01-02 03:04:05.123456", "1969-07-20 20:17:40", nil}},
	{"timestamp(3) against timestamp_ms", "timestamp(3)", "timestamp_ms", []any{"2024-01-02 03:04:05.123", "1960-01-01 00:00:00.999", nil}},
	{"timestamp(3) against timestamp", "timestamp(3)", "timestamp", []any{"2024-01-02 03:04:05.123", "2000-01-01 00:00:00", nil}},
	{"timestamp(0) against timestamp_s", "timestamp(0)", "timestamp_s", []any{"2024-01-02 03:04:05", "1901-12-13 20:45:52", nil}},
	{"text", "text", "varchar", []any{
		"", "a", "héllo", "🦆 duck", "e\u0301", "日本語のテキスト", "with;semicolon", ":", "~", "1:a", "a\x1fb", "line\nbreak\ttab",
		"'quoted' \"double\"", strings.Repeat("long ", 400), nil,
	}},
	{"varchar(20) against varchar", "varchar(20)", "varchar", []any{"abc", "", "ünïcödé"}},
	{"uuid", "uuid", "uuid", []any{"6f1b0c4e-3c4a-4a8e-9c2b-1a2b3c4d5e6f", "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", nil}},
	{"blob", "bytea", "blob", []any{[]byte{}, []byte{0}, []byte{0xde, 0xad, 0xbe, 0xef}, []byte("text"), nil}},
}

// loadCanonicalCase creates a table (id, v) in w holding the case's values.
func loadCanonicalCase(t testing.TB, w warehouse.Warehouse, schema string, c canonicalCase, typ string) warehouse.Relation {
	t.Helper()
	d := w.Dialect()
	rel := warehouse.Relation{Schema: schema, Name: warehousetest.UniqueName("t_")}
	hashExec(t, w, "CREATE TABLE "+d.QuoteRelation(rel)+" (id integer, v "+typ+")")
	text := d.Type(warehouse.TypeText)
	for i, v := range c.values {
		val := "CAST(CAST(" + d.Placeholder(2) + " AS " + text + ") AS " + typ + ")"
		if _, ok := v.([]byte); ok {
			val = d.Placeholder(2)
		}
		hashExec(t, w, "INSERT INTO "+d.QuoteRelation(rel)+" VALUES ("+d.Placeholder(1)+", "+val+")", i, v)
	}
	return rel
}

// canonicalTexts returns the field of column v of side s for every row,
// by id.
func canonicalTexts(t testing.TB, s *hashSide, c hashColumn) []string {
	t.Helper()
	rows, err := s.w.Query(hashTestContext(t), "SELECT "+s.q.field(c.operand(s.i, `"v"`), c.mode)+" FROM "+s.relSQL()+" ORDER BY id")
	if err != nil {
		t.Fatalf("canonical texts in %s: %v", s.q.d.Name(), err)
	}
	out := make([]string, len(rows.Values))
	for i, r := range rows.Values {
		out[i], _ = r[0].(string)
	}
	return out
}

// hashPlanSides plans a diff of base in bw with head in hw keyed by id, as
// HashDiff does.
func hashPlanSides(t testing.TB, bw, hw warehouse.Warehouse, base, head warehouse.Relation) (*hashSide, *hashSide, *hashColumns) {
	t.Helper()
	bs := newHashSide(0, "base", bw, base, &Side{}, "")
	hs := newHashSide(1, "head", hw, head, &Side{}, "")
	for _, s := range []*hashSide{bs, hs} {
		if err := s.loadColumns(hashTestContext(t)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := planHashColumns(bs, hs, Options{Key: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	return bs, hs, p
}

// TestHashCanonicalAcrossEngines: identical values give identical canonical
// texts, and so identical checksums, in PostgreSQL and DuckDB; different
// values give different texts.
func TestHashCanonicalAcrossEngines(t *testing.T) {
	pg := warehousetest.Postgres(t)
	du := warehousetest.DuckDB(t)
	for _, c := range canonicalCases {
		t.Run(c.name, func(t *testing.T) {
			pgSide, duSide, p := hashPlanSides(t, pg, du, loadCanonicalCase(t, pg, "public", c, c.pgType), loadCanonicalCase(t, du, "main", c, c.duType))
			col := p.cols[0]
			pgTexts := canonicalTexts(t, pgSide, col)
			duTexts := canonicalTexts(t, duSide, col)
			if len(pgTexts) != len(c.values) || len(duTexts) != len(c.values) {
				t.Fatalf("got %d rows in PostgreSQL and %d in DuckDB, want %d", len(pgTexts), len(duTexts), len(c.values))
			}
			for i, v := range c.values {
				if pgTexts[i] != duTexts[i] {
					t.Errorf("value %q (%s / %s): PostgreSQL %q, DuckDB %q", v, col.cols[0].Type, col.cols[1].Type, pgTexts[i], duTexts[i])
				}
			}
			// Different values, different texts (equal ones are listed
			// next to each other on purpose: 1.5 and 1.500000000, 0 and -0).
			t.Logf("canonical fields: %q", pgTexts)
			seen := map[string]any{}
			for i, text := range pgTexts {
				if prev, ok := seen[text]; ok && !hashEqualValues(col.mode, prev, c.values[i]) {
					t.Errorf("%q and %q share the canonical text %q", prev, c.values[i], text)
				}
				seen[text] = c.values[i]
			}

			// The whole-table checksum agrees too.
			var sums [2]string
			for i, s := range []*hashSide{pgSide, duSide} {
				n, sum, err := s.checksum(hashTestContext(t), p)
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(len(c.values)) {
					t.Errorf("%s checksum counted %d rows, want %d", s.q.d.Name(), n, len(c.values))
				}
				sums[i] = sum
			}
			if sums[0] != sums[1] {
				t.Errorf("checksums differ: PostgreSQL %s, DuckDB %s", sums[0], sums[1])
			}
		})
	}
}

// hashEqualValues says which test values are meant to be equal.
func hashEqualValues(m hashMode, a, b any) bool {
	x, _ := a.(string)
	y, _ := b.(string)
	switch m {
	case modeDecimal, modeDecimalFixed, modeFloat:
		fx, err1 := strconv.ParseFloat(x, 64)
		fy, err2 := strconv.ParseFloat(y, 64)
		return err1 == nil && err2 == nil && (fx == fy || math.IsNaN(fx) && math.IsNaN(fy))
	case modeUUID:
		return strings.EqualFold(x, y)
	}
	return false
}

// TestHashFloatCanonicalExact checks the double canonical text against Go's
// own decomposition of the same doubles, in both engines.
func TestHashFloatCanonicalExact(t *testing.T) {
	values := []float64{
		1, -1, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, math.Pi, math.E, 1e-300, 1e300, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 2 * math.SmallestNonzeroFloat64, 0x1p-1022, 0x1p-1023, 0x1.fffffffffffffp-1023,
		0x1p-1074 * 12345, 0x1p52, 0x1p53, 0x1p53 + 2, 0x1.fffffffffffffp0, 0x1p1023, 0x1.fffffffffffffp1022,
		123456.789, -0.000123, 7e-10, 9.999999999999999e22,
	}
	for i := -1074; i <= 1023; i += 7 {
		values = append(values, math.Ldexp(1, i), math.Nextafter(math.Ldexp(1, i), 0), math.Nextafter(math.Ldexp(1, i), math.Inf(1)))
	}
	for _, e := range []struct {
		name string
		open func(testing.TB) warehouse.Warehouse
	}{{"duckdb", warehousetest.DuckDB}, {"postgres", warehousetest.Postgres}} {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			d := w.Dialect()
			schema := "main"
			if d.Name() == "postgres" {
				schema = "public"
			}
			rel := warehouse.Relation{Schema: schema, Name: "floats"}
			hashExec(t, w, "CREATE TABLE "+d.QuoteRelation(rel)+" (id integer, v "+d.Type(warehouse.TypeDouble)+")")
			var sb strings.Builder
			for i, v := range values {
				if i > 0 {
					sb.WriteString(", ")
				}
				// Shortest round-trip text: both engines parse it to v.
				fmt.Fprintf(&sb, "(%d, CAST('%s' AS %s))", i, strconv.FormatFloat(v, 'g', -1, 64), d.Type(warehouse.TypeDouble))
			}
			hashExec(t, w, "INSERT INTO "+d.QuoteRelation(rel)+" VALUES "+sb.String())
			s, _, p := hashPlanSides(t, w, w, rel, rel)
			got := canonicalTexts(t, s, p.cols[0])
			for i, v := range values {
				want := hashFloatCanonicalGo(v) + ";"
				if got[i] != want {
					t.Errorf("%v (%x): got %q, want %q", v, math.Float64bits(v), got[i], want)
				}
				back, ok := hashParseFloatCanon(strings.TrimSuffix(got[i], ";"))
				if !ok || back != v {
					t.Errorf("%v: %q reads back as %v", v, got[i], back)
				}
			}
		})
	}
}

func hashFloatCanonicalGo(v float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%016x", math.Float64bits(v))
}

// TestHashFieldsNeverCollide: concatenated fields keep their boundaries.
func TestHashFieldsNeverCollide(t *testing.T) {
	w := warehousetest.DuckDB(t)
	q := newHashSQL(w.Dialect())
	pairs := [][2]any{{"a:", "b"}, {"a", ":b"}, {"", "ab"}, {"ab", ""}, {nil, "~"}, {"~", nil}, {nil, nil}, {"", ""}, {"1:a", ""}, {"", "1:a"}, {"~", ""}}
	seen := map[string]int{}
	for i, p := range pairs {
		rows, err := w.Query(hashTestContext(t), "SELECT "+q.fields([]string{"CAST($1 AS VARCHAR)", "CAST($2 AS VARCHAR)"}, []hashColumn{{mode: modeText}, {mode: modeText}}), p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		text := rows.Values[0][0].(string)
		if j, ok := seen[text]; ok {
			t.Errorf("%q and %q both give %q", pairs[j], p, text)
		}
		seen[text] = i
	}
}

// hashEngine opens one warehouse for a side of a diff.
type hashEngine struct {
	name string
	open func(testing.TB) warehouse.Warehouse
}

var (
	hashDuckDB   = hashEngine{"duckdb", warehousetest.DuckDB}
	hashPostgres = hashEngine{"postgres", warehousetest.Postgres}
)

// hashPairs are the directions HashDiff is tested in; "same" pairs use one
// warehouse for both sides.
var hashPairs = []struct {
	name       string
	base, head hashEngine
	same       bool
}{
	{"postgres to duckdb", hashPostgres, hashDuckDB, false},
	{"duckdb to postgres", hashDuckDB, hashPostgres, false},
	{"duckdb to duckdb", hashDuckDB, hashDuckDB, true},
	{"postgres to postgres", hashPostgres, hashPostgres, true},
}

// hashTinyTuning makes small tables go through every pass: segments of a
// few rows, splitting in SQL before reading row hashes, fetching only at the
// end.
var hashTinyTuning = hashTuning{rowsPerSegment: 16, fetchRows: 0, fetchAverage: 0.1, maxPasses: 5, rowHashesMax: 40}

// hashRowHashTuning goes from pass 1 straight to one hash per row, as big
// tables do with the default thresholds.
var hashRowHashTuning = hashTuning{rowsPerSegment: 16, fetchRows: 0, fetchAverage: 0.1, maxPasses: 4, rowHashesMax: 1 << 20}

// hashWarehouses opens the pair's warehouses, each with a fresh schema.
func hashWarehouses(t *testing.T, base, head hashEngine, same bool) (bw, hw warehouse.Warehouse, bs, hs string) {
	t.Helper()
	bw = base.open(t)
	hw = bw
	if !same {
		hw = head.open(t)
	}
	bs = warehousetest.Schema(t, bw)
	hs = bs
	if !same {
		hs = warehousetest.Schema(t, hw)
	}
	return bw, hw, bs, hs
}

// TestHashDiffMatchesReference: on random tables with every kind of
// difference, HashDiff reports exactly what the in-memory reference does,
// across engines both ways and within one, with the default thresholds and
// with thresholds that force every pass.
func TestHashDiffMatchesReference(t *testing.T) {
	cases := []struct {
		name      string
		gen       genOptions
		tolerance float64
	}{
		{"identical", genOptions{Rows: 300, NullFrac: 0.1}, 0},
		{"changes", genOptions{Rows: 400, Remove: 0.05, Add: 0.05, Change: 0.1, NullFrac: 0.1}, 0},
		{"composite key", genOptions{Rows: 300, Composite: true, Remove: 0.05, Add: 0.05, Change: 0.1, NullFrac: 0.1}, 0},
		{"null and duplicate keys", genOptions{Rows: 300, Remove: 0.03, Add: 0.03, Change: 0.05, NullKeys: 4, DupKeys: 9}, 0},
		{"tolerance", genOptions{Rows: 300, Change: 0.05, Nudge: 0.3, NullFrac: 0.05}, 0.03},
		{"hostile names", genOptions{Rows: 200, Remove: 0.05, Add: 0.05, Change: 0.1, Hostile: true, Composite: true}, 0},
		{"dense changes", genOptions{Rows: 300, Remove: 0.2, Add: 0.2, Change: 0.6, NullFrac: 0.2}, 0},
		{"empty", genOptions{Rows: 0}, 0},
	}
	for _, pair := range hashPairs {
		t.Run(pair.name, func(t *testing.T) {
			bw, hw, bs, hs := hashWarehouses(t, pair.base, pair.head, pair.same)
			for ci, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(ci)+1, 42))
					base, head := genPair(rng, c.gen)
					base.Name += strconv.Itoa(ci) // one schema holds every case
					head.Name += strconv.Itoa(ci)
					opts := Options{Base: load(t, bw, bs, base), Head: load(t, hw, hs, head), Key: base.Key, Tolerance: c.tolerance, Sample: 3}
					for _, tune := range []struct {
						name string
						t    hashTuning
					}{{"default", defaultHashTuning}, {"splits in SQL", hashTinyTuning}, {"row hashes", hashRowHashTuning}} {
						got, rep, err := hashDiff(hashTestContext(t), bw, hw, opts, tune.t)
						if err != nil {
							t.Fatalf("%s: %v", tune.name, err)
						}
						hashCheckResult(t, tune.name, got, rep, base, head, opts)
						t.Logf("%s: passes %d, bits %v, differing %v, fetched %v of %d+%d rows",
							tune.name, rep.Passes, rep.Bits, rep.Differing, rep.Fetched, got.Base.Rows, got.Head.Rows)
					}
				})
			}
		})
	}
}

// hashCheckResult checks a HashDiff result against the in-memory reference
// (every count, the schema, every sample: see checkAgainstReference), and
// its RowsTransferred: the rows fetched and the duplicated keys sampled.
func hashCheckResult(t *testing.T, what string, got *Result, rep *hashReport, base, head genTable, opts Options) {
	t.Helper()
	t.Run(what, func(t *testing.T) {
		if got.Algorithm != "hashdiff" {
			t.Errorf("Algorithm %q", got.Algorithm)
		}
		checkAgainstReference(t, got, base, head, opts)
		if want := rep.Fetched[0] + rep.Fetched[1] + int64(len(got.Base.DuplicateSample)+len(got.Head.DuplicateSample)); got.RowsTransferred != want {
			t.Errorf("RowsTransferred %d, want %d (fetched %v)", got.RowsTransferred, want, rep.Fetched)
		}
	})
}

// TestHashDiffRandom: random table pairs of every shape (randomGenOptions),
// across engines, agree with the reference.
func TestHashDiffRandom(t *testing.T) {
	for _, pair := range hashPairs[:3] {
		t.Run(pair.name, func(t *testing.T) {
			bw, hw, bs, hs := hashWarehouses(t, pair.base, pair.head, pair.same)
			for seed := range 12 {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(seed), 0x4a54))
					gen := randomGenOptions(rng)
					base, head := genPair(rng, gen)
					base.Name += strconv.Itoa(seed)
					head.Name += strconv.Itoa(seed)
					opts := Options{Base: load(t, bw, bs, base), Head: load(t, hw, hs, head), Key: base.Key}
					switch rng.IntN(4) {
					case 0:
						opts.Tolerance = []float64{0.01, 0.5, 2, 1e-6}[rng.IntN(4)]
					case 1:
						opts.Sample = 1 + rng.IntN(8)
					}
					tune := defaultHashTuning
					if seed%2 == 1 {
						tune = hashTinyTuning
					}
					got, rep, err := hashDiff(hashTestContext(t), bw, hw, opts, tune)
					if err != nil {
						t.Fatal(err)
					}
					hashCheckResult(t, "result", got, rep, base, head, opts)
				})
			}
		})
	}
}

// TestHashDiffManyChanges changes columns on a regular pattern across the
// whole key range and checks every count exactly.
func TestHashDiffManyChanges(t *testing.T) {
	const n = 6000
	for _, pair := range hashPairs[:3] {
		t.Run(pair.name, func(t *testing.T) {
			bw, hw, bs, hs := hashWarehouses(t, pair.base, pair.head, pair.same)
			create := func(w warehouse.Warehouse, schema, name string) warehouse.Relation {
				d := w.Dialect()
				rel := warehouse.Relation{Schema: schema, Name: name}
				hashExec(t, w, "CREATE TABLE "+d.QuoteRelation(rel)+" (id bigint, a integer, b "+d.Type(warehouse.TypeText)+
					", c "+d.Type(warehouse.TypeDouble)+", d date)")
				series := "generate_series(CAST(1 AS bigint), CAST($1 AS bigint)) AS g(id)"
				if d.Name() == "duckdb" {
					series = "range(CAST(1 AS BIGINT), CAST($1 AS BIGINT) + 1) AS g(id)"
				}
				hashExec(t, w, "INSERT INTO "+d.QuoteRelation(rel)+" SELECT id, CAST(id % 97 AS integer), 'row ' || CAST(id AS "+d.Type(warehouse.TypeText)+
					"), CAST(id AS "+d.Type(warehouse.TypeDouble)+") / 3, DATE '2024-01-01' + CAST(id % 400 AS integer) FROM "+series, n)
				return rel
			}
			br := create(bw, bs, "many_base")
			hr := create(hw, hs, "many_head")
			d := hw.Dialect()
			rel := d.QuoteRelation(hr)
			hashExec(t, hw, "UPDATE "+rel+" SET a = a + 1 WHERE id % 7 = 0")                                      // 857
			hashExec(t, hw, "UPDATE "+rel+" SET b = b || '!' WHERE id % 11 = 0")                                  // 545
			hashExec(t, hw, "UPDATE "+rel+" SET c = NULL WHERE id % 13 = 0")                                      // 461
			hashExec(t, hw, "UPDATE "+rel+" SET d = d + 1 WHERE id % 17 = 0")                                     // 352
			hashExec(t, hw, "DELETE FROM "+rel+" WHERE id % 101 = 0")                                             // 59
			hashExec(t, hw, "INSERT INTO "+rel+" SELECT id + 100000, a, b, c, d FROM "+rel+" WHERE id % 150 = 1") // 40
			var a, b, c, dd, changed int64
			for id := int64(1); id <= n; id++ {
				if id%101 == 0 {
					continue
				}
				hit := false
				for _, m := range []struct {
					mod int64
					cnt *int64
				}{{7, &a}, {11, &b}, {13, &c}, {17, &dd}} {
					if id%m.mod == 0 {
						*m.cnt++
						hit = true
					}
				}
				if hit {
					changed++
				}
			}
			opts := Options{Base: br, Head: hr, Key: []string{"id"}}
			for _, tune := range []hashTuning{defaultHashTuning, hashTinyTuning, hashRowHashTuning} {
				res, rep, err := hashDiff(hashTestContext(t), bw, hw, opts, tune)
				if err != nil {
					t.Fatal(err)
				}
				matched := n - n/101
				if res.OnlyInBase != n/101 || res.OnlyInHead != 40 || res.Changed != changed || res.Unchanged != int64(matched)-changed {
					t.Errorf("only in base %d, only in head %d, changed %d, unchanged %d; want %d, 40, %d, %d",
						res.OnlyInBase, res.OnlyInHead, res.Changed, res.Unchanged, n/101, changed, int64(matched)-changed)
				}
				want := map[string]int64{"a": a, "b": b, "c": c, "d": dd}
				for _, col := range res.Columns {
					if col.Changed != want[col.Name] {
						t.Errorf("column %s: %d changed, want %d", col.Name, col.Changed, want[col.Name])
					}
					if wantPct := 100 * float64(int64(matched)-want[col.Name]) / float64(matched); math.Abs(col.MatchPercent-wantPct) > 1e-9 {
						t.Errorf("column %s: match %.6f%%, want %.6f%%", col.Name, col.MatchPercent, wantPct)
					}
				}
				if len(res.Columns) != 4 {
					t.Errorf("compared %d columns, want 4", len(res.Columns))
				}
				// Samples come in key order, values side by side.
				if len(res.Samples.Changed) != 5 || res.Samples.Changed[0].Key[0] != int64(7) {
					t.Errorf("changed samples %+v, want 5 starting at id 7", res.Samples.Changed)
				} else if ch := res.Samples.Changed[0].Changes["a"]; ch != [2]any{int64(7), int64(8)} {
					t.Errorf("id 7 column a: %v, want [7 8]", ch)
				}
				if len(res.Samples.OnlyInBase) != 5 || res.Samples.OnlyInBase[0].Key[0] != int64(101) {
					t.Errorf("only-in-base samples %+v, want 5 starting at id 101", res.Samples.OnlyInBase)
				}
				if res.RowsTransferred > 2*int64(n) {
					t.Errorf("transferred %d rows", res.RowsTransferred)
				}
				t.Logf("passes %d, bits %v, differing %v, fetched %v", rep.Passes, rep.Bits, rep.Differing, rep.Fetched)
			}
		})
	}
}

// TestHashDiffMissingRelation: a relation missing on one side is reported
// with Exists=false, and every row of the other side as added or removed.
func TestHashDiffMissingRelation(t *testing.T) {
	pg := warehousetest.Postgres(t)
	du := warehousetest.DuckDB(t)
	schema := warehousetest.Schema(t, du)
	rng := rand.New(rand.NewPCG(7, 7))
	tbl, _ := genPair(rng, genOptions{Rows: 50, NullKeys: 2, DupKeys: 2})
	rel := load(t, du, schema, tbl)
	missing := warehouse.Relation{Schema: "public", Name: "no_such_table"}
	want := referenceDiff(tbl, genTable{}, Options{Key: tbl.Key})

	res, err := HashDiff(hashTestContext(t), pg, du, Options{Base: missing, Head: rel, Key: tbl.Key})
	if err != nil {
		t.Fatal(err)
	}
	if res.Base.Exists || !res.Head.Exists || res.OnlyInHead != want.OnlyInBase || res.OnlyInBase != 0 || res.Head.Rows != want.Base.Rows ||
		res.Head.NullKeys != 2 || res.Head.DuplicateKeys != want.Base.DuplicateKeys {
		t.Errorf("base missing: %+v", res)
	}
	if len(res.Schema.Added) != len(tbl.Columns) || len(res.Samples.OnlyInHead) != 5 || res.RowsTransferred != 5+int64(len(res.Head.DuplicateSample)) {
		t.Errorf("base missing: schema %+v, %d samples, %d rows transferred", res.Schema, len(res.Samples.OnlyInHead), res.RowsTransferred)
	}
	res, err = HashDiff(hashTestContext(t), du, pg, Options{Base: rel, Head: missing, Key: tbl.Key})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Base.Exists || res.Head.Exists || res.OnlyInBase != want.OnlyInBase || res.OnlyInHead != 0 || len(res.Schema.Removed) != len(tbl.Columns) {
		t.Errorf("head missing: %+v", res)
	}
	_, err = HashDiff(hashTestContext(t), du, pg, Options{Base: missing, Head: missing, Key: tbl.Key})
	if !errors.Is(err, warehouse.ErrRelationNotFound) {
		t.Errorf("both missing: %v, want ErrRelationNotFound", err)
	}
}

// TestHashDiffErrors: no key, a key of different kinds on the two sides, a
// key column that is not there.
func TestHashDiffErrors(t *testing.T) {
	pg := warehousetest.Postgres(t)
	du := warehousetest.DuckDB(t)
	hashExec(t, pg, "CREATE TABLE public.t (id integer, v text)")
	hashExec(t, pg, "INSERT INTO public.t VALUES (1, 'a'), (2, 'b'), (3, NULL)")
	hashExec(t, du, "CREATE TABLE main.t (id varchar, v varchar, extra integer)")
	hashExec(t, du, "INSERT INTO main.t VALUES ('1', 'a', 0), ('2', 'b', 0)")
	pgRel := warehouse.Relation{Schema: "public", Name: "t"}
	duRel := warehouse.Relation{Schema: "main", Name: "t"}

	res, err := HashDiff(hashTestContext(t), pg, du, Options{Base: pgRel, Head: duRel})
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v, want ErrNoKey", err)
	}
	if res == nil || res.Base.Rows != 3 || res.Head.Rows != 2 || len(res.Schema.Added) != 1 || len(res.Schema.Retyped) != 1 {
		t.Errorf("no key: partial result %+v, want the row counts and schema", res)
	}

	_, err = HashDiff(hashTestContext(t), pg, du, Options{Base: pgRel, Head: duRel, Key: []string{"id"}})
	if !errors.Is(err, ErrKeyTypeMismatch) {
		t.Fatalf("key types: %v, want ErrKeyTypeMismatch", err)
	}
	for _, want := range []string{`"id"`, "integer", "varchar", "postgres", "duckdb", "CAST", "--key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("key types: %q does not mention %s", err, want)
		}
	}

	_, err = HashDiff(hashTestContext(t), pg, du, Options{Base: pgRel, Head: duRel, Key: []string{"nope"}})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing key column: %v", err)
	}
}

// TestHashDiffWhere: the predicate applies to both sides.
func TestHashDiffWhere(t *testing.T) {
	pg := warehousetest.Postgres(t)
	du := warehousetest.DuckDB(t)
	hashExec(t, pg, "CREATE TABLE public.w (id integer, v integer)")
	hashExec(t, pg, "INSERT INTO public.w VALUES (1, 1), (2, 2), (3, 3), (4, 4)")
	hashExec(t, du, "CREATE TABLE main.w (id integer, v integer)")
	hashExec(t, du, "INSERT INTO main.w VALUES (1, 10), (2, 2), (3, 3), (5, 5)")
	res, err := HashDiff(hashTestContext(t), pg, du, Options{
		Base: warehouse.Relation{Schema: "public", Name: "w"}, Head: warehouse.Relation{Schema: "main", Name: "w"},
		Key: []string{"id"}, Where: "id >= 2 AND id <= 4",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Base.Rows != 3 || res.Head.Rows != 2 || res.OnlyInBase != 1 || res.OnlyInHead != 0 || res.Changed != 0 || res.Unchanged != 2 {
		t.Errorf("%+v", res)
	}
}

// TestHashDiffRetypedKeyOneEngine: within one engine, keys of different
// kinds match by their text, as Join matches them.
func TestHashDiffRetypedKeyOneEngine(t *testing.T) {
	w := warehousetest.DuckDB(t)
	hashExec(t, w, "CREATE TABLE main.a (id integer, v integer)")
	hashExec(t, w, "INSERT INTO main.a VALUES (1, 1), (2, 2), (3, 3)")
	hashExec(t, w, "CREATE TABLE main.b (id varchar, v integer)")
	hashExec(t, w, "INSERT INTO main.b VALUES ('1', 1), ('2', 20), ('4', 4)")
	opts := Options{Base: warehouse.Relation{Schema: "main", Name: "a"}, Head: warehouse.Relation{Schema: "main", Name: "b"}, Key: []string{"id"}}
	want, err := Join(hashTestContext(t), w, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := HashDiff(hashTestContext(t), w, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.OnlyInBase != want.OnlyInBase || got.OnlyInHead != want.OnlyInHead || got.Changed != want.Changed || got.Unchanged != want.Unchanged ||
		got.OnlyInBase != 1 || got.Changed != 1 {
		t.Errorf("hashdiff %+v, join %+v", got, want)
	}
}
