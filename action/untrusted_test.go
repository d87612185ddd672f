package action

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// pushHead commits files on the head branch, as a push to the pull
// request does: the fake serves every commit, pull request 7's head moves,
// and the workspace holds GitHub's new test merge.
func (f *fixture) pushHead(t *testing.T, files map[string]string) string {
	t.Helper()
	f.git(t, "checkout", "-q", "card-amount")
	for path, content := range files {
		write(t, filepath.Join(f.dir, path), content)
	}
	f.headSHA = f.commit(t, "push")
	f.openPullRequest(t)
	return f.headSHA
}

// commentEvent is an issue_comment event: body by user on pull request 7,
// a comment the fake holds too.
func (f *fixture) commentEvent(t *testing.T, user, body string) string {
	t.Helper()
	id := f.gh.AddComment(repoName, 7, user, body)
	return f.event(t, "issue_comment.created.on_pull_request.json", func(p map[string]any) {
		p["issue"].(map[string]any)["number"] = 7
		c := p["comment"].(map[string]any)
		c["id"], c["body"] = id, body
		c["user"].(map[string]any)["login"] = user
		c["user"].(map[string]any)["type"] = "User"
	})
}

// conclusions are the checks' conclusions on sha by name.
func (f *fixture) conclusions(sha string) map[string]string {
	out := map[string]string{}
	for _, run := range f.gh.CheckRuns(repoName) {
		if run.HeadSHA == sha {
			out[run.Name] = run.Conclusion
		}
	}
	return out
}

// On issue_comment, actions/checkout checks out the default branch: the
// workspace is not the pull request. /dataops rerun must check the head
// (here, a model that does not compile), not the workspace.
func TestActionCommentRerunChecksTheHead(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	head := f.pushHead(t, map[string]string{"models/marts/broken.sql": "select * from {{ ref('no_such_model') }}\n"})
	// The workspace as actions/checkout leaves it on issue_comment: the
	// default branch, at the base.
	f.git(t, "checkout", "-q", "main")
	f.env = map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": f.mainSHA}

	code, log, outputs := f.run(t, "issue_comment", f.commentEvent(t, "octocat", "/dataops rerun"), nil)
	got := f.conclusions(head)
	if got["dataops/compile"] != "failure" || got["dataops/gate"] != "failure" {
		t.Errorf("checks on the head %s: %v, want compile and gate failed\n%s", head[:7], got, log)
	}
	if code != ExitFailed || outputs["status"] != "failure" {
		t.Errorf("exit %d, status %q", code, outputs["status"])
	}
	for _, run := range f.gh.CheckRuns(repoName) {
		if run.Conclusion == "success" && run.Name == "dataops/gate" {
			t.Errorf("a passing gate was published on %s, which was never compiled", run.HeadSHA[:7])
		}
	}
	found := false
	for _, run := range f.gh.CheckRuns(repoName) {
		for _, a := range run.Annotations {
			found = found || (a.Path == "models/marts/broken.sql" && strings.Contains(a.Message, "no_such_model"))
		}
	}
	if !found {
		t.Error("the compile error is not annotated on the head's file")
	}

	// The same rerun with the workspace at the head reads the workspace:
	// no archive of the head is downloaded.
	f.git(t, "checkout", "-q", head)
	before := archiveDownloads(f.gh, head)
	f.run(t, "issue_comment", f.commentEvent(t, "octocat", "/dataops rerun"), nil)
	if n := archiveDownloads(f.gh, head); n != before {
		t.Errorf("with the head checked out, the head's archive was downloaded %d times", n-before)
	}
}

func archiveDownloads(gh *githubtest.Server, sha string) int {
	n := 0
	for _, r := range gh.Requests() {
		if r.Operation == "repos/download-tarball-archive" && strings.HasSuffix(r.Path, "/"+sha) {
			n++
		}
	}
	return n
}

// A pull request cannot loosen the rules it is checked by: dataops.yml
// comes from the base, not from the pull request's workspace.
func TestActionRulesFromTheBase(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newDivergedFixture(t, w, dsn, projecttest.Edits{"dataops.yml": {"", "gate:\n  approvals: 1\n"}}, nil, nil)
	head := f.pushHead(t, map[string]string{"dataops.yml": "gate:\n  approvals: 0\n"})
	code, log, outputs := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
	if got := f.conclusions(head)["dataops/gate"]; got != "failure" || code != ExitFailed || outputs["status"] != "failure" {
		t.Errorf("gate %q, exit %d, status %q: the base's approvals: 1 must hold\n%s", got, code, outputs["status"], log)
	}
}

// env_var() follows dbt: secrets only through DBT_ENV_SECRET_ variables,
// which models cannot read, and whose values no output holds; the step's
// own token cannot be read at all.
func TestActionSecretsReachNoOutput(t *testing.T) {
	const token, secret = "ghs_testtoken0123456789", "hunter2-Very-Secret"
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	f.env = map[string]string{"DBT_ENV_SECRET_PASSWORD": secret, "GITHUB_TOKEN": token, "SHOP_REGION": "eu"}
	// In the container these are the process's environment too.
	for k, v := range f.env {
		t.Setenv(k, v)
	}
	t.Setenv("INPUT_GITHUB-TOKEN", token)
	f.pushHead(t, map[string]string{
		"models/leak_token.sql":  "select 1 as id from {{ ref(env_var('INPUT_GITHUB-TOKEN')) }}\n",
		"models/leak_runner.sql": "select 1 as id from {{ ref(env_var('GITHUB_TOKEN')) }}\n",
		"models/leak_secret.sql": "select '{{ env_var('DBT_ENV_SECRET_PASSWORD', 'refused') }}' as v from {{ ref('" + secret + "') }}\n",
		"models/region.sql":      "select '{{ env_var('SHOP_REGION') }}' as region\n",
	})
	_, log, outputs := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)

	var outputsText []string
	for _, name := range []string{"output", "summary", reportName} {
		data, _ := os.ReadFile(filepath.Join(f.runnerTemp, name))
		outputsText = append(outputsText, string(data))
	}
	places := map[string]string{"outputs, summary and report file": strings.Join(outputsText, "\n")}
	var logLines []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			logLines = append(logLines, line)
		}
	}
	places["log"] = strings.Join(logLines, "\n")
	for _, r := range f.gh.Requests() {
		places[r.Method+" "+r.Path] += string(r.Body)
	}
	for where, text := range places {
		for _, s := range []string{token, secret} {
			if strings.Contains(text, s) {
				t.Errorf("%q reached %s", s[:6], where)
			}
		}
	}
	if !strings.Contains(log, "INPUT_GITHUB-TOKEN") || !strings.Contains(log, "***") {
		t.Errorf("the log should name the unreadable variable and show the scrubbed secret:\n%s", log)
	}
	if outputs["status"] != "failure" {
		t.Errorf("status %q: the models that read secrets must not compile", outputs["status"])
	}
	// An ordinary variable of the workflow is the user's, and readable.
	if strings.Contains(log, "SHOP_REGION") {
		t.Errorf("env_var('SHOP_REGION') was refused:\n%s", log)
	}
}

func TestModelMayRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"SHOP_REGION", true},
		{"DBT_TARGET", true},
		{"GITHUB_REPOSITORY", true},
		{"CI_PROJECT_PATH", true},
		{"DBT_ENV_SECRET_PASSWORD", false},
		{"INPUT_GITHUB-TOKEN", false},
		{"input_github-token", false},
		{"INPUT_WAREHOUSE-DSN", false},
		{"GITHUB_TOKEN", false},
		{"ACTIONS_RUNTIME_TOKEN", false},
		{"ACTIONS_ID_TOKEN_REQUEST_TOKEN", false},
		{"DATAOPS_WAREHOUSE_DSN", false},
		{"DATAOPS_GITLAB_TOKEN", false},
		{"MY_WAREHOUSE", false}, // the DSN variable dataops.yml names
		{"CI_JOB_TOKEN", false},
		{"CI_JOB_JWT_V2", false},
		{"CI_REGISTRY_PASSWORD", false},
	} {
		if got := modelMayRead(tc.name, "MY_WAREHOUSE", false); got != tc.ok {
			t.Errorf("modelMayRead(%s) = %v, want %v", tc.name, got, tc.ok)
		}
		// A fork's code reads DBT_ variables alone, never a secret.
		if got, want := modelMayRead(tc.name, "MY_WAREHOUSE", true), tc.ok && strings.HasPrefix(tc.name, "DBT_"); got != want {
			t.Errorf("for a fork, modelMayRead(%s) = %v, want %v", tc.name, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	s := newSecrets([]string{"DBT_ENV_SECRET_A=p@ss w/rd", "DBT_ENV_SECRET_SHORT=abc", "OTHER=visible-value"})
	s.add("postgres://dataops:s3cr%23et@db:5432/analytics")
	s.add(password("postgres://dataops:s3cr%23et@db:5432/analytics"))
	for _, tc := range []struct{ in, want string }{
		{"password p@ss w/rd here", "password *** here"},
		{"encoded p%40ss+w%2Frd and p@ss%20w%2Frd", "encoded *** and ***"},
		{"connect postgres://dataops:s3cr%23et@db:5432/analytics: refused", "connect ***: refused"},
		{"the password s3cr#et", "the password ***"},
		{"abc and visible-value stay", "abc and visible-value stay"},
	} {
		if got := s.scrub(tc.in); got != tc.want {
			t.Errorf("scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A comment that is no command costs nothing: no request, no archive.
func TestActionConversationComment(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	event := f.commentEvent(t, "octocat", "LGTM, thanks!")
	before := len(f.gh.Requests())
	code, log, outputs := f.run(t, "issue_comment", event, nil)
	if code != ExitOK || outputs["status"] != "neutral" || !strings.Contains(log, "no /dataops command") {
		t.Errorf("exit %d, status %q\n%s", code, outputs["status"], log)
	}
	if n := len(f.gh.Requests()) - before; n != 0 {
		t.Errorf("%d requests for a comment without a command", n)
	}
}

// A head whose archive holds none of the project's files (the pull request
// moved the project, or deleted it) is compiled as what it is, a project
// without dbt_project.yml: never as the workspace on disk, which on
// issue_comment is the default branch. The compile check on the head
// fails; before, the default branch compiled in its place and the head got
// a passing compile and gate.
func TestActionHeadWithoutTheProjectIsNotTheWorkspace(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	f.git(t, "checkout", "-q", "card-amount")
	f.git(t, "rm", "-r", "-q", ".")
	write(t, filepath.Join(f.dir, "README.md"), "The project moved to another repository.\n")
	f.headSHA = f.commit(t, "remove the project")
	f.openPullRequest(t)
	head := f.headSHA
	f.git(t, "checkout", "-q", "main")
	f.env = map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": f.mainSHA}

	code, log, outputs := f.run(t, "issue_comment", f.commentEvent(t, "octocat", "/dataops rerun"), nil)
	got := f.conclusions(head)
	if got["dataops/compile"] != "failure" || got["dataops/gate"] != "failure" {
		t.Errorf("checks on the head %s: %v, want compile and gate failed\n%s", head[:7], got, log)
	}
	if code != ExitFailed || outputs["status"] != "failure" {
		t.Errorf("exit %d, status %q", code, outputs["status"])
	}
	for _, run := range f.gh.CheckRuns(repoName) {
		if run.HeadSHA == head && run.Name == "dataops/compile" && run.Conclusion == "failure" && !strings.Contains(run.Title+run.Summary+run.Text+fmt.Sprint(run.Annotations), "dbt_project.yml") {
			t.Errorf("the compile check does not say the head has no dbt_project.yml: %s\n%s\n%s", run.Title, run.Summary, run.Text)
		}
	}
}

// checksSaid is what the checks on sha say: titles, summaries and
// annotations.
func (f *fixture) checksSaid(sha string) string {
	var b strings.Builder
	for _, run := range f.gh.CheckRuns(repoName) {
		if run.HeadSHA != sha {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n%s\n%s\n", run.Name, run.Title, run.Summary, run.Text)
		for _, a := range run.Annotations {
			fmt.Fprintf(&b, "  %s:%d %s\n", a.Path, a.StartLine, a.Message)
		}
	}
	return b.String()
}

// A fork's pull request is a stranger's code, even once a writer has
// commented /dataops rerun: in the Action its DuckDB is locked down as in
// the bot, so its models and hooks cannot write over the warehouse's file
// (profiling_output, which destroys production and every environment),
// read the runner's files, or change a setting. A pull request from the
// repository itself is its writers' own code, as the workflow is, and
// reads files as dbt would let it.
func TestActionForkDuckDBLockedDown(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "runner-secret.txt")
	write(t, secretFile, "the runner's own file\n")
	profile := func(path string) string {
		return `{{ config(post_hook="SET profiling_output = '` + path + `'; PRAGMA enable_profiling = 'json'") }}
select 1 as x
`
	}
	readFile := func(string) string { return "select content from read_text('" + secretFile + "')\n" }
	for _, c := range []struct {
		name, headRepo string
		model          func(warehousePath string) string
		// want is what the checks say; "" for a build that passes.
		want string
	}{
		{"fork writes over the warehouse", "stranger/shop", profile, "the configuration has been locked"},
		{"fork reads a file", "stranger/shop", readFile, "file system operations are disabled"},
		{"same repository reads a file", "", readFile, ""},
		// Seeds, tests and the diff work locked down, as in the bot; the
		// fork's env_var() reads DBT_ variables alone.
		{"fork builds", "stranger/shop", func(string) string {
			return "select '{{ env_var(\"SHOP_REGION\", \"unreadable\") }}' as region, '{{ env_var(\"DBT_REGION\") }}' as dbt_region\n"
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, dsn := warehousetest.DuckDBFile(t)
			path := strings.TrimPrefix(dsn, "duckdb://")
			f := newFixture(t, w, dsn)
			f.headRepo = c.headRepo
			head := f.pushHead(t, map[string]string{"models/marts/probe.sql": c.model(path)})
			f.git(t, "checkout", "-q", "main")
			f.env = map[string]string{"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": f.mainSHA, "SHOP_REGION": "eu-1", "DBT_REGION": "eu-2"}
			// The runner's process is alone with the file: DuckDB refuses a
			// second configuration of one file in a process.
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, log, _ := f.run(t, "issue_comment", f.commentEvent(t, "octocat", "/dataops rerun"), nil)
			said := f.checksSaid(head)
			got := f.conclusions(head)
			if c.want == "" {
				if got["dataops/gate"] != "success" || (c.headRepo == "" && !strings.Contains(said, "runner's own file")) {
					t.Errorf("checks %v, want them passed\n%s\n%s", got, said, log)
				}
				if c.headRepo != "" && (!strings.Contains(said, "unreadable") || strings.Contains(said, "eu-1") || !strings.Contains(said, "eu-2")) {
					t.Errorf("a fork's env_var() read SHOP_REGION, or not DBT_REGION:\n%s", said)
				}
				return
			}
			if got["dataops/gate"] != "failure" || !strings.Contains(said, c.want) {
				t.Errorf("checks %v, want the fork's model refused, saying %q\n%s\n%s", got, c.want, said, log)
			}
			if strings.Contains(said, "runner's own file") {
				t.Errorf("the runner's file reached a check:\n%s", said)
			}
			w, err := warehouse.Open(context.Background(), dsn)
			if err != nil {
				t.Fatalf("the warehouse after the fork's pull request: %v", err)
			}
			defer w.Close()
			rows, err := w.Query(context.Background(), `select count(*) from "main"."fct_orders"`)
			if err != nil || fmt.Sprint(rows.Values[0][0]) == "0" {
				t.Errorf("production after the fork's pull request: %v %v", rows, err)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			for _, e := range entries {
				if e.Name() != filepath.Base(path) && e.Name() != filepath.Base(path)+".wal" {
					t.Errorf("a file appeared beside the warehouse: %s", e.Name())
				}
			}
		})
	}
}

// As in the bot, the warehouse is opened only once the fork and permission
// checks have passed: anyone's /dataops help, or a reader's /dataops
// rerun, is answered without connecting (here, to a warehouse that cannot
// be opened, whose error would otherwise end the step), and a writer's
// rerun does connect, and fails saying why.
func TestActionCommandsOpenTheWarehouseAfterThePermissionCheck(t *testing.T) {
	w, _ := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, "duckdb:///nonexistent/folder/warehouse.duckdb")
	for _, c := range []struct {
		user, body, reply string
		code              int
	}{
		{"visitor", "/dataops help", "/dataops rerun", ExitOK},
		{"visitor", "/dataops rerun", "needs write access", ExitOK},
		{"octocat", "/dataops rerun", "", ExitFailed},
	} {
		t.Run(c.user+" "+c.body, func(t *testing.T) {
			code, log, _ := f.run(t, "issue_comment", f.commentEvent(t, c.user, c.body), nil)
			connected := strings.Contains(log, "cannot open the database file")
			if code != c.code || connected != (c.reply == "") {
				t.Errorf("exit %d (want %d), connected %v\n%s", code, c.code, connected, log)
			}
			if c.reply == "" {
				return
			}
			var reply string
			for _, cm := range f.gh.Comments(repoName, 7) {
				if strings.Contains(cm.Body, bot.ReplyMarker) {
					reply = cm.Body
				}
			}
			if !strings.Contains(reply, c.reply) {
				t.Errorf("the reply does not say %q:\n%s", c.reply, reply)
			}
		})
	}
}
