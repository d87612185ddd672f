package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects what the fake reports instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

func TestSpecLoads(t *testing.T) {
	took, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GitHub's OpenAPI description loaded in %v (once per process)", took)
	n := 0
	for _, rs := range loadedSpec.routes {
		for _, r := range rs {
			n += len(r.ops)
		}
	}
	if n < 500 {
		t.Errorf("%d operations: the description looks truncated", n)
	}
	// Every operation the fake serves is in the description and loads.
	served := map[string]bool{}
	for _, rs := range loadedSpec.routes {
		for _, r := range rs {
			for _, op := range r.ops {
				if _, ok := handlers[op.id]; ok {
					served[op.id] = true
					if err := loadedSpec.load(op); err != nil {
						t.Errorf("%s: %v", op.id, err)
					}
				}
			}
		}
	}
	for id := range handlers {
		if !served[id] {
			t.Errorf("the fake serves %s, which the description lacks", id)
		}
	}
}

func TestServerRejectsWhatGitHubWould(t *testing.T) {
	rec := &recorder{TB: t}
	s := NewServer(rec)
	s.AddPullRequest("o/r", PullRequest{Number: 1})
	auth := "Bearer t0ken"
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		want                           []string // in the reported problem
	}{
		{"unknown path", "GET", "/repos/o/r/nonsense", auth, "", 404,
			[]string{"GET /repos/o/r/nonsense: no path of GitHub's OpenAPI description matches"}},
		{"unknown method", "PUT", "/repos/o/r/check-runs", auth, `{}`, 404,
			[]string{"/repos/{owner}/{repo}/check-runs has no PUT operation", "(it has POST)"}},
		{"no credentials", "GET", "/repos/o/r/pulls/1", "", "", 401,
			[]string{"no credentials in the Authorization header"}},
		{"missing required property", "POST", "/repos/o/r/check-runs", auth, `{"name":"x"}`, 422,
			[]string{"checks/create", `property "head_sha" is missing`}},
		{"enum", "POST", "/repos/o/r/check-runs", auth, `{"name":"x","head_sha":"a","status":"running"}`, 422,
			[]string{"value is not one of the allowed values", `"running"`}},
		{"misspelt property", "POST", "/repos/o/r/check-runs", auth, `{"name":"x","head_sha":"a","detail_url":"u"}`, 422,
			[]string{`body: property "detail_url" is not in the operation's schema`}},
		{"nested misspelt property", "POST", "/repos/o/r/check-runs", auth, `{"name":"x","head_sha":"a","output":{"title":"t","summary":"s","sumary":"s"}}`, 422,
			[]string{`body.output: property "sumary"`}},
		{"wrong type", "POST", "/repos/o/r/issues/1/comments", auth, `{"body":5}`, 422,
			[]string{"value must be a string"}},
		{"path parameter type", "PATCH", "/repos/o/r/check-runs/abc", auth, `{"name":"x"}`, 422,
			[]string{`parameter "check_run_id" in path`}},
		{"query parameter enum", "GET", "/repos/o/r/commits/abc/check-runs?filter=newest", auth, "", 422,
			[]string{`parameter "filter" in query`}},
		{"unknown query parameter", "GET", "/repos/o/r/issues/1/comments?sort=created", auth, "", 422,
			[]string{`query parameter "sort" is not a parameter of issues/list-comments`}},
		{"more than 50 annotations", "POST", "/repos/o/r/check-runs", auth, checkRunWith(51), 422,
			[]string{"maximum number of items is 50"}},
		{"completed without a conclusion", "POST", "/repos/o/r/check-runs", auth, `{"name":"x","head_sha":"a","status":"completed"}`, 422,
			[]string{"conclusion is required when status is completed"}},
		{"a JWT where a token belongs", "GET", "/repos/o/r/pulls/1", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln", "", 401,
			[]string{"JWT authenticates only as the App"}},
		{"an operation the fake does not serve", "GET", "/repos/o/r/branches", auth, "", 501,
			[]string{"repos/list-branches) is in GitHub's API but the fake does not serve it"}},
		{"fine", "POST", "/repos/o/r/check-runs", auth, checkRunWith(50), 201, nil},
		{"GitHub Enterprise prefix", "GET", "/api/v3/repos/o/r/pulls/1", auth, "", 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			errs := rec.take()
			if len(tt.want) == 0 {
				if len(errs) > 0 {
					t.Errorf("reported %q", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("reported %d problems, want 1: %q", len(errs), errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs[0], w) {
					t.Errorf("report %q lacks %q", errs[0], w)
				}
			}
		})
	}
}

func checkRunWith(n int) string {
	anns := make([]map[string]any, n)
	for i := range anns {
		anns[i] = map[string]any{"path": "a.sql", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}
	}
	b, _ := json.Marshal(map[string]any{"name": "x", "head_sha": "a", "status": "in_progress",
		"output": map[string]any{"title": "t", "summary": "s", "annotations": anns}})
	return string(b)
}

func TestServerPaginates(t *testing.T) {
	s := NewServer(t)
	s.AddPullRequest("o/r", PullRequest{Number: 1})
	for i := 0; i < 45; i++ {
		s.AddComment("o/r", 1, "octocat", fmt.Sprint(i))
	}
	get := func(query string) ([]map[string]any, string) {
		req, _ := http.NewRequest("GET", s.URL+"/repos/o/r/issues/1/comments"+query, nil)
		req.Header.Set("Authorization", "token x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var items []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&items); err != nil {
			t.Fatal(err)
		}
		return items, resp.Header.Get("Link")
	}
	items, link := get("")
	if len(items) != 30 || !strings.Contains(link, `page=2`) || !strings.Contains(link, `rel="next"`) {
		t.Errorf("first page: %d items, Link %q", len(items), link)
	}
	items, link = get("?per_page=20&page=3")
	if len(items) != 5 || strings.Contains(link, `rel="next"`) || items[0]["body"] != "40" {
		t.Errorf("last page: %d items, Link %q", len(items), link)
	}
	// The responses start from the description's example.
	if items[0]["node_id"] == nil || items[0]["author_association"] == nil {
		t.Errorf("comment lacks the example's fields: %v", items[0])
	}
}

func TestServerFailures(t *testing.T) {
	s := NewServer(t)
	s.SetPermission("alice", "triage")
	s.Fail(Failure{Method: "GET", Path: "/repos/{owner}/{repo}/collaborators/{username}/permission", Status: 503, Times: 2})
	s.FailNext("GET", "/repos/o/r/collaborators/*/permission", 429, SecondaryRateLimit(time.Second))
	var got []int
	for i := 0; i < 4; i++ {
		req, _ := http.NewRequest("GET", s.URL+"/repos/o/r/collaborators/alice/permission", nil)
		req.Header.Set("Authorization", "token x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		got = append(got, resp.StatusCode)
		if i == 2 && (resp.Header.Get("Retry-After") != "1" || !strings.Contains(fmt.Sprint(body["documentation_url"]), "secondary-rate-limits")) {
			t.Errorf("secondary rate limit response: %v %v", resp.Header, body)
		}
		if i == 3 && (body["permission"] != "read" || body["role_name"] != "triage") {
			t.Errorf("permission body = %v", body)
		}
	}
	if fmt.Sprint(got) != "[503 503 429 200]" {
		t.Errorf("statuses = %v", got)
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("%d requests recorded", n)
	}
}
