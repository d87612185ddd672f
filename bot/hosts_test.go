package bot

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestHostGuardPausesAFailingHost: failures in a row pause a host; its
// requests then fail at once without reaching it; after the pause one
// request tries it, and a success ends the pause. Another host is not
// touched.
func TestHostGuardPausesAFailingHost(t *testing.T) {
	var hits atomic.Int64
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	now := time.Unix(1_000_000, 0)
	g := &HostGuard{Failures: 3, Pause: time.Minute, Now: func() time.Time { return now }}
	client := &http.Client{Transport: g.Transport("gitlab", time.Second, http.DefaultTransport)}
	get := func() error {
		resp, err := client.Get(srv.URL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	for range 3 {
		if err := get(); err != nil {
			t.Fatalf("a 502 is an answer, not an error: %v", err)
		}
	}
	if until, paused := g.Paused("gitlab"); !paused || !until.Equal(now.Add(time.Minute)) {
		t.Fatalf("after 3 failures: paused %v until %s", paused, until)
	}
	if _, paused := g.Paused("github"); paused {
		t.Fatal("another host was paused")
	}
	if err := get(); !errors.Is(err, ErrHostPaused) {
		t.Fatalf("a request while paused: %v, want ErrHostPaused", err)
	}
	if hits.Load() != 3 {
		t.Fatalf("the paused host got %d requests, want 3", hits.Load())
	}
	if _, _, ok := g.Acquire("gitlab"); ok {
		t.Fatal("a paused host took a worker")
	}

	// After the pause one request tries it; it fails, and the pause doubles.
	now = now.Add(time.Minute)
	_ = get()
	if until, paused := g.Paused("gitlab"); !paused || !until.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("after a failed try: paused %v until %s, want 2m more", paused, until)
	}
	// The host is back: the next try ends the pause.
	now = now.Add(2 * time.Minute)
	healthy.Store(true)
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if _, paused := g.Paused("gitlab"); paused {
		t.Fatal("still paused after a success")
	}
	if hits.Load() != 5 {
		t.Errorf("%d requests reached the host, want 5", hits.Load())
	}
}

// TestHostGuardTimesOutSilentHosts: a host that accepts and never answers
// fails each request after its timeout, which counts as the host's
// failure.
func TestHostGuardTimesOutSilentHosts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			defer c.Close()
		}
	}()
	g := &HostGuard{Failures: 2, Pause: time.Hour}
	client := &http.Client{Transport: g.Transport("gitlab", 50*time.Millisecond, http.DefaultTransport)}
	for range 4 {
		_, err := client.Get("http://" + l.Addr().String())
		if err == nil {
			t.Fatal("a silent host answered")
		}
	}
	if _, paused := g.Paused("gitlab"); !paused {
		t.Fatal("a silent host was not paused")
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("the silent host took %d connections, want 2 (then paused)", n)
	}
}

// TestHostGuardBoundsWorkers: a host takes at most MaxWorkers workers.
func TestHostGuardBoundsWorkers(t *testing.T) {
	g := &HostGuard{MaxWorkers: 2}
	r1, _, ok1 := g.Acquire("gitlab")
	_, _, ok2 := g.Acquire("gitlab")
	_, wait, ok3 := g.Acquire("gitlab")
	if !ok1 || !ok2 || ok3 || wait <= 0 {
		t.Fatalf("acquired %v %v %v (wait %s), want two of three", ok1, ok2, ok3, wait)
	}
	if _, _, ok := g.Acquire("github"); !ok {
		t.Fatal("another host had no worker")
	}
	r1()
	r1() // twice is once
	if _, _, ok := g.Acquire("gitlab"); !ok {
		t.Fatal("a released slot was not free")
	}
	if _, _, ok := g.Acquire("gitlab"); ok {
		t.Fatal("releasing twice freed two slots")
	}
}
