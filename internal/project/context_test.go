package project

import (
	"context"
	"strings"
	"testing"
	"time"
)

// compileOpts compiles an in-memory project with options; files gets a
// minimal dbt_project.yml unless it has one. Load problems come back with
// the compile's, and a project that cannot load gives a nil Manifest.
func compileOpts(t *testing.T, files map[string]string, opts Options) (*Manifest, Diagnostics) {
	t.Helper()
	if _, ok := files[projectFile]; !ok {
		files[projectFile] = "name: p\nvars:\n  region: eu\n"
	}
	var list []File
	for path, content := range files {
		list = append(list, File{Path: path, Content: []byte(content)})
	}
	p, ds := LoadFiles("proj", list)
	if p == nil {
		return nil, ds
	}
	if opts.Target.Name == "" {
		opts.Target = Target{Name: "dev", Schema: "main", Type: "duckdb", Database: "dev"}
	}
	m, cds := Compile(context.Background(), p, opts)
	return m, append(ds, cds...)
}

// TestDBTContext: dbt's context as templates use it, each case against
// the output dbt gives; and the cases where the previous engine rendered
// wrong output without an error.
func TestDBTContext(t *testing.T) {
	started := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	base := map[string]string{
		"models/b.sql": "{{ config(schema='marts', alias='b_alias', materialized='table', meta={'owner': 'ana'}) }}select 1 as id",
		"macros/m.sql": `{% macro greet(who) %}{{ return('hello ' ~ who) }}{% endmacro %}
{% macro nested() %}{{ greet('x') | upper }}{% endmacro %}
{% macro cfg() %}{{ config.get('materialized') }}{% endmacro %}`,
	}
	tests := []struct{ name, sql, want string }{
		{"return from a macro", "{{ greet('you') }}", "hello you"},
		{"project_name.macro", "{{ p.greet('ns') }}", "hello ns"},
		{"dbt namespace", "{{ dbt.type_string() }} {{ dbt.concat(['a', 'b']) }}", "TEXT a || b"},
		{"config.get", "{{ config(materialized='incremental', unique_key='id') }}{{ config.get('materialized') }} {{ config.get('unique_key') }} {{ config.get('nope', 'dflt') }}", "incremental id dflt"},
		{"config.get in a macro", "{{ config(materialized='table') }}{{ cfg() }}", "table"},
		{"config.require", "{{ config(tags=['x']) }}{{ config.require('tags') }}", "['x']"},
		{"this parts", "{{ this.schema }}.{{ this.identifier }} {{ this.database }}", "main.a dev"},
		{"ref parts", "{{ ref('b').schema }}.{{ ref('b').identifier }} {{ ref('b').name }}", "main.b_alias b_alias"},
		{"ref renders", "{{ ref('b') }}", `"main"."b_alias"`},
		{"run_started_at", "{{ run_started_at }} {{ run_started_at.strftime('%Y-%m-%d') }}", "2024-05-06 07:08:09.123456+00:00 2024-05-06"},
		{"invocation_id", "{{ invocation_id }}", "0000-test"},
		{"execute", "{% if execute %}run{% else %}parse{% endif %}", "run"},
		{"undefined while parsing", "{% set r = {} if not execute else {'DATE': ['2020-01-01']} %}{{ r.DATE[0] }}", "2020-01-01"},
		{"model", "{{ model.name }} {{ model.resource_type }} {{ model.package_name }}", "a model p"},
		{"graph", "{% for n in graph.nodes.values() | selectattr('name', 'equalto', 'b') %}{{ n.config.materialized }} {{ n.config.meta.owner }}{% endfor %}", "table ana"},
		{"log and print", "{{ log('x', info=True) }}{{ print('y') }}z", "z"},
		{"exceptions.warn", "{% do exceptions.warn('careful') %}ok", "ok"},
		{"tojson", `{{ tojson({'b': 1, 'a': [True, None, 'é<']}) }}`, `{"b": 1, "a": [true, null, "\u00e9<"]}`},
		{"fromjson", `{{ fromjson('{"a": [1, 2.5]}')['a'][1] }}`, "2.5"},
		{"toyaml and fromyaml", "{{ fromyaml('a: [1, x]').a[1] }} {{ toyaml({'k': 'v'}) | trim }}", "x k: v"},
		{"zip", "{% for x, y in zip([1, 2], ['a', 'b']) %}{{ x }}{{ y }}{% endfor %}", "1a2b"},
		{"set", "{% set s = set(['a', 'b', 'a']) %}{{ s | length }} {{ 'a' in s }} {{ s.difference(['a']) | list }}", "2 True ['b']"},
		{"modules.datetime", "{{ modules.datetime.datetime(2024, 1, 31).strftime('%d/%m') }} {{ (modules.datetime.date(2024, 1, 2)).isoformat() }}", "31/01 2024-01-02"},
		{"modules.re", `{{ modules.re.sub('[^a-z]+', '_', 'A b-c') }} {{ modules.re.match('(\\w+)@', 'me@x').group(1) }}`, "_b_c me"},
		{"modules.itertools", "{% for a, b in modules.itertools.product([1, 2], ['x']) %}{{ a }}{{ b }} {% endfor %}", "1x 2x"},
		{"dispatch", "{{ adapter.dispatch('greeting', 'p')() }}", "duck"},
		{"adapter.quote", "{{ adapter.quote('my col') }}", `"my col"`},
		// The previous engine's silent wrong output (issue 12).
		{"token at column 0 in an expression", "{{ 'a' ~\n'b' }}", "ab"},
		{"newline before the name", "{{\nref('b') }}", `"main"."b_alias"`},
		{"format filter", "{{ '%s-%s' | format(1, 2) }}", "1-2"},
		{"dictsort and items", "{% for k, v in {'b': 2, 'a': 1} | dictsort %}{{ k }}{{ v }}{% endfor %} {% for k, v in {'x': 1}.items() %}{{ k }}{% endfor %}", "a1b2 x"},
		{"do d.update", "{% set d = {} %}{% do d.update({'k': 'v'}) %}{{ d.k }}", "v"},
		{"percent formatting", "{{ '%s' % 'x' }}", "x"},
		{"trailing commas", "{{ greet('t',) }} {{ {'a': 1,}['a'] }}", "hello t 1"},
		{"str.replace with two arguments", "{{ 'a.b'.replace('.', '_') }}", "a_b"},
		{"newline after {%-", "{%-\nset x = 1 %}{{ x }}", "1"},
		{"backslash escape", `{{ "a\.b" }}`, `a\.b`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"models/a.sql": tc.sql,
				"macros/disp.sql": "{% macro greeting() %}{{ return(adapter.dispatch('greeting', 'p')()) }}{% endmacro %}" +
					"{% macro default__greeting() %}default{% endmacro %}{% macro duckdb__greeting() %}duck{% endmacro %}"}
			for k, v := range base {
				files[k] = v
			}
			m, ds := compileOpts(t, files, Options{RunStartedAt: started, InvocationID: "0000-test"})
			if len(ds.Errors()) > 0 {
				t.Fatal(ds)
			}
			n, ok := m.Lookup("a")
			if !ok {
				t.Fatalf("a did not compile: %+v", m.Skipped)
			}
			if got := strings.TrimSpace(n.CompiledSQL); got != tc.want {
				t.Errorf("compiled:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestMacroErrors: an error inside a macro names the macro's own file and
// line and the calls that led there; a macro's exceptions fail the model
// with the message the project wrote.
func TestMacroErrors(t *testing.T) {
	m, ds := compileOpts(t, map[string]string{
		"macros/deep.sql":  "{% macro outer(x) %}\n  {{ inner(x) }}\n{% endmacro %}\n{% macro inner(x) %}\n  {{ x.missing.attr }}\n{% endmacro %}",
		"macros/raise.sql": "{% macro check(v) %}{% if v < 0 %}{{ exceptions.raise_compiler_error('v must not be negative, got ' ~ v) }}{% endif %}{% endmacro %}",
		"models/a.sql":     "select\n{{ outer(none) }}",
		"models/b.sql":     "{{ check(-1) }}select 1",
		"models/c.sql":     "select 1",
	}, Options{})
	checkPartial(t, m, ds)
	if len(ds) != 2 {
		t.Fatalf("problems: %v", ds)
	}
	a, b := ds[0], ds[1]
	if a.Path != "macros/deep.sql" || a.Line != 5 || a.Node != "model.p.a" ||
		!strings.Contains(a.Hint, "in macro inner (macros/deep.sql:4), called from macros/deep.sql:2; in macro outer (macros/deep.sql:1), called from models/a.sql:2") {
		t.Errorf("error in a macro: %+v", a)
	}
	if b.Path != "macros/raise.sql" || b.Message != "v must not be negative, got -1" || b.Node != "model.p.b" {
		t.Errorf("raise_compiler_error: %+v", b)
	}
}

// TestGenerateNames: the project's own generate_schema_name and
// generate_alias_name decide where production builds a node, as dbt would;
// an environment keeps every node in its one schema.
func TestGenerateNames(t *testing.T) {
	files := map[string]string{
		projectFile: "name: p\nmodels:\n  p:\n    marts:\n      +schema: marts\n",
		"macros/naming.sql": `{% macro generate_schema_name(custom_schema_name, node) -%}
{%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ target.schema }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
{{ node.fqn[1] ~ '__' ~ node.name if node.fqn | length > 2 else node.name }}
{%- endmacro %}`,
		"models/marts/orders.sql": "select 1 as id",
		"models/top.sql":          "select * from {{ ref('orders') }}",
	}
	prod := Target{Name: "prod", Schema: "analytics", Type: "postgres", Database: "db"}
	m, ds := compileOpts(t, files, Options{Target: prod})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	orders, _ := m.Lookup("orders")
	top, _ := m.Lookup("top")
	if orders.Relation != (Relation{Schema: "analytics_marts", Name: "marts__orders"}) || top.Relation != (Relation{Schema: "analytics", Name: "top"}) {
		t.Errorf("production: orders %+v, top %+v", orders.Relation, top.Relation)
	}
	if !strings.Contains(top.CompiledSQL, `"analytics_marts"."marts__orders"`) {
		t.Errorf("ref reads the project's relation: %s", top.CompiledSQL)
	}
	env := Target{Name: "pr_3", Schema: "pr_3", Type: "postgres", Database: "db"}
	m, _ = compileOpts(t, files, Options{Target: env})
	orders, _ = m.Lookup("orders")
	if orders.Relation != (Relation{Schema: "pr_3", Name: "marts__orders"}) {
		t.Errorf("environment: %+v", orders.Relation)
	}
	if got := m.RelationIn(orders, prod); got != (Relation{Schema: "analytics_marts", Name: "marts__orders"}) {
		t.Errorf("deferral to production: %+v", got)
	}
}

// TestCustomGenericTests: {% test %} blocks in macros and tests/generic,
// with arguments and config as dbt passes them; a package's generic test
// named in YAML as package.name.
func TestCustomGenericTests(t *testing.T) {
	m, ds := compileOpts(t, map[string]string{
		"models/orders.sql":    "select 1 as id, 2 as amount",
		"models/customers.sql": "select 1 as id",
		"macros/tests.sql": `{% test is_positive(model, column_name, strict=true) %}
select * from {{ model }} where {{ column_name }} {{ '<=' if strict else '<' }} 0
{% endtest %}`,
		"tests/generic/related.sql": `{% test related(model, column_name, to, field) %}
{{ config(severity='warn') }}
select {{ column_name }} from {{ model }} where {{ column_name }} not in (select {{ field }} from {{ to }})
{% endtest %}`,
		"dbt_packages/util/dbt_project.yml": "name: util\n",
		"dbt_packages/util/macros/combo.sql": `{% test unique_combination(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }} from {{ model }} group by {{ combination_of_columns | join(', ') }} having count(*) > 1
{% endtest %}`,
		"models/props.yml": `version: 2
models:
  - name: orders
    tests:
      - util.unique_combination:
          arguments:
            combination_of_columns: [id, amount]
    columns:
      - name: amount
        tests:
          - is_positive:
              strict: false
              config:
                where: "id > 0"
      - name: id
        tests:
          - related:
              to: ref('customers')
              field: id
`,
	}, Options{})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	want := map[string]string{
		"test.p.is_positive_orders_amount__False":          "select * from (select * from \"main\".\"orders\" where id > 0) dbt_subquery where amount < 0",
		"test.p.related_orders_id__id__ref_customers_":     "select id from \"main\".\"orders\" where id not in (select id from \"main\".\"customers\")",
		"test.p.util_unique_combination_orders_id__amount": "select id, amount from \"main\".\"orders\" group by id, amount having count(*) > 1",
	}
	for id, sql := range want {
		n := m.Nodes[id]
		if n == nil {
			t.Errorf("missing %s; tests: %v", id, testIDs(m))
			continue
		}
		if got := strings.TrimSpace(n.CompiledSQL); got != sql {
			t.Errorf("%s:\n%s\nwant:\n%s", id, got, sql)
		}
	}
	rel := m.Nodes["test.p.related_orders_id__id__ref_customers_"]
	if rel != nil && (rel.Config.Severity != "warn" || strings.Join(rel.DependsOn.Nodes, ",") != "model.p.customers,model.p.orders") {
		t.Errorf("related: severity %q, depends on %v", rel.Config.Severity, rel.DependsOn.Nodes)
	}
}

func testIDs(m *Manifest) []string {
	var out []string
	for id, n := range m.Nodes {
		if n.Kind == KindTest {
			out = append(out, id)
		}
	}
	return out
}

// TestLimits: the worst template fails its own model with a clear reason
// and the rest compile: a macro that calls itself, output without end, a
// render past the compile's deadline.
func TestLimits(t *testing.T) {
	files := map[string]string{
		"macros/loop.sql": "{% macro forever(n) %}{{ forever(n + 1) }}{% endmacro %}",
		"models/deep.sql": "{{ forever(0) }}",
		"models/big.sql":  "{% set s = namespace(v='xx') %}{% for i in range(40) %}{% set s.v = s.v ~ s.v %}{% endfor %}{{ s.v }}",
		"models/fine.sql": "select 1",
	}
	m, ds := compileOpts(t, files, Options{})
	checkPartial(t, m, ds)
	reasons := map[string]string{}
	for _, d := range ds {
		reasons[d.Node] = d.Message
	}
	if !strings.Contains(reasons["model.p.deep"], "nest deeper") || !strings.Contains(reasons["model.p.big"], "rendering stopped") {
		t.Errorf("reasons: %v", reasons)
	}
	if _, ok := m.Lookup("fine"); !ok {
		t.Error("the rest compiles")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var list []File
	for path, content := range map[string]string{projectFile: "name: p\n", "models/slow.sql": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"} {
		list = append(list, File{Path: path, Content: []byte(content)})
	}
	p, _ := LoadFiles("p", list)
	_, ds = Compile(ctx, p, Options{Target: Target{Name: "dev", Schema: "main", Type: "duckdb"}})
	if len(ds) != 1 || !strings.Contains(ds[0].Message, "rendering stopped") {
		t.Errorf("a cancelled compile: %v", ds)
	}
}
