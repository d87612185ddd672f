package project

import (
	"sort"
	"strings"
	"testing"
)

func diagLines(ds Diagnostics) string {
	ds.Sort()
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func skippedNames(m *Manifest) string {
	var out []string
	for _, s := range m.Skipped {
		out = append(out, s.Name+":"+string(s.Cause))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestPartialResults: a model that does not compile is skipped with its
// errors, everything downstream of it is skipped with the reason, and
// the rest compiles.
func TestPartialResults(t *testing.T) {
	m, ds := compileFiles(t, map[string]string{
		"models/good.sql":       "select 1 as id",
		"models/bad.sql":        "select * from {{ ref('nowhere') }}",
		"models/after_bad.sql":  "select * from {{ ref('bad') }}",
		"models/after_bad2.sql": "select * from {{ ref('after_bad') }} join {{ ref('good') }} using (id)",
		"models/also_good.sql":  "select * from {{ ref('good') }}",
		"models/props.yml": "version: 2\nmodels:\n  - name: bad\n    columns:\n      - name: id\n        tests: [unique]\n" +
			"  - name: good\n    columns:\n      - name: id\n        tests: [not_null]\n",
	}, Target{})
	checkPartial(t, m, ds)
	if got, want := diagLines(ds), "models/bad.sql:1:18: ref to unknown model \"nowhere\"\n"; got != want {
		t.Errorf("problems:\n%swant:\n%s", got, want)
	}
	if ds[0].Node != "model.p.bad" {
		t.Errorf("the error names its node: %+v", ds[0])
	}
	if got, want := skippedNames(m), "after_bad2:upstream,after_bad:upstream,bad:error,unique_bad_id:upstream"; got != want {
		t.Errorf("skipped = %s, want %s", got, want)
	}
	if s := m.Skipped["model.p.after_bad2"]; s.Reason != "depends on after_bad, which did not compile" {
		t.Errorf("reason = %q", s.Reason)
	}
	for _, name := range []string{"good", "also_good", "not_null_good_id"} {
		n := m.Nodes["model.p."+name]
		if n == nil {
			n = m.Nodes["test.p."+name]
		}
		if n == nil || n.CompiledSQL == "" {
			t.Errorf("%s should compile", name)
		}
	}
	if st := m.Stats(); st.Models != 2 || st.Skipped != 3 {
		t.Errorf("stats = %+v", st)
	}
}

// TestWarnings: what dbt warns about is a warning, and skips nothing.
func TestWarnings(t *testing.T) {
	m, ds := compileFiles(t, map[string]string{
		projectFile:          "name: p\ndbt-cloud:\n  project-id: 1\n",
		"models/a.sql":       "select 1 as id",
		"models/py_model.py": "def model(dbt, session):\n    return dbt.ref('a')\n",
		"models/b.sql":       "select * from {{ ref('py_model') }}",
		"models/props.yml": "version: 2\nfoo: 1\nmodels:\n  - name: a\n    owner: me\n    tests:\n  - name: gone\n  - name: py_model\n" +
			"    columns:\n      - name: id\n        descripton: x\n",
	}, Target{})
	checkPartial(t, m, ds)
	want := `dbt_project.yml:2:1: warning: unknown key "dbt-cloud" in dbt_project.yml is ignored
models/props.yml:2:1: warning: unknown key "foo" in a properties file is ignored
models/props.yml:5:5: warning: unknown key "owner" in model properties is ignored
models/props.yml:7: warning: properties describe model "gone", which does not exist (remove the entry, or fix its name)
models/props.yml:11:9: warning: unknown key "descripton" in column properties is ignored (did you mean 'description'?)
`
	if got := diagLines(ds); got != want {
		t.Errorf("problems:\n%swant:\n%s", got, want)
	}
	if len(ds.Errors()) != 0 {
		t.Errorf("warnings only: %v", ds.Errors())
	}
	if got := skippedNames(m); got != "b:upstream,py_model:unsupported" {
		t.Errorf("skipped = %s", got)
	}
	if r := m.Skipped["model.p.py_model"].Reason; !strings.Contains(r, "Python model") {
		t.Errorf("reason = %q", r)
	}
}

// TestYAMLAnchors: anchors, aliases and << merge keys work in properties
// files, dbt_project.yml and profiles.yml, and problems inside merged
// values point at the line where they are written.
func TestYAMLAnchors(t *testing.T) {
	files := map[string]string{
		projectFile: `name: p
profile: p
x-defaults: &defaults
  +materialized: table
  +tags: [anchored]
models:
  p:
    <<: *defaults
    staging:
      +materialized: view
`,
		"profiles.yml": `base: &base
  type: postgres
  schema: analytics
p:
  target: ci
  outputs:
    dev:
      <<: *base
    ci:
      <<: *base
      schema: ci_schema
    sf:
      type: snowflake
`,
		"models/a.sql":         "select 1 as id, 'x' as status",
		"models/staging/b.sql": "select 1 as id",
		"models/props.yml": `version: 2
x-status: &status_tests
  - not_null
  - accepted_values:
      values: [x, y]
models:
  - name: a
    columns:
      - &id_column
        name: id
        tests: [unique, not_null]
      - name: status
        tests: *status_tests
  - name: b
    columns:
      - *id_column
`,
	}
	var list []File
	for path, content := range files {
		list = append(list, File{Path: path, Content: []byte(content)})
	}
	p, ds := LoadFiles("p", list)
	if p == nil {
		t.Fatal(ds)
	}
	target, err := p.Target("")
	if err != nil {
		t.Fatal(err)
	}
	if target != (Target{Name: "ci", Type: "postgres", Schema: "ci_schema"}) {
		t.Errorf("profile with merge keys: %+v", target)
	}
	if dev, _ := p.Target("dev"); dev.Schema != "analytics" {
		t.Errorf("dev = %+v", dev)
	}
	if _, err := p.Target("sf"); err == nil || !strings.Contains(err.Error(), `output "sf" (profiles.yml:12) has type "snowflake"`) {
		t.Errorf("choosing an unsupported output: %v", err)
	}
	m, cds := Compile(t.Context(), p, Options{Target: target})
	if len(cds.Errors()) > 0 {
		t.Fatal(cds)
	}
	a, _ := m.Lookup("a")
	b, _ := m.Lookup("b")
	if a.Config.Materialized != "table" || strings.Join(a.Config.Tags, ",") != "anchored" || b.Config.Materialized != "view" {
		t.Errorf("merged project config: a %+v, b %+v", a.Config, b.Config)
	}
	var tests []string
	for _, n := range m.Nodes {
		if n.Kind == KindTest {
			tests = append(tests, n.Name)
		}
	}
	sort.Strings(tests)
	if got := strings.Join(tests, ","); got != "accepted_values_a_status__x__y,not_null_a_id,not_null_a_status,not_null_b_id,unique_a_id,unique_b_id" {
		t.Errorf("tests through aliases: %s", got)
	}

	// A problem inside an aliased value points at where it is written.
	_, ds = compileFiles(t, map[string]string{
		"models/a.sql":     "select 1 as id",
		"models/props.yml": "version: 2\nx: &cfg\n  materialized: tabel\nmodels:\n  - name: a\n    config:\n      <<: *cfg\n",
	}, Target{})
	if got := diagLines(ds); !strings.Contains(got, "\nmodels/props.yml:3:3: config materialized: unknown materialization \"tabel\"") {
		t.Errorf("problem in a merged value:\n%s", got)
	}
}

// TestYAMLAliasBomb: a few lines of nested aliases cannot make the
// compile expand them forever.
func TestYAMLAliasBomb(t *testing.T) {
	bomb := "version: 2\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
			", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	m, ds := compileFiles(t, map[string]string{"models/a.sql": "select 1", "models/bomb.yml": bomb}, Target{})
	checkPartial(t, m, ds)
	if got := diagLines(ds); !strings.Contains(got, "models/bomb.yml:1: the file expands to more than") {
		t.Errorf("problems:\n%s", got)
	}
	if _, ok := m.Lookup("a"); !ok {
		t.Error("the rest of the project still compiles")
	}
}

// TestNativeConfigValues: rendered config values are read back as the
// literals they print, as dbt's native rendering does.
func TestNativeConfigValues(t *testing.T) {
	m := mustCompile(t, map[string]string{
		projectFile: "name: p\nvars: {on: false, n: 3}\nmodels:\n  p:\n    +enabled: \"{{ var('on') }}\"\n    kept:\n      +enabled: \"{{ not var('on') }}\"\n" +
			"      +tags: \"{{ ['a', 'b'] }}\"\n",
		"models/off.sql":        "select 1",
		"models/kept/on.sql":    "select 1",
		"models/kept/props.yml": "version: 2\nmodels:\n  - name: on\n    config:\n      alias: \"{{ 'on_' ~ var('n') }}\"\n",
	}, Target{})
	if _, ok := m.Lookup("off"); ok {
		t.Error("enabled: \"{{ var('on') }}\" with on false disables the model")
	}
	n, ok := m.Lookup("on")
	if !ok || strings.Join(n.Config.Tags, ",") != "a,b" || n.Relation.Name != "on_3" {
		t.Errorf("on = %+v", n)
	}
	for in, want := range map[string]any{"True": true, " 12 ": 12, "1.5": 1.5, "None": nil, "abc": "abc", "x: y": "x: y"} {
		if got := nativeValue(in); got != want {
			t.Errorf("nativeValue(%q) = %#v, want %#v", in, got, want)
		}
	}
}

// TestCycleSkipsItsNodes: a dependency cycle is reported once and every
// node on it, and downstream, is skipped, so what remains can be built.
func TestCycleSkipsItsNodes(t *testing.T) {
	m, ds := compileFiles(t, map[string]string{
		"models/a.sql": "select * from {{ ref('b') }}",
		"models/b.sql": "select * from {{ ref('a') }}",
		"models/c.sql": "select 1",
		"models/d.sql": "select * from {{ ref('a') }} join {{ ref('c') }} on true",
	}, Target{})
	checkPartial(t, m, ds)
	if len(ds) != 1 || !strings.Contains(ds[0].Message, "dependency cycle") {
		t.Errorf("problems: %v", ds)
	}
	if got := skippedNames(m); got != "a:error,b:upstream,d:upstream" {
		t.Errorf("skipped = %s", got)
	}
	if _, ok := m.Lookup("c"); !ok || len(m.Order()) != 1 {
		t.Errorf("order = %v", m.Order())
	}
}

// TestProfilesRenderEnvVars: profiles.yml values written with env_var are
// read as dbt reads them.
func TestProfilesRenderEnvVars(t *testing.T) {
	t.Setenv("DATAOPS_TEST_SCHEMA", "ci_7")
	p := &Project{ProfileName: "p"}
	ds := p.ReadProfiles("profiles.yml", []byte("p:\n  target: \"{{ env_var('DATAOPS_TEST_TARGET', 'ci') }}\"\n  outputs:\n    ci:\n      type: postgres\n      dbname: \"{{ env_var('DATAOPS_TEST_DB', 'analytics') }}\"\n      schema: \"{{ env_var('DATAOPS_TEST_SCHEMA') }}\"\n"))
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	target, err := p.Target("")
	if err != nil || target != (Target{Name: "ci", Type: "postgres", Schema: "ci_7", Database: "analytics"}) {
		t.Errorf("target = %+v, %v", target, err)
	}
	ds = p.ReadProfiles("profiles.yml", []byte("p:\n  target: ci\n  outputs:\n    ci:\n      type: duckdb\n      schema: \"{{ env_var('DATAOPS_TEST_UNSET_SCHEMA') }}\"\n"))
	if _, err := p.Target(""); len(ds) > 0 || err == nil || !strings.Contains(err.Error(), "schema: environment variable DATAOPS_TEST_UNSET_SCHEMA is not set") {
		t.Errorf("an output whose schema does not render: %v %v", ds, err)
	}
}
