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
package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

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

// Run runs the step for whichever CI it finds itself in.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return runGitHub(ctx, getenv, stdout)
	case getenv("GITLAB_CI") == "true":
		return runGitLab(ctx, getenv, stdout)
	}
	fmt.Fprintln(stdout, "dataops action: neither GITHUB_ACTIONS nor GITLAB_CI is set: run it as a GitHub Action or a GitLab CI job (locally, use dataops check)")
	return ExitFailed
}

// inputs are the GitHub Action's inputs (action.yml).
type inputs struct {
	projectDir, dsn, token, configPath, selection, failOn string
	comment                                               bool
}

func readInputs(gha *githubactions.Action) (inputs, error) {
	in := inputs{
		projectDir: orDefault(gha.GetInput("project-dir"), "."),
		dsn:        gha.GetInput("warehouse-dsn"),
		token:      gha.GetInput("github-token"),
		configPath: orDefault(gha.GetInput("config"), config.FileName),
		selection:  gha.GetInput("select"),
		failOn:     gha.GetInput("fail-on"),
		comment:    true,
	}
	if c := gha.GetInput("comment"); c != "" {
		b, err := strconv.ParseBool(c)
		if err != nil {
			return in, fmt.Errorf("input comment: %q is not true or false", c)
		}
		in.comment = b
	}
	return in, nil
}

func runGitHub(ctx context.Context, getenv func(string) string, stdout io.Writer) int {
	gha := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout))
	in, err := readInputs(gha)
	if err != nil {
		gha.Errorf("dataops: %v", err)
		return ExitFailed
	}
	for _, secret := range secretsOf(in.dsn, in.token) {
		gha.AddMask(secret)
	}
	workspace := orDefault(getenv("GITHUB_WORKSPACE"), ".")
	cfg, err := config.Load(filepath.Join(workspace, in.configPath))
	if err != nil {
		// Before anything touches the warehouse: the file and line.
		gha.Errorf("dataops: %v", err)
		gha.SetOutput("status", "failure")
		return ExitFailed
	}
	if in.projectDir != "." || cfg.Project == "" {
		cfg.Project = in.projectDir
	}
	if err := applyFailOn(&cfg, in.failOn); err != nil {
		gha.Errorf("dataops: input fail-on: %v", err)
		return ExitFailed
	}
	payload, err := os.ReadFile(getenv("GITHUB_EVENT_PATH"))
	if err != nil {
		return neutral(gha, "no event file (GITHUB_EVENT_PATH): run dataops in a workflow triggered by pull_request, issue_comment or workflow_dispatch")
	}
	ev, err := eventFor(getenv, payload)
	var ignored bot.ErrIgnored
	if errors.As(err, &ignored) {
		return neutral(gha, "nothing to do: "+ignored.Reason)
	}
	if err != nil {
		gha.Errorf("dataops: %v", err)
		return ExitFailed
	}
	if in.token == "" {
		return neutral(gha, "no github-token input: pass github-token: ${{ secrets.GITHUB_TOKEN }} so dataops can post its checks and comment")
	}
	if in.dsn == "" {
		in.dsn = getenv(cfg.Warehouse.DSNEnv)
	}
	if in.dsn == "" {
		return neutral(gha, "no warehouse: set the warehouse-dsn input from a secret (or the "+cfg.Warehouse.DSNEnv+" variable)")
	}
	owner, repo, _ := strings.Cut(getenv("GITHUB_REPOSITORY"), "/")
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	gh, err := github.New(github.Options{BaseURL: apiURL(getenv), Owner: owner, Repo: repo, Token: in.token, Logger: logger})
	if err != nil {
		gha.Errorf("dataops: %v", err)
		return ExitFailed
	}
	var host scm.Host = gh
	if !in.comment {
		host = noComment{host}
	}
	w, err := warehouse.Open(ctx, in.dsn)
	if err != nil {
		gha.Errorf("dataops: %s", scrub(err.Error(), in.dsn))
		gha.SetOutput("status", "failure")
		return ExitFailed
	}
	defer w.Close()

	// What actions/checkout checked out is what the checks build: on
	// pull_request events by default the test merge (refs/pull/N/merge).
	checkedOut := bot.CheckedOut(ctx, workspace, getenv("GITHUB_SHA"))
	h := &handler{host: host, w: w, cfg: cfg, logger: logger, workspace: workspace, selection: in.selection,
		fullDetails: "The full report is in the workflow run's summary and in each dataops check.",
		checkedOut:  checkedOut, compare: bot.CheckoutCompare(host, gh, checkedOut)}
	outcome, err := h.handle(ctx, ev)
	if err != nil {
		gha.Errorf("dataops: %s", scrub(err.Error(), in.dsn))
		gha.SetOutput("status", "failure")
		return ExitFailed
	}
	if outcome == nil {
		gha.SetOutput("status", "neutral")
		return ExitOK
	}
	return reportGitHub(gha, getenv, outcome)
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

func reportGitHub(gha *githubactions.Action, getenv func(string) string, o *bot.Outcome) int {
	gha.Infof("dataops: %s", bot.DescribeComparison(o.Comparison, ""))
	for _, r := range o.Results {
		for _, a := range r.Annotations {
			fields := map[string]string{"file": a.Path, "title": a.Title}
			if a.Line > 0 {
				fields["line"] = strconv.Itoa(a.Line)
			}
			logged := gha.WithFieldsMap(fields)
			switch a.Level {
			case scm.LevelFailure:
				logged.Errorf("%s", a.Message)
			case scm.LevelWarning:
				logged.Warningf("%s", a.Message)
			default:
				logged.Noticef("%s", a.Message)
			}
		}
	}
	status := gateConclusion(o)
	path := filepath.Join(orDefault(getenv("RUNNER_TEMP"), os.TempDir()), "dataops-report.md")
	if err := os.WriteFile(path, []byte(o.Report), 0o644); err != nil {
		gha.Warningf("dataops: write the report file: %v", err)
	}
	gha.SetOutput("environment", o.Environment)
	gha.SetOutput("status", status)
	gha.SetOutput("report-path", path)
	if getenv("GITHUB_STEP_SUMMARY") != "" {
		gha.AddStepSummary(o.Report)
	}
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
func neutral(gha *githubactions.Action, reason string) int {
	gha.Noticef("dataops: %s", reason)
	gha.SetOutput("status", "neutral")
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

// secretsOf returns what must never appear in a log: the token, the DSN
// and its password.
func secretsOf(dsn, token string) []string {
	var out []string
	if token != "" {
		out = append(out, token)
	}
	if dsn != "" {
		out = append(out, dsn)
		if pw := password(dsn); pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

func password(dsn string) string {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return ""
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	_, pw, _ := strings.Cut(rest[:at], ":")
	return pw
}

func scrub(msg, dsn string) string {
	if pw := password(dsn); len(pw) >= 4 {
		msg = strings.ReplaceAll(msg, pw, "***")
	}
	return msg
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

// noComment is a host that does not comment, for comment: false.
type noComment struct{ scm.Host }

func (noComment) UpsertComment(context.Context, int, string, string) error { return nil }

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
