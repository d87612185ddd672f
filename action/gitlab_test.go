package action

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestGitLabJobEndToEnd: a merged results pipeline, which runs on the
// merge of the source branch into the target's tip (the fixture's
// workspace), compared with that tip.
func TestGitLabJobEndToEnd(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	gl := gitlabtest.NewServer(t)
	archive := f.git(t, "archive", "--format=tar.gz", "--prefix=shop-"+f.baseSHA+"/", f.baseSHA)
	gl.SetArchive(f.baseSHA, archive)
	project := gl.Project()
	gl.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, Title: "card_amount", State: "opened", SourceBranch: "card-amount", TargetBranch: "main",
		SourceProjectID: project.ID, TargetProjectID: project.ID, SHA: f.headSHA, BaseSHA: f.baseSHA})
	gl.AddCommit(f.headSHA, "card-amount")
	env := f.gitlabJobEnv(gl, project.ID, "octocat", dsn)
	run := func() (int, string) {
		var out bytes.Buffer
		code := Run(context.Background(), environ(env), &out)
		if strings.Contains(out.String(), gitlabtest.DefaultToken) {
			t.Error("the token reached the log")
		}
		return code, out.String()
	}
	for i := 0; i < 2; i++ {
		code, log := run()
		if code != ExitOK {
			t.Fatalf("run %d: exit %d\n%s", i+1, code, log)
		}
		if said := "dataops: compared the merge " + f.mergeSHA[:7] + " of " + f.headSHA[:7] + " into main with main at " + f.mainSHA[:7]; !strings.Contains(log, said) {
			t.Errorf("the log does not say %q:\n%s", said, log)
		}
	}
	var ours int
	for _, n := range gl.Notes(7) {
		if strings.Contains(n.Body, report.Marker) {
			ours++
		}
	}
	if ours != 1 {
		t.Errorf("%d dataops notes after two runs, want 1", ours)
	}
	statuses := gl.LatestStatuses(f.headSHA)
	for _, name := range []string{"dataops/compile", "dataops/dry-run", "dataops/build", "dataops/diff", "dataops/gate"} {
		if st, ok := statuses[name]; !ok || st.Status != "success" {
			t.Errorf("status %s = %+v", name, statuses[name])
		}
	}
	if !strings.HasPrefix(statuses["dataops/diff"].Description, "Neutral:") {
		t.Errorf("a neutral diff says so on GitLab: %q", statuses["dataops/diff"].Description)
	}
	var cq []map[string]any
	data, err := os.ReadFile(filepath.Join(f.dir, CodeQualityFile))
	if err != nil || json.Unmarshal(data, &cq) != nil {
		t.Fatalf("code quality report: %v %s", err, data)
	}
	if len(cq) != 1 || !strings.Contains(cq[0]["description"].(string), "first_order_date") {
		t.Errorf("code quality report holds the warning test: %s", data)
	}
	junit, err := os.ReadFile(filepath.Join(f.dir, JUnitFile))
	if err != nil || !bytes.Contains(junit, []byte(`name="not_null_dim_customers_first_order_date"`)) {
		t.Errorf("junit report: %v\n%s", err, junit)
	}
}

// A fork's merge request: in its own pipeline (in the fork) nothing runs;
// in one a member of the project ran in the project (GitLab's "run
// pipeline in the parent project", after a warning to read the change),
// the checks run at that commit, with the warehouse locked down: the
// fork's model cannot read the runner's files.
func TestGitLabJobForkInTheParentProject(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	secretFile := filepath.Join(t.TempDir(), "runner-secret.txt")
	write(t, secretFile, "the runner's own file\n")
	f.pushHead(t, map[string]string{"models/marts/probe.sql": "select content from read_text('" + secretFile + "')\n"})
	if err := w.Close(); err != nil { // the job's process is alone with the file
		t.Fatal(err)
	}
	gl := gitlabtest.NewServer(t)
	gl.SetArchive(f.baseSHA, f.git(t, "archive", "--format=tar.gz", "--prefix=shop-"+f.baseSHA+"/", f.baseSHA))
	project := gl.Project()
	const forkID = 4242
	gl.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, Title: "card_amount", State: "opened", SourceBranch: "card-amount", TargetBranch: "main",
		SourceProjectID: forkID, TargetProjectID: project.ID, SHA: f.headSHA, BaseSHA: f.baseSHA})
	gl.AddCommit(f.headSHA, "card-amount")
	env := f.gitlabJobEnv(gl, forkID, "maintainer", dsn)
	var out bytes.Buffer
	code := Run(context.Background(), environ(env), &out)
	log := out.String()
	statuses := gl.LatestStatuses(f.headSHA)
	if code != ExitFailed || statuses["dataops/gate"].Status != "failed" {
		t.Errorf("exit %d, gate %+v: want the fork's model refused\n%s", code, statuses["dataops/gate"], log)
	}
	if !strings.Contains(log, "locked down") {
		t.Errorf("the job does not say the warehouse is locked down:\n%s", log)
	}
	cq, err := os.ReadFile(filepath.Join(f.dir, CodeQualityFile))
	if err != nil || !bytes.Contains(cq, []byte("file system operations are disabled")) {
		t.Errorf("the code quality report does not say why probe.sql was refused: %v\n%s", err, cq)
	}
	if strings.Contains(log+string(cq), "runner's own file") {
		t.Errorf("the runner's file reached the log or the report:\n%s", log)
	}
}

// gitlabJobEnv is the environment of a GitLab CI job in a merged results
// pipeline for merge request 7 of the fake's project: the job checked out
// the merge of f's head into main. sourceID is the project the source
// branch lives in (a fork's, or the project's own); user ran the pipeline.
func (f *fixture) gitlabJobEnv(gl *gitlabtest.Server, sourceID int, user, dsn string) map[string]string {
	project := gl.Project()
	return map[string]string{
		"GITLAB_CI": "true", "CI_PROJECT_DIR": f.dir, "CI_API_V4_URL": gl.BaseURL(), "CI_PROJECT_ID": strconv.Itoa(project.ID),
		"CI_PROJECT_PATH": project.Path, "CI_MERGE_REQUEST_IID": "7", "CI_MERGE_REQUEST_DIFF_BASE_SHA": f.baseSHA,
		"CI_COMMIT_SHA": f.mergeSHA, "CI_MERGE_REQUEST_EVENT_TYPE": "merged_result", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": f.headSHA,
		"CI_MERGE_REQUEST_TARGET_BRANCH_SHA": f.mainSHA, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "card-amount",
		"CI_MERGE_REQUEST_PROJECT_ID": strconv.Itoa(project.ID), "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": strconv.Itoa(sourceID),
		"GITLAB_USER_LOGIN": user, "DATAOPS_GITLAB_TOKEN": gitlabtest.DefaultToken, "DATAOPS_WAREHOUSE_DSN": dsn,
	}
}
