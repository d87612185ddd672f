package github_test

import (
	"context"
	"encoding/json"
	"github.com/dataops-dev/dataops/internal/logtest"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

const (
	owner    = "dataops-dev"
	repoName = "warehouse"
	repo     = owner + "/" + repoName
	// token is distinctive so that any trace of it in an error or a log
	// line is found.
	token = "ghp_T0KEN_that_must_never_leak_4f1c9a"
	sha   = "ce587453ced02b1526dfb4cb910479d431683101"
)

// logtest.Buffer collects log lines; the handlers write from several goroutines.

type env struct {
	fake   *githubtest.Server
	host   *github.Host
	logs   *logtest.Buffer
	sleeps *[]time.Duration
}

// setup starts a fake with a pull request and returns a Host on it,
// authenticated with token. Waits between retries are recorded, not slept.
// When the test ends, the log must not hold the token.
func setup(t *testing.T, mutate ...func(*github.Options)) *env {
	t.Helper()
	fake := githubtest.NewServer(t)
	fake.AddPullRequest(repo, githubtest.PullRequest{Number: 7, HeadSHA: sha})
	e := &env{fake: fake, logs: &logtest.Buffer{}}
	e.host, e.sleeps = newHost(t, fake, e.logs, mutate...)
	return e
}

func newHost(t *testing.T, fake *githubtest.Server, logs *logtest.Buffer, mutate ...func(*github.Options)) (*github.Host, *[]time.Duration) {
	t.Helper()
	opts := github.Options{
		BaseURL:      fake.APIURL(),
		Owner:        owner,
		Repo:         repoName,
		Token:        token,
		MaxRetries:   3,
		MaxRetryWait: 5 * time.Second,
		RetryBackoff: 10 * time.Millisecond,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&opts)
	}
	h, err := github.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var mu sync.Mutex
	sleeps := &[]time.Duration{}
	github.SetSleep(h, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*sleeps = append(*sleeps, d)
		mu.Unlock()
		return ctx.Err()
	})
	t.Cleanup(func() {
		if strings.Contains(logs.String(), token) {
			t.Errorf("the token appears in the log:\n%s", logs.String())
		}
	})
	return h, sleeps
}

// noLeak fails the test when err quotes the token.
func noLeak(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("the token appears in an error: %v", err)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// calls returns the requests to an operation ("checks/create").
func calls(fake *githubtest.Server, operation string) []githubtest.Request {
	var out []githubtest.Request
	for _, r := range fake.Requests() {
		if r.Operation == operation {
			out = append(out, r)
		}
	}
	return out
}

func operations(fake *githubtest.Server) []string {
	var out []string
	for _, r := range fake.Requests() {
		out = append(out, r.Operation)
	}
	return out
}

func decodeBody(t *testing.T, r githubtest.Request) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", r.Method, r.Path, err)
	}
	return m
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../../../shared/fixtures/github/webhooks/" + name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return data
}
