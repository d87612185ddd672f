package bot_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/sandbox"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// The contained compile's child is this test binary, run again.
func TestMain(m *testing.M) {
	if status, ok := sandbox.Child(); ok {
		os.Exit(status)
	}
	os.Exit(m.Run())
}

// TestChildCompileQueries: a pull request's templates that query while
// compiling (run_query, statement blocks, a relation's columns) compile in
// the child as in the process: their queries come back to the job's
// warehouse, and read production. PostgreSQL and DuckDB.
func TestChildCompileQueries(t *testing.T) {
	files := []project.File{
		{Path: "dbt_project.yml", Content: []byte("name: p\n")},
		{Path: "models/statuses.sql", Content: []byte("select 'placed' as status union all select 'shipped'")},
		{Path: "models/pivot.sql", Content: []byte(`{%- set rows = run_query("select status from " ~ ref('statuses') ~ " order by 1") -%}
select
{%- if execute %}{%- for status in rows.columns[0].values() %}
    sum(case when status = '{{ status }}' then 1 else 0 end) as {{ status }}_orders{{ "," if not loop.last }}
{%- endfor %}{%- endif %}
from {{ ref('statuses') }}`)},
		{Path: "models/columns.sql", Content: []byte(`{%- set cols = adapter.get_columns_in_relation(ref('statuses')) -%}
select {% for c in cols %}{{ adapter.quote(c.name) }}{% endfor %} from {{ ref('statuses') }}`)},
		{Path: "models/statement.sql", Content: []byte(`-- depends_on: {{ ref('statuses') }}
{%- call statement('n', fetch_result=True) -%}select count(*) as n from {{ ref('statuses') }}{%- endcall -%}
select {{ load_result('n')['data'][0][0] if execute else 0 }} as statuses`)},
	}
	for name, open := range map[string]func(t *testing.T) warehouse.Warehouse{
		"duckdb":   func(t *testing.T) warehouse.Warehouse { return warehousetest.DuckDB(t) },
		"postgres": func(t *testing.T) warehouse.Warehouse { w, _ := warehousetest.PostgresDatabase(t); return w },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := open(t)
			prod := project.Target{Name: "prod", Schema: "analytics", Type: w.Dialect().Name()}
			env := project.Target{Name: "pr_1", Schema: "pr_1", Type: w.Dialect().Name()}
			p, ds := project.LoadFiles("p", files)
			if p == nil {
				t.Fatal(ds)
			}
			m, ds := project.Compile(ctx, p, project.Options{Target: prod})
			all, _ := m.Select("statuses", nil)
			if res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
				t.Fatalf("production: %v", err)
			}
			opts := project.Options{Target: env, Warehouse: build.CompileWarehouse(w), QueryTarget: &prod}
			p, _ = project.LoadFiles("p", files)
			here, ds := project.Compile(ctx, p, opts)
			if len(ds) > 0 {
				t.Fatal(ds)
			}
			sb := &sandbox.Compiler{Memory: 1 << 30, Timeout: time.Minute}
			defer sb.Close()
			there, ds, err := bot.ChildCompiler{Sandbox: sb}.Compile(ctx, "p", files, opts)
			if err != nil || len(ds) > 0 {
				t.Fatalf("%v %v", err, ds)
			}
			for _, model := range []string{"pivot", "columns", "statement"} {
				a, _ := here.Lookup(model)
				b, ok := there.Lookup(model)
				if !ok || a.CompiledSQL != b.CompiledSQL {
					t.Errorf("%s in the child (%v):\n%s\nin the process:\n%s\nskipped: %+v", model, ok, b.CompiledSQL, a.CompiledSQL, there.Skipped)
				}
			}
		})
	}
}

// TestChildCompileKeepsAttribution: the bot compiles a pull request's head
// in a child and its base in the process; an error both have, in a model
// the pull request left alone, is still the base's (what the child sends
// back names the model and its source), and one in a model it changed is
// the pull request's.
func TestChildCompileKeepsAttribution(t *testing.T) {
	ctx := context.Background()
	base := []project.File{
		{Path: "dbt_project.yml", Content: []byte("name: p\n")},
		{Path: "models/legacy.sql", Content: []byte("select * from {{ ref('dropped') }}")},
		{Path: "models/child.sql", Content: []byte("select * from {{ ref('legacy') }}")},
		{Path: "models/ok.sql", Content: []byte("select 1 as id")},
	}
	opts := project.Options{Target: project.Target{Name: "pr_1", Schema: "pr_1", Type: "duckdb"}}
	p, _ := project.LoadFiles("p", base)
	bm, bds := project.Compile(ctx, p, opts)
	sb := &sandbox.Compiler{Memory: 1 << 30, Timeout: time.Minute}
	defer sb.Close()
	for _, tc := range []struct {
		name              string
		legacy            string
		existing, brought int
	}{
		{"left alone", "select * from {{ ref('dropped') }}", 1, 0},
		{"changed", "select id from {{ ref('dropped') }}", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := map[string]string{"models/legacy.sql": tc.legacy, "models/ok.sql": "select 2 as id"}
			var head []project.File
			for _, f := range base {
				if c, ok := changed[f.Path]; ok {
					f = project.File{Path: f.Path, Content: []byte(c)}
				}
				head = append(head, f)
			}
			hm, hds, err := bot.ChildCompiler{Sandbox: sb}.Compile(ctx, "p", head, opts)
			if err != nil || hm == nil {
				t.Fatalf("%v %v", err, hds)
			}
			a := plan.Attribute(bm, hm, bds, hds)
			if len(a.Existing) != tc.existing || len(a.Introduced) != tc.brought {
				t.Errorf("existing %v, brought %v", a.Existing, a.Introduced)
			}
			if hm.Skipped["model.p.child"] == nil || hm.Nodes["model.p.ok"] == nil {
				t.Errorf("what compiled in the child: %v, skipped %v", hm.Nodes, hm.Skipped)
			}
		})
	}
}
