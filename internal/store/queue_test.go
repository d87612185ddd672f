package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReceiveExtendDone(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		const timeout = 400 * time.Millisecond
		s := open(t, url, Options{VisibilityTimeout: timeout})
		ctx := testContext(t)
		mustReceiveNothing(t, s)
		job := Job{Kind: "pull_request", Repo: "acme/shop", PR: 7, HeadSHA: "aaa", Body: []byte(`{"n":1}`)}
		mustAccept(t, s, delivery("d-1"), job)

		r := mustReceive(t, s)
		job.DeliveryID = "d-1"
		if fmt.Sprint(r.Job) != fmt.Sprint(job) || r.Attempt != 1 || r.ID == "" {
			t.Fatalf("received %+v attempt %d, want %+v attempt 1", r.Job, r.Attempt, job)
		}
		mustReceiveNothing(t, s) // invisible while held
		if st := mustStats(t, s); st.Running != 1 || st.Queued != 0 {
			t.Errorf("while held: %+v, want Running 1", st)
		}

		// Extending past the original timeout keeps it held.
		if err := s.Extend(ctx, r, 3*timeout); err != nil {
			t.Fatalf("Extend: %v", err)
		}
		time.Sleep(timeout + 100*time.Millisecond)
		mustReceiveNothing(t, s)

		if err := s.Done(ctx, r); err != nil {
			t.Fatalf("Done: %v", err)
		}
		if st := mustStats(t, s); st != (Stats{}) {
			t.Errorf("after Done: %+v, want all zero", st)
		}
		time.Sleep(3 * timeout)
		mustReceiveNothing(t, s) // done means gone, not redelivered
		if err := s.Done(ctx, r); !errors.Is(err, ErrLost) {
			t.Errorf("second Done: %v, want ErrLost", err)
		}
	})
}

// A job whose worker crashed (dropped without Done) is received again, by
// another Store on the same database, once its visibility timeout ends; the
// crashed worker cannot complete it any more.
func TestVisibilityTimeoutRedelivers(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		const timeout = 500 * time.Millisecond
		first := open(t, url, Options{VisibilityTimeout: timeout})
		ctx := testContext(t)
		mustAccept(t, first, delivery("d-1"), prJob("acme/shop", 7, "aaa"))
		lost := mustReceive(t, first)
		receivedAt := time.Now()
		if err := first.Close(); err != nil { // the crash: no Done, no Retry
			t.Fatal(err)
		}

		second := open(t, url, Options{VisibilityTimeout: timeout})
		mustReceiveNothing(t, second)
		if st := mustStats(t, second); st.Running != 1 {
			t.Errorf("before the timeout: %+v, want Running 1", st)
		}
		r := receiveWithin(t, second, 5*time.Second)
		if waited := time.Since(receivedAt); waited < timeout-50*time.Millisecond {
			t.Errorf("redelivered after %s, before the visibility timeout %s", waited, timeout)
		}
		if r.ID != lost.ID || r.Job.DeliveryID != "d-1" || r.Attempt != 2 {
			t.Errorf("redelivered %s %+v attempt %d, want %s attempt 2", r.ID, r.Job, r.Attempt, lost.ID)
		}

		// A third Store holding the crashed worker's claim cannot touch it.
		third := open(t, url, Options{VisibilityTimeout: timeout})
		for name, op := range map[string]func() error{
			"Extend":   func() error { return third.Extend(ctx, lost, time.Minute) },
			"Done":     func() error { return third.Done(ctx, lost) },
			"Retry":    func() error { return third.Retry(ctx, lost, errors.New("late")) },
			"Postpone": func() error { return third.Postpone(ctx, lost, 0) },
		} {
			if err := op(); !errors.Is(err, ErrLost) {
				t.Errorf("%s with a stale claim: %v, want ErrLost", name, err)
			}
		}
		if err := second.Done(ctx, r); err != nil {
			t.Fatalf("Done: %v", err)
		}
		time.Sleep(timeout + 100*time.Millisecond)
		mustReceiveNothing(t, second)
	})
}

func TestRetryBackoffThenDeadLetter(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		const backoff = 200 * time.Millisecond
		s := open(t, url, Options{MaxAttempts: 3, RetryBackoff: backoff, VisibilityTimeout: time.Minute})
		ctx := testContext(t)
		mustAccept(t, s, delivery("d-1"), prJob("acme/shop", 7, "aaa"))

		r := mustReceive(t, s)
		for attempt := 1; attempt <= 2; attempt++ {
			if r.Attempt != attempt {
				t.Fatalf("Attempt = %d, want %d", r.Attempt, attempt)
			}
			failedAt := time.Now()
			if err := s.Retry(ctx, r, fmt.Errorf("warehouse unreachable (%d)", attempt)); err != nil {
				t.Fatalf("Retry: %v", err)
			}
			mustReceiveNothing(t, s)
			if st := mustStats(t, s); st.Delayed != 1 || st.Running != 0 || st.Queued != 0 {
				t.Errorf("during backoff: %+v, want Delayed 1", st)
			}
			r = receiveWithin(t, s, 10*time.Second)
			want := backoff << (attempt - 1) // doubles
			if waited := time.Since(failedAt); waited < want {
				t.Errorf("attempt %d came back after %s, want at least %s", attempt+1, waited, want)
			}
			if wantErr := fmt.Sprintf("warehouse unreachable (%d)", attempt); r.LastError != wantErr {
				t.Errorf("LastError = %q, want %q", r.LastError, wantErr)
			}
			if r.Job.DeliveryID != "d-1" {
				t.Errorf("retried job %+v lost its fields", r.Job)
			}
		}
		if r.Attempt != 3 {
			t.Fatalf("Attempt = %d, want 3", r.Attempt)
		}
		if err := s.Retry(ctx, r, errors.New("still unreachable")); err != nil {
			t.Fatalf("Retry of the last attempt: %v", err)
		}
		time.Sleep(4 * backoff * 6 / 5)
		mustReceiveNothing(t, s)
		if st := mustStats(t, s); st != (Stats{Dead: 1}) {
			t.Errorf("after the last attempt: %+v, want Dead 1 only", st)
		}
		dead, err := s.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 || dead[0].Attempts != 3 || dead[0].LastError != "still unreachable" || dead[0].Job.DeliveryID != "d-1" {
			t.Errorf("DeadLetters = %+v, want the job with 3 attempts and its last error", dead)
		}
	})
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	s := &Store{opts: Options{RetryBackoff: time.Second, MaxRetryBackoff: 10 * time.Second}.withDefaults()}
	for _, tt := range []struct {
		attempt int
		base    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {40, 10 * time.Second}} {
		for range 20 {
			got := s.backoff(tt.attempt)
			if got < tt.base || got > tt.base*6/5 {
				t.Errorf("backoff(%d) = %s, want %s plus at most 20%%", tt.attempt, got, tt.base)
			}
		}
	}
}

// Interruptions count as attempts too (here more crashes are allowed than
// attempts).
func TestInterruptionsDeadLetter(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		const timeout = 300 * time.Millisecond
		s := open(t, url, Options{MaxAttempts: 2, MaxCrashes: 3, VisibilityTimeout: timeout})
		mustAccept(t, s, delivery("d-1"), prJob("acme/shop", 7, "aaa"))
		if r := mustReceive(t, s); r.Attempt != 1 {
			t.Fatalf("Attempt = %d, want 1", r.Attempt)
		}
		if r := receiveWithin(t, s, 5*time.Second); r.Attempt != 2 {
			t.Fatalf("Attempt = %d, want 2", r.Attempt)
		}
		time.Sleep(timeout + 100*time.Millisecond)
		if r := mustReceive(t, s); !strings.Contains(r.Dead, "interrupted 2 times") || r.Attempt != 2 {
			t.Errorf("the exhausted job is handed out once as dead (%q, attempt %d), for its pull request to be told", r.Dead, r.Attempt)
		}
		mustReceiveNothing(t, s)
		if st := mustStats(t, s); st != (Stats{Dead: 1}) {
			t.Errorf("%+v, want Dead 1 only", st)
		}
		dead, err := s.DeadLetters(testContext(t), 10)
		if err != nil || len(dead) != 1 || dead[0].Attempts != 2 || !strings.Contains(dead[0].LastError, "interrupted 2 times") {
			t.Errorf("DeadLetters = %+v, %v; want one with 2 attempts, interrupted", dead, err)
		}
	})
}

func TestPostponeKeepsAttempts(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{MaxAttempts: 2, VisibilityTimeout: time.Minute})
		ctx := testContext(t)
		mustAccept(t, s, delivery("d-1"), prJob("acme/shop", 7, "aaa"))
		for range 5 { // more than MaxAttempts: postponing is not failing
			r := mustReceive(t, s)
			if r.Attempt != 1 {
				t.Fatalf("Attempt = %d after postponing, want 1", r.Attempt)
			}
			if err := s.Postpone(ctx, r, 150*time.Millisecond); err != nil {
				t.Fatalf("Postpone: %v", err)
			}
			mustReceiveNothing(t, s)
			if st := mustStats(t, s); st.Delayed != 1 {
				t.Errorf("while postponed: %+v, want Delayed 1", st)
			}
			time.Sleep(200 * time.Millisecond)
		}
		r := mustReceive(t, s)
		if err := s.Retry(ctx, r, errors.New("boom")); err != nil {
			t.Fatal(err)
		}
		if st := mustStats(t, s); st.Dead != 0 {
			t.Errorf("dead after one failure of two attempts: %+v", st)
		}
	})
}

func TestStats(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{VisibilityTimeout: time.Minute, MaxAttempts: 1})
		ctx := testContext(t)
		for i := range 5 {
			mustAccept(t, s, delivery(fmt.Sprint("d-", i)), prJob("acme/shop", i, "aaa"))
		}
		time.Sleep(50 * time.Millisecond)
		running := mustReceive(t, s)
		_ = running
		retried := mustReceive(t, s)
		if err := s.Postpone(ctx, retried, time.Hour); err != nil {
			t.Fatal(err)
		}
		dead := mustReceive(t, s)
		if err := s.Retry(ctx, dead, errors.New("boom")); err != nil { // MaxAttempts 1
			t.Fatal(err)
		}
		st := mustStats(t, s)
		if st.Queued != 2 || st.Running != 1 || st.Delayed != 1 || st.Dead != 1 {
			t.Errorf("Stats = %+v, want Queued 2, Running 1, Delayed 1, Dead 1", st)
		}
		if st.OldestQueuedAge < 50*time.Millisecond || st.OldestQueuedAge > time.Minute {
			t.Errorf("OldestQueuedAge = %s, want the age of the oldest ready job", st.OldestQueuedAge)
		}
	})
}

// Several Stores on one database (replicas), each with several workers,
// receiving at once: every job is received exactly once.
func TestConcurrentReceiversExactlyOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		const (
			jobs     = 300
			replicas = 2
			workers  = 4
		)
		stores := make([]*Store, replicas)
		for i := range stores {
			stores[i] = open(t, url, Options{VisibilityTimeout: time.Minute})
		}
		ctx := testContext(t)
		for i := range jobs {
			mustAccept(t, stores[i%replicas], delivery(fmt.Sprint("d-", i)), prJob("acme/shop", i, "aaa"))
		}
		var (
			mu   sync.Mutex
			seen = map[string]int{}
			wg   sync.WaitGroup
		)
		for _, s := range stores {
			for range workers {
				wg.Go(func() {
					for {
						r, err := s.Receive(ctx)
						if err != nil {
							t.Errorf("Receive: %v", err)
							return
						}
						if r == nil {
							return
						}
						mu.Lock()
						seen[r.Job.DeliveryID]++
						mu.Unlock()
						if err := s.Done(ctx, r); err != nil {
							t.Errorf("Done: %v", err)
							return
						}
					}
				})
			}
		}
		wg.Wait()
		if len(seen) != jobs {
			t.Errorf("%d distinct jobs received, want %d", len(seen), jobs)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("job %s received %d times", id, n)
			}
		}
		if st := mustStats(t, stores[0]); st != (Stats{}) {
			t.Errorf("after draining: %+v, want all zero", st)
		}
	})
}

// A job that killed its worker twice (the process died mid-job: SIGKILL,
// a fatal error) is dead-lettered with that reason, however many attempts
// it has left; the count survives a retry in between.
func TestCrashesDeadLetter(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		const timeout = 300 * time.Millisecond
		s := open(t, url, Options{MaxAttempts: 5, VisibilityTimeout: timeout, RetryBackoff: time.Millisecond})
		ctx := testContext(t)
		mustAccept(t, s, delivery("d-1"), prJob("acme/shop", 7, "aaa"))
		_ = mustReceive(t, s) // started, never ended: the first crash
		r := receiveWithin(t, s, 5*time.Second)
		if r.Attempt != 2 || r.Crashes != 1 {
			t.Fatalf("after one crash: attempt %d, crashes %d; want 2 and 1", r.Attempt, r.Crashes)
		}
		// An ordinary failure in between keeps the count.
		if err := s.Retry(ctx, r, errors.New("502 from GitHub")); err != nil {
			t.Fatal(err)
		}
		r = receiveWithin(t, s, 5*time.Second)
		if r.Attempt != 3 || r.Crashes != 1 {
			t.Fatalf("after a retry: attempt %d, crashes %d; want 3 and 1", r.Attempt, r.Crashes)
		}
		// The second crash: the next receive dead-letters it, and hands it
		// out once so that its pull request is told.
		time.Sleep(timeout + 100*time.Millisecond)
		if r := mustReceive(t, s); !strings.Contains(r.Dead, "its worker died 2 times") || r.Job.DeliveryID != "d-1" {
			t.Errorf("received %+v, want d-1 dead after two crashes", r)
		}
		mustReceiveNothing(t, s)
		if st := mustStats(t, s); st != (Stats{Dead: 1}) {
			t.Errorf("%+v, want Dead 1 only", st)
		}
		dead, err := s.DeadLetters(ctx, 10)
		if err != nil || len(dead) != 1 || !strings.Contains(dead[0].LastError, "its worker died 2 times while running it") ||
			!strings.Contains(dead[0].LastError, "502 from GitHub") {
			t.Errorf("DeadLetters = %+v, %v; want one that killed its worker twice", dead, err)
		}
	})
}

// A worker that stops (a deploy's SIGTERM) hands its job back at once:
// that is not a crash, nor an attempt.
func TestReleaseIsNotACrash(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{MaxAttempts: 5, VisibilityTimeout: time.Minute})
		ctx := testContext(t)
		mustAccept(t, s, delivery("d-1"), prJob("acme/shop", 7, "aaa"))
		for range 4 {
			r := mustReceive(t, s)
			if r.Attempt != 1 || r.Crashes != 0 {
				t.Fatalf("after releases: attempt %d, crashes %d; want 1 and 0", r.Attempt, r.Crashes)
			}
			if err := s.Release(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Fail dead-letters a job at once with its reason: a permanent error is
// not retried.
func TestFailDeadLettersAtOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{MaxAttempts: 5, VisibilityTimeout: time.Minute})
		ctx := testContext(t)
		mustAccept(t, s, delivery("d-1"), prJob("acme/shop", 7, "aaa"))
		r := mustReceive(t, s)
		if err := s.Fail(ctx, r, "the base commit cannot be downloaded (404)"); err != nil {
			t.Fatal(err)
		}
		mustReceiveNothing(t, s)
		dead, err := s.DeadLetters(ctx, 10)
		if err != nil || len(dead) != 1 || dead[0].Attempts != 1 || dead[0].LastError != "permanent: the base commit cannot be downloaded (404)" {
			t.Errorf("DeadLetters = %+v, %v", dead, err)
		}
		if err := s.Fail(ctx, r, "again"); !errors.Is(err, ErrLost) {
			t.Errorf("Fail of a finished job: %v, want ErrLost", err)
		}
	})
}
