package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/datadiff"
)

func TestDiffCommand(t *testing.T) {
	dir := gitShop(t)
	dsn := "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb")
	if code, out, errOut := runCLI("build", "--project", dir, "--warehouse", dsn, "--target", "prod"); code != exitOK {
		t.Fatalf("production: %d\n%s\n%s", code, out, errOut)
	}
	// A change to net_revenue, built into an environment.
	path := filepath.Join(dir, "models/marts/fct_orders.sql")
	src := string(mustRead(t, path))
	edited := strings.Replace(src, "coalesce(order_lines.order_total, 0) end", "coalesce(order_lines.order_total, 0) - coalesce(payments.coupon_amount, 0) end", 1)
	writeFile(t, path, edited)
	if code, out, errOut := runCLI("build", "--project", dir, "--warehouse", dsn, "--env", "pr_9", "--base", "HEAD", "--defer-to", "main"); code != exitOK {
		t.Fatalf("environment: %d\n%s\n%s", code, out, errOut)
	}

	// Two relations by key.
	code, out, errOut := runCLI("diff", "--warehouse", dsn, "--base", "main.fct_orders", "--head", "pr_9.fct_orders", "--key", "order_id", "--json")
	if code != exitOK {
		t.Fatalf("diff: %d\n%s", code, errOut)
	}
	var res datadiff.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Base.Rows != 500 || res.Head.Rows != 500 || res.Changed == 0 || res.OnlyInBase+res.OnlyInHead != 0 || res.Changed+res.Unchanged != 500 {
		t.Errorf("result %+v", res)
	}
	changedCols := map[string]int64{}
	for _, c := range res.Columns {
		changedCols[c.Name] = c.Changed
	}
	if changedCols["net_revenue"] != res.Changed || changedCols["order_total"] != 0 {
		t.Errorf("per-column counts %v", changedCols)
	}

	// Each model of the environment against production, keyed from the project.
	code, out, errOut = runCLI("diff", "--project", dir, "--env", "pr_9", "--warehouse", dsn)
	if code != exitOK {
		t.Fatalf("diff --project: %d\n%s", code, errOut)
	}
	for _, want := range []string{"== fct_orders", "key  order_id", "== dim_customers", "key  customer_id", "net_revenue", "changed (base -> head):",
		"monthly_revenue_by_region: monthly_revenue_by_region has no key, so rows were only counted",
		// every model's profile, the keyless one's too
		"Profile (production → here): 500 rows, 1 column of 16 changed.", "Profile (production → here): 43 rows, 2 columns of 8 changed."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// --json: each model's profile diff under "profile", the keyless
	// model's too, its row counts agreeing with the data diff's.
	code, out, errOut = runCLI("diff", "--project", dir, "--env", "pr_9", "--warehouse", dsn, "--json")
	if code != exitOK {
		t.Fatalf("diff --project --json: %d\n%s", code, errOut)
	}
	var models []modelDiff
	if err := json.Unmarshal([]byte(out), &models); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, m := range models {
		seen[m.Model] = true
		p := m.Profile
		if p == nil || p.Base == nil || p.Head == nil || m.ProfileError != "" {
			t.Errorf("%s: no profile (%s)", m.Model, m.ProfileError)
			continue
		}
		if m.Result == nil || p.Base.Rows != m.Result.Base.Rows || p.Head.Rows != m.Result.Head.Rows || len(p.Head.Columns) != len(m.Result.Head.Columns) {
			t.Errorf("%s: profile of %d → %d rows, %d columns; the data diff counted %+v", m.Model, p.Base.Rows, p.Head.Rows, len(p.Head.Columns), m.Result)
		}
		if m.Model == "fct_orders" && !slices.Contains(p.Changed, "net_revenue") {
			t.Errorf("fct_orders: changed columns %v lack net_revenue", p.Changed)
		}
		if m.Model == "monthly_revenue_by_region" && (!strings.Contains(m.Error, "has no key") || p.Head.Rows == 0 || p.Head.Sampled) {
			t.Errorf("the keyless model: error %q, profile of %d rows", m.Error, p.Head.Rows)
		}
	}
	if !seen["fct_orders"] || !seen["monthly_revenue_by_region"] {
		t.Errorf("--json models %v", seen)
	}

	badColumn := filepath.Join(t.TempDir(), "column.yml")
	writeFile(t, badColumn, "profile:\n  columns:\n    - model: fct_orders\n      column: net_revenu\n")
	badModel := filepath.Join(t.TempDir(), "model.yml")
	writeFile(t, badModel, "profile:\n  columns:\n    - model: fct_ordres\n      column: net_revenue\n")
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"diff", "--warehouse", dsn, "--base", "main.fct_orders"}, exitUsage, "give --base and --head"},
		{[]string{"diff", "--warehouse", dsn, "--base", "fct_orders", "--head", "pr_9.fct_orders"}, exitUsage, `"fct_orders" is not schema.name`},
		{[]string{"diff", "--project", dir, "--warehouse", dsn}, exitUsage, "--project needs --env"},
		{[]string{"diff", "--project", dir, "--env", "pr_9", "--warehouse", dsn, "nope"}, exitUsage, `no model "nope"`},
		{[]string{"diff", "--warehouse", dsn, "--base", "main.fct_orders", "--head", "pr_9.fct_orders", "--sample", "-1"}, exitUsage, "cannot be negative"},
		{[]string{"diff", "--project", dir, "--env", "pr_9", "--warehouse", dsn, "--config", badColumn}, exitUsage,
			badColumn + `:3: profile.columns: model fct_orders has no column "net_revenu"`},
		{[]string{"diff", "--project", dir, "--env", "pr_9", "--warehouse", dsn, "--config", badModel}, exitUsage,
			badModel + `:3: profile.columns: no model "fct_ordres" in the project`},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %s", tc.args[1:], code, stderr)
		}
	}
}

func TestParseRelation(t *testing.T) {
	for in, want := range map[string]string{`main.orders`: "main|orders", `"My Schema"."a.b"`: "My Schema|a.b", `"q""s".t`: `q"s|t`} {
		r, err := parseRelation(in)
		if err != nil || r.Schema+"|"+r.Name != want {
			t.Errorf("%s: %+v %v", in, r, err)
		}
	}
	for _, bad := range []string{"orders", "a.b.c", `"open.t`, ".t"} {
		if _, err := parseRelation(bad); err == nil {
			t.Errorf("%s should not parse", bad)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
