// Package action runs dataops as a CI step: the GitHub Action (a container
// action, inputs and event file from the runner) or a GitLab CI job (CI_*
// variables). It turns the run's event into a bot.Event, runs the
// pipeline, and reports the way each CI expects: outputs, a step summary
// and log annotations on GitHub; Code Quality and JUnit report files on
// GitLab.
//
// Missing secrets and events dataops does not handle end with a one-line
// reason and a neutral status, so adding the workflow before the secrets
// does not turn every pull request red.
//
// Where ARCHITECTURE.md says the Action reads the head from its checked-out
// workspace: only when the workspace holds the head (or GitHub's merge
// commit of it, as actions/checkout leaves it on pull_request); otherwise,
// as on issue_comment, where the workspace is the default branch, the head
// comes from the host's archive like the bot's. dataops.yml comes from the
// base's archive. The step's own credentials are never readable by
// env_var(), and every secret is scrubbed from what it writes anywhere.
package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Exit codes: a failed gate fails the CI job; everything else that is not
// the pull request's fault passes with a neutral status.
const (
	ExitOK     = 0
	ExitFailed = 1
)

// Timeout bounds a whole run, so a hung warehouse cannot hold a runner.
const Timeout = 55 * time.Minute

// Run runs the step for whichever CI it finds itself in. environ is the
// process's environment (os.Environ()).
func Run(ctx context.Context, environ []string, stdout io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	env := newEnvironment(environ)
	switch {
	case env.get("GITHUB_ACTIONS") == "true":
		return runGitHub(ctx, env, stdout)
	case env.get("GITLAB_CI") == "true":
		return runGitLab(ctx, env, stdout)
	}
	fmt.Fprintln(stdout, "dataops action: neither GITHUB_ACTIONS nor GITLAB_CI is set: run it as a GitHub Action or a GitLab CI job (locally, use dataops check)")
	return ExitFailed
}

// environment is the step's environment variables.
type environment struct {
	list []string
	vars map[string]string
}

func newEnvironment(environ []string) environment {
	e := environment{list: environ, vars: map[string]string{}}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.vars[k] = v
		}
	}
	return e
}

func (e environment) get(name string) string { return e.vars[name] }

func (e environment) lookup(name string) (string, bool) {
	v, ok := e.vars[name]
	return v, ok
}

// Inputs are the GitHub Action's inputs, as action.yml declares them.
var Inputs = []string{"project-dir", "warehouse-dsn", "github-token", "config", "select", "fail-on", "comment"}

// inputs are the values of the GitHub Action's inputs.
type inputs struct {
	projectDir, dsn, token, configPath, selection, failOn string
	comment                                               bool
}

func readInputs(wf *workflow) (inputs, error) {
	in := inputs{
		projectDir: orDefault(wf.input("project-dir"), "."),
		dsn:        wf.input("warehouse-dsn"),
		token:      wf.input("github-token"),
		configPath: orDefault(wf.input("config"), config.FileName),
		selection:  wf.input("select"),
		failOn:     wf.input("fail-on"),
		comment:    true,
	}
	if c := wf.input("comment"); c != "" {
		b, err := strconv.ParseBool(c)
		if err != nil {
			return in, fmt.Errorf("input comment: %q is not true or false", c)
		}
		in.comment = b
	}
	return in, nil
}

func runGitHub(ctx context.Context, env environment, stdout io.Writer) int {
	sec := newSecrets(env.list)
	wf := newWorkflow(env.get, stdout, sec)
	in, err := readInputs(wf)
	if err != nil {
		wf.error("dataops: %v", err)
		return ExitFailed
	}
	sec.add(in.token)
	sec.add(in.dsn)
	sec.add(password(in.dsn))
	for _, v := range sec.values {
		wf.mask(v)
	}
	payload, err := os.ReadFile(env.get("GITHUB_EVENT_PATH"))
	if err != nil {
		return neutral(wf, "no event file (GITHUB_EVENT_PATH): run dataops in a workflow triggered by pull_request, issue_comment or workflow_dispatch")
	}
	ev, err := eventFor(env.get, payload)
	var ignored bot.ErrIgnored
	if errors.As(err, &ignored) {
		return neutral(wf, "nothing to do: "+ignored.Reason)
	}
	if err != nil {
		wf.error("dataops: %v", err)
		return ExitFailed
	}
	if ev.Kind == bot.Commented {
		// Most comments are conversation: nothing is read for them.
		if _, ok := bot.ParseCommand(ev.Comment.Body); !ok || ev.Comment.Bot {
			return neutral(wf, "nothing to do: the comment holds no /dataops command")
		}
	}
	if in.token == "" {
		return neutral(wf, "no github-token input: pass github-token: ${{ secrets.GITHUB_TOKEN }} so dataops can post its checks and comment")
	}
	owner, repo, _ := strings.Cut(env.get("GITHUB_REPOSITORY"), "/")
	logger := slog.New(slog.NewTextHandler(wf.out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	gh, err := github.New(github.Options{BaseURL: apiURL(env.get), Owner: owner, Repo: repo, Token: in.token, Logger: logger})
	if err != nil {
		wf.error("dataops: %v", err)
		return ExitFailed
	}
	host := newCIHost(gh, sec, in.comment)
	if err := pinCommits(ctx, host, &ev); err != nil {
		wf.error("dataops: %v", err)
		wf.setOutput("status", "failure")
		return ExitFailed
	}
	// The rules come from the base, so a pull request cannot loosen the
	// rules it is checked by; before anything touches the warehouse.
	configAt := ev.PullRequest.BaseSHA
	if ev.PullRequest.Number == 0 && ev.PullRequest.HeadSHA != "" {
		// A dispatched run names the default branch: the rules are those of
		// the merge base the checks compare with.
		if mb, err := gh.MergeBase(ctx, configAt, ev.PullRequest.HeadSHA); err == nil {
			configAt = mb
		}
	}
	cfg, err := baseConfig(ctx, host, configAt, in.configPath)
	if err != nil {
		wf.error("dataops: %v", err)
		wf.setOutput("status", "failure")
		return ExitFailed
	}
	if in.projectDir != "." || cfg.Project == "" {
		cfg.Project = in.projectDir
	}
	if err := applyFailOn(&cfg, in.failOn); err != nil {
		wf.error("dataops: input fail-on: %v", err)
		return ExitFailed
	}
	dsn := in.dsn
	if dsn == "" {
		dsn = env.get(cfg.Warehouse.DSNEnv)
		for _, v := range []string{dsn, password(dsn)} {
			if sec.add(v) {
				wf.mask(v)
			}
		}
	}
	if dsn == "" {
		return neutral(wf, "no warehouse: set the warehouse-dsn input from a secret (or the "+cfg.Warehouse.DSNEnv+" variable)")
	}
	w := &lazyWarehouse{dsn: dsn, opts: warehouseOptions(ev.PullRequest.Fork, logger)}
	defer w.Close()

	// What actions/checkout checked out is what the checks build: on
	// pull_request events by default the test merge (refs/pull/N/merge).
	// Anything else (the default branch, on issue_comment) is not the pull
	// request's, and its sources come from GitHub's archives. The commit
	// is read from .git itself: git, run as root, refuses a workspace the
	// runner's user owns, and GITHUB_SHA is not what a workflow that checks
	// out another ref has.
	workspace := orDefault(env.get("GITHUB_WORKSPACE"), ".")
	checkedOut, err := checkedOut(workspace)
	if err != nil {
		logger.Info("no commit checked out in the workspace: the sources come from GitHub's archives", "workspace", workspace, "err", err)
	}
	h := &handler{host: host, w: w, cfg: cfg, logger: logger, workspace: workspace, selection: in.selection,
		lookupEnv:   modelEnv(env.lookup, cfg.Warehouse.DSNEnv, ev.PullRequest.Fork),
		fullDetails: "The full report is in the workflow run's summary and in each dataops check.",
		checkedOut:  checkedOut, compare: bot.CheckoutCompare(host, gh, checkedOut)}
	outcome, err := h.handle(ctx, ev)
	if err != nil {
		wf.error("dataops: %v", err)
		wf.setOutput("status", "failure")
		return ExitFailed
	}
	if outcome == nil {
		wf.setOutput("status", "neutral")
		return ExitOK
	}
	return reportGitHub(wf, env, outcome)
}

// warehouseOptions open the warehouse for a pull request's code. A fork's
// is a stranger's, even once a writer has commented /dataops rerun (what
// they read may not be all it does): its DuckDB is locked down as the
// bot's is, so that its models and hooks cannot read the runner's files
// (the event file, the workspace), write over the warehouse's file or
// anywhere else, reach the network, or change a setting. A pull request
// from the repository itself is its writers' own code, as the workflow
// is: DuckDB stays as dbt would open it, files and extensions included.
// (PostgreSQL answers for itself: what the DSN's role may do.)
func warehouseOptions(fork bool, logger *slog.Logger) warehouse.Options {
	if !fork {
		return warehouse.Options{}
	}
	logger.Info("the pull request comes from a fork: its DuckDB is opened without file, network or extension access, its settings locked")
	return warehouse.Options{Untrusted: true}
}

// pinCommits reads the pull request's base and head commits when the
// event does not carry them (a comment, a re-run), once: what runs is the
// head as it is now, and its checks go on that same commit.
func pinCommits(ctx context.Context, host scm.Host, ev *bot.Event) error {
	if ev.PullRequest.Number == 0 || (ev.PullRequest.BaseSHA != "" && ev.PullRequest.HeadSHA != "") {
		return nil
	}
	pr, err := host.PullRequest(ctx, ev.PullRequest.Number)
	if err != nil {
		return fmt.Errorf("read pull request #%d: %w", ev.PullRequest.Number, err)
	}
	ev.PullRequest = *pr
	return nil
}

// baseConfig reads dataops.yml (at path, from the repository's root) from
// the base commit's archive; a base without one gets the defaults.
func baseConfig(ctx context.Context, host scm.Host, sha, file string) (config.Config, error) {
	files, err := bot.ArchiveSources{Host: host}.Files(ctx, sha)
	if err != nil {
		return config.Config{}, fmt.Errorf("read %s from the base commit: %w", file, err)
	}
	want := path.Clean(strings.TrimPrefix(filepath.ToSlash(file), "./"))
	for _, f := range files {
		if f.Path == want {
			cfg, err := config.Parse(file, f.Content)
			if err != nil {
				return cfg, fmt.Errorf("%s on the base branch (%s): %w", file, short(sha), err)
			}
			return cfg, nil
		}
	}
	return config.Default(), nil
}

// eventFor reads the run's event: a pull_request, an issue_comment, or a
// workflow_dispatch (checks the dispatched commit against the default
// branch, with no pull request to comment on).
func eventFor(getenv func(string) string, payload []byte) (bot.Event, error) {
	name := getenv("GITHUB_EVENT_NAME")
	delivery := getenv("GITHUB_RUN_ID") + "." + getenv("GITHUB_RUN_ATTEMPT")
	if name == "workflow_dispatch" {
		ev := bot.Event{Host: "github", Repo: getenv("GITHUB_REPOSITORY"), Kind: bot.Opened, DeliveryID: delivery}
		base := defaultBranch(payload)
		// The base is read from the host's archive by branch name.
		ev.PullRequest = scm.PullRequest{HeadSHA: getenv("GITHUB_SHA"), HeadRef: getenv("GITHUB_REF_NAME"),
			BaseRef: base, BaseSHA: base, Author: getenv("GITHUB_ACTOR"), State: "open"}
		return ev, nil
	}
	return bot.GitHubEvent(name, payload, delivery)
}

func reportGitHub(wf *workflow, env environment, o *bot.Outcome) int {
	wf.info("dataops: %s", bot.DescribeComparison(o.Comparison, ""))
	for _, r := range o.Results {
		for _, a := range r.Annotations {
			props := map[string]string{"file": a.Path, "title": a.Title}
			if a.Line > 0 {
				props["line"] = strconv.Itoa(a.Line)
			}
			level := "notice"
			switch a.Level {
			case scm.LevelFailure:
				level = "error"
			case scm.LevelWarning:
				level = "warning"
			}
			wf.command(level, props, a.Message)
		}
	}
	status := gateConclusion(o)
	report := wf.secrets.scrub(o.Report)
	path, err := writeReport(env, report)
	if err != nil {
		wf.warning("dataops: could not write the report file: %v", err)
	}
	wf.setOutput("environment", o.Environment)
	wf.setOutput("status", status)
	if path != "" {
		wf.setOutput("report-path", path)
	}
	wf.addSummary(report)
	if status == string(checks.Failure) {
		return ExitFailed
	}
	return ExitOK
}

func gateConclusion(o *bot.Outcome) string {
	for _, r := range o.Results {
		if r.Name == scm.CheckGate {
			return string(r.Conclusion)
		}
	}
	return string(checks.Neutral)
}

// neutral ends a run that had nothing to do, or could not start for a
// reason that is not the pull request's fault: one line, no failure.
func neutral(wf *workflow, reason string) int {
	wf.notice("dataops: %s", reason)
	wf.setOutput("status", "neutral")
	return ExitOK
}

// applyFailOn overrides dataops.yml's diff.fail_on with the fail-on input,
// e.g. "removed-rows,breaking-change,changed-percent=5".
func applyFailOn(cfg *config.Config, s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var f config.FailOn
	for _, part := range strings.Split(s, ",") {
		name, value, hasValue := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case name == "removed-rows" && !hasValue:
			f.RemovedRows = true
		case name == "breaking-change" && !hasValue:
			f.BreakingChange = true
		case name == "changed-percent" && hasValue:
			p, err := strconv.ParseFloat(value, 64)
			if err != nil || p <= 0 || p > 100 {
				return fmt.Errorf("changed-percent=%s: give a percentage between 0 and 100", value)
			}
			f.ChangedPercent = p
		case name == "none" && !hasValue:
		default:
			return fmt.Errorf("%q: use removed-rows, breaking-change, changed-percent=N or none, comma-separated", part)
		}
	}
	cfg.Diff.FailOn = f
	return nil
}

func apiURL(getenv func(string) string) string {
	return orDefault(getenv("GITHUB_API_URL"), "https://api.github.com")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// defaultBranch reads repository.default_branch from an event payload.
func defaultBranch(payload []byte) string {
	var e struct {
		Repository struct {
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
	}
	json.Unmarshal(payload, &e)
	return orDefault(e.Repository.DefaultBranch, "main")
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
