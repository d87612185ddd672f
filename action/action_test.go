package action

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	_ "github.com/dataops-dev/dataops/internal/warehouse/postgres"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

const repoName = "acme/shop"

// fixture is a pull request on a real git repository made from
// examples/shop: production built from the base commit, and a head commit
// with a breaking change to fct_orders and a new model. The workspace is
// what actions/checkout checks out on a pull_request event: GitHub's test
// merge of the head into the base, detached.
type fixture struct {
	dir, baseSHA, mainSHA, headSHA, mergeSHA string
	gh                                       *githubtest.Server
	// runnerTemp is the last run's RUNNER_TEMP, holding its output, step
	// summary and report files.
	runnerTemp string
	// sha is GITHUB_SHA when set; the test merge otherwise.
	sha string
	w   warehouse.Warehouse
	dsn string
	// env is added to the runner's environment of every run.
	env map[string]string
	// headRepo is the repository of the pull request's head branch: a
	// fork when set.
	headRepo string
}

func newFixture(t *testing.T, w warehouse.Warehouse, dsn string) *fixture {
	return newDivergedFixture(t, w, dsn, nil, nil, nil)
}

// newDivergedFixture is newFixture on examples/shop with baseEdits, where
// main moved on with mainEdits after the pull request branched, and
// production was built from main's tip; the pull request makes prEdits
// besides projecttest.CardAmount.
func newDivergedFixture(t *testing.T, w warehouse.Warehouse, dsn string, baseEdits, mainEdits, prEdits projecttest.Edits) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), gh: githubtest.NewServer(t), w: w, dsn: dsn}
	for _, file := range projecttest.Shop(t, nil) {
		write(t, filepath.Join(f.dir, file.Path), string(file.Content))
	}
	baseEdits.Apply(t, f.dir)
	f.baseSHA = f.commit(t, "base")
	f.git(t, "branch", "-M", "main")
	f.mainSHA = f.baseSHA
	if mainEdits != nil {
		mainEdits.Apply(t, f.dir)
		f.mainSHA = f.commit(t, "main moves on")
	}
	// Production, built from main's tip.
	m := projecttest.Compile(t, projecttest.Files(t, f.dir), project.Target{Name: "prod", Schema: "main", Type: w.Dialect().Name()})
	all, _ := m.Select("", nil)
	if res, err := build.Run(context.Background(), build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
		t.Fatalf("production build: %v", err)
	}
	f.git(t, "checkout", "-q", "-b", "card-amount", f.baseSHA)
	projecttest.CardAmount.Apply(t, f.dir)
	prEdits.Apply(t, f.dir)
	f.headSHA = f.commit(t, "head")
	f.openPullRequest(t)
	f.gh.SetPermission("octocat", "write")
	f.gh.SetPermission("visitor", "read")
	return f
}

// openPullRequest makes GitHub's test merge of the head (refs/pull/7/merge)
// and checks it out as actions/checkout does; the fake serves every
// commit and pull request 7 at the head.
func (f *fixture) openPullRequest(t *testing.T) {
	t.Helper()
	f.mergeSHA = projecttest.TestMerge(t, f.dir, f.mainSHA, f.headSHA, "refs/pull/7/merge")
	f.git(t, "checkout", "-q", "--detach", f.mergeSHA)
	projecttest.History(t, f.dir, func(sha string, parents []string, archive []byte) {
		f.gh.AddCommit(sha, parents...)
		f.gh.SetArchive(sha, archive)
	})
	f.gh.AddPullRequest(repoName, githubtest.PullRequest{Number: 7, Title: "card_amount", Author: "octocat",
		BaseRef: "main", BaseSHA: f.mainSHA, HeadRef: "card-amount", HeadSHA: f.headSHA, MergeCommitSHA: f.mergeSHA, HeadRepo: f.headRepo})
}

func (f *fixture) git(t *testing.T, args ...string) []byte {
	t.Helper()
	return projecttest.Git(t, f.dir, args...)
}

func (f *fixture) commit(t *testing.T, msg string) string {
	t.Helper()
	return projecttest.Commit(t, f.dir, msg)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// event writes an event file: a fixture payload from GitHub's own examples
// with the fields that matter set to this repository and pull request.
func (f *fixture) event(t *testing.T, fixtureName string, edit func(map[string]any)) string {
	t.Helper()
	payload := githubtest.Payload(t, fixtureName, repoName, githubtest.PayloadPR{Number: 7,
		BaseSHA: f.mainSHA, BaseRef: "main", HeadSHA: f.headSHA, HeadRef: "card-amount"}, edit)
	path := filepath.Join(t.TempDir(), "event.json")
	write(t, path, string(payload))
	return path
}

// run runs the action entry with the runner's environment.
func (f *fixture) run(t *testing.T, eventName, eventPath string, inputs map[string]string) (int, string, map[string]string) {
	t.Helper()
	tmp := t.TempDir()
	f.runnerTemp = tmp
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": eventName, "GITHUB_EVENT_PATH": eventPath,
		"GITHUB_REPOSITORY": repoName, "GITHUB_API_URL": f.gh.APIURL(), "GITHUB_WORKSPACE": f.dir,
		"GITHUB_OUTPUT": filepath.Join(tmp, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(tmp, "summary"),
		"RUNNER_TEMP": tmp, "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_SHA": orDefault(f.sha, f.mergeSHA),
		"INPUT_WAREHOUSE-DSN": f.dsn, "INPUT_GITHUB-TOKEN": "ghs_testtoken0123456789", "INPUT_CONFIG": "dataops.yml",
	}
	for k, v := range f.env {
		env[k] = v
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	var out bytes.Buffer
	code := Run(context.Background(), environ(env), &out)
	outputs := map[string]string{}
	if data, err := os.ReadFile(env["GITHUB_OUTPUT"]); err == nil {
		lines := strings.Split(string(data), "\n")
		for i := 0; i+2 < len(lines); i++ {
			if name, _, ok := strings.Cut(lines[i], "<<"); ok {
				outputs[name] = lines[i+1]
			}
		}
	}
	// The runner hides what ::add-mask:: names; nothing else may show it.
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "::add-mask::") && strings.Contains(line, "ghs_testtoken0123456789") {
			t.Errorf("the token reached the log: %s", line)
		}
	}
	return code, out.String(), outputs
}

// environ is env in os.Environ's form.
func environ(env map[string]string) []string {
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func relations(t *testing.T, w warehouse.Warehouse, schema string) string {
	return warehousetest.Tables(t, w, schema)
}

func TestActionEndToEnd(t *testing.T) {
	for _, e := range []struct {
		name string
		open func(t *testing.T) (warehouse.Warehouse, string)
	}{
		{"duckdb", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.DuckDBFile(t) }},
		{"postgres", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.PostgresDatabase(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			w, dsn := e.open(t)
			f := newFixture(t, w, dsn)
			code, log, outputs := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, log)
			}
			if outputs["environment"] != "pr_7" || outputs["status"] != "success" || outputs["report-path"] == "" {
				t.Errorf("outputs = %v", outputs)
			}
			want := "customer_segments,daily_revenue,dim_customers,fct_orders,monthly_revenue_by_region,orders_per_month"
			if got := relations(t, w, "pr_7"); got != want {
				t.Errorf("environment holds %s, want exactly the modified and downstream models %s", got, want)
			}
			conclusions := map[string]string{}
			for _, run := range f.gh.CheckRuns(repoName) {
				if run.HeadSHA == f.headSHA {
					if run.Status != "completed" {
						t.Errorf("%s is %s", run.Name, run.Status)
					}
					if _, dup := conclusions[run.Name]; dup {
						t.Errorf("two check runs named %s", run.Name)
					}
					conclusions[run.Name] = run.Conclusion
				}
			}
			wantChecks := map[string]string{"dataops/compile": "success", "dataops/dry-run": "success", "dataops/build": "success",
				"dataops/diff": "neutral", "dataops/gate": "success"}
			if fmt.Sprint(conclusions) != fmt.Sprint(wantChecks) {
				t.Errorf("checks %v, want %v", conclusions, wantChecks)
			}
			comments := f.gh.Comments(repoName, 7)
			if len(comments) != 1 || !strings.Contains(comments[0].Body, "renamed `credit_card_amount` → `card_amount`") {
				t.Fatalf("comments: %+v", comments)
			}

			// The same event again, then a push: still one comment, edited.
			f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
			code, log, _ = f.run(t, "pull_request", f.event(t, "pull_request.synchronize.json", nil), nil)
			if code != ExitOK {
				t.Fatalf("synchronize: exit %d\n%s", code, log)
			}
			if comments := f.gh.Comments(repoName, 7); len(comments) != 1 {
				t.Errorf("after three runs: %d comments, want the one, edited", len(comments))
			}

			// A reader's command is refused; a writer's runs.
			comment := func(user, body string) string {
				return f.event(t, "issue_comment.created.on_pull_request.json", func(p map[string]any) {
					p["issue"].(map[string]any)["number"] = 7
					c := p["comment"].(map[string]any)
					c["body"] = body
					c["user"].(map[string]any)["login"] = user
					c["user"].(map[string]any)["type"] = "User"
				})
			}
			f.run(t, "issue_comment", comment("visitor", "/dataops teardown"), nil)
			if relations(t, w, "pr_7") == "" {
				t.Error("a reader's teardown dropped the environment")
			}
			replied := false
			for _, c := range f.gh.Comments(repoName, 7) {
				replied = replied || strings.Contains(c.Body, "needs write access")
			}
			if !replied {
				t.Error("the reader was not told why")
			}

			// Closing drops the environment.
			code, log, _ = f.run(t, "pull_request", f.event(t, "pull_request.closed.json", nil), nil)
			if code != ExitOK {
				t.Fatalf("closed: exit %d\n%s", code, log)
			}
			if got := relations(t, w, "pr_7"); got != "" {
				t.Errorf("after close the environment still holds %s", got)
			}
		})
	}
}

func TestActionNeutralEndings(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	tests := []struct {
		name      string
		eventName string
		inputs    map[string]string
		log       string
		code      int
	}{
		{"no warehouse secret", "pull_request", map[string]string{"warehouse-dsn": ""}, "no warehouse: set the warehouse-dsn input from a secret", ExitOK},
		{"unhandled event", "push", nil, "nothing to do: push events are not handled", ExitOK},
		{"bad fail-on", "pull_request", map[string]string{"fail-on": "everything"}, `"everything": use removed-rows`, ExitFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, log, outputs := f.run(t, tc.eventName, f.event(t, "pull_request.opened.json", nil), tc.inputs)
			if code != tc.code || !strings.Contains(log, tc.log) {
				t.Errorf("exit %d, log:\n%s", code, log)
			}
			if tc.code == ExitOK && outputs["status"] != "neutral" {
				t.Errorf("status %q, want neutral", outputs["status"])
			}
		})
	}
	t.Run("config error before the warehouse", func(t *testing.T) {
		// The rules are the base's; the warehouse is one that cannot open.
		w, _ := warehousetest.DuckDBFile(t)
		f := newDivergedFixture(t, w, "duckdb:///nonexistent/folder/warehouse.duckdb",
			projecttest.Edits{"dataops.yml": {"", "environments:\n  nmae: x\n"}}, nil, nil)
		code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
		if code != ExitFailed || !strings.Contains(log, "dataops.yml:2") || !strings.Contains(log, "base branch") {
			t.Errorf("exit %d, log:\n%s", code, log)
		}
	})
}

func TestDeployOnMerge(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newDivergedFixture(t, w, dsn, projecttest.Edits{"dataops.yml": {"", "deploy:\n  on_merge: true\n"}}, nil, nil)
	if code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil); code != ExitOK {
		t.Fatalf("opened: %d\n%s", code, log)
	}
	merged := f.event(t, "pull_request.closed.json", func(p map[string]any) { p["pull_request"].(map[string]any)["merged"] = true })
	if code, log, _ := f.run(t, "pull_request", merged, nil); code != ExitOK {
		t.Fatalf("merged: %d\n%s", code, log)
	}
	cols, err := w.Columns(context.Background(), warehouse.Relation{Schema: "main", Name: "fct_orders"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "card_amount") {
		t.Errorf("production fct_orders after the deploy: %v", names)
	}
	if got := relations(t, w, "main"); !strings.Contains(got, "orders_per_month") {
		t.Errorf("the new model is not in production: %s", got)
	}
	if got := relations(t, w, "pr_7"); got != "" {
		t.Errorf("the environment survived the merge: %s", got)
	}
	posted := false
	for _, c := range f.gh.Comments(repoName, 7) {
		posted = posted || strings.Contains(c.Body, "Deployed "+f.headSHA[:7]+" to production")
	}
	if !posted {
		for _, c := range f.gh.Comments(repoName, 7) {
			t.Log(c.Body[:min(300, len(c.Body))])
		}
		t.Error("the deploy result was not posted")
	}
}

// TestActionApprovalsOnReview: with gate.approvals, the gate waits for an
// approval, and a pull_request_review run counts it.
func TestActionApprovalsOnReview(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newDivergedFixture(t, w, dsn, projecttest.Edits{"dataops.yml": {"", "gate:\n  approvals: 1\n"}}, nil, nil)
	gate := func() string {
		state := ""
		for _, run := range f.gh.CheckRuns(repoName) {
			if run.Name == "dataops/gate" && run.HeadSHA == f.headSHA {
				state = run.Conclusion
			}
		}
		return state
	}
	if code, log, outputs := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil); code != ExitFailed || outputs["status"] != "failure" || gate() != "failure" {
		t.Fatalf("opened without approval: exit %d, status %q, gate %q\n%s", code, outputs["status"], gate(), log)
	}
	f.gh.AddReview(repoName, 7, "reviewer", "APPROVED")
	review := f.event(t, "pull_request.opened.json", func(p map[string]any) {
		p["action"] = "submitted"
		p["review"] = map[string]any{"id": 1, "state": "approved", "user": map[string]any{"login": "reviewer", "id": 2, "type": "User"},
			"body": "", "commit_id": f.headSHA, "node_id": "R_1", "html_url": "x", "pull_request_url": "y", "author_association": "MEMBER",
			"submitted_at": "2026-11-21T10:00:00Z", "_links": map[string]any{"html": map[string]any{"href": "x"}, "pull_request": map[string]any{"href": "y"}}}
	})
	if code, log, outputs := f.run(t, "pull_request_review", review, nil); code != ExitOK || outputs["status"] != "success" || gate() != "success" {
		t.Fatalf("after the approval: exit %d, status %q, gate %q\n%s", code, outputs["status"], gate(), log)
	}
}
