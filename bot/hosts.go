package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// HostGuard keeps one code host from holding every worker of a replica:
// at most MaxWorkers jobs of a host run at once, and a host whose requests
// keep failing is paused (a circuit breaker per host): its jobs wait in the
// queue, without using attempts, and its requests fail at once, until
// Pause has passed and one request finds it back.
//
// One HostGuard is shared by the workers of a process and by the HTTP
// clients of Connect.
type HostGuard struct {
	// MaxWorkers bounds the jobs of one host running at once (default 1).
	MaxWorkers int
	// Failures in a row (network errors, timeouts, 5xx) pause a host
	// (default 5).
	Failures int
	// Pause is how long a paused host is left alone (default 30s); it
	// doubles, up to 16 times, while the host keeps failing.
	Pause time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	busy     int
	failures int       // in a row
	until    time.Time // paused until then; zero when not paused
	pause    time.Duration
	probing  bool // one request tries the host after its pause
}

// ErrHostPaused is returned for a request to a paused host, and for a
// job whose host was paused while it ran: the job waits, it has not
// failed.
var ErrHostPaused = errors.New("the code host is paused after failing repeatedly")

func (g *HostGuard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *HostGuard) state(host string) *hostState {
	if g.hosts == nil {
		g.hosts = map[string]*hostState{}
	}
	s := g.hosts[host]
	if s == nil {
		s = &hostState{}
		g.hosts[host] = s
	}
	return s
}

// Acquire takes one of a host's worker slots; ok is false when the host
// has none free or is paused (wait tells how long the job should wait).
// release gives the slot back.
func (g *HostGuard) Acquire(host string) (release func(), wait time.Duration, ok bool) {
	if g == nil {
		return func() {}, 0, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state(host)
	if now := g.now(); now.Before(s.until) {
		return nil, s.until.Sub(now), false
	}
	if s.busy >= max(1, g.MaxWorkers) {
		return nil, time.Second, false
	}
	s.busy++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			s.busy--
			g.mu.Unlock()
		})
	}, 0, true
}

// Paused tells whether host is paused, and until when.
func (g *HostGuard) Paused(host string) (time.Time, bool) {
	if g == nil {
		return time.Time{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state(host)
	return s.until, g.now().Before(s.until)
}

// admit says whether a request to host may go: not while it is paused,
// and after a pause only one at a time until one succeeds.
func (g *HostGuard) admit(host string) (probe bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state(host)
	now := g.now()
	switch {
	case now.Before(s.until):
		return false, fmt.Errorf("%w (until %s)", ErrHostPaused, s.until.Format(time.TimeOnly))
	case s.pause > 0 && s.probing:
		return false, fmt.Errorf("%w (one request is trying it again)", ErrHostPaused)
	case s.pause > 0:
		s.probing = true
		return true, nil
	}
	return false, nil
}

// record counts a request's outcome; ignore: it tells nothing of the
// host (the job's context ended).
func (g *HostGuard) record(host string, probe, failed, ignore bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state(host)
	if probe {
		s.probing = false
	}
	if ignore {
		return
	}
	if !failed {
		s.failures, s.pause, s.until = 0, 0, time.Time{}
		return
	}
	s.failures++
	if s.failures < max(1, g.Failures) && !probe {
		return
	}
	switch {
	case s.pause == 0:
		s.pause = g.Pause
		if s.pause <= 0 {
			s.pause = 30 * time.Second
		}
	case s.pause < 16*g.Pause:
		s.pause *= 2
	}
	s.until = g.now().Add(s.pause)
}

// Transport gives each request to host (each attempt of a retried one)
// timeout to answer and be read, counts the outcomes, and refuses requests
// while the host is paused. A request that fails because the job's own
// context ended is the job's doing, not the host's, and is not counted;
// one that ran out of timeout is.
func (g *HostGuard) Transport(host string, timeout time.Duration, next http.RoundTripper) http.RoundTripper {
	return &guardTransport{g: g, host: host, timeout: timeout, next: next}
}

type guardTransport struct {
	g       *HostGuard
	host    string
	timeout time.Duration
	next    http.RoundTripper
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	probe := false
	if t.g != nil {
		var err error
		if probe, err = t.g.admit(t.host); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	parent := req.Context()
	ctx, cancel := parent, context.CancelFunc(func() {})
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(parent, t.timeout, fmt.Errorf("no answer within %s (request_timeout)", t.timeout))
	}
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil && ctx.Err() != nil && parent.Err() == nil {
		err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	if t.g != nil {
		switch {
		case err != nil && parent.Err() != nil:
			t.g.record(t.host, probe, false, true)
		case err != nil:
			t.g.record(t.host, probe, true, false)
		default:
			t.g.record(t.host, probe, resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, false)
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a request's timeout when its body is closed: the
// timeout covers reading the body too.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
