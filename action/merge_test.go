package action

import (
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestActionOnlyThePullRequestsChange: main moved on after the pull
// request branched. The Action builds what actions/checkout checked out -
// by default GitHub's test merge, compared with its first parent, main's
// tip - or, when the workflow checked out the head, the head compared with
// its merge base; either way only the pull request's change is planned,
// built and diffed, and the log says which it used.
func TestActionOnlyThePullRequestsChange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prEdits  projecttest.Edits
		checkout string // "head": the workflow checks out the head
	}{
		{name: "pull request changes Y"},
		{name: "pull request also changes X", prEdits: projecttest.AlsoEditsX},
		{name: "workflow checks out the head", checkout: "head"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, dsn := warehousetest.DuckDBFile(t)
			f := newDivergedFixture(t, w, dsn, nil, projecttest.MainMovesOn, tc.prEdits)
			if tc.checkout == "head" {
				f.git(t, "checkout", "-q", f.headSHA)
			}
			code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, log)
			}
			comments := f.gh.Comments(repoName, 7)
			if len(comments) != 1 {
				t.Fatalf("%d comments", len(comments))
			}
			report := comments[0].Body
			for _, run := range f.gh.CheckRuns(repoName) {
				if run.HeadSHA == f.headSHA && run.Name == "dataops/diff" {
					report += "\n" + run.Summary + "\n" + run.Text
				}
			}
			projecttest.CheckOnlyItsChange(t, report, relations(t, w, "pr_7"), tc.prEdits != nil)
			said := "compared the merge " + f.mergeSHA[:7] + " of " + f.headSHA[:7] + " into the base branch with the base branch at " + f.mainSHA[:7]
			if tc.checkout == "head" {
				said = "compared " + f.headSHA[:7] + " with " + f.baseSHA[:7] + ", its merge base with the base branch (no merge to compare: the workflow checked out the head, not a merge)"
			}
			if !strings.Contains(log, "dataops: "+said) {
				t.Errorf("the log does not say %q:\n%s", said, log)
			}
		})
	}
}

// TestActionWorkflowDispatch: a dispatched run checks the commit it checked
// out against its merge base with the default branch.
func TestActionWorkflowDispatch(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newDivergedFixture(t, w, dsn, nil, projecttest.MainMovesOn, nil)
	f.gh.SetBranch("main", f.mainSHA)
	f.git(t, "checkout", "-q", f.headSHA)
	f.sha = f.headSHA
	event := f.event(t, "pull_request.opened.json", func(p map[string]any) { delete(p, "pull_request") })
	code, log, outputs := f.run(t, "workflow_dispatch", event, map[string]string{})
	if code != ExitOK || outputs["status"] != "success" {
		t.Fatalf("exit %d, outputs %v\n%s", code, outputs, log)
	}
	said := "dataops: compared " + f.headSHA[:7] + " with " + f.baseSHA[:7] + ", its merge base with the base branch"
	if !strings.Contains(log, said) {
		t.Errorf("the log does not say %q:\n%s", said, log)
	}
	if got := relations(t, w, outputs["environment"]); got != projecttest.CardAmountBuilds {
		t.Errorf("the environment holds %s", got)
	}
}
