package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// The load: 2,000 deliveries, 10% of them redeliveries of an earlier one
// (same X-GitHub-Delivery id and body), in a fixed shuffled order.
const (
	loadDeliveries = 2000
	loadUnique     = 1800
)

// loadDelivery is one request of the load.
type loadDelivery struct {
	id, event string
	body      []byte
	comment   int64 // the comment a command delivery is about
}

// loadResult is what the senders saw.
type loadResult struct {
	latencies []time.Duration // per request, client side: sent to answer read
	elapsed   time.Duration   // first send to last answer
	statuses  map[string]int  // "202 queued", "200 duplicate", ...
	errs      []error
}

// sendLoad posts the deliveries to base with inflight senders, each
// sending its next delivery as soon as its previous one was answered, on a
// connection of its own, as a webhook sender's workers do.
func sendLoad(base string, deliveries []loadDelivery, inflight int) loadResult {
	tr := &http.Transport{MaxIdleConns: inflight, MaxIdleConnsPerHost: inflight, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: time.Minute}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  = loadResult{latencies: make([]time.Duration, 0, len(deliveries)), statuses: map[string]int{}}
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range min(inflight, len(deliveries)) {
		wg.Go(func() {
			var local []time.Duration
			statuses := map[string]int{}
			var errs []error
			for {
				i := int(next.Add(1)) - 1
				if i >= len(deliveries) {
					break
				}
				d := deliveries[i]
				t0 := time.Now()
				status, answer, err := postDelivery(client, base, d.event, d.id, d.body)
				local = append(local, time.Since(t0))
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", d.id, err))
					continue
				}
				var a struct{ Status string }
				_ = json.Unmarshal([]byte(answer), &a)
				statuses[strconv.Itoa(status)+" "+a.Status]++
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, local...)
			for k, n := range statuses {
				res.statuses[k] += n
			}
			res.errs = append(res.errs, errs...)
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// loadPayloads makes the load: half pull_request.synchronize deliveries
// over 100 pull requests, each with a new head, and half /dataops
// commands (issue_comment), plus 200 redeliveries (see withRedeliveries).
// The commands are /dataops plan, which the intake pins to its pull
// request's head by reading it from GitHub; DATAOPS_BENCH_COMMAND=help
// sends /dataops help, which it does not.
func loadPayloads(t testing.TB, seed uint64) []loadDelivery {
	t.Helper()
	command := "/dataops plan"
	if os.Getenv("DATAOPS_BENCH_COMMAND") == "help" {
		command = "/dataops help"
	}
	synchronize := readPayload(t, "pull_request.synchronize.json")
	comment := readPayload(t, "issue_comment.created.on_pull_request.json")
	unique := make([]loadDelivery, 0, loadUnique)
	for i := range loadUnique {
		pr := 1 + i%100
		id := fmt.Sprintf("load-%d", i)
		var p map[string]any
		var event string
		if i%2 == 0 {
			event, p = "pull_request", deepCopyJSON(t, synchronize)
			p["number"] = pr
			pull := p["pull_request"].(map[string]any)
			pull["number"] = pr
			pull["head"].(map[string]any)["sha"] = fmt.Sprintf("%040x", i)
		} else {
			event, p = "issue_comment", deepCopyJSON(t, comment)
			p["issue"].(map[string]any)["number"] = pr
			c := p["comment"].(map[string]any)
			c["id"], c["body"] = 1_000_000+i, command
		}
		unique = append(unique, loadDelivery{id: id, event: event, body: marshal(t, p)})
	}
	return withRedeliveries(unique, seed)
}

// withRedeliveries shuffles the deliveries and adds redeliveries until
// they are a tenth of the whole, each somewhere after a copy of the
// delivery it repeats, so that some race their first delivery and some
// come long after.
func withRedeliveries(unique []loadDelivery, seed uint64) []loadDelivery {
	rng := mrand.New(mrand.NewPCG(seed, seed))
	out := slices.Clone(unique)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	for len(out) < len(unique)*10/9 {
		at := rng.IntN(len(out))
		dup := out[at]
		where := at + 1 + rng.IntN(len(out)-at)
		out = slices.Insert(out, where, dup)
	}
	return out
}

func deepCopyJSON(t testing.TB, p map[string]any) map[string]any {
	var out map[string]any
	if err := json.Unmarshal(marshal(t, p), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var benchKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// loadGitHub is the GitHub the intake reads the load's pull requests from:
// a command is pinned to its pull request's head when it arrives.
func loadGitHub(b *testing.B, key *rsa.PrivateKey) *githubtest.Server {
	gh := githubtest.NewServer(b)
	gh.SetApp(botAppID, botInstallation, &key.PublicKey)
	for pr := 1; pr <= 100; pr++ {
		gh.AddPullRequest(botRepo, githubtest.PullRequest{Number: pr, Title: "load", Author: "octocat",
			BaseRef: "main", BaseSHA: fmt.Sprintf("%040x", 0), HeadRef: fmt.Sprintf("load-%d", pr), HeadSHA: fmt.Sprintf("%040x", pr)})
	}
	return gh
}

// intakeServer starts a bot without workers on a fresh SQLite store in
// dir: the queue keeps everything it is given, to be counted.
func intakeServer(b *testing.B, dir string) (*server, string, func()) {
	b.Helper()
	key, err := benchKey()
	if err != nil {
		b.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	cfg := config.DefaultServe()
	cfg.Listen = "127.0.0.1:0"
	cfg.Store = filepath.Join(dir, "dataops.db")
	cfg.Workers = 0
	cfg.Allow = config.Allowlist{{Host: "github", Path: botRepo}}
	cfg.GitHub = &config.ServeGitHub{APIURL: loadGitHub(b, key).APIURL(), AppID: botAppID, PrivateKeyEnv: "TEST_APP_KEY",
		WebhookSecretEnv: "TEST_WEBHOOK_SECRET", RequestTimeout: config.Duration{Duration: config.DefaultRequestTimeout}}
	env := map[string]string{"TEST_APP_KEY": string(keyPEM), "TEST_WEBHOOK_SECRET": botSecret}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	return srv, cfg.Store, func() {
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, io.Discard) }()
		<-srv.ready
		b.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				b.Errorf("serve: %v", err)
			}
			srv.Close()
		})
	}
}

// memoryAcceptor dedupes in memory and stores nothing: the baseline
// intake, identical but for the durable store.
type memoryAcceptor struct {
	mu     sync.Mutex
	seen   map[string]bool
	pinned int // commands pinned to their pull request's head
}

func (m *memoryAcceptor) Accept(ctx context.Context, d store.Delivery, job store.Job) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[d.Host+"/"+d.ID] {
		return true, nil
	}
	m.seen[d.Host+"/"+d.ID] = true
	if job.Event == "issue_comment" && job.PinnedHead == fmt.Sprintf("%040x", job.PR) {
		m.pinned++
	}
	return false, nil
}

// BenchmarkServeIntake sends 2,000 signed deliveries (10% redeliveries)
// over loopback to /webhooks/github of a bot without workers, at several
// sender concurrencies, and reports the answer latency seen by the senders
// (p50, p99, max) and the throughput. Three intakes answer in turn at each
// concurrency:
//
//   - sqlite: the bot as shipped, with its durable SQLite store (WAL,
//     synchronous=FULL): every delivery is on disk before its answer;
//   - memory: the same server and intake (signature, parsing, dedupe) with
//     an in-memory dedupe in place of the store: the baseline;
//   - noop: a handler that reads the body and answers 202: HTTP alone.
//
// After each run it checks that none was lost and no redelivery was
// queued: 1,800 answered 202 queued, 200 answered 200 duplicate, and the
// store holds exactly the 1,800 delivery ids and 1,800 jobs.
func BenchmarkServeIntake(b *testing.B) {
	deliveries := loadPayloads(b, 1)
	levels := []int{16, 64, 256, 2000}
	if s := os.Getenv("DATAOPS_BENCH_INFLIGHT"); s != "" {
		levels = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("DATAOPS_BENCH_INFLIGHT: %v", err)
			}
			levels = append(levels, n)
		}
	}
	for _, inflight := range levels {
		for _, intake := range []string{"noop", "memory", "sqlite"} {
			b.Run(fmt.Sprintf("inflight=%d/intake=%s", inflight, intake), func(b *testing.B) {
				var all []time.Duration
				var elapsed time.Duration
				var storeBytes int64
				for i := range b.N {
					b.StopTimer()
					dir := b.TempDir()
					var url string
					var check func(res loadResult)
					switch intake {
					case "noop":
						url = noopServer(b)
						check = func(res loadResult) {
							if res.statuses["202 queued"] != loadDeliveries {
								b.Fatalf("noop answers: %v", res.statuses)
							}
						}
					default:
						srv, storePath, start := intakeServer(b, dir)
						mem := &memoryAcceptor{seen: map[string]bool{}}
						if intake == "memory" {
							srv.intake.Store = mem
						}
						start()
						url = "http://" + srv.listener.Addr().String()
						check = func(res loadResult) {
							checkAnswers(b, res)
							if intake == "memory" {
								if wantPinned := loadUnique / 2; len(mem.seen) != loadUnique || (mem.pinned != wantPinned && os.Getenv("DATAOPS_BENCH_COMMAND") != "help") {
									b.Fatalf("memory intake saw %d deliveries (%d commands pinned to their head), want %d (%d)",
										len(mem.seen), mem.pinned, loadUnique, wantPinned)
								}
								return
							}
							checkStored(b, srv, storePath, deliveries)
							storeBytes += fileSize(storePath) + fileSize(storePath+"-wal")
						}
					}
					runtimeSettle()
					b.StartTimer()
					res := sendLoad(url, deliveries, inflight)
					b.StopTimer()
					check(res)
					all = append(all, res.latencies...)
					elapsed += res.elapsed
					if i == 0 {
						b.Logf("%d in flight, %s: %v", inflight, intake, res.statuses)
					}
				}
				reportLoad(b, all, elapsed)
				if storeBytes > 0 {
					// What the store's file holds per delivery: it is written
					// twice (to the WAL, then to the database).
					b.ReportMetric(float64(storeBytes)/1024/float64(b.N*loadUnique), "store-KB/delivery")
				}
			})
		}
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// runtimeSettle lets the previous run's closed connections and goroutines
// go before the timer starts.
func runtimeSettle() { time.Sleep(200 * time.Millisecond) }

func noopServer(b *testing.B) string {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"queued"}`+"\n")
	}), ReadHeaderTimeout: 10 * time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// checkAnswers: every unique delivery queued once, every redelivery
// answered as a duplicate, nothing else.
func checkAnswers(t testing.TB, res loadResult) {
	t.Helper()
	if len(res.errs) > 0 {
		t.Fatalf("%d requests failed; the first: %v", len(res.errs), res.errs[0])
	}
	want := map[string]int{"202 queued": loadUnique, "200 duplicate": loadDeliveries - loadUnique}
	if fmt.Sprint(res.statuses) != fmt.Sprint(want) {
		t.Fatalf("answers %v, want %v", res.statuses, want)
	}
}

// checkStored reads the store's file: exactly the unique delivery ids, one
// job each.
func checkStored(t testing.TB, srv *server, path string, deliveries []loadDelivery) {
	t.Helper()
	ctx := context.Background()
	st, err := srv.store.Stats(ctx)
	if err != nil || st.Queued != loadUnique || st.Running+st.Delayed+st.Dead != 0 {
		t.Fatalf("queue %+v %v, want %d queued", st, err, loadUnique)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "select id from dataops_deliveries where host = 'github'")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, d := range deliveries {
		if !stored[d.id] {
			t.Fatalf("delivery %s answered but not stored", d.id)
		}
	}
	var jobs int
	if err := db.QueryRowContext(ctx, "select count(*) from goqite").Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if len(stored) != loadUnique || jobs != loadUnique {
		t.Fatalf("stored %d deliveries and %d jobs, want %d of each", len(stored), jobs, loadUnique)
	}
}

// reportLoad reports latency percentiles in milliseconds and throughput.
func reportLoad(b *testing.B, latencies []time.Duration, elapsed time.Duration) {
	p50, p99, maxLatency := latencySummary(latencies)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(maxLatency, "max-ms")
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "deliveries/s")
}

func latencySummary(latencies []time.Duration) (p50, p99, maxLatency float64) {
	s := slices.Clone(latencies)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return ms(at(0.50)), ms(at(0.99)), ms(s[len(s)-1])
}

// TestServeLoadWithWorkers is the load on the bot as it runs, workers
// included: 2,000 signed /dataops help commands on 50 pull requests (10%
// redeliveries) sent by 64 senders to a bot with two workers and its
// durable SQLite store. Every command must be worked exactly once (one 👀
// per comment), redeliveries never. It logs the answer latency the
// senders saw while the workers ran. Minutes of work, so it runs only
// with DATAOPS_BENCH_SERVE=1 (bench/serve.sh).
func TestServeLoadWithWorkers(t *testing.T) {
	if os.Getenv("DATAOPS_BENCH_SERVE") == "" {
		t.Skip("a load test: set DATAOPS_BENCH_SERVE=1 (bench/serve.sh does)")
	}
	inflight := 64
	if s := os.Getenv("DATAOPS_BENCH_WORKERS_INFLIGHT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		inflight = n
	}
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.cfg.Workers = 2
	// No crash here: a lease that outlasts a loaded machine's pauses.
	f.cfg.VisibilityTimeout.Duration = 30 * time.Second
	prs := make([]int, 50)
	for i := range prs {
		prs[i] = 7 + i
		if i > 0 {
			f.gh.AddPullRequest(botRepo, githubtest.PullRequest{Number: prs[i], Title: "load", Author: "octocat",
				BaseRef: "main", BaseSHA: f.baseSHA, HeadRef: fmt.Sprintf("load-%d", prs[i]), HeadSHA: f.headSHA})
		}
	}
	unique := make([]loadDelivery, 0, loadUnique)
	for i := range loadUnique {
		id, body := commentOn(t, f, prs[i%len(prs)], "visitor", "/dataops help")
		unique = append(unique, loadDelivery{id: fmt.Sprintf("load-%d", i), event: "issue_comment", body: body, comment: id})
	}
	deliveries := withRedeliveries(unique, 2)
	b := f.start(t)

	res := sendLoad(b.url, deliveries, inflight)
	checkAnswers(t, res)
	p50, p99, maxLatency := latencySummary(res.latencies)
	sent := time.Now()

	// The jobs take minutes on two cores: give up only when none finishes
	// for two minutes.
	done := func() int { return len(b.logs.Lines(`"msg":"job done"`)) }
	last, lastAt := 0, time.Now()
	for done() < loadUnique {
		if n := done(); n > last {
			last, lastAt = n, time.Now()
		} else if time.Since(lastAt) > 2*time.Minute {
			t.Fatalf("stuck at %d of %d jobs done", n, loadUnique)
		}
		time.Sleep(200 * time.Millisecond)
	}
	drained := time.Since(sent)
	waitFor(t, "the queue empty", func() bool {
		st, err := b.srv.store.Stats(context.Background())
		return err == nil && st == (store.Stats{})
	})
	eyes := map[int64]int{}
	for _, r := range f.gh.Requests() {
		if id, ok := reactionTarget(r); ok && r.Method == http.MethodPost && strings.Contains(string(r.Body), `"eyes"`) {
			eyes[id]++
		}
	}
	for _, d := range unique {
		if eyes[d.comment] != 1 {
			t.Errorf("%s (comment %d) worked %d times, want 1", d.id, d.comment, eyes[d.comment])
		}
	}
	if n := done(); n != loadUnique {
		t.Errorf("%d jobs done, want %d", n, loadUnique)
	}
	// One line for bench/serve.sh's table.
	fmt.Printf("LOAD-WITH-WORKERS inflight=%d p50-ms=%.2f p99-ms=%.2f max-ms=%.2f deliveries/s=%.0f jobs=%d drained-s=%.1f\n",
		inflight, p50, p99, maxLatency, float64(len(res.latencies))/res.elapsed.Seconds(), done(), drained.Seconds())
}
