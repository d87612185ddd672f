package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

const gitlabSecret = "gitlab-webhook-token-test"

// gitlabPayload reads a GitLab fixture and points it at the fake's
// project and merge request 7.
func gitlabPayload(t *testing.T, name string, project gitlabtest.Project, edit func(map[string]any)) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "gitlab", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	proj := p["project"].(map[string]any)
	proj["id"], proj["path_with_namespace"] = project.ID, project.Path
	if edit != nil {
		edit(p)
	}
	out, _ := json.Marshal(p)
	return out
}

func sendGitLab(t *testing.T, b *runningBot, event, id, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+"/webhooks/gitlab", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", event)
	req.Header.Set("X-Gitlab-Event-UUID", id)
	req.Header.Set("X-Gitlab-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// TestServeGitLab: a merge request hook runs the checks as commit
// statuses and one note; a Reporter's command is refused and a
// Developer's runs; a wrong token is refused.
func TestServeGitLab(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	gl := gitlabtest.NewServer(t)
	project := gl.Project()
	projecttest.History(t, f.dir, func(sha string, parents []string, archive []byte) {
		gl.SetParents(sha, parents...)
		gl.SetArchive(sha, archive)
	})
	gl.AddCommit(f.headSHA, "card-amount")
	// GitLab's merge ref is the test merge GitHub would make.
	gl.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, Title: "card_amount", State: "opened", SourceBranch: "card-amount", TargetBranch: "main",
		SourceProjectID: project.ID, TargetProjectID: project.ID, SHA: f.headSHA, BaseSHA: f.baseSHA, StartSHA: f.mainSHA, MergeRefSHA: f.mergeSHA})
	dev := gitlabtest.User{ID: 501, Username: "dev"}
	reporter := gitlabtest.User{ID: 502, Username: "watcher"}
	gl.AddMember(gitlabtest.Member{User: dev, AccessLevel: 30})
	gl.AddMember(gitlabtest.Member{User: reporter, AccessLevel: 20})

	f.cfg.GitHub = nil
	// The fixture's GitHub repository stays allowed: schemaExists asks the
	// warehouse through it.
	f.cfg.Allow = append(f.cfg.Allow, config.RepoPattern{Host: "gitlab", Path: project.Path})
	f.cfg.GitLab = &config.ServeGitLab{APIURL: gl.BaseURL(), TokenEnv: "TEST_GITLAB_TOKEN", WebhookSecretEnv: "TEST_GITLAB_SECRET", BotUser: "dataops-bot"}
	f.env["TEST_GITLAB_TOKEN"], f.env["TEST_GITLAB_SECRET"] = gitlabtest.DefaultToken, gitlabSecret
	// The web pages, with sign-in through GitLab: the note and the statuses
	// link to the run's page.
	f.cfg.Listen = freeAddr(t)
	f.cfg.PublicURL = "http://" + f.cfg.Listen
	f.cfg.Web = &config.ServeWeb{SessionKeyEnv: "TEST_SESSION_KEY", SessionTTL: config.Duration{Duration: 3600e9}, AccessCache: config.Duration{Duration: 300e9}}
	f.cfg.GitLab.ApplicationID, f.cfg.GitLab.ApplicationSecretEnv, f.cfg.GitLab.WebURL = "app", "TEST_GITLAB_APPLICATION_SECRET", gl.URL
	f.env["TEST_SESSION_KEY"], f.env["TEST_GITLAB_APPLICATION_SECRET"] = webSessionKey, "app-secret"
	gl.SetOAuthApplication("app", "app-secret", []string{f.cfg.PublicURL + "/signin/gitlab/callback"}, "read_api")
	b := f.start(t)

	opened := gitlabPayload(t, "merge_request.json", project, func(p map[string]any) {
		a := p["object_attributes"].(map[string]any)
		a["iid"], a["action"], a["state"] = 7, "open", "opened"
		a["source_project_id"], a["target_project_id"] = project.ID, project.ID
		a["target_branch"], a["source_branch"] = "main", "card-amount"
		a["last_commit"].(map[string]any)["id"] = f.headSHA
	})
	if status, body := sendGitLab(t, b, "Merge Request Hook", "uuid-0", "wrong", opened); status != 401 {
		t.Fatalf("wrong token: %d %s", status, body)
	}
	if status, body := sendGitLab(t, b, "Merge Request Hook", "uuid-1", gitlabSecret, opened); status != 202 {
		t.Fatalf("opened: %d %s", status, body)
	}
	waitFor(t, "the gate status", func() bool {
		st, ok := gl.LatestStatuses(f.headSHA)["dataops/gate"]
		return ok && st.Status != "pending" && st.Status != "running"
	})
	for _, name := range []string{"dataops/compile", "dataops/dry-run", "dataops/build", "dataops/diff", "dataops/gate"} {
		if st := gl.LatestStatuses(f.headSHA)[name]; st.Status != "success" {
			t.Errorf("status %s = %s %q", name, st.Status, st.Description)
		}
	}
	notes := func(marker string) []gitlabtest.Note {
		var out []gitlabtest.Note
		for _, n := range gl.Notes(7) {
			if strings.Contains(n.Body, marker) {
				out = append(out, n)
			}
		}
		return out
	}
	waitFor(t, "the report note", func() bool { return len(notes(report.Marker)) == 1 })
	runPage := regexp.MustCompile(`\[full report\]\((http://[^)]+/runs/[0-9a-f]+)\)`).FindStringSubmatch(notes(report.Marker)[0].Body)
	if runPage == nil || !strings.HasPrefix(runPage[1], f.cfg.PublicURL+"/repos/gitlab/"+url.PathEscape(project.Path)+"/runs/") {
		t.Errorf("the note does not link to the run's page:\n%s", notes(report.Marker)[0].Body)
	} else {
		for name, st := range gl.LatestStatuses(f.headSHA) {
			if st.TargetURL != runPage[1] {
				t.Errorf("status %s links to %q, want %s", name, st.TargetURL, runPage[1])
			}
		}
		// A Developer signs in with GitLab and opens it.
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		gl.SignInAs(dev.Username)
		if status, body := fetch(t, c, b.url+"/signin/gitlab?next=/"); status != 200 || !strings.Contains(body, "dev <small>(GitLab)</small>") {
			t.Errorf("GitLab sign-in: %d\n%s", status, body)
		}
		if status, page := fetch(t, c, runPage[1]); status != 200 || !strings.Contains(page, "dataops/gate") || !strings.Contains(page, `id="model-fct_orders"`) {
			t.Errorf("the run's page for a Developer: %d\n%.2000s", status, page)
		}
	}
	// The merge ref was compared with its first parent, the target
	// branch's tip, and the headline says so.
	if said := "merged into `main` (merge " + f.mergeSHA[:7] + ") compared with `main` at " + f.mainSHA[:7]; !strings.Contains(notes(report.Marker)[0].Body, said) {
		t.Errorf("the note's headline does not say %q:\n%s", said, notes(report.Marker)[0].Body)
	}

	note := func(user gitlabtest.User, body string, uuid string) {
		n := gl.AddNote(7, gitlabtest.Note{Body: body, Author: user})
		payload := gitlabPayload(t, "note_merge_request.json", project, func(p map[string]any) {
			a := p["object_attributes"].(map[string]any)
			a["id"], a["note"], a["noteable_type"] = n.ID, body, "MergeRequest"
			p["user"].(map[string]any)["username"] = user.Username
			p["user"].(map[string]any)["id"] = user.ID
			mr := p["merge_request"].(map[string]any)
			mr["iid"], mr["source_project_id"], mr["target_project_id"] = 7, project.ID, project.ID
		})
		if status, body := sendGitLab(t, b, "Note Hook", uuid, gitlabSecret, payload); status != 202 {
			t.Fatalf("note: %d %s", status, body)
		}
	}
	note(reporter, "/dataops teardown", "uuid-2")
	waitFor(t, "the refusal", func() bool {
		r := notes(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "needs write access")
	})
	note(dev, "/dataops teardown", "uuid-3")
	waitFor(t, "the teardown", func() bool {
		r := notes(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "Dropped environment `pr_7`")
	})
	if schemaExists(t, b, "pr_7") {
		t.Error("pr_7 still exists after /dataops teardown")
	}
	// Notes by the bot itself are never commands.
	note(gitlabtest.User{ID: 9, Username: "dataops-bot"}, "/dataops rerun", "uuid-4")
	note(dev, "/dataops help", "uuid-5")
	waitFor(t, "the help", func() bool {
		r := notes(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "Comment one of these")
	})
	if schemaExists(t, b, "pr_7") {
		t.Error("the bot obeyed its own note")
	}
}
