package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/web"
)

const (
	clientID     = "Iv1.dataops"
	clientSecret = "client-secret-for-tests"
	sessionKey   = "a session key of at least thirty-two bytes, for tests"
)

// site is the web pages over a real store, with the GitHub fake to sign
// in with, on an httptest server.
type site struct {
	t     *testing.T
	url   string
	store *store.Store
	gh    *githubtest.Server
	now   *clock
	woken chan struct{}
}

// clock is a movable time for sessions and the access cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSite(t *testing.T, extra ...web.Host) *site {
	t.Helper()
	// One attempt: a failed job is dead at once.
	return newSiteWith(t, store.Options{MaxAttempts: 1}, extra...)
}

func newSiteWith(t *testing.T, opts store.Options, extra ...web.Host) *site {
	t.Helper()
	st, err := store.OpenWith(context.Background(), filepath.Join(t.TempDir(), "dataops.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	gh := githubtest.NewServer(t)
	gh.SetOAuthApp(clientID, clientSecret, ts.URL+"/signin/github/callback")
	s := &site{t: t, url: ts.URL, store: st, gh: gh, now: &clock{t: time.Now()}, woken: make(chan struct{}, 10)}
	hosts := append([]web.Host{web.GitHubHost(gh.URL, gh.APIURL(), clientID, clientSecret, nil)}, extra...)
	srv, err := web.New(web.Config{Store: st, PublicURL: ts.URL, SessionKey: []byte(sessionKey), SessionTTL: time.Hour, AccessCache: 5 * time.Minute,
		Hosts: hosts, Now: s.now.Now, LivePoll: 20 * time.Millisecond, Wake: func() { s.woken <- struct{}{} },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	handler = srv.Handler()
	return s
}

// browser is an HTTP client with cookies that follows redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// signIn signs login in through the GitHub fake's web flow.
func (s *site) signIn(login string) *http.Client {
	s.t.Helper()
	c := browser(s.t)
	s.gh.SignInAs(login)
	status, body := get(s.t, c, s.url+"/signin/github?next=/")
	if status != 200 || !strings.Contains(body, "<h1>Repositories</h1>") || !strings.Contains(body, login) {
		s.t.Fatalf("sign-in as %s ended with %d:\n%s", login, status, body)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// csrf reads the CSRF token of a page's forms.
func csrf(t *testing.T, page string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, `name="csrf" value="`)
	if !ok {
		t.Fatalf("no CSRF token on the page")
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

// seed stores runs of two repositories and a dead job of each.
func (s *site) seed() (runID string) {
	s.t.Helper()
	ctx := context.Background()
	doc := &report.Document{Version: report.DocumentVersion, Project: "shop", Headline: "failed: build, gate", Outcome: "failure", Where: "shop: abc compared with main",
		Checks: []scm.Check{{Name: "dataops/build", Status: "completed", Conclusion: "failure", Title: "1 test failed", Summary: "<b>not bold</b>"}},
		Plan: &report.DocPlan{Base: "aaa", Head: "bbb", Built: 2, Changes: []report.DocChange{{ID: "model.shop.fct_orders", Name: "fct_orders", Kind: "model", Status: "modified", Change: "modified: sql"},
			{ID: "model.shop.orders_per_month", Name: "orders_per_month", Kind: "model", Status: "impacted", Change: "downstream of fct_orders"}}},
		Lineage: &report.Graph{Nodes: []report.GraphNode{{ID: "model.shop.fct_orders", Name: "fct_orders", Status: "modified"}, {ID: "model.shop.orders_per_month", Name: "orders_per_month", Status: "impacted"}},
			Edges: [][2]int{{0, 1}}},
		Diffs: []report.DocDiff{{Model: "fct_orders", Key: []string{"order_id"}, Compared: true, Keyed: true, Base: report.DocSide{Exists: true, Rows: 10}, Head: report.DocSide{Exists: true, Rows: 10},
			Changed: 1, Same: 9, ChangedValues: []report.DocChangedValue{{Key: "7", Column: "note", Base: "<script>alert(1)</script>", Head: "fine"}}}},
		CommentShortened: true}
	data, _ := json.Marshal(doc)
	for _, r := range []store.Run{
		{ID: "run-shop", Repo: "github:acme/shop", PR: 7, Title: "card amount", HeadSHA: "bbbbbbbbbbbb", Trigger: "push", Actor: "octocat", Attempt: 1},
		{ID: "run-secret", Repo: "github:acme/secret", PR: 3, Title: "secret work", HeadSHA: "ccc", Trigger: "opened", Attempt: 1},
	} {
		r.Stages = []store.Stage{{Name: "dataops/build", Status: "completed", Conclusion: "failure"}, {Name: "dataops/gate", Status: "completed", Conclusion: "failure"}}
		if err := s.store.StartRun(ctx, r); err != nil {
			s.t.Fatal(err)
		}
		if err := s.store.FinishRun(ctx, r.ID, store.RunCompleted, "failure", "", r.Stages, data); err != nil {
			s.t.Fatal(err)
		}
	}
	for i, repo := range []string{"github:acme/shop", "github:acme/secret"} {
		job := store.Job{Kind: "github", Event: "pull_request", Repo: repo, PR: 7 + i}
		if _, err := s.store.Accept(ctx, store.Delivery{Host: "github", ID: "dead-" + repo, Event: "pull_request"}, job); err != nil {
			s.t.Fatal(err)
		}
		r, err := s.store.Receive(ctx)
		if err != nil || r == nil {
			s.t.Fatalf("receive: %v", err)
		}
		if err := s.store.Retry(ctx, r, errors.New("the warehouse refused: permission denied")); err != nil {
			s.t.Fatal(err)
		}
	}
	return "run-shop"
}

func TestSignInAndAccess(t *testing.T) {
	s := newSite(t)
	s.gh.SetPermission("reader", "read")
	s.gh.SetPermission("writer", "write")
	s.gh.SetRepoPermission("acme/secret", "reader", "none")
	s.gh.SetRepoPermission("acme/secret", "writer", "none")
	run := s.seed()

	// Nothing without sign-in: the pages send people to sign in.
	noRedirect := browser(t)
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"/", "/queue", "/repos/github/acme%2Fshop", "/repos/github/acme%2Fshop/runs/" + run} {
		resp, err := noRedirect.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/signin?next="+url.QueryEscape(path) {
			t.Errorf("%s without sign-in: %d to %q", path, resp.StatusCode, loc)
		}
	}
	if status, _ := get(t, noRedirect, s.url+"/repos/github/acme%2Fshop/runs/"+run+"/events"); status != http.StatusUnauthorized {
		t.Errorf("live events without sign-in: %d", status)
	}

	reader := s.signIn("reader")
	_, home := get(t, reader, s.url+"/")
	if !strings.Contains(home, "acme/shop") || strings.Contains(home, "acme/secret") {
		t.Errorf("the reader's repositories:\n%s", home)
	}
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/repos/github/acme%2Fshop", 200, "card amount"},
		{"/repos/github/acme%2Fshop/pulls/7", 200, "push by <strong>octocat</strong>"},
		{"/repos/github/acme%2Fshop/runs/" + run, 200, "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"/repos/github/acme%2Fshop/environments", 200, "No environment"},
		{"/repos/github/acme%2Fshop/deploys", 200, "No deploy is recorded"},
		{"/repos/github/acme%2Fsecret", 404, "Not found"},
		{"/repos/github/acme%2Fsecret/pulls/3", 404, "Not found"},
		{"/repos/github/acme%2Fsecret/runs/run-secret", 404, "Not found"},
		{"/repos/github/acme%2Fsecret/runs/run-secret/events", 404, "Not found"},
		{"/repos/github/acme%2Fsecret/environments", 404, "Not found"},
		{"/repos/github/acme%2Fsecret/deploys", 404, "Not found"},
		{"/repos/github/acme%2Fshop/runs/run-secret", 404, "Not found"}, // another repository's run
		{"/repos/github/acme%2Fnothing", 200, "No runs yet"},            // readable on GitHub, unknown here
		{"/repos/gitlab/acme%2Fshop", 404, "Not found"},
		{"/repos/github/acme%2Fshop/pulls/x", 404, "Not found"},
		{"/nowhere", 404, "There is no page"},
	} {
		status, body := get(t, reader, s.url+c.path)
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("GET %s as a reader: %d, want %d with %q\n%s", c.path, status, c.status, c.says, body)
		}
	}
	_, page := get(t, reader, s.url+"/repos/github/acme%2Fshop/runs/"+run)
	for _, want := range []string{`<a href="#model-fct_orders"`, `id="model-fct_orders"`, `id="change-orders_per_month"`, `had to leave parts of this report out`,
		"&lt;b&gt;not bold&lt;/b&gt;", `<svg xmlns="http://www.w3.org/2000/svg" class="lineage"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the run page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>not bold") {
		t.Error("text from the report reached the page as markup")
	}

	// The queue lists only readable repositories' jobs.
	_, queue := get(t, reader, s.url+"/queue")
	if !strings.Contains(queue, "acme/shop") || strings.Contains(queue, "acme/secret") || !strings.Contains(queue, "permission denied") {
		t.Errorf("the reader's queue:\n%s", queue)
	}
}

func TestRetryDeadJob(t *testing.T) {
	s := newSite(t)
	s.gh.SetPermission("reader", "read")
	s.gh.SetPermission("writer", "write")
	s.seed()
	dead := func() []store.DeadLetter {
		d, err := s.store.DeadLetters(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	var shop store.DeadLetter
	for _, d := range dead() {
		if d.Job.Repo == "github:acme/shop" {
			shop = d
		}
	}
	retry := s.url + "/queue/dead/" + url.PathEscape(shop.ID) + "/retry"

	reader := s.signIn("reader")
	_, queue := get(t, reader, s.url+"/queue")
	token := csrf(t, queue)
	if status, body := post(t, reader, retry, url.Values{"csrf": {token}}); status != 403 || !strings.Contains(body, "needs write access to acme/shop; you have read") {
		t.Errorf("a reader's retry: %d\n%s", status, body)
	}
	writer := s.signIn("writer")
	if status, body := post(t, writer, retry, nil); status != 403 || !strings.Contains(body, "CSRF token") {
		t.Errorf("a retry without the CSRF token: %d\n%s", status, body)
	}
	if status, body := post(t, writer, retry, url.Values{"csrf": {token}}); status != 403 || !strings.Contains(body, "CSRF token") {
		t.Errorf("a retry with another session's CSRF token: %d\n%s", status, body)
	}
	// A writer's session cookie changed by one bit, and the same session
	// expired, with the page's CSRF token: refused, nothing retried.
	u, _ := url.Parse(s.url)
	_, queue = get(t, writer, s.url+"/queue")
	cookie := writer.Jar.Cookies(u)[0]
	forged := []byte(cookie.Value)
	forged[len(forged)/2] ^= 1
	forgedJar, _ := cookiejar.New(nil)
	forgedJar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: string(forged)}})
	if status, body := post(t, &http.Client{Jar: forgedJar}, retry, url.Values{"csrf": {csrf(t, queue)}}); status != 401 || !strings.Contains(body, "Your session is not valid") {
		t.Errorf("a retry with a forged session cookie: %d\n%s", status, body)
	}
	s.now.Add(2 * time.Hour)
	if status, body := post(t, writer, retry, url.Values{"csrf": {csrf(t, queue)}}); status != 401 || !strings.Contains(body, "Your sign-in expired") {
		t.Errorf("a retry in an expired session: %d\n%s", status, body)
	}
	s.now.Add(-2 * time.Hour)
	if len(dead()) != 2 {
		t.Fatal("a refused retry changed the dead letters")
	}
	writer = s.signIn("writer")
	_, queue = get(t, writer, s.url+"/queue")
	status, body := post(t, writer, retry, url.Values{"csrf": {csrf(t, queue)}})
	if status != 200 || !strings.Contains(body, "went back to the queue") {
		t.Errorf("the writer's retry: %d\n%s", status, body)
	}
	if d := dead(); len(d) != 1 || d[0].Job.Repo != "github:acme/shop" && d[0].ID == shop.ID {
		t.Errorf("dead letters after the retry: %+v", d)
	}
	select {
	case <-s.woken:
	default:
		t.Error("no worker was woken")
	}
	jobs, _ := s.store.Jobs(context.Background(), 10)
	if len(jobs) != 1 || jobs[0].Job.Repo != "github:acme/shop" || jobs[0].State != store.JobQueued {
		t.Errorf("queue after the retry: %+v", jobs)
	}
	if status, _ := post(t, writer, retry, url.Values{"csrf": {csrf(t, queue)}}); status != 404 {
		t.Errorf("retrying it again: %d", status)
	}
	// A form from another site is refused even with a token.
	req, _ := http.NewRequest("POST", s.url+"/signout", strings.NewReader(url.Values{"csrf": {csrf(t, queue)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err := writer.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a form from another origin: %d", resp.StatusCode)
	}
}

// TestQueuePage: the queue shows a readable repository's jobs as they
// are: queued, running, and retrying with its attempt and last error.
func TestQueuePage(t *testing.T) {
	s := newSiteWith(t, store.Options{MaxAttempts: 3})
	s.gh.SetPermission("reader", "read")
	s.gh.SetRepoPermission("acme/secret", "reader", "none")
	ctx := context.Background()
	accept := func(repo string, pr int) {
		job := store.Job{Kind: "github", Event: "pull_request", Repo: repo, PR: pr}
		if _, err := s.store.Accept(ctx, store.Delivery{Host: "github", ID: fmt.Sprint(repo, pr), Event: "pull_request"}, job); err != nil {
			t.Fatal(err)
		}
	}
	receive := func() *store.Received {
		r, err := s.store.Receive(ctx)
		if err != nil || r == nil {
			t.Fatalf("receive: %v", err)
		}
		return r
	}
	accept("github:acme/shop", 1)
	if err := s.store.Retry(ctx, receive(), errors.New("the warehouse is away: connection refused")); err != nil {
		t.Fatal(err)
	}
	accept("github:acme/shop", 2)
	receive() // running
	accept("github:acme/shop", 3)
	accept("github:acme/secret", 4)

	_, page := get(t, s.signIn("reader"), s.url+"/queue")
	rows := map[string]string{}
	for _, row := range strings.Split(page, "<tr class=")[1:] {
		for _, pr := range []string{"#1", "#2", "#3"} {
			if strings.Contains(row, ">"+pr+"<") {
				rows[pr] = row
			}
		}
	}
	for pr, want := range map[string][]string{
		"#1": {`"retrying"`, `<td class="n">2</td>`, "the warehouse is away: connection refused"},
		"#2": {`"running"`, `<td class="n">1</td>`},
		"#3": {`"queued"`, `<td class="n">1</td>`},
	} {
		for _, w := range want {
			if !strings.Contains(rows[pr], w) {
				t.Errorf("the queue's row of %s lacks %s:\n%s", pr, w, rows[pr])
			}
		}
	}
	if strings.Contains(page, "acme/secret") {
		t.Error("the queue shows a repository the reader cannot read")
	}
}

// TestBadSessions: forged and expired cookies, a wrong OAuth state, a
// host's refusal: each refused with a page saying so, nothing changed.
func TestBadSessions(t *testing.T) {
	s := newSite(t)
	s.gh.SetPermission("reader", "read")
	s.seed()
	u, _ := url.Parse(s.url)

	c := s.signIn("reader")
	cookie := c.Jar.Cookies(u)[0]
	forged := []byte(cookie.Value)
	forged[len(forged)/2] ^= 1
	forgedJar, _ := cookiejar.New(nil)
	forgedJar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: string(forged)}})
	status, body := get(t, &http.Client{Jar: forgedJar}, s.url+"/")
	if status != 401 || !strings.Contains(body, "Your session is not valid") {
		t.Errorf("a forged cookie: %d\n%s", status, body)
	}
	if len(forgedJar.Cookies(u)) != 0 {
		t.Error("the forged cookie was not removed")
	}

	s.now.Add(2 * time.Hour)
	status, body = get(t, c, s.url+"/")
	if status != 401 || !strings.Contains(body, "Your sign-in expired") {
		t.Errorf("an expired session: %d\n%s", status, body)
	}
	s.now.Add(-2 * time.Hour)

	// A callback whose state is not the one this browser started.
	for _, c := range []struct{ name, query, says string }{
		{"wrong state", "code=abc&state=not-the-one", "state does not match"},
		{"no state", "code=abc", "state does not match"},
		{"denied", "error=access_denied&error_description=The+user+has+denied+your+application+access.", "GitHub did not sign you in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fresh := browser(t)
			fresh.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := fresh.Get(s.url + "/signin/github")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Query().Get("state") == "" || loc.Query().Get("code_challenge_method") != "S256" {
				t.Fatalf("the sign-in's redirect: %s", loc)
			}
			status, body := get(t, fresh, s.url+"/signin/github/callback?"+c.query)
			if status < 400 || !strings.Contains(body, c.says) {
				t.Errorf("%d\n%s", status, body)
			}
			for _, ck := range fresh.Jar.Cookies(u) {
				if ck.Name == "dataops_session" {
					t.Error("a session was made")
				}
			}
		})
	}
	// A callback in a browser that never started a sign-in.
	status, body = get(t, browser(t), s.url+"/signin/github/callback?code=abc&state=x")
	if status != 400 || !strings.Contains(body, "did not start in this browser") {
		t.Errorf("a callback without its cookie: %d\n%s", status, body)
	}
	// next never leads off the site.
	s.gh.SignInAs("reader")
	off := browser(t)
	off.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != u.Host && !strings.HasPrefix(s.gh.URL, req.URL.Scheme+"://"+req.URL.Host) {
			t.Errorf("redirected off the site to %s", req.URL)
			return http.ErrUseLastResponse
		}
		return nil
	}
	if status, body := get(t, off, s.url+"/signin/github?next="+url.QueryEscape("//evil.example.com/x")); status != 200 || !strings.Contains(body, "<h1>Repositories</h1>") {
		t.Errorf("next=//evil: %d", status)
	}

	// A token the host revoked ends the session.
	c = s.signIn("reader")
	s.gh.RevokeUserTokens("reader")
	s.now.Add(10 * time.Minute) // past the access cache
	status, body = get(t, c, s.url+"/")
	if status != 401 || !strings.Contains(body, "Sign in again") {
		t.Errorf("a revoked token: %d\n%s", status, body)
	}
}

// TestAccessIsCachedForMinutes: the host is asked once per person and
// repository within AccessCache, and again after it.
func TestAccessIsCachedForMinutes(t *testing.T) {
	s := newSite(t)
	s.gh.SetPermission("reader", "read")
	s.seed()
	c := s.signIn("reader")
	asked := func() int {
		n := 0
		for _, r := range s.gh.Requests() {
			if r.Operation == "repos/get" && r.Path == "/repos/acme/shop" {
				n++
			}
		}
		return n
	}
	for range 3 {
		get(t, c, s.url+"/repos/github/acme%2Fshop")
	}
	if n := asked(); n != 1 {
		t.Errorf("asked GitHub %d times within the cache's time, want 1", n)
	}
	s.gh.SetRepoPermission("acme/shop", "reader", "none")
	if status, _ := get(t, c, s.url+"/repos/github/acme%2Fshop"); status != 200 {
		t.Errorf("within the cache's time the old answer holds: %d", status)
	}
	s.now.Add(6 * time.Minute)
	if status, _ := get(t, c, s.url+"/repos/github/acme%2Fshop"); status != 404 {
		t.Errorf("after the cache's time a lost access shows: %d", status)
	}
	if n := asked(); n != 2 {
		t.Errorf("asked %d times, want 2", n)
	}
}

// TestLiveEvents: a running job's event stream sends its stages as the
// store records them, and "done" when it ends.
func TestLiveEvents(t *testing.T) {
	s := newSite(t)
	s.gh.SetPermission("reader", "read")
	ctx := context.Background()
	stages := []store.Stage{{Name: "dataops/compile", Status: "in_progress"}, {Name: "dataops/build", Status: "queued"}}
	if err := s.store.StartRun(ctx, store.Run{ID: "live", Repo: "github:acme/shop", PR: 7, HeadSHA: "abc", Trigger: "push", Stages: stages}); err != nil {
		t.Fatal(err)
	}
	c := s.signIn("reader")
	_, page := get(t, c, s.url+"/repos/github/acme%2Fshop/runs/live")
	if !strings.Contains(page, `id="live"`) || !strings.Contains(page, `data-src="/repos/github/acme%2fshop/runs/live/events"`) && !strings.Contains(page, `data-src="/repos/github/acme%2Fshop/runs/live/events"`) {
		t.Fatalf("a running job's page does not follow it:\n%s", page)
	}
	resp, err := c.Get(s.url + "/repos/github/acme%2Fshop/runs/live/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := bufio.NewReader(resp.Body)
	next := func() (string, string) {
		t.Helper()
		var name, data string
		for {
			line, err := events.ReadString('\n')
			if err != nil {
				t.Fatalf("the stream ended: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && name != "":
				return name, data
			}
		}
	}
	if name, data := next(); name != "stages" || !strings.Contains(data, `"Name":"dataops/compile","Status":"in_progress"`) {
		t.Fatalf("first event %s %s", name, data)
	}
	stages[0] = store.Stage{Name: "dataops/compile", Status: "completed", Conclusion: "success", Title: "Compiled 3 models"}
	if err := s.store.UpdateRun(ctx, "live", stages, ""); err != nil {
		t.Fatal(err)
	}
	if name, data := next(); name != "stages" || !strings.Contains(data, `"Conclusion":"success","Title":"Compiled 3 models"`) {
		t.Fatalf("second event %s %s", name, data)
	}
	if err := s.store.FinishRun(ctx, "live", store.RunCompleted, "success", "", stages, nil); err != nil {
		t.Fatal(err)
	}
	for {
		name, data := next()
		if name == "done" {
			if data != `"completed"` {
				t.Errorf("done: %s", data)
			}
			break
		}
	}
}

// TestGitLabSignIn: people sign in with GitLab, see the projects they are
// members of, and not a private project they are not.
func TestGitLabSignIn(t *testing.T) {
	gl := gitlabtest.NewServer(t)
	project := gl.Project().Path
	gl.AddMember(gitlabtest.Member{User: gitlabtest.User{ID: 701, Username: "dev"}, AccessLevel: 30})
	var s *site
	host := web.GitLabHost(gl.URL, gl.BaseURL(), "app", "app-secret", nil)
	s = newSite(t, host)
	gl.SetOAuthApplication("app", "app-secret", []string{s.url + "/signin/gitlab/callback"}, "read_api")
	ctx := context.Background()
	if err := s.store.StartRun(ctx, store.Run{ID: "g1", Repo: "gitlab:" + project, PR: 1, Title: "an MR", HeadSHA: "abc", Trigger: "opened"}); err != nil {
		t.Fatal(err)
	}
	signIn := func(user string) *http.Client {
		c := browser(t)
		gl.SignInAs(user)
		if status, body := get(t, c, s.url+"/signin/gitlab?next=/"); status != 200 || !strings.Contains(body, user+" <small>(GitLab)</small>") {
			t.Fatalf("GitLab sign-in as %s: %d\n%s", user, status, body)
		}
		return c
	}
	path := s.url + "/repos/gitlab/" + url.PathEscape(project)
	if status, body := get(t, signIn("dev"), path); status != 200 || !strings.Contains(body, "an MR") {
		t.Errorf("a member: %d\n%s", status, body)
	}
	stranger := signIn("stranger")
	if status, _ := get(t, stranger, path); status != 404 {
		t.Errorf("a stranger and a private project: %d", status)
	}
	if _, body := get(t, stranger, s.url+"/"); strings.Contains(body, project) {
		t.Error("a stranger is shown the private project")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := web.Config{Store: st, PublicURL: "https://dataops.example.com", SessionKey: []byte(sessionKey),
		Hosts: []web.Host{web.GitHubHost("https://github.com", "", "id", "secret", nil)}}
	for _, c := range []struct {
		name string
		edit func(*web.Config)
		says string
	}{
		{"short key", func(c *web.Config) { c.SessionKey = []byte("short") }, "needs at least 32"},
		{"no hosts", func(c *web.Config) { c.Hosts = nil }, "no code host"},
		{"no secret", func(c *web.Config) { c.Hosts = []web.Host{web.GitHubHost("https://github.com", "", "id", "", nil)} }, "GitHub sign-in needs its client id and secret"},
		{"bad url", func(c *web.Config) { c.PublicURL = "dataops.example.com" }, "public_url"},
		{"url with a path", func(c *web.Config) { c.PublicURL = "https://example.com/dataops" }, `public_url "https://example.com/dataops" has a path (/dataops)`},
	} {
		cfg := good
		c.edit(&cfg)
		if _, err := web.New(cfg); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := web.New(good); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newSite(t)
	resp, err := http.Get(s.url + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'nonce-") || strings.Contains(csp, "unsafe-inline") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", resp.Header)
	}
}
