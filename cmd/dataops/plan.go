package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/local"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func init() {
	commands["plan"] = command{
		summary: "Say what a change does to a project: models added, removed, modified (and why) or impacted, and whether changes break columns.",
		usage:   "plan --project DIR --base REV [--head REV] [--compare merge-base|merge|tip] [--warehouse DSN] [--defer-to SCHEMA] [--target NAME] [--json]",
		run:     runPlan,
	}
}

func runPlan(args []string, out, errOut io.Writer) int {
	fs := newFlags("plan", commands["plan"], errOut)
	dir := fs.String("project", ".", "the folder holding dbt_project.yml, inside a git repository")
	base := fs.String("base", "", "the git revision to compare with: the pull request's base branch or commit (required)")
	head := fs.String("head", "", "the git revision of the change (default: the work tree, with uncommitted edits)")
	dsn := fs.String("warehouse", "", "warehouse DSN: with it, each change is checked against production's columns (breaking or not)")
	deferTo := fs.String("defer-to", "", "production schema (default: production.schema in dataops.yml)")
	targetName := fs.String("target", "", "the profiles.yml output to compile for")
	cfgPath := fs.String("config", config.FileName, "dataops.yml")
	asJSON := fs.Bool("json", false, "print the plan as JSON for scripts")
	compare := compareFlag(fs, scm.CompareMergeBase)
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	if *base == "" {
		return usageError(errOut, "plan", "--base is required: the revision to compare with, e.g. --base origin/main")
	}
	if fs.NArg() > 0 {
		return usageError(errOut, "plan", "unexpected argument %q", fs.Arg(0))
	}
	cfg, ok := loadConfig(fs, "plan", *cfgPath, errOut)
	if !ok {
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The warehouse, when there is one, also compiles the models whose
	// templates query (run_query, dbt_utils.star, ...).
	var w warehouse.Warehouse
	if *dsn != "" || os.Getenv(cfg.Warehouse.DSNEnv) != "" {
		var code int
		if w, _, code = openWarehouse(ctx, "plan", *dsn, cfg, errOut); w == nil {
			return code
		}
		defer w.Close()
	}
	revs, cmp, code := compileRevisions(ctx, "plan", *dir, *base, *head, *compare, *targetName, w, errOut)
	if revs == nil {
		return code
	}
	printProblems(errOut, *dir, cmp, revs)
	p := plan.Diff(revs.Base, revs.Head)
	p.Base, p.Head = cmp.Base, cmp.Head
	p.NoBase, p.NoHead = revs.NoBase, revs.NoHead
	if w != nil {
		prod := productionTarget(cfg, *deferTo, w.Dialect().Name())
		res, err := dryRunSeeds(ctx, w, p, revs.Head, prod, *dir, errOut)
		if err != nil {
			fmt.Fprintf(errOut, "dataops plan: %v\n", err)
			return exitFailure
		}
		p.AssessDryRun(ctx, w, revs.Base, revs.Head, prod, res)
	}
	if *asJSON {
		printJSON(out, p)
	} else {
		fmt.Fprintf(out, "Plan for %s: %s\n", p.Project, bot.DescribeComparison(cmp, *base))
		printPlan(out, p)
	}
	return code
}

// dryRunSeeds, when the change builds seeds, dry-runs what the plan
// builds, as a pull request's dry run does: the seeds are read from their
// files, so a model reading a seed the change adds, or a column it adds to
// one, is judged against the seed as the change has it, not production's
// (plan.AssessDryRun). A seed whose file cannot be loaded is printed at
// its line. Nothing is written to the warehouse. Without seeds to build
// it gives nil.
func dryRunSeeds(ctx context.Context, w warehouse.Warehouse, p *plan.Plan, head *project.Manifest, prod project.Target, dir string, errOut io.Writer) (*build.Result, error) {
	selection := p.Selection(head)
	seeds := false
	for id := range selection {
		if n := head.Nodes[id]; n != nil && n.Kind == project.KindSeed {
			seeds = true
		}
	}
	if !seeds {
		return nil, nil
	}
	res, err := build.Run(ctx, build.Options{Manifest: head, Warehouse: w, Selection: selection, Defer: &prod, DryRun: true})
	if err != nil {
		return nil, fmt.Errorf("dry run of the change's seeds: %w", err)
	}
	for _, n := range res.Nodes {
		if n.Kind == project.KindSeed && n.Failure != nil {
			f := *n.Failure
			f.Path = filepath.Join(dir, filepath.FromSlash(f.Path))
			fmt.Fprintf(errOut, "dataops plan: %s\n", f.String())
		}
	}
	return res, nil
}

// productionTarget is where production lives: the --defer-to schema, or
// the one dataops.yml names.
func productionTarget(cfg config.Config, schema, engine string) project.Target {
	if schema == "" {
		schema = cfg.Production.Schema
	}
	return project.Target{Name: "prod", Schema: schema, Type: engine}
}

// compareFlag is --compare, shared by the commands that compare
// revisions.
func compareFlag(fs *flag.FlagSet, def string) *string {
	return fs.String("compare", def, "what the change is compared with: merge-base (its merge base with --base, as git diff BASE...HEAD), "+
		"merge (the change merged into --base, against --base's tip, as a code host's test merge; a conflict falls back to merge-base) "+
		"or tip (--base's tip as it is)")
}

// compileRevisions resolves what to compare (see local.Compare) and
// compiles both, w (if not nil) answering the templates that query while
// compiling. As in a pull request's checks, models that do not compile do
// not stop it (printProblems lists them). code is exitFailure when the
// change brings errors of its own, with revs still set: the caller goes on
// with what compiled.
func compileRevisions(ctx context.Context, cmd, dir, base, head, mode, target string, w warehouse.Warehouse, errOut io.Writer) (revs *plan.Revisions, cmp scm.Comparison, code int) {
	switch mode {
	case scm.CompareMerge, scm.CompareMergeBase, scm.CompareTip:
	default:
		return nil, scm.Comparison{}, usageError(errOut, cmd, "--compare %q: use merge-base, merge or tip", mode)
	}
	cmp, err := local.Compare(ctx, dir, base, head, mode)
	if err != nil {
		// A folder without a project says so first: git's complaint would
		// hide it.
		if p, ds := project.Load(dir); p == nil {
			printDiagnostics(errOut, dir, ds)
			return nil, cmp, exitUsage
		}
		fmt.Fprintf(errOut, "dataops %s: %v\n", cmd, err)
		return nil, cmp, exitFailure
	}
	opts := plan.RevisionOptions{Target: target}
	if w != nil {
		opts.Warehouse = build.CompileWarehouse(w)
	}
	revs, err = plan.CompileRevisions(ctx, dir, cmp.Base, cmp.Head, opts)
	var hp plan.HeadProblems
	switch {
	case errors.As(err, &hp):
		printDiagnostics(errOut, dir, hp.Diagnostics)
		if hp.HasConfigErrors() {
			return nil, cmp, exitUsage
		}
		return nil, cmp, exitFailure
	case err != nil:
		fmt.Fprintf(errOut, "dataops %s: %v\n", cmd, err)
		return nil, cmp, exitFailure
	}
	if len(revs.Problems.Introduced) > 0 {
		return revs, cmp, exitFailure
	}
	return revs, cmp, exitOK
}

// printProblems prints the head's compile errors with their positions, the
// change's own apart from those its base already had, and the models left
// out with the reason.
func printProblems(errOut io.Writer, dir string, cmp scm.Comparison, revs *plan.Revisions) {
	printDiagnostics(errOut, dir, revs.Problems.Warnings)
	printDiagnostics(errOut, dir, revs.Problems.Introduced)
	if n := len(revs.Problems.Existing); n > 0 {
		fmt.Fprintf(errOut, "%s the base %s already had (not this change's):\n", plural(n, "compile error"), short(cmp.Base))
		for _, d := range revs.Problems.Existing {
			d.Path = filepath.Join(dir, filepath.FromSlash(d.Path))
			fmt.Fprintf(errOut, "  %s\n", d)
		}
	}
	queries := false
	for _, id := range sortedSkipped(revs.Head) {
		if s := revs.Head.Skipped[id]; s.Kind == project.KindModel {
			fmt.Fprintf(errOut, "not compiled: %s %s (%s): %s\n", s.Kind, s.Name, filepath.Join(dir, filepath.FromSlash(s.Path)), s.Reason)
			queries = queries || s.Cause == project.CauseWarehouse
		}
	}
	if queries {
		fmt.Fprintln(errOut, "Some models query the warehouse while compiling: pass --warehouse DSN to compile and plan them.")
	}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

var statusTitles = []struct {
	status plan.Status
	title  string
	mark   string
}{
	{plan.Modified, "Modified", "~"},
	{plan.Added, "Added", "+"},
	{plan.Removed, "Removed", "-"},
	{plan.Cosmetic, "Whitespace or comments only (nothing to rebuild)", "="},
	{plan.Impacted, "Impacted downstream (rebuilt)", ">"},
}

// printPlan lists a plan's changes, after a line saying what it compared.
func printPlan(w io.Writer, p *plan.Plan) {
	switch {
	case p.NoBase:
		fmt.Fprintf(w, "\nThe base has no project yet (no %s there): every model is new.\n", plan.ProjectFile)
	case p.NoHead:
		fmt.Fprintf(w, "\nThe head has no project any more (no %s there): every model is removed.\n", plan.ProjectFile)
	}
	if len(p.Changes) == 0 {
		fmt.Fprintln(w, "\nNo changes to models, seeds, sources or tests: nothing to build.")
		return
	}
	tests := map[plan.Status]int{}
	for _, s := range statusTitles {
		var lines []string
		for _, c := range p.Changes {
			if c.Status != s.status {
				continue
			}
			if c.Kind == project.KindTest {
				tests[c.Status]++
				continue
			}
			lines = append(lines, planLines(c, s.mark)...)
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s\n%s\n", s.title, strings.Join(lines, "\n"))
		}
	}
	if len(tests) > 0 {
		var parts []string
		for _, s := range statusTitles {
			if n := tests[s.status]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, s.status))
			}
		}
		fmt.Fprintf(w, "\nTests: %s\n", strings.Join(parts, ", "))
	}
	if !p.Rebuild() {
		fmt.Fprintln(w, "\nNothing to build.")
		return
	}
	names := make([]string, len(p.Build))
	for i, id := range p.Build {
		names[i] = id[strings.LastIndex(id, ".")+1:]
	}
	fmt.Fprintf(w, "\nWould build %s: %s\n", plural(len(names), "node"), strings.Join(names, ", "))
	fmt.Fprintln(w, "Select them with --select state:modified+ (dataops build --base REV does this by default).")
}

func planLines(c plan.NodeChange, mark string) []string {
	kind := string(c.Kind)
	if c.Materialized != "" {
		kind = c.Materialized
	}
	line := fmt.Sprintf("  %s %s (%s)  %s", mark, c.Name, kind, c.Path)
	if len(c.Reasons) > 0 {
		line += "  [" + strings.Join(c.Reasons, "; ") + "]"
	}
	if len(c.Upstream) > 0 {
		line += "  downstream of " + strings.Join(c.Upstream, ", ")
	}
	lines := []string{line}
	if im := c.Impact; im != nil {
		lines = append(lines, "      "+describeImpact(im))
		for i, u := range im.Downstream {
			branch := "├─"
			if i == len(im.Downstream)-1 {
				branch = "└─"
			}
			use := "does not use them"
			switch u.Uses {
			case "yes":
				use = "uses " + strings.Join(u.Columns, ", ")
			case "unknown":
				use = "may use them (selects *, or reads the whole row)"
			}
			lines = append(lines, fmt.Sprintf("      %s %s: %s", branch, u.Model, use))
		}
	}
	return lines
}

func describeImpact(im *plan.Impact) string {
	var parts []string
	for _, c := range im.Removed {
		parts = append(parts, "removed "+c.Name)
	}
	for _, r := range im.Renamed {
		parts = append(parts, "renamed "+r.From+" -> "+r.To)
	}
	for _, r := range im.Retyped {
		parts = append(parts, fmt.Sprintf("retyped %s %s -> %s", r.Name, r.From, r.To))
	}
	if im.GrainChanged {
		parts = append(parts, "grain changed (unique_key)")
	}
	if len(im.Added) > 0 && im.Why != "new model" {
		var names []string
		for _, c := range im.Added {
			names = append(names, c.Name)
		}
		parts = append(parts, "added "+strings.Join(names, ", "))
	}
	if im.Why != "" {
		parts = append(parts, im.Why)
	}
	if len(parts) == 0 {
		parts = append(parts, "same columns")
	}
	return im.Kind + ": " + strings.Join(parts, "; ")
}
