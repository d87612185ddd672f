package gitlab

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
)

// logBuffer collects a Host's log lines; the archive goroutine logs too.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines at a level ("WARN").
func (b *logBuffer) lines(level string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "level="+level) {
			out = append(out, l)
		}
	}
	return out
}

// newHost returns a Host on srv with fast retries and its log.
func newHost(t *testing.T, srv *gitlabtest.Server, edit ...func(*Options)) (*Host, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
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

func newTextLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
