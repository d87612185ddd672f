package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The crash test runs this test binary again as a child process that works
// a job and is killed with SIGKILL in the middle of it.
const (
	crashChildEnv    = "DATAOPS_STORE_CRASH_CHILD" // the store URL
	crashTimeout     = 700 * time.Millisecond      // the child's visibility timeout
	crashChildMarker = "child: "
)

func TestMain(m *testing.M) {
	if url := os.Getenv(crashChildEnv); url != "" {
		os.Exit(crashChild(url))
	}
	os.Exit(m.Run())
}

// crashChild receives a job, accepts a delivery, reports both on stdout, and
// waits to be killed, never finishing the job.
func crashChild(url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 3
	}
	s, err := OpenWith(ctx, url, Options{VisibilityTimeout: crashTimeout})
	if err != nil {
		return fail(err)
	}
	r, err := s.Receive(ctx)
	if err != nil || r == nil {
		return fail(fmt.Errorf("receive: %v, %v", r, err))
	}
	fmt.Printf("%sreceived %s attempt %d\n", crashChildMarker, r.Job.DeliveryID, r.Attempt)
	dup, err := s.Accept(ctx, delivery("d-2"), prJob("acme/shop", 8, "bbb"))
	if err != nil || dup {
		return fail(fmt.Errorf("accept: %v, %v", dup, err))
	}
	// Accept returned: this is where the webhook answers 200.
	fmt.Printf("%saccepted d-2\n", crashChildMarker)
	<-ctx.Done() // working on the job, until killed
	return 4
}

// The server killed (SIGKILL) in the middle of a job and restarted: the job
// it held runs again once its visibility timeout ends, and completes once;
// the delivery it had answered for is there.
func TestCrashMidJob(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{VisibilityTimeout: crashTimeout})
		ctx := testContext(t)
		mustAccept(t, s, delivery("d-1"), prJob("acme/shop", 7, "aaa"))

		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+url)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if line, ok := strings.CutPrefix(sc.Text(), crashChildMarker); ok {
					lines <- line
				}
			}
			close(lines)
			_, _ = io.Copy(io.Discard, stdout)
		}()
		for _, want := range []string{"received d-1 attempt 1", "accepted d-2"} {
			select {
			case got, ok := <-lines:
				if !ok || got != want {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("child said %q (open: %v), want %q", got, ok, want)
				}
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatal("child said nothing for a minute")
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()

		// The restarted server (a fresh Store on the same database).
		restarted := open(t, url, Options{VisibilityTimeout: crashTimeout})
		if dup, err := restarted.Accept(ctx, delivery("d-2"), prJob("acme/shop", 8, "bbb")); err != nil || !dup {
			t.Fatalf("redelivery of d-2 after the crash: duplicate=%v, %v; want true: the answered delivery must be stored", dup, err)
		}
		runs := map[string][]int{}
		deadline := time.Now().Add(10 * time.Second)
		for len(runs) < 2 && time.Now().Before(deadline) {
			r, err := restarted.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r == nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			runs[r.Job.DeliveryID] = append(runs[r.Job.DeliveryID], r.Attempt)
			if err := restarted.Done(ctx, r); err != nil {
				t.Fatalf("Done(%s): %v", r.Job.DeliveryID, err)
			}
		}
		// Nothing comes back once done, even after another timeout.
		time.Sleep(crashTimeout + 200*time.Millisecond)
		mustReceiveNothing(t, restarted)
		// The s Store never took part; it sees the same state.
		if st := mustStats(t, s); st != (Stats{}) {
			t.Errorf("after completing: %+v, want all zero", st)
		}
		if fmt.Sprint(runs) != "map[d-1:[2] d-2:[1]]" {
			t.Errorf("runs after the crash = %v, want d-1 once (its second attempt) and d-2 once", runs)
		}
	})
}
