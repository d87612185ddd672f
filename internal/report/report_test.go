package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/golden"

	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

const sha = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"

var commands = []report.Command{
	{Command: "/dataops rerun", What: "run the checks again"},
	{Command: "/dataops diff MODEL", What: "compare one model's data again"},
	{Command: "/dataops deploy", What: "build the change in production once the gate passes"},
}

var target = project.Target{Name: "pr_42", Schema: "pr_42", Type: "duckdb"}

// planFor compiles the shop before and after changes and plans the change.
func planFor(t *testing.T, changes map[string]string) (*plan.Plan, *project.Manifest) {
	base := projecttest.Compile(t, projecttest.Shop(t, nil), target)
	head := projecttest.Compile(t, projecttest.Shop(t, changes), target)
	return plan.Diff(base, head), head
}

func stages(rs ...checks.Result) []scm.Check {
	var out []scm.Check
	for _, r := range rs {
		out = append(out, r.Check())
	}
	return out
}

func side(schema, name string, rows int64) datadiff.Side {
	return datadiff.Side{Relation: warehouse.Relation{Schema: schema, Name: name}, Exists: true, Rows: rows}
}

func TestCleanPR(t *testing.T) {
	p, head := planFor(t, map[string]string{
		"models/marts/daily_revenue.sql": strings.Replace(readShop(t, "models/marts/daily_revenue.sql"), "group by", "-- revenue per day\ngroup by", 1),
		"models/marts/product_sales.sql": readShop(t, "models/marts/product_sales.sql") + "\nwhere 1 = 1\n",
	})
	diffs := []report.ModelDiff{{Model: "product_sales", Path: "models/marts/product_sales.sql", Key: []string{"product_id"},
		Result: &datadiff.Result{Algorithm: "join", Key: []string{"product_id"}, Base: side("main", "product_sales", 20), Head: side("pr_42", "product_sales", 20), Unchanged: 20,
			Columns: []datadiff.ColumnDiff{{Name: "units_sold", MatchPercent: 100}}}}}
	in := report.Input{Project: "shop", Environment: "pr_42", HeadSHA: sha, Base: "main", Plan: p, Head: head, Diffs: diffs, Commands: commands,
		Comparison: scm.Comparison{Base: "1234567890abcdef", Head: "fedcba0987654321", Mode: scm.CompareMerge, PullHead: sha},
		Checks: stages(checks.Compile("", head, plan.Attribution{}), checks.Result{Name: scm.CheckDryRun, Conclusion: checks.Success, Title: "1 model checked by the engine"},
			checks.Result{Name: scm.CheckBuild, Conclusion: checks.Success, Title: "1 built, 0 failed, 0 skipped; tests: 3 passed, 0 failed, 0 warned"},
			checks.Diff(diffs, p, config.FailOn{}), checks.Gate(nil))}
	out := report.Comment(in)
	golden.Check(t, "clean.md", []byte(out))
	if !strings.HasPrefix(out, report.Marker) {
		t.Error("the comment must start with its marker")
	}
}

// TestHeadline: the comment's first lines name the commits compared and
// say when there was no merge to compare.
func TestHeadline(t *testing.T) {
	const base, merge = "1111111aaaa", "2222222bbbb"
	tests := []struct {
		name     string
		cmp      scm.Comparison
		plan     *plan.Plan
		headline string
		where    string
	}{
		{"merge", scm.Comparison{Base: base, Head: merge, Mode: scm.CompareMerge, PullHead: sha}, nil,
			"### ✅ dataops: all checks passed\n",
			"`shop`: 9f8e7d6 merged into `main` (merge 2222222) compared with `main` at 1111111, built in environment `pr_42`"},
		{"conflict", scm.Comparison{Base: base, Head: sha, Mode: scm.CompareMergeBase, PullHead: sha, Why: "the pull request conflicts with main"}, nil,
			"### ✅ dataops: all checks passed (against the merge base)\n",
			"`shop`: 9f8e7d6 compared with its merge base 1111111 with `main` (no merge to compare: the pull request conflicts with main), built in environment `pr_42`"},
		{"work tree", scm.Comparison{Base: base, Mode: scm.CompareMergeBase, PullHead: sha, WorkTree: true}, nil,
			"### ✅ dataops: all checks passed\n",
			"`shop`: the work tree (on 9f8e7d6) compared with its merge base 1111111 with `main`, built in environment `pr_42`"},
		{"work tree merged", scm.Comparison{Base: base, Head: merge, Mode: scm.CompareMerge, PullHead: sha, WorkTree: true}, nil,
			"### ✅ dataops: all checks passed\n",
			"`shop`: the work tree (on 9f8e7d6) merged into `main` (merge 2222222) compared with `main` at 1111111, built in environment `pr_42`"},
		{"tip", scm.Comparison{Base: base, Head: sha, Mode: scm.CompareTip, PullHead: sha}, nil,
			"### ✅ dataops: all checks passed\n",
			"`shop`: 9f8e7d6 compared with `main` at 1111111, built in environment `pr_42`"},
		{"adds the project", scm.Comparison{Base: base, Head: merge, Mode: scm.CompareMerge, PullHead: sha}, &plan.Plan{NoBase: true},
			"### ✅ dataops: all checks passed — the base has no project yet, so every model is new\n",
			"`shop`: 9f8e7d6 merged into `main` (merge 2222222) compared with `main` at 1111111, built in environment `pr_42`"},
		{"removes the project", scm.Comparison{Base: base, Head: merge, Mode: scm.CompareMerge, PullHead: sha}, &plan.Plan{NoHead: true},
			"### ✅ dataops: all checks passed — this pull request removes the project\n",
			"`shop`: 9f8e7d6 merged into `main` (merge 2222222) compared with `main` at 1111111; nothing was built"},
		{"changes no model", scm.Comparison{Base: base, Head: merge, Mode: scm.CompareMerge, PullHead: sha}, &plan.Plan{},
			"### ✅ dataops: all checks passed\n",
			"`shop`: 9f8e7d6 merged into `main` (merge 2222222) compared with `main` at 1111111; nothing was built"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			results := []checks.Result{checks.Gate(nil)}
			if strings.Contains(tc.where, "nothing was built") {
				results = append(results, checks.Skip(scm.CheckBuild, "nothing to build"))
			}
			out := report.Comment(report.Input{Project: "shop", Environment: "pr_42", HeadSHA: sha, Base: "main", Comparison: tc.cmp,
				Checks: stages(results...), Plan: tc.plan})
			if !strings.Contains(out, tc.headline) || !strings.Contains(out, "\n"+tc.where+"\n") || !strings.Contains(out, "head 9f8e7d6") {
				t.Errorf("comment:\n%s\nwant headline %q and %q", out, tc.headline, tc.where)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	ds := project.Diagnostics{
		{Path: "models/orders.sql", Line: 3, Col: 9, Message: `ref to unknown model "stg_order"`, Hint: "did you mean 'stg_orders'?"},
		{Path: "models/schema.yml", Line: 4, Col: 5, Message: `unknown key "descripton" in model properties`, Hint: "did you mean 'description'?"},
	}
	compile := checks.Compile("analytics", nil, plan.Attribution{Introduced: ds})
	if compile.Annotations[0].Path != "analytics/models/orders.sql" || compile.Annotations[0].Line != 3 {
		t.Errorf("annotation %+v", compile.Annotations[0])
	}
	rest := []checks.Result{compile}
	for _, name := range checks.Stages[1:4] {
		rest = append(rest, checks.Skip(name, "the project does not compile"))
	}
	rest = append(rest, checks.Gate(rest))
	in := report.Input{Project: "shop", Environment: "pr_42", HeadSHA: sha, Base: "main", Checks: stages(rest...), Commands: commands}
	golden.Check(t, "compile-errors.md", []byte(report.Comment(in)))
}

// TestExistingCompileErrors: the base has a model that does not compile
// (and one that depends on it); the pull request changes another. The
// comment's compile row says the base had the error, and a folded list
// names the models left unchecked with the reason.
func TestExistingCompileErrors(t *testing.T) {
	broken := map[string]string{"models/legacy.sql": "select *\nfrom {{ ref('dropped_long_ago') }}\n",
		"models/legacy_child.sql": "select * from {{ ref('legacy') }}\n"}
	compile := func(files []project.File) (*project.Manifest, project.Diagnostics) {
		p, ds := project.LoadFiles("shop", files)
		if p == nil {
			t.Fatal(ds)
		}
		return project.Compile(context.Background(), p, project.Options{Target: target})
	}
	base, bds := compile(projecttest.Shop(t, broken))
	broken["models/marts/product_sales.sql"] = readShop(t, "models/marts/product_sales.sql") + "\nwhere 1 = 1\n"
	head, hds := compile(projecttest.Shop(t, broken))
	rs := []checks.Result{checks.Compile("analytics", head, plan.Attribute(base, head, bds, hds))}
	for _, name := range checks.Stages[1:4] {
		rs = append(rs, checks.Skip(name, "turned off for this test"))
	}
	rs = append(rs, checks.Gate(rs))
	in := report.Input{Project: "shop", Environment: "pr_42", HeadSHA: sha, Base: "main", Checks: stages(rs...), Plan: plan.Diff(base, head), Head: head}
	golden.Check(t, "existing-compile-errors.md", []byte(report.Comment(in)))
}

func TestBreakingChange(t *testing.T) {
	golden.Check(t, "breaking.md", []byte(report.Comment(breakingInput(t))))
}

// breakingInput is a pull request renaming a column of fct_orders (a
// breaking change) and adding a model, with a failing test.
func breakingInput(t *testing.T) report.Input {
	fct := readShop(t, "models/marts/fct_orders.sql")
	p, head := planFor(t, map[string]string{
		"models/marts/fct_orders.sql":     strings.Replace(fct, "as numeric(12, 2)) as credit_card_amount", "as numeric(12, 2)) as card_amount", 1),
		"models/marts/orders_per_day.sql": "select order_date, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n",
	})
	for i := range p.Changes {
		if p.Changes[i].Name == "fct_orders" {
			p.Changes[i].Impact = &plan.Impact{Kind: "breaking", Renamed: []plan.Rename{{From: "credit_card_amount", To: "card_amount"}},
				Downstream: []plan.Usage{{Model: "dim_customers", Uses: "no"}, {Model: "daily_revenue", Uses: "yes", Columns: []string{"credit_card_amount"}}}}
		}
		if p.Changes[i].Name == "orders_per_day" {
			p.Changes[i].Impact = &plan.Impact{Kind: "non-breaking", Why: "new model"}
		}
	}
	fctDiff := &datadiff.Result{Algorithm: "join", Key: []string{"order_id"}, Base: side("main", "fct_orders", 500), Head: side("pr_42", "fct_orders", 498),
		OnlyInBase: 2, Changed: 37, Unchanged: 461,
		Schema:  datadiff.SchemaDiff{Added: []warehouse.Column{{Name: "card_amount", Type: "decimal(12,2)"}}, Removed: []warehouse.Column{{Name: "credit_card_amount", Type: "decimal(12,2)"}}},
		Columns: []datadiff.ColumnDiff{{Name: "net_revenue", Changed: 37, MatchPercent: 92.58}, {Name: "status", Changed: 0, MatchPercent: 100}},
		Samples: datadiff.Samples{
			OnlyInBase: []datadiff.Row{{Key: []any{int64(17)}, Values: map[string]any{"status": "returned", "net_revenue": "0.00"}}},
			Changed:    []datadiff.ChangedRow{{Key: []any{int64(3)}, Changes: map[string][2]any{"net_revenue": {"120.50", "0.00"}}}, {Key: []any{int64(9)}, Changes: map[string][2]any{"net_revenue": {"15.00", nil}}}},
		}}
	diffs := []report.ModelDiff{
		{Model: "fct_orders", Path: "models/marts/fct_orders.sql", Key: []string{"order_id"}, Result: fctDiff},
		{Model: "orders_per_day", Path: "models/marts/orders_per_day.sql", Key: []string{"order_date"},
			Result: &datadiff.Result{Algorithm: "join", Key: []string{"order_date"}, Base: datadiff.Side{Relation: warehouse.Relation{Schema: "main", Name: "orders_per_day"}}, Head: side("pr_42", "orders_per_day", 300), OnlyInHead: 300}},
		{Model: "dim_customers", Path: "models/marts/dim_customers.sql", Error: "dim_customers has no key, so rows were only counted"},
	}
	buildRes := &build.Result{Nodes: []build.NodeResult{
		{Name: "fct_orders", Kind: project.KindModel, Status: build.StatusSuccess, Rows: 498},
		{Name: "accepted_values_fct_orders_status", Kind: project.KindTest, Path: "models/marts/_marts.yml", Status: build.StatusFail, Failures: 2,
			Message: "2 failing rows", Failure: &build.Failure{Path: "models/marts/_marts.yml", Line: 31, Message: "accepted_values test on fct_orders.status: 2 failing rows"}},
	}}
	diffCheck := checks.Diff(diffs, p, config.FailOn{BreakingChange: true})
	if diffCheck.Conclusion != checks.Failure {
		t.Errorf("a breaking change fails the diff when the rules say so: %+v", diffCheck)
	}
	all := []checks.Result{checks.Compile("", head, plan.Attribution{}), {Name: scm.CheckDryRun, Conclusion: checks.Success, Title: "2 models checked by the engine; 1 breaking change"},
		checks.Build("", buildRes), diffCheck}
	all = append(all, checks.Gate(all))
	return report.Input{Project: "shop", Environment: "pr_42", HeadSHA: sha, Base: "main", Plan: p, Head: head, Diffs: diffs, Build: buildRes,
		Checks: stages(all...), Commands: commands}
}

func TestHugePRIsShortened(t *testing.T) {
	in := hugeInput()
	full := report.Full(in)
	if len([]rune(full)) <= report.MaxComment {
		t.Fatalf("the test input should not fit: %d characters", len(full))
	}
	out := report.Comment(in)
	if n := len([]rune(out)); n > report.MaxComment {
		t.Errorf("comment is %d characters, over %d", n, report.MaxComment)
	}
	if !strings.Contains(out, "This comment was shortened to fit GitHub's limit. The full report is in the dataops/diff check run") {
		t.Error("a shortened comment must say where the full detail is")
	}
	golden.Check(t, "huge.md", []byte(out))
}

// hugeInput is 600 changed models with 12 changed columns each: far more
// than a comment holds.
func hugeInput() report.Input {
	var changes []plan.NodeChange
	var diffs []report.ModelDiff
	for i := 0; i < 600; i++ {
		name := fmt.Sprintf("model_%03d_with_a_rather_long_descriptive_name", i)
		changes = append(changes, plan.NodeChange{ID: "model.big." + name, Name: name, Kind: project.KindModel, Status: plan.Modified, Reasons: []string{"sql"}})
		var cols []datadiff.ColumnDiff
		var samples []datadiff.ChangedRow
		for c := 0; c < 12; c++ {
			cols = append(cols, datadiff.ColumnDiff{Name: fmt.Sprintf("column_%02d", c), Changed: int64(c + 1), MatchPercent: 99.5})
			samples = append(samples, datadiff.ChangedRow{Key: []any{int64(c)}, Changes: map[string][2]any{fmt.Sprintf("column_%02d", c): {"a long value before", "a long value after"}}})
		}
		diffs = append(diffs, report.ModelDiff{Model: name, Key: []string{"id"}, Result: &datadiff.Result{Key: []string{"id"},
			Base: side("main", name, 1000), Head: side("pr_42", name, 1000), Changed: 12, Unchanged: 988, Columns: cols, Samples: datadiff.Samples{Changed: samples}}})
	}
	p := &plan.Plan{Project: "big", Changes: changes}
	return report.Input{Project: "big", Environment: "pr_42", HeadSHA: sha, Base: "main", Plan: p, Diffs: diffs, Commands: commands,
		Checks:      stages(checks.Result{Name: scm.CheckDiff, Conclusion: checks.Neutral, Title: "600 models of 600 compared changed data"}),
		FullDetails: "The full report is in the dataops/diff check run and the workflow's step summary."}
}

func readShop(t *testing.T, path string) string {
	data, err := os.ReadFile(filepath.Join(projecttest.ShopDir(), path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
