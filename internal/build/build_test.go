package build_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	_ "github.com/dataops-dev/dataops/internal/warehouse/postgres"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// engines are the two real warehouses every build test runs on.
var engines = []struct {
	name string
	open func(testing.TB) warehouse.Warehouse
}{
	{"duckdb", warehousetest.DuckDB},
	{"postgres", warehousetest.Postgres},
}

// shop reads examples/shop with some files replaced (an empty content
// removes the file).
func shop(t *testing.T, changes map[string]string) *project.Project {
	t.Helper()
	p, ds := project.LoadFiles("shop", projecttest.Shop(t, changes))
	if p == nil {
		t.Fatal(ds)
	}
	return p
}

func compile(t *testing.T, p *project.Project, target project.Target) *project.Manifest {
	t.Helper()
	m, ds := project.Compile(context.Background(), p, project.Options{Target: target})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	return m
}

func prodTarget(w warehouse.Warehouse) project.Target {
	return project.Target{Name: "prod", Schema: "analytics", Type: w.Dialect().Name()}
}

func envTarget(w warehouse.Warehouse, name string) project.Target {
	return project.Target{Name: name, Schema: name, Type: w.Dialect().Name()}
}

func run(t *testing.T, opts build.Options) *build.Result {
	t.Helper()
	res, err := build.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func selectAll(t *testing.T, m *project.Manifest, expr string) project.Selection {
	t.Helper()
	sel, err := m.Select(expr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m.WithTests(sel)
}

func byName(res *build.Result) map[string]build.NodeResult {
	out := map[string]build.NodeResult{}
	for _, n := range res.Nodes {
		out[n.Name] = n
	}
	return out
}

func tables(t *testing.T, w warehouse.Warehouse, schema string) []string {
	t.Helper()
	d := w.Dialect()
	rows, err := w.Query(context.Background(), "select table_name from information_schema.tables where table_schema = "+d.Placeholder(1)+" order by table_name", schema)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows.Values {
		out = append(out, fmt.Sprint(r[0]))
	}
	sort.Strings(out)
	return out
}

func scalar(t *testing.T, w warehouse.Warehouse, sql string) string {
	t.Helper()
	rows, err := w.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(rows.Values[0][0])
}

// buildProduction builds all of examples/shop as production.
func buildProduction(t *testing.T, w warehouse.Warehouse, p *project.Project) (*project.Manifest, *build.Result) {
	t.Helper()
	m := compile(t, p, prodTarget(w))
	res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, ""), Threads: 4})
	return m, res
}

func TestBuildShop(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p := shop(t, nil)
			_, res := buildProduction(t, w, p)
			if res.Failed() {
				for _, n := range res.Nodes {
					if n.Status.Failed() || n.Status == build.StatusSkipped {
						t.Errorf("%s %s: %s %s", n.Kind, n.Name, n.Status, n.Message)
					}
				}
				t.FailNow()
			}
			got := byName(res)
			for name, want := range map[string]struct {
				status build.Status
				mat    string
			}{
				"raw_orders":         {build.StatusSuccess, "seed"},
				"stg_orders":         {build.StatusSuccess, "view"},
				"int_order_payments": {build.StatusSuccess, "ephemeral"},
				"fct_orders":         {build.StatusSuccess, "incremental"},
				"dim_customers":      {build.StatusSuccess, "table"},
				"daily_revenue":      {build.StatusSuccess, "view"},
				"not_null_dim_customers_first_order_date": {build.StatusWarn, "test"},
				"unique_stg_orders_order_id":              {build.StatusPass, "test"},
				"assert_order_totals_not_negative":        {build.StatusPass, "test"},
			} {
				if got[name].Status != want.status || got[name].Materialized != want.mat {
					t.Errorf("%s: %s/%s, want %s/%s (%s)", name, got[name].Status, got[name].Materialized, want.status, want.mat, got[name].Message)
				}
			}
			if w := got["not_null_dim_customers_first_order_date"]; w.Failures != 18 || w.Sample == nil || len(w.Sample.Values) != build.SampleRows {
				t.Errorf("warn test: %d failures, sample %+v", w.Failures, w.Sample)
			}
			if got["raw_orders"].Rows != 500 || got["raw_orders"].Relation.Schema != "raw" {
				t.Errorf("seed raw_orders: %d rows in %s", got["raw_orders"].Rows, got["raw_orders"].Relation.Schema)
			}
			orders := got["fct_orders"].Rows
			if orders <= 0 || fmt.Sprint(orders) != scalar(t, w, `select count(*) from "analytics"."fct_orders"`) {
				t.Errorf("fct_orders rows = %d", orders)
			}
			if strings.Contains(strings.Join(tables(t, w, "analytics"), ","), "__dataops") {
				t.Errorf("temporary relations left behind: %v", tables(t, w, "analytics"))
			}

			// A second build runs fct_orders incrementally: new rows only,
			// replaced by key, so the count stays.
			_, again := buildProduction(t, w, p)
			if n := byName(again)["fct_orders"]; n.Materialized != "incremental (merge)" || n.Rows != orders || n.Status != build.StatusSuccess {
				t.Errorf("second build of fct_orders: %s %s, %d rows (want %d): %s", n.Status, n.Materialized, n.Rows, orders, n.Message)
			}
		})
	}
}

func TestDeferredEnvironment(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			ctx := context.Background()
			p := shop(t, nil)
			_, prod := buildProduction(t, w, p)
			if prod.Failed() {
				t.Fatal("production build failed")
			}
			env := "pr_7"
			if err := w.CreateEnvironment(ctx, env, warehouse.EnvironmentMarker{PR: 7}); err != nil {
				t.Fatal(err)
			}
			m := compile(t, p, envTarget(w, env))
			prodT := prodTarget(w)
			res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "fct_orders+"), Defer: &prodT, Threads: 2})
			if res.Failed() {
				t.Fatalf("env build failed: %+v", res.Nodes)
			}
			want := "customer_segments,daily_revenue,dim_customers,fct_orders,monthly_revenue_by_region"
			if got := strings.Join(tables(t, w, env), ","); got != want {
				t.Errorf("environment holds %s, want exactly the selected models %s", got, want)
			}
			// dim_customers in the environment reads stg_customers from production.
			sql, _ := m.SQLFor(m.Nodes["model.shop.dim_customers"], false, func(n *project.Node) project.Ref {
				return project.Ref{Relation: m.RelationIn(n, prodT)}
			})
			if !strings.Contains(sql, `"analytics"."stg_customers"`) {
				t.Errorf("deferred SQL does not read production:\n%s", sql)
			}
		})
	}
}

func TestMissingProductionRelation(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p := shop(t, nil)
			m := compile(t, p, envTarget(w, "pr_8"))
			prodT := prodTarget(w)
			res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "daily_revenue"), Defer: &prodT})
			n := byName(res)["daily_revenue"]
			if n.Status != build.StatusError || !strings.Contains(n.Message, `daily_revenue reads model fct_orders from production, but "analytics"."fct_orders" does not exist: build production first, or select it too (+daily_revenue)`) {
				t.Errorf("got %s: %s", n.Status, n.Message)
			}
		})
	}
}

// TestMissingProductionRelationThroughEphemeral: an ephemeral model is
// inlined into the model reading it, so what it reads must exist too; when
// it does not, the reader gets the same clear message as for a relation it
// reads itself, naming the ephemeral model in between, not the engine's
// error. With production built the same selection builds.
func TestMissingProductionRelationThroughEphemeral(t *testing.T) {
	// payment_totals reads only the ephemeral int_order_payments, which
	// reads stg_payments.
	files := map[string]string{"models/marts/payment_totals.sql": "select count(*) as orders, sum(amount_paid) as paid\nfrom {{ ref('int_order_payments') }}\n"}
	cases := []struct {
		name       string
		production bool
		want       string // in payment_totals' message; "" for success
	}{
		{name: "production not built",
			want: `payment_totals reads model stg_payments (through ephemeral int_order_payments) from production, but "analytics"."stg_payments" does not exist: build production first, or select it too (+payment_totals)`},
		{name: "production built", production: true},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					w := e.open(t)
					p := shop(t, files)
					if tc.production {
						if _, prod := buildProduction(t, w, p); prod.Failed() {
							t.Fatalf("production build failed: %+v", prod.Nodes)
						}
					}
					m := compile(t, p, envTarget(w, "pr_8"))
					prodT := prodTarget(w)
					for _, dry := range []bool{true, false} {
						res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "payment_totals"), Defer: &prodT, DryRun: dry})
						n := byName(res)["payment_totals"]
						switch {
						case tc.want == "" && n.Status != build.StatusSuccess:
							t.Errorf("dry run %v: got %s: %s", dry, n.Status, n.Message)
						case tc.want != "" && (n.Status != build.StatusError || !strings.Contains(n.Message, tc.want)):
							t.Errorf("dry run %v: got %s: %s\nwant the message %s", dry, n.Status, n.Message, tc.want)
						}
					}
				})
			}
		})
	}
}

func TestFailuresStopOnlyDownstream(t *testing.T) {
	broken := "{{ config(materialized='table') }}\nselect\n    order_id,\n    no_such_column\nfrom {{ ref('stg_orders') }}\n"
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p := shop(t, nil)
			_, prod := buildProduction(t, w, p)
			if prod.Failed() {
				t.Fatal("production build failed")
			}
			before := scalar(t, w, `select count(*) from "analytics"."product_sales"`)
			// product_sales breaks; fct_orders and its downstream do not depend on it.
			p = shop(t, map[string]string{"models/marts/product_sales.sql": broken})
			m := compile(t, p, prodTarget(w))
			res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "product_sales+ fct_orders+")})
			got := byName(res)
			ps := got["product_sales"]
			if ps.Status != build.StatusError || ps.Failure == nil || ps.Failure.Path != "models/marts/product_sales.sql" || ps.Failure.Line != 4 {
				t.Errorf("product_sales: %s %+v", ps.Status, ps.Failure)
			}
			if !strings.Contains(strings.ToLower(ps.Message), "no_such_column") {
				t.Errorf("message should name the column: %s", ps.Message)
			}
			if got["dim_customers"].Status != build.StatusSuccess {
				t.Errorf("an unrelated model should still build: %+v", got["dim_customers"])
			}
			for name, n := range got {
				if n.Kind == project.KindTest && strings.Contains(name, "product_sales") && n.Status != build.StatusSkipped {
					t.Errorf("test %s of the failed model should be skipped, is %s", name, n.Status)
				}
			}
			// The failed build left the previous table whole and nothing else.
			if after := scalar(t, w, `select count(*) from "analytics"."product_sales"`); after != before {
				t.Errorf("product_sales changed from %s to %s rows", before, after)
			}
			if strings.Contains(strings.Join(tables(t, w, "analytics"), ","), "__dataops") {
				t.Errorf("temporary relations left behind: %v", tables(t, w, "analytics"))
			}
		})
	}
}

func TestFailingTestSkipsDownstream(t *testing.T) {
	// Every order fails accepted_values, so fct_orders' upstream test fails.
	changes := map[string]string{"models/staging/stg_orders.sql": "select\n    cast(id as integer) as order_id,\n    cast(customer_id as integer) as customer_id,\n    cast(ordered_at as timestamp) as ordered_at,\n    cast(cast(ordered_at as timestamp) as date) as order_date,\n    'lost' as status\nfrom {{ source('shop', 'raw_orders') }}\n"}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p := shop(t, changes)
			_, res := buildProduction(t, w, p)
			got := byName(res)
			var failed build.NodeResult
			for name, n := range got {
				if strings.HasPrefix(name, "accepted_values_stg_orders_status") {
					failed = n
				}
			}
			if failed.Status != build.StatusFail || failed.Failures != 1 || failed.Sample == nil || fmt.Sprint(failed.Sample.Values[0][0]) != "lost" {
				t.Errorf("accepted_values: %s, %d failing, sample %+v", failed.Status, failed.Failures, failed.Sample)
			}
			if failed.Failure == nil || failed.Failure.Path != "models/staging/_staging.yml" || failed.Failure.Line == 0 {
				t.Errorf("a failing test points at its YAML: %+v", failed.Failure)
			}
			if got["fct_orders"].Status != build.StatusSkipped || !strings.Contains(got["fct_orders"].Message, "accepted_values_stg_orders_status") {
				t.Errorf("fct_orders: %s %s", got["fct_orders"].Status, got["fct_orders"].Message)
			}
			if got["stg_customers"].Status != build.StatusSuccess {
				t.Errorf("stg_customers: %s", got["stg_customers"].Status)
			}
			if !res.Failed() {
				t.Error("an error-severity test failure fails the build")
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p := shop(t, nil)
			_, prod := buildProduction(t, w, p)
			if prod.Failed() {
				t.Fatal("production build failed")
			}
			m := compile(t, p, envTarget(w, "pr_9"))
			prodT := prodTarget(w)
			res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "stg_orders+"), Defer: &prodT, DryRun: true})
			if res.Failed() {
				t.Fatalf("dry run failed: %+v", res.Nodes)
			}
			got := byName(res)
			var cols []string
			for _, c := range got["fct_orders"].Columns {
				cols = append(cols, c.Name)
			}
			if len(cols) != 16 || cols[0] != "order_id" || cols[15] != "is_fully_paid" {
				t.Errorf("fct_orders columns = %v", cols)
			}
			if got["fct_orders"].Plan == "" {
				t.Error("no plan")
			}
			for _, n := range res.Nodes {
				if n.Kind == project.KindTest {
					t.Errorf("a dry run runs no tests: %s", n.Name)
				}
			}
			if len(tables(t, w, "pr_9")) != 0 {
				t.Errorf("a dry run built something: %v", tables(t, w, "pr_9"))
			}
		})
	}
}

func TestDryRunErrorPosition(t *testing.T) {
	model := "{{ config(materialized='table') }}\n\nwith orders as (\n    select order_id from {{ ref('stg_orders') }}\n)\n\nselect\n    order_id,\n    missing_col\nfrom orders\n"
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p := shop(t, map[string]string{"models/marts/broken.sql": model})
			_, prod := buildProduction(t, w, shop(t, nil))
			if prod.Failed() {
				t.Fatal("production build failed")
			}
			m := compile(t, p, envTarget(w, "pr_3"))
			prodT := prodTarget(w)
			res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "broken"), Defer: &prodT, DryRun: true})
			n := byName(res)["broken"]
			if n.Status != build.StatusError || n.Failure == nil {
				t.Fatalf("%s %+v", n.Status, n)
			}
			if n.Failure.Path != "models/marts/broken.sql" || n.Failure.Line != 9 || n.Failure.Col != 5 {
				t.Errorf("failure at %s:%d:%d, want models/marts/broken.sql:9:5: %s", n.Failure.Path, n.Failure.Line, n.Failure.Col, n.Failure.Message)
			}
		})
	}
}

func TestIncrementalColumnsChanged(t *testing.T) {
	w := warehousetest.DuckDB(t)
	p := shop(t, nil)
	if _, res := buildProduction(t, w, p); res.Failed() {
		t.Fatal("production build failed")
	}
	var src string
	for _, f := range projecttest.Shop(t, nil) {
		if f.Path == "models/marts/fct_orders.sql" {
			src = string(f.Content)
		}
	}
	changed := shop(t, map[string]string{"models/marts/fct_orders.sql": strings.Replace(src, "as credit_card_amount,", "as card_amount,", 1)})
	m := compile(t, changed, prodTarget(w))
	res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "fct_orders")})
	n := byName(res)["fct_orders"]
	if n.Status != build.StatusError || !strings.Contains(n.Message, "fct_orders's columns changed (added: card_amount; removed: credit_card_amount)") ||
		!strings.Contains(n.Message, "--full-refresh") {
		t.Errorf("%s: %s", n.Status, n.Message)
	}
	res = run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, "fct_orders"), FullRefreshOf: map[string]bool{"model.shop.fct_orders": true}})
	if n := byName(res)["fct_orders"]; n.Status != build.StatusSuccess || n.Materialized != "incremental" {
		t.Errorf("a full refresh of the one model: %s %s %s", n.Status, n.Materialized, n.Message)
	}
}
