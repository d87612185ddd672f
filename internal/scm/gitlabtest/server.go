// Package gitlabtest is a fake GitLab REST API (v4) for tests: an
// httptest.Server that keeps realistic state (merge requests and their
// diffs, notes, award emoji, commit statuses, members, archives), answers
// in the shapes of GitLab's documented examples so gitlab.com/gitlab-org/
// api/client-go decodes them, and checks every request against a table of
// the documented endpoints (endpoints.go). A request to an undocumented
// endpoint, with an undocumented or missing required parameter, or with a
// value of the wrong type, outside its enum or over its length limit fails
// the test that owns the server.
//
// The server starts seeded from the real webhook payloads under
// ../shared/fixtures/gitlab/webhooks: the merge request of
// merge_request.json, the note of note_merge_request.json and the commit
// and job statuses of pipeline.json, all moved onto the test project.
package gitlabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm/commitgraph"
)

// Token kinds, as dataops names them, and the header each is sent in.
const (
	TokenPrivate = "private" // PRIVATE-TOKEN: personal, project or group access token
	TokenJob     = "job"     // JOB-TOKEN: CI_JOB_TOKEN
	TokenOAuth   = "oauth"   // Authorization: Bearer
)

// DefaultToken is the token a new server accepts, as a private token.
const DefaultToken = "fake-gitlab-token-for-tests"

// Server is a fake GitLab. Its URL is the instance; BaseURL is the API root
// to give a client.
type Server struct {
	*httptest.Server

	t      testing.TB
	prefix string // API root path, /api/v4 unless WithPathPrefix

	mu        sync.Mutex
	tokenKind string
	token     string
	user      User // whom the token belongs to
	project   Project
	mrs       map[int]*MergeRequest
	notes     map[int][]*Note       // by merge request IID
	awards    map[int][]*AwardEmoji // by note ID
	members   []Member
	commits   map[string]string // known SHA -> a ref containing it
	parents   commitgraph.Graph // by SHA, first parent first (commits.go)
	branches  map[string]string // branch -> tip SHA (commits.go)
	statuses  []*CommitStatus
	archives  map[string][]byte // by sha, tar.gz
	nextID    int
	failures  []*failure
	forbidden map[*endpoint]Forbidden
	requests  []Request
	users     map[string]User   // users known by name only, by lower-case username (reviews.go)
	approvals map[int][]User    // by merge request IID, in the order given (reviews.go)
	groups    map[string]*group // by lower-case full path (reviews.go)

	// Sign-in (oauth.go).
	oauthApps   map[string]oauthApplication
	oauthCodes  map[string]oauthCode
	oauthTokens map[string]oauthToken
	browserUser User
	public      bool
}

// Project is the repository the server hosts.
type Project struct {
	ID   int
	Path string // path with namespace, e.g. "group/sub/project"
}

// Option configures NewServer.
type Option func(*Server)

// WithPathPrefix serves the API below prefix instead of /api/v4, as a
// self-managed GitLab installed under a relative URL root does
// ("/gitlab/api/v4").
func WithPathPrefix(prefix string) Option {
	return func(s *Server) { s.prefix = "/" + strings.Trim(prefix, "/") }
}

// WithProject hosts another project than the one of the fixtures.
func WithProject(id int, path string) Option {
	return func(s *Server) { s.project = Project{ID: id, Path: path} }
}

// Request is one request the server received.
type Request struct {
	Method  string
	Path    string // escaped, below the API root
	Pattern string // the documented endpoint it matched; empty when none
	Query   url.Values
	Params  map[string]any // validated parameters, decoded
	Header  http.Header
	Body    []byte
	Status  int
}

// Forbidden is why Forbid refuses an endpoint.
type Forbidden int

const (
	// ForbiddenRole answers as GitLab does when the token's user lacks the
	// role: 403 {"message":"403 Forbidden"}.
	ForbiddenRole Forbidden = iota + 1
	// ForbiddenScope answers as GitLab does when the token lacks a scope
	// (a read_api token writing): 403 insufficient_scope, scope "api".
	ForbiddenScope
)

type failure struct {
	ep     *endpoint
	status int
	header http.Header
	after  bool // apply the request, then answer with the failure
}

// NewServer starts a fake GitLab seeded from the fixtures and closes it
// when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		prefix:    "/api/v4",
		tokenKind: TokenPrivate,
		token:     DefaultToken,
		user:      User{ID: BotUserID, Username: BotUsername, Name: "dataops bot"},
		mrs:       map[int]*MergeRequest{},
		notes:     map[int][]*Note{},
		awards:    map[int][]*AwardEmoji{},
		commits:   map[string]string{},
		parents:   commitgraph.Graph{},
		branches:  map[string]string{},
		archives:  map[string][]byte{},
		nextID:    5000,
		forbidden: map[*endpoint]Forbidden{},
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.seed(); err != nil {
		t.Fatalf("gitlabtest: %v", err)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.Close)
	return s
}

// BaseURL is the API root to configure a client with
// (like CI_API_V4_URL).
func (s *Server) BaseURL() string { return s.URL + s.prefix }

// Project returns the hosted project.
func (s *Server) Project() Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.project
}

// SetToken makes the server accept token sent as kind (TokenPrivate,
// TokenJob or TokenOAuth) and nothing else.
func (s *Server) SetToken(kind, token string) {
	switch kind {
	case TokenPrivate, TokenJob, TokenOAuth:
	default:
		s.t.Fatalf("gitlabtest: unknown token kind %q", kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenKind, s.token = kind, token
}

// FailNext makes the next request to the documented endpoint (method and
// pattern as in the table, e.g. "POST", "/projects/:id/statuses/:sha") fail
// with status and headers, before it has any effect. Calls queue up.
func (s *Server) FailNext(method, pattern string, status int, header http.Header) {
	s.queueFailure(method, pattern, status, header, false)
}

// FailNextAfterApplying is FailNext for a request that took effect but whose
// answer was lost: a proxy's 502 after GitLab created the note.
func (s *Server) FailNextAfterApplying(method, pattern string, status int) {
	s.queueFailure(method, pattern, status, nil, true)
}

func (s *Server) queueFailure(method, pattern string, status int, header http.Header, after bool) {
	s.t.Helper()
	ep := endpointFor(method, pattern)
	if ep == nil {
		s.t.Fatalf("gitlabtest: no documented endpoint %s %s", method, pattern)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &failure{ep: ep, status: status, header: header.Clone(), after: after})
}

// Forbid makes every request to the documented endpoint answer 403 for the
// reason given, until the test ends.
func (s *Server) Forbid(method, pattern string, why Forbidden) {
	s.t.Helper()
	ep := endpointFor(method, pattern)
	if ep == nil {
		s.t.Fatalf("gitlabtest: no documented endpoint %s %s", method, pattern)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden[ep] = why
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsTo returns the requests that matched one documented endpoint.
func (s *Server) RequestsTo(method, pattern string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && r.Pattern == pattern {
			out = append(out, r)
		}
	}
	return out
}

// response is what a handler answers.
type response struct {
	status int
	body   any    // JSON-encoded unless raw is set
	raw    []byte // sent as is with contentType
	ctype  string
	header http.Header
}

func jsonError(status int, message string) response {
	return response{status: status, body: map[string]any{"message": message}}
}

// call is one validated request handed to a handler.
type call struct {
	r      *http.Request
	ep     *endpoint
	vars   map[string]string
	params map[string]any
	// oauth is the person's token the request carries, if it carries one
	// issued by the fake's OAuth provider (oauth.go); nil for the bot's.
	oauth *oauthToken
}

func (c *call) intVar(name string) int {
	n, _ := strconv.Atoi(c.vars[name])
	return n
}

func (c *call) str(name string) (string, bool) {
	v, ok := c.params[name].(string)
	return v, ok
}

func (c *call) boolean(name string) bool {
	v, _ := c.params[name].(bool)
	return v
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	escaped := r.URL.EscapedPath()
	rec := Request{Method: r.Method, Path: escaped, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	if rel, ok := strings.CutPrefix(escaped, strings.TrimSuffix(s.prefix, "/api/v4")); ok && strings.HasPrefix(rel, "/oauth/") {
		// GitLab's OAuth provider, beside the API at the instance's root.
		s.serveOAuth(w, r, rel, body, &rec)
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
		return
	}
	resp := s.handle(r, body, &rec)
	rec.Status = resp.status

	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()

	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	var out []byte
	switch {
	case resp.raw != nil:
		out = resp.raw
		h.Set("Content-Type", resp.ctype)
	case resp.body != nil:
		out, _ = json.Marshal(resp.body)
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(out)
}

func (s *Server) handle(r *http.Request, body []byte, rec *Request) response {
	s.t.Helper()
	escaped := r.URL.EscapedPath()
	rel, ok := strings.CutPrefix(escaped, s.prefix)
	if !ok || (rel != "" && rel[0] != '/') {
		s.t.Errorf("gitlabtest: %s %s is outside the API root %s", r.Method, escaped, s.prefix)
		return jsonError(http.StatusNotFound, "404 Not Found")
	}
	rec.Path = rel
	ep, vars := lookup(r.Method, rel)
	if ep == nil {
		s.t.Errorf("gitlabtest: %s %s is not a documented endpoint of the table in endpoints.go", r.Method, rel)
		return response{status: http.StatusNotFound, body: map[string]any{"error": "404 Not Found"}}
	}
	rec.Pattern = ep.Pattern

	s.mu.Lock()
	kind, token := s.tokenKind, s.token
	s.mu.Unlock()
	if token != "" && (strings.Contains(r.URL.String(), token) || bytes.Contains(body, []byte(token))) {
		s.t.Errorf("gitlabtest: %s %s carries the token in its URL or body", r.Method, rel)
	}
	user, isOAuth := s.oauthUser(r)
	if !isOAuth {
		if resp, ok := s.authenticate(r, kind, token); !ok {
			return resp
		}
	}

	params, problems := readParams(r, body)
	decoded, more := ep.validate(vars, params)
	problems = append(problems, more...)
	rec.Params = decoded
	if len(problems) > 0 {
		for _, p := range problems {
			s.t.Errorf("gitlabtest: %s %s (%s): %s", r.Method, rel, ep.Doc, p)
		}
		return response{status: http.StatusBadRequest, body: map[string]any{"error": strings.Join(problems, ", ")}}
	}

	s.mu.Lock()
	why := s.forbidden[ep]
	var fail *failure
	for i, f := range s.failures {
		if f.ep == ep {
			fail = f
			s.failures = slices.Delete(s.failures, i, i+1)
			break
		}
	}
	s.mu.Unlock()

	if isOAuth && r.Method != http.MethodGet && !slices.Contains(user.scopes, "api") {
		why = ForbiddenScope // a person's read_api token may not write
	}
	switch why {
	case ForbiddenRole:
		return jsonError(http.StatusForbidden, "403 Forbidden")
	case ForbiddenScope:
		return response{
			status: http.StatusForbidden,
			body: map[string]any{
				"error":             "insufficient_scope",
				"error_description": "The request requires higher privileges than provided by the access token.",
				"scope":             "api",
			},
			header: http.Header{"Www-Authenticate": {`Bearer realm="", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.", scope="api"`}},
		}
	}
	if fail != nil && !fail.after {
		return failureResponse(fail)
	}
	c := &call{r: r, ep: ep, vars: vars, params: decoded, oauth: user}
	if resp, ok := s.checkProject(c); !ok {
		return resp
	}
	resp := ep.handle(s, c)
	if fail != nil {
		return failureResponse(fail)
	}
	return resp
}

func failureResponse(f *failure) response {
	if f.status == http.StatusTooManyRequests {
		// Rack::Attack, which throttles GitLab's API, answers in plain text.
		return response{status: f.status, raw: []byte("Retry later\n"), ctype: "text/plain", header: f.header}
	}
	return response{
		status: f.status,
		body:   map[string]any{"message": fmt.Sprintf("%d %s", f.status, http.StatusText(f.status))},
		header: f.header,
	}
}

// authenticate checks the credentials header of the configured token kind.
func (s *Server) authenticate(r *http.Request, kind, token string) (response, bool) {
	unauthorized := jsonError(http.StatusUnauthorized, "401 Unauthorized")
	private, job, bearer := r.Header.Get("PRIVATE-TOKEN"), r.Header.Get("JOB-TOKEN"), r.Header.Get("Authorization")
	if private == "" && job == "" && bearer == "" {
		s.t.Errorf("gitlabtest: %s %s carries no PRIVATE-TOKEN, JOB-TOKEN or Authorization header", r.Method, r.URL.EscapedPath())
		return unauthorized, false
	}
	var got string
	switch kind {
	case TokenPrivate:
		got = private
	case TokenJob:
		got = job
	case TokenOAuth:
		got, _ = strings.CutPrefix(bearer, "Bearer ")
	}
	if got == "" || got != token {
		return unauthorized, false
	}
	return response{}, true
}

// checkProject answers 404 as GitLab does for a project ID or path that is
// not the hosted project.
func (s *Server) checkProject(c *call) (response, bool) {
	if !strings.HasPrefix(c.ep.Pattern, "/projects/") {
		return response{}, true // /groups/:id and /users name no project
	}
	s.mu.Lock()
	p := s.project
	s.mu.Unlock()
	id := c.vars["id"]
	if id != strconv.Itoa(p.ID) && id != p.Path {
		return jsonError(http.StatusNotFound, "404 Project Not Found"), false
	}
	return response{}, true
}

// paginate slices items as GitLab's offset pagination does and sets its
// headers.
// pageResponse answers a list endpoint: the requested page of items,
// each as toJSON makes it, with GitLab's pagination headers.
func pageResponse[T any](c *call, items []T, toJSON func(T) any) response {
	page, h := paginate(c, items)
	out := make([]any, 0, len(page))
	for _, item := range page {
		out = append(out, toJSON(item))
	}
	return response{status: http.StatusOK, body: out, header: h}
}

func paginate[T any](c *call, items []T) ([]T, http.Header) {
	page, _ := c.params["page"].(int)
	perPage, _ := c.params["per_page"].(int)
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = 20
	}
	total := len(items)
	pages := max(1, (total+perPage-1)/perPage)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)

	h := http.Header{}
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	next, prev := "", ""
	if page < pages {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 {
		prev = strconv.Itoa(page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)

	link := func(p int, rel string) string {
		u := *c.r.URL
		u.Scheme, u.Host = "http", c.r.Host
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = q.Encode()
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if prev != "" {
		links = append(links, link(page-1, "prev"))
	}
	if next != "" {
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	h.Set("Link", strings.Join(links, ", "))
	return items[start:end], h
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return isoTime(*t)
}
