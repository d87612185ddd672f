package action

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// newAdoptFixture is a pull request on a repository whose base holds
// baseFiles and no dbt project; the head adds examples/shop under folder
// (and headFiles). Production is empty: nothing was ever built.
func newAdoptFixture(t *testing.T, baseFiles map[string]string, folder string, headFiles map[string]string) *fixture {
	t.Helper()
	w, dsn := warehousetest.DuckDBFile(t)
	f := &fixture{dir: t.TempDir(), gh: githubtest.NewServer(t), w: w, dsn: dsn}
	write(t, filepath.Join(f.dir, "README.md"), "# analytics\n")
	for p, content := range baseFiles {
		write(t, filepath.Join(f.dir, p), content)
	}
	f.baseSHA = f.commit(t, "base")
	f.git(t, "branch", "-M", "main")
	f.mainSHA = f.baseSHA
	f.git(t, "checkout", "-q", "-b", "card-amount")
	for _, file := range projecttest.Shop(t, nil) {
		write(t, filepath.Join(f.dir, folder, file.Path), string(file.Content))
	}
	for p, content := range headFiles {
		write(t, filepath.Join(f.dir, p), content)
	}
	f.headSHA = f.commit(t, "add the dbt project")
	f.openPullRequest(t)
	f.gh.SetPermission("octocat", "write")
	return f
}

// TestActionPullRequestAddsTheProject: the pull request that adds the
// project to a repository (or to the folder dataops.yml names) compares
// with an empty project: every model is added and built in the
// environment, nothing is compared with production, and the gate passes.
// Without dataops.yml on the base the defaults hold (the project at the
// root), even when the head adds one naming another folder: the message
// then names the folder looked in and why.
func TestActionPullRequestAddsTheProject(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base      map[string]string
		folder    string
		head      map[string]string
		code      int
		checks    string
		inComment []string
		// inSummary: what the compile check's text says.
		inSummary []string
	}{
		{name: "at the root, no dataops.yml on the base", folder: ".", code: ExitOK,
			checks:    "dataops/build=success dataops/compile=success dataops/diff=success dataops/dry-run=success dataops/gate=success",
			inComment: []string{"all checks passed — the base has no project yet, so every model is new", "| `dataops/diff` | ✅ success | 11 new models, nothing to compare with production |"}},
		{name: "into the folder the base's dataops.yml names", base: map[string]string{"dataops.yml": "project: analytics/shop\n"}, folder: "analytics/shop", code: ExitOK,
			checks:    "dataops/build=success dataops/compile=success dataops/diff=success dataops/dry-run=success dataops/gate=success",
			inComment: []string{"the base has no project yet, so every model is new"}},
		{name: "in a folder only the head's dataops.yml names", folder: "analytics", head: map[string]string{"dataops.yml": "project: analytics\n"}, code: ExitFailed,
			checks:    "dataops/build=skipped dataops/compile=failure dataops/diff=skipped dataops/dry-run=skipped dataops/gate=failure",
			inComment: []string{"| `dataops/compile` | ❌ failure | No dbt project: no dbt_project.yml in the repository's root |"},
			inSummary: []string{"no dbt_project.yml in the repository's root at either revision",
				"dataops.yml is read from the base branch; without one there, the project is at the repository's root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAdoptFixture(t, tc.base, tc.folder, tc.head)
			code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, log)
			}
			var got []string
			summary := ""
			for _, run := range f.gh.CheckRuns(repoName) {
				if run.HeadSHA == f.headSHA {
					got = append(got, run.Name+"="+run.Conclusion)
					if run.Name == "dataops/compile" {
						summary = run.Summary
					}
				}
			}
			for _, want := range tc.inSummary {
				if !strings.Contains(summary, want) {
					t.Errorf("the compile check does not say %q:\n%s", want, summary)
				}
			}
			slices.Sort(got)
			if strings.Join(got, " ") != tc.checks {
				t.Errorf("checks %v, want %s", got, tc.checks)
			}
			comments := f.gh.Comments(repoName, 7)
			if len(comments) != 1 {
				t.Fatalf("%d comments", len(comments))
			}
			body := comments[0].Body
			for _, want := range tc.inComment {
				if !strings.Contains(body, want) {
					t.Errorf("the comment does not say %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, "base revision does not compile") {
				t.Errorf("the base without a project was reported as broken:\n%s", body)
			}
			tables := relations(t, f.w, "pr_7")
			if tc.code == ExitOK {
				// Every model is built here; production has none to defer to.
				for _, model := range []string{"stg_orders", "fct_orders", "dim_customers", "raw_orders"} {
					if !strings.Contains(","+tables+",", ","+model+",") {
						t.Errorf("the environment holds %s, not %s", tables, model)
					}
				}
				if prod := relations(t, f.w, "main"); prod != "" {
					t.Errorf("production was written: %s", prod)
				}
			} else if tables != "" {
				t.Errorf("built without a project: %s", tables)
			}
		})
	}
}

// TestGitLabJobMergeRequestAddsTheProject: the GitLab job on the merge
// request that adds the project: the target branch has none, so every
// model is added and built and the gate passes.
func TestGitLabJobMergeRequestAddsTheProject(t *testing.T) {
	f := newAdoptFixture(t, nil, ".", nil)
	gl := gitlabtest.NewServer(t)
	gl.SetArchive(f.baseSHA, f.git(t, "archive", "--format=tar.gz", "--prefix=shop-"+f.baseSHA+"/", f.baseSHA))
	project := gl.Project()
	gl.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, Title: "add dbt", State: "opened", SourceBranch: "card-amount", TargetBranch: "main",
		SourceProjectID: project.ID, TargetProjectID: project.ID, SHA: f.headSHA, BaseSHA: f.baseSHA})
	gl.AddCommit(f.headSHA, "card-amount")
	env := f.gitlabJobEnv(gl, project.ID, "octocat", f.dsn)
	var out bytes.Buffer
	if code := Run(context.Background(), environ(env), &out); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	statuses := gl.LatestStatuses(f.headSHA)
	for name, want := range map[string]string{"dataops/compile": "success", "dataops/build": "success", "dataops/diff": "success", "dataops/gate": "success"} {
		if statuses[name].Status != want {
			t.Errorf("status %s = %+v, want %s", name, statuses[name], want)
		}
	}
	var note string
	for _, n := range gl.Notes(7) {
		if strings.Contains(n.Body, report.Marker) {
			note = n.Body
		}
	}
	if !strings.Contains(note, "the base has no project yet, so every model is new") {
		t.Errorf("the note does not say the base has no project:\n%s", note)
	}
	if tables := relations(t, f.w, "pr_7"); !strings.Contains(","+tables+",", ",fct_orders,") {
		t.Errorf("the environment holds %s", tables)
	}
}
