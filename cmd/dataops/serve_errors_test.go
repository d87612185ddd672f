package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// The tests of this file: forks and readers render nothing they may not
// run, errors are told apart (transient ones retried, permanent ones
// reported once with a failed gate), every job ends with a gate, and one
// failing code host does not hold every worker.

// reply is the body of PR 7's reply comment, "" when there is none.
func (f *botFixture) reply() string {
	r := f.commentsWith(bot.ReplyMarker)
	if len(r) == 0 {
		return ""
	}
	return r[len(r)-1].Body
}

// requestsTo counts the fake's requests of an operation whose path holds
// part.
func (f *botFixture) requestsTo(operation, part string) int {
	n := 0
	for _, r := range f.gh.Requests() {
		if r.Operation == operation && strings.Contains(r.Path, part) {
			n++
		}
	}
	return n
}

// deadLetters waits for n dead letters and returns them.
func deadLetters(t *testing.T, b *runningBot, n int) []store.DeadLetter {
	t.Helper()
	var dead []store.DeadLetter
	waitFor(t, fmt.Sprintf("%d dead letters", n), func() bool {
		var err error
		dead, err = b.srv.store.DeadLetters(context.Background(), 10)
		return err == nil && len(dead) >= n
	})
	return dead
}

// TestServeHelpDoesNotOpenTheWarehouse: anyone's /dataops help is
// answered without opening the warehouse, so a stranger cannot make the
// bot connect to it, nor read what a failed connection says.
func TestServeHelpDoesNotOpenTheWarehouse(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	port := envClosedPort(t)
	f.env["DATAOPS_WAREHOUSE_DSN"] = fmt.Sprintf("postgres://dataops:s3cret-pw@127.0.0.1:%d/analytics?connect_timeout=2", port)
	b := f.start(t)
	f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops help"))
	waitFor(t, "the job", func() bool { return len(b.logs.Lines(`"msg":"job`)) > 0 })
	if done := b.logs.Lines(`"msg":"job done"`); len(done) != 1 {
		t.Fatalf("the help was not answered at once: %s", b.logs.String())
	}
	if r := f.reply(); !strings.Contains(r, "Comment one of these") || strings.Contains(r, "warehouse, and will try again") {
		t.Errorf("reply %q", r)
	}
	// The start's own check of the checks role connects; the job must not.
	for _, line := range b.logs.Lines(`"delivery"`) {
		if strings.Contains(line, fmt.Sprintf(":%d", port)) {
			t.Errorf("the help opened the warehouse: %s", line)
		}
	}
}

// TestServeForkRendersNothingForReaders: on a fork's pull request a
// reader's /dataops plan is refused before anything of the fork is read;
// a writer's is answered.
func TestServeForkRendersNothingForReaders(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.gh.AddPullRequest(botRepo, githubtest.PullRequest{Number: 7, Title: "card_amount", Author: "stranger",
		BaseRef: "main", BaseSHA: f.baseSHA, HeadRef: "card-amount", HeadSHA: f.headSHA, HeadRepo: "stranger/shop"})
	b := f.start(t)
	f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops plan"))
	waitFor(t, "the refusal", func() bool { return strings.Contains(f.reply(), "comes from a fork") })
	if !strings.Contains(f.reply(), "needs write access") {
		t.Errorf("reply %q", f.reply())
	}
	if n := f.requestsTo("repos/download-tarball-archive", f.headSHA); n != 0 {
		t.Errorf("a reader's plan downloaded the fork's head %d times", n)
	}
	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops plan"))
	waitFor(t, "the writer's plan", func() bool { return strings.Contains(f.reply(), "**Plan** for") })
}

// TestServeMissingBaseCommit: a base commit the host answers 404 for is
// reported once, on the pull request, with a failed gate and a reason that
// names no host URL; the job is not retried.
func TestServeMissingBaseCommit(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	const gone = "0123456789abcdef0123456789abcdef01234567"
	f.gh.AddPullRequest(botRepo, githubtest.PullRequest{Number: 7, Title: "card_amount", Author: "octocat",
		BaseRef: "main", BaseSHA: gone, HeadRef: "card-amount", HeadSHA: f.headSHA})
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", func(p map[string]any) {
		p["pull_request"].(map[string]any)["base"].(map[string]any)["sha"] = gone
	}))
	waitFor(t, "the gate", func() bool { return f.gate(f.headSHA) == "completed/failure" })
	waitFor(t, "the reply", func() bool { return f.reply() != "" })
	reply := f.reply()
	if !strings.Contains(reply, "base commit 0123456 cannot be downloaded") || !strings.Contains(reply, "404") {
		t.Errorf("reply %q does not say the base commit is missing", reply)
	}
	if strings.Contains(reply, "dataops.yml") || strings.Contains(reply, "127.0.0.1") || strings.Contains(reply, "http") {
		t.Errorf("reply %q blames dataops.yml or names the API's address", reply)
	}
	for _, run := range f.gh.CheckRuns(botRepo) {
		if run.Name == "dataops/gate" && run.HeadSHA == f.headSHA && !strings.Contains(run.Summary, "base commit 0123456 cannot be downloaded") {
			t.Errorf("gate summary %q", run.Summary)
		}
	}
	dead := deadLetters(t, b, 1)
	if dead[0].Attempts != 1 || !strings.HasPrefix(dead[0].LastError, "permanent: ") {
		t.Errorf("dead letter %+v: want one attempt, permanent", dead[0])
	}
	if n := f.requestsTo("repos/download-tarball-archive", gone); n != 1 {
		t.Errorf("the missing base was asked for %d times, want once", n)
	}
}

// TestServeEventWithoutInstallation: a GitHub event without an
// installation can never be handled: it is dead-lettered at once, not
// retried.
func TestServeEventWithoutInstallation(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.cfg.MaxAttempts = 3
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", func(p map[string]any) { delete(p, "installation") }))
	dead := deadLetters(t, b, 1)
	if dead[0].Attempts != 1 || !strings.Contains(dead[0].LastError, "has no installation") {
		t.Errorf("dead letter %+v: want one attempt, for the missing installation", dead[0])
	}
	if n := len(b.logs.Lines("it will be retried")); n != 0 {
		t.Errorf("retried %d times", n)
	}
}

// TestServeRecoversFrom502: a command whose permission check meets
// GitHub's 502s beyond the client's own retries is retried by the queue
// and succeeds; the command gets one 👀 and one 🚀, not one per attempt,
// and no 😕.
func TestServeRecoversFrom502(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	b := f.start(t)
	f.gh.Fail(githubtest.Failure{Method: http.MethodGet, Path: "/repos/{owner}/{repo}/collaborators/{username}/permission",
		Status: http.StatusBadGateway, Times: 4})
	id, payload := commentOn(t, f, 7, "octocat", "/dataops rerun")
	f.send(t, b, "issue_comment", payload)
	waitFor(t, "the job done", func() bool { return len(b.logs.Lines(`"msg":"job done"`)) == 1 })
	if done := b.logs.Lines(`"msg":"job done"`)[0]; !strings.Contains(done, `"attempt":2`) {
		t.Errorf("done %s, want by its second attempt", done)
	}
	if g := f.gate(f.headSHA); g != "completed/success" {
		t.Errorf("gate %q", g)
	}
	reactions := map[string]int{}
	for _, r := range f.gh.Requests() {
		if r.Operation == "reactions/create-for-issue-comment" && strings.Contains(r.Path, fmt.Sprint(id)) {
			for _, c := range []string{"eyes", "rocket", "confused"} {
				if strings.Contains(string(r.Body), `"`+c+`"`) {
					reactions[c]++
				}
			}
		}
	}
	if fmt.Sprint(reactions) != "map[eyes:1 rocket:1]" {
		t.Errorf("reactions asked for %v, want one eyes and one rocket", reactions)
	}
}

// TestServeJobDeadline: a job that outlives job_timeout is stopped, and
// its last attempt ends with a failed gate that says why.
func TestServeJobDeadline(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	head, base := f.headSHA, f.baseSHA
	// The head's sources (or its test merge's) hang.
	proxy := newHoldingProxy(t, f.gh, func(r *http.Request, _ []byte) bool {
		return strings.Contains(r.URL.Path, "/tarball/") && !strings.HasSuffix(r.URL.Path, "/"+base)
	}, false)
	f.cfg.GitHub.APIURL = proxy.URL + "/"
	f.cfg.JobTimeout = config.Duration{Duration: 2 * time.Second}
	f.cfg.MaxAttempts = 1
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return f.gate(head) == "completed/failure" })
	for name, state := range f.checks(head) {
		if !strings.HasPrefix(state, "completed/") {
			t.Errorf("%s left %s", name, state)
		}
	}
	for _, run := range f.gh.CheckRuns(botRepo) {
		if run.Name == "dataops/gate" && run.HeadSHA == head && !strings.Contains(run.Summary, "did not end within job_timeout (2s)") {
			t.Errorf("gate summary %q", run.Summary)
		}
	}
	if r := f.reply(); strings.Contains(r, "127.0.0.1") {
		t.Errorf("the reply names the API's address: %q", r)
	}
}

// TestServeSlowHostDoesNotHoldEveryWorker: with the GitLab API accepting
// connections and never answering, GitHub's jobs run; GitLab's wait
// without using their attempts, and the silent host gets no more
// requests than it takes to pause it.
func TestServeSlowHostDoesNotHoldEveryWorker(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { silent.Close() })
	f.cfg.Workers = 2
	f.cfg.HostWorkers = 1
	f.cfg.HostFailures = 3
	f.cfg.HostPause = config.Duration{Duration: time.Hour}
	f.cfg.GitLab = &config.ServeGitLab{APIURL: "http://" + silent.Addr().String() + "/api/v4", TokenEnv: "TEST_GITLAB_TOKEN",
		WebhookSecretEnv: "TEST_GITLAB_SECRET", BotUser: "dataops-bot", RequestTimeout: config.Duration{Duration: 200 * time.Millisecond}}
	f.env["TEST_GITLAB_TOKEN"], f.env["TEST_GITLAB_SECRET"] = gitlabtest.DefaultToken, gitlabSecret
	project := gitlabtest.Project{ID: 42, Path: "data/marts"}
	f.cfg.Allow = append(f.cfg.Allow, config.RepoPattern{Host: "gitlab", Path: project.Path})
	b := f.start(t)
	const gitlabJobs = 3
	for iid := 1; iid <= gitlabJobs; iid++ {
		opened := gitlabPayload(t, "merge_request.json", project, func(p map[string]any) {
			a := p["object_attributes"].(map[string]any)
			a["iid"], a["action"], a["state"] = iid, "open", "opened"
			a["source_project_id"], a["target_project_id"] = project.ID, project.ID
			a["last_commit"].(map[string]any)["id"] = fmt.Sprintf("%040d", iid)
		})
		if status, body := sendGitLab(t, b, "Merge Request Hook", fmt.Sprintf("uuid-%d", iid), gitlabSecret, opened); status != 202 {
			t.Fatalf("merge request %d: %d %s", iid, status, body)
		}
	}
	waitFor(t, "GitLab paused", func() bool { _, paused := b.srv.guard.Paused("gitlab"); return paused })
	pausedAfter := accepted.Load()
	if pausedAfter > int64(f.cfg.HostFailures) {
		t.Errorf("the silent GitLab got %d connections before its pause, want at most %d (host_failures)", pausedAfter, f.cfg.HostFailures)
	}
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the GitHub job's gate", func() bool { return f.gate(f.headSHA) == "completed/success" })
	if n := accepted.Load(); n != pausedAfter {
		t.Errorf("the paused GitLab got %d more connections", n-pausedAfter)
	}
	st, err := b.srv.store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Dead != 0 || st.Queued+st.Delayed+st.Running != gitlabJobs {
		t.Errorf("queue %+v: want the %d GitLab jobs waiting, none dead", st, gitlabJobs)
	}
	if n := len(b.logs.Lines("it will be retried")); n != 0 {
		t.Errorf("GitLab jobs used %d attempts while their host was paused", n)
	}
}
