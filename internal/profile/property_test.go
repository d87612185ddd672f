package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

var engines = []struct {
	name  string
	open  func(testing.TB) warehouse.Warehouse
	seeds int
}{
	{"duckdb", warehousetest.DuckDB, 24},
	{"postgres", warehousetest.Postgres, 12},
}

func jsonText(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomGenOptions(rng *rand.Rand) genOptions {
	o := genOptions{Rows: rng.IntN(400), NullFrac: rng.Float64() * 0.3, Hostile: rng.IntN(5) == 0}
	switch rng.IntN(4) {
	case 0:
		o.Rows = rng.IntN(4) // empty, or a row or three
	case 1:
		o.NullFrac = 0.95 // columns that are nearly all NULL
	}
	if rng.IntN(3) == 0 {
		for k := genKind(0); k < genKinds; k++ {
			if rng.IntN(2) == 0 {
				o.Kinds = append(o.Kinds, k)
			}
		}
	}
	return o
}

// TestRunMatchesReference: for random tables small enough to be profiled
// exactly, every statistic equals the one computed in Go from the same
// rows (floats within rounding).
func TestRunMatchesReference(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			for seed := range e.seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(seed), 0x9f11e))
					gen := randomGenOptions(rng)
					tbl := genTable(rng, gen)
					schema := warehousetest.Schema(t, w)
					rel := load(t, w, schema, tbl)
					low := 1 + rng.IntN(25)
					t.Logf("options %+v, low cardinality %d", gen, low)
					got, err := Run(testContext(t), w, rel, Options{LowCardinality: low, SampleRows: 100_000})
					if err != nil {
						t.Fatal(err)
					}
					if !got.Exists || got.Rows != int64(len(tbl.Rows)) || got.Sampled || len(got.Columns) != len(tbl.Columns) {
						t.Fatalf("profile %+v of %d rows, %d columns", got, len(tbl.Rows), len(tbl.Columns))
					}
					want := reference(tbl, low)
					for j, c := range tbl.Columns {
						checkColumn(t, c, &got.Columns[j], want[j], int64(len(tbl.Rows)), 0)
					}
				})
			}
		})
	}
}

// checkColumn compares a profiled column with the reference. slack is 0
// for an exact profile; for a sampled one it is how far (as a share of the
// rows) a quantile may be from the true one, and estimated statistics are
// checked against tolerances instead.
func checkColumn(t *testing.T, gc genColumn, got *Column, want refColumn, rows int64, slack float64) {
	t.Helper()
	name := fmt.Sprintf("column %q (%s)", gc.Name, kindName(gc.Kind))
	if got.Name != gc.Name || got.Skipped != "" {
		t.Errorf("%s: got %q, skipped %q", name, got.Name, got.Skipped)
		return
	}
	if got.Nulls != want.Nulls {
		t.Errorf("%s: nulls %d, want %d", name, got.Nulls, want.Nulls)
	}
	if rows > 0 && math.Abs(got.NullPercent-100*float64(want.Nulls)/float64(rows)) > 1e-9 {
		t.Errorf("%s: null percent %v", name, got.NullPercent)
	}
	sameVal := func(what string, g, w any) {
		if (g == nil) != (w == nil) || g != nil && valueKey(got.Kind, g) != valueKey(got.Kind, w) {
			t.Errorf("%s: %s %v (%T), want %v (%T)", name, what, g, g, w, w)
		}
	}
	exact := slack == 0
	if exact || got.Kind != KindText {
		sameVal("min", got.Min, want.Min)
		sameVal("max", got.Max, want.Max)
	} else if got.Min != nil && (got.Min.(string) < want.Min.(string) || got.Max.(string) > want.Max.(string)) {
		// text's range comes from the sample: within the true one
		t.Errorf("%s: sampled range %q … %q outside %q … %q", name, got.Min, got.Max, want.Min, want.Max)
	}
	if exact || gc.Kind == warehousetest.KindBoolean {
		if got.Distinct != want.Distinct {
			t.Errorf("%s: distinct %d, want %d", name, got.Distinct, want.Distinct)
		}
	}
	if isNumber(gc.Kind) {
		if exact {
			sameVal("p5", got.P5, want.P5)
			sameVal("p50", got.P50, want.P50)
			sameVal("p95", got.P95, want.P95)
			spread := 0.0
			for _, f := range want.finite {
				spread = math.Max(spread, math.Abs(f))
			}
			closeTo(t, name+": mean", got.Mean, want.Mean, 1e-12*spread)
			closeTo(t, name+": stddev", got.StdDev, want.StdDev, 1e-7*spread)
		}
	} else if got.P5 != nil || got.Mean != nil {
		t.Errorf("%s: quantiles or mean for a %s", name, gc.Kind)
	}
	if (got.Length == nil) != (want.Length == nil) {
		t.Errorf("%s: length %+v, want %+v", name, got.Length, want.Length)
	} else if got.Length != nil && exact && (got.Length.Min != want.Length.Min || got.Length.Max != want.Length.Max || math.Abs(got.Length.Avg-want.Length.Avg) > 1e-9) {
		t.Errorf("%s: length %+v, want %+v", name, *got.Length, *want.Length)
	}
	if !exact && gc.Kind != warehousetest.KindBoolean {
		return
	}
	if (got.Values == nil) != (want.Values == nil) {
		t.Errorf("%s: values %v, want %v", name, got.Values, want.Values)
		return
	}
	gotCounts := map[string]int64{}
	for i, vc := range got.Values {
		gotCounts[valueKey(got.Kind, vc.Value)] = vc.Count
		if i > 0 && vc.Count > got.Values[i-1].Count {
			t.Errorf("%s: values not most frequent first: %v", name, got.Values)
		}
	}
	if fmt.Sprint(sortedCounts(gotCounts)) != fmt.Sprint(sortedCounts(want.Values)) {
		t.Errorf("%s: values %v, want %v", name, gotCounts, want.Values)
	}
}

func sortedCounts(m map[string]int64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

func closeTo(t *testing.T, what string, got, want *float64, tolerance float64) {
	t.Helper()
	if got == nil || want == nil {
		if got != want && (got == nil) != (want == nil) {
			t.Errorf("%s: %v, want %v", what, deref(got), deref(want))
		}
		return
	}
	if d := math.Abs(*got - *want); d > tolerance && d > 1e-12*math.Abs(*want) {
		t.Errorf("%s: %v, want %v (off by %g, tolerance %g)", what, *got, *want, d, tolerance)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestSampledRun: a table larger than SampleRows is sampled by the hash
// of its key. Exact statistics stay exact; estimated ones are within
// sampling error of the truth; and the sample depends only on the data:
// the same rows in another order, in another table, give the same profile.
func TestSampledRun(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			for seed := range max(e.seeds/4, 2) {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(seed), 0x5a3b1e))
					tbl := genTable(rng, genOptions{Rows: 3000 + rng.IntN(1000), NullFrac: rng.Float64() * 0.2})
					schema := warehousetest.Schema(t, w)
					rel := load(t, w, schema, tbl)
					// The same rows in another order, in another table.
					rel2 := warehouse.Relation{Schema: schema, Name: "shuffled"}
					d := w.Dialect()
					if err := w.Exec(testContext(t), "CREATE TABLE "+d.QuoteRelation(rel2)+" AS SELECT * FROM "+d.QuoteRelation(rel)+" ORDER BY random()"); err != nil {
						t.Fatal(err)
					}

					const sampleRows = 500
					opts := Options{SampleRows: sampleRows, SampleKey: []string{"id"}, LowCardinality: 10}
					got, err := Run(testContext(t), w, rel, opts)
					if err != nil {
						t.Fatal(err)
					}
					n := int64(len(tbl.Rows))
					if !got.Sampled || got.Rows != n || !slices.Equal(got.SampleKey, []string{"id"}) {
						t.Fatalf("profile %+v", got)
					}
					// The sampled fraction is a power of two picked from the
					// engine's estimate of the rows, which PostgreSQL makes from
					// the table's pages: about SampleRows rows, within a factor.
					if got.SampleRows < sampleRows/4 || got.SampleRows > 2*sampleRows {
						t.Errorf("sample of %d rows, want about %d", got.SampleRows, sampleRows)
					}
					want := reference(tbl, 10)
					for j, c := range tbl.Columns {
						col := &got.Columns[j]
						checkColumn(t, c, col, want[j], n, 0.1)
						if c.Kind != warehousetest.KindBoolean && !col.Estimated {
							t.Errorf("column %s: a sampled statistic not marked estimated", c.Name)
						}
						checkEstimates(t, c, col, want[j], tbl, j, got.SampleRows)
					}

					again, err := Run(testContext(t), w, rel2, opts)
					if err != nil {
						t.Fatal(err)
					}
					again.Relation = got.Relation
					// Sums of floats depend on the order of the rows in their
					// last bits; the rest must be identical.
					for i := range got.Columns {
						a, b := &again.Columns[i], &got.Columns[i]
						if !sameFloat(a.Mean, b.Mean) || !sameFloat(a.StdDev, b.StdDev) {
							t.Errorf("column %s: mean and stddev %v %v, and in the other order %v %v", b.Name, deref(b.Mean), deref(b.StdDev), deref(a.Mean), deref(a.StdDev))
						}
						a.Mean, a.StdDev = b.Mean, b.StdDev
					}
					if a, b := jsonText(t, again), jsonText(t, got); a != b {
						t.Errorf("the same rows in another order profile differently:\n%s\n%s", a, b)
					}
				})
			}
		})
	}
}

// checkEstimates checks sampled statistics against the truth with
// tolerances wide enough never to fail by chance (six standard errors).
func checkEstimates(t *testing.T, gc genColumn, got *Column, want refColumn, tbl genTab, j int, sample int64) {
	t.Helper()
	name := fmt.Sprintf("column %q (%s)", gc.Name, kindName(gc.Kind))
	nonNull := int64(len(tbl.Rows)) - want.Nulls
	if got.Distinct < 0 || got.Distinct > nonNull {
		t.Errorf("%s: distinct %d of %d values", name, got.Distinct, nonNull)
	}
	if want.Distinct <= 10 && got.Distinct != want.Distinct && gc.Kind != warehousetest.KindBoolean {
		// Few values, each held by many rows: the sample sees them all.
		t.Errorf("%s: distinct %d, want %d", name, got.Distinct, want.Distinct)
	}
	if !isNumber(gc.Kind) || got.P50 == nil {
		return
	}
	// A quantile estimate must be a value whose rank is near the quantile's.
	var sorted []any
	for _, r := range tbl.Rows {
		if r[j] != nil {
			sorted = append(sorted, r[j])
		}
	}
	sort.SliceStable(sorted, func(a, b int) bool { return refLess(gc.Kind, sorted[a], sorted[b]) })
	n := float64(len(sorted))
	for _, q := range []struct {
		at  float64
		got any
	}{{0.05, got.P5}, {0.5, got.P50}, {0.95, got.P95}} {
		slack := 6 * math.Sqrt(q.at*(1-q.at)/float64(sample))
		lo := sorted[max(int(math.Floor((q.at-slack)*n)), 0)]
		hi := sorted[min(int(math.Ceil((q.at+slack)*n)), len(sorted)-1)]
		if refLess(gc.Kind, q.got, lo) || refLess(gc.Kind, hi, q.got) {
			t.Errorf("%s: p%g %v outside [%v, %v]", name, 100*q.at, q.got, lo, hi)
		}
	}
	if got.Mean != nil && want.Mean != nil && want.StdDev != nil {
		if d := math.Abs(*got.Mean - *want.Mean); d > 6**want.StdDev/math.Sqrt(float64(sample))+1e-9*math.Abs(*want.Mean) {
			t.Errorf("%s: mean %v, want about %v", name, *got.Mean, *want.Mean)
		}
	}
}
