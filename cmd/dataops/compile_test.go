package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDir copies a project into a temporary folder so a command can write
// its target/ there.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "target" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCompileCommand(t *testing.T) {
	shop := copyDir(t, "../../examples/shop")
	broken := copyDir(t, "../../internal/project/testdata/broken/many")
	badConfig := copyDir(t, "../../internal/project/testdata/broken/config_error")
	profiles := t.TempDir()
	os.WriteFile(filepath.Join(profiles, "profiles.yml"), []byte("shop:\n  target: sf\n  outputs:\n    sf: {type: snowflake, schema: x}\n    ci: {type: duckdb, path: ci.duckdb, schema: ci_schema}\n"), 0o644)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		compiled []string // files that must exist under target/compiled
		absent   string   // text stderr must not hold
	}{
		{name: "clean project", args: []string{"compile", "--project", shop}, code: exitOK,
			stdout:   "13 models, 6 seeds, 5 sources, 71 tests, 3 macros; 13 models selected",
			compiled: []string{"models/marts/fct_orders.sql", "models/staging/stg_orders.sql", "models/staging/_staging/unique_stg_orders_order_id.sql"}},
		{name: "selection", args: []string{"compile", "--project", shop, "--select", "+fct_orders,tag:staging"}, code: exitOK,
			stdout: "4 models selected"},
		{name: "prod target", args: []string{"compile", "--project", shop, "--target", "prod"}, code: exitOK,
			stdout: "target prod (duckdb, schema main)"},
		{name: "compile errors", args: []string{"compile", "--project", broken}, code: exitFailure,
			stderr: filepath.Join(broken, "models", "a.sql") + ":2:11: required var \"start_date\" is not defined"},
		{name: "vars satisfy a required var", args: []string{"compile", "--project", broken, "--vars", "{start_date: 2024-01-01}"}, code: exitFailure,
			stderr: "unknown materialization", absent: "start_date"},
		{name: "config error", args: []string{"compile", "--project", badConfig}, code: exitUsage,
			stderr: "dbt_project.yml:1: missing name:"},
		{name: "no project", args: []string{"compile", "--project", t.TempDir()}, code: exitUsage, stderr: "no dbt_project.yml in"},
		{name: "unknown target", args: []string{"compile", "--project", shop, "--target", "staging"}, code: exitUsage,
			stderr: `no target "staging" in profiles.yml; known targets: dev, pg, prod`},
		{name: "bad selector", args: []string{"compile", "--project", shop, "--select", "fct_order"}, code: exitUsage,
			stderr: `did you mean 'fct_orders'?`},
		{name: "profiles dir, another output chosen", args: []string{"compile", "--project", shop, "--profiles-dir", profiles, "--target", "ci"}, code: exitOK,
			stdout: "target ci (duckdb, schema ci_schema)"},
		{name: "profiles dir, unsupported output chosen", args: []string{"compile", "--project", shop, "--profiles-dir", profiles}, code: exitUsage,
			stderr: `output "sf" (` + filepath.Join(profiles, "profiles.yml") + `:4) has type "snowflake": dataops compiles for duckdb and postgres; choose another output with --target`},
		{name: "unknown flag", args: []string{"compile", "--projct", shop}, code: exitUsage, stderr: "flag provided but not defined: -projct"},
		{name: "stray argument", args: []string{"compile", "--project", shop, "orders"}, code: exitUsage, stderr: `unexpected argument "orders"`},
		{name: "help", args: []string{"compile", "--help"}, code: exitOK, stdout: "Usage: dataops compile [--project DIR]", absent: "Usage:"},
		{name: "top-level help", args: []string{"help"}, code: exitOK, stdout: "compile    Render every model"},
		{name: "unknown command", args: []string{"compiel"}, code: exitUsage, stderr: `unknown command "compiel"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
			if tc.absent != "" && strings.Contains(stderr, tc.absent) {
				t.Errorf("stderr holds %q:\n%s", tc.absent, stderr)
			}
			for _, f := range tc.compiled {
				if _, err := os.Stat(filepath.Join(shop, "target", "compiled", f)); err != nil {
					t.Errorf("compiled file missing: %v", err)
				}
			}
		})
	}
}

func TestCompileJSON(t *testing.T) {
	shop := copyDir(t, "../../examples/shop")
	code, stdout, _ := runCLI("compile", "--project", shop, "--select", "tag:finance", "--json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var sum compileSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if sum.Project != "shop" || sum.Counts.Models != 13 || strings.Join(sum.Selected, ",") != "daily_revenue" || len(sum.Errors) != 0 {
		t.Errorf("summary = %+v", sum)
	}
	data, err := os.ReadFile(sum.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Nodes map[string]struct {
			CompiledCode string `json:"compiled_code"`
			DependsOn    struct {
				Nodes []string `json:"nodes"`
			} `json:"depends_on"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	n := manifest.Nodes["model.shop.daily_revenue"]
	if !strings.Contains(n.CompiledCode, `"main"."fct_orders"`) || strings.Join(n.DependsOn.Nodes, ",") != "model.shop.fct_orders" {
		t.Errorf("manifest node = %+v", n)
	}

	broken := copyDir(t, "../../internal/project/testdata/broken/unknown_ref")
	code, stdout, _ = runCLI("compile", "--project", broken, "--json")
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	sum = compileSummary{}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Errors) != 1 || sum.Errors[0].Path != "models/orders.sql" || sum.Errors[0].Line != 3 || sum.Errors[0].Hint != "did you mean 'stg_orders'?" {
		t.Errorf("errors = %+v", sum.Errors)
	}
	// Partial results: what compiled is written, what did not is listed.
	if _, err := os.Stat(filepath.Join(broken, "target", "compiled", "models", "stg_orders.sql")); err != nil {
		t.Errorf("a model that compiled must be written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(broken, "target", "compiled", "models", "orders.sql")); !os.IsNotExist(err) {
		t.Errorf("a model that did not compile must not be written: %v", err)
	}
	if len(sum.Skipped) != 1 || sum.Skipped[0].Name != "orders" || sum.Skipped[0].Cause != "error" {
		t.Errorf("skipped = %+v", sum.Skipped)
	}
}
