package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/store"
)

func newIntake(t *testing.T) (*Intake, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "dataops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Intake{Store: st, GitLabToken: []byte("tok"), GitHubSecret: []byte(githubSecret), MaxBody: 1 << 20}, st
}

const githubSecret = "whsec"

// signature is body's HMAC with the GitHub secret, as "<algorithm>=<hex>".
func signature(algorithm string, h func() hash.Hash, body []byte) string {
	mac := hmac.New(h, []byte(githubSecret))
	mac.Write(body)
	return algorithm + "=" + hex.EncodeToString(mac.Sum(nil))
}

// TestGitHubSignatures: only an HMAC-SHA256 of the body under
// X-Hub-Signature-256 is accepted; SHA-1 is refused even when it matches.
func TestGitHubSignatures(t *testing.T) {
	in, _ := newIntake(t)
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	for _, c := range []struct {
		name, header string
		status       int
		says         string
	}{
		{"sha256", signature("sha256", sha256.New, body), 200, "pong"},
		{"sha1, matching", signature("sha1", sha1.New, body), 401, "sha256="},
		{"sha1 digest named sha256", "sha256=" + strings.TrimPrefix(signature("sha1", sha1.New, body), "sha1="), 401, "does not match"},
		{"wrong secret", signature("sha256", sha256.New, []byte("other")), 401, "does not match"},
		{"not hex", "sha256=zz", 401, "does not match"},
		{"no algorithm", strings.TrimPrefix(signature("sha256", sha256.New, body), "sha256="), 401, "sha256="},
		{"missing", "", 401, "no X-Hub-Signature-256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/webhooks/github", strings.NewReader(string(body)))
			req.Header.Set("X-GitHub-Event", "ping")
			req.Header.Set("X-GitHub-Delivery", "d-"+c.name)
			if c.header != "" {
				req.Header.Set("X-Hub-Signature-256", c.header)
			}
			rec := httptest.NewRecorder()
			in.GitHub(rec, req)
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.says) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body.String(), c.status, c.says)
			}
		})
	}
}

// gitlabNote is the fixture note on a merge request, saying body.
func gitlabNote(t *testing.T, body string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "gitlab", "webhooks", "note_merge_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	p["object_attributes"].(map[string]any)["note"] = body
	out, _ := json.Marshal(p)
	return out
}

// TestIntakeRequests covers what the end-to-end tests in cmd/dataops do
// not: methods, an endpoint not configured, and GitLab deliveries without
// an event UUID (before GitLab 15), deduplicated by their content.
func TestIntakeRequests(t *testing.T) {
	in, st := newIntake(t)
	t.Run("github not configured", func(t *testing.T) {
		off := &Intake{GitLabToken: []byte("tok")}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/webhooks/github", strings.NewReader("{}"))
		req.Header.Set("X-GitHub-Event", "pull_request")
		off.GitHub(rec, req)
		if rec.Code != 404 || !strings.Contains(rec.Body.String(), "not configured") {
			t.Errorf("got %d %s", rec.Code, rec.Body.String())
		}
	})
	note := gitlabNote(t, "/dataops help")
	for _, c := range []struct {
		name, method, path, event, token, uuid string
		body                                   []byte
		status                                 int
		says                                   string
	}{
		{"GET", "GET", "/webhooks/gitlab", "Note Hook", "tok", "", nil, 405, "POSTed"},
		{"no event header", "POST", "/webhooks/gitlab", "", "tok", "", note, 400, "no event header"},
		{"wrong token", "POST", "/webhooks/gitlab", "Note Hook", "tik", "", note, 401, "does not match"},
		{"without uuid", "POST", "/webhooks/gitlab", "Note Hook", "tok", "", note, 202, "queued"},
		{"same content again", "POST", "/webhooks/gitlab", "Note Hook", "tok", "", note, 200, "duplicate"},
		{"with uuid", "POST", "/webhooks/gitlab", "Note Hook", "tok", "u-1", note, 202, "queued"},
		{"conversation", "POST", "/webhooks/gitlab", "Note Hook", "tok", "u-3", gitlabNote(t, "Looks good to me"), 202, "ignored"},
		{"push hook", "POST", "/webhooks/gitlab", "Push Hook", "tok", "u-2", []byte(`{"object_kind":"push"}`), 202, "ignored"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(string(c.body)))
			if c.event != "" {
				req.Header.Set("X-Gitlab-Event", c.event)
				req.Header.Set("X-GitHub-Event", c.event)
			}
			req.Header.Set("X-Gitlab-Token", c.token)
			if c.uuid != "" {
				req.Header.Set("X-Gitlab-Event-UUID", c.uuid)
			}
			rec := httptest.NewRecorder()
			if strings.HasSuffix(c.path, "github") {
				in.GitHub(rec, req)
			} else {
				in.GitLab(rec, req)
			}
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.says) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body.String(), c.status, c.says)
			}
		})
	}
	stats, err := st.Stats(context.Background())
	if err != nil || stats.Queued != 2 {
		t.Errorf("queued %d jobs (%v), want 2", stats.Queued, err)
	}
}

// TestIgnoredEventsAreNotDecoded: signed deliveries of events dataops does
// not act on are answered 202 whatever their body's shape (octokit's
// discussion.answered has a user where go-github wants a string), and a
// GitLab note whose unread fields do not parse still queues its command.
func TestIgnoredEventsAreNotDecoded(t *testing.T) {
	in, st := newIntake(t)
	discussion := []byte(`{"action":"answered","discussion":{"answer_chosen_by":{"login":"octocat","id":1}},"repository":{"full_name":"o/r"}}`)
	for _, c := range []struct {
		name, event string
		body        []byte
	}{
		{"discussion answered", "discussion", discussion},
		{"package published", "package", []byte(`{"action":"published","package":{"package_version":{"body":{},"metadata":[]}}}`)},
		{"not even JSON", "workflow_job", []byte(`<xml/>`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/webhooks/github", strings.NewReader(string(c.body)))
			req.Header.Set("X-GitHub-Event", c.event)
			req.Header.Set("X-GitHub-Delivery", "d-"+c.name)
			req.Header.Set("X-Hub-Signature-256", signature("sha256", sha256.New, c.body))
			rec := httptest.NewRecorder()
			in.GitHub(rec, req)
			if rec.Code != 202 || !strings.Contains(rec.Body.String(), "ignored") {
				t.Errorf("got %d %s, want 202 ignored", rec.Code, rec.Body.String())
			}
		})
	}
	var p map[string]any
	_ = json.Unmarshal(gitlabNote(t, "/dataops rerun"), &p)
	p["merge_request"].(map[string]any)["last_commit"].(map[string]any)["timestamp"] = "2015-04-08T21: 00:25-07:00"
	note, _ := json.Marshal(p)
	req := httptest.NewRequest("POST", "/webhooks/gitlab", strings.NewReader(string(note)))
	req.Header.Set("X-Gitlab-Event", "Note Hook")
	req.Header.Set("X-Gitlab-Token", "tok")
	rec := httptest.NewRecorder()
	in.GitLab(rec, req)
	if rec.Code != 202 || !strings.Contains(rec.Body.String(), "queued") {
		t.Errorf("the note with an odd timestamp: got %d %s, want 202 queued", rec.Code, rec.Body.String())
	}
	if stats, err := st.Stats(context.Background()); err != nil || stats.Queued != 1 {
		t.Errorf("queued %d jobs (%v), want the note's alone", stats.Queued, err)
	}
}

// TestUnlistedRepositoryIgnored: a delivery from a repository the bot does
// not serve is answered 202, logged, and never queued.
func TestUnlistedRepositoryIgnored(t *testing.T) {
	in, st := newIntake(t)
	var logs strings.Builder
	in.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	in.Allowed = func(host, repo string) bool { return host == "gitlab" && repo == "acme/served" }
	req := httptest.NewRequest("POST", "/webhooks/gitlab", strings.NewReader(string(gitlabNote(t, "/dataops rerun"))))
	req.Header.Set("X-Gitlab-Event", "Note Hook")
	req.Header.Set("X-Gitlab-Token", "tok")
	rec := httptest.NewRecorder()
	in.GitLab(rec, req)
	if rec.Code != 202 || !strings.Contains(rec.Body.String(), "ignored") || !strings.Contains(rec.Body.String(), "does not serve gitlab-org/gitlab-test") {
		t.Errorf("got %d %s, want 202 ignored, saying why", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "repo=gitlab-org/gitlab-test") || !strings.Contains(logs.String(), "not served") {
		t.Errorf("no log line names the repository: %s", logs.String())
	}
	if stats, err := st.Stats(context.Background()); err != nil || stats.Queued != 0 {
		t.Errorf("queued %d jobs (%v), want none", stats.Queued, err)
	}
}

// heads is a HeadReader answering from a map, counting its reads.
type heads struct {
	sha   map[int]string
	reads int
}

func (h *heads) Head(ctx context.Context, ev bot.Event) (string, error) {
	h.reads++
	if sha, ok := h.sha[ev.PullRequest.Number]; ok {
		return sha, nil
	}
	return "", errors.New("404 Not Found")
}

// TestCommandsPinnedAtIntake: a GitHub comment does not say which commit
// its writer saw, so a command that runs code is pinned to the pull
// request's head read when it arrives; GitLab's note carries it. A command
// that runs no code is not read for; a failed read queues the command
// unpinned (the bot then runs nothing for it).
func TestCommandsPinnedAtIntake(t *testing.T) {
	comment := func(t *testing.T, number int, body string) []byte {
		data, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "github", "webhooks", "issue_comment.created.on_pull_request.json"))
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		_ = json.Unmarshal(data, &p)
		p["issue"].(map[string]any)["number"] = number
		p["comment"].(map[string]any)["body"] = body
		out, _ := json.Marshal(p)
		return out
	}
	for _, c := range []struct {
		name, host, body string
		payload          func(t *testing.T) []byte
		reads            int
		pinned           string
	}{
		{"rerun on GitHub", "github", "", func(t *testing.T) []byte { return comment(t, 1, "/dataops rerun") }, 1, "aaaa"},
		{"plan on GitHub", "github", "", func(t *testing.T) []byte { return comment(t, 1, "/dataops plan") }, 1, "aaaa"},
		{"help on GitHub", "github", "", func(t *testing.T) []byte { return comment(t, 1, "/dataops help") }, 0, ""},
		{"head unreadable", "github", "", func(t *testing.T) []byte { return comment(t, 2, "/dataops deploy") }, 1, ""},
		{"rerun on GitLab", "gitlab", "", func(t *testing.T) []byte { return gitlabNote(t, "/dataops rerun") }, 0, "562e173be03b8ff2efb05345d12df18815438a4b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, st := newIntake(t)
			h := &heads{sha: map[int]string{1: "aaaa"}}
			in.Heads = h
			body := c.payload(t)
			req := httptest.NewRequest("POST", "/webhooks/"+c.host, strings.NewReader(string(body)))
			req.Header.Set("X-GitHub-Event", "issue_comment")
			req.Header.Set("X-GitHub-Delivery", "d-1")
			req.Header.Set("X-Hub-Signature-256", signature("sha256", sha256.New, body))
			req.Header.Set("X-Gitlab-Event", "Note Hook")
			req.Header.Set("X-Gitlab-Token", "tok")
			rec := httptest.NewRecorder()
			if c.host == "github" {
				in.GitHub(rec, req)
			} else {
				in.GitLab(rec, req)
			}
			if rec.Code != 202 || !strings.Contains(rec.Body.String(), "queued") {
				t.Fatalf("got %d %s", rec.Code, rec.Body.String())
			}
			r, err := st.Receive(context.Background())
			if err != nil || r == nil {
				t.Fatalf("receive: %v %v", r, err)
			}
			if r.Job.PinnedHead != c.pinned || h.reads != c.reads {
				t.Errorf("pinned %q after %d reads, want %q after %d", r.Job.PinnedHead, h.reads, c.pinned, c.reads)
			}
		})
	}
}
