package plan_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	_ "github.com/dataops-dev/dataops/internal/warehouse/postgres"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// shopRepo makes a git repository holding examples/shop in a subfolder
// (as a dbt project usually sits in a repository), commits it, and returns
// the project folder.
func shopRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "analytics")
	for _, f := range projecttest.Shop(t, nil) {
		write(t, dir, f.Path, string(f.Content))
	}
	gitRun(t, root, "init", "-q")
	commitAll(t, root, "base")
	return dir
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commitAll(t *testing.T, dir, msg string) {
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", msg)
}

func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if old == "" {
		data = append(data, new...)
	} else {
		if !strings.Contains(string(data), old) {
			t.Fatalf("%s does not contain %q", file, old)
		}
		data = []byte(strings.Replace(string(data), old, new, 1))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, file)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func summary(p *plan.Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Changes {
		if c.Kind == project.KindTest {
			continue
		}
		s := string(c.Status)
		if len(c.Reasons) > 0 {
			s += " " + strings.Join(c.Reasons, "; ")
		}
		out[c.Name] = s
	}
	return out
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   map[string]string // non-test nodes with their status and reasons
		build  string            // names to build
	}{
		{
			name:   "sql body",
			change: func(t *testing.T, dir string) { edit(t, dir, "models/marts/product_sales.sql", "", "where 1 = 1\n") },
			want:   map[string]string{"product_sales": "modified sql"},
			build:  "product_sales",
		},
		{
			name: "whitespace and comments only",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "models/marts/product_sales.sql", "select", "-- why this model exists\nSELECT  ")
			},
			want: map[string]string{"product_sales": "cosmetic"},
		},
		{
			name: "a string literal is not cosmetic",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "models/staging/stg_orders.sql", "cast('{{ var(\"min_order_date\") }}' as timestamp)", "cast('{{ var(\"min_order_date\") }} ' as timestamp)")
			},
			want:  map[string]string{"stg_orders": "modified sql"},
			build: "stg_orders,fct_orders,dim_customers,customer_segments,daily_revenue,monthly_revenue_by_region,product_sales",
		},
		{
			name: "config",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "models/marts/daily_revenue.sql", "materialized='view'", "materialized='table'")
			},
			want:  map[string]string{"daily_revenue": "modified config: materialized"},
			build: "daily_revenue",
		},
		{
			name: "macro used",
			change: func(t *testing.T, dir string) {
				edit(t, dir, "macros/safe_divide.sql", "nullif", "NULLIF")
				edit(t, dir, "macros/safe_divide.sql", "", "\n{# a note #}\n")
			},
			want: map[string]string{"customer_segments": "modified macro safe_divide", "dim_customers": "modified macro safe_divide",
				"monthly_revenue_by_region": "modified macro safe_divide"},
		},
		{
			name:   "var used",
			change: func(t *testing.T, dir string) { edit(t, dir, "dbt_project.yml", "'2024-01-01'", "'2024-03-01'") },
			want: map[string]string{"stg_orders": "modified var min_order_date", "fct_orders": "impacted", "dim_customers": "impacted",
				"customer_segments": "impacted", "daily_revenue": "impacted", "monthly_revenue_by_region": "impacted", "product_sales": "impacted"},
		},
		{
			name:   "seed data",
			change: func(t *testing.T, dir string) { edit(t, dir, "seeds/country_codes.csv", "", "ZZ,Nowhere,Other\n") },
			want:   map[string]string{"country_codes": "modified data", "dim_customers": "impacted", "customer_segments": "impacted", "monthly_revenue_by_region": "impacted"},
		},
		{
			name: "added and removed models",
			change: func(t *testing.T, dir string) {
				write(t, dir, "models/marts/orders_per_day.sql", "select order_date, count(*) as n from {{ ref('fct_orders') }} group by 1\n")
				if err := os.Remove(filepath.Join(dir, "models/marts/daily_revenue.sql")); err != nil {
					t.Fatal(err)
				}
				edit(t, dir, "models/marts/_marts.yml", "  - name: daily_revenue", "  - name: daily_revenue_gone")
			},
			want:  map[string]string{"orders_per_day": "added", "daily_revenue": "removed"},
			build: "orders_per_day",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := shopRepo(t)
			tc.change(t, dir)
			if tc.name == "added and removed models" {
				// Removing a model's properties entry too: it described the model.
				data, _ := os.ReadFile(filepath.Join(dir, "models/marts/_marts.yml"))
				start := strings.Index(string(data), "  - name: daily_revenue_gone")
				end := strings.Index(string(data)[start+5:], "\n  - name:") + start + 5
				os.WriteFile(filepath.Join(dir, "models/marts/_marts.yml"), append(data[:start:start], data[end+1:]...), 0o644)
			}
			revs, err := plan.CompileRevisions(context.Background(), dir, "HEAD", "", plan.RevisionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := plan.Diff(revs.Base, revs.Head)
			got := summary(p)
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("%s: %q, want %q", name, got[name], want)
				}
			}
			for name, g := range got {
				if _, ok := tc.want[name]; !ok && !strings.HasPrefix(g, "impacted") {
					t.Errorf("unexpected change %s: %s", name, g)
				}
			}
			if tc.build != "" {
				var names []string
				for _, id := range p.Build {
					names = append(names, revs.Head.Nodes[id].Name)
				}
				if gotB := strings.Join(names, ","); !sameSet(gotB, tc.build) {
					t.Errorf("build %s, want %s", gotB, tc.build)
				}
			}
		})
	}
}

func sameSet(a, b string) bool {
	x, y := strings.Split(a, ","), strings.Split(b, ",")
	sort.Strings(x)
	sort.Strings(y)
	return strings.Join(x, ",") == strings.Join(y, ",")
}

func TestStateSelector(t *testing.T) {
	dir := shopRepo(t)
	edit(t, dir, "models/marts/customer_segments.sql", "", "-- note\n")
	edit(t, dir, "models/marts/dim_customers.sql", "", "where 1 = 1\n")
	revs, err := plan.CompileRevisions(context.Background(), dir, "HEAD", "", plan.RevisionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Diff(revs.Base, revs.Head)
	for expr, want := range map[string]string{
		"state:modified":  "dim_customers",
		"state:modified+": "customer_segments,dim_customers,monthly_revenue_by_region",
		"state:impacted":  "customer_segments,monthly_revenue_by_region",
	} {
		sel, err := revs.Head.Select(expr, p.Selectors())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for id := range sel {
			if revs.Head.Nodes[id].Kind == project.KindModel {
				names = append(names, revs.Head.Nodes[id].Name)
			}
		}
		if !sameSet(strings.Join(names, ","), want) {
			t.Errorf("%s selects %v, want %s", expr, names, want)
		}
	}
	if _, err := revs.Head.Select("state:changed", p.Selectors()); err == nil || !strings.Contains(err.Error(), "state:modified") {
		t.Errorf("unknown state: %v", err)
	}
}

func TestRevisionErrors(t *testing.T) {
	dir := shopRepo(t)
	_, err := plan.CompileRevisions(context.Background(), dir, "no-such-branch", "", plan.RevisionOptions{})
	if err == nil || !strings.Contains(err.Error(), `unknown git revision "no-such-branch"`) {
		t.Errorf("unknown revision: %v", err)
	}
	_, err = plan.CompileRevisions(context.Background(), t.TempDir(), "HEAD", "", plan.RevisionOptions{})
	if err == nil {
		t.Error("a folder outside git should fail")
	}
	// A model of the head that does not compile: the rest is compared, and
	// its problem comes back positioned, as the pull request's.
	edit(t, dir, "models/marts/product_sales.sql", "", "{{ ref('nope') }}\n")
	revs, err := plan.CompileRevisions(context.Background(), dir, "HEAD", "", plan.RevisionOptions{})
	if err != nil || len(revs.Problems.Introduced) != 1 || revs.Problems.Introduced[0].Path != "models/marts/product_sales.sql" ||
		len(revs.Problems.Existing) != 0 || revs.Head.Nodes["model.shop.fct_orders"] == nil {
		t.Errorf("head problems: %v %+v", err, revs)
	}
	// The same model broken in the base too: the problem is the base's,
	// and the change elsewhere is still planned.
	commitAll(t, filepath.Dir(dir), "broken")
	edit(t, dir, "models/marts/fct_orders.sql", "as numeric(12, 2)) as order_total", "as numeric(12, 2)) as total")
	revs, err = plan.CompileRevisions(context.Background(), dir, "HEAD", "", plan.RevisionOptions{})
	if err != nil || len(revs.Problems.Introduced) != 0 || len(revs.Problems.Existing) != 1 {
		t.Fatalf("broken base: %v %+v", err, revs)
	}
	if p := plan.Diff(revs.Base, revs.Head); !hasChange(p, "fct_orders", plan.Modified) || hasChange(p, "product_sales", plan.Removed) {
		t.Errorf("plan over a broken base: %+v", p.Changes)
	}
	// A base without dbt_project.yml has no project yet: everything is
	// added (TestRevisionsWithoutProject).
	commitAll(t, filepath.Dir(dir), "more")
	os.Rename(filepath.Join(dir, "dbt_project.yml"), filepath.Join(dir, "gone.yml"))
	commitAll(t, filepath.Dir(dir), "no project")
	os.Rename(filepath.Join(dir, "gone.yml"), filepath.Join(dir, "dbt_project.yml"))
	revs, err = plan.CompileRevisions(context.Background(), dir, "HEAD", "", plan.RevisionOptions{})
	if err != nil || !revs.NoBase || !hasChange(plan.Diff(revs.Base, revs.Head), "fct_orders", plan.Added) {
		t.Errorf("base without a project: %v", err)
	}
	// A head that is not a project: its problems come back positioned.
	os.WriteFile(filepath.Join(dir, "dbt_project.yml"), []byte("name: [\n"), 0o644)
	_, err = plan.CompileRevisions(context.Background(), dir, "HEAD", "", plan.RevisionOptions{})
	var hp plan.HeadProblems
	if !asHead(err, &hp) || hp.Diagnostics[0].Path != "dbt_project.yml" {
		t.Errorf("head problems: %v", err)
	}
}

func hasChange(p *plan.Plan, name string, status plan.Status) bool {
	for _, c := range p.Changes {
		if c.Name == name && c.Status == status {
			return true
		}
	}
	return false
}

func asHead(err error, hp *plan.HeadProblems) bool {
	h, ok := err.(plan.HeadProblems)
	if ok {
		*hp = h
	}
	return ok
}

func TestAssess(t *testing.T) {
	for _, e := range []struct {
		name string
		open func(testing.TB) warehouse.Warehouse
	}{{"duckdb", warehousetest.DuckDB}, {"postgres", warehousetest.Postgres}} {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			w := e.open(t)
			dir := shopRepo(t)
			prod := project.Target{Name: "prod", Schema: "analytics", Type: w.Dialect().Name()}
			p, ds := project.Load(dir)
			if p == nil {
				t.Fatal(ds)
			}
			m, ds := project.Compile(context.Background(), p, project.Options{Target: prod})
			if len(ds) > 0 {
				t.Fatal(ds)
			}
			all, _ := m.Select("", nil)
			if res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
				t.Fatalf("production build: %v", err)
			}
			// Breaking: a column renamed, one retyped, the key changed.
			edit(t, dir, "models/marts/fct_orders.sql", "as numeric(12, 2)) as credit_card_amount", "as numeric(12, 2)) as card_amount")
			edit(t, dir, "models/marts/fct_orders.sql", "cast(coalesce(order_lines.line_count, 0) as integer) as line_count", "cast(coalesce(order_lines.line_count, 0) as varchar) as line_count")
			// Non-breaking: a column added.
			edit(t, dir, "models/marts/product_sales.sql", "select\n    products.product_id,", "select\n    1 as one,\n    products.product_id,")
			// Grain: unique key changed on an incremental model... use dim_customers' unique test-free config.
			write(t, dir, "models/marts/new_model.sql", "select customer_id from {{ ref('dim_customers') }}\n")
			revs, err := plan.CompileRevisions(ctx, dir, "HEAD", "", plan.RevisionOptions{Target: "prod"})
			if err != nil {
				t.Fatal(err)
			}
			// CompileRevisions used profiles.yml's prod target (schema main);
			// production here is analytics.
			pl := plan.Diff(revs.Base, revs.Head)
			pl.Assess(ctx, w, revs.Base, revs.Head, prod)
			byName := map[string]plan.NodeChange{}
			for _, c := range pl.Changes {
				byName[c.Name] = c
			}
			fct := byName["fct_orders"].Impact
			if fct == nil || fct.Kind != "breaking" || len(fct.Renamed) != 1 || fct.Renamed[0].To != "card_amount" || len(fct.Retyped) != 1 || fct.Retyped[0].Name != "line_count" {
				t.Fatalf("fct_orders impact = %+v", fct)
			}
			uses := map[string]string{}
			for _, u := range fct.Downstream {
				uses[u.Model] = u.Uses + " " + strings.Join(u.Columns, ",")
			}
			if uses["daily_revenue"] != "no " || uses["dim_customers"] != "no " {
				t.Errorf("downstream usage = %v", uses)
			}
			if ps := byName["product_sales"].Impact; ps == nil || ps.Kind != "non-breaking" || len(ps.Added) != 1 || ps.Added[0].Name != "one" {
				t.Errorf("product_sales impact = %+v", ps)
			}
			if nm := byName["new_model"].Impact; nm == nil || nm.Kind != "non-breaking" || nm.Why != "new model" {
				t.Errorf("new_model impact = %+v", nm)
			}
		})
	}
}

// TestAssessWithDryRun: a model reading a seed the change adds cannot be
// assessed against production, which lacks the seed; with the dry run's
// columns, which read the seed from its file, it is a new model.
func TestAssessWithDryRun(t *testing.T) {
	ctx := context.Background()
	w := warehousetest.DuckDB(t)
	dir := shopRepo(t)
	prod := project.Target{Name: "prod", Schema: "analytics", Type: "duckdb"}
	p, _ := project.Load(dir)
	m, ds := project.Compile(ctx, p, project.Options{Target: prod})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	all, _ := m.Select("", nil)
	if res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
		t.Fatal("production build failed")
	}
	write(t, dir, "seeds/new_seed.csv", "code,label\n1,one\n")
	write(t, dir, "models/marts/x.sql", "select code, label from {{ ref('new_seed') }}\n")
	revs, err := plan.CompileRevisions(ctx, dir, "HEAD", "", plan.RevisionOptions{Target: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	pl := plan.Diff(revs.Base, revs.Head)
	dry, err := build.Run(ctx, build.Options{Manifest: revs.Head, Warehouse: w, Selection: pl.Selection(revs.Head), Defer: &prod, DryRun: true})
	if err != nil || dry.Failed() {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	known := map[string][]warehouse.Column{}
	for _, n := range dry.Nodes {
		known[n.ID] = n.Columns
	}
	for _, tc := range []struct {
		name  string
		known map[string][]warehouse.Column
		kind  string
		why   string
	}{
		{"production's seeds", nil, "unknown", "the engine could not check the new SQL"},
		{"the dry run's columns", known, "non-breaking", "new model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := plan.Diff(revs.Base, revs.Head)
			pl.AssessWith(ctx, w, revs.Base, revs.Head, prod, tc.known)
			found := false
			for _, c := range pl.Changes {
				if c.Name != "x" {
					continue
				}
				found = true
				if c.Impact == nil || c.Impact.Kind != tc.kind || !strings.HasPrefix(c.Impact.Why, tc.why) {
					t.Errorf("x impact = %+v, want %s: %s", c.Impact, tc.kind, tc.why)
				}
				if tc.known != nil && (len(c.Impact.Added) != 2 || c.Impact.Added[0].Name != "code") {
					t.Errorf("x's columns = %+v", c.Impact.Added)
				}
			}
			if !found {
				t.Errorf("x is not a change: %+v", pl.Changes)
			}
		})
	}
}

func TestDownstreamUsage(t *testing.T) {
	ctx := context.Background()
	w := warehousetest.DuckDB(t)
	dir := shopRepo(t)
	write(t, dir, "models/marts/uses_total.sql", "select order_id, order_total from {{ ref('fct_orders') }}\n")
	write(t, dir, "models/marts/uses_star.sql", "select * from {{ ref('fct_orders') }}\n")
	commitAll(t, filepath.Dir(dir), "more models")
	prod := project.Target{Name: "prod", Schema: "analytics", Type: "duckdb"}
	p, _ := project.Load(dir)
	m, ds := project.Compile(context.Background(), p, project.Options{Target: prod})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	all, _ := m.Select("", nil)
	if res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
		t.Fatal("production build failed")
	}
	edit(t, dir, "models/marts/fct_orders.sql", "as numeric(12, 2)) as order_total", "as numeric(12, 2)) as total")
	revs, err := plan.CompileRevisions(ctx, dir, "HEAD", "", plan.RevisionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pl := plan.Diff(revs.Base, revs.Head)
	pl.Assess(ctx, w, revs.Base, revs.Head, prod)
	for _, c := range pl.Changes {
		if c.Name != "fct_orders" {
			continue
		}
		got := map[string]string{}
		for _, u := range c.Impact.Downstream {
			got[u.Model] = u.Uses + " " + strings.Join(u.Columns, ",")
		}
		want := map[string]string{"uses_total": "yes order_total", "uses_star": "unknown ", "daily_revenue": "yes order_total", "dim_customers": "no "}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %q, want %q", k, got[k], v)
			}
		}
	}
}

// TestRevisionsWithoutProject: a revision without dbt_project.yml in the
// project folder (before the project was added, after it was removed,
// even when the folder is gone from the work tree) is an empty project;
// with none on either side the error names the folder.
func TestRevisionsWithoutProject(t *testing.T) {
	root := t.TempDir()
	write(t, root, "README.md", "# analytics\n")
	base := projecttest.Commit(t, root, "no project yet")
	dir := filepath.Join(root, "analytics")
	for _, f := range projecttest.Shop(t, nil) {
		write(t, dir, f.Path, string(f.Content))
	}
	files, err := plan.ReadRevision(context.Background(), dir, base)
	if err != nil || len(files) != 0 {
		t.Fatalf("the folder before it existed: %d files, %v", len(files), err)
	}

	count := func(p *plan.Plan, s plan.Status) int { return p.Count()[s] }
	revs, err := plan.CompileRevisions(context.Background(), dir, base, "", plan.RevisionOptions{})
	if err != nil {
		t.Fatalf("adds the project: %v", err)
	}
	p := plan.Diff(revs.Base, revs.Head)
	if !revs.NoBase || revs.NoHead || count(p, plan.Added) != len(p.Changes) || len(p.Build) != 19 {
		t.Errorf("adds the project: no base %v, no head %v, %v, build %d", revs.NoBase, revs.NoHead, p.Count(), len(p.Build))
	}

	head := projecttest.Commit(t, root, "add the project")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	revs, err = plan.CompileRevisions(context.Background(), dir, head, "", plan.RevisionOptions{})
	if err != nil {
		t.Fatalf("removes the project: %v", err)
	}
	p = plan.Diff(revs.Base, revs.Head)
	if revs.NoBase || !revs.NoHead || count(p, plan.Removed) != len(p.Changes) || len(p.Changes) == 0 || len(p.Build) != 0 || p.Project != "shop" {
		t.Errorf("removes the project: no base %v, no head %v, %v, build %d, project %q", revs.NoBase, revs.NoHead, p.Count(), len(p.Build), p.Project)
	}

	_, err = plan.CompileRevisions(context.Background(), dir, base, "", plan.RevisionOptions{})
	var np plan.NoProject
	if !errors.As(err, &np) || !strings.Contains(err.Error(), "no dbt_project.yml in `"+dir+"/` at either revision") {
		t.Errorf("no project at all: %v", err)
	}
}

// TestRevisionPackages: dbt_packages/ is not committed (it is in
// .gitignore, as dbt's own template has it); a revision read from git that
// asks for the same packages as the work tree uses those installed there,
// so a model using a package compiles on both sides and is not reported as
// changed. A revision asking for other packages is left without them, and
// one that commits its packages uses its own.
func TestRevisionPackages(t *testing.T) {
	dir := shopRepo(t)
	root := filepath.Dir(dir)
	write(t, root, ".gitignore", "analytics/dbt_packages/\n")
	write(t, dir, "packages.yml", "packages:\n  - local: ../pkgsrc\n")
	write(t, dir, "dbt_packages/mypkg/dbt_project.yml", "name: mypkg\n")
	write(t, dir, "dbt_packages/mypkg/macros/twice.sql", "{% macro twice(x) %}{{ x }} * 2{% endmacro %}\n")
	write(t, dir, "models/uses_pkg.sql", "select {{ mypkg.twice(21) }} as answer\n")
	commitAll(t, root, "a model using a package")
	edit(t, dir, "models/marts/product_sales.sql", "", "\nwhere 1 = 1\n")

	compile := func() *plan.Revisions {
		t.Helper()
		revs, err := plan.CompileRevisions(context.Background(), dir, "HEAD", "", plan.RevisionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return revs
	}
	revs := compile()
	p := plan.Diff(revs.Base, revs.Head)
	if revs.Base.Nodes["model.shop.uses_pkg"] == nil || len(revs.Problems.Introduced)+len(revs.Problems.Existing) > 0 ||
		hasChange(p, "uses_pkg", plan.Modified) || !hasChange(p, "product_sales", plan.Modified) {
		t.Errorf("same packages: base %v, problems %+v, changes %+v", revs.Base.Skipped, revs.Problems, p.Changes)
	}

	// The work tree asks for other packages: the base is read as it is.
	edit(t, dir, "packages.yml", "", "  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n")
	if revs := compile(); revs.Base.Nodes["model.shop.uses_pkg"] != nil || revs.Head.Nodes["model.shop.uses_pkg"] == nil {
		t.Errorf("other packages: the base has uses_pkg %v", revs.Base.Nodes["model.shop.uses_pkg"] != nil)
	}

	// Committed packages are the revision's own.
	gitRun(t, root, "add", "-f", "analytics/dbt_packages")
	gitRun(t, root, "commit", "-q", "-m", "commit the packages")
	revs = compile()
	if revs.Base.Nodes["model.shop.uses_pkg"] == nil {
		t.Errorf("committed packages: %v", revs.Base.Skipped)
	}
}
