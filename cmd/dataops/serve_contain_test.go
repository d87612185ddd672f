package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// serveConfig writes a serve.yml for the real binary, talking to GitHub at
// apiURL, with extra appended.
func serveConfig(t *testing.T, apiURL, extra string) (configPath string) {
	t.Helper()
	dir := t.TempDir()
	configPath = filepath.Join(dir, "serve.yml")
	writeFile(t, configPath, fmt.Sprintf(`listen: 127.0.0.1:%d
store: %s
workers: 1
visibility_timeout: 3s
allow: [%s]
github:
  api_url: %s
  app_id: %d
  private_key_env: TEST_APP_KEY
  webhook_secret_env: TEST_WEBHOOK_SECRET
%s`, freePort(t), filepath.Join(dir, "dataops.db"), botRepo, apiURL, botAppID, extra))
	return configPath
}

// TestServeContainsARunawayTemplate: on the real binary, a pull request
// whose model's macro calls itself without end fails its own compile check
// and nothing else; the bot goes on to the next push.
func TestServeContainsARunawayTemplate(t *testing.T) {
	bin := buildDataops(t)
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.push(t, "macros/forever.sql", "{% macro forever(n) %}{{ forever(n) }}{% endmacro %}\n")
	runaway := f.push(t, "models/marts/forever.sql", "select {{ forever(1) }} as x\n")
	p := startDataops(t, bin, serveConfig(t, f.gh.APIURL(), "compile:\n  timeout: 3s\n  memory_mb: 512\n"), f.env)
	b := &runningBot{url: p.url}
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(runaway), "completed/") })
	if got := f.checks(runaway)["dataops/compile"]; got != "completed/failure" {
		t.Errorf("compile %s, want failure", got)
	}
	for _, run := range f.gh.CheckRuns(botRepo) {
		if run.Name == "dataops/compile" && run.HeadSHA == runaway {
			t.Logf("compile: %s: %s", run.Title, run.Summary)
		}
	}
	select {
	case <-p.exited:
		t.Fatalf("the bot died: %v", p.err)
	default:
	}
	// The next push is checked by the same process.
	f.push(t, "models/marts/forever.sql", "select 1 as x\n")
	f.send(t, b, "pull_request", f.payload(t, "pull_request.synchronize.json", nil))
	waitFor(t, "the fixed head's gate", func() bool { return f.gate(f.headSHA) == "completed/success" })
	// The job's log line follows the gate it published.
	waitFor(t, "both jobs done", func() bool { return len(p.logs.Lines(`"msg":"job done"`)) == 2 })
	p.stop(t)
}

// TestServeJobThatKillsItsWorkerTwice: a job whose process is killed in
// the middle of it twice is not run a third time: the next process
// dead-letters it, and the pull request is told, with a failed gate.
func TestServeJobThatKillsItsWorkerTwice(t *testing.T) {
	bin := buildDataops(t)
	w, dsn := warehousetest.PostgresDatabase(t)
	f := newBotFixture(t, w, dsn, "")
	// Each download of the head (or of its test merge) waits here until
	// its process is killed.
	target, _ := url.Parse(f.gh.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	held := make(chan struct{}, 10)
	var mu sync.Mutex
	holds := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/tarball/") && !strings.HasSuffix(r.URL.Path, "/"+f.baseSHA) {
			mu.Lock()
			holds++
			mu.Unlock()
			held <- struct{}{}
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	config := serveConfig(t, proxy.URL+"/", "")
	b := &runningBot{}
	for i := range 2 {
		p := startDataops(t, bin, config, f.env)
		if i == 0 {
			b.url = p.url
			f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
		}
		select {
		case <-held:
		case <-time.After(2 * time.Minute):
			t.Fatalf("attempt %d never downloaded the head; log:\n%s", i+1, p.logs.String())
		}
		p.kill(t)
	}
	third := startDataops(t, bin, config, f.env)
	waitFor(t, "the dead letter", func() bool { return len(third.logs.Lines(`"msg":"job dead-lettered"`)) == 1 })
	waitFor(t, "the gate", func() bool { return f.gate(f.headSHA) == "completed/failure" })
	waitFor(t, "the reply", func() bool { return strings.Contains(f.reply(), "its worker died 2 times") })
	mu.Lock()
	defer mu.Unlock()
	if holds != 2 {
		t.Errorf("the job ran %d times, want 2", holds)
	}
	third.stop(t)
}
