package project

import (
	"context"
	"testing"
)

// The fuzz targets feed arbitrary input to each parser the user controls.
// They assert what must hold for every input: no panic, and the partial
// result is consistent (see checkPartial).

func compileForFuzz(t *testing.T, files map[string]string) {
	t.Helper()
	m, ds := compileFiles(t, files, Target{})
	if m == nil {
		if len(ds.Errors()) == 0 {
			t.Fatal("no manifest and no error")
		}
		return
	}
	checkPartial(t, m, ds)
}

func FuzzCompileModel(f *testing.F) {
	seeds := []string{
		"select 1",
		"select * from {{ ref('b') }}",
		"{{ config(materialized='table', unique_key=['a','b']) }}select {{ var('x', 1) }}",
		"{% if is_incremental() %}{{ this }}{% endif %}",
		"{% for i in range(3) %}{{ i }}{% endfor %}",
		"{% macro m(a, b=2) %}{{ a }}{{ caller() }}{% endmacro %}{% call m(1) %}x{% endcall %}",
		"{% set x %}y{% endset %}{{ x }}",
		"{{ source('raw', 'orders') }} {{ ref('p', 'b') }}",
		"{%- if true -%} {#- c -#} {%- endif -%}",
		"{{ config(materialized=1) }}{{ config(tags={'a': 1}) }}",
		"{{ ref(ref) }}{{ ref() }}{{ var() }}{{ this.name }}{{ this.schema }}",
		"{% if %}", "{{", "{% for %}", "{% endif %}", "{% raw %}{{ x }}", "\xff\xfe",
		"{{ adapter.dispatch('x', 'p')() }}{{ dbt.dateadd('day', 1, 'd') }}{{ p.helper(1) }}",
		"{% if execute %}{{ config.get('materialized') }}{{ ref('b').schema }}{{ graph.nodes | length }}{% endif %}",
		"{% set r = run_query('select 1') %}{% call statement('s') %}select 1{% endcall %}{{ load_result('s') }}",
		"{% test t(model) %}select 1{% endtest %}{{ tojson({'a': [1]}) }}{{ modules.datetime.date.today() }}",
		"{{ return(1) }}{{ exceptions.raise_compiler_error('no') }}",
		"{{ (modules.datetime.date(2024, 1, 2) - modules.datetime.timedelta(days=1)) < modules.datetime.date.today() }}",
		"{{ -modules.datetime.timedelta(hours=1) // 2 }}{{ run_started_at - modules.datetime.timedelta(weeks=1) }}",
		"{{ dbt_date.today() }}{{ nopkg . x }}",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		compileForFuzz(t, map[string]string{
			"models/a.sql": sql,
			"models/b.sql": "select 1 as id",
			"macros/m.sql": "{% macro helper(x) %}{{ x }}{% endmacro %}",
			"models/s.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n",
		})
	})
}

func FuzzPropertiesYAML(f *testing.F) {
	seeds := []string{
		"version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        tests: [unique, not_null]\n",
		"models:\n  - name: a\n    config: {materialized: table, tags: x}\n",
		"models:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - relationships: {to: ref('a'), field: id}\n          - accepted_values: {values: [1, 2], quote: false}\n",
		"sources:\n  - name: raw\n    schema: '{{ var(\"s\", \"raw\") }}'\n    tables:\n      - name: t\n        identifier: T\n        columns: [{name: c, tests: [unique]}]\n",
		"seeds:\n  - name: s\n    config: {column_types: {id: int}}\n",
		"models: 3", "- a\n- b", "models:\n  - 1\n  - [x]\n", ": :", "models:\n  - name: a\n    tests:\n      - unique: [1]\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, yml string) {
		compileForFuzz(t, map[string]string{
			"models/a.sql":     "select 1 as id",
			"seeds/s.csv":      "id\n1\n",
			"models/props.yml": yml,
		})
	})
}

func FuzzProjectFile(f *testing.F) {
	seeds := []string{
		"name: p\n",
		"name: p\nmodels:\n  p:\n    +materialized: table\n    staging:\n      +tags: [a]\n      +schema: \"{{ var('x', 'y') }}\"\n",
		"name: p\nvars: {a: 1}\nmodel-paths: [models, more]\n",
		"name: p\nseeds:\n  p:\n    +column_types: {id: int}\n",
		"name: [1]\n", "vars: 3\nname: p\n", "name: p\nmodel-paths: 3\n", "", "name: p\nmodels:\n  p:\n    +enabled: maybe\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, project string) {
		compileForFuzz(t, map[string]string{
			projectFile:            project,
			"models/a.sql":         "select 1 as id",
			"models/staging/b.sql": "select * from {{ ref('a') }}",
		})
	})
}

func FuzzSelect(f *testing.F) {
	m := mustCompileForFuzz(f)
	for _, s := range []string{"a", "+b", "a+", "2+b+1", "@a", "tag:x,path:models", "a b,c", "config.materialized:table", "file:a.sql", "test_type:generic", "test_name:u*", "state:modified", "+", "@", "1+", ":", "a,,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		sel, err := m.Select(expr, nil)
		if err == nil {
			for id := range sel {
				if m.Nodes[id] == nil {
					t.Fatalf("selected unknown node %q", id)
				}
			}
		}
	})
}

func mustCompileForFuzz(f *testing.F) *Manifest {
	var list []File
	for path, content := range map[string]string{
		projectFile:    "name: p\n",
		"models/a.sql": "{{ config(tags=['x']) }}select 1 as id",
		"models/b.sql": "select * from {{ ref('a') }}",
		"models/c.sql": "select * from {{ ref('b') }}",
	} {
		list = append(list, File{Path: path, Content: []byte(content)})
	}
	p, _ := LoadFiles("p", list)
	m, ds := Compile(context.Background(), p, Options{Target: Target{Name: "dev", Schema: "main", Type: "duckdb"}})
	if len(ds) > 0 {
		f.Fatal(ds)
	}
	return m
}
