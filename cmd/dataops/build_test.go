package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

func TestBuildCommand(t *testing.T) {
	shop := copyDir(t, "../../examples/shop")
	dsn := "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb")

	// Production first: everything, into the prod target's schemas.
	code, stdout, stderr := runCLI("build", "--project", shop, "--warehouse", dsn, "--target", "prod")
	if code != exitOK {
		t.Fatalf("production build: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"fct_orders", "incremental", "500", "seed raw_orders", "warning: " + shop + "/models/marts/_marts.yml:", "Done in", "19 built, 0 errors"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("production output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "] SUCCESS model fct_orders") {
		t.Errorf("progress lines missing from stderr:\n%s", stderr)
	}

	// A pull request environment with the rest deferred to production.
	code, stdout, stderr = runCLI("build", "--project", shop, "--warehouse", dsn, "--env", "pr_5", "--pr", "5",
		"--select", "dim_customers+", "--defer-to", "main", "--json")
	if code != exitOK {
		t.Fatalf("environment build: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var res build.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	var built []string
	for _, n := range res.Nodes {
		if n.Status == build.StatusSuccess {
			built = append(built, n.Name+"@"+n.Relation.Schema)
		}
	}
	if got := strings.Join(built, ","); got != "dim_customers@pr_5,customer_segments@pr_5,monthly_revenue_by_region@pr_5" {
		t.Errorf("built %s", got)
	}
	code, stdout, _ = runCLI("env", "list", "--warehouse", dsn)
	if code != exitOK || !strings.Contains(stdout, "pr_5") {
		t.Errorf("the environment is listed with its marker: exit %d\n%s", code, stdout)
	}

	// A dry run shows the engine's columns and builds nothing.
	code, stdout, stderr = runCLI("build", "--project", shop, "--warehouse", dsn, "--env", "pr_6",
		"--select", "customer_segments", "--defer-to", "main", "--dry-run")
	if code != exitOK || !strings.Contains(stdout, "customer_segments") || !strings.Contains(stdout, "customer_id integer") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Its summary says what it did: checked, not built.
	if !strings.Contains(stdout, "Dry run done in") || !strings.Contains(stdout, ": 1 checked, 0 errors, 0 skipped; nothing was built") || strings.Contains(stdout, "\nDone in") {
		t.Errorf("dry run summary:\n%s", stdout)
	}

	// A broken model: exit 1, its file and line named.
	broken := copyDir(t, "../../examples/shop")
	if err := os.WriteFile(filepath.Join(broken, "models/marts/daily_revenue.sql"),
		[]byte("select\n    order_date,\n    sum(no_such_column) as revenue\nfrom {{ ref('fct_orders') }}\ngroup by 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI("build", "--project", broken, "--warehouse", dsn, "--target", "prod", "--select", "daily_revenue")
	if code != exitFailure || !strings.Contains(stdout, broken+"/models/marts/daily_revenue.sql:3") {
		t.Errorf("broken model: exit %d\n%s", code, stdout)
	}
}

// TestBuildExampleDefaultTarget: a newcomer's first build of the example,
// on its default target (dev, one schema), builds everything: its seeds
// land in the target's schema, and the sources that read them read them
// there. The command prints progress lines, not log records.
func TestBuildExampleDefaultTarget(t *testing.T) {
	shop := copyDir(t, "../../examples/shop")
	dsn := "duckdb://" + filepath.Join(t.TempDir(), "x.duckdb")
	code, stdout, stderr := runCLI("build", "--project", shop, "--warehouse", dsn)
	if code != exitOK || !strings.Contains(stdout, "19 built, 0 errors, 0 skipped; tests: 70 passed, 0 failed, 1 warned") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got := relationsIn(t, dsn, "raw"); got != "" {
		t.Errorf("a development build wrote to the raw schema: %s", got)
	}
	if got := relationsIn(t, dsn, "main"); !strings.Contains(got, "raw_orders") || !strings.Contains(got, "stg_orders") {
		t.Errorf("the seeds and models are not in the target's schema: %s", got)
	}
	for _, record := range []string{"level=", "msg=", `"level"`} {
		if strings.Contains(stderr, record) {
			t.Errorf("dataops build writes log records:\n%s", stderr)
		}
	}
}

func TestBuildCommandErrors(t *testing.T) {
	shop := copyDir(t, "../../examples/shop")
	t.Setenv("DATAOPS_WAREHOUSE_DSN", "")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no warehouse", []string{"build", "--project", shop}, exitUsage, "no warehouse: pass --warehouse DSN or set DATAOPS_WAREHOUSE_DSN"},
		{"unknown scheme", []string{"build", "--project", shop, "--warehouse", "mysql://x"}, exitUsage, "mysql"},
		{"unreachable", []string{"build", "--project", shop, "--warehouse", "postgres://u:sekret@127.0.0.1:1/db?connect_timeout=2"}, exitFailure, "postgres://u:***@127.0.0.1:1/db"},
		{"bad threads", []string{"build", "--project", shop, "--warehouse", "duckdb://", "--threads", "0"}, exitUsage, "--threads must be at least 1"},
		{"bad selector", []string{"build", "--project", shop, "--warehouse", "duckdb://", "--select", "tag:"}, exitUsage, "--select"},
		{"help", []string{"build", "--help"}, exitOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if strings.Contains(stderr+stdout, "sekret") {
				t.Error("the password leaked")
			}
		})
	}
}

func TestBuildCommandPostgres(t *testing.T) {
	_, dsn := warehousetest.PostgresDatabase(t)
	shop := copyDir(t, "../../examples/shop")
	code, stdout, stderr := runCLI("build", "--project", shop, "--warehouse", dsn, "--target", "prod", "--threads", "4")
	if code != exitOK || !strings.Contains(stdout, "19 built, 0 errors, 0 skipped; tests: 70 passed, 0 failed, 1 warned") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestBuildPartial: as dbt does, a model that does not compile keeps only
// itself and what depends on it from being built; the rest is built, the
// error is printed at its line, and the exit status is 1.
func TestBuildPartial(t *testing.T) {
	shop := copyDir(t, "../../examples/shop")
	os.WriteFile(filepath.Join(shop, "models/legacy.sql"), []byte("select *\nfrom {{ ref('dropped_long_ago') }}\n"), 0o644)
	os.WriteFile(filepath.Join(shop, "models/legacy_child.sql"), []byte("select * from {{ ref('legacy') }}\n"), 0o644)
	dsn := "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb")
	code, out, errOut := runCLI("build", "--project", shop, "--warehouse", dsn, "--json")
	for _, want := range []string{
		filepath.Join(shop, "models/legacy.sql") + `:2:9: ref to unknown model "dropped_long_ago"`,
		"not built: model legacy_child (" + filepath.Join(shop, "models/legacy_child.sql") + "): depends on legacy, which did not compile",
		"dataops build: 1 compile error (listed above)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	var res struct {
		Nodes []struct{ Name, Status string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	for _, n := range res.Nodes {
		got[n.Name] = n.Status
	}
	if code != exitFailure || got["dim_customers"] != "success" || got["fct_orders"] != "success" || got["legacy"] != "" {
		t.Errorf("exit %d, built %v", code, got)
	}
}
