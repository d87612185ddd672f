package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackages: packages in dbt_packages/ load as dbt deps lays them out,
// namespaced, configured by their own dbt_project.yml and then the root
// project's models: <package>: tree, with vars scoped to them.
func TestPackages(t *testing.T) {
	files := map[string]string{
		projectFile: `name: p
vars:
  util:
    threshold: 5
models:
  util:
    staging:
      +materialized: table
`,
		"models/a.sql":                      "select * from {{ ref('util', 'util_model') }}",
		"models/b.sql":                      "select * from {{ ref('util_model') }} join {{ source('util_src', 'events') }} using (id)",
		"models/c.sql":                      "select * from {{ ref('nopkg', 'x') }}",
		"dbt_packages/util/dbt_project.yml": "name: util\nvars:\n  threshold: 1\n  other: 2\nmodels:\n  util:\n    +materialized: view\n    +tags: [from_pkg]\n",
		"dbt_packages/util/models/staging/util_model.sql":        "select {{ var('threshold') }} as t, {{ var('other') }} as o",
		"dbt_packages/util/models/sources.yml":                   "version: 2\nsources:\n  - name: util_src\n    tables: [{name: events}]\nmodels:\n  - name: util_model\n    columns:\n      - name: t\n        tests: [not_null]\n",
		"dbt_packages/util/seeds/util_seed.csv":                  "id\n1\n",
		"dbt_packages/util/integration_tests/models/ignored.sql": "select {{ broken",
		"dbt_packages/not_a_package/README.md":                   "x",
	}
	m, ds := compileFiles(t, files, Target{})
	checkPartial(t, m, ds)
	if got := diagLines(ds.Errors()); got != "models/c.sql:1:18: ref to package \"nopkg\", which is not installed (add it to packages.yml and run dataops deps)\n" {
		t.Errorf("errors:\n%s", got)
	}
	n := m.Nodes["model.util.util_model"]
	if n == nil {
		t.Fatalf("package model missing; nodes %v", sortedKeys(m.Nodes))
	}
	if n.Package != "util" || n.Path != "dbt_packages/util/models/staging/util_model.sql" {
		t.Errorf("package model: %+v", n)
	}
	if n.Config.Materialized != "table" || strings.Join(n.Config.Tags, ",") != "from_pkg" {
		t.Errorf("root project config over the package's own: %+v", n.Config)
	}
	if n.CompiledSQL != "select 5 as t, 2 as o" {
		t.Errorf("package vars, the root project's scoped ones winning: %q", n.CompiledSQL)
	}
	for _, name := range []string{"a", "b"} {
		x, _ := m.Lookup(name)
		if !strings.Contains(x.CompiledSQL, `"main"."util_model"`) || !contains(x.DependsOn.Nodes, "model.util.util_model") {
			t.Errorf("%s: %s %v", name, x.CompiledSQL, x.DependsOn.Nodes)
		}
	}
	if m.Nodes["source.util.util_src.events"] == nil || m.Nodes["seed.util.util_seed"] == nil || m.Nodes["test.util.not_null_util_model_t"] == nil {
		t.Errorf("package sources, seeds and tests: %v", sortedKeys(m.Nodes))
	}
}

// TestLoadReadsPackagesFromDisk: Load reads dbt_packages/ but not what
// dbt deps leaves inside a package (its own packages, its integration
// tests), and follows a symlinked project folder.
func TestLoadReadsPackagesFromDisk(t *testing.T) {
	dir := t.TempDir()
	write := func(path, content string) {
		full := filepath.Join(dir, "real", filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(projectFile, "name: p\n")
	write("models/a.sql", "select * from {{ ref('util_model') }}")
	write("dbt_packages/util/dbt_project.yml", "name: util\n")
	write("dbt_packages/util/models/util_model.sql", "select 1")
	write("dbt_packages/util/integration_tests/models/x.sql", "{{ broken")
	write("dbt_packages/util/dbt_packages/other/dbt_project.yml", "name: [broken")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "real"), link); err != nil {
		t.Skip(err)
	}
	p, ds := Load(link)
	if p == nil {
		t.Fatal(ds)
	}
	m, cds := Compile(t.Context(), p, Options{Target: Target{Name: "dev", Schema: "main", Type: "duckdb"}})
	if len(cds) > 0 {
		t.Fatal(cds)
	}
	if strings.Join(p.Packages(), ",") != "util" || m.Nodes["model.util.util_model"] == nil {
		t.Errorf("packages %v, nodes %v", p.Packages(), sortedKeys(m.Nodes))
	}
}

// TestPackagesNotInstalled: a project whose packages.yml asks for packages
// that are not installed is told to run dataops deps, once, as a warning
// (the models that use them fail on their own lines).
func TestPackagesNotInstalled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"not installed", map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n"},
			"packages.yml:2:3: warning: packages.yml asks for 1 packages and none is installed in dbt_packages/ (run dataops deps to install them)"},
		{"dependencies.yml", map[string]string{"dependencies.yml": "packages:\n  - local: ../x\n  - git: https://example.com/y.git\n"},
			"dependencies.yml:2:3: warning: dependencies.yml asks for 2 packages and none is installed in dbt_packages/ (run dataops deps to install them)"},
		{"installed", map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n",
			"dbt_packages/dbt_utils/dbt_project.yml": "name: dbt_utils\n"}, ""},
		{"no packages", map[string]string{"packages.yml": "packages: []\n"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.files["models/a.sql"] = "select 1"
			_, ds := compileOpts(t, tc.files, Options{})
			var got []string
			for _, d := range ds {
				if strings.Contains(d.Message, "installed") {
					got = append(got, d.String())
				}
			}
			if (tc.want == "" && len(got) > 0) || (tc.want != "" && (len(got) != 1 || got[0] != tc.want)) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestMissingPackageNamespace: a model calling a package's macro
// (dbt_date.today()) when no package of that name is installed says so,
// where a plain undefined name does not.
func TestMissingPackageNamespace(t *testing.T) {
	_, ds := compileOpts(t, map[string]string{
		"models/a.sql": "select\n  {{ dbt_date.today() }} as d",
		"models/b.sql": "select {{ not_a_thing + 1 }} as x",
	}, Options{})
	got := map[string]string{}
	for _, d := range ds {
		got[d.Path] = d.String()
	}
	if want := "models/a.sql:2:6: 'dbt_date' is undefined (no package named dbt_date is installed in dbt_packages/: list it in packages.yml and run dataops deps)"; got["models/a.sql"] != want {
		t.Errorf("got  %s\nwant %s", got["models/a.sql"], want)
	}
	if strings.Contains(got["models/b.sql"], "package") || got["models/b.sql"] == "" {
		t.Errorf("a plain undefined name: %s", got["models/b.sql"])
	}
}
