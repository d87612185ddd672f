package datadiff

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// hashBenchRows is the table size: DATAOPS_BENCH_ROWS, default 1,000,000.
func hashBenchRows(b *testing.B) int64 {
	n := int64(1_000_000)
	if v := os.Getenv("DATAOPS_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 3000 {
			b.Fatalf("DATAOPS_BENCH_ROWS=%q: want a row count of at least 3000", v)
		}
	}
	return n
}

// hashBenchSelect generates the benchmark table from a series of ids with
// expressions both engines evaluate to the same values (exact integer and
// decimal arithmetic, one IEEE division), so that the two copies start
// identical without moving the data between the engines.
func hashBenchSelect(d warehouse.Dialect, from string) string {
	text, double := d.Type(warehouse.TypeText), d.Type(warehouse.TypeDouble)
	return `SELECT id,
		'customer-' || CAST(id * 7919 % 100003 AS ` + text + `) AS name,
		CAST(CAST(id * 37 % 100000 AS numeric(12,2)) * CAST(0.01 AS numeric(12,2)) AS numeric(12,2)) AS amount,
		CAST(id % 1000 AS ` + double + `) / 7 AS score,
		id % 3 = 0 AS flag,
		DATE '2020-01-01' + CAST(id % 1500 AS integer) AS day,
		TIMESTAMP '2020-01-01 00:00:00' + CAST(id % 100000 AS integer) * INTERVAL '1 second' AS ts
	FROM ` + from
}

// hashBenchSetup creates "bench" in PostgreSQL (generate_series) and the
// same rows in DuckDB (range), checks they are identical with one checksum
// per side, then changes 0.1% of the keys in DuckDB: a third updated (half
// the amount, half the name), a third deleted, a third inserted.
func hashBenchSetup(b *testing.B, n int64) (pg, du warehouse.Warehouse, opts Options, differing int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	pg = warehousetest.Postgres(b)
	du = warehousetest.DuckDB(b)
	start := time.Now()
	mustExec := func(w warehouse.Warehouse, query string, args ...any) {
		if err := w.Exec(ctx, query, args...); err != nil {
			b.Fatalf("%s: %s: %v", w.Dialect().Name(), query, err)
		}
	}
	for _, w := range []warehouse.Warehouse{pg, du} {
		d := w.Dialect()
		mustExec(w, "CREATE TABLE "+hashBenchSchema(w)+".bench (id bigint PRIMARY KEY, name "+d.Type(warehouse.TypeText)+
			", amount numeric(12,2), score "+d.Type(warehouse.TypeDouble)+", flag boolean, day date, ts timestamp)")
	}
	mustExec(pg, "INSERT INTO public.bench "+hashBenchSelect(pg.Dialect(), "generate_series(CAST(1 AS bigint), CAST($1 AS bigint)) AS g(id)"), n)
	mustExec(pg, "VACUUM ANALYZE public.bench")
	mustExec(du, "INSERT INTO main.bench "+hashBenchSelect(du.Dialect(), "range(CAST(1 AS BIGINT), CAST($1 AS BIGINT) + 1) AS g(id)"), n)
	b.Logf("generated %d rows in each engine in %s", n, time.Since(start).Round(time.Millisecond))

	opts = Options{
		Base: warehouse.Relation{Schema: "public", Name: "bench"},
		Head: warehouse.Relation{Schema: "main", Name: "bench"},
		Key:  []string{"id"},
	}
	for _, w := range []warehouse.Warehouse{pg, du} {
		t := time.Now()
		hashBenchChecksum(b, w, opts.Base, opts)
		b.Logf("one checksum pass over %s alone: %s", w.Dialect().Name(), time.Since(t).Round(time.Millisecond))
	}
	pgSum, duSum := hashBenchBaseline(b, pg, du, opts)
	if pgSum != duSum {
		b.Fatalf("the generated copies differ before any change: PostgreSQL checksum %s, DuckDB %s", pgSum, duSum)
	}

	// One key in 1,000 differs: ids i with i % 3000 in {7, 1007, 2007}.
	mustExec(du, "UPDATE main.bench SET amount = amount + 1 WHERE id % 3000 = 7 AND id % 2 = 0")
	mustExec(du, "UPDATE main.bench SET name = name || '!' WHERE id % 3000 = 7 AND id % 2 = 1")
	mustExec(du, "DELETE FROM main.bench WHERE id % 3000 = 1007")
	inserted := n / 3000
	mustExec(du, "INSERT INTO main.bench "+hashBenchSelect(du.Dialect(), "range(CAST($1 AS BIGINT) + 1, CAST($1 AS BIGINT) + 1 + CAST($2 AS BIGINT)) AS g(id)"), n, inserted)
	var changed, deleted int64
	for i := int64(1); i <= n; i++ {
		switch i % 3000 {
		case 7:
			changed++
		case 1007:
			deleted++
		}
	}
	return pg, du, opts, changed + deleted + inserted
}

func hashBenchSchema(w warehouse.Warehouse) string {
	if w.Dialect().Name() == "postgres" {
		return "public"
	}
	return "main"
}

// hashBenchBaseline is one checksum aggregate over the whole relation on
// each side, at the same time: the least any checksum comparison reads.
func hashBenchBaseline(b *testing.B, pg, du warehouse.Warehouse, opts Options) (pgSum, duSum string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	res := &Result{}
	base := newHashSide(0, "base", pg, opts.Base, &res.Base, "")
	head := newHashSide(1, "head", du, opts.Head, &res.Head, "")
	sides := []*hashSide{base, head}
	if err := hashBoth(sides, func(s *hashSide) error { return s.loadColumns(ctx) }); err != nil {
		b.Fatal(err)
	}
	p, err := planHashColumns(base, head, opts)
	if err != nil {
		b.Fatal(err)
	}
	var sums [2]string
	err = hashBoth(sides, func(s *hashSide) error {
		_, sum, err := s.checksum(ctx, p)
		sums[s.i] = sum
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return sums[0], sums[1]
}

// hashBenchChecksum is one side's checksum pass alone.
func hashBenchChecksum(b *testing.B, w warehouse.Warehouse, rel warehouse.Relation, opts Options) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	res := &Result{}
	rel.Schema = hashBenchSchema(w)
	s := newHashSide(0, "base", w, rel, &res.Base, "")
	if err := s.loadColumns(ctx); err != nil {
		b.Fatal(err)
	}
	p, err := planHashColumns(s, newHashSide(1, "head", w, rel, &res.Head, ""), opts)
	if err != nil {
		b.Fatal(err)
	}
	_, sum, err := s.checksum(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	return sum
}

// BenchmarkHashDiff diffs a PostgreSQL table against its DuckDB copy with
// 0.1% of the keys changed, and, in the same run, the baseline: one
// checksum pass over each side.
//
//	go test ./internal/datadiff/ -run '^$' -bench BenchmarkHashDiff -benchtime 3x
func BenchmarkHashDiff(b *testing.B) {
	n := hashBenchRows(b)
	pg, du, opts, differing := hashBenchSetup(b, n)
	b.Logf("%d rows, %d keys differ (%.2f%%)", n, differing, 100*float64(differing)/float64(n))

	b.Run("baseline-one-checksum-pass", func(b *testing.B) {
		for range b.N {
			hashBenchBaseline(b, pg, du, opts)
		}
	})
	b.Run("hashdiff", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		var res *Result
		var rep *hashReport
		for range b.N {
			var err error
			res, rep, err = hashDiff(ctx, pg, du, opts, defaultHashTuning)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if got := res.OnlyInBase + res.OnlyInHead + res.Changed; got != differing {
			b.Fatalf("found %d differing keys (%d only in base, %d only in head, %d changed), want %d", got, res.OnlyInBase, res.OnlyInHead, res.Changed, differing)
		}
		b.ReportMetric(float64(res.RowsTransferred), "rows-transferred")
		b.ReportMetric(100*float64(res.RowsTransferred)/float64(n), "%-rows-transferred")
		b.ReportMetric(float64(rep.Passes), "checksum-passes")
		b.ReportMetric(float64(rep.Summaries), "segment-summaries")
		b.Logf("passes %d, bits %v, differing segments %v, fetched %v rows; time: stats %s, passes %v, fetch %s",
			rep.Passes, rep.Bits, rep.Differing, rep.Fetched, rep.StatsTime.Round(time.Millisecond), rep.PassTimes, rep.FetchTime.Round(time.Millisecond))
		if res.RowsTransferred*100 >= n {
			b.Errorf("transferred %d rows, not under 1%% of %d", res.RowsTransferred, n)
		}
	})
}
