package project

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// compileFiles compiles an in-memory project; files maps paths to content
// and gets a minimal dbt_project.yml unless it has one.
func compileFiles(t *testing.T, files map[string]string, target Target) (*Manifest, Diagnostics) {
	t.Helper()
	if target.Name == "" {
		target = Target{Name: "dev", Schema: "main", Type: "duckdb"}
	}
	return compileOpts(t, files, Options{Target: target})
}

func mustCompile(t *testing.T, files map[string]string, target Target) *Manifest {
	t.Helper()
	m, ds := compileFiles(t, files, target)
	if len(ds) > 0 {
		t.Fatalf("unexpected problems:\n%v", ds)
	}
	return m
}

func TestJinjaFeatures(t *testing.T) {
	t.Setenv("DATAOPS_TEST_ENV", "from-env")
	base := map[string]string{
		"models/b.sql":   "select 1 as id",
		"macros/m.sql":   "{% macro cents(col, scale=2) %}round({{ col }} / 100.0, {{ scale }}){% endmacro %}\n{% macro twice(x) %}{{ cents(x) }} + {{ cents(x) }}{% endmacro %}",
		"macros/box.sql": "{% macro wrap(alias) %}select * from ({{ caller() }}) as {{ alias }}{% endmacro %}",
	}
	tests := []struct {
		name string
		sql  string
		want string
	}{
		{"ref", "select * from {{ ref('b') }}", `select * from "main"."b"`},
		{"ref with package", "select * from {{ ref('p', 'b') }}", `select * from "main"."b"`},
		{"ref attributes", "{{ ref('b').name }}", `b`},
		{"source", "select * from {{ source('raw', 'orders') }}", `select * from "raw_data"."orders_tbl"`},
		{"this", "{{ this }}", `"main"."a"`},
		{"config prints nothing", "{{ config(materialized='table') }}select 1", "select 1"},
		{"var from project", "{{ var('region') }}", "eu"},
		{"var default", "{{ var('missing', 'fallback') }}", "fallback"},
		{"env_var", "{{ env_var('DATAOPS_TEST_ENV') }}", "from-env"},
		{"env_var default", "{{ env_var('DATAOPS_TEST_UNSET_VAR', 'd') }}", "d"},
		{"target", "{{ target.name }} {{ target.schema }} {{ target.type }}", "dev main duckdb"},
		{"is_incremental false when compiling", "{% if is_incremental() %}inc{% else %}full{% endif %}", "full"},
		{"set and for", "{% set cols = ['a', 'b'] %}{% for c in cols %}{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}", "a, b"},
		{"if elif else", "{% if 1 > 2 %}x{% elif 2 > 1 %}y{% else %}z{% endif %}", "y"},
		{"project macro with default", "{{ cents('amount') }}", "round(amount / 100.0, 2)"},
		{"macro keyword argument", "{{ cents('amount', scale=0) }}", "round(amount / 100.0, 0)"},
		{"macro calling macro", "{{ twice('x') }}", "round(x / 100.0, 2) + round(x / 100.0, 2)"},
		{"local macro", "{% macro hi(n) %}hi {{ n }}{% endmacro %}{{ hi('there') }}", "hi there"},
		{"call block", "{% call wrap('t') %}select 1{% endcall %}", "select * from (select 1) as t"},
		{"whitespace control", "select\n    {%- if true %}\n  1\n    {%- endif %}", "select\n  1"},
		{"comment with trim", "select 1 {#- note -#} as x", "select 1as x"},
		{"filters", "{{ 'ABC' | lower }} {{ ['a','b'] | join('-') }}", "abc a-b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"models/a.sql": tc.sql,
				"models/sources.yml": "version: 2\nsources:\n  - name: raw\n    schema: raw_data\n    tables:\n      - name: orders\n        identifier: orders_tbl\n"}
			for k, v := range base {
				files[k] = v
			}
			m := mustCompile(t, files, Target{})
			n, _ := m.Lookup("a")
			if got := strings.TrimSpace(n.CompiledSQL); got != tc.want {
				t.Errorf("compiled:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestDependenciesAndConfig(t *testing.T) {
	files := map[string]string{
		projectFile: `name: p
vars: {cutoff: 3}
models:
  p:
    +tags: [all]
    marts:
      +materialized: table
      +tags: [marts]
      special:
        +schema: custom
`,
		"models/stg.sql":           "select 1 as id",
		"models/marts/fct.sql":     "{{ config(tags=['daily'], unique_key='id') }}select * from {{ ref('stg') }} where id < {{ var('cutoff') }}",
		"models/marts/special.sql": "{{ config(materialized='incremental') }}select {{ helper() }} from {{ ref('fct') }}{% if is_incremental() %} where id > (select max(id) from {{ this }}){% endif %}",
		"models/props.yml":         "version: 2\nmodels:\n  - name: fct\n    config:\n      materialized: view\n",
		"macros/h.sql":             "{% macro helper() %}1{% endmacro %}",
	}
	m := mustCompile(t, files, Target{Name: "prod", Schema: "analytics", Type: "postgres"})
	fct, _ := m.Lookup("fct")
	if fct.Config.Materialized != "view" {
		t.Errorf("properties YAML should override the project tree: materialized = %q", fct.Config.Materialized)
	}
	if got := strings.Join(fct.Config.Tags, ","); got != "all,marts,daily" {
		t.Errorf("tags accumulate across levels: got %s", got)
	}
	if got := strings.Join(fct.Config.UniqueKey, ","); got != "id" {
		t.Errorf("unique_key = %q", got)
	}
	if got := strings.Join(fct.DependsOn.Vars, ","); got != "cutoff" {
		t.Errorf("vars used = %q", got)
	}
	special, _ := m.Lookup("special")
	if special.Relation != (Relation{Schema: "custom", Name: "special"}) {
		t.Errorf("production target uses the custom schema as is: %+v", special.Relation)
	}
	if got := strings.Join(special.DependsOn.Macros, ","); got != "helper" {
		t.Errorf("macros used = %q", got)
	}
	if !strings.Contains(special.IncrementalSQL, `where id > (select max(id) from "custom"."special")`) {
		t.Errorf("incremental SQL lacks its filter:\n%s", special.IncrementalSQL)
	}
	if strings.Contains(special.CompiledSQL, "max(id)") {
		t.Errorf("full-refresh SQL must not hold the incremental filter:\n%s", special.CompiledSQL)
	}
	if !strings.Contains(special.CompiledSQL, `from "analytics"."fct"`) {
		t.Errorf("ref should point at fct's relation in analytics:\n%s", special.CompiledSQL)
	}
	dev := mustCompile(t, files, Target{Name: "pr_7", Schema: "pr_7", Type: "duckdb"})
	special, _ = dev.Lookup("special")
	if special.Relation.Schema != "pr_7" {
		t.Errorf("an environment keeps every model in its one schema: %+v", special.Relation)
	}
	if got, want := m.Parents(special.UniqueID), []string{"model.p.fct"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("parents = %v", got)
	}
}

func TestEphemeralInlining(t *testing.T) {
	files := map[string]string{
		"models/e1.sql":     "{{ config(materialized='ephemeral') }}select 1 as id",
		"models/e2.sql":     "{{ config(materialized='ephemeral') }}select id from {{ ref('e1') }}",
		"models/plain.sql":  "select id from {{ ref('e2') }}",
		"models/withs.sql":  "-- leading comment\nwith x as (select 1 as id)\nselect * from x join {{ ref('e1') }} using (id)",
		"models/twice.sql":  "select * from {{ ref('e1') }} union all select * from {{ ref('e2') }}",
		"models/nocte.sql":  "select 2",
		"models/refeph.sql": "select * from {{ ref('plain') }}",
	}
	m := mustCompile(t, files, Target{})
	tests := []struct {
		model string
		want  string
	}{
		{"plain", "with __dbt__cte__e1 as (\nselect 1 as id\n),  __dbt__cte__e2 as (\nselect id from __dbt__cte__e1\n)select id from __dbt__cte__e2"},
		{"withs", "-- leading comment\nwith  __dbt__cte__e1 as (\nselect 1 as id\n),x as (select 1 as id)\nselect * from x join __dbt__cte__e1 using (id)"},
		{"twice", "with __dbt__cte__e1 as (\nselect 1 as id\n),  __dbt__cte__e2 as (\nselect id from __dbt__cte__e1\n)select * from __dbt__cte__e1 union all select * from __dbt__cte__e2"},
		{"refeph", `select * from "main"."plain"`},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			n, _ := m.Lookup(tc.model)
			if n.CompiledSQL != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", n.CompiledSQL, tc.want)
			}
			if len(n.LineMap) != strings.Count(n.CompiledSQL, "\n")+1 {
				t.Errorf("line map has %d entries for %d lines", len(n.LineMap), strings.Count(n.CompiledSQL, "\n")+1)
			}
		})
	}
}

func TestLineMap(t *testing.T) {
	tests := []struct {
		name     string
		source   string
		rendered string
		want     []int
	}{
		{"verbatim", "select\n  a\nfrom t", "select\n  a\nfrom t", []int{1, 2, 3}},
		{"expression line", "select\n  {{ x }} as a\nfrom t", "select\n  round(a) as a\nfrom t", []int{1, 2, 3}},
		{"config line becomes blank", "{{ config(materialized='table') }}\nselect 1\nfrom t", "\nselect 1\nfrom t", []int{0, 2, 3}},
		{"block lines vanish", "select\n{% if true %}\n  a\n{% endif %}\nfrom t", "select\n\n  a\n\nfrom t", []int{1, 0, 3, 0, 5}},
		{"macro output spans lines", "select\n  {{ m() }} as x,\n  b\nfrom t", "select\n  case\n    when 1 end as x,\n  b\nfrom t", []int{1, 2, 2, 3, 4}},
		{"loop repeats its body", "select\n{% for c in cs %}\n  {{ c }},\n  x\n{% endfor %}\nfrom t", "select\n\n  a,\n  x\n\n  b,\n  x\n\nfrom t", []int{1, 0, 3, 4, 0, 3, 4, 0, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := lineMapFor(tc.source, tc.rendered)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v want %v", got, tc.want)
			}
		})
	}
}

func TestGenericTests(t *testing.T) {
	files := map[string]string{
		"models/customers.sql": "select 1 as id, 'a' as status",
		"models/orders.sql":    "select 1 as id, 1 as customer_id",
		"models/props.yml": `version: 2
models:
  - name: customers
    columns:
      - name: id
        tests: [unique, not_null]
      - name: status
        data_tests:
          - accepted_values:
              values: ['a', "it's"]
              config: {severity: warn, where: "id > 0"}
  - name: orders
    columns:
      - name: customer_id
        tests:
          - relationships:
              arguments: {to: ref('customers'), field: id}
`,
	}
	m := mustCompile(t, files, Target{})
	want := map[string]string{
		"test.p.unique_customers_id":                                  "select \"id\" as unique_field, count(*) as n_records\nfrom \"main\".\"customers\"\nwhere \"id\" is not null\ngroup by \"id\"\nhaving count(*) > 1",
		"test.p.not_null_customers_id":                                "select \"id\"\nfrom \"main\".\"customers\"\nwhere \"id\" is null",
		"test.p.accepted_values_customers_status__a__it_s":            "with all_values as (\n    select \"status\" as value_field, count(*) as n_records\n    from (select * from \"main\".\"customers\" where id > 0) dbt_subquery\n    group by \"status\"\n)\nselect value_field, n_records\nfrom all_values\nwhere value_field not in ('a', 'it''s')",
		"test.p.relationships_orders_customer_id__id__ref_customers_": "with child as (\n    select \"customer_id\" as from_field\n    from \"main\".\"orders\"\n    where \"customer_id\" is not null\n),\nparent as (\n    select \"id\" as to_field\n    from \"main\".\"customers\"\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null",
	}
	var ids []string
	for id, n := range m.Nodes {
		if n.Kind == KindTest {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) != len(want) {
		t.Fatalf("tests = %v", ids)
	}
	for id, sql := range want {
		n := m.Nodes[id]
		if n == nil {
			t.Errorf("missing %s; have %v", id, ids)
			continue
		}
		if n.CompiledSQL != sql {
			t.Errorf("%s:\n%s\nwant:\n%s", id, n.CompiledSQL, sql)
		}
	}
	if sev := m.Nodes["test.p.accepted_values_customers_status__a__it_s"].Config.Severity; sev != "warn" {
		t.Errorf("severity = %q", sev)
	}
	rel := m.Nodes["test.p.relationships_orders_customer_id__id__ref_customers_"]
	if strings.Join(rel.DependsOn.Nodes, ",") != "model.p.customers,model.p.orders" {
		t.Errorf("a relationships test depends on both models: %v", rel.DependsOn.Nodes)
	}
}

func TestSelect(t *testing.T) {
	// a -> b -> c, a -> d, seed s -> b; tags and folders to select by.
	files := map[string]string{
		"models/staging/a.sql": "{{ config(tags=['nightly']) }}select 1 as id",
		"models/staging/d.sql": "select * from {{ ref('a') }}",
		"models/marts/b.sql":   "{{ config(tags=['nightly', 'finance']) }}select * from {{ ref('a') }} join {{ ref('s') }} using (id)",
		"models/marts/c.sql":   "{{ config(materialized='table') }}select * from {{ ref('b') }}",
		"seeds/s.csv":          "id\n1\n",
		"models/props.yml":     "version: 2\nmodels:\n  - name: c\n    columns:\n      - name: id\n        tests: [unique]\n",
		"tests/c_positive.sql": "select * from {{ ref('c') }} where id < 0",
	}
	m := mustCompile(t, files, Target{})
	tests := []struct {
		expr string
		want string
	}{
		{"b", "b"},
		{"+b", "a,b,s"},
		{"b+", "b,c,c_positive,unique_c_id"},
		{"a+1", "a,b,d"},
		{"1+c", "b,c"},
		{"2+c", "a,b,c,s"},
		{"@b", "a,b,c,c_positive,s,unique_c_id"},
		{"@d", "a,d"},
		{"package:p,tag:finance", "b"},
		{"tag:nightly", "a,b"},
		{"tag:nightly,tag:finance", "b"},
		{"tag:nightly tag:finance", "a,b"},
		{"path:models/marts", "b,c"},
		{"models/staging", "a,d"},
		{"path:models/marts,config.materialized:table", "c"},
		{"resource_type:seed", "s"},
		{"*a*", "a"},
		{"a d", "a,d"},
		{"unique_c_id", "unique_c_id"},
		{"file:b.sql", "b"},
		{"file:models/staging/d.sql", "d"},
		{"test_type:generic", "unique_c_id"},
		{"test_type:singular", "c_positive"},
		{"test_type:data", "c_positive"},
		{"test_name:unique", "unique_c_id"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			sel, err := m.Select(tc.expr, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for id := range sel {
				names = append(names, m.Nodes[id].Name)
			}
			sort.Strings(names)
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("got %s want %s", got, tc.want)
			}
		})
	}
	bad := []struct{ expr, wantErr string }{
		{"bb", `selector "bb" matches no model, seed or test (did you mean 'b'?)`},
		{"tga:x", `unknown selector method "tga" (did you mean 'tag'?)`},
		{"a++", "expected"},
		{"tag:nigthly", `selector "tag:nigthly" matches no tag (did you mean 'nightly'?)`},
		{"path:models/mart", `selector "path:models/mart" matches no file or folder (did you mean 'models/marts'?)`},
		{"config.materialized:tabel", `matches no node with materialized tabel (did you mean 'table'?)`},
		{"resource_type:modle", `matches no resource type (did you mean 'model'?)`},
		{"package:q", `matches no package (did you mean 'p'?)`},
		// Nothing close: the few values there are.
		{"tag:weekly", `selector "tag:weekly" matches no tag (the project has 'finance' or 'nightly')`},
		{"config.materialized:snapshot", `(the project has 'seed', 'table', 'test' or 'view')`},
		{"file:e.sql", `selector "file:e.sql" matches no file (did you mean 'a.sql', 'b.sql' or 'c.sql'?)`},
		{"test_name:not_null", `matches no test (the project has 'unique')`},
		{"test_type:gneric", `test_type is generic, singular or unit (did you mean 'generic'?)`},
		{"state:modified", "compares with a base revision: give one with dataops build --base REV"},
		{"exposure:weekly", `dbt's selector method "exposure" is not supported by dataops; the methods are config.materialized, file,`},
	}
	for _, tc := range bad {
		t.Run("error "+tc.expr, func(t *testing.T) {
			_, err := m.Select(tc.expr, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	t.Run("tests follow their models", func(t *testing.T) {
		sel, _ := m.Select("c", nil)
		sel = m.WithTests(sel)
		if !sel["test.p.unique_c_id"] {
			t.Errorf("selecting c should bring its test: %v", sel)
		}
	})
	t.Run("order is topological", func(t *testing.T) {
		sel, _ := m.Select("", nil)
		pos := map[string]int{}
		for i, id := range m.IDs(sel) {
			pos[id] = i
		}
		for id := range sel {
			for _, p := range m.Parents(id) {
				if pos[p] > pos[id] {
					t.Errorf("%s comes before its parent %s", id, p)
				}
			}
		}
	})
}

func TestResolversAndHooks(t *testing.T) {
	files := map[string]string{
		projectFile:             "name: p\nmodels:\n  p:\n    marts:\n      +schema: marts\n",
		"models/up.sql":         "select 1 as id",
		"models/marts/down.sql": "{{ config(post_hook=['analyze {{ this }}'], pre_hook='select count(*) from {{ ref(\"up\") }}') }}\nselect * from {{ ref('up') }}",
	}
	m := mustCompile(t, files, Target{Name: "pr_1", Schema: "pr_1", Type: "postgres"})
	up, _ := m.Lookup("up")
	down, _ := m.Lookup("down")
	prod := Target{Name: "prod", Schema: "analytics", Type: "postgres"}
	if got := m.RelationIn(down, prod); got != (Relation{Schema: "marts", Name: "down"}) {
		t.Errorf("production relation of down = %+v", got)
	}
	if got := m.RelationIn(up, prod); got != (Relation{Schema: "analytics", Name: "up"}) {
		t.Errorf("production relation of up = %+v", got)
	}
	deferUp := func(n *Node) Ref {
		if n == up {
			return Ref{Relation: m.RelationIn(n, prod)}
		}
		return Ref{Relation: n.Relation}
	}
	sql, _ := m.SQLFor(down, false, deferUp)
	if !strings.Contains(sql, `from "analytics"."up"`) {
		t.Errorf("deferred ref should read production:\n%s", sql)
	}
	inline := func(n *Node) Ref { return Ref{Inline: n == up, Relation: n.Relation} }
	sql, lineMap := m.SQLFor(down, false, inline)
	if want := "\nwith __dbt__cte__up as (\nselect 1 as id\n)select * from __dbt__cte__up"; sql != want {
		t.Errorf("inlined:\n%s\nwant:\n%s", sql, want)
	}
	if fmt.Sprint(lineMap) != "[0 0 0 2]" {
		t.Errorf("line map = %v", lineMap)
	}
	pre, post := m.Hooks(down, deferUp)
	if fmt.Sprint(pre) != `[select count(*) from "analytics"."up"]` || fmt.Sprint(post) != `[analyze "pr_1"."down"]` {
		t.Errorf("hooks: pre %v post %v", pre, post)
	}
}

func TestKey(t *testing.T) {
	m := mustCompile(t, map[string]string{
		"models/a.sql":     "{{ config(unique_key=['x', 'y']) }}select 1 as x, 2 as y",
		"models/b.sql":     "select 1 as id, 2 as code",
		"models/c.sql":     "select 1 as id",
		"models/props.yml": "version: 2\nmodels:\n  - name: b\n    columns:\n      - name: id\n        tests: [unique]\n      - name: code\n        tests: [unique, not_null]\n  - name: c\n    columns:\n      - name: id\n        tests:\n          - unique:\n              config: {where: \"id > 0\"}\n",
	}, Target{})
	for name, want := range map[string]string{"a": "x,y", "b": "code", "c": ""} {
		n, _ := m.Lookup(name)
		if got := strings.Join(m.Key(n), ","); got != want {
			t.Errorf("key of %s = %q, want %q", name, got, want)
		}
	}
}

// checkPartial checks what must hold of every compile's partial result:
// every diagnostic has a path and a message; every error that names a
// node skips it; every skipped node has a cause, and one skipped for its
// own errors has an error naming it; no compiled node depends on a node
// that is not compiled; nothing is both compiled and skipped.
func checkPartial(t *testing.T, m *Manifest, ds Diagnostics) {
	t.Helper()
	for _, d := range ds {
		if d.Path == "" || d.Message == "" {
			t.Fatalf("diagnostic without a path or message: %+v", d)
		}
		if d.Node != "" && !d.Warning && m.Skipped[d.Node] == nil {
			t.Fatalf("error for %s, which is not skipped: %v", d.Node, d)
		}
	}
	named := map[string]bool{}
	for _, d := range ds.Errors() {
		named[d.Node] = true
	}
	for id, s := range m.Skipped {
		if m.Nodes[id] != nil {
			t.Fatalf("%s is both compiled and skipped", id)
		}
		if s.Reason == "" || s.Cause == "" {
			t.Fatalf("skipped without a reason: %+v", s)
		}
		if s.Cause == CauseError && !named[id] {
			t.Fatalf("%s is skipped for errors that are not reported", id)
		}
	}
	for id, n := range m.Nodes {
		for _, p := range n.DependsOn.Nodes {
			if m.Nodes[p] == nil {
				t.Fatalf("%s depends on %s, which is not compiled", id, p)
			}
		}
	}
}
