package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

var screenshots = flag.String("screenshots", "", "write the browser test's screenshots of the main pages (PNG) into this folder, e.g. ../../docs/screenshots")

// headless starts a headless Chromium for the test, with a fresh profile
// and nothing that talks to the network on its own. Without one the test
// skips, loudly; under CI it fails (.ci/run installs it).
func headless(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("DATAOPS_TEST_CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium for the browser tests (CI is set, so this fails instead of skipping): apt-get install chromium chromium-driver, or set DATAOPS_TEST_CHROMIUM")
		}
		t.Skip("SKIPPING the browser test: no Chromium found (apt-get install chromium chromium-driver, or set DATAOPS_TEST_CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	// The first action starts the browser, for the context's whole life.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return ctx
}

// pauseProxy stands between the bot and the GitHub fake and holds, once
// each, the requests that match its pauses until the test releases them:
// a running job stops there, between two stages.
type pauseProxy struct {
	*httptest.Server
	mu     sync.Mutex
	pauses []*pause
}

type pause struct {
	match   func(body string) bool
	taken   bool
	reached chan struct{}
	release chan struct{}
}

func newPauseProxy(t *testing.T, target string, matches ...func(body string) bool) (*pauseProxy, []*pause) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &pauseProxy{}
	for _, m := range matches {
		p.pauses = append(p.pauses, &pause{match: m, reached: make(chan struct{}), release: make(chan struct{})})
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		var hold *pause
		for _, ps := range p.pauses {
			if !ps.taken && ps.match(string(body)) {
				ps.taken, hold = true, ps
				break
			}
		}
		p.mu.Unlock()
		if hold != nil {
			close(hold.reached)
			select {
			case <-hold.release:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		for _, ps := range p.pauses {
			select {
			case <-ps.release:
			default:
				close(ps.release)
			}
		}
		p.Server.Close()
	})
	return p, p.pauses
}

func waitClosed(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(2 * time.Minute):
		t.Fatalf("gave up waiting for %s", what)
	}
}

// TestServeBrowser drives the real bot's pages in headless Chromium: sign
// in through the GitHub fake's OAuth endpoints, follow a running job's
// stages as they end without reloading, open the pull request's run and
// see every stage and the diff the comment had to cut, follow the lineage
// to a model's diff, retry a dead job as a writer after being refused as a
// reader, and get 404 for the repository's pages without read access.
func TestServeBrowser(t *testing.T) {
	ctx := headless(t)
	w, dsn := warehousetest.DuckDBFile(t)
	f := newDivergedBotFixture(t, w, dsn, "", wideBase, nil, widePR)
	f.withWeb(t)
	f.cfg.MaxAttempts = 1 // a failing job is dead at once
	// The job stops when its build starts, and again when its diff
	// starts: the page must follow it in between.
	proxy, pauses := newPauseProxy(t, f.gh.URL,
		func(body string) bool { return strings.Contains(body, "Building the changed models") },
		func(body string) bool { return strings.Contains(body, "Comparing data with production") })
	f.cfg.GitHub.APIURL = proxy.URL + "/"
	b := f.start(t)
	base := f.cfg.PublicURL

	var status atomic.Int64 // of the last page loaded
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Type == network.ResourceTypeDocument {
			status.Store(e.Response.Status)
		}
	}); err != nil {
		t.Fatal(err)
	}
	// Each step has a deadline; the browser lives as long as the test.
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	get := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		v, err := chromedp.Run(sctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	text := func(sel string) string { t.Helper(); return get("read "+sel, chromedp.Text(chromedp.CSS(sel))) }
	shot := func(name string, a chromedp.Action[[]byte]) {
		t.Helper()
		if *screenshots == "" {
			return
		}
		png, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.MkdirAll(*screenshots, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	viewport := chromedp.CaptureScreenshot()
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	signIn := func(login string) {
		t.Helper()
		f.gh.SignInAs(login)
		do("sign in as "+login,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(css(`a[href^="/signin/github"]`)),
			chromedp.Click(css(`a[href^="/signin/github"]`)),
			chromedp.WaitVisible(css(`header .who`)))
		if who := text("header .who span"); !strings.Contains(who, login) {
			t.Fatalf("signed in as %q, want %s", who, login)
		}
	}
	signOut := func() {
		t.Helper()
		do("sign out", chromedp.Click(css(`header .who button`)), chromedp.WaitVisible(css(`a[href^="/signin/github"]`)))
	}

	// A pull request opens; its job stops as its build starts.
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitClosed(t, "the build to start", pauses[0].reached)
	var runID string
	waitFor(t, "the run in the store", func() bool {
		runs, _ := b.srv.store.PullRequestRuns(context.Background(), "github:"+botRepo, 7, 1)
		if len(runs) == 1 {
			runID = runs[0].ID
		}
		return runID != ""
	})
	runURL := base + "/repos/github/acme%2Fshop/runs/" + runID
	// A job that fails is dead at once: a comment on a pull request the
	// host does not have.
	f.send(t, b, "issue_comment", mustComment(t, f, 8, "octocat", "/dataops rerun"))

	signIn("visitor")
	if h := text("main h1"); h != "Repositories" || !strings.Contains(text("main table"), "acme/shop") {
		t.Errorf("after sign-in: %q", h)
	}
	shot("repositories", viewport)
	do("the running job's page", chromedp.Navigate(runURL), chromedp.WaitVisible(css(`#live`)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](`window.dataopsMarker = "loaded once"`)(ctx, t)
			return err
		}))
	buildCell := `#stages tr[data-stage="dataops/build"] .result`
	if got := text(buildCell); got != "in_progress" {
		t.Errorf("the build before it ends: %q", got)
	}
	shot("run-live", viewport)
	close(pauses[0].release)
	waitClosed(t, "the diff to start", pauses[1].reached)
	// The page follows: the build's result arrives without a reload.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('`+buildCell+`').textContent === "success"`, chromedp.WithPollingTimeout(time.Minute))); err != nil {
		t.Fatalf("the build's end never reached the page: %v", err)
	}
	if marker := get("no reload", chromedp.Evaluate[string](`window.dataopsMarker || ""`)); marker != "loaded once" {
		t.Error("the page reloaded to show a stage's end")
	}
	if got := text(`#stages tr[data-stage="dataops/diff"] .result`); got != "in_progress" {
		t.Errorf("the diff while it runs: %q", got)
	}
	close(pauses[1].release)
	// When the run ends the page reloads itself with the report.
	do("the report after the run", chromedp.WaitVisible(css(`#data`)))
	f.report(t)

	// Every stage, and the diff the comment had to cut.
	for _, stage := range []string{"dataops/compile", "dataops/dry-run", "dataops/build", "dataops/diff", "dataops/gate"} {
		if got := text(`#stages tr[data-stage="` + stage + `"] .result`); got == "" || got == "queued" || got == "in_progress" {
			t.Errorf("stage %s: %q", stage, got)
		}
	}
	comment := f.commentsWith(reportMarker)[0].Body
	cut := strings.Repeat("b", 180) + "1"
	if strings.Contains(comment, cut) {
		t.Fatal("the comment has the wide samples: nothing was cut")
	}
	if !strings.Contains(text(`#model-wide_notes`), cut) || !strings.Contains(text(`#shortened`), "had to leave parts") {
		t.Error("the run's page lacks the samples the comment cut")
	}
	shot("run", viewport)

	// Follow the lineage: a box leads to its model's diff.
	do("follow the lineage", chromedp.ScrollIntoView(css(`#lineage`)),
		chromedp.Click(css(`svg.lineage a[data-node="wide_notes"]`)))
	loc := get("where the lineage led", chromedp.Location())
	top, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("model-wide_notes").getBoundingClientRect().top`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "#model-wide_notes") || top < -5 || top > 200 {
		t.Errorf("the lineage led to %s, the model's section at %.0fpx", loc, top)
	}
	shot("lineage", chromedp.Screenshot(css(`#lineage + p + .scroll`)))

	// The pull request's runs, the repository, its environments.
	do("the pull request", chromedp.Navigate(base+"/repos/github/acme%2Fshop/pulls/7"), chromedp.WaitVisible(css(`.runcard`)))
	if got := text(`.runcard .meta`); !strings.Contains(got, "opened by Codertocat") {
		t.Errorf("the run's trigger: %q", got)
	}
	shot("pull", viewport)
	do("the repository", chromedp.Navigate(base+"/repos/github/acme%2Fshop"), chromedp.WaitVisible(css(`table.list`)))
	if got := text(`table.list tbody tr`); !strings.Contains(got, "#7") || !strings.Contains(got, "success") {
		t.Errorf("the repository's pull requests: %q", got)
	}
	shot("repository", viewport)
	do("the environments", chromedp.Navigate(base+"/repos/github/acme%2Fshop/environments"), chromedp.WaitVisible(css(`table.list`)))
	shot("environments", viewport)

	// Deploy, then the deploys page says what a rollback would restore.
	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops deploy"))
	waitFor(t, "the deploy", func() bool { return hasColumn(columnsOf(t, b, "main", "fct_orders"), "card_amount") })
	waitFor(t, "the deploy recorded", func() bool {
		d, _ := b.srv.store.Deploys(context.Background(), "github:"+botRepo, 1)
		return len(d) == 1
	})
	do("the deploys", chromedp.Navigate(base+"/repos/github/acme%2Fshop/deploys"), chromedp.WaitVisible(css(`.rollback`)))
	if got := text(`.rollback`); !strings.Contains(got, "restore main.fct_orders") {
		t.Errorf("what a rollback would do: %q", got)
	}
	shot("deploys", viewport)

	// The dead job: a reader is refused its retry, a writer is not.
	var dead []store.DeadLetter
	waitFor(t, "the dead job", func() bool {
		dead, _ = b.srv.store.DeadLetters(context.Background(), 10)
		return len(dead) == 1
	})
	retry := fmt.Sprintf(`tr[data-dead="%s"] button`, dead[0].ID)
	do("the queue", chromedp.Navigate(base+"/queue"), chromedp.WaitVisible(css(retry)))
	shot("queue", viewport)
	do("retry as a reader", chromedp.Click(css(retry)), chromedp.WaitVisible(css(`section.error`)))
	if got := text(`section.error`); status.Load() != 403 || !strings.Contains(got, "You may not retry this job") || !strings.Contains(got, "you have read") {
		t.Errorf("a reader's retry: %d %q", status.Load(), got)
	}
	if d, _ := b.srv.store.DeadLetters(context.Background(), 10); len(d) != 1 || d[0].ID != dead[0].ID {
		t.Fatalf("a refused retry changed the dead letters: %+v", d)
	}
	do("back home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`header .who`)))
	signOut()
	signIn("octocat")
	do("retry as a writer", chromedp.Navigate(base+"/queue"), chromedp.WaitVisible(css(retry)),
		chromedp.Click(css(retry)), chromedp.WaitVisible(css(`#retried`)))
	if status.Load() != 200 {
		t.Errorf("the writer's retry ended with %d", status.Load())
	}
	if d, _ := b.srv.store.DeadLetter(context.Background(), dead[0].ID); d.ID != "" {
		t.Error("the retried job is still among the dead letters")
	}

	// Without read access, the repository's pages are 404.
	signOut()
	f.gh.SetPermission("stranger", "none")
	signIn("stranger")
	for _, path := range []string{"/repos/github/acme%2Fshop", "/repos/github/acme%2Fshop/pulls/7", strings.TrimPrefix(runURL, base)} {
		do("a stranger at "+path, chromedp.Navigate(base+path), chromedp.WaitVisible(css(`section.error`)))
		if got := text(`section.error h1`); status.Load() != 404 || got != "Not found" {
			t.Errorf("a stranger at %s: %d %q", path, status.Load(), got)
		}
	}
	do("a stranger's home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`main h1`)))
	if strings.Contains(text(`main`), "acme/shop") {
		t.Error("a stranger is shown the repository")
	}
	signOut()
	shot("signin", viewport)
}

// mustComment is an issue_comment payload of login on pull request pr.
func mustComment(t *testing.T, f *botFixture, pr int, login, body string) []byte {
	t.Helper()
	_, payload := commentOn(t, f, pr, login, body)
	return payload
}
