package profile

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// benchSizes are the table sizes BenchmarkProfile runs: 1M rows, or the
// comma-separated list in DATAOPS_BENCH_ROWS (e.g. 1000000,10000000).
func benchSizes(b *testing.B) []int64 {
	env := os.Getenv("DATAOPS_BENCH_ROWS")
	if env == "" {
		return []int64{1_000_000}
	}
	var out []int64
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 1000 {
			b.Fatalf("DATAOPS_BENCH_ROWS=%q: want sizes of at least 1000 rows, comma-separated", env)
		}
		out = append(out, n)
	}
	return out
}

// benchColumns are the diff benchmark's columns (internal/datadiff's
// joinBenchTables), key first.
var benchColumns = []string{"id", "c_int", "c_big", "c_num", "c_dbl", "c_text", "c_bool", "c_date", "c_ts"}

// benchTable makes the diff benchmark's base table with n rows, inside the
// engine; PostgreSQL's is VACUUM ANALYZEd, as a built model would be
// after autovacuum.
func benchTable(b *testing.B, w warehouse.Warehouse, schema string, n int64) warehouse.Relation {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	d := w.Dialect()
	rel := warehouse.Relation{Schema: schema, Name: "bench"}
	ts := "TIMESTAMP '2020-01-01' + make_interval(secs => i * 7)"
	if d.Name() == "duckdb" {
		ts = "TIMESTAMP '2020-01-01' + to_seconds(i * 7)"
	}
	stmts := []string{"CREATE TABLE " + d.QuoteRelation(rel) + " AS SELECT CAST(i AS bigint) AS id," +
		" CAST((i * 7919) % 1000003 AS integer) AS c_int," +
		" i * 2654435761 AS c_big," +
		" CAST(round(((i * 31) % 1000000) / 100.0, 2) AS numeric(12,2)) AS c_num," +
		" ((i * 17) % 100000) / CAST(7 AS float8) AS c_dbl," +
		" 'name ' || CAST(i AS text) || ' é' AS c_text," +
		" i % 3 = 0 AS c_bool," +
		" DATE '2020-01-01' + CAST(i % 2000 AS integer) AS c_date," +
		" " + ts + " AS c_ts" +
		" FROM generate_series(CAST(1 AS bigint), CAST(" + strconv.FormatInt(n, 10) + " AS bigint)) t(i)"}
	if d.Name() == "postgres" {
		stmts = append(stmts, "VACUUM ANALYZE "+d.QuoteRelation(rel))
	}
	for _, stmt := range stmts {
		if err := w.Exec(ctx, stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
	return rel
}

// scanSQL is the baseline: one scan reading every value of the relation,
// each row hashed whole by the engine's own row hash.
func scanSQL(d warehouse.Dialect, rel warehouse.Relation) string {
	cols := make([]string, len(benchColumns))
	for i, c := range benchColumns {
		cols[i] = d.QuoteIdent(c)
	}
	hash := "hash(" + strings.Join(cols, ", ") + ")"
	if d.Name() == "postgres" {
		hash = "hash_record(ROW(" + strings.Join(cols, ", ") + "))"
	}
	return "SELECT count(*), sum(" + hash + ") FROM " + d.QuoteRelation(rel)
}

// BenchmarkProfile times Run on the diff benchmark's table against one
// scan of it (scanSQL), alternating the two each iteration after one
// warm-up run of each; ns/op is Run's, scan-ns/op and ratio (Run / scan)
// are reported alongside. "key" samples by the hash of id, as the pipeline
// does for a model with a unique key; "nokey" hashes whole rows.
//
//	go test ./internal/profile/ -run '^$' -bench BenchmarkProfile -benchtime 5x
//	DATAOPS_BENCH_ROWS=10000000 go test ./internal/profile/ -run '^$' -bench BenchmarkProfile -benchtime 5x -timeout 1h
func BenchmarkProfile(b *testing.B) {
	for _, e := range []struct {
		name string
		open func(testing.TB) warehouse.Warehouse
	}{{"duckdb", warehousetest.DuckDB}, {"postgres", warehousetest.Postgres}} {
		b.Run(e.name, func(b *testing.B) {
			for _, n := range benchSizes(b) {
				w := e.open(b)
				rel := benchTable(b, w, warehousetest.Schema(b, w), n)
				for _, v := range []struct {
					name string
					key  []string
				}{{"key", []string{"id"}}, {"nokey", nil}} {
					b.Run(fmt.Sprintf("rows=%d/%s", n, v.name), func(b *testing.B) {
						benchProfile(b, w, rel, n, Options{SampleKey: v.key})
					})
				}
			}
		})
	}
}

func benchProfile(b *testing.B, w warehouse.Warehouse, rel warehouse.Relation, n int64, opts Options) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	scan := scanSQL(w.Dialect(), rel)
	runScan := func() time.Duration {
		start := time.Now()
		if _, err := w.Query(ctx, scan); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	runProfile := func() time.Duration {
		start := time.Now()
		p, err := Run(ctx, w, rel, opts)
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if p.Rows != n || len(p.Columns) != len(benchColumns) {
			b.Fatalf("profile of %d rows, %d columns", p.Rows, len(p.Columns))
		}
		return took
	}
	runScan()
	runProfile()
	var scanned, profiled time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		scanned += runScan()
		b.StartTimer()
		profiled += runProfile()
	}
	b.ReportMetric(float64(scanned.Nanoseconds())/float64(b.N), "scan-ns/op")
	b.ReportMetric(float64(profiled)/float64(scanned), "ratio")
}
