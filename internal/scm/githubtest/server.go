// Package githubtest is a fake of GitHub's REST API for tests: an
// httptest.Server that checks every request against GitHub's OpenAPI
// description (../shared/fixtures/github/openapi) and fails the test on any
// request the description does not allow, keeps the state a code host needs
// (check runs, statuses, comments, reactions, pull requests, collaborators,
// archives), answers with JSON shaped like the description's examples, and
// can be told to fail requests (rate limits, server errors, missing
// permissions).
package githubtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm/commitgraph"
)

// EnterprisePrefix is where GitHub Enterprise Server serves its API; the
// fake answers under it as well as at its root.
const EnterprisePrefix = "/api/v3"

// codeloadPrefix is where the fake's tarball redirects lead, standing in for
// codeload.github.com.
const codeloadPrefix = "/_codeload/"

// DefaultLogin is the login of whoever the fake's tokens belong to, as a
// workflow's GITHUB_TOKEN would be.
const DefaultLogin = "github-actions[bot]"

// Server is the fake. Its state is reached through its methods; every
// method is safe for concurrent use.
type Server struct {
	*httptest.Server

	t    testing.TB
	spec *spec

	mu            sync.Mutex
	nextID        int64
	login         string
	requests      []Request
	failures      []*Failure
	forbidden     map[string]bool
	pulls         map[string]*pullState // repo#number
	comments      map[string][]*Comment // repo#number, in creation order
	checkRuns     map[string][]*CheckRun
	statuses      map[string][]Status // repo@sha
	permissions   map[string]string
	archives      map[string][]byte
	archiveTokens map[string]bool
	apps          map[int64]*rsa.PublicKey
	installations map[int64]bool
	issuedTokens  []string
	rateRemaining int
	rateReset     time.Time
	commits       commitgraph.Graph            // sha -> parents (commits.go)
	branches      map[string]string            // branch -> sha (commits.go)
	reviews       map[string][]*Review         // repo#number, oldest first (reviews.go)
	teams         map[string]map[string]string // org/team-slug -> login -> membership state (reviews.go)

	// Sign-in (oauth.go).
	oauthApps       map[string]oauthApp
	oauthCodes      map[string]oauthCode
	browserLogin    string
	userTokens      map[string]userToken
	revoked         map[string]bool
	repoPermissions map[string]string // repo#login
}

// Request is one request the fake received.
type Request struct {
	Method string
	// Path is the request's path without the Enterprise prefix; URLPath
	// is the path as sent.
	Path    string
	URLPath string
	// Template and Operation name the operation of GitHub's description it
	// matched ("/repos/{owner}/{repo}/check-runs", "checks/create"); the
	// tarball download from the redirect is Operation "codeload".
	Template  string
	Operation string
	Query     url.Values
	Header    http.Header
	Body      []byte
	// Status is what the fake answered.
	Status int
}

// PullRequest is a pull request for the fake to serve; zero fields keep the
// value of the object it starts from.
type PullRequest struct {
	Number  int
	Title   string
	Author  string
	State   string // "open" (the default) or "closed"
	Merged  bool
	BaseRef string
	BaseSHA string
	HeadRef string
	HeadSHA string
	// HeadRepo is the full name of the repository the head branch lives
	// in. Empty means the base repository; any other makes the pull request
	// come from a fork.
	HeadRepo string
	// HeadRepoDeleted serves a head repository of null, as GitHub does
	// after a fork is deleted.
	HeadRepoDeleted bool
	// Files are the paths the pull request changes.
	Files []string
	// MergeCommitSHA is GitHub's test merge commit of the pull request into
	// its base (refs/pull/N/merge); register it with AddCommit. Empty
	// serves merge_commit_sha and mergeable as null, as GitHub does while
	// it computes them; Conflict serves mergeable false.
	MergeCommitSHA string
	Conflict       bool
	// JSON is the pull request object to start from, such as a webhook
	// payload's pull_request; without it the fake starts from the example
	// in GitHub's description. Either way the base repository is set to the
	// repository it is added to.
	JSON json.RawMessage
}

type pullState struct {
	object map[string]any
	files  []string
}

// Comment is an issue comment on a pull request.
type Comment struct {
	ID        int64
	User      string
	Body      string
	Edits     int
	Reactions []string // "login:content"
}

// CheckRun is a check run as the fake holds it.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	DetailsURL  string
	ExternalID  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	// Updates counts the PATCH requests that reached it.
	Updates int
	created int64
}

// Annotation is one annotation of a check run.
type Annotation struct {
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Level     string `json:"annotation_level"`
	Title     string `json:"title,omitempty"`
	Message   string `json:"message"`
}

// Status is a commit status.
type Status struct {
	ID          int64
	SHA         string
	State       string
	Context     string
	Description string
	TargetURL   string
}

// Failure makes matching requests fail.
type Failure struct {
	// Method matches the request's method; empty matches any.
	Method string
	// Path is an operation's path template as GitHub's description writes
	// it ("/repos/{owner}/{repo}/check-runs"), or a path.Match pattern of
	// the request's path ("/repos/o/r/pulls/*"); empty matches any.
	Path    string
	Status  int
	Headers map[string]string
	// Message is the error message of the body; empty picks GitHub's for
	// the status and headers.
	Message string
	// Times is how many requests fail; 0 means one.
	Times int
}

// NewServer starts the fake; it closes when the test ends. It loads GitHub's
// OpenAPI description the first time (once per process) and fails the test
// when it cannot.
func NewServer(t testing.TB) *Server {
	t.Helper()
	if _, err := LoadSpec(); err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	s := &Server{
		t:               t,
		spec:            loadedSpec,
		nextID:          1000,
		rateRemaining:   4999,
		login:           DefaultLogin,
		forbidden:       map[string]bool{},
		pulls:           map[string]*pullState{},
		comments:        map[string][]*Comment{},
		checkRuns:       map[string][]*CheckRun{},
		statuses:        map[string][]Status{},
		permissions:     map[string]string{},
		archives:        map[string][]byte{},
		archiveTokens:   map[string]bool{},
		apps:            map[int64]*rsa.PublicKey{},
		installations:   map[int64]bool{},
		commits:         commitgraph.Graph{},
		branches:        map[string]string{},
		revoked:         map[string]bool{},
		repoPermissions: map[string]string{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// APIURL is the base URL to give a client, as https://api.github.com/.
func (s *Server) APIURL() string { return s.URL + "/" }

// EnterpriseURL is the base URL in GitHub Enterprise Server's form,
// https://ghe.example.com/api/v3/.
func (s *Server) EnterpriseURL() string { return s.URL + EnterprisePrefix + "/" }

// SetLogin sets whom the fake's tokens belong to: the author of the
// comments and reactions they create.
func (s *Server) SetLogin(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.login = login
}

// AddPullRequest adds (or replaces) a pull request of repo ("owner/name").
func (s *Server) AddPullRequest(repo string, pr PullRequest) {
	s.t.Helper()
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		s.t.Fatalf("githubtest: AddPullRequest: repository %q is not owner/name", repo)
	}
	var obj map[string]any
	if len(pr.JSON) > 0 {
		if err := json.Unmarshal(pr.JSON, &obj); err != nil {
			s.t.Fatalf("githubtest: AddPullRequest: %v", err)
		}
	} else {
		op, _, _ := s.spec.operationFor("GET", "/repos/o/r/pulls/1")
		obj, _ = s.spec.example(op, 200).(map[string]any)
		if obj == nil {
			s.t.Fatalf("githubtest: GitHub's description has no pull request example")
		}
		// The example's teams lack the "type" their schema requires.
		for _, team := range asSlice(obj["requested_teams"]) {
			if m := asMap(team); m != nil && m["type"] == nil {
				m["type"] = "organization"
			}
		}
	}
	if pr.Number != 0 {
		obj["number"] = pr.Number
	}
	number := toInt(obj["number"])
	if number == 0 {
		s.t.Fatalf("githubtest: AddPullRequest: no number")
	}
	setIf(obj, "title", pr.Title)
	setIf(obj, "user.login", pr.Author)
	state := pr.State
	if state == "" {
		state = "open"
		if pr.Merged {
			state = "closed"
		}
	}
	obj["state"] = state
	obj["merged"] = pr.Merged
	if pr.Merged {
		obj["merged_at"] = "2024-05-01T12:00:00Z"
	} else {
		obj["merged_at"] = nil
	}
	if state == "open" {
		obj["closed_at"] = nil
	}
	obj["html_url"] = fmt.Sprintf("https://github.com/%s/pull/%d", repo, number)
	obj["url"] = fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", repo, number)
	switch {
	case pr.Conflict:
		obj["mergeable"], obj["merge_commit_sha"] = false, nil
	case pr.MergeCommitSHA != "":
		obj["mergeable"], obj["merge_commit_sha"] = true, pr.MergeCommitSHA
	default:
		obj["mergeable"], obj["merge_commit_sha"] = nil, nil
	}
	setIf(obj, "base.ref", pr.BaseRef)
	setIf(obj, "base.sha", pr.BaseSHA)
	setIf(obj, "head.ref", pr.HeadRef)
	setIf(obj, "head.sha", pr.HeadSHA)

	base := asMap(asMap(obj["base"])["repo"])
	setRepo(base, owner, name, false)
	if ref, _ := asMap(obj["base"])["ref"].(string); ref != "" {
		asMap(obj["base"])["label"] = owner + ":" + ref
	}
	head := asMap(obj["head"])
	switch {
	case pr.HeadRepoDeleted:
		head["repo"] = nil
	default:
		headRepo := repo
		if pr.HeadRepo != "" {
			headRepo = pr.HeadRepo
		}
		hOwner, hName, ok := strings.Cut(headRepo, "/")
		if !ok {
			s.t.Fatalf("githubtest: AddPullRequest: head repository %q is not owner/name", headRepo)
		}
		r := deepCopy(base).(map[string]any)
		setRepo(r, hOwner, hName, !strings.EqualFold(headRepo, repo))
		if !strings.EqualFold(headRepo, repo) {
			r["id"] = toInt(base["id"]) + 1
		}
		head["repo"] = r
		if ref, _ := head["ref"].(string); ref != "" {
			head["label"] = hOwner + ":" + ref
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls[issueKey(repo, number)] = &pullState{object: obj, files: append([]string(nil), pr.Files...)}
}

func setRepo(r map[string]any, owner, name string, fork bool) {
	if r == nil {
		return
	}
	full := owner + "/" + name
	r["name"] = name
	r["full_name"] = full
	r["fork"] = fork
	r["html_url"] = "https://github.com/" + full
	r["url"] = "https://api.github.com/repos/" + full
	if o := asMap(r["owner"]); o != nil {
		o["login"] = owner
	}
}

// AddComment adds a comment to a pull request, written by user, and
// returns its id.
func (s *Server) AddComment(repo string, number int, user, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	k := issueKey(repo, number)
	s.comments[k] = append(s.comments[k], &Comment{ID: s.nextID, User: user, Body: body})
	return s.nextID
}

// SetPermission gives user a permission on every repository: admin,
// maintain, write, triage, read or none. A user without one is not a
// collaborator, and the permission endpoint answers 404.
func (s *Server) SetPermission(user, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.permissions[strings.ToLower(user)] = permission
}

// SetArchive sets the gzipped tarball served for sha.
func (s *Server) SetArchive(sha string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.archives[sha] = data
}

// SetApp registers a GitHub App and one installation of it: access token
// requests must then carry a JWT issued by appID and signed with key.
func (s *Server) SetApp(appID, installationID int64, key *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[appID] = key
	s.installations[installationID] = true
}

// InstallationTokens returns the installation access tokens handed out.
func (s *Server) InstallationTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issuedTokens...)
}

// Scopes Forbid knows, with the operations each guards: what a
// GITHUB_TOKEN lacking that permission may not do. GitHub lets either
// issues or pull_requests write comments on a pull request; forbidding
// either stands for a token with neither.
var scopeOperations = map[string][]string{
	"checks":        {"checks/create", "checks/update"},
	"statuses":      {"repos/create-commit-status"},
	"issues":        {"issues/create-comment", "issues/update-comment", "reactions/create-for-issue-comment"},
	"pull_requests": {"issues/create-comment", "issues/update-comment", "reactions/create-for-issue-comment"},
	"contents":      {"repos/download-tarball-archive"},
}

// Forbid makes the operations needing the given permissions (checks,
// statuses, issues, pull_requests, contents) answer 403 "Resource not
// accessible by integration", as GitHub answers a token without them.
func (s *Server) Forbid(scopes ...string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, scope := range scopes {
		if _, ok := scopeOperations[scope]; !ok {
			s.t.Fatalf("githubtest: Forbid(%q): unknown permission (know checks, statuses, issues, pull_requests, contents)", scope)
		}
		s.forbidden[scope] = true
	}
}

// FailNext makes the next request matching method and pathPattern (see
// Failure) answer status with headers.
func (s *Server) FailNext(method, pathPattern string, status int, headers map[string]string) {
	s.Fail(Failure{Method: method, Path: pathPattern, Status: status, Headers: headers})
}

// Fail queues a failure; failures are used in the order queued.
func (s *Server) Fail(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.failures = append(s.failures, &f)
}

// SetRateLimit sets the X-RateLimit-Remaining and X-RateLimit-Reset headers
// of the responses that follow; a zero reset means an hour from each
// response. By default 4999 requests remain.
func (s *Server) SetRateLimit(remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateRemaining, s.rateReset = remaining, reset
}

// PrimaryRateLimit returns the headers of an exhausted primary rate limit
// that resets at reset; use with status 403 or 429.
func PrimaryRateLimit(reset time.Time) map[string]string {
	return map[string]string{
		"X-RateLimit-Limit":     "5000",
		"X-RateLimit-Remaining": "0",
		"X-RateLimit-Used":      "5000",
		"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix(), 10),
		"X-RateLimit-Resource":  "core",
	}
}

// SecondaryRateLimit returns the headers of a secondary rate limit; use with
// status 403 or 429.
func SecondaryRateLimit(retryAfter time.Duration) map[string]string {
	return map[string]string{"Retry-After": strconv.Itoa(int(math.Ceil(retryAfter.Seconds())))}
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Comments returns the comments of a pull request, oldest first.
func (s *Server) Comments(repo string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments[issueKey(repo, number)] {
		cc := *c
		cc.Reactions = append([]string(nil), c.Reactions...)
		out = append(out, cc)
	}
	return out
}

// CheckRuns returns the check runs of repo, oldest first.
func (s *Server) CheckRuns(repo string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, r := range s.checkRuns[strings.ToLower(repo)] {
		rr := *r
		rr.Annotations = append([]Annotation(nil), r.Annotations...)
		out = append(out, rr)
	}
	return out
}

// Statuses returns the commit statuses of sha, oldest first.
func (s *Server) Statuses(repo, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.statuses[strings.ToLower(repo)+"@"+sha]...)
}

func issueKey(repo string, number int) string {
	return fmt.Sprintf("%s#%d", strings.ToLower(repo), number)
}

// call is one request being served.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	op     *operation
	params map[string]string
	body   []byte
	login  string
	// userToken: the request carries a user access token (oauth.go), so
	// login is the person it was issued to.
	userToken bool
	rec       int // index in s.requests
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	reqPath := r.URL.EscapedPath()
	if p, ok := strings.CutPrefix(reqPath, EnterprisePrefix); ok && (p == "" || strings.HasPrefix(p, "/")) {
		reqPath = p
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: reqPath, URLPath: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
	})
	rec := len(s.requests) - 1
	s.mu.Unlock()

	if strings.HasPrefix(reqPath, codeloadPrefix) {
		s.serveCodeload(w, r, reqPath, rec)
		return
	}
	if strings.HasPrefix(r.URL.EscapedPath(), "/login/oauth/") {
		// GitHub's web flow, at the server's root even on Enterprise.
		s.serveOAuth(w, r, r.URL.EscapedPath(), body, rec)
		return
	}

	op, params, rt := s.spec.operationFor(r.Method, reqPath)
	if op == nil {
		if rt == nil {
			s.t.Errorf("githubtest: %s %s: no path of GitHub's OpenAPI description matches", r.Method, reqPath)
		} else {
			var methods []string
			for m := range rt.ops {
				methods = append(methods, m)
			}
			sort.Strings(methods)
			s.t.Errorf("githubtest: %s %s: %s has no %s operation in GitHub's OpenAPI description (it has %s)", r.Method, reqPath, rt.template, r.Method, strings.Join(methods, ", "))
		}
		s.finish(w, rec, http.StatusNotFound, nil, errorBody("Not Found", ""))
		return
	}
	s.mu.Lock()
	s.requests[rec].Template = op.template
	s.requests[rec].Operation = op.id
	s.mu.Unlock()
	c := &call{w: w, r: r, op: op, params: params, body: body, rec: rec}

	if problems := s.spec.validate(op, r, params, body); len(problems) > 0 {
		s.t.Errorf("githubtest: %s %s (%s) does not match GitHub's OpenAPI description:\n\t%s", r.Method, reqPath, op.id, strings.Join(problems, "\n\t"))
		s.finish(w, rec, http.StatusUnprocessableEntity, nil, map[string]any{
			"message": "Validation Failed", "errors": problems,
			"documentation_url": docURL(op),
		})
		return
	}
	if !s.authenticate(c) {
		return
	}
	if s.injectFailure(c, reqPath) {
		return
	}
	if scope := s.forbiddenScope(op.id); scope != "" {
		s.finish(w, rec, http.StatusForbidden, map[string]string{
			"X-Accepted-GitHub-Permissions": scope + "=write",
		}, errorBody("Resource not accessible by integration", docURL(op)))
		return
	}
	handler, ok := handlers[op.id]
	if !ok {
		s.t.Errorf("githubtest: %s %s (%s) is in GitHub's API but the fake does not serve it; add it to githubtest", r.Method, reqPath, op.id)
		s.finish(w, rec, http.StatusNotImplemented, nil, errorBody("githubtest does not serve "+op.id, ""))
		return
	}
	handler(s, c)
}

func docURL(op *operation) string {
	if ed, ok := op.raw["externalDocs"].(map[string]any); ok {
		if u, ok := ed["url"].(string); ok {
			return u
		}
	}
	return "https://docs.github.com/rest"
}

func errorBody(message, doc string) map[string]any {
	m := map[string]any{"message": message}
	if doc != "" {
		m["documentation_url"] = doc
	}
	return m
}

// authenticate checks the Authorization header: an App's JWT for the
// access token endpoint, a token for everything else.
func (s *Server) authenticate(c *call) bool {
	auth := c.r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	cred = strings.TrimSpace(cred)
	if auth == "" || cred == "" || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
		s.t.Errorf("githubtest: %s %s (%s): no credentials in the Authorization header (%q)", c.r.Method, c.r.URL.Path, c.op.id, redactAuth(auth))
		s.finish(c.w, c.rec, http.StatusUnauthorized, nil, errorBody("Requires authentication", docURL(c.op)))
		return false
	}
	isJWT := strings.Count(cred, ".") == 2 && strings.HasPrefix(cred, "eyJ")
	if c.op.id == "apps/create-installation-access-token" {
		if msg := s.checkJWT(cred, c.params["installation_id"]); msg != "" {
			s.t.Errorf("githubtest: %s %s: %s", c.r.Method, c.r.URL.Path, msg)
			s.finish(c.w, c.rec, http.StatusUnauthorized, nil, errorBody(msg, docURL(c.op)))
			return false
		}
		return true
	}
	if isJWT {
		msg := "a GitHub App's JWT authenticates only as the App; use an installation access token"
		s.t.Errorf("githubtest: %s %s (%s): %s", c.r.Method, c.r.URL.Path, c.op.id, msg)
		s.finish(c.w, c.rec, http.StatusUnauthorized, nil, errorBody(msg, docURL(c.op)))
		return false
	}
	s.mu.Lock()
	c.login = s.login
	user, isUser := s.userTokens[cred]
	revoked := s.revoked[cred]
	s.mu.Unlock()
	if revoked || (isUser && time.Now().After(user.expires)) {
		s.finish(c.w, c.rec, http.StatusUnauthorized, nil, errorBody("Bad credentials", "https://docs.github.com/rest"))
		return false
	}
	if isUser {
		c.login, c.userToken = user.login, true
	}
	return true
}

func redactAuth(auth string) string {
	if scheme, cred, ok := strings.Cut(auth, " "); ok && len(cred) > 0 {
		return scheme + " [" + strconv.Itoa(len(cred)) + " characters]"
	}
	return auth
}

// checkJWT checks an App's JWT as GitHub does: RS256, issued by the App,
// not expired, valid for at most ten minutes.
func (s *Server) checkJWT(jwt, installation string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "the access token request is not authenticated with a JWT (Authorization: Bearer <jwt>)"
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return fmt.Sprintf("JWT header: want alg RS256 (got %q, %v)", header.Alg, err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Sprintf("JWT claims: %v", err)
	}
	now := time.Now().Unix()
	if claims.Exp <= now {
		return "JWT expired"
	}
	if claims.Exp-claims.Iat > 600 {
		return "JWT valid for more than ten minutes"
	}
	iss, err := strconv.ParseInt(strings.Trim(string(claims.Iss), `"`), 10, 64)
	if err != nil {
		return fmt.Sprintf("JWT issuer %s is not an App id", claims.Iss)
	}
	s.mu.Lock()
	key, registered := s.apps[iss]
	anyApp := len(s.apps) > 0
	knownInstallation := s.installations[toInt64(installation)]
	s.mu.Unlock()
	if !anyApp {
		return ""
	}
	if !registered {
		return fmt.Sprintf("JWT issued by App %d, which the fake does not know", iss)
	}
	if !knownInstallation {
		return fmt.Sprintf("installation %s is not an installation of App %d", installation, iss)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "JWT signature is not base64url"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return "JWT signature does not verify with the App's public key"
	}
	return ""
}

func decodeSegment(seg string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func (s *Server) injectFailure(c *call, reqPath string) bool {
	s.mu.Lock()
	var f *Failure
	for i, cand := range s.failures {
		if cand.Method != "" && !strings.EqualFold(cand.Method, c.r.Method) {
			continue
		}
		if cand.Path != "" && cand.Path != c.op.template {
			if ok, _ := path.Match(cand.Path, reqPath); !ok {
				continue
			}
		}
		f = cand
		f.Times--
		if f.Times <= 0 {
			s.failures = append(s.failures[:i:i], s.failures[i+1:]...)
		}
		break
	}
	s.mu.Unlock()
	if f == nil {
		return false
	}
	msg := f.Message
	if msg == "" {
		msg = failureMessage(f.Status, f.Headers)
	}
	doc := docURL(c.op)
	switch {
	case f.Headers["Retry-After"] != "" && (f.Status == 403 || f.Status == 429):
		doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	case f.Headers["X-RateLimit-Remaining"] == "0":
		doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"
	}
	s.finish(c.w, c.rec, f.Status, f.Headers, errorBody(msg, doc))
	return true
}

func failureMessage(status int, headers map[string]string) string {
	switch {
	case headers["X-RateLimit-Remaining"] == "0":
		return "API rate limit exceeded for installation ID 1. If you reach out to GitHub Support for help, please include the request ID."
	case headers["Retry-After"] != "" && (status == 403 || status == 429):
		return "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	case status == http.StatusForbidden:
		return "Resource not accessible by integration"
	case status == http.StatusUnauthorized:
		return "Bad credentials"
	case status == http.StatusUnprocessableEntity:
		return "Validation Failed"
	}
	return http.StatusText(status)
}

func (s *Server) forbiddenScope(opID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	scopes := make([]string, 0, len(s.forbidden))
	for scope := range s.forbidden {
		scopes = append(scopes, scope)
	}
	sort.Strings(scopes)
	for _, scope := range scopes {
		for _, id := range scopeOperations[scope] {
			if id == opID {
				return scope
			}
		}
	}
	return ""
}

// finish writes a JSON response with GitHub's usual headers.
func (s *Server) finish(w http.ResponseWriter, rec, status int, headers map[string]string, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%d", rec))
	if _, ok := headers["X-RateLimit-Remaining"]; !ok {
		s.mu.Lock()
		remaining, reset := s.rateRemaining, s.rateReset
		s.mu.Unlock()
		if reset.IsZero() {
			reset = time.Now().Add(time.Hour)
		}
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}
	for k, v := range headers {
		h.Set(k, v)
	}
	s.mu.Lock()
	s.requests[rec].Status = status
	s.mu.Unlock()
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			s.t.Errorf("githubtest: encode response: %v", err)
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(data)
	if status < 400 {
		s.checkResponse(rec, status, h, data)
	}
}

// checkResponse validates a successful response against the description:
// a mismatch is a bug of the fake, which would have clients decode what
// GitHub never sends.
func (s *Server) checkResponse(rec, status int, h http.Header, body []byte) {
	s.mu.Lock()
	r := s.requests[rec]
	s.mu.Unlock()
	op, params, _ := s.spec.operationFor(r.Method, r.Path)
	if op == nil {
		return
	}
	req, _ := http.NewRequest(r.Method, "http://fake"+r.Path, nil)
	var problems []string
	for _, p := range s.spec.validateResponse(op, req, params, status, h, body) {
		if !knownDeviation(op.id, p) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		s.t.Errorf("githubtest bug: the response to %s %s (%s, %d) does not match GitHub's OpenAPI description:\n\t%s",
			r.Method, r.Path, op.id, status, strings.Join(problems, "\n\t"))
	}
}

func (s *Server) respondError(c *call, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.finish(c.w, c.rec, status, nil, errorBody(msg, docURL(c.op)))
}

// misuse reports a request GitHub would refuse for a reason its OpenAPI
// description does not say (more than 50 annotations, say): it fails the
// test and answers as GitHub would.
func (s *Server) misuse(c *call, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("githubtest: %s %s (%s): %s", c.r.Method, c.r.URL.Path, c.op.id, msg)
	s.finish(c.w, c.rec, status, nil, errorBody(msg, docURL(c.op)))
}

func (s *Server) serveCodeload(w http.ResponseWriter, r *http.Request, reqPath string, rec int) {
	s.mu.Lock()
	s.requests[rec].Operation = "codeload"
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "" {
		s.t.Errorf("githubtest: GET %s: the archive download carries an Authorization header; the redirect's URL holds its own token, and the API token must not travel to another host", reqPath)
	}
	// /_codeload/{owner}/{repo}/legacy.tar.gz/{ref}
	parts := strings.Split(strings.TrimPrefix(reqPath, codeloadPrefix), "/")
	tok := r.URL.Query().Get("token")
	s.mu.Lock()
	valid := s.archiveTokens[tok]
	var data []byte
	found := false
	if len(parts) == 4 {
		data, found = s.archives[unescape(parts[3])]
	}
	s.requests[rec].Status = http.StatusOK
	if !valid || !found {
		s.requests[rec].Status = http.StatusNotFound
	}
	s.mu.Unlock()
	if r.Method != http.MethodGet || !valid || !found {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/x-gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// knownDeviation tells what GitHub sends although its description says
// otherwise, and the fake sends too.
func knownDeviation(opID, problem string) bool {
	// A pull request whose fork was deleted has head.repo: null.
	return opID == "pulls/get" && strings.HasPrefix(problem, `Error at "/head/repo": Value is not nullable`)
}

// The operations the fake serves, by operationId.
var handlers = map[string]func(*Server, *call){
	"checks/create":                           (*Server).createCheckRun,
	"checks/update":                           (*Server).updateCheckRun,
	"checks/get":                              (*Server).getCheckRun,
	"checks/list-for-ref":                     (*Server).listCheckRuns,
	"repos/create-commit-status":              (*Server).createStatus,
	"issues/list-comments":                    (*Server).listComments,
	"issues/create-comment":                   (*Server).createComment,
	"issues/update-comment":                   (*Server).updateComment,
	"issues/get-comment":                      (*Server).getComment,
	"reactions/create-for-issue-comment":      (*Server).createReaction,
	"pulls/get":                               (*Server).getPull,
	"pulls/list-files":                        (*Server).listFiles,
	"repos/get-collaborator-permission-level": (*Server).getPermission,
	"repos/download-tarball-archive":          (*Server).tarball,
	"apps/create-installation-access-token":   (*Server).createInstallationToken,
	"users/get-authenticated":                 (*Server).getAuthenticatedUser,
	"repos/get":                               (*Server).getRepo,
}

func (c *call) repo() string {
	return strings.ToLower(c.params["owner"] + "/" + c.params["repo"])
}

func (c *call) repoName() string { return c.params["owner"] + "/" + c.params["repo"] }

func (s *Server) example(c *call, status int) map[string]any {
	m, _ := s.spec.example(c.op, status).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func (s *Server) decode(c *call, v any) bool {
	if err := json.Unmarshal(c.body, v); err != nil {
		s.misuse(c, http.StatusBadRequest, "Problems parsing JSON: %v", err)
		return false
	}
	return true
}

// Check runs.

type checkRunBody struct {
	Name        *string `json:"name"`
	HeadSHA     string  `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Text        *string      `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

func (s *Server) applyCheckRun(c *call, run *CheckRun, b *checkRunBody) bool {
	if b.Output != nil && len(b.Output.Annotations) > 50 {
		s.misuse(c, http.StatusUnprocessableEntity, "%d annotations in one request: GitHub takes at most 50", len(b.Output.Annotations))
		return false
	}
	status := run.Status
	if b.Status != nil {
		status = *b.Status
	}
	conclusion := run.Conclusion
	if b.Conclusion != nil {
		conclusion = *b.Conclusion
		status = "completed"
	} else if b.Status != nil && *b.Status != "completed" {
		conclusion = ""
	}
	if status == "completed" && conclusion == "" {
		s.misuse(c, http.StatusUnprocessableEntity, "conclusion is required when status is completed")
		return false
	}
	run.Status, run.Conclusion = status, conclusion
	if b.Name != nil {
		run.Name = *b.Name
	}
	if b.DetailsURL != nil {
		run.DetailsURL = *b.DetailsURL
	}
	if b.ExternalID != nil {
		run.ExternalID = *b.ExternalID
	}
	if o := b.Output; o != nil {
		if o.Title != nil {
			run.Title = *o.Title
		}
		if o.Summary != nil {
			run.Summary = *o.Summary
		}
		if o.Text != nil {
			run.Text = *o.Text
		}
		// GitHub appends annotations; it never replaces them.
		run.Annotations = append(run.Annotations, o.Annotations...)
	}
	return true
}

func (s *Server) checkRunObject(c *call, run *CheckRun, status int) map[string]any {
	op, _, _ := s.spec.operationFor("GET", "/repos/o/r/check-runs/1")
	obj, _ := s.spec.example(op, 200).(map[string]any)
	if obj == nil {
		obj = s.example(c, status)
	}
	repo := c.repoName()
	obj["id"] = run.ID
	obj["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("CheckRun%d", run.ID)))
	obj["name"] = run.Name
	obj["head_sha"] = run.HeadSHA
	obj["status"] = run.Status
	obj["external_id"] = run.ExternalID
	if run.Conclusion != "" {
		obj["conclusion"] = run.Conclusion
		obj["completed_at"] = "2024-05-01T12:00:00Z"
	} else {
		obj["conclusion"] = nil
		obj["completed_at"] = nil
	}
	obj["details_url"] = run.DetailsURL
	obj["url"] = fmt.Sprintf("https://api.github.com/repos/%s/check-runs/%d", repo, run.ID)
	obj["html_url"] = fmt.Sprintf("https://github.com/%s/runs/%d", repo, run.ID)
	obj["output"] = map[string]any{
		"title":             run.Title,
		"summary":           run.Summary,
		"text":              run.Text,
		"annotations_count": len(run.Annotations),
		"annotations_url":   fmt.Sprintf("https://api.github.com/repos/%s/check-runs/%d/annotations", repo, run.ID),
	}
	return obj
}

func (s *Server) createCheckRun(c *call) {
	var b checkRunBody
	if !s.decode(c, &b) {
		return
	}
	run := &CheckRun{HeadSHA: b.HeadSHA, Status: "queued"}
	if !s.applyCheckRun(c, run, &b) {
		return
	}
	s.mu.Lock()
	s.nextID++
	run.ID = s.nextID
	run.created = s.nextID
	s.checkRuns[c.repo()] = append(s.checkRuns[c.repo()], run)
	obj := s.checkRunObject(c, run, 201)
	s.mu.Unlock()
	s.finish(c.w, c.rec, http.StatusCreated, nil, obj)
}

func (s *Server) findCheckRun(c *call) *CheckRun {
	id := toInt64(c.params["check_run_id"])
	for _, r := range s.checkRuns[c.repo()] {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (s *Server) updateCheckRun(c *call) {
	var b checkRunBody
	if !s.decode(c, &b) {
		return
	}
	s.mu.Lock()
	run := s.findCheckRun(c)
	if run == nil {
		s.mu.Unlock()
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	updated := *run
	updated.Annotations = append([]Annotation(nil), run.Annotations...)
	s.mu.Unlock()
	if !s.applyCheckRun(c, &updated, &b) {
		return
	}
	s.mu.Lock()
	updated.Updates++
	*run = updated
	obj := s.checkRunObject(c, run, 200)
	s.mu.Unlock()
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

func (s *Server) getCheckRun(c *call) {
	s.mu.Lock()
	run := s.findCheckRun(c)
	var obj map[string]any
	if run != nil {
		obj = s.checkRunObject(c, run, 200)
	}
	s.mu.Unlock()
	if run == nil {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

func (s *Server) listCheckRuns(c *call) {
	q := c.r.URL.Query()
	ref := c.params["ref"]
	name, status, filter := q.Get("check_name"), q.Get("status"), q.Get("filter")
	s.mu.Lock()
	var runs []*CheckRun
	seen := map[string]bool{}
	all := s.checkRuns[c.repo()]
	for i := len(all) - 1; i >= 0; i-- { // newest first
		r := all[i]
		if r.HeadSHA != ref || (name != "" && r.Name != name) || (status != "" && r.Status != status) {
			continue
		}
		if filter != "all" {
			if seen[r.Name] {
				continue
			}
			seen[r.Name] = true
		}
		runs = append(runs, r)
	}
	page, next := paginate(c, len(runs))
	items := []any{}
	for _, r := range runs[page[0]:page[1]] {
		items = append(items, s.checkRunObject(c, r, 200))
	}
	s.mu.Unlock()
	s.finish(c.w, c.rec, http.StatusOK, next, map[string]any{"total_count": len(runs), "check_runs": items})
}

// Statuses.

func (s *Server) createStatus(c *call) {
	var b struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if !s.decode(c, &b) {
		return
	}
	st := Status{SHA: c.params["sha"], State: b.State, Context: "default"}
	if b.Context != nil {
		st.Context = *b.Context
	}
	if b.Description != nil {
		st.Description = *b.Description
	}
	if b.TargetURL != nil {
		st.TargetURL = *b.TargetURL
	}
	if n := len([]rune(st.Description)); n > 140 {
		s.misuse(c, http.StatusUnprocessableEntity, "description is %d characters: GitHub takes at most 140", n)
		return
	}
	s.mu.Lock()
	s.nextID++
	st.ID = s.nextID
	k := c.repo() + "@" + st.SHA
	s.statuses[k] = append(s.statuses[k], st)
	login := c.login
	s.mu.Unlock()
	obj := s.example(c, 201)
	obj["id"] = st.ID
	obj["state"] = st.State
	obj["context"] = st.Context
	obj["description"] = nilIfEmpty(st.Description)
	obj["target_url"] = nilIfEmpty(st.TargetURL)
	obj["url"] = fmt.Sprintf("https://api.github.com/repos/%s/statuses/%s", c.repoName(), st.SHA)
	setIf(obj, "creator.login", login)
	s.finish(c.w, c.rec, http.StatusCreated, nil, obj)
}

// Comments and reactions.

func (s *Server) pullExists(c *call) bool {
	s.mu.Lock()
	_, ok := s.pulls[issueKey(c.repo(), toInt(c.params["issue_number"]))]
	s.mu.Unlock()
	if !ok {
		s.respondError(c, http.StatusNotFound, "Not Found")
	}
	return ok
}

func (s *Server) commentObject(c *call, cm *Comment, status int) map[string]any {
	op, _, _ := s.spec.operationFor("GET", "/repos/o/r/issues/comments/1")
	obj, _ := s.spec.example(op, 200).(map[string]any)
	if obj == nil {
		obj = s.example(c, status)
	}
	obj["id"] = cm.ID
	obj["body"] = cm.Body
	obj["url"] = fmt.Sprintf("https://api.github.com/repos/%s/issues/comments/%d", c.repoName(), cm.ID)
	setIf(obj, "user.login", cm.User)
	if u := asMap(obj["user"]); u != nil {
		if strings.HasSuffix(cm.User, "[bot]") {
			u["type"] = "Bot"
		} else {
			u["type"] = "User"
		}
	}
	return obj
}

func (s *Server) listComments(c *call) {
	if !s.pullExists(c) {
		return
	}
	s.mu.Lock()
	list := s.comments[issueKey(c.repo(), toInt(c.params["issue_number"]))]
	page, next := paginate(c, len(list))
	items := []any{}
	for _, cm := range list[page[0]:page[1]] {
		items = append(items, s.commentObject(c, cm, 200))
	}
	s.mu.Unlock()
	s.finish(c.w, c.rec, http.StatusOK, next, items)
}

func (s *Server) createComment(c *call) {
	if !s.pullExists(c) {
		return
	}
	var b struct {
		Body string `json:"body"`
	}
	if !s.decode(c, &b) {
		return
	}
	if n := len([]rune(b.Body)); n > 65536 {
		s.misuse(c, http.StatusUnprocessableEntity, "body is %d characters: GitHub takes at most 65536", n)
		return
	}
	s.mu.Lock()
	s.nextID++
	cm := &Comment{ID: s.nextID, User: c.login, Body: b.Body}
	k := issueKey(c.repo(), toInt(c.params["issue_number"]))
	s.comments[k] = append(s.comments[k], cm)
	obj := s.commentObject(c, cm, 201)
	s.mu.Unlock()
	s.finish(c.w, c.rec, http.StatusCreated, nil, obj)
}

func (s *Server) findComment(c *call) *Comment {
	id := toInt64(c.params["comment_id"])
	prefix := c.repo() + "#"
	for k, list := range s.comments {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		for _, cm := range list {
			if cm.ID == id {
				return cm
			}
		}
	}
	return nil
}

func (s *Server) getComment(c *call) {
	s.mu.Lock()
	cm := s.findComment(c)
	var obj map[string]any
	if cm != nil {
		obj = s.commentObject(c, cm, 200)
	}
	s.mu.Unlock()
	if cm == nil {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

func (s *Server) updateComment(c *call) {
	var b struct {
		Body string `json:"body"`
	}
	if !s.decode(c, &b) {
		return
	}
	if n := len([]rune(b.Body)); n > 65536 {
		s.misuse(c, http.StatusUnprocessableEntity, "body is %d characters: GitHub takes at most 65536", n)
		return
	}
	s.mu.Lock()
	cm := s.findComment(c)
	var obj map[string]any
	if cm != nil {
		cm.Body = b.Body
		cm.Edits++
		obj = s.commentObject(c, cm, 200)
	}
	s.mu.Unlock()
	if cm == nil {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

func (s *Server) createReaction(c *call) {
	var b struct {
		Content string `json:"content"`
	}
	if !s.decode(c, &b) {
		return
	}
	s.mu.Lock()
	cm := s.findComment(c)
	status := http.StatusCreated
	if cm != nil {
		r := c.login + ":" + b.Content
		exists := false
		for _, x := range cm.Reactions {
			exists = exists || x == r
		}
		if exists {
			status = http.StatusOK
		} else {
			cm.Reactions = append(cm.Reactions, r)
		}
		s.nextID++
	}
	id := s.nextID
	s.mu.Unlock()
	if cm == nil {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	obj := s.example(c, status)
	obj["id"] = id
	obj["content"] = b.Content
	setIf(obj, "user.login", c.login)
	s.finish(c.w, c.rec, status, nil, obj)
}

// Pull requests.

func (s *Server) pull(c *call) *pullState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pulls[issueKey(c.repo(), toInt(c.params["pull_number"]))]
}

func (s *Server) getPull(c *call) {
	pr := s.pull(c)
	if pr == nil {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	s.finish(c.w, c.rec, http.StatusOK, nil, deepCopy(pr.object))
}

func (s *Server) listFiles(c *call) {
	pr := s.pull(c)
	if pr == nil {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	files := pr.files
	if len(files) > 3000 {
		files = files[:3000] // GitHub lists at most 3000 files
	}
	page, next := paginate(c, len(files))
	var tmpl map[string]any
	if list, ok := s.spec.example(c.op, 200).([]any); ok && len(list) > 0 {
		tmpl, _ = list[0].(map[string]any)
	}
	items := []any{}
	for _, f := range files[page[0]:page[1]] {
		obj := deepCopy(tmpl)
		m, _ := obj.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		sum := sha256.Sum256([]byte(f))
		m["sha"] = hex.EncodeToString(sum[:20])
		m["filename"] = f
		m["status"] = "modified"
		items = append(items, m)
	}
	s.finish(c.w, c.rec, http.StatusOK, next, items)
}

// Collaborators.

func (s *Server) getPermission(c *call) {
	user := c.params["username"]
	s.mu.Lock()
	perm, ok := s.permissionOf(c.repoName(), user)
	s.mu.Unlock()
	if !ok {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[perm]
	if legacy == "" {
		legacy = "none"
	}
	obj := s.example(c, 200)
	obj["permission"] = legacy
	obj["role_name"] = perm
	setIf(obj, "user.login", user)
	setIf(obj, "user.role_name", perm) // required by the schema, missing from the example
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

// Archives.

func (s *Server) tarball(c *call) {
	ref := c.params["ref"]
	s.mu.Lock()
	_, ok := s.archives[ref]
	tok := randomHex(10)
	if ok {
		s.archiveTokens[tok] = true
	}
	s.mu.Unlock()
	if !ok {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	loc := fmt.Sprintf("%s%s%s/%s/legacy.tar.gz/%s?token=%s", s.URL, codeloadPrefix,
		url.PathEscape(c.params["owner"]), url.PathEscape(c.params["repo"]), url.PathEscape(ref), tok)
	s.mu.Lock()
	s.requests[c.rec].Status = http.StatusFound
	s.mu.Unlock()
	c.w.Header().Set("Location", loc)
	c.w.WriteHeader(http.StatusFound)
}

// App installations.

func (s *Server) createInstallationToken(c *call) {
	token := "ghs_" + randomHex(18)
	s.mu.Lock()
	s.issuedTokens = append(s.issuedTokens, token)
	s.mu.Unlock()
	obj := s.example(c, 201)
	obj["token"] = token
	obj["expires_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	s.finish(c.w, c.rec, http.StatusCreated, nil, obj)
}

// paginate applies per_page and page to n items and returns the slice
// bounds and the Link header for the other pages.
func paginate(c *call, n int) ([2]int, map[string]string) {
	q := c.r.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	lo := min((page-1)*per, n)
	hi := min(lo+per, n)
	last := max((n+per-1)/per, 1)
	if last <= 1 {
		return [2]int{lo, hi}, nil
	}
	link := func(p int, rel string) string {
		u := *c.r.URL
		u.Scheme, u.Host = "http", c.r.Host
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) == 0 {
		return [2]int{lo, hi}, nil
	}
	return [2]int{lo, hi}, map[string]string{"Link": strings.Join(links, ", ")}
}

// JSON helpers.

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	l, _ := v.([]any)
	return l
}

// setIf sets a dotted path of m to v unless v is empty.
func setIf(m map[string]any, path string, v string) {
	if v == "" || m == nil {
		return
	}
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next := asMap(m[p])
		if next == nil {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deepCopy(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	d := json.NewDecoder(bytes.NewReader(data))
	if d.Decode(&out) != nil {
		return nil
	}
	return out
}

func toInt(v any) int { return int(toInt64(v)) }

func toInt64(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
