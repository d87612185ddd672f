package warehouse_test

// Engine-neutral behaviour, checked on DuckDB (memory and file) and
// PostgreSQL alike.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func forEachEngine(t *testing.T, fn func(t *testing.T, w warehouse.Warehouse)) {
	for _, e := range warehousetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.Open(t))
		})
	}
}

func TestHostileIdentifiers(t *testing.T) {
	names := []string{
		`a"b`,
		`with space`,
		`üñí©ødé`,
		`select`,
		`from.where`,
		`x; drop table y --`,
		`'quoted'`,
		`Mixed_Case`,
	}
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		d := w.Dialect()
		schema := `sch"ema ü select`
		warehousetest.DropSchemaAtCleanup(t, w, schema)
		must(t, w.EnsureSchema(ctx, schema))
		must(t, w.EnsureSchema(ctx, schema)) // idempotent
		for i, name := range names {
			t.Run(name, func(t *testing.T) {
				rel := warehouse.Relation{Schema: schema, Name: name}
				col := name + " col"
				must(t, w.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s integer, %s text)",
					d.QuoteRelation(rel), d.QuoteIdent(col), d.QuoteIdent("group"))))
				must(t, w.Exec(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%s, %s)",
					d.QuoteRelation(rel), d.Placeholder(1), d.Placeholder(2)), i, name))

				cols, err := w.Columns(ctx, rel)
				must(t, err)
				if len(cols) != 2 || cols[0].Name != col || cols[1].Name != "group" || cols[0].Type != "integer" {
					t.Errorf("Columns = %+v, want %q integer, \"group\"", cols, col)
				}
				ok, err := w.RelationExists(ctx, rel)
				must(t, err)
				if !ok {
					t.Errorf("RelationExists = false")
				}
				rows, err := w.Query(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s",
					d.QuoteIdent("group"), d.QuoteRelation(rel), d.QuoteIdent(col), d.Placeholder(1)), i)
				must(t, err)
				if len(rows.Values) != 1 || rows.Values[0][0] != name {
					t.Errorf("value round trip = %v, want %q", rows.Values, name)
				}
			})
		}
	})
}

func TestColumnsMissingRelation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		schema := warehousetest.Schema(t, w)
		for _, rel := range []warehouse.Relation{{Schema: schema, Name: "nope"}, {Schema: "no_such_schema", Name: "nope"}} {
			_, err := w.Columns(ctx, rel)
			if !errors.Is(err, warehouse.ErrRelationNotFound) {
				t.Errorf("Columns(%v) error = %v, want ErrRelationNotFound", rel, err)
			}
			ok, err := w.RelationExists(ctx, rel)
			if err != nil || ok {
				t.Errorf("RelationExists(%v) = %v, %v; want false, nil", rel, ok, err)
			}
		}
	})
}

func TestEnvironments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		d := w.Dialect()
		env := warehouse.EnvironmentName("pr_{number}", 12, "", d)
		t.Cleanup(func() { w.DropEnvironment(context.Background(), env) })
		before := time.Now().Add(-time.Second)
		m := warehouse.EnvironmentMarker{PR: 12, HeadSHA: "aaaa", Owner: "alice"}

		t.Run("create is idempotent", func(t *testing.T) {
			must(t, w.CreateEnvironment(ctx, env, m))
			must(t, w.Exec(ctx, "CREATE TABLE "+d.QuoteRelation(warehouse.Relation{Schema: env, Name: "orders"})+" (id integer)"))
			must(t, w.CreateEnvironment(ctx, env, m))
			// A new push: same PR, new head. The table survives.
			must(t, w.CreateEnvironment(ctx, env, warehouse.EnvironmentMarker{PR: 12, HeadSHA: "bbbb", Owner: "alice"}))
			ok, err := w.RelationExists(ctx, warehouse.Relation{Schema: env, Name: "orders"})
			must(t, err)
			if !ok {
				t.Error("re-creating the environment lost its table")
			}
		})

		t.Run("list shows the marker", func(t *testing.T) {
			envs, err := w.ListEnvironments(ctx)
			must(t, err)
			if len(envs) != 1 {
				t.Fatalf("ListEnvironments = %+v, want just %s", envs, env)
			}
			e := envs[0]
			if e.Schema != env || e.Marker.PR != 12 || e.Marker.HeadSHA != "bbbb" || e.Marker.Owner != "alice" {
				t.Errorf("environment = %+v", e)
			}
			if e.Marker.CreatedAt.Before(before) || e.Marker.CreatedAt.After(time.Now()) {
				t.Errorf("CreatedAt = %v, want about now", e.Marker.CreatedAt)
			}
			if age := e.Age(time.Now()); age < 0 || age > time.Minute {
				t.Errorf("Age = %v", age)
			}
		})

		t.Run("another PR cannot take it", func(t *testing.T) {
			err := w.CreateEnvironment(ctx, env, warehouse.EnvironmentMarker{PR: 13, HeadSHA: "cccc"})
			if !errors.Is(err, warehouse.ErrEnvironmentConflict) {
				t.Errorf("error = %v, want ErrEnvironmentConflict", err)
			}
		})

		t.Run("drop is idempotent", func(t *testing.T) {
			must(t, w.DropEnvironment(ctx, env))
			must(t, w.DropEnvironment(ctx, env))
			envs, err := w.ListEnvironments(ctx)
			must(t, err)
			if len(envs) != 0 {
				t.Errorf("ListEnvironments after drop = %+v", envs)
			}
			ok, err := w.RelationExists(ctx, warehouse.Relation{Schema: env, Name: "orders"})
			must(t, err)
			if ok {
				t.Error("table survived the drop")
			}
		})

		t.Run("recreate after drop", func(t *testing.T) {
			must(t, w.CreateEnvironment(ctx, env, m))
			must(t, w.DropEnvironment(ctx, env))
		})
	})
}

func TestEnvironmentRefusesUnmarkedSchema(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		d := w.Dialect()
		schema := warehousetest.Schema(t, w) // someone else's schema
		rel := warehouse.Relation{Schema: schema, Name: "precious"}
		must(t, w.Exec(ctx, "CREATE TABLE "+d.QuoteRelation(rel)+" (id integer)"))

		if err := w.DropEnvironment(ctx, schema); !errors.Is(err, warehouse.ErrUnmarkedSchema) {
			t.Errorf("DropEnvironment error = %v, want ErrUnmarkedSchema", err)
		}
		if err := w.CreateEnvironment(ctx, schema, warehouse.EnvironmentMarker{PR: 1}); !errors.Is(err, warehouse.ErrUnmarkedSchema) {
			t.Errorf("CreateEnvironment error = %v, want ErrUnmarkedSchema", err)
		}
		if ok, err := w.RelationExists(ctx, rel); err != nil || !ok {
			t.Errorf("the unmarked schema's table is gone: %v, %v", ok, err)
		}
		envs, err := w.ListEnvironments(ctx)
		must(t, err)
		if len(envs) != 0 {
			t.Errorf("ListEnvironments = %+v, want none", envs)
		}
		// The engine's own schemas are unmarked too.
		for _, s := range []string{"main", "public", "information_schema", "pg_catalog"} {
			if err := w.DropEnvironment(ctx, s); err != nil && !errors.Is(err, warehouse.ErrUnmarkedSchema) {
				t.Errorf("DropEnvironment(%s) = %v", s, err)
			}
		}
	})
}

func TestEnvironmentNamesAtTheLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		d := w.Dialect()
		long := strings.Repeat("a_very_long_environment_prefix_", 10)
		a := warehouse.EnvironmentName(long+"x_{number}", 1, "", d)
		b := warehouse.EnvironmentName(long+"y_{number}", 1, "", d)
		if a == b || len(a) > d.MaxIdentifierLength() || len(b) > d.MaxIdentifierLength() {
			t.Fatalf("names %q and %q: collide or exceed %d", a, b, d.MaxIdentifierLength())
		}
		for _, env := range []string{a, b} {
			t.Cleanup(func() { w.DropEnvironment(context.Background(), env) })
			must(t, w.CreateEnvironment(ctx, env, warehouse.EnvironmentMarker{PR: 1}))
		}
		envs, err := w.ListEnvironments(ctx)
		must(t, err)
		var got []string
		for _, e := range envs {
			got = append(got, e.Schema)
		}
		want := []string{a, b}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("ListEnvironments = %q, want %q (names must survive unchanged)", got, want)
		}
		// Over the limit is refused, not silently truncated.
		if err := w.CreateEnvironment(ctx, strings.Repeat("z", d.MaxIdentifierLength()+1), warehouse.EnvironmentMarker{PR: 1}); err == nil {
			t.Error("CreateEnvironment accepted a name over the limit")
		}
	})
}

func TestOutputColumns(t *testing.T) {
	const query = `SELECT 1::integer AS i, 2::bigint AS b, 1.5::numeric(10,2) AS n, 'x'::text AS t,
		CAST('2020-01-02 03:04:05' AS timestamp) AS ts, true AS ok`
	want := map[string][]string{
		"duckdb":   {"integer", "bigint", "decimal(10,2)", "varchar", "timestamp", "boolean"},
		"postgres": {"integer", "bigint", "numeric(10,2)", "text", "timestamp without time zone", "boolean"},
	}
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		cols, err := w.OutputColumns(ctx, query)
		must(t, err)
		var names, types []string
		for _, c := range cols {
			names = append(names, c.Name)
			types = append(types, c.Type)
		}
		if !slices.Equal(names, []string{"i", "b", "n", "t", "ts", "ok"}) {
			t.Errorf("names = %q", names)
		}
		if exp := want[w.Dialect().Name()]; !slices.Equal(types, exp) {
			t.Errorf("types = %q, want %q", types, exp)
		}
	})
}

func TestDryRunBuildsNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		d := w.Dialect()
		schema := warehousetest.Schema(t, w)
		victim := warehouse.Relation{Schema: schema, Name: "victim"}
		must(t, w.Exec(ctx, "CREATE TABLE "+d.QuoteRelation(victim)+" (id integer)"))
		made := warehouse.Relation{Schema: schema, Name: "made"}
		inputs := []string{
			"SELECT 1; DROP TABLE " + d.QuoteRelation(victim),
			"DROP TABLE " + d.QuoteRelation(victim),
			"CREATE TABLE " + d.QuoteRelation(made) + " AS SELECT 1 AS x",
		}
		for _, in := range inputs {
			for name, fn := range map[string]func() error{
				"Explain":       func() error { _, err := w.Explain(ctx, in); return err },
				"OutputColumns": func() error { _, err := w.OutputColumns(ctx, in); return err },
			} {
				if err := fn(); !errors.Is(err, warehouse.ErrNotSelect) {
					t.Errorf("%s(%q) error = %v, want ErrNotSelect", name, in, err)
				}
			}
		}
		if ok, _ := w.RelationExists(ctx, victim); !ok {
			t.Error("dry-run dropped a table")
		}
		if ok, _ := w.RelationExists(ctx, made); ok {
			t.Error("dry-run created a table")
		}
	})
}

func TestExplain(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		d := w.Dialect()
		schema := warehousetest.Schema(t, w)
		rel := warehouse.Relation{Schema: schema, Name: "orders"}
		must(t, w.Exec(ctx, "CREATE TABLE "+d.QuoteRelation(rel)+" (id integer, amount numeric(10,2))"))
		plan, err := w.Explain(ctx, "SELECT id, sum(amount) FROM "+d.QuoteRelation(rel)+" GROUP BY id")
		must(t, err)
		if !strings.Contains(strings.ToLower(plan), "scan") {
			t.Errorf("plan has no scan:\n%s", plan)
		}
	})
}

func TestSQLErrorPosition(t *testing.T) {
	tests := []struct {
		name, query, at string // at: the text the position must point to
	}{
		{"syntax", "selec 1", "selec"},
		{"missing table", "select 1 from nope_table", "nope_table"},
		{"third line", "select 1,\n  2 from\n nope_table", "nope_table"},
		{"after unicode", "select 'éü', nope_col", "nope_col"},
	}
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for call, fn := range map[string]func() error{
					"Exec":          func() error { return w.Exec(ctx, tt.query) },
					"Explain":       func() error { _, err := w.Explain(ctx, tt.query); return err },
					"OutputColumns": func() error { _, err := w.OutputColumns(ctx, tt.query); return err },
				} {
					var se *warehouse.SQLError
					if err := fn(); !errors.As(err, &se) {
						t.Fatalf("%s error = %v, want *SQLError", call, err)
					}
					want := len([]rune(tt.query[:strings.Index(tt.query, tt.at)])) + 1
					if se.Position != want {
						t.Errorf("%s position = %d, want %d (%v)", call, se.Position, want, se)
					}
					if se.Query != tt.query {
						t.Errorf("%s query = %q, want the caller's SQL", call, se.Query)
					}
				}
			})
		}
	})
}

func TestInTransaction(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		d := w.Dialect()
		schema := warehousetest.Schema(t, w)
		rel := func(n string) string { return d.QuoteRelation(warehouse.Relation{Schema: schema, Name: n}) }
		exists := func(n string) bool {
			ok, err := w.RelationExists(ctx, warehouse.Relation{Schema: schema, Name: n})
			must(t, err)
			return ok
		}

		boom := errors.New("boom")
		err := w.InTransaction(ctx, func(tx warehouse.Execer) error {
			must(t, tx.Exec(ctx, "CREATE TABLE "+rel("rolled_back")+" (id integer)"))
			return boom
		})
		if !errors.Is(err, boom) || exists("rolled_back") {
			t.Errorf("rollback: err = %v, table exists = %v", err, exists("rolled_back"))
		}

		// An atomic swap: the new version replaces the old one in one step.
		must(t, w.Exec(ctx, "CREATE TABLE "+rel("orders")+" AS SELECT 1 AS version"))
		must(t, w.Exec(ctx, "CREATE TABLE "+rel("orders_new")+" AS SELECT 2 AS version"))
		must(t, w.InTransaction(ctx, func(tx warehouse.Execer) error {
			if err := tx.Exec(ctx, "DROP TABLE "+rel("orders")); err != nil {
				return err
			}
			return tx.Exec(ctx, "ALTER TABLE "+rel("orders_new")+" RENAME TO "+d.QuoteIdent("orders"))
		}))
		rows, err := w.Query(ctx, "SELECT version FROM "+rel("orders"))
		must(t, err)
		if len(rows.Values) != 1 || fmt.Sprint(rows.Values[0][0]) != "2" || exists("orders_new") {
			t.Errorf("after swap: %v, orders_new exists = %v", rows.Values, exists("orders_new"))
		}
	})
}

func TestQueryLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		rows, err := w.QueryLimit(ctx, 3, "SELECT * FROM generate_series(1, 10) AS g(n)")
		must(t, err)
		if len(rows.Values) != 3 || !rows.Truncated || !slices.Equal(rows.Columns, []string{"n"}) {
			t.Errorf("QueryLimit(3) = %d rows, truncated %v, columns %q", len(rows.Values), rows.Truncated, rows.Columns)
		}
		rows, err = w.QueryLimit(ctx, 10, "SELECT * FROM generate_series(1, 10) AS g(n)")
		must(t, err)
		if len(rows.Values) != 10 || rows.Truncated {
			t.Errorf("QueryLimit(10) = %d rows, truncated %v", len(rows.Values), rows.Truncated)
		}
	})
}

func TestOpenUnknownScheme(t *testing.T) {
	tests := []struct{ name, dsn, want string }{
		{"unknown scheme", "mysql://root:hunter2@db/x", `unsupported scheme "mysql"`},
		{"no scheme", "/tmp/file.duckdb", "has no scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := warehouse.Open(context.Background(), tt.dsn)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			for _, s := range []string{tt.want, "duckdb, postgres, postgresql"} {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error leaks the password: %q", msg)
			}
		})
	}
}

func TestOpenDispatch(t *testing.T) {
	ctx := ctxT(t)
	w, err := warehouse.Open(ctx, "duckdb://")
	must(t, err)
	defer w.Close()
	if w.Dialect().Name() != "duckdb" {
		t.Errorf("duckdb:// opened %s", w.Dialect().Name())
	}
}
