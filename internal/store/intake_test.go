package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAcceptDedupe(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		d := delivery("d-1")
		mustAccept(t, s, d, prJob("acme/shop", 7, "aaa"))
		for i := range 3 {
			dup, err := s.Accept(ctx, d, prJob("acme/shop", 7, "aaa"))
			if err != nil {
				t.Fatalf("redelivery %d: %v", i, err)
			}
			if !dup {
				t.Fatalf("redelivery %d: duplicate=false, want true", i)
			}
		}
		// The same id from another host is another delivery.
		other := d
		other.Host = "gitlab"
		mustAccept(t, s, other, prJob("acme/shop", 7, "aaa"))

		if st := mustStats(t, s); st.Queued != 2 {
			t.Errorf("Queued = %d, want 2 (one per host)", st.Queued)
		}
		r := mustReceive(t, s)
		if r.Job.DeliveryID != "d-1" || r.Job.Kind != "pull_request" || r.Job.Repo != "acme/shop" || r.Job.PR != 7 || r.Job.HeadSHA != "aaa" {
			t.Errorf("received job %+v, want the accepted one with its delivery id", r.Job)
		}
		if r.Attempt != 1 {
			t.Errorf("Attempt = %d, want 1", r.Attempt)
		}
		var payload []byte
		if err := s.db.QueryRowContext(ctx, s.rebind("select payload from dataops_deliveries where host = ? and id = ?"), "github", "d-1").Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if string(payload) != string(d.Payload) {
			t.Errorf("stored payload %q, want %q", payload, d.Payload)
		}
	})
}

func TestAcceptValidates(t *testing.T) {
	s := open(t, sqliteURL(t), Options{})
	ctx := testContext(t)
	if _, err := s.Accept(ctx, Delivery{Host: "github"}, Job{Kind: "x"}); err == nil {
		t.Error("Accept without a delivery id succeeded")
	}
	if _, err := s.Accept(ctx, delivery("d"), Job{}); err == nil {
		t.Error("Accept without a job kind succeeded")
	}
}

// failHeadsFor makes recording the head sha of repo fail, with a real
// trigger: the last write of Accept, after the delivery and the job.
func failHeadsFor(t *testing.T, s *Store, repo string) {
	t.Helper()
	ctx := testContext(t)
	var stmts []string
	if s.engine == enginePostgres {
		stmts = []string{
			`create function refuse_head() returns trigger as $$
begin
  if new.repo = '` + repo + `' then raise exception 'refused by test trigger'; end if;
  return new;
end;
$$ language plpgsql`,
			`create trigger refuse_head before insert on dataops_heads for each row execute procedure refuse_head()`,
		}
	} else {
		stmts = []string{`create trigger refuse_head before insert on dataops_heads
when new.repo = '` + repo + `' begin select raise(abort, 'refused by test trigger'); end`}
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("install failing trigger: %v", err)
		}
	}
}

func TestAcceptAtomic(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		failHeadsFor(t, s, "acme/bad")

		_, err := s.Accept(ctx, delivery("bad-1"), prJob("acme/bad", 1, "aaa"))
		if err == nil || !strings.Contains(err.Error(), "refused by test trigger") {
			t.Fatalf("Accept error = %v, want the trigger's", err)
		}
		if n := countRows(t, s, "select count(*) from dataops_deliveries"); n != 0 {
			t.Errorf("%d deliveries stored after a failed Accept, want 0", n)
		}
		if n := countRows(t, s, "select count(*) from goqite"); n != 0 {
			t.Errorf("%d jobs queued after a failed Accept, want 0", n)
		}
		// Not stored, so its redelivery is new.
		mustAccept(t, s, delivery("bad-1"), Job{Kind: "comment", Repo: "acme/bad", PR: 1})
		if n := countRows(t, s, "select count(*) from goqite"); n != 1 {
			t.Errorf("%d jobs queued, want 1", n)
		}
	})
}

// In a SQLite commit group each Accept is atomic on its own: a failing one
// leaves nothing, and the others in the group are stored.
func TestAcceptGroupMemberFailure(t *testing.T) {
	s := open(t, sqliteURL(t), Options{})
	failHeadsFor(t, s, "acme/bad")
	ctx := testContext(t)
	var group []*acceptRequest
	for i, repo := range []string{"acme/good", "acme/bad", "acme/good", "acme/good"} {
		id := fmt.Sprintf("d-%d", i)
		job := prJob(repo, i+1, "sha")
		job.DeliveryID = id
		group = append(group, &acceptRequest{ctx: ctx, d: Delivery{Host: "github", ID: id, Event: "pull_request", Payload: []byte("{}"), ReceivedAt: time.Now()},
			job: job, body: []byte(`{"job":{"kind":"pull_request"}}`), done: make(chan error, 1)})
	}
	group = append(group, &acceptRequest{ctx: ctx, d: group[0].d, job: group[0].job, body: group[0].body, done: make(chan error, 1)}) // a duplicate within the group
	s.commitGroup(group)
	for i, r := range group {
		err := <-r.done
		switch {
		case i == 1:
			if err == nil {
				t.Errorf("member %d (acme/bad) succeeded, want the trigger's error", i)
			}
		case err != nil:
			t.Errorf("member %d: %v", i, err)
		case r.duplicate != (i == 4):
			t.Errorf("member %d: duplicate=%v", i, r.duplicate)
		}
	}
	if n := countRows(t, s, "select count(*) from dataops_deliveries"); n != 3 {
		t.Errorf("%d deliveries stored, want 3", n)
	}
	if n := countRows(t, s, "select count(*) from dataops_deliveries where id = 'd-1'"); n != 0 {
		t.Errorf("the failed member's delivery was stored")
	}
	if n := countRows(t, s, "select count(*) from goqite"); n != 3 {
		t.Errorf("%d jobs queued, want 3", n)
	}
}

func TestLatestHead(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		if sha, err := s.LatestHead(ctx, "acme/shop", 7); err != nil || sha != "" {
			t.Fatalf("LatestHead of an unknown PR = %q, %v; want \"\", nil", sha, err)
		}
		t0 := time.Now().Add(-time.Minute)
		at := func(id string, offset time.Duration) Delivery {
			d := delivery(id)
			d.ReceivedAt = t0.Add(offset)
			return d
		}
		mustAccept(t, s, at("d-1", 0), prJob("acme/shop", 7, "sha1"))
		mustAccept(t, s, at("d-2", 2*time.Second), prJob("acme/shop", 7, "sha2"))
		// A delivery received earlier but accepted later (a slow retry by
		// the sender) does not move the head back.
		mustAccept(t, s, at("d-3", time.Second), prJob("acme/shop", 7, "sha-stale"))
		// A comment carries no sha and changes nothing.
		mustAccept(t, s, at("d-4", 3*time.Second), Job{Kind: "comment", Repo: "acme/shop", PR: 7})
		mustAccept(t, s, at("d-5", 0), prJob("acme/shop", 8, "other"))
		mustAccept(t, s, at("d-6", 0), prJob("acme/web", 7, "elsewhere"))

		for _, tt := range []struct {
			repo string
			pr   int
			want string
		}{{"acme/shop", 7, "sha2"}, {"acme/shop", 8, "other"}, {"acme/web", 7, "elsewhere"}, {"acme/web", 8, ""}} {
			if sha, err := s.LatestHead(ctx, tt.repo, tt.pr); err != nil || sha != tt.want {
				t.Errorf("LatestHead(%s#%d) = %q, %v; want %q", tt.repo, tt.pr, sha, err, tt.want)
			}
		}
	})
}

func TestPruneDeliveries(t *testing.T) {
	s := open(t, sqliteURL(t), Options{})
	ctx := testContext(t)
	old := delivery("old")
	old.ReceivedAt = time.Now().Add(-96 * time.Hour)
	mustAccept(t, s, old, Job{Kind: "comment"})
	mustAccept(t, s, delivery("new"), Job{Kind: "comment"})
	n, err := s.PruneDeliveries(ctx, time.Now().Add(-72*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneDeliveries = %d, %v; want 1", n, err)
	}
	if dup, err := s.Accept(ctx, delivery("new"), Job{Kind: "comment"}); err != nil || !dup {
		t.Errorf("Accept of a kept delivery = %v, %v; want duplicate", dup, err)
	}
}

func TestAcceptAfterClose(t *testing.T) {
	s, err := Open(testContext(t), sqliteURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accept(testContext(t), delivery("d"), Job{Kind: "x"}); err == nil {
		t.Error("Accept after Close succeeded")
	}
}

// loadResult is what a burst of deliveries did.
type loadResult struct {
	latencies  []time.Duration
	duplicates map[string]int // delivery id -> Accepts that answered duplicate
	errs       []error
}

// burst sends n deliveries at once, every tenth a redelivery of an earlier
// one (so n/10 duplicates), with payloads of a typical pull_request event's
// size, and measures each Accept.
func burst(ctx context.Context, s *Store, n int, prefix string) loadResult {
	payload := []byte(strings.Repeat("x", 16<<10))
	ids := make([]string, n)
	for i := range ids {
		if i%10 == 9 {
			ids[i] = ids[i-5] // redelivered
		} else {
			ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		}
	}
	var (
		mu  sync.Mutex
		res = loadResult{duplicates: map[string]int{}}
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	for i, id := range ids {
		wg.Go(func() {
			d := Delivery{Host: "github", ID: id, Event: "pull_request", Payload: payload}
			job := Job{Kind: "pull_request", Repo: "acme/shop", PR: i % 50, HeadSHA: id}
			<-start
			t0 := time.Now()
			dup, err := s.Accept(ctx, d, job)
			lat := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat)
			if err != nil {
				res.errs = append(res.errs, err)
			} else if dup {
				res.duplicates[id]++
			}
		})
	}
	close(start)
	wg.Wait()
	slices.Sort(res.latencies)
	return res
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// 2,000 deliveries at once, 10% of them redeliveries: every delivery is
// stored and its job queued exactly once, and no redelivery is queued.
func TestAcceptBurst(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{VisibilityTimeout: time.Hour})
		ctx := testContext(t)
		const n = 2000
		res := burst(ctx, s, n, "burst")
		for _, err := range res.errs {
			t.Errorf("Accept: %v", err)
		}
		dups := 0
		for id, k := range res.duplicates {
			if k != 1 {
				t.Errorf("delivery %s: %d Accepts answered duplicate, want 1", id, k)
			}
			dups += k
		}
		if dups != n/10 {
			t.Errorf("%d Accepts answered duplicate, want %d", dups, n/10)
		}
		unique := n - n/10
		if st := mustStats(t, s); st.Queued != unique {
			t.Errorf("Queued = %d, want %d", st.Queued, unique)
		}
		seen := map[string]bool{}
		for {
			r, err := s.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r == nil {
				break
			}
			if seen[r.Job.DeliveryID] {
				t.Errorf("delivery %s queued twice", r.Job.DeliveryID)
			}
			seen[r.Job.DeliveryID] = true
			if err := s.Done(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != unique {
			t.Errorf("%d distinct jobs received, want %d", len(seen), unique)
		}
		t.Logf("%s: %d Accepts at once: p50 %s, p99 %s, max %s", s.engine, n,
			percentile(res.latencies, 0.50), percentile(res.latencies, 0.99), res.latencies[len(res.latencies)-1])
	})
}
