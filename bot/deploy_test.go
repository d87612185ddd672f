package bot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// deployHost is the code host as Deploy and Rollback use it: it keeps the
// comments they post, by pull request and marker.
type deployHost struct {
	mu       sync.Mutex
	comments map[string]string // "number marker" -> body
}

func (h *deployHost) UpsertComment(_ context.Context, number int, marker, body string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !strings.Contains(body, marker) {
		return fmt.Errorf("the body does not hold its marker %q", marker)
	}
	h.comments[fmt.Sprint(number, " ", marker)] = body
	return nil
}

// deployComment is the deploy comment of a pull request ("" when none).
func (h *deployHost) deployComment(number int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.comments[fmt.Sprint(number, " ", bot.ReplyMarker)]
}

func (h *deployHost) PullRequest(context.Context, int) (*scm.PullRequest, error) {
	return nil, errors.New("not used by deploys")
}
func (h *deployHost) Permission(context.Context, string) (scm.Permission, error) {
	return scm.PermissionNone, errors.New("not used by deploys")
}
func (h *deployHost) PublishCheck(context.Context, string, scm.Check) error { return nil }
func (h *deployHost) React(context.Context, int, int64, scm.Reaction) error {
	return nil
}
func (h *deployHost) Archive(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("not used: the test's sources are in memory")
}

// Compare compares the head with the base as given: the test's revisions
// have no history.
func (h *deployHost) Compare(_ context.Context, pr scm.PullRequest) (scm.Comparison, error) {
	return scm.Comparison{Base: pr.BaseSHA, Head: pr.HeadSHA, Mode: scm.CompareTip, PullHead: pr.HeadSHA}, nil
}

// deploySources serves revisions of examples/shop from memory, by sha.
type deploySources map[string][]project.File

func (s deploySources) Files(_ context.Context, sha string) ([]project.File, error) {
	files, ok := s[sha]
	if !ok {
		return nil, fmt.Errorf("no revision %s", sha)
	}
	return files, nil
}

// shopEdit returns examples/shop's file at path with old replaced by new.
func shopEdit(t *testing.T, path, old, new string) string {
	t.Helper()
	for _, f := range projecttest.Shop(t, nil) {
		if f.Path == path {
			if !strings.Contains(string(f.Content), old) {
				t.Fatalf("%s does not contain %q", path, old)
			}
			return strings.Replace(string(f.Content), old, new, 1)
		}
	}
	t.Fatalf("no %s in examples/shop", path)
	return ""
}

// prodReads numbers prodRelations' queries.
var prodReads atomic.Int64

// prodRelations reads production in full: relation -> its rows, sorted,
// after its column names. dataops' own siblings are left out.
func prodRelations(t *testing.T, w warehouse.Warehouse, schemas ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	d := w.Dialect()
	out := map[string]string{}
	for _, schema := range schemas {
		names, err := w.Query(ctx, "select table_name from information_schema.tables where table_schema = "+d.Placeholder(1), schema)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range names.Values {
			name := fmt.Sprint(r[0])
			if strings.Contains(name, "__dataops_") {
				continue
			}
			// A fresh statement text each time: pgx caches prepared
			// statements by text, and PostgreSQL refuses to reuse one
			// whose result columns changed (a deploy changes them).
			prodReads.Add(1)
			rows, err := w.QueryLimit(ctx, 1_000_000, fmt.Sprintf("select * from %s -- read %d", d.QuoteRelation(warehouse.Relation{Schema: schema, Name: name}), prodReads.Load()))
			if err != nil {
				t.Fatalf("read %s.%s: %v", schema, name, err)
			}
			lines := make([]string, 0, len(rows.Values))
			for _, v := range rows.Values {
				lines = append(lines, fmt.Sprint(v...))
			}
			sort.Strings(lines)
			out[schema+"."+name] = strings.Join(rows.Columns, ",") + "\n" + strings.Join(lines, "\n")
		}
	}
	return out
}

func keptRelations(t *testing.T, w warehouse.Warehouse, schema string) []string {
	t.Helper()
	rows, err := w.Query(context.Background(), "select table_name from information_schema.tables where table_schema = "+w.Dialect().Placeholder(1)+" and table_name like '%__dataops_prev' order by 1", schema)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows.Values {
		out = append(out, fmt.Sprint(r[0]))
	}
	return out
}

func sameRelations(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for rel, rows := range want {
		if g, ok := got[rel]; !ok {
			t.Errorf("%s: %s is missing", what, rel)
		} else if g != rows {
			t.Errorf("%s: %s differs", what, rel)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%s: %s should not exist", what, rel)
		}
	}
}

const (
	baseSHA   = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	headSHA   = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	brokenSHA = "3333333ccccccccccccccccccccccccccccccccc"
)

// deployFixture is production built from examples/shop and a pipeline whose
// sources hold that base and two heads: a good change (a table model with
// different data, a view with different data, a new model) and one where
// one model does not build.
func deployFixture(t *testing.T, w warehouse.Warehouse) (*bot.Pipeline, *deployHost) {
	t.Helper()
	cfg := config.Default()
	cfg.Production.Schema = "analytics"
	prod := project.Target{Name: "prod", Schema: cfg.Production.Schema, Type: w.Dialect().Name()}
	m := projecttest.Compile(t, projecttest.Shop(t, nil), prod)
	all, err := m.Select("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := build.Run(context.Background(), build.Options{Manifest: m, Warehouse: w, Selection: m.WithTests(all)}); err != nil || res.Failed() {
		t.Fatalf("production build: %v", err)
	}
	good := map[string]string{
		"models/marts/dim_customers.sql": shopEdit(t, "models/marts/dim_customers.sql",
			"customers.first_name || ' ' || customers.last_name as full_name", "upper(customers.first_name || ' ' || customers.last_name) as full_name"),
		"models/marts/daily_revenue.sql": shopEdit(t, "models/marts/daily_revenue.sql",
			"cast(order_count as integer) as order_count", "cast(order_count * 10 as integer) as order_count"),
		"models/marts/orders_per_month.sql": "select cast(date_trunc('month', ordered_at) as date) as month, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n",
	}
	broken := map[string]string{
		"models/marts/dim_customers.sql": good["models/marts/dim_customers.sql"],
		"models/marts/product_sales.sql": shopEdit(t, "models/marts/product_sales.sql", "products.price,\n", "products.no_such_column as price,\n"),
	}
	host := &deployHost{comments: map[string]string{}}
	p := &bot.Pipeline{Host: host, Warehouse: w, Config: cfg, Threads: 4, Sources: deploySources{
		baseSHA:   projecttest.Shop(t, nil),
		headSHA:   projecttest.Shop(t, good),
		brokenSHA: projecttest.Shop(t, broken),
	}}
	return p, host
}

func deployEvent(pr int, head string) bot.Event {
	return bot.Event{Host: "github", Repo: "acme/shop", Kind: bot.Commented, DeliveryID: "test",
		PullRequest: scm.PullRequest{Number: pr, BaseSHA: baseSHA, HeadSHA: head, BaseRef: "main", HeadRef: "change"}}
}

var deployEngines = []struct {
	name string
	open func(testing.TB) warehouse.Warehouse
}{
	{"duckdb", warehousetest.DuckDB},
	{"postgres", warehousetest.Postgres},
}

func TestDeployAndRollback(t *testing.T) {
	for _, e := range deployEngines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			ctx := context.Background()
			p, host := deployFixture(t, w)
			before := prodRelations(t, w, "analytics", "raw")

			// No deploy yet: a clear reply, no error.
			rb, err := p.Rollback(ctx, deployEvent(7, headSHA))
			if err != nil || rb.Nothing == "" {
				t.Fatalf("rollback before any deploy: %+v, %v", rb, err)
			}
			if c := host.deployComment(7); !strings.Contains(c, "Nothing to roll back") {
				t.Errorf("reply to a rollback with nothing deployed:\n%s", c)
			}

			res, err := p.Deploy(ctx, deployEvent(7, headSHA))
			if err != nil || res.Failed() {
				t.Fatalf("deploy: %v", err)
			}
			c := host.deployComment(7)
			for _, want := range []string{"Deployed 2222222 to production", "/dataops rollback", "dim_customers__dataops_prev", "orders_per_month"} {
				if !strings.Contains(c, want) {
					t.Errorf("deploy comment lacks %q:\n%s", want, c)
				}
			}
			deployed := prodRelations(t, w, "analytics", "raw")
			if deployed["analytics.dim_customers"] == before["analytics.dim_customers"] || deployed["analytics.daily_revenue"] == before["analytics.daily_revenue"] {
				t.Error("the deploy did not change dim_customers and daily_revenue")
			}
			if _, ok := deployed["analytics.orders_per_month"]; !ok {
				t.Error("the new model is not in production")
			}
			kept := keptRelations(t, w, "analytics")
			for _, name := range []string{"dim_customers__dataops_prev", "daily_revenue__dataops_prev"} {
				if !contains(kept, name) {
					t.Errorf("%s not kept; kept: %v", name, kept)
				}
			}

			// Rolled back from another pull request: both hear of it.
			rb, err = p.Rollback(ctx, deployEvent(8, headSHA))
			if err != nil || rb.Nothing != "" || rb.Failed() {
				t.Fatalf("rollback: %+v, %v", rb, err)
			}
			sameRelations(t, "after the rollback", prodRelations(t, w, "analytics", "raw"), before)
			if k := keptRelations(t, w, "analytics"); len(k) > 0 {
				t.Errorf("previous versions left after the rollback: %v", k)
			}
			for _, pr := range []int{7, 8} {
				if c := host.deployComment(pr); !strings.Contains(c, "Rolled back the deploy of 2222222 (PR #7)") {
					t.Errorf("deploy comment of #%d after the rollback:\n%s", pr, c)
				}
			}

			rb, err = p.Rollback(ctx, deployEvent(7, headSHA))
			if err != nil || !strings.Contains(rb.Nothing, "already rolled back") {
				t.Errorf("second rollback: %+v, %v", rb, err)
			}
			if c := host.deployComment(7); !strings.Contains(c, "Nothing to roll back") {
				t.Errorf("reply to the second rollback:\n%s", c)
			}

			// Deploy again after the rollback.
			if res, err := p.Deploy(ctx, deployEvent(7, headSHA)); err != nil || res.Failed() {
				t.Fatalf("deploy after the rollback: %v", err)
			}
			sameRelations(t, "deployed again", prodRelations(t, w, "analytics", "raw"), deployed)
			if c := host.deployComment(7); !strings.Contains(c, "Deployed 2222222") {
				t.Errorf("deploy comment:\n%s", c)
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

// One model fails: it keeps its old version, the others are deployed, and
// a rollback restores only those.
func TestDeployWithAFailingModel(t *testing.T) {
	for _, e := range deployEngines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			ctx := context.Background()
			p, host := deployFixture(t, w)
			before := prodRelations(t, w, "analytics", "raw")
			res, err := p.Deploy(ctx, deployEvent(9, brokenSHA))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Failed() {
				t.Fatal("the broken model built")
			}
			c := host.deployComment(9)
			for _, want := range []string{"failed", "product_sales", "The other models were deployed", "dim_customers__dataops_prev"} {
				if !strings.Contains(c, want) {
					t.Errorf("deploy comment lacks %q:\n%s", want, c)
				}
			}
			after := prodRelations(t, w, "analytics", "raw")
			if after["analytics.product_sales"] != before["analytics.product_sales"] {
				t.Error("the failed model changed")
			}
			if after["analytics.dim_customers"] == before["analytics.dim_customers"] {
				t.Error("the model that built was not deployed")
			}
			if contains(keptRelations(t, w, "analytics"), "product_sales__dataops_prev") {
				t.Error("a previous version kept for the failed model")
			}
			rb, err := p.Rollback(ctx, deployEvent(9, brokenSHA))
			if err != nil || rb.Failed() {
				t.Fatalf("rollback: %+v, %v", rb, err)
			}
			for _, r := range rb.Relations {
				if r.Relation.Name == "product_sales" {
					t.Error("the rollback touched the model that was not deployed")
				}
			}
			sameRelations(t, "after the rollback", prodRelations(t, w, "analytics", "raw"), before)
		})
	}
}

// TestDeployWithoutAProject: deploying a pull request that removes the
// project builds nothing and drops nothing; one with no project on either
// side says which folder holds none.
func TestDeployWithoutAProject(t *testing.T) {
	const emptySHA = "4444444ddddddddddddddddddddddddddddddddd"
	w := warehousetest.DuckDB(t)
	p, host := deployFixture(t, w)
	p.Sources.(deploySources)[emptySHA] = []project.File{{Path: "README.md", Content: []byte("moved\n")}}
	before := prodRelations(t, w, "analytics", "raw")
	ev := deployEvent(7, emptySHA)
	if _, err := p.Deploy(context.Background(), ev); err != nil {
		t.Fatalf("deploy of the removal: %v", err)
	}
	if c := host.deployComment(7); !strings.Contains(c, "Nothing to deploy: this pull request removes the project") {
		t.Errorf("reply:\n%s", c)
	}
	sameRelations(t, "production after deploying the removal", prodRelations(t, w, "analytics", "raw"), before)

	ev = deployEvent(8, emptySHA)
	ev.PullRequest.BaseSHA = emptySHA
	if _, err := p.Deploy(context.Background(), ev); err == nil {
		t.Error("deploying with no project on either side passed")
	}
	if c := host.deployComment(8); !strings.Contains(c, "no dbt_project.yml in the repository's root at either revision") {
		t.Errorf("reply:\n%s", c)
	}
}
