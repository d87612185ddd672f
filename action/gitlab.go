package action

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/gitlab"
)

// Report files the GitLab CI template declares as artifacts.
const (
	CodeQualityFile = "gl-code-quality-report.json"
	JUnitFile       = "dataops-junit.xml"
)

// runGitLab runs in a merge request pipeline: CI_* variables say which
// merge request and commits; DATAOPS_GITLAB_TOKEN posts the note and
// statuses; the warehouse DSN comes from the variable dataops.yml names.
// GitLab checks out the pipeline's commit (the source branch's head, or the
// merged result GitLab made of it), so the workspace holds the head.
func runGitLab(ctx context.Context, env environment, stdout io.Writer) int {
	sec := newSecrets(env.list)
	out := sec.writer(stdout)
	logger := slog.New(slog.NewTextHandler(out, nil))
	say := func(format string, args ...any) { fmt.Fprintf(out, "dataops: "+format+"\n", args...) }
	dir := orDefault(env.get("CI_PROJECT_DIR"), ".")
	iid, _ := strconv.Atoi(env.get("CI_MERGE_REQUEST_IID"))
	if iid == 0 {
		say("nothing to do: not a merge request pipeline (add rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\")")
		return ExitOK
	}
	token := env.get("DATAOPS_GITLAB_TOKEN")
	if token == "" {
		say("no DATAOPS_GITLAB_TOKEN: add a project access token with the api scope as a masked CI/CD variable")
		return ExitOK
	}
	sec.add(token)
	gl, err := gitlab.New(gitlab.Options{BaseURL: env.get("CI_API_V4_URL"), Project: env.get("CI_PROJECT_ID"), Token: token, Logger: logger})
	if err != nil {
		say("%v", err)
		return ExitFailed
	}
	host := newCIHost(gl, sec, true)
	pr := scm.PullRequest{Number: iid, Title: env.get("CI_MERGE_REQUEST_TITLE"), Author: env.get("GITLAB_USER_LOGIN"),
		BaseRef: env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"), BaseSHA: env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"),
		HeadRef: env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"), HeadSHA: orDefault(env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"), env.get("CI_COMMIT_SHA")),
		Fork: env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID") != env.get("CI_MERGE_REQUEST_PROJECT_ID"), State: "open"}
	// A fork's merge request runs its pipeline in the fork, without this
	// project's variables; a member of this project can run it here
	// instead, once they have read it (GitLab warns them), at the commit
	// they saw. That is their approval, as /dataops rerun is on GitHub:
	// the checks run, on a locked-down warehouse, since the code is
	// still a stranger's.
	untrusted := pr.Fork
	if pr.Fork && env.get("CI_PROJECT_ID") != "" && env.get("CI_PROJECT_ID") == env.get("CI_MERGE_REQUEST_PROJECT_ID") {
		say("a fork's merge request, in a pipeline %s ran in this project: checking %s with the warehouse locked down", orDefault(env.get("GITLAB_USER_LOGIN"), "a member"), short(pr.HeadSHA))
		pr.Fork = false
	}
	cfg, err := baseConfig(ctx, host, pr.BaseSHA, orDefault(env.get("DATAOPS_CONFIG"), config.FileName))
	if err != nil {
		say("%v", err)
		return ExitFailed
	}
	if p := env.get("DATAOPS_PROJECT_DIR"); (p != "" && p != ".") || cfg.Project == "" {
		cfg.Project = orDefault(p, ".")
	}
	dsn := env.get(cfg.Warehouse.DSNEnv)
	if dsn == "" {
		say("no warehouse: set %s as a masked CI/CD variable", cfg.Warehouse.DSNEnv)
		return ExitOK
	}
	sec.add(dsn)
	sec.add(password(dsn))
	w := &lazyWarehouse{dsn: dsn, opts: warehouseOptions(untrusted, logger)}
	defer w.Close()
	ev := bot.Event{Host: "gitlab", Repo: env.get("CI_PROJECT_PATH"), Kind: bot.Opened, PullRequest: pr, DeliveryID: env.get("CI_PIPELINE_ID")}
	cmp := mergeRequestComparison(env.get, pr)
	h := &handler{host: host, w: w, cfg: cfg, logger: logger, workspace: dir,
		lookupEnv:   modelEnv(env.lookup, cfg.Warehouse.DSNEnv, untrusted),
		fullDetails: "The full report is in the job log and its Code Quality and test reports.",
		checkedOut:  orDefault(env.get("CI_COMMIT_SHA"), pr.HeadSHA),
		compare:     func(context.Context, scm.PullRequest) (scm.Comparison, error) { return cmp, nil }}
	outcome, err := h.handle(ctx, ev)
	if err != nil {
		say("%v", err)
		return ExitFailed
	}
	if outcome == nil {
		return ExitOK // a fork's merge request waits for a maintainer: the note says so
	}
	say("%s", bot.DescribeComparison(outcome.Comparison, pr.BaseRef))
	if err := writeGitLabReports(dir, outcome, sec); err != nil {
		say("write the report files: %v", err)
	}
	fmt.Fprintln(out, outcome.Report)
	if gateConclusion(outcome) == "failure" {
		return ExitFailed
	}
	return ExitOK
}

// mergeRequestComparison is what a merge request pipeline compares: a
// merged results pipeline (or a merge train's) runs on the merge of the
// source into the target branch, compared with the target's tip; a
// detached one runs on the source's head, compared with the merge base.
func mergeRequestComparison(getenv func(string) string, pr scm.PullRequest) scm.Comparison {
	switch getenv("CI_MERGE_REQUEST_EVENT_TYPE") {
	case "merged_result", "merge_train":
		if base, merge := getenv("CI_MERGE_REQUEST_TARGET_BRANCH_SHA"), getenv("CI_COMMIT_SHA"); base != "" && merge != "" && merge != pr.HeadSHA {
			return scm.Comparison{Base: base, Head: merge, Mode: scm.CompareMerge, PullHead: pr.HeadSHA}
		}
	}
	return scm.Comparison{Base: pr.BaseSHA, Head: pr.HeadSHA, Mode: scm.CompareMergeBase, PullHead: pr.HeadSHA,
		Why: "a detached merge request pipeline runs on the head (turn on merged results pipelines to check the merge)"}
}

// writeGitLabReports writes the Code Quality report (every annotation) and
// the JUnit report (every test) the merge request widgets show.
func writeGitLabReports(dir string, o *bot.Outcome, sec *secrets) error {
	var annotations []scm.Annotation
	for _, r := range o.Results {
		for _, a := range r.Annotations {
			a.Path, a.Title, a.Message = sec.scrub(a.Path), sec.scrub(a.Title), sec.scrub(a.Message)
			annotations = append(annotations, a)
		}
	}
	f, err := os.Create(filepath.Join(dir, CodeQualityFile))
	if err != nil {
		return err
	}
	if err := gitlab.WriteCodeQuality(f, annotations); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	suite := gitlab.TestSuite{Name: "dataops"}
	if o.Build != nil {
		for _, n := range o.Build.Nodes {
			if n.Kind != project.KindTest {
				continue
			}
			tc := gitlab.TestCase{Name: n.Name, Classname: "dataops." + n.Path, File: n.Path, Time: n.Duration}
			if n.Failure != nil {
				tc.Line = n.Failure.Line
			}
			switch msg := sec.scrub(n.Message); n.Status {
			case build.StatusFail:
				tc.Failure = msg
			case build.StatusError:
				tc.Error = msg
			case build.StatusSkipped:
				tc.Skipped = msg
			}
			suite.Cases = append(suite.Cases, tc)
		}
	}
	j, err := os.Create(filepath.Join(dir, JUnitFile))
	if err != nil {
		return err
	}
	if err := gitlab.WriteJUnit(j, []gitlab.TestSuite{suite}); err != nil {
		j.Close()
		return err
	}
	return j.Close()
}
