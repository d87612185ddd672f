package gitlabtest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// recorder collects what the server reports instead of failing the test,
// so the checks themselves can be tested.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, strings.TrimSpace(sprintf(format, args...)))
}

func (r *recorder) Helper() {}

func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

func do(t *testing.T, s *Server, method, path, contentType, body string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.BaseURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if header == nil {
		req.Header.Set("PRIVATE-TOKEN", DefaultToken)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestServerValidatesRequests(t *testing.T) {
	const statuses = "/projects/14/statuses/da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		header      http.Header
		wantStatus  int
		wantErr     string // in what the server reports; empty: nothing
	}{
		{"documented status", "POST", statuses, "application/json", `{"state":"running","name":"dataops/compile","description":"compiling"}`, nil, 201, ""},
		{"form-encoded status", "POST", statuses, "application/x-www-form-urlencoded", `state=pending&context=ci`, nil, 201, ""},
		{"query-string status", "POST", statuses + "?state=success", "", "", nil, 201, ""},
		{"undocumented endpoint", "GET", "/projects/14/issues", "", "", nil, 404, "not a documented endpoint"},
		{"wrong method", "DELETE", statuses, "", "", nil, 404, "not a documented endpoint"},
		{"missing required state", "POST", statuses, "application/json", `{"name":"x"}`, nil, 400, "required parameter state is missing"},
		{"state outside the enum", "POST", statuses, "application/json", `{"state":"succeeded"}`, nil, 400, `"succeeded" is not one of`},
		{"unknown parameter", "POST", statuses, "application/json", `{"state":"pending","conclusion":"x"}`, nil, 400, "parameter conclusion is not documented"},
		{"description over 255", "POST", statuses, "application/json", `{"state":"pending","description":"` + strings.Repeat("é", 256) + `"}`, nil, 400, "over the documented limit of 255"},
		{"target_url not a URL", "POST", statuses, "application/json", `{"state":"pending","target_url":"not a url"}`, nil, 400, "is not a valid URL"},
		{"wrong JSON type", "POST", statuses, "application/json", `{"state":1}`, nil, 400, "1 is not a string"},
		{"per_page over 100", "GET", "/projects/14/merge_requests/1/notes?per_page=101", "", "", nil, 400, "above the maximum 100"},
		{"page not an integer", "GET", "/projects/14/merge_requests/1/diffs?page=two", "", "", nil, 400, `"two" is not an integer`},
		{"sort enum", "GET", "/projects/14/merge_requests/1/notes?sort=up", "", "", nil, 400, `"up" is not one of asc, desc`},
		{"note body required", "POST", "/projects/14/merge_requests/1/notes", "application/json", `{}`, nil, 400, "required parameter body is missing"},
		{"archive format enum", "GET", "/projects/14/repository/archive.rar?sha=x", "", "", nil, 400, `"rar" is not one of`},
		{"no credentials", "GET", "/projects/14/merge_requests/1", "", "", http.Header{"X-Nothing": {"1"}}, 401, "carries no PRIVATE-TOKEN"},
		{"wrong token is a 401, not a test failure", "GET", "/projects/14/merge_requests/1", "", "", http.Header{"Private-Token": {"nope"}}, 401, ""},
		{"wrong token kind", "GET", "/projects/14/merge_requests/1", "", "", http.Header{"Job-Token": {DefaultToken}}, 401, ""},
		{"token in the query", "GET", "/projects/14/merge_requests/1?private_token=" + DefaultToken, "", "", nil, 400, "carries the token in its URL"},
		{"unknown project", "GET", "/projects/15/merge_requests/1", "", "", nil, 404, ""},
		{"encoded project path", "GET", "/projects/awesome_space%2Fawesome_project/merge_requests/1", "", "", nil, 200, ""},
		{"unencoded project path", "GET", "/projects/awesome_space/awesome_project/merge_requests/1", "", "", nil, 404, "not a documented endpoint"},
		{"members user_ids[]", "GET", "/projects/14/members/all?user_ids[]=1&user_ids[]=2&query=a", "", "", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := NewServer(rec)
			resp := do(t, s, tt.method, tt.path, tt.contentType, tt.body, tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d (reported: %q)", resp.StatusCode, tt.wantStatus, rec.errors())
			}
			errs := rec.errors()
			if tt.wantErr == "" {
				if len(errs) > 0 {
					t.Errorf("reported %q, want nothing", errs)
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tt.wantErr) {
				t.Errorf("reported %q, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}

func TestServerPathPrefix(t *testing.T) {
	rec := &recorder{TB: t}
	s := NewServer(rec, WithPathPrefix("/gitlab/api/v4"), WithProject(7, "group/sub/project"))
	if got := do(t, s, "GET", "/projects/group%2Fsub%2Fproject/merge_requests/1", "", "", nil); got.StatusCode != 200 {
		t.Errorf("status %d under the prefix, want 200", got.StatusCode)
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/v4/projects/7/merge_requests/1", nil)
	req.Header.Set("PRIVATE-TOKEN", DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(strings.Join(rec.errors(), "\n"), "outside the API root") {
		t.Errorf("a request outside the prefix: status %d, reported %q", resp.StatusCode, rec.errors())
	}
	if mr, _ := s.MergeRequest(SeedMRIID); mr.SourceProjectID != 7 || mr.TargetProjectID != 7 {
		t.Errorf("seeded merge request projects %d -> %d, want the hosted project 7", mr.SourceProjectID, mr.TargetProjectID)
	}
}

// client-go must decode what the server answers: the point of shaping the
// answers like the documentation's examples.
func TestServerAnswersDecodeWithClientGo(t *testing.T) {
	s := NewServer(t)
	c, err := gl.NewClient(DefaultToken, gl.WithBaseURL(s.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	pid := s.Project().Path

	mr, _, err := c.MergeRequests.GetMergeRequest(pid, SeedMRIID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mr.Title != "MS-Viewport" || mr.SHA != "da1560886d4f094c3e6c9ef40349f7d38b5d27d7" || mr.Author.Username != "user1" ||
		mr.SourceBranch != "ms-viewport" || mr.TargetBranch != "master" || mr.DiffRefs.BaseSha != SeedBaseSHA || mr.State != "opened" {
		t.Errorf("merge request decoded as %+v", mr.BasicMergeRequest)
	}

	notes, resp, err := c.Notes.ListMergeRequestNotes(pid, SeedMRIID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].ID != SeedNoteID || notes[0].Body != "This MR needs work." || notes[0].Author.Username != "root" || resp.TotalItems != 1 {
		t.Errorf("notes decoded as %+v (total %d)", notes, resp.TotalItems)
	}

	name, state := "dataops/build", gl.Running
	st, _, err := c.Commits.SetCommitStatus(pid, mr.SHA, &gl.SetCommitStatusOptions{State: state, Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != name || st.Status != "running" || st.Ref != "ms-viewport" || st.Author.Username != BotUsername {
		t.Errorf("status decoded as %+v", st)
	}
	if _, _, err := c.Commits.SetCommitStatus(pid, mr.SHA, &gl.SetCommitStatusOptions{State: state, Name: &name}); err == nil ||
		!strings.Contains(err.Error(), "Cannot transition status via :run from :running") {
		t.Errorf("running twice: %v, want GitLab's transition error", err)
	}

	s.AddMember(Member{User: User{ID: 7, Username: "ann"}, AccessLevel: 40, Inherited: true})
	q := "ann"
	members, _, err := c.ProjectMembers.ListAllProjectMembers(pid, &gl.ListProjectMembersOptions{Query: &q})
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].AccessLevel != gl.MaintainerPermissions || members[0].Username != "ann" {
		t.Errorf("members decoded as %+v", members)
	}

	award, _, err := c.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(pid, SeedMRIID, SeedNoteID, &gl.CreateAwardEmojiOptions{Name: "eyes"})
	if err != nil {
		t.Fatal(err)
	}
	if award.Name != "eyes" || award.User.Username != BotUsername || award.AwardableType != "Note" {
		t.Errorf("award decoded as %+v", award)
	}

	diffs, _, err := c.MergeRequests.ListMergeRequestDiffs(pid, SeedMRIID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 2 || !diffs[1].NewFile || diffs[1].NewPath != "models/marts/fct_orders.sql" {
		t.Errorf("diffs decoded as %+v", diffs)
	}
}

func TestServerCommitStatusStateMachine(t *testing.T) {
	const sha = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	post := func(t *testing.T, s *Server, state string) int {
		return do(t, s, "POST", "/projects/14/statuses/"+sha, "application/json", `{"state":"`+state+`","name":"dataops/gate"}`, nil).StatusCode
	}
	tests := []struct {
		name   string
		states []string
		codes  []int
		count  int // statuses of the name, retried included
		latest string
	}{
		{"pending, running, success move one status", []string{"pending", "running", "success"}, []int{201, 201, 201}, 1, "success"},
		{"running twice is refused", []string{"running", "running"}, []int{201, 400}, 1, "running"},
		{"pending twice is refused", []string{"pending", "pending"}, []int{201, 400}, 1, "pending"},
		{"running back to pending is refused", []string{"running", "pending"}, []int{201, 400}, 1, "running"},
		{"a finished status is retried by a new one", []string{"failed", "pending", "success"}, []int{201, 201, 201}, 2, "success"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t)
			for i, st := range tt.states {
				if got := post(t, s, st); got != tt.codes[i] {
					t.Errorf("%s: status %d, want %d", st, got, tt.codes[i])
				}
			}
			var n int
			for _, st := range s.Statuses(sha) {
				if st.Name == "dataops/gate" {
					n++
				}
			}
			if n != tt.count || s.LatestStatuses(sha)["dataops/gate"].Status != tt.latest {
				t.Errorf("%d statuses, latest %q; want %d, %q", n, s.LatestStatuses(sha)["dataops/gate"].Status, tt.count, tt.latest)
			}
		})
	}
}

func TestServerSeedsFromFixtures(t *testing.T) {
	s := NewServer(t)
	if p := s.Project(); p.ID != 14 || p.Path != "awesome_space/awesome_project" {
		t.Errorf("project %+v, want merge_request.json's target project", p)
	}
	pipeline := s.LatestStatuses("bcbb5ec396a2c0f828686f14fac9b80b780504f2")
	if len(pipeline) != 5 || pipeline["test-build"].Status != "success" || pipeline["production"].Status != "skipped" {
		t.Errorf("pipeline.json's jobs seeded as %+v", pipeline)
	}
}

func TestKnobs(t *testing.T) {
	s := NewServer(t)
	s.FailNext("GET", "/projects/:id/merge_requests/:merge_request_iid", 503, http.Header{"Retry-After": {"1"}})
	if got := do(t, s, "GET", "/projects/14/merge_requests/1", "", "", nil).StatusCode; got != 503 {
		t.Errorf("first request %d, want the queued 503", got)
	}
	if got := do(t, s, "GET", "/projects/14/merge_requests/1", "", "", nil).StatusCode; got != 200 {
		t.Errorf("second request %d, want 200", got)
	}
	s.FailNextAfterApplying("POST", "/projects/:id/merge_requests/:merge_request_iid/notes", 502)
	if got := do(t, s, "POST", "/projects/14/merge_requests/1/notes", "application/json", `{"body":"hi"}`, nil).StatusCode; got != 502 {
		t.Errorf("note creation %d, want 502", got)
	}
	if n := len(s.Notes(SeedMRIID)); n != 2 {
		t.Errorf("%d notes after a 502 that applied, want 2", n)
	}
	s.Forbid("GET", "/projects/:id/members/all", ForbiddenScope)
	if got := do(t, s, "GET", "/projects/14/members/all", "", "", nil).StatusCode; got != 403 {
		t.Errorf("forbidden endpoint %d, want 403", got)
	}
	if n := len(s.RequestsTo("GET", "/projects/:id/merge_requests/:merge_request_iid")); n != 2 {
		t.Errorf("RequestsTo counted %d, want 2", n)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
