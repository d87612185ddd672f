package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
)

func TestHost(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h := &Host{Dir: dir, PR: scm.PullRequest{HeadSHA: "abc", BaseSHA: "def"}}
	if err := h.UpsertComment(ctx, 1, "<!-- m -->", "<!-- m -->\nfirst"); err != nil {
		t.Fatal(err)
	}
	if err := h.UpsertComment(ctx, 1, "<!-- m -->", "<!-- m -->\nsecond"); err != nil {
		t.Fatal(err)
	}
	if err := h.UpsertComment(ctx, 1, "<!-- m -->", "no marker"); err == nil {
		t.Error("a body without its marker could never be found again")
	}
	c, _ := h.Comment(1)
	data, _ := os.ReadFile(filepath.Join(dir, "comment.md"))
	if c != "<!-- m -->\nsecond" || string(data) != c {
		t.Errorf("comment = %q, file = %q", c, data)
	}
	for _, status := range []string{scm.StatusInProgress, scm.StatusCompleted} {
		if err := h.PublishCheck(ctx, "abc", scm.Check{Name: scm.CheckBuild, Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	checks := h.Checks("abc")
	if len(checks) != 1 || checks[0].Status != scm.StatusCompleted {
		t.Errorf("checks = %+v", checks)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "checks", "dataops-build.json"))
	if !strings.Contains(string(data), `"completed"`) {
		t.Errorf("check file = %s", data)
	}
	if p, _ := h.Permission(ctx, "me"); !p.CanWrite() {
		t.Error("the local user can write")
	}
}
