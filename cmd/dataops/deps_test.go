package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/deps/hubtest"
)

func TestDepsCommand(t *testing.T) {
	hub := hubtest.New(t,
		hubtest.Package{Namespace: "dbt-labs", Name: "dbt_utils", Versions: []hubtest.Version{{Version: "1.0.0"}, {Version: "1.3.0"}}},
		hubtest.Package{Namespace: "calogica", Name: "dbt_expectations", Versions: []hubtest.Version{{Version: "0.10.4",
			Packages: []map[string]any{{"package": "calogica/dbt_date", "version": []any{">=0.9.0", "<1.0.0"}}}}}},
		hubtest.Package{Namespace: "calogica", Name: "dbt_date", Versions: []hubtest.Version{{Version: "0.9.2"}}},
	)
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		files["dbt_project.yml"] = "name: shop\n"
		for name, content := range files {
			os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
		}
		return dir
	}
	tests := []struct {
		name     string
		packages string // "" for no packages.yml
		args     []string
		code     int
		out      []string // lines of stdout, each a prefix
		errOut   []string // substrings of stderr
	}{
		{name: "installs with progress and a quiet summary", packages: "packages:\n  - package: calogica/dbt_expectations\n    version: [\">=0.10.0\", \"<0.11.0\"]\n  - package: dbt-labs/dbt_utils\n    version: '>=1.0.0'\n",
			code: 0, out: []string{"Installed 3 packages into "},
			errOut: []string{"Installing dbt_expectations: calogica/dbt_expectations 0.10.4\n", "Installing dbt_utils: dbt-labs/dbt_utils 1.3.0\n", "Installing dbt_date: calogica/dbt_date 0.9.2\n"}},
		{name: "lock only", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n", args: []string{"--lock"},
			code: 0, out: []string{"Wrote "}},
		{name: "nothing to do", code: 0, out: []string{"No packages in packages.yml or dependencies.yml: nothing to install."}},
		{name: "bad file is a usage error", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    versoin: 1.0.0\n",
			code: 2, errOut: []string{"dataops deps: packages.yml:3: unknown key `versoin` in a hub package", "did you mean `version`?", "Nothing was changed"}},
		{name: "no match lists versions", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: '>=2.0.0'\n",
			code: 2, errOut: []string{"packages.yml:2: dbt-labs/dbt_utils: no version matches >=2.0.0", "available: 1.0.0, 1.3.0"}},
		{name: "unreachable hub is a failure", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n", args: []string{"--hub-url", "http://127.0.0.1:1/"},
			code: 1, errOut: []string{"cannot reach the dbt package hub at http://127.0.0.1:1/"}},
		{name: "unexpected argument", args: []string{"dbt_utils"}, code: 2, errOut: []string{"unexpected argument \"dbt_utils\""}},
		{name: "help", args: []string{"--help"}, code: 0, out: []string{"Install the packages of packages.yml", "", "Usage: dataops deps [--project DIR] [--upgrade] [--lock] [--hub-url URL]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			if tt.packages != "" {
				files["packages.yml"] = tt.packages
			}
			dir := write(t, files)
			args := append([]string{"deps", "--project", dir}, tt.args...)
			if !contains(tt.args, "--hub-url") {
				args = append(args, "--hub-url", hub.BaseURL())
			}
			var out, errOut bytes.Buffer
			code := run(args, &out, &errOut)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
			lines := strings.Split(out.String(), "\n")
			for i, want := range tt.out {
				if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
					t.Errorf("stdout line %d: %q, want prefix %q\n%s", i+1, lines[min(i, len(lines)-1)], want, out.String())
				}
			}
			for _, want := range tt.errOut {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
				}
			}
			if tt.code == 0 && tt.name != "help" && strings.Count(out.String(), "\n") != 1 {
				t.Errorf("success should print one line:\n%s", out.String())
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
