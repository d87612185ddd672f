package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// holdPullRequest makes the bot's worker wait before it runs pull request
// 7's next job, as another worker's job on it would; release lets it run.
func holdPullRequest(t *testing.T, b *runningBot, repoKey string) (release func()) {
	t.Helper()
	key := "pr:" + repoKey + "#7"
	if ok, err := b.srv.store.Lock(context.Background(), key, "other-worker", time.Minute); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	return func() {
		if err := b.srv.store.Unlock(context.Background(), key, "other-worker"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServePinsCommandsToTheHeadTheWriterSaw: a writer comments /dataops
// rerun on a fork's pull request; the fork pushes before the job runs. The
// command was given for the head the writer read, so nothing of the new
// head runs and nothing is published as success; the pull request is told
// why. A new command, for the new head, runs it.
func TestServePinsCommandsToTheHeadTheWriterSaw(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	fromFork := func(head string) {
		f.gh.AddPullRequest(botRepo, githubtest.PullRequest{Number: 7, Title: "card_amount", Author: "stranger",
			BaseRef: "main", BaseSHA: f.baseSHA, HeadRef: "card-amount", HeadSHA: head, HeadRepo: "stranger/shop"})
	}
	fromFork(f.headSHA)
	b := f.start(t)
	seen := f.headSHA

	release := holdPullRequest(t, b, bot.RepoKey("github", botRepo))
	if status, body := f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops rerun")); status != 202 {
		t.Fatalf("comment: %d %s", status, body)
	}
	// The fork pushes a model whose post-hook writes production.
	pushed := f.push(t, "models/marts/orders_per_month.sql", "{{ config(post_hook='create table main.pwned as select 1 as x') }}\n"+
		"select cast(date_trunc('month', ordered_at) as date) as month, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n")
	fromFork(pushed)
	release()

	waitFor(t, "the answer", func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "moved")
	})
	reply := f.commentsWith(bot.ReplyMarker)[0].Body
	if !strings.Contains(reply, seen[:7]) || !strings.Contains(reply, pushed[:7]) {
		t.Errorf("the reply does not name both heads: %s", reply)
	}
	waitFor(t, "the job done", func() bool { return len(b.logs.Lines(`"msg":"job done"`)) == 1 })
	for _, sha := range []string{seen, pushed} {
		for name, state := range f.checks(sha) {
			if strings.HasSuffix(state, "/success") {
				t.Errorf("%s on %s: %s", name, sha[:7], state)
			}
		}
	}
	if schemaExists(t, b, "pr_7") || hasColumn(columnsOf(t, b, "main", "pwned"), "x") {
		t.Fatal("the new head ran")
	}

	// Asked again, for the head it is now, the command runs it.
	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops rerun"))
	waitFor(t, "the new head's gate", func() bool { return strings.HasPrefix(f.gate(pushed), "completed/") })
	if got := f.checks(pushed)["dataops/build"]; got != "completed/success" {
		t.Errorf("build of the new head after a command for it: %s", got)
	}
}

// TestServePinsGitLabCommands: the same on GitLab, where the note's
// payload carries the merge request's last commit when the writer wrote.
func TestServePinsGitLabCommands(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	gl := gitlabtest.NewServer(t)
	project := gl.Project()
	seen := f.headSHA
	pushed := f.push(t, "models/marts/orders_per_month.sql", "{{ config(post_hook='create table main.pwned as select 1 as x') }}\n"+
		"select cast(date_trunc('month', ordered_at) as date) as month, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n")
	for _, sha := range []string{f.baseSHA, seen, pushed} {
		gl.SetArchive(sha, f.git(t, "archive", "--format=tar.gz", "--prefix=shop-"+sha+"/", sha))
	}
	gl.AddCommit(pushed, "card-amount")
	// The fork's merge request, whose head moved after the note.
	gl.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, Title: "card_amount", State: "opened", SourceBranch: "card-amount", TargetBranch: "main",
		SourceProjectID: 99, TargetProjectID: project.ID, SHA: pushed, BaseSHA: f.baseSHA})
	dev := gitlabtest.User{ID: 501, Username: "dev"}
	gl.AddMember(gitlabtest.Member{User: dev, AccessLevel: 30})
	f.cfg.GitHub = nil
	f.cfg.Allow = config.Allowlist{{Host: "gitlab", Path: project.Path}}
	f.cfg.GitLab = &config.ServeGitLab{APIURL: gl.BaseURL(), TokenEnv: "TEST_GITLAB_TOKEN", WebhookSecretEnv: "TEST_GITLAB_SECRET", BotUser: "dataops-bot"}
	f.env["TEST_GITLAB_TOKEN"], f.env["TEST_GITLAB_SECRET"] = gitlabtest.DefaultToken, gitlabSecret
	b := f.start(t)

	n := gl.AddNote(7, gitlabtest.Note{Body: "/dataops rerun", Author: dev})
	payload := gitlabPayload(t, "note_merge_request.json", project, func(p map[string]any) {
		a := p["object_attributes"].(map[string]any)
		a["id"], a["note"] = n.ID, "/dataops rerun"
		p["user"].(map[string]any)["username"], p["user"].(map[string]any)["id"] = dev.Username, dev.ID
		mr := p["merge_request"].(map[string]any)
		mr["iid"], mr["source_project_id"], mr["target_project_id"] = 7, 99, project.ID
		mr["last_commit"].(map[string]any)["id"] = seen
	})
	if status, body := sendGitLab(t, b, "Note Hook", "uuid-pin", gitlabSecret, payload); status != 202 {
		t.Fatalf("note: %d %s", status, body)
	}
	waitFor(t, "the answer", func() bool {
		for _, note := range gl.Notes(7) {
			if strings.Contains(note.Body, bot.ReplyMarker) && strings.Contains(note.Body, "moved") && strings.Contains(note.Body, pushed[:7]) {
				return true
			}
		}
		return false
	})
	waitFor(t, "the job done", func() bool { return len(b.logs.Lines(`"msg":"job done"`)) == 1 })
	for _, sha := range []string{seen, pushed} {
		for name, st := range gl.LatestStatuses(sha) {
			if st.Status == "success" {
				t.Errorf("%s on %s: success", name, sha[:7])
			}
		}
	}
	if schemaExists(t, b, "pr_7") {
		t.Fatal("the new head ran")
	}
}
