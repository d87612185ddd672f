package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/deps/hubtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// The Action runs `dbt deps` for a checkout that declares packages but has
// no dbt_packages/, and a pull request's packages.yml is held to the rules
// for untrusted input.
func TestActionInstallsPackages(t *testing.T) {
	hub := hubtest.New(t, hubtest.Package{Namespace: "dbt-labs", Name: "dbt_utils",
		Versions: []hubtest.Version{{Version: "1.3.0", Files: map[string]string{"macros/sql/star.sql": "{% macro star() %}*{% endmacro %}"}}}})
	t.Setenv("DBT_PACKAGE_HUB_URL", hub.BaseURL())
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	write(t, filepath.Join(f.dir, "pkgs/shop_utils/dbt_project.yml"), "name: shop_utils\n")
	write(t, filepath.Join(f.dir, "pkgs/shop_utils/macros/cents.sql"), "{% macro cents(c) %}{{ c }} * 100{% endmacro %}")

	tests := []struct {
		name, packages string
		ok             bool
		installed      []string
		summary        string // in the compile check's text, on failure
	}{
		{name: "hub and local", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - local: pkgs/shop_utils\n",
			ok: true, installed: []string{"dbt_utils/macros/sql/star.sql", "shop_utils/macros/cents.sql"}},
		{name: "file URL refused", packages: "packages:\n  - git: file://" + f.dir + "\n",
			summary: "only https:// and git:// URLs are fetched for a pull request"},
		{name: "local outside the checkout refused", packages: "packages:\n  - local: " + t.TempDir() + "\n",
			summary: "is outside the project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(f.dir, "dbt_packages"))
			os.Remove(filepath.Join(f.dir, "package-lock.yml"))
			write(t, filepath.Join(f.dir, "packages.yml"), tt.packages)
			code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
			if tt.ok {
				if code != ExitOK {
					t.Fatalf("exit %d\n%s", code, log)
				}
				for _, p := range tt.installed {
					if _, err := os.Stat(filepath.Join(f.dir, "dbt_packages", p)); err != nil {
						t.Errorf("%s was not installed: %v", p, err)
					}
				}
				return
			}
			if _, err := os.Stat(filepath.Join(f.dir, "dbt_packages")); err == nil {
				t.Error("dbt_packages was made")
			}
			found := false
			for _, run := range f.gh.CheckRuns(repoName) {
				if run.HeadSHA == f.headSHA && run.Name == "dataops/compile" && run.Conclusion == "failure" &&
					strings.Contains(run.Summary, tt.summary) {
					found = true
				}
			}
			if !found {
				t.Errorf("no failed compile check saying %q\n%s", tt.summary, log)
			}
		})
	}
}
