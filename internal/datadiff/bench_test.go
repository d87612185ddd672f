package datadiff

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// joinBenchColumns are the compared columns of the benchmark tables.
var joinBenchColumns = []string{"c_int", "c_big", "c_num", "c_dbl", "c_text", "c_bool", "c_date", "c_ts"}

// joinBenchTables generates base and head with n rows each in schema,
// inside the engine (generate_series), and returns how many keys differ:
// 0.02% of base's rows removed, 0.02% added, 0.03% changed in one column
// each across six columns (integer, numeric, double, text, date to NULL,
// timestamp): 0.07% in all.
func joinBenchTables(b *testing.B, w warehouse.Warehouse, schema string, n int64) (differing int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	d := w.Dialect()
	s := d.QuoteIdent(schema)
	stmts := []string{
		warehousetest.BenchTableSQL(d, warehouse.Relation{Schema: schema, Name: "base"}, n),
		"CREATE TABLE " + s + ".head AS SELECT id," +
			" CASE WHEN id % 20000 = 2 THEN c_int + 1 ELSE c_int END AS c_int," +
			" c_big," +
			" CASE WHEN id % 20000 = 3 THEN CAST(c_num + 0.01 AS numeric(12,2)) ELSE c_num END AS c_num," +
			" CASE WHEN id % 20000 = 4 THEN c_dbl * 1.5 ELSE c_dbl END AS c_dbl," +
			" CASE WHEN id % 20000 = 5 THEN c_text || '!' ELSE c_text END AS c_text," +
			" c_bool," +
			" CASE WHEN id % 20000 = 6 THEN NULL ELSE c_date END AS c_date," +
			" CASE WHEN id % 20000 = 7 THEN c_ts + INTERVAL '1 hour' ELSE c_ts END AS c_ts" +
			" FROM " + s + ".base WHERE id % 5000 <> 1" +
			" UNION ALL SELECT i, CAST(1 AS integer), CAST(2 AS bigint), CAST(3.45 AS numeric(12,2)), CAST(6.7 AS float8)," +
			" 'added ' || CAST(i AS text), true, DATE '2021-01-01', TIMESTAMP '2021-01-01'" +
			" FROM generate_series(CAST(" + strconv.FormatInt(n+1, 10) + " AS bigint), CAST(" + strconv.FormatInt(n+n/5000, 10) + " AS bigint)) t(i)",
	}
	if d.Name() == "postgres" {
		stmts = append(stmts, "VACUUM ANALYZE "+s+".base", "VACUUM ANALYZE "+s+".head")
	}
	for _, stmt := range stmts {
		if err := w.Exec(ctx, stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
	removed, added, changed := n/5000, n/5000, 6*(n/20000)
	return removed + added + changed
}

// joinLowerBound is the least any same-warehouse diff must do: one full
// outer join of the two tables with one comparison count per column.
func joinLowerBound(d warehouse.Dialect, schema string) string {
	s := d.QuoteIdent(schema)
	parts := []string{"count(*) FILTER (WHERE a.id IS NULL)", "count(*) FILTER (WHERE b.id IS NULL)"}
	for _, c := range joinBenchColumns {
		parts = append(parts, "count(*) FILTER (WHERE a.id IS NOT NULL AND b.id IS NOT NULL AND a."+c+" IS DISTINCT FROM b."+c+")")
	}
	return "SELECT " + strings.Join(parts, ", ") + " FROM " + s + ".base a FULL OUTER JOIN " + s + ".head b ON a.id = b.id"
}

// BenchmarkJoin times Join (samples, NULL and duplicated key detection
// included) against the lower bound (joinLowerBound) on the same tables in
// the same run, alternating the two each iteration after one warm-up run of
// each. ns/op is Join's; lowerbound-ns/op and ratio (Join / lower bound)
// are reported alongside, with the Go heap's peak during Join (peak-heap-MB,
// sampled every millisecond) and allocations.
//
//	go test ./internal/datadiff/ -run '^$' -bench BenchmarkJoin -benchtime 3x
//	DATAOPS_BENCH_ROWS=10000000 go test ./internal/datadiff/ -run '^$' -bench 'BenchmarkJoin/postgres' -benchtime 3x -timeout 2h
func BenchmarkJoin(b *testing.B) {
	for _, e := range joinEngines {
		b.Run(e.name, func(b *testing.B) {
			for _, n := range warehousetest.BenchRows(b, 1_000_000, 20000) {
				// The tables are made once per size, outside the timed
				// function (which the testing package may call more than once).
				w := e.open(b)
				schema := warehousetest.Schema(b, w)
				differing := joinBenchTables(b, w, schema, n)
				b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
					benchJoin(b, w, schema, n, differing)
				})
			}
		})
	}
}

func benchJoin(b *testing.B, w warehouse.Warehouse, schema string, n, differing int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	d := w.Dialect()
	opts := Options{
		Base: warehouse.Relation{Schema: schema, Name: "base"},
		Head: warehouse.Relation{Schema: schema, Name: "head"},
		Key:  []string{"id"},
	}
	lowerBound := joinLowerBound(d, schema)
	runLowerBound := func() time.Duration {
		start := time.Now()
		if _, err := w.Query(ctx, lowerBound); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	check := func(res *Result) {
		if got := res.OnlyInBase + res.OnlyInHead + res.Changed; got != differing || res.Base.Rows != n {
			b.Fatalf("%d keys differ in %d rows, want %d in %d: %+v", got, res.Base.Rows, differing, n, res)
		}
		if len(res.Samples.OnlyInBase) != 5 || len(res.Samples.OnlyInHead) != 5 || len(res.Samples.Changed) != 5 {
			b.Fatalf("samples %+v", res.Samples)
		}
	}
	// warm the caches (and the engine's plan caches) with one run of each
	runLowerBound()
	res, err := Join(ctx, w, opts)
	if err != nil {
		b.Fatal(err)
	}
	check(res)

	var lower, join time.Duration
	var peak atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		lower += runLowerBound()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m runtime.MemStats
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		res, err := Join(ctx, w, opts)
		join += time.Since(start)
		b.StopTimer()
		close(done)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		check(res)
		b.StartTimer()
	}
	b.ReportMetric(float64(lower.Nanoseconds())/float64(b.N), "lowerbound-ns/op")
	b.ReportMetric(float64(join)/float64(lower), "ratio")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
