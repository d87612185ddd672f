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
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Report files the GitLab CI template declares as artifacts.
const (
	CodeQualityFile = "gl-code-quality-report.json"
	JUnitFile       = "dataops-junit.xml"
)

// runGitLab runs in a merge request pipeline: CI_* variables say which
// merge request and commits; DATAOPS_GITLAB_TOKEN posts the note and
// statuses; the warehouse DSN comes from the variable dataops.yml names.
func runGitLab(ctx context.Context, getenv func(string) string, stdout io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "dataops: "+format+"\n", args...) }
	dir := orDefault(getenv("CI_PROJECT_DIR"), ".")
	cfg, err := config.Load(filepath.Join(dir, orDefault(getenv("DATAOPS_CONFIG"), config.FileName)))
	if err != nil {
		say("%v", err)
		return ExitFailed
	}
	if p := getenv("DATAOPS_PROJECT_DIR"); p != "" {
		cfg.Project = p
	}
	iid, _ := strconv.Atoi(getenv("CI_MERGE_REQUEST_IID"))
	if iid == 0 {
		say("nothing to do: not a merge request pipeline (add rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\")")
		return ExitOK
	}
	token := getenv("DATAOPS_GITLAB_TOKEN")
	if token == "" {
		say("no DATAOPS_GITLAB_TOKEN: add a project access token with the api scope as a masked CI/CD variable")
		return ExitOK
	}
	dsn := getenv(cfg.Warehouse.DSNEnv)
	if dsn == "" {
		say("no warehouse: set %s as a masked CI/CD variable", cfg.Warehouse.DSNEnv)
		return ExitOK
	}
	gl, err := gitlab.New(gitlab.Options{BaseURL: getenv("CI_API_V4_URL"), Project: getenv("CI_PROJECT_ID"), Token: token, Logger: logger})
	if err != nil {
		say("%v", err)
		return ExitFailed
	}
	w, err := warehouse.Open(ctx, dsn)
	if err != nil {
		say("%s", scrub(err.Error(), dsn))
		return ExitFailed
	}
	defer w.Close()
	pr := scm.PullRequest{Number: iid, Title: getenv("CI_MERGE_REQUEST_TITLE"), Author: getenv("GITLAB_USER_LOGIN"),
		BaseRef: getenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"), BaseSHA: getenv("CI_MERGE_REQUEST_DIFF_BASE_SHA"),
		HeadRef: getenv("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"), HeadSHA: orDefault(getenv("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"), getenv("CI_COMMIT_SHA")),
		Fork: getenv("CI_MERGE_REQUEST_SOURCE_PROJECT_ID") != getenv("CI_MERGE_REQUEST_PROJECT_ID"), State: "open"}
	ev := bot.Event{Host: "gitlab", Repo: getenv("CI_PROJECT_PATH"), Kind: bot.Opened, PullRequest: pr, DeliveryID: getenv("CI_PIPELINE_ID")}
	cmp := mergeRequestComparison(getenv, pr)
	h := &handler{host: gl, w: w, cfg: cfg, logger: logger, workspace: dir,
		fullDetails: "The full report is in the job log and its Code Quality and test reports.",
		checkedOut:  orDefault(getenv("CI_COMMIT_SHA"), pr.HeadSHA),
		compare:     func(context.Context, scm.PullRequest) (scm.Comparison, error) { return cmp, nil }}
	outcome, err := h.handle(ctx, ev)
	if err != nil {
		say("%s", scrub(err.Error(), dsn))
		return ExitFailed
	}
	if outcome == nil {
		return ExitOK // a fork's merge request waits for a maintainer: the note says so
	}
	say("%s", bot.DescribeComparison(outcome.Comparison, pr.BaseRef))
	if err := writeGitLabReports(dir, outcome); err != nil {
		say("write the report files: %v", err)
	}
	fmt.Fprintln(stdout, outcome.Report)
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
func writeGitLabReports(dir string, o *bot.Outcome) error {
	var annotations []scm.Annotation
	for _, r := range o.Results {
		annotations = append(annotations, r.Annotations...)
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
			switch n.Status {
			case build.StatusFail:
				tc.Failure = n.Message
			case build.StatusError:
				tc.Error = n.Message
			case build.StatusSkipped:
				tc.Skipped = n.Message
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
