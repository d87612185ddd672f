package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func init() {
	commands["build"] = command{
		summary: "Build the selected models, seeds and tests of a project in a warehouse or a branch environment.",
		usage:   "build --project DIR --warehouse DSN [--env NAME] [--base REV [--compare merge-base|merge|tip]] [--select EXPR] [--defer-to SCHEMA] [--threads N] [--dry-run] [--full-refresh] [--target NAME] [--json]",
		run:     runBuild,
	}
}

func runBuild(args []string, out, errOut io.Writer) int {
	fs := newFlags("build", commands["build"], errOut)
	dir := fs.String("project", ".", "the folder holding dbt_project.yml")
	dsn := fs.String("warehouse", "", "warehouse DSN: duckdb:///path/file.duckdb, duckdb:// (in memory) or postgres://user@host:port/db (default: $DATAOPS_WAREHOUSE_DSN, or the variable dataops.yml names)")
	env := fs.String("env", "", "build into this branch environment (a schema dataops creates and marks), instead of the target's schemas")
	pr := fs.Int("pr", 0, "pull request number recorded on the environment created by --env")
	sel := fs.String("select", "", "dbt selection of what to build (default: everything, or with --base what the change touches)")
	baseRev := fs.String("base", "", "git revision the change is compared with: builds state:modified+ (what `dataops plan` lists) unless --select says otherwise, and enables state: selectors")
	deferTo := fs.String("defer-to", "", "production schema: models not selected are read from there instead of being built")
	threads := fs.Int("threads", 4, "how many models build at once")
	dryRun := fs.Bool("dry-run", false, "build nothing: check each model with the engine and show its output columns")
	fullRefresh := fs.Bool("full-refresh", false, "rebuild incremental models from scratch")
	targetName := fs.String("target", "", "the profiles.yml output to build (ignored with --env)")
	cfgPath := fs.String("config", config.FileName, "dataops.yml")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	compare := compareFlag(fs, scm.CompareMergeBase)
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(errOut, "build", "unexpected argument %q (use --select to choose models)", fs.Arg(0))
	}
	if *threads < 1 {
		return usageError(errOut, "build", "--threads must be at least 1")
	}
	cfg, ok := loadConfig(fs, "build", *cfgPath, errOut)
	if !ok {
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w, _, code := openWarehouse(ctx, "build", *dsn, cfg, errOut)
	if w == nil {
		return code
	}
	defer w.Close()

	p, ds := project.Load(*dir)
	if p == nil {
		printDiagnostics(errOut, *dir, ds)
		return exitUsage
	}
	target, err := p.Target(*targetName)
	if err != nil {
		return usageError(errOut, "build", "--target: %v", err)
	}
	target.Type = w.Dialect().Name()
	if *env != "" {
		name := *env
		if err := warehouse.ValidateIdentifier(w.Dialect(), "environment name", name); err != nil {
			return usageError(errOut, "build", "--env: %v", err)
		}
		target = project.Target{Name: name, Schema: name, Type: w.Dialect().Name()}
	}
	m, cds := project.Compile(ctx, p, project.Options{Target: target, Warehouse: build.CompileWarehouse(w)})
	printDiagnostics(errOut, *dir, cds.Warnings())
	for _, id := range sortedSkipped(m) {
		if s := m.Skipped[id]; s.Kind == project.KindModel {
			fmt.Fprintf(errOut, "not built: %s %s (%s): %s\n", s.Kind, s.Name, filepath.Join(*dir, filepath.FromSlash(s.Path)), s.Reason)
		}
	}
	// As dbt does, a model that does not compile keeps only itself and what
	// depends on it from being built: the rest is built, and the command
	// exits 1 at the end.
	compileErrors := cds.Errors()
	if len(compileErrors) > 0 {
		printDiagnostics(errOut, *dir, compileErrors)
		if compileErrors.HasConfigErrors() {
			return exitUsage
		}
	}
	var selectors map[string]project.SelectorMethod
	var planned *plan.Plan
	masks := mask.New(cfg.Mask, m)
	if *baseRev != "" {
		// The head's errors stopped the build above; the base's leave its
		// models out of the comparison, as in a pull request's checks.
		revs, cmp, code := compileRevisions(ctx, "build", *dir, *baseRev, "", *compare, *targetName, w, errOut)
		if revs == nil {
			return code
		}
		fmt.Fprintf(errOut, "dataops build: %s\n", bot.DescribeComparison(cmp, *baseRev))
		planned = plan.Diff(revs.Base, revs.Head)
		selectors = planned.Selectors()
		masks = mask.New(cfg.Mask, revs.Base, m)
	}
	var selection project.Selection
	if planned != nil && *sel == "" {
		selection = planned.Selection(m)
	} else if selection, err = m.Select(*sel, selectors); err != nil {
		return usageError(errOut, "build", "--select: %v", err)
	}
	if len(selection) == 0 {
		if *sel == "" {
			fmt.Fprintf(errOut, "dataops build: no model changed since %s: nothing to build\n", *baseRev)
		} else {
			fmt.Fprintf(errOut, "dataops build: --select %q matches nothing: nothing to build\n", *sel)
		}
	}
	selection = m.WithTests(selection)
	opts := build.Options{Manifest: m, Warehouse: w, Selection: selection, Threads: *threads,
		DryRun: *dryRun, FullRefresh: *fullRefresh, Mask: &masks}
	if *deferTo != "" {
		opts.Defer = &project.Target{Name: "prod", Schema: *deferTo, Type: w.Dialect().Name()}
	}
	if *env != "" && !*dryRun {
		marker := warehouse.EnvironmentMarker{PR: *pr, Owner: currentUser(), CreatedAt: time.Now().UTC()}
		if err := w.CreateEnvironment(ctx, *env, marker); err != nil {
			fmt.Fprintf(errOut, "dataops build: environment %q: %v\n", *env, err)
			return exitFailure
		}
	}
	progress := newProgress(errOut)
	if !*asJSON {
		opts.Progress = progress.event
	}
	res, err := build.Run(ctx, opts)
	progress.finish()
	if err != nil {
		fmt.Fprintf(errOut, "dataops build: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		printJSON(out, res)
	} else {
		printBuildResult(out, *dir, res, *dryRun)
	}
	if len(compileErrors) > 0 {
		fmt.Fprintf(errOut, "dataops build: %s (listed above): the models they keep from compiling, and what depends on them, were not built\n",
			plural(len(compileErrors), "compile error"))
	}
	if res.Failed() || len(compileErrors) > 0 {
		return exitFailure
	}
	return exitOK
}

// progress shows a build as it happens: on a terminal one status line
// redrawn in place above which finished nodes scroll; elsewhere (CI logs)
// one plain line per finished node.
type progress struct {
	w        io.Writer
	terminal bool
	running  map[string]bool
	done     int
	total    int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, running: map[string]bool{}}
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) event(e build.Event) {
	p.total = e.Total
	r := e.Result
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if !e.Done {
		p.running[r.Name] = true
	} else {
		delete(p.running, r.Name)
		p.done++
		fmt.Fprintf(p.w, "[%d/%d] %-7s %s %s (%s)\n", e.Index, e.Total, strings.ToUpper(string(r.Status)), r.Kind, r.Name, r.Duration.Round(time.Millisecond))
	}
	if p.terminal && len(p.running) > 0 {
		names := make([]string, 0, len(p.running))
		for n := range p.running {
			names = append(names, n)
		}
		fmt.Fprintf(p.w, "%d/%d done; building %s", p.done, p.total, strings.Join(names, ", "))
	}
}

func (p *progress) finish() {
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func printBuildResult(w io.Writer, dir string, res *build.Result, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if dryRun {
		fmt.Fprintln(tw, "MODEL\tMATERIALIZATION\tCOLUMNS\tSTATUS")
	} else {
		fmt.Fprintln(tw, "NODE\tMATERIALIZATION\tROWS\tTIME\tSTATUS")
	}
	tests := 0
	for _, n := range res.Nodes {
		// Passing and skipped tests are counted below, not listed: a
		// project has many more tests than models.
		if n.Kind == project.KindTest && (n.Status == build.StatusPass || n.Status == build.StatusSkipped) {
			tests++
			continue
		}
		name := n.Name
		if n.Kind != project.KindModel {
			name = string(n.Kind) + " " + n.Name
		}
		if dryRun {
			var cols []string
			for _, c := range n.Columns {
				cols = append(cols, c.Name+" "+c.Type)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, n.Materialized, strings.Join(cols, ", "), n.Status)
			continue
		}
		rows := "-"
		if n.Rows >= 0 {
			rows = fmt.Sprint(n.Rows)
		}
		if n.Kind == project.KindTest && n.Failures > 0 {
			rows = fmt.Sprintf("%d failing", n.Failures)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, n.Materialized, rows, n.Duration.Round(time.Millisecond), n.Status)
	}
	tw.Flush()
	var problems []string
	for _, n := range res.Nodes {
		if n.Failure == nil || (n.Status != build.StatusError && n.Status != build.StatusFail && n.Status != build.StatusWarn) {
			continue
		}
		f := *n.Failure
		f.Path = strings.TrimPrefix(dir+"/"+f.Path, "./")
		line := f.String()
		if n.Status == build.StatusWarn {
			line = "warning: " + line
		}
		problems = append(problems, line)
		if n.Sample != nil && len(n.Sample.Values) > 0 {
			problems = append(problems, "    sample: "+strings.Join(n.Sample.Columns, " | "))
			for _, row := range n.Sample.Values {
				vals := make([]string, len(row))
				for i, v := range row {
					vals[i] = report.Value(v)
				}
				problems = append(problems, "            "+strings.Join(vals, " | "))
			}
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(problems, "\n"))
	}
	c := res.Count()
	if tests > 0 {
		fmt.Fprintf(w, "(%d passing or skipped tests not listed)\n", tests)
	}
	if dryRun {
		// Nothing was built and tests do not run in a dry run: say what it
		// did, so "built" in a log always means a table exists.
		fmt.Fprintf(w, "\nDry run done in %s: %d checked, %d errors, %d skipped; nothing was built, tests not run.\n",
			res.Duration.Round(time.Millisecond), c[build.StatusSuccess], c[build.StatusError], c[build.StatusSkipped])
		return
	}
	fmt.Fprintf(w, "\nDone in %s: %d built, %d errors, %d skipped; tests: %d passed, %d failed, %d warned.\n",
		res.Duration.Round(time.Millisecond), c[build.StatusSuccess], c[build.StatusError], c[build.StatusSkipped],
		c[build.StatusPass], c[build.StatusFail], c[build.StatusWarn])
}
