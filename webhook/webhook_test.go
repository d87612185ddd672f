package webhook

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/store"
)

func newIntake(t *testing.T) (*Intake, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "dataops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Intake{Store: st, GitLabToken: []byte("tok"), MaxBody: 1 << 20}, st
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
	note := gitlabNote(t, "/dataops help")
	for _, c := range []struct {
		name, method, path, event, token, uuid string
		body                                   []byte
		status                                 int
		says                                   string
	}{
		{"github not configured", "POST", "/webhooks/github", "pull_request", "", "", []byte("{}"), 404, "not configured"},
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
