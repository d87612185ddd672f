package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// gitShop copies examples/shop into a new git repository and commits it.
func gitShop(t *testing.T) string {
	t.Helper()
	dir := copyDir(t, "../../examples/shop")
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "base"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func TestPlanCommand(t *testing.T) {
	dir := gitShop(t)
	dsn := "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb")
	if code, out, errOut := runCLI("build", "--project", dir, "--warehouse", dsn, "--target", "prod"); code != exitOK {
		t.Fatalf("production build: %d\n%s\n%s", code, out, errOut)
	}
	path := filepath.Join(dir, "models/marts/dim_customers.sql")
	data, _ := os.ReadFile(path)
	changed := strings.Replace(string(data), "numeric(12, 2)) as lifetime_value,", "numeric(12, 2)) as lifetime_revenue,", 1)
	if changed == string(data) {
		t.Fatal("the edit did not apply")
	}
	os.WriteFile(path, []byte(changed), 0o644)
	os.WriteFile(filepath.Join(dir, "models/staging/stg_orders.sql"), append(mustRead(t, filepath.Join(dir, "models/staging/stg_orders.sql")), "\n-- note\n"...), 0o644)

	code, out, errOut := runCLI("plan", "--project", dir, "--base", "HEAD", "--warehouse", dsn)
	if code != exitOK {
		t.Fatalf("plan: %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"Plan for shop: compared the work tree (on ",
		", its merge base with HEAD\n",
		"~ dim_customers (table)  models/marts/dim_customers.sql  [sql]",
		"breaking: renamed lifetime_value -> lifetime_revenue",
		"customer_segments: uses lifetime_value",
		"= stg_orders (view)",
		"> customer_segments (table)",
		"Would build 3 nodes: dim_customers, customer_segments, monthly_revenue_by_region",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI("plan", "--project", dir, "--base", "HEAD", "--json")
	var p plan.Plan
	if code != exitOK || json.Unmarshal([]byte(out), &p) != nil || len(p.Build) != 3 {
		t.Errorf("plan --json: %d\n%s", code, out)
	}

	// build --base builds exactly what the plan lists. dim_customers' own
	// not_null test on the renamed column now errors, so what reads
	// dim_customers is skipped, as the plan warned.
	code, out, errOut = runCLI("build", "--project", dir, "--warehouse", dsn, "--env", "pr_3", "--base", "HEAD", "--defer-to", "main", "--json")
	if code != exitFailure {
		t.Fatalf("build --base: %d\n%s\n%s", code, out, errOut)
	}
	var res struct {
		Nodes []struct {
			Name, Status, Message string
			Kind                  string `json:"resource_type"`
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var models []string
	for _, n := range res.Nodes {
		got[n.Name] = n.Status
		if n.Kind == "model" {
			models = append(models, n.Name)
		}
	}
	if got["dim_customers"] != "success" || got["not_null_dim_customers_lifetime_value"] != "error" || got["customer_segments"] != "skipped" {
		t.Errorf("statuses %v", got)
	}
	if strings.Join(models, ",") != "dim_customers,customer_segments,monthly_revenue_by_region" {
		t.Errorf("built %v, want only what the plan lists", models)
	}

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"plan", "--project", dir}, exitUsage, "--base is required"},
		{[]string{"plan", "--project", dir, "--base", "nope"}, exitFailure, `unknown git revision "nope"`},
		{[]string{"plan", "--project", t.TempDir(), "--base", "HEAD"}, exitUsage, "no dbt_project.yml"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %s", tc.args, code, stderr)
		}
	}
}

// TestPlanPartial: plan compares what compiled, as a pull request's checks
// do. An error the base already had is listed as the base's and its models
// are left out; a model that queries while compiling needs --warehouse,
// and with it is planned; an error the change brings is printed at its
// line, the plan of the rest still printed, and the exit status is 1.
func TestPlanPartial(t *testing.T) {
	dir := gitShop(t)
	dsn := "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb")
	os.WriteFile(filepath.Join(dir, "models/legacy.sql"), []byte("select * from {{ ref('dropped_long_ago') }}\n"), 0o644)
	projecttest.Git(t, dir, "add", "-A")
	projecttest.Commit(t, dir, "a base with a broken model")
	os.WriteFile(filepath.Join(dir, "models/asks.sql"), []byte("{% set r = run_query('select 41 + 1 as n') %}\n"+
		"select {{ r.columns[0].values()[0] if execute else 0 }} as n\n"), 0o644)

	code, out, errOut := runCLI("plan", "--project", dir, "--base", "HEAD")
	for _, want := range []string{"1 compile error the base ", " already had (not this change's):\n  " + filepath.Join(dir, "models/legacy.sql") + ":1:18: ref to unknown model",
		"not compiled: model asks (" + filepath.Join(dir, "models/asks.sql") + "): needs a warehouse to compile", "pass --warehouse DSN"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("plan without a warehouse: stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != exitOK || !strings.Contains(out, "No changes to models") {
		t.Errorf("plan without a warehouse: exit %d\n%s", code, out)
	}

	code, out, errOut = runCLI("plan", "--project", dir, "--base", "HEAD", "--warehouse", dsn)
	if code != exitOK || !strings.Contains(out, "+ asks (view)  models/asks.sql") || strings.Contains(errOut, "not compiled: model asks") {
		t.Errorf("plan with a warehouse: exit %d\n%s\n%s", code, out, errOut)
	}

	os.WriteFile(filepath.Join(dir, "models/marts/product_sales.sql"), []byte("select 1 as id\n\nfrom {{ ref('stg_product') }}\n"), 0o644)
	code, out, errOut = runCLI("plan", "--project", dir, "--base", "HEAD", "--warehouse", dsn)
	if code != exitFailure || !strings.Contains(errOut, filepath.Join(dir, "models/marts/product_sales.sql")+":3:9: ref to unknown model \"stg_product\"") ||
		!strings.Contains(out, "+ asks (view)") {
		t.Errorf("plan with the change's own error: exit %d\n%s\n%s", code, out, errOut)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPlanOnlyTheChange: main moved on (product_sales gained a column)
// after the branch was made; plan and build --base main compare the branch
// with its merge base by default, as git diff main...HEAD does, so what
// main gained is not the branch's change: the plan lists fct_orders and
// what reads it, not product_sales, and build --base builds only that.
func TestPlanOnlyTheChange(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prEdits projecttest.Edits
		want    string
	}{
		{name: "branch changes Y", want: projecttest.CardAmountBuilds},
		{name: "branch also changes X", prEdits: projecttest.AlsoEditsX, want: projecttest.CardAmountBuilds + ",product_sales"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, dsn, shas := divergedRepo(t, projecttest.MainMovesOn, tc.prEdits)
			code, out, errOut := runCLI("plan", "--project", dir, "--base", "main")
			if code != exitOK {
				t.Fatalf("plan: exit %d\n%s", code, errOut)
			}
			if said := "Plan for shop: compared the work tree (on " + shas[2][:7] + ") with " + shas[0][:7] + ", its merge base with main\n"; !strings.HasPrefix(out, said) {
				t.Errorf("the plan does not name the commits %q:\n%s", said, out)
			}
			code, out, errOut = runCLI("plan", "--project", dir, "--base", "main", "--json")
			var p plan.Plan
			if code != exitOK || json.Unmarshal([]byte(out), &p) != nil {
				t.Fatalf("plan --json: exit %d\n%s\n%s", code, out, errOut)
			}
			var models []string
			for _, id := range p.Build {
				if strings.HasPrefix(id, "model.") {
					models = append(models, strings.TrimPrefix(id, "model.shop."))
				}
			}
			sort.Strings(models)
			if got := strings.Join(models, ","); got != tc.want {
				t.Errorf("the plan builds %s, want %s", got, tc.want)
			}
			if p.Base != shas[0] {
				t.Errorf("the plan's base is %q, want the merge base %s", p.Base, shas[0])
			}
			if code, out, errOut := runCLI("build", "--project", dir, "--warehouse", dsn, "--env", "pr_9", "--base", "main", "--defer-to", "main"); code != exitOK {
				t.Fatalf("build --base main: exit %d\n%s\n%s", code, out, errOut)
			}
			if got := relationsIn(t, dsn, "pr_9"); got != tc.want {
				t.Errorf("build --base main built %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPlanSeeds: plan --warehouse judges a change against the seeds as the
// change has them, as the pull request's dry run does, not production's: a
// model reading a new seed is a new model with the seed's columns, a model
// reading a column the change adds to a seed gains it, and a seed whose CSV
// is broken is named as the cause. Nothing is written to the warehouse.
func TestPlanSeeds(t *testing.T) {
	cases := []struct {
		name   string
		edits  projecttest.Edits
		want   []string
		stderr string
	}{
		{name: "adds a seed and a model reading it",
			edits: projecttest.Edits{
				"seeds/new_seed.csv": {"", "code,label\n1,one\n"},
				"models/marts/x.sql": {"", "select code + 1 as next_code, label\nfrom {{ ref('new_seed') }}\n"},
			},
			want: []string{"+ x (table)  models/marts/x.sql\n      non-breaking: new model"}},
		{name: "adds a column to a seed and reads it",
			edits: projecttest.Edits{
				"seeds/country_codes.csv":        {}, // withColumn
				"models/marts/dim_customers.sql": {"as region,\n", "as region,\n    (select max(c.subregion) from {{ ref('country_codes') }} c where c.country_code = customers.country_code) as subregion,\n"},
			},
			want: []string{"      non-breaking: added subregion"}},
		{name: "breaks a seed's CSV",
			edits: projecttest.Edits{
				"seeds/country_codes.csv":        {"\nCA,Canada,North America\n", "\nCA,Canada\n"},
				"models/marts/dim_customers.sql": {"coalesce(countries.region, 'Unknown')", "coalesce(countries.region, 'None')"},
			},
			want:   []string{"      unknown: the dry run failed: upstream seed country_codes failed"},
			stderr: "seeds/country_codes.csv:3: seed line 3: 2 fields, but the header has 3"},
	}
	for _, e := range engineDSNs {
		t.Run(e.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					dsn := e.dsn(t)
					dir := seedRepo(t, dsn, tc.edits)
					before := relationsIn(t, dsn, "main") + " " + relationsIn(t, dsn, "raw")
					code, out, errOut := runCLI("plan", "--project", dir, "--base", "main", "--warehouse", dsn)
					if code != exitOK {
						t.Errorf("exit %d\n%s\n%s", code, out, errOut)
					}
					for _, want := range tc.want {
						if !strings.Contains(out, want) {
							t.Errorf("the plan lacks %q:\n%s", want, out)
						}
					}
					if !strings.Contains(errOut, tc.stderr) {
						t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
					}
					if strings.Contains(out, "does not exist") || strings.Contains(out, "could not check") {
						t.Errorf("the plan read a seed of the change from production:\n%s", out)
					}
					if after := relationsIn(t, dsn, "main") + " " + relationsIn(t, dsn, "raw"); after != before {
						t.Errorf("the warehouse changed: %s, was %s", after, before)
					}
				})
			}
		})
	}
}
