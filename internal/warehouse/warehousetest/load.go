package warehousetest

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Column is a column of a table Load creates: its name and its type as
// the engine spells it.
type Column struct{ Name, Type string }

// Load creates rel with cols and inserts rows in batches, every value a
// bound parameter (see BindValue) cast to its column's type. The table is
// dropped with its schema.
func Load(t testing.TB, w warehouse.Warehouse, rel warehouse.Relation, cols []Column, rows [][]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := w.Dialect()
	var defs, names []string
	for _, c := range cols {
		defs = append(defs, d.QuoteIdent(c.Name)+" "+c.Type)
		names = append(names, d.QuoteIdent(c.Name))
	}
	if err := w.Exec(ctx, "CREATE TABLE "+d.QuoteRelation(rel)+" ("+strings.Join(defs, ", ")+")"); err != nil {
		t.Fatalf("create %s: %v", d.QuoteRelation(rel), err)
	}
	const batch = 200
	for start := 0; start < len(rows); start += batch {
		var values []string
		var args []any
		for _, r := range rows[start:min(start+batch, len(rows))] {
			var tuple []string
			for j, v := range r {
				args = append(args, BindValue(v))
				tuple = append(tuple, "CAST("+d.Placeholder(len(args))+" AS "+cols[j].Type+")")
			}
			values = append(values, "("+strings.Join(tuple, ", ")+")")
		}
		query := "INSERT INTO " + d.QuoteRelation(rel) + " (" + strings.Join(names, ", ") + ") VALUES " + strings.Join(values, ", ")
		if err := w.Exec(ctx, query, args...); err != nil {
			t.Fatalf("load %s: %v", d.QuoteRelation(rel), err)
		}
	}
}

// BindValue is a Go value as a parameter both engines cast exactly to the
// column's type: floats (NaN and infinities included), booleans and times
// as text, the rest (integers, text, NULL) as they are.
func BindValue(v any) any {
	switch x := v.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "Infinity"
		case math.IsInf(x, -1):
			return "-Infinity"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999")
	}
	return v
}

// BenchRows are the table sizes a benchmark runs: def, or the
// comma-separated list in DATAOPS_BENCH_ROWS (e.g. 1000000,10000000), none
// under least.
func BenchRows(b *testing.B, def, least int64) []int64 {
	env := os.Getenv("DATAOPS_BENCH_ROWS")
	if env == "" {
		return []int64{def}
	}
	var out []int64
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < least {
			b.Fatalf("DATAOPS_BENCH_ROWS=%q: want sizes of at least %d rows, comma-separated", env, least)
		}
		out = append(out, n)
	}
	return out
}

// BenchColumns are the columns of BenchTableSQL's table, key first.
var BenchColumns = []string{"id", "c_int", "c_big", "c_num", "c_dbl", "c_text", "c_bool", "c_date", "c_ts"}

// BenchTableSQL creates rel with n generated rows of every common type,
// inside the engine: the table the diff and profile benchmarks share.
func BenchTableSQL(d warehouse.Dialect, rel warehouse.Relation, n int64) string {
	ts := "TIMESTAMP '2020-01-01' + make_interval(secs => i * 7)"
	if d.Name() == "duckdb" {
		ts = "TIMESTAMP '2020-01-01' + to_seconds(i * 7)"
	}
	return "CREATE TABLE " + d.QuoteRelation(rel) + " AS SELECT CAST(i AS bigint) AS id," +
		" CAST((i * 7919) % 1000003 AS integer) AS c_int," +
		" i * 2654435761 AS c_big," +
		" CAST(round(((i * 31) % 1000000) / 100.0, 2) AS numeric(12,2)) AS c_num," +
		" ((i * 17) % 100000) / CAST(7 AS float8) AS c_dbl," +
		" 'name ' || CAST(i AS text) || ' é' AS c_text," +
		" i % 3 = 0 AS c_bool," +
		" DATE '2020-01-01' + CAST(i % 2000 AS integer) AS c_date," +
		" " + ts + " AS c_ts" +
		" FROM generate_series(CAST(1 AS bigint), CAST(" + strconv.FormatInt(n, 10) + " AS bigint)) t(i)"
}
