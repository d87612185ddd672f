package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/logtest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// reportMarker finds the report comment (internal/report.Marker).
const reportMarker = "<!-- dataops:report -->"

// TestServeSurvivesSIGKILL kills the real binary with SIGKILL in the
// middle of a pull request's job, at three points, and starts it again on
// the same store: the job runs again once its visibility timeout ends and
// completes once, with one report comment, and the environment it made is
// the only one, with no half-built relation left, and goes when the pull
// request closes.
//
// The kill lands deterministically: the bot talks to the GitHub fake
// through a proxy that holds one chosen request until the process is
// dead.
func TestServeSurvivesSIGKILL(t *testing.T) {
	bin := buildDataops(t)
	for _, point := range []struct {
		name string
		// hold tells the request to hold; forward sends it on to the fake
		// first, so that GitHub did what it asked but the bot never hears.
		hold    func(f *botFixture, r *http.Request, body []byte) bool
		forward bool
		// What the kill leaves: the environments, the report comments.
		envAtKill      string
		commentsAtKill int
	}{
		{name: "fetching the head archive", hold: func(f *botFixture, r *http.Request, _ []byte) bool {
			// Before the environment exists: the sources of the test merge.
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tarball/"+f.mergeSHA)
		}},
		{name: "between build and diff", envAtKill: "pr_7", hold: func(f *botFixture, r *http.Request, body []byte) bool {
			// The environment is built; compile, dry-run and build have
			// completed checks, diff is queued.
			return strings.Contains(r.URL.Path, "/check-runs") && bytes.Contains(body, []byte(`"name":"dataops/diff"`)) &&
				bytes.Contains(body, []byte(`"status":"in_progress"`))
		}},
		{name: "posting the report", forward: true, envAtKill: "pr_7", commentsAtKill: 1, hold: func(f *botFixture, r *http.Request, body []byte) bool {
			// The comment exists on GitHub; the bot dies before it hears so.
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/issues/7/comments") && bytes.Contains(body, []byte(reportMarker))
		}},
	} {
		t.Run(point.name, func(t *testing.T) {
			w, dsn := warehousetest.PostgresDatabase(t)
			f := newBotFixture(t, w, dsn, "")
			proxy := newHoldingProxy(t, f.gh, func(r *http.Request, body []byte) bool { return point.hold(f, r, body) }, point.forward)

			dir := t.TempDir()
			storePath := filepath.Join(dir, "dataops.db")
			configPath := filepath.Join(dir, "serve.yml")
			writeFile(t, configPath, fmt.Sprintf(`listen: 127.0.0.1:%d
store: %s
workers: 1
visibility_timeout: 3s
allow: [acme/shop]
github:
  api_url: %s/
  app_id: %d
  private_key_env: TEST_APP_KEY
  webhook_secret_env: TEST_WEBHOOK_SECRET
`, freePort(t), storePath, proxy.URL, botAppID))

			first := startDataops(t, bin, configPath, f.env)
			b := &runningBot{url: first.url}
			if status, body := f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil)); status != http.StatusAccepted {
				t.Fatalf("opened: %d %s", status, body)
			}
			select {
			case <-proxy.held:
			case <-time.After(2 * time.Minute):
				t.Fatalf("the job never reached the request to hold; the bot's log:\n%s", first.logs.String())
			}
			first.kill(t)
			proxy.releaseHeld()
			if n := len(first.logs.Lines(`"msg":"job done"`)); n != 0 {
				t.Fatalf("the killed process completed %d jobs before its kill", n)
			}
			wh := openTestWarehouse(t, dsn)
			if envs, n := envNames(t, wh), len(f.commentsWith(reportMarker)); envs != point.envAtKill || n != point.commentsAtKill {
				t.Fatalf("killed with environments %q and %d report comments, want %q and %d: the kill missed its point",
					envs, n, point.envAtKill, point.commentsAtKill)
			}

			second := startDataops(t, bin, configPath, f.env)
			if second.url != first.url {
				t.Fatalf("restarted on %s, not %s", second.url, first.url)
			}
			waitFor(t, "the restarted bot to complete the job", func() bool { return len(second.logs.Lines(`"msg":"job done"`)) == 1 })
			if g := f.gate(f.headSHA); !strings.HasPrefix(g, "completed/") {
				t.Errorf("gate after the restart: %q; checks %v", g, f.checks(f.headSHA))
			}
			for name, state := range f.checks(f.headSHA) {
				if !strings.HasPrefix(state, "completed/") {
					t.Errorf("check %s left %s", name, state)
				}
			}
			if n := len(f.commentsWith(reportMarker)); n != 1 {
				t.Errorf("%d report comments, want 1", n)
			}
			// The interrupted run counts as an attempt.
			if done := second.logs.Lines(`"msg":"job done"`); !strings.Contains(done[0], `"attempt":2`) {
				t.Errorf("the job was done by its second attempt, but the log says %s", done[0])
			}

			if envs := envNames(t, wh); envs != "pr_7" {
				t.Errorf("environments after the restart: %q, want pr_7 alone", envs)
			}
			if left := tmpLeftovers(t, wh); left != "" {
				t.Errorf("half-built relations left: %s", left)
			}

			if status, body := f.send(t, b, "pull_request", f.payload(t, "pull_request.closed.json", nil)); status != http.StatusAccepted {
				t.Fatalf("closed: %d %s", status, body)
			}
			waitFor(t, "the close to be handled", func() bool { return len(second.logs.Lines(`"msg":"job done"`)) == 2 })
			if envs := envNames(t, wh); envs != "" {
				t.Errorf("environments after the close: %q, want none", envs)
			}
			if n := schemaCount(t, wh, "pr_7"); n != 0 {
				t.Errorf("schema pr_7 still there after the close")
			}
			if left := tmpLeftovers(t, wh); left != "" {
				t.Errorf("half-built relations left after the close: %s", left)
			}
			second.stop(t)

			// The store agrees: nothing queued, running or dead, and no
			// environment left for the sweep.
			st, err := store.Open(context.Background(), storePath)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if stats, err := st.Stats(context.Background()); err != nil || stats != (store.Stats{}) {
				t.Errorf("queue at the end: %+v %v, want all zero", stats, err)
			}
			if envs, err := st.Environments(context.Background()); err != nil || len(envs) != 0 {
				t.Errorf("store's environments at the end: %+v %v, want none", envs, err)
			}
		})
	}
}

// buildDataops builds the binary from this package's sources, once per
// test process, without debug information: linking DuckDB's DWARF doubles
// the link's time, and each link takes a minute.
func buildDataops(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "dataops-test-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.path = filepath.Join(dir, "dataops")
		cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", built.path, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// built is the binary buildDataops made; TestMain removes it.
var built struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// freePort returns a port nothing listens on now, for a server that must
// come back on the same address.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// dataopsProcess is `dataops serve` running as a child process.
type dataopsProcess struct {
	cmd    *exec.Cmd
	url    string
	logs   *logtest.Buffer
	exited chan struct{}
	err    error
}

var listeningLine = regexp.MustCompile(`listening on (http://\S+)`)

// startDataops runs `dataops serve --config file` with env (and this
// process's environment without the bot's variables), and waits until it
// listens. It is killed at the end of the test if still running.
func startDataops(t *testing.T, bin, config string, env map[string]string) *dataopsProcess {
	t.Helper()
	p := &dataopsProcess{logs: &logtest.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", config)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ours := env[name]; !ours && name != "DATABASE_URL" {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("dataops serve (pid %d) log:\n%s", p.cmd.Process.Pid, p.logs.String())
		}
	})
	select {
	case p.url = <-listening:
	case <-p.exited:
		t.Fatalf("dataops serve exited before listening: %v\n%s", p.err, p.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("dataops serve did not say it listens; its log:\n%s", p.logs.String())
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *dataopsProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// stop asks the process to shut down (SIGTERM) and checks it exits cleanly.
func (p *dataopsProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("dataops serve did not stop on SIGTERM")
	}
	if p.err != nil {
		t.Errorf("dataops serve after SIGTERM: %v", p.err)
	}
}

// holdingProxy stands between the bot and the GitHub fake and holds the
// first request hold matches until its client goes away (the bot is
// killed) or releaseHeld is called.
type holdingProxy struct {
	*httptest.Server
	held    chan struct{} // closed when the request arrives
	release chan struct{}
	once    sync.Once
}

func newHoldingProxy(t *testing.T, gh *githubtest.Server, hold func(r *http.Request, body []byte) bool, forward bool) *holdingProxy {
	t.Helper()
	target, err := url.Parse(gh.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	// A killed bot cuts requests short; that is the point, not news.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p := &holdingProxy{held: make(chan struct{}), release: make(chan struct{})}
	var taken atomic.Bool
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !hold(r, body) || !taken.CompareAndSwap(false, true) {
			rp.ServeHTTP(w, r)
			return
		}
		if forward {
			rp.ServeHTTP(&discardResponse{header: http.Header{}}, r)
		}
		close(p.held)
		select {
		case <-r.Context().Done():
		case <-p.release:
			http.Error(w, "held by the test's proxy", http.StatusBadGateway)
		}
	}))
	t.Cleanup(func() { p.releaseHeld(); p.Server.Close() })
	return p
}

func (p *holdingProxy) releaseHeld() { p.once.Do(func() { close(p.release) }) }

// discardResponse takes a response nobody will read.
type discardResponse struct{ header http.Header }

func (d *discardResponse) Header() http.Header         { return d.header }
func (d *discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardResponse) WriteHeader(int)             {}

// openTestWarehouse opens the warehouse at dsn for the test's own questions.
func openTestWarehouse(t *testing.T, dsn string) warehouse.Warehouse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// envNames lists the dataops environments in w, comma-separated.
func envNames(t *testing.T, w warehouse.Warehouse) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	envs, err := w.ListEnvironments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range envs {
		names = append(names, e.Schema)
	}
	return strings.Join(names, ",")
}

func schemaCount(t *testing.T, w warehouse.Warehouse, schema string) int {
	t.Helper()
	return warehouseInt(t, w, "select count(*) from information_schema.schemata where schema_name = "+w.Dialect().Placeholder(1), schema)
}

// tmpLeftovers lists relations named like a build's temporary ones
// (internal/build's __dataops_tmp suffix), in any schema.
func tmpLeftovers(t *testing.T, w warehouse.Warehouse) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := w.Query(ctx, "select table_schema || '.' || table_name from information_schema.tables where strpos(table_name, '__dataops_tmp') > 0")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows.Values {
		out = append(out, fmt.Sprint(r[0]))
	}
	return strings.Join(out, ", ")
}

func warehouseInt(t *testing.T, w warehouse.Warehouse, query string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := w.Query(ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(fmt.Sprint(rows.Values[0][0]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServeTwoReplicasExactlyOnce runs two bots in one process on one
// PostgreSQL store, two workers each, and sends every delivery to both at
// once, as a redelivery racing the first: each delivery is queued by one
// replica, answered as a duplicate by the other, and worked exactly once.
func TestServeTwoReplicasExactlyOnce(t *testing.T) {
	w, dsn := warehousetest.PostgresDatabase(t)
	_, storeDSN := warehousetest.PostgresDatabase(t)
	f := newBotFixture(t, w, dsn, "")
	f.env["DATABASE_URL"] = storeDSN
	f.cfg.Workers = 2
	// No replica dies here: a long lease keeps a loaded machine's slow
	// heartbeat from handing a running job to the other replica.
	f.cfg.VisibilityTimeout.Duration = 20 * time.Second
	prs := []int{7, 8, 9, 10, 11, 12}
	for _, n := range prs[1:] {
		f.gh.AddPullRequest(botRepo, githubtest.PullRequest{Number: n, Title: "more", Author: "octocat",
			BaseRef: "main", BaseSHA: f.baseSHA, HeadRef: "more-" + strconv.Itoa(n), HeadSHA: f.headSHA})
	}
	replicas := []*runningBot{f.start(t), f.start(t)}

	type delivery struct {
		id, event string
		body      []byte
		comment   int64 // 0 for the pull request's opening
	}
	deliveries := []delivery{{id: "d-opened", event: "pull_request", body: f.payload(t, "pull_request.opened.json", nil)}}
	for i := range 30 {
		pr := prs[i%len(prs)]
		id, body := commentOn(t, f, pr, "visitor", "/dataops help")
		deliveries = append(deliveries, delivery{id: fmt.Sprintf("d-comment-%d", i), event: "issue_comment", body: body, comment: id})
	}

	statuses := make([][2]int, len(deliveries))
	var wg sync.WaitGroup
	for i, d := range deliveries {
		for j := range 2 {
			b := replicas[(i+j)%2]
			wg.Go(func() {
				status, answer, err := postDelivery(http.DefaultClient, b.url, d.event, d.id, d.body)
				if err != nil {
					t.Errorf("%s to replica %d: %v", d.id, (i+j)%2, err)
				}
				if status == http.StatusOK && !strings.Contains(answer, "duplicate") {
					t.Errorf("%s: 200 %s", d.id, answer)
				}
				statuses[i][j] = status
			})
		}
	}
	wg.Wait()
	for i, s := range statuses {
		if !(s == [2]int{202, 200} || s == [2]int{200, 202}) {
			t.Errorf("%s answered %v by the two replicas, want one 202 and one 200", deliveries[i].id, s)
		}
	}

	jobsDone := func() int {
		n := 0
		for _, b := range replicas {
			n += len(b.logs.Lines(`"msg":"job done"`))
		}
		return n
	}
	waitFor(t, "every delivery worked", func() bool { return jobsDone() >= len(deliveries) })
	waitFor(t, "the queue empty", func() bool {
		st, err := replicas[0].srv.store.Stats(context.Background())
		return err == nil && st.Queued+st.Delayed+st.Running == 0
	})
	// Each command reacts 👀 when it starts: one reaction request per run.
	eyes := map[int64]int{}
	reportPosts := 0
	for _, r := range f.gh.Requests() {
		if r.Method != http.MethodPost {
			continue
		}
		if id, ok := reactionTarget(r); ok && strings.Contains(string(r.Body), `"eyes"`) {
			eyes[id]++
		}
		if strings.HasSuffix(r.Path, "/issues/7/comments") && strings.Contains(string(r.Body), reportMarker) {
			reportPosts++
		}
	}
	for _, d := range deliveries[1:] {
		if eyes[d.comment] != 1 {
			t.Errorf("%s (comment %d) worked %d times, want 1", d.id, d.comment, eyes[d.comment])
		}
	}
	if reportPosts != 1 || !strings.HasPrefix(f.gate(f.headSHA), "completed/") {
		t.Errorf("the opening: %d report comments posted, gate %q; want 1 and completed", reportPosts, f.gate(f.headSHA))
	}
	if n := jobsDone(); n != len(deliveries) {
		t.Errorf("%d jobs done, want %d", n, len(deliveries))
	}
	st, err := replicas[1].srv.store.Stats(context.Background())
	if err != nil || st != (store.Stats{}) {
		t.Errorf("queue at the end: %+v %v", st, err)
	}
	t.Logf("jobs done by replica: %d and %d", len(replicas[0].logs.Lines(`"msg":"job done"`)), len(replicas[1].logs.Lines(`"msg":"job done"`)))
}

// reactionTarget reads the comment id of a create-reaction request
// (/repos/{owner}/{repo}/issues/comments/{id}/reactions).
func reactionTarget(r githubtest.Request) (int64, bool) {
	rest, ok := strings.CutSuffix(r.Path, "/reactions")
	if !ok {
		return 0, false
	}
	i := strings.LastIndex(rest, "/comments/")
	if i < 0 {
		return 0, false
	}
	id, err := strconv.ParseInt(rest[i+len("/comments/"):], 10, 64)
	return id, err == nil
}

// postDelivery sends one signed GitHub delivery with client and returns the answer;
// safe to call from any goroutine.
func postDelivery(client *http.Client, base, event, id string, body []byte) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", sign(botSecret, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}
