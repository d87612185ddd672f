package github_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

const permissionPath = "/repos/{owner}/{repo}/collaborators/{username}/permission"

func TestRetries(t *testing.T) {
	soon := func() time.Time { return time.Now().Add(2 * time.Second) }
	tests := []struct {
		name     string
		failures []githubtest.Failure
		requests int // to the operation, retries included
		waits    []time.Duration
		wantErr  string
	}{
		{
			name:     "primary rate limit (403) waits for the reset",
			failures: []githubtest.Failure{{Status: 403, Headers: githubtest.PrimaryRateLimit(soon())}},
			requests: 2, waits: []time.Duration{3 * time.Second},
		},
		{
			name:     "primary rate limit (429) waits for the reset",
			failures: []githubtest.Failure{{Status: 429, Headers: githubtest.PrimaryRateLimit(soon())}},
			requests: 2, waits: []time.Duration{3 * time.Second},
		},
		{
			name:     "secondary rate limit honours Retry-After",
			failures: []githubtest.Failure{{Status: 403, Headers: githubtest.SecondaryRateLimit(2 * time.Second)}},
			requests: 2, waits: []time.Duration{2 * time.Second},
		},
		{
			name:     "secondary rate limit (429) honours Retry-After",
			failures: []githubtest.Failure{{Status: 429, Headers: githubtest.SecondaryRateLimit(time.Second)}},
			requests: 2, waits: []time.Duration{time.Second},
		},
		{
			name: "secondary rate limit without Retry-After waits as long as allowed",
			failures: []githubtest.Failure{{Status: 403,
				Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}},
			requests: 2, waits: []time.Duration{5 * time.Second},
		},
		{
			name:     "500 twice then success",
			failures: []githubtest.Failure{{Status: 500, Times: 2}},
			requests: 3, waits: []time.Duration{-10 * time.Millisecond, -20 * time.Millisecond},
		},
		{
			name:     "502, 503 and 504 are retried",
			failures: []githubtest.Failure{{Status: 502}, {Status: 503}, {Status: 504}},
			requests: 4, waits: []time.Duration{-10 * time.Millisecond, -20 * time.Millisecond, -40 * time.Millisecond},
		},
		{
			name:     "503 with Retry-After",
			failures: []githubtest.Failure{{Status: 503, Headers: map[string]string{"Retry-After": "1"}}},
			requests: 2, waits: []time.Duration{time.Second},
		},
		{
			name:     "500 until the retries run out",
			failures: []githubtest.Failure{{Status: 500, Times: 10}},
			requests: 4, waits: []time.Duration{-10 * time.Millisecond, -20 * time.Millisecond, -40 * time.Millisecond},
			wantErr: "500",
		},
		{
			name:     "a reset beyond the longest wait fails at once",
			failures: []githubtest.Failure{{Status: 403, Headers: githubtest.PrimaryRateLimit(time.Now().Add(time.Hour))}},
			requests: 1, wantErr: "rate limit",
		},
		{
			name:     "401 is not retried",
			failures: []githubtest.Failure{{Status: 401}},
			requests: 1, wantErr: "401 Bad credentials",
		},
		{
			name:     "403 without a rate limit is not retried",
			failures: []githubtest.Failure{{Status: 403}},
			requests: 1, wantErr: "403 Resource not accessible by integration",
		},
		{
			name:     "422 is not retried",
			failures: []githubtest.Failure{{Status: 422}},
			requests: 1, wantErr: "422",
		},
		{
			name:     "501 is not retried",
			failures: []githubtest.Failure{{Status: 501}},
			requests: 1, wantErr: "501",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.fake.SetPermission("alice", "write")
			for _, f := range tt.failures {
				f.Method, f.Path = "GET", permissionPath
				e.fake.Fail(f)
			}
			perm, err := e.host.Permission(ctx(t), "alice")
			noLeak(t, err)
			if tt.wantErr == "" {
				if err != nil || perm != scm.PermissionWrite {
					t.Fatalf("Permission = %s, %v; want write", perm, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "read the permission of alice: ") {
				t.Fatalf("Permission error = %v, want one containing %q", err, tt.wantErr)
			}
			if n := len(calls(e.fake, "repos/get-collaborator-permission-level")); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			checkWaits(t, *e.sleeps, tt.waits)
		})
	}
}

// checkWaits compares waits: a positive want is the wait within two
// seconds (the reset is in whole seconds, and set when the test table is
// made, a moment before the request); a negative one is a backoff base b, for
// a wait between b/2 and b.
func checkWaits(t *testing.T, got, want []time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("waits = %v, want %v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if w < 0 {
			if g < -w/2 || g > -w {
				t.Errorf("wait %d = %v, want between %v and %v", i, g, -w/2, -w)
			}
		} else if g < w-2*time.Second || g > w {
			t.Errorf("wait %d = %v, want about %v", i, g, w)
		}
	}
}

func TestRetriesResendTheBody(t *testing.T) {
	e := setup(t)
	e.fake.Fail(githubtest.Failure{Method: "POST", Path: "/repos/{owner}/{repo}/issues/{issue_number}/comments", Status: 502})
	e.fake.Fail(githubtest.Failure{Method: "POST", Path: "/repos/{owner}/{repo}/issues/{issue_number}/comments", Status: 403,
		Headers: githubtest.SecondaryRateLimit(time.Second)})
	if err := e.host.UpsertComment(ctx(t), 7, marker, marker+" hello"); err != nil {
		t.Fatal(err)
	}
	posts := calls(e.fake, "issues/create-comment")
	if len(posts) != 3 {
		t.Fatalf("%d POSTs, want 3", len(posts))
	}
	for _, p := range posts {
		if string(p.Body) != string(posts[0].Body) || len(p.Body) == 0 {
			t.Errorf("retried body %q differs from %q", p.Body, posts[0].Body)
		}
	}
	if c := e.fake.Comments(repo, 7); len(c) != 1 {
		t.Errorf("%d comments, want 1", len(c))
	}
	if n := len(e.logs.Lines("github: retrying")); n != 2 {
		t.Errorf("%d retry log lines, want 2:\n%s", n, e.logs)
	}
}

func TestRateLimitUsedUpOnSuccess(t *testing.T) {
	// The last request of the hour succeeds with X-RateLimit-Remaining: 0.
	// go-github alone would refuse the next request without sending it;
	// the Host sends it, gets the 403, and waits for the reset.
	e := setup(t)
	e.fake.SetPermission("alice", "write")
	reset := time.Now().Add(2 * time.Second)
	e.fake.SetRateLimit(0, reset)
	if _, err := e.host.Permission(ctx(t), "alice"); err != nil {
		t.Fatal(err)
	}
	e.fake.SetRateLimit(4999, time.Time{})
	e.fake.FailNext("GET", permissionPath, 403, githubtest.PrimaryRateLimit(reset))
	perm, err := e.host.Permission(ctx(t), "alice")
	if err != nil || perm != scm.PermissionWrite {
		t.Fatalf("Permission = %s, %v", perm, err)
	}
	if n := len(calls(e.fake, "repos/get-collaborator-permission-level")); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	checkWaits(t, *e.sleeps, []time.Duration{3 * time.Second})
}

func TestRetryWaitEndsWithTheContext(t *testing.T) {
	fake := githubtest.NewServer(t)
	fake.SetPermission("alice", "write")
	h, err := github.New(github.Options{BaseURL: fake.APIURL(), Owner: owner, Repo: repoName, Token: token, MaxRetryWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext("GET", permissionPath, 403, githubtest.SecondaryRateLimit(30*time.Second))
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = h.Permission(c, "alice")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Permission = %v after %v; want an error, at once", err, time.Since(start))
	}
	var abuse *gh.AbuseRateLimitError
	if !errors.As(err, &abuse) {
		t.Errorf("error %v (%T) is not a secondary rate limit error", err, errors.Unwrap(err))
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	// An API that echoes the credentials back (a proxy, say) must not get
	// them into errors or logs.
	e := setup(t)
	e.fake.SetPermission("alice", "write")
	echo := "Bad credentials: Bearer " + token
	cases := []struct {
		name string
		run  func() error
	}{
		{"permission", func() error { _, err := e.host.Permission(ctx(t), "alice"); return err }},
		{"pull request", func() error { _, err := e.host.PullRequest(ctx(t), 7); return err }},
		{"comment", func() error { return e.host.UpsertComment(ctx(t), 7, marker, marker) }},
		{"check", func() error {
			return e.host.PublishCheck(ctx(t), sha, scm.Check{Name: scm.CheckBuild, Status: scm.StatusInProgress, Title: "x"})
		}},
		{"archive", func() error { _, err := e.host.Archive(ctx(t), sha); return err }},
		{"react", func() error { return e.host.React(ctx(t), 7, 1, scm.ReactionEyes) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fake.Fail(githubtest.Failure{Status: 401, Message: echo, Times: 1})
			err := c.run()
			if err == nil {
				t.Fatal("no error")
			}
			noLeak(t, err)
			if !strings.Contains(err.Error(), "[REDACTED]") {
				t.Errorf("error %q does not show where the secret was", err)
			}
		})
	}
	// Server errors are logged while retried; the echo must not reach the log.
	e.fake.Fail(githubtest.Failure{Status: 500, Message: echo, Times: 10})
	err := e.host.UpsertComment(ctx(t), 7, marker, marker)
	noLeak(t, err)
	if strings.Contains(e.logs.String(), token) {
		t.Errorf("the token is in the log")
	}
	if fmt.Sprint(err) == "" {
		t.Error("no error")
	}
}
