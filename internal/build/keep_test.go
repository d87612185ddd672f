package build_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// ordersPerMonth is a model the change adds.
const ordersPerMonth = "select cast(date_trunc('month', ordered_at) as date) as month, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n"

// edited returns examples/shop's file at path with old replaced by new.
func edited(t *testing.T, path, old, new string) string {
	t.Helper()
	for _, f := range projecttest.Shop(t, nil) {
		if f.Path == path {
			s := string(f.Content)
			if !strings.Contains(s, old) {
				t.Fatalf("%s does not contain %q", path, old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	t.Fatalf("no %s in examples/shop", path)
	return ""
}

// v2 is the change most tests deploy: a table model with different data,
// a view with different data, a new model, and a modified staging view,
// which makes the incremental fct_orders impacted (merged, not rebuilt).
func v2(t *testing.T) map[string]string {
	return map[string]string{
		"models/marts/dim_customers.sql": edited(t, "models/marts/dim_customers.sql",
			"customers.first_name || ' ' || customers.last_name as full_name", "upper(customers.first_name || ' ' || customers.last_name) as full_name"),
		"models/marts/daily_revenue.sql": edited(t, "models/marts/daily_revenue.sql",
			"cast(order_count as integer) as order_count", "cast(order_count * 10 as integer) as order_count"),
		"models/marts/orders_per_month.sql": ordersPerMonth,
		"models/staging/stg_orders.sql":     edited(t, "models/staging/stg_orders.sql", "select", "select 1 as v2,"),
		"seeds/country_codes.csv":           edited(t, "seeds/country_codes.csv", "US,United States,", "US,United States of America,"),
	}
}

// deployer deploys changes of examples/shop to production the way
// bot.Deploy does: plan base against head, keep previous versions.
type deployer struct {
	t    *testing.T
	w    warehouse.Warehouse
	base map[string]string // what production was last deployed from
	pr   int
}

func (d *deployer) manifest(changes map[string]string) *project.Manifest {
	return compile(d.t, shop(d.t, changes), prodTarget(d.w))
}

// start opens the deploy of head (at sha) over d.base and returns the build
// options that deploy it.
func (d *deployer) start(head map[string]string, sha string) (*build.Deploy, *project.Manifest, build.Options) {
	d.t.Helper()
	base, hm := d.manifest(d.base), d.manifest(head)
	pl := plan.Diff(base, hm)
	full := map[string]bool{}
	for _, c := range pl.Changes {
		if c.Status == plan.Modified || c.Status == plan.Added {
			full[c.ID] = true
		}
	}
	dep, err := build.StartDeploy(context.Background(), d.w, build.DeployInfo{Target: prodTarget(d.w).Schema, Repo: "acme/shop", PR: d.pr, HeadSHA: sha, BaseSHA: "base"})
	if err != nil {
		d.t.Fatalf("start deploy: %v", err)
	}
	return dep, hm, build.Options{Manifest: hm, Warehouse: d.w, Selection: pl.Selection(hm), FullRefreshOf: full, KeepPrevious: dep, Threads: 4}
}

// deploy deploys head over d.base. It does not move d.base.
func (d *deployer) deploy(head map[string]string, sha string) (*build.Deploy, *build.Result) {
	d.t.Helper()
	dep, _, opts := d.start(head, sha)
	res := run(d.t, opts)
	if err := dep.Finish(context.Background()); err != nil {
		d.t.Fatal(err)
	}
	return dep, res
}

func mustSucceed(t *testing.T, res *build.Result) {
	t.Helper()
	for _, n := range res.Nodes {
		if n.Status.Failed() || n.Status == build.StatusSkipped {
			t.Errorf("%s %s: %s %s", n.Kind, n.Name, n.Status, n.Message)
		}
	}
}

// reads numbers snapshot's queries.
var reads atomic.Int64

// snapshot reads every table and view of production (not dataops' own
// siblings) in full: relation -> sorted rows.
func snapshot(t *testing.T, w warehouse.Warehouse) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, schema := range []string{prodTarget(w).Schema, "raw"} {
		for _, name := range tables(t, w, schema) {
			if strings.Contains(name, "__dataops_") {
				continue
			}
			rel := warehouse.Relation{Schema: schema, Name: name}
			// A fresh statement text each time: pgx caches prepared
			// statements by text, and PostgreSQL refuses to reuse one
			// whose result columns changed (a deploy changes them).
			reads.Add(1)
			rows, err := w.QueryLimit(context.Background(), 1_000_000, fmt.Sprintf("select * from %s -- read %d", w.Dialect().QuoteRelation(rel), reads.Load()))
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			var lines []string
			for _, r := range rows.Values {
				lines = append(lines, fmt.Sprint(r...))
			}
			sort.Strings(lines)
			out[schema+"."+name] = append([]string{strings.Join(rows.Columns, ",")}, lines...)
		}
	}
	return out
}

func sameSnapshot(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for rel, rows := range want {
		g, ok := got[rel]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", what, rel)
		case strings.Join(g, "\n") != strings.Join(rows, "\n"):
			t.Errorf("%s: %s differs (%d rows, want %d); columns %s, want %s", what, rel, len(g)-1, len(rows)-1, g[0], rows[0])
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%s: %s should not exist", what, rel)
		}
	}
}

// kept lists the __dataops_ relations in production's schemas.
func kept(t *testing.T, w warehouse.Warehouse) []string {
	t.Helper()
	var out []string
	for _, schema := range []string{prodTarget(w).Schema, "raw"} {
		for _, name := range tables(t, w, schema) {
			if strings.Contains(name, "__dataops_") {
				out = append(out, schema+"."+name)
			}
		}
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func rollback(t *testing.T, w warehouse.Warehouse) *build.RollbackResult {
	t.Helper()
	res, err := build.Rollback(context.Background(), w, prodTarget(w).Schema)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	return res
}

func TestDeployKeepsAndRollsBack(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			ctx := context.Background()
			schema := prodTarget(w).Schema
			buildProduction(t, w, shop(t, nil))
			before := snapshot(t, w)
			for _, rel := range []string{"raw.country_codes", schema + ".daily_revenue", schema + ".dim_customers", schema + ".fct_orders"} {
				if len(before[rel]) < 2 {
					t.Fatalf("production has no %s to compare: %v", rel, before[rel])
				}
			}

			if res := rollback(t, w); res.Nothing == "" || res.Deploy != nil {
				t.Errorf("rollback with no deploy: %+v", res)
			}

			d := &deployer{t: t, w: w, pr: 7}
			dep, res := d.deploy(v2(t), "sha2aaaaaaaa")
			mustSucceed(t, res)
			if dep.Resumed || dep.State != build.DeployDeployed {
				t.Errorf("deploy: resumed %v, state %s", dep.Resumed, dep.State)
			}
			if got := scalar(t, w, "select count(*) from "+schema+".dim_customers where full_name <> upper(full_name)"); got != "0" {
				t.Errorf("dim_customers has %s names not upper case after the deploy", got)
			}
			if got := scalar(t, w, "select count(*) from "+schema+".orders_per_month"); got == "0" {
				t.Error("orders_per_month is empty")
			}
			prevs := kept(t, w)
			for _, name := range []string{"dim_customers", "daily_revenue", "fct_orders", "stg_orders", "customer_segments"} {
				if !has(prevs, schema+"."+name+"__dataops_prev") {
					t.Errorf("no previous version of %s kept; kept: %v", name, prevs)
				}
			}
			if seed := d.manifest(nil).Nodes["seed.shop.country_codes"].Relation; !has(prevs, seed.Schema+".country_codes__dataops_prev") {
				t.Errorf("no previous version of the seed country_codes (%s) kept; kept: %v", seed.Schema, prevs)
			}
			if has(prevs, schema+".orders_per_month__dataops_prev") {
				t.Error("a previous version of the new model")
			}
			byRel := map[string]build.Swapped{}
			for _, s := range dep.Relations {
				byRel[s.Relation.Name] = s
			}
			if s := byRel["orders_per_month"]; !s.Created() || s.Kind != "table" {
				t.Errorf("orders_per_month recorded as %+v", s)
			}
			if s := byRel["daily_revenue"]; s.PreviousKind != "view" || s.Previous != "daily_revenue__dataops_prev" {
				t.Errorf("daily_revenue recorded as %+v", s)
			}
			// The kept incremental is the table as it was, full.
			if got, want := scalar(t, w, "select count(*) from "+schema+".fct_orders__dataops_prev"), strings.Count(strings.Join(before[schema+".fct_orders"], "\n"), "\n"); got != fmt.Sprint(want) {
				t.Errorf("fct_orders__dataops_prev has %s rows, want %d", got, want)
			}
			last, err := build.LastDeploy(ctx, w, schema)
			if err != nil || last.ID != dep.ID || len(last.Relations) != len(dep.Relations) {
				t.Fatalf("LastDeploy from a fresh read: %+v, %v", last, err)
			}

			rb := rollback(t, w)
			if rb.Nothing != "" || rb.Failed() || rb.Deploy.State != build.DeployRolledBack {
				t.Fatalf("rollback: %+v", rb)
			}
			actions := map[string]string{}
			for _, r := range rb.Relations {
				actions[r.Relation.Name] = r.Action
			}
			if actions["orders_per_month"] != "removed" || actions["dim_customers"] != "restored" || actions["daily_revenue"] != "restored" {
				t.Errorf("rollback actions: %v", actions)
			}
			sameSnapshot(t, "after the rollback", snapshot(t, w), before)
			if k := kept(t, w); len(k) > 0 {
				t.Errorf("left after the rollback: %v", k)
			}

			again := rollback(t, w)
			if again.Nothing == "" || !strings.Contains(again.Nothing, "already rolled back") || len(again.Relations) > 0 {
				t.Errorf("second rollback: %+v", again)
			}

			// Deploy again after the rollback: a new deploy, keeping again.
			dep2, res := d.deploy(v2(t), "sha2aaaaaaaa")
			mustSucceed(t, res)
			if dep2.Resumed || dep2.ID == dep.ID {
				t.Errorf("deploy after a rollback continued the rolled back one")
			}
			afterV2 := snapshot(t, w)
			if !has(kept(t, w), schema+".dim_customers__dataops_prev") {
				t.Error("no previous version kept by the deploy after the rollback")
			}

			// The next deploy drops those and keeps its own.
			d.base = v2(t)
			v3 := v2(t)
			v3["models/marts/product_sales.sql"] = edited(t, "models/marts/product_sales.sql", "products.price,\n", "products.price * 2 as price,\n")
			dep3, res := d.deploy(v3, "sha3bbbbbbbb")
			mustSucceed(t, res)
			k := kept(t, w)
			if has(k, schema+".dim_customers__dataops_prev") || has(k, schema+".fct_orders__dataops_prev") {
				t.Errorf("the previous deploy's kept versions survived the next deploy: %v", k)
			}
			if !has(k, schema+".product_sales__dataops_prev") || len(k) != 1 {
				t.Errorf("kept after the third deploy: %v", k)
			}
			if len(dep3.Released) == 0 {
				t.Error("the third deploy did not report what it released")
			}
			if rb := rollback(t, w); rb.Failed() || len(rb.Relations) != 1 {
				t.Errorf("rollback of the third deploy: %+v", rb)
			}
			sameSnapshot(t, "after rolling back the third deploy", snapshot(t, w), afterV2)
			// The second deploy's versions are gone: nothing further back.
			if rb := rollback(t, w); rb.Nothing == "" {
				t.Errorf("rolled back past the last deploy: %+v", rb)
			}
		})
	}
}

// A model that fails keeps its version and is not recorded; the others are
// deployed, and a rollback restores only them.
func TestDeployPartialFailure(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			schema := prodTarget(w).Schema
			buildProduction(t, w, shop(t, nil))
			before := snapshot(t, w)
			d := &deployer{t: t, w: w, pr: 8}
			change := map[string]string{
				"models/marts/dim_customers.sql": v2(t)["models/marts/dim_customers.sql"],
				"models/marts/product_sales.sql": edited(t, "models/marts/product_sales.sql", "products.price,\n", "products.no_such_column as price,\n"),
			}
			dep, res := d.deploy(change, "sha4cccccccc")
			got := byName(res)
			if got["product_sales"].Status != build.StatusError || got["dim_customers"].Status != build.StatusSuccess {
				t.Fatalf("product_sales %s, dim_customers %s", got["product_sales"].Status, got["dim_customers"].Status)
			}
			for _, s := range dep.Relations {
				if s.Relation.Name == "product_sales" {
					t.Error("the failed model is in the deploy record")
				}
			}
			if k := kept(t, w); has(k, schema+".product_sales__dataops_prev") || !has(k, schema+".dim_customers__dataops_prev") {
				t.Errorf("kept: %v", k)
			}
			after := snapshot(t, w)
			if strings.Join(after[schema+".product_sales"], "\n") != strings.Join(before[schema+".product_sales"], "\n") {
				t.Error("the failed model changed")
			}
			rb := rollback(t, w)
			if rb.Failed() {
				t.Fatalf("rollback: %+v", rb)
			}
			for _, r := range rb.Relations {
				if r.Relation.Name == "product_sales" {
					t.Error("rollback touched the model that was not deployed")
				}
			}
			sameSnapshot(t, "after the rollback", snapshot(t, w), before)
		})
	}
}

// A deploy interrupted after some swaps, then run again: the second run
// continues the same record, and a rollback restores production as it was
// before the first run, not the first run's output.
func TestDeployResumedAfterInterruption(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			ctx := context.Background()
			schema := prodTarget(w).Schema
			buildProduction(t, w, shop(t, nil))
			before := snapshot(t, w)
			d := &deployer{t: t, w: w, pr: 9}

			// The first attempt swaps two models and dies: no Finish.
			dep, hm, opts := d.start(v2(t), "sha5dddddddd")
			sel, err := hm.Select("dim_customers orders_per_month", nil)
			if err != nil {
				t.Fatal(err)
			}
			opts.Selection = sel
			mustSucceed(t, run(t, opts))
			if last, _ := build.LastDeploy(ctx, w, schema); last.State != build.DeployRunning || len(last.Relations) != 2 {
				t.Fatalf("after the interruption: %s with %d relations", last.State, len(last.Relations))
			}

			dep2, res := d.deploy(v2(t), "sha5dddddddd")
			mustSucceed(t, res)
			if !dep2.Resumed || dep2.ID != dep.ID {
				t.Fatalf("the re-run did not continue the interrupted deploy (resumed %v)", dep2.Resumed)
			}
			// Run once more, as a second /dataops deploy would: still the same record.
			dep3, res := d.deploy(v2(t), "sha5dddddddd")
			mustSucceed(t, res)
			if !dep3.Resumed || len(dep3.Relations) != len(dep2.Relations) {
				t.Errorf("third run: resumed %v, %d relations (want %d)", dep3.Resumed, len(dep3.Relations), len(dep2.Relations))
			}
			if got := scalar(t, w, "select count(*) from "+schema+".dim_customers__dataops_prev where full_name <> upper(full_name)"); got == "0" {
				t.Error("the kept dim_customers is the interrupted run's output, not the version from before the deploy")
			}
			rb := rollback(t, w)
			if rb.Failed() {
				t.Fatalf("rollback: %+v", rb)
			}
			sameSnapshot(t, "after the rollback", snapshot(t, w), before)
		})
	}
}

// A rollback that cannot restore a relation leaves it as deployed, says
// so, blocks deploys until it is finished, and finishes when run again.
func TestRollbackInterrupted(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			ctx := context.Background()
			schema := prodTarget(w).Schema
			q := func(name string) string {
				return w.Dialect().QuoteRelation(warehouse.Relation{Schema: schema, Name: name})
			}
			buildProduction(t, w, shop(t, nil))
			before := snapshot(t, w)
			d := &deployer{t: t, w: w, pr: 10}
			change := map[string]string{"models/marts/dim_customers.sql": v2(t)["models/marts/dim_customers.sql"]}
			_, res := d.deploy(change, "sha6eeeeeeee")
			mustSucceed(t, res)

			// Someone moves a kept version away.
			if err := w.Exec(ctx, "alter table "+q("dim_customers__dataops_prev")+" rename to "+w.Dialect().QuoteIdent("moved_away")); err != nil {
				t.Fatal(err)
			}
			rb := rollback(t, w)
			if !rb.Failed() || rb.Deploy.State != build.DeployRollingBack {
				t.Fatalf("rollback with a kept version gone: %+v", rb)
			}
			restored := 0
			for _, r := range rb.Relations {
				switch {
				case r.Relation.Name == "dim_customers" && (r.Action != "failed" || !strings.Contains(r.Error, "gone")):
					t.Errorf("dim_customers: %+v", r)
				case r.Action == "restored":
					restored++
				}
			}
			if restored == 0 {
				t.Error("nothing else was restored")
			}
			if got := scalar(t, w, "select count(*) from "+q("dim_customers")+" where full_name <> upper(full_name)"); got != "0" {
				t.Error("dim_customers is not as deployed after its restore failed")
			}
			if _, err := build.StartDeploy(ctx, w, build.DeployInfo{Target: schema, Repo: "acme/shop", PR: 11, HeadSHA: "x"}); !errors.Is(err, build.ErrRollbackUnfinished) {
				t.Errorf("deploy during an unfinished rollback: %v", err)
			}

			if err := w.Exec(ctx, "alter table "+q("moved_away")+" rename to "+w.Dialect().QuoteIdent("dim_customers__dataops_prev")); err != nil {
				t.Fatal(err)
			}
			rb = rollback(t, w)
			if rb.Failed() || rb.Deploy.State != build.DeployRolledBack {
				t.Fatalf("second rollback: %+v", rb)
			}
			for _, r := range rb.Relations {
				if r.Relation.Name != "dim_customers" && !r.Already {
					t.Errorf("%s was restored twice", r.Relation.Name)
				}
			}
			sameSnapshot(t, "after the finished rollback", snapshot(t, w), before)
		})
	}
}

// A __dataops_prev relation no deploy recorded is not dataops' to drop or
// overwrite: that model fails, the others deploy.
func TestDeployRefusesUnrecordedPrevious(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			ctx := context.Background()
			schema := prodTarget(w).Schema
			buildProduction(t, w, shop(t, nil))
			stranger := w.Dialect().QuoteRelation(warehouse.Relation{Schema: schema, Name: "dim_customers__dataops_prev"})
			if err := w.Exec(ctx, "create table "+stranger+" as select 42 as answer"); err != nil {
				t.Fatal(err)
			}
			d := &deployer{t: t, w: w, pr: 12}
			_, res := d.deploy(v2(t), "sha7ffffffff")
			got := byName(res)
			if n := got["dim_customers"]; n.Status != build.StatusError || !strings.Contains(n.Message, "no deploy recorded") {
				t.Errorf("dim_customers: %s %s", n.Status, n.Message)
			}
			// (What reads dim_customers, or waits for its tests, is skipped.)
			if got["stg_orders"].Status != build.StatusSuccess || got["fct_orders"].Status != build.StatusSuccess {
				t.Errorf("stg_orders %s, fct_orders %s", got["stg_orders"].Status, got["fct_orders"].Status)
			}
			if scalar(t, w, "select answer from "+stranger) != "42" {
				t.Error("the stranger's table changed")
			}
			if rb := rollback(t, w); rb.Failed() || len(rb.Relations) == 0 {
				t.Errorf("rollback: %+v", rb)
			}
			// The next deploy does not drop it either: its record never listed it.
			d.deploy(v2(t), "sha8aaaaaaaa")
			if scalar(t, w, "select answer from "+stranger) != "42" {
				t.Error("the stranger's table changed")
			}
		})
	}
}

// A deploy interrupted after some swaps and never run again can be rolled
// back: what it recorded is restored.
func TestRollbackOfInterruptedDeploy(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			buildProduction(t, w, shop(t, nil))
			before := snapshot(t, w)
			d := &deployer{t: t, w: w, pr: 13}
			_, hm, opts := d.start(v2(t), "sha9aaaaaaaa")
			sel, err := hm.Select("dim_customers orders_per_month country_codes", nil)
			if err != nil {
				t.Fatal(err)
			}
			opts.Selection = sel
			mustSucceed(t, run(t, opts))
			rb := rollback(t, w)
			if rb.Failed() || len(rb.Relations) != 3 || rb.Deploy.State != build.DeployRolledBack {
				t.Fatalf("rollback of the interrupted deploy: %+v", rb)
			}
			sameSnapshot(t, "after the rollback", snapshot(t, w), before)
			if k := kept(t, w); len(k) > 0 {
				t.Errorf("left after the rollback: %v", k)
			}
		})
	}
}
