package gitlab

import (
	"github.com/dataops-dev/dataops/internal/logtest"
	"log/slog"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
)

// logtest.Buffer collects a Host's log lines; the archive goroutine logs too.

// newHost returns a Host on srv with fast retries and its log.
func newHost(t *testing.T, srv *gitlabtest.Server, edit ...func(*Options)) (*Host, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	opts := Options{
		BaseURL: srv.BaseURL(),
		Project: srv.Project().Path,
		Token:   gitlabtest.DefaultToken,
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, e := range edit {
		e(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.retryBase = time.Millisecond
	return h, logs
}

const headSHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7" // merge_request.json's last commit

func newTextLogger(w *logtest.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
