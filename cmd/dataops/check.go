package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/local"
)

func init() {
	commands["check"] = command{
		summary: "Run a pull request's checks on a local git repository and print the comment and checks.",
		usage:   "check [--project DIR] [--base REV] [--head REV] [--compare merge|merge-base|tip] [--warehouse DSN] [--env NAME] [--out DIR] [--config FILE]",
		run:     runCheck,
	}
}

func runCheck(args []string, out, errOut io.Writer) int {
	fs := newFlags("check", commands["check"], errOut)
	dir := fs.String("project", "", "the folder holding dbt_project.yml (default: project in dataops.yml, else .)")
	base := fs.String("base", "main", "the revision the change is compared with")
	head := fs.String("head", "", "the revision of the change (default: the work tree, uncommitted edits included)")
	dsn := fs.String("warehouse", "", "warehouse DSN with production built in it (default: $DATAOPS_WAREHOUSE_DSN or the variable dataops.yml names)")
	env := fs.String("env", "", "environment to build in (default: dataops_check_<user>)")
	outDir := fs.String("out", "", "also write comment.md and checks/*.json to this folder")
	cfgPath := fs.String("config", config.FileName, "dataops.yml")
	compare := compareFlag(fs, scm.CompareMerge)
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	cfg, ok := loadConfig(fs, "check", *cfgPath, errOut)
	if !ok {
		return exitUsage
	}
	if *dir == "" {
		*dir = cfg.Project
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w, _, code := openWarehouse(ctx, "check", *dsn, cfg, errOut)
	if w == nil {
		return code
	}
	defer w.Close()
	if *env == "" {
		*env = "dataops_check_" + sanitize(currentUser())
	}
	switch *compare {
	case scm.CompareMerge, scm.CompareMergeBase, scm.CompareTip:
	default:
		return usageError(errOut, "check", "--compare %q: use merge, merge-base or tip", *compare)
	}
	host := &local.Host{Repo: *dir, Dir: *outDir, Mode: *compare,
		PR: scm.PullRequest{Number: 0, BaseRef: *base, BaseSHA: *base, HeadSHA: *head, Author: currentUser()}}
	cmp, err := host.Compare(ctx, host.PR)
	if err != nil {
		fmt.Fprintf(errOut, "dataops check: %v\n", err)
		return exitUsage
	}
	host.PR.HeadSHA = cmp.PullHead // the checks are the head commit's, even for the work tree
	fmt.Fprintf(errOut, "dataops check: %s\n", bot.DescribeComparison(cmp, *base))
	// People read progress lines; log records are the bot's (dataops serve).
	p := &bot.Pipeline{Host: host, Warehouse: w, Config: cfg, Sources: bot.GitSources{Dir: *dir}, ProjectDir: *dir, Environment: *env,
		FullDetails: "Run with --out DIR for every check's full text.", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Compare: func(context.Context, scm.PullRequest) (scm.Comparison, error) { return cmp, nil },
		StageDone: func(stage, conclusion string, took time.Duration) {
			fmt.Fprintf(errOut, "dataops check: %s %s (%s)\n", strings.TrimPrefix(stage, "dataops/"), conclusion, took.Round(time.Millisecond))
		}}
	ev := bot.Event{Host: "local", Repo: *dir, Kind: bot.Opened, PullRequest: host.PR}
	outcome, err := p.Run(ctx, ev)
	if err != nil {
		fmt.Fprintf(errOut, "dataops check: %v\n", err)
		return exitFailure
	}
	printOutcome(out, outcome, *outDir)
	if !outcome.Passed() {
		return exitFailure
	}
	return exitOK
}

// printOutcome shows the comment a pull request would get, then its checks.
func printOutcome(w io.Writer, o *bot.Outcome, outDir string) {
	fmt.Fprintln(w, o.Comment)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tCONCLUSION\tTITLE")
	for _, r := range o.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Conclusion, r.Title)
	}
	tw.Flush()
	for _, r := range o.Results {
		for _, a := range r.Annotations {
			loc := a.Path
			if a.Line > 0 {
				loc = fmt.Sprintf("%s:%d", a.Path, a.Line)
			}
			fmt.Fprintf(w, "%s: %s: %s\n", loc, a.Level, a.Message)
		}
	}
	if outDir != "" {
		fmt.Fprintf(w, "\nWrote %s and %s\n", filepath.Join(outDir, "comment.md"), filepath.Join(outDir, "checks"))
	}
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}
