package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/examples"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/local"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func init() {
	commands["demo"] = command{
		summary: "See dataops at work in seconds: a pull request on the example shop project, checked in an embedded DuckDB.",
		usage:   "demo [--dir DIR] [--keep]",
		run:     runDemo,
	}
}

// demoChanges is the pull request the demo checks: a breaking column
// rename, a changed value distribution, and a new model.
var demoChanges = []struct{ file, old, new string }{
	{"models/marts/fct_orders.sql", "as numeric(12, 2)) as credit_card_amount,", "as numeric(12, 2)) as card_amount,"},
	{"models/marts/fct_orders.sql",
		"case when orders.status = 'returned' then 0 else coalesce(order_lines.order_total, 0) end",
		"case when orders.status = 'returned' then 0 else coalesce(order_lines.order_total, 0) - coalesce(payments.coupon_amount, 0) end"},
}

const demoNewModel = `-- Orders and revenue per customer and month, for the retention dashboard.
select
    customer_id,
    cast(date_trunc('month', ordered_at) as date) as order_month,
    count(*) as orders,
    sum(net_revenue) as net_revenue
from {{ ref('fct_orders') }}
group by 1, 2
`

func runDemo(args []string, out, errOut io.Writer) int {
	fs := newFlags("demo", commands["demo"], errOut)
	dirFlag := fs.String("dir", "", "folder to create the demo in (default: a new temporary folder)")
	keep := fs.Bool("keep", false, "keep the demo folder to look around afterwards")
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	dir := *dirFlag
	if dir == "" {
		tmp, err := os.MkdirTemp("", "dataops-demo-")
		if err != nil {
			fmt.Fprintf(errOut, "dataops demo: %v\n", err)
			return exitFailure
		}
		dir = tmp
		if !*keep {
			defer os.RemoveAll(tmp)
		}
	}
	outcome, err := demo(ctx, dir, out)
	if err != nil {
		fmt.Fprintf(errOut, "dataops demo: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(out, "\n--- The pull request's comment, as dataops posts it on GitHub or GitLab ---")
	printOutcome(out, outcome, "")
	fmt.Fprintf(out, `
What happened, in %s:
  1. A git repository was made from examples/shop, and production was built
     from its first commit into an embedded DuckDB warehouse.
  2. A second commit made a change a pull request might: fct_orders renames
     credit_card_amount to card_amount (a breaking change) and subtracts coupons
     from net_revenue (changed values); orders_per_customer_month is new.
  3. dataops ran the pull request's checks: it compiled both revisions, planned
     what changed, built only the changed models and what is downstream in an
     environment (schema %s) reading everything else from production, ran their
     tests, compared their data with production by key, and wrote the comment
     above with one check per stage.
`, time.Since(start).Round(100*time.Millisecond), outcome.Environment)
	if *keep || *dirFlag != "" {
		fmt.Fprintf(out, "\nThe demo is in %s: the repository in repo/, the warehouse in warehouse.duckdb.\n", dir)
	}
	return exitOK
}

func demo(ctx context.Context, dir string, out io.Writer) (*bot.Outcome, error) {
	d, err := setUpDemo(ctx, dir, out)
	if err != nil {
		return nil, err
	}
	defer d.w.Close()
	fmt.Fprintln(out, "Running the pull request's checks...")
	return d.pipeline(slog.New(slog.NewTextHandler(io.Discard, nil))).Run(ctx, d.event)
}

// demoRun is a demo set up: production built, the change committed.
type demoRun struct {
	repo  string
	w     warehouse.Warehouse
	event bot.Event
}

func setUpDemo(ctx context.Context, dir string, out io.Writer) (*demoRun, error) {
	repo := filepath.Join(dir, "repo")
	if err := copyFS(examples.Shop(), repo); err != nil {
		return nil, err
	}
	baseSHA, err := commit(ctx, repo, "Production: the shop project")
	if err != nil {
		return nil, err
	}
	dsn := "duckdb://" + filepath.Join(dir, "warehouse.duckdb")
	w, err := warehouse.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "Building production from the first commit...")
	if err := buildProduction(ctx, w, repo, config.Default()); err != nil {
		w.Close()
		return nil, err
	}
	for _, c := range demoChanges {
		if err := replaceIn(filepath.Join(repo, c.file), c.old, c.new); err != nil {
			w.Close()
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "models/marts/orders_per_customer_month.sql"), []byte(demoNewModel), 0o644); err != nil {
		w.Close()
		return nil, err
	}
	headSHA, err := commit(ctx, repo, "Net revenue without coupons; card_amount; orders per customer and month")
	if err != nil {
		w.Close()
		return nil, err
	}
	pr := scm.PullRequest{Number: 1, Title: "Net revenue without coupons", Author: "demo", BaseRef: "main", BaseSHA: baseSHA,
		HeadRef: "net-revenue", HeadSHA: headSHA, State: "open"}
	return &demoRun{repo: repo, w: w, event: bot.Event{Host: "local", Repo: "demo/shop", Kind: bot.Opened, PullRequest: pr, DeliveryID: "demo"}}, nil
}

func (d *demoRun) pipeline(logger *slog.Logger) *bot.Pipeline {
	return &bot.Pipeline{Host: &local.Host{Repo: d.repo, PR: d.event.PullRequest}, Warehouse: d.w, Config: config.Default(),
		Sources: bot.GitSources{Dir: d.repo}, Logger: logger,
		Commands:    []report.Command{{Command: "/dataops rerun", What: "run the checks again"}, {Command: "/dataops deploy", What: "build the change in production once the gate passes"}},
		FullDetails: "The full report is in each check's text."}
}

func buildProduction(ctx context.Context, w warehouse.Warehouse, dir string, cfg config.Config) error {
	p, ds := project.Load(dir)
	if p == nil {
		return ds
	}
	m, ds := project.Compile(ctx, p, project.Options{Target: project.Target{Name: "prod", Schema: cfg.Production.Schema, Type: w.Dialect().Name()},
		Warehouse: build.CompileWarehouse(w)})
	if ds = ds.Errors(); len(ds) > 0 {
		return ds
	}
	all, _ := m.Select("", nil)
	res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all})
	if err != nil {
		return err
	}
	if res.Failed() {
		return fmt.Errorf("the production build failed")
	}
	return nil
}

func copyFS(src fs.FS, dst string) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			if d.Name() == "target" {
				return fs.SkipDir // a local compile's output, not the project
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func replaceIn(path, old, new string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(old)) {
		return fmt.Errorf("%s no longer contains %q: update the demo's change", path, old)
	}
	return os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644)
}

// commit commits everything in repo (creating it when needed) and returns
// the new commit's sha.
func commit(ctx context.Context, repo, msg string) (string, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo, "-c", "user.name=dataops demo", "-c", "user.email=demo@dataops.invalid",
			"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s (dataops demo needs git on PATH)", args[0], err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := os.Stat(filepath.Join(repo, ".git")); err != nil {
		if _, err := git("init", "-q"); err != nil {
			return "", err
		}
	}
	if _, err := git("add", "-A"); err != nil {
		return "", err
	}
	if _, err := git("commit", "-q", "-m", msg); err != nil {
		return "", err
	}
	return git("rev-parse", "HEAD")
}
