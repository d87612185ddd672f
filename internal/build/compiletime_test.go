package build_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
)

// TestCompileTimeQueries: templates that query while compiling (run_query,
// statement blocks with load_result, adapter.get_columns_in_relation and
// get_relation) read a real warehouse through CompileWarehouse, relations
// resolved where the compile says (production, for a pull request);
// without a warehouse such a model is skipped as needing one and the rest
// compile.
func TestCompileTimeQueries(t *testing.T) {
	files := map[string]string{
		"dbt_project.yml":     "name: p\n",
		"models/statuses.sql": "select 'placed' as status union all select 'shipped'",
		"models/pivot.sql": `{%- set rows = run_query("select status from " ~ ref('statuses') ~ " order by 1") -%}
select
{%- if execute %}
{%- for status in rows.columns[0].values() %}
    sum(case when status = '{{ status }}' then 1 else 0 end) as {{ status }}_orders{{ "," if not loop.last }}
{%- endfor %}
{%- endif %}
from {{ ref('statuses') }}`,
		"models/columns.sql": `{%- set cols = adapter.get_columns_in_relation(ref('statuses')) -%}
select {% for c in cols %}{{ adapter.quote(c.name) }}{% endfor %} from {{ ref('statuses') }}`,
		"models/statement.sql": `-- depends_on: {{ ref('statuses') }}
{%- call statement('n', fetch_result=True) -%}select count(*) as n from {{ ref('statuses') }}{%- endcall -%}
{%- set n = load_result('n')['data'][0][0] if execute else 0 -%}
select {{ n }} as statuses{% if adapter.get_relation(this.database, 'no_such_schema', 'x') is none %}, 'absent' as probe{% endif %}`,
		"models/plain.sql": "select 1 as id",
	}
	var list []project.File
	for path, content := range files {
		list = append(list, project.File{Path: path, Content: []byte(content)})
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			prod := prodTarget(w)
			p, _ := project.LoadFiles("p", list)
			m := compileWith(t, p, project.Options{Target: prod})
			all, _ := m.Select("statuses", nil)
			run(t, build.Options{Manifest: m, Warehouse: w, Selection: all})

			env := envTarget(w, "pr_1")
			p, _ = project.LoadFiles("p", list)
			m = compileWith(t, p, project.Options{Target: env, Warehouse: build.CompileWarehouse(w), QueryTarget: &prod})
			want := map[string]string{
				"pivot":     "select\n    sum(case when status = 'placed' then 1 else 0 end) as placed_orders,\n    sum(case when status = 'shipped' then 1 else 0 end) as shipped_orders\nfrom \"pr_1\".\"statuses\"",
				"columns":   "select \"status\" from \"pr_1\".\"statuses\"",
				"statement": "-- depends_on: \"pr_1\".\"statuses\"select 2 as statuses, 'absent' as probe",
			}
			for name, sql := range want {
				n, ok := m.Lookup(name)
				if !ok {
					t.Fatalf("%s did not compile: %+v", name, m.Skipped)
				}
				if n.CompiledSQL != sql {
					t.Errorf("%s:\n%s\nwant:\n%s", name, n.CompiledSQL, sql)
				}
			}

			// A reference only a statement block makes cannot be known
			// before compiling: reported as dbt reports it.
			hidden := append([]project.File{{Path: "models/hidden.sql", Content: []byte(
				"{% call statement('x', fetch_result=True) %}select 1 from {{ ref('statuses') }}{% endcall %}select 1")}}, list...)
			p, _ = project.LoadFiles("p", hidden)
			_, ds := project.Compile(context.Background(), p, project.Options{Target: env, Warehouse: build.CompileWarehouse(w), QueryTarget: &prod})
			if len(ds) != 1 || !strings.Contains(ds[0].Message, "hidden uses statuses only when compiling") || !strings.Contains(ds[0].Hint, "-- depends_on: {{ ref('statuses') }}") {
				t.Errorf("hidden reference: %v", ds)
			}

			p, _ = project.LoadFiles("p", list)
			m, ds = project.Compile(context.Background(), p, project.Options{Target: env})
			if len(ds) > 0 {
				t.Fatalf("needing a warehouse is no error: %v", ds)
			}
			for _, name := range []string{"pivot", "columns", "statement"} {
				s := m.Skipped["model.p."+name]
				if s == nil || s.Cause != project.CauseWarehouse || !strings.Contains(s.Reason, "needs a warehouse") {
					t.Errorf("%s without a warehouse: %+v", name, s)
				}
			}
			if _, ok := m.Lookup("plain"); !ok {
				t.Error("the rest compiles")
			}
		})
	}
}

func compileWith(t *testing.T, p *project.Project, opts project.Options) *project.Manifest {
	t.Helper()
	m, ds := project.Compile(context.Background(), p, opts)
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	return m
}
