package profile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// benchTable makes the diff benchmark's base table with n rows (see
// warehousetest.BenchTableSQL); PostgreSQL's is VACUUM ANALYZEd, as a
// built model would be after autovacuum.
func benchTable(b *testing.B, w warehouse.Warehouse, schema string, n int64) warehouse.Relation {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	d := w.Dialect()
	rel := warehouse.Relation{Schema: schema, Name: "bench"}
	stmts := []string{warehousetest.BenchTableSQL(d, rel, n)}
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
	cols := make([]string, len(warehousetest.BenchColumns))
	for i, c := range warehousetest.BenchColumns {
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
			for _, n := range warehousetest.BenchRows(b, 1_000_000, 1000) {
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
		if p.Rows != n || len(p.Columns) != len(warehousetest.BenchColumns) {
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
