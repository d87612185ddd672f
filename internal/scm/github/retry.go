package github

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryTransport retries what GitHub asks to retry, a bounded number of
// times:
//   - a primary rate limit (403 or 429 with X-RateLimit-Remaining: 0) after
//     X-RateLimit-Reset, unless that is further away than maxWait;
//   - a secondary rate limit (403 or 429 with Retry-After, or whose message
//     says so) after Retry-After, or after a minute and doubling without it
//     (GitHub's advice), capped at maxWait;
//   - 5xx other than 501 with exponential backoff and jitter (Retry-After
//     wins when the server sends it);
//   - a network error on GET or HEAD, as a 5xx; never on a POST, which may
//     have taken effect.
//
// Any other 4xx is returned at once. It sits below the authentication, so a
// retried request carries fresh credentials, and the App installation token
// requests are retried too.
type retryTransport struct {
	next       http.RoundTripper
	maxRetries int
	maxWait    time.Duration
	backoff    time.Duration
	log        *slog.Logger
	// sleep waits or returns the context's error; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

// secondaryWait is GitHub's advice for a secondary rate limit that comes
// without Retry-After.
const secondaryWait = time.Minute

func newRetryTransport(next http.RoundTripper, opts Options, log *slog.Logger) *retryTransport {
	t := &retryTransport{
		next:       next,
		maxRetries: opts.MaxRetries,
		maxWait:    opts.MaxRetryWait,
		backoff:    opts.RetryBackoff,
		log:        log,
		sleep:      sleepCtx,
		now:        time.Now,
	}
	if t.maxRetries == 0 {
		t.maxRetries = DefaultMaxRetries
	}
	if t.maxRetries < 0 {
		t.maxRetries = 0
	}
	if t.maxWait <= 0 {
		t.maxWait = DefaultMaxRetryWait
	}
	if t.backoff <= 0 {
		t.backoff = DefaultRetryBackoff
	}
	return t
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.next.RoundTrip(r)
		wait, reason := t.classify(req, resp, err, attempt)
		if reason == "" {
			return t.hideExhaustedRate(resp), err
		}
		giveUp := ""
		switch {
		case attempt >= t.maxRetries:
			giveUp = "no retries left"
		case wait > t.maxWait:
			giveUp = "the limit resets in " + wait.Round(time.Second).String() + ", later than the longest wait (" + t.maxWait.String() + ")"
		case req.Body != nil && req.Body != http.NoBody && req.GetBody == nil:
			giveUp = "the request body cannot be sent again"
		case deadlineBefore(ctx, t.now().Add(wait)):
			giveUp = "the context ends before the wait would"
		}
		if giveUp != "" {
			if attempt > 0 || wait > t.maxWait {
				t.log.Warn("github: giving up on a request", "method", req.Method, "path", req.URL.Path, "reason", reason, "attempts", attempt+1, "why", giveUp)
			}
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		t.log.Warn("github: retrying", "method", req.Method, "path", req.URL.Path, "reason", reason, "attempt", attempt+1, "wait", wait.Round(time.Millisecond).String())
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// classify returns why a response calls for another attempt, and the wait
// before it; an empty reason means it does not.
func (t *retryTransport) classify(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, string) {
	if err != nil {
		if req.Context().Err() != nil {
			return 0, ""
		}
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			return t.jitter(attempt), "network error: " + secretInURL.ReplaceAllString(err.Error(), "${1}[REDACTED]")
		}
		return 0, ""
	}
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusForbidden:
		if d, ok := retryAfter(resp.Header, t.now()); ok {
			return d, "secondary rate limit (Retry-After)"
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				d := time.Unix(reset, 0).Sub(t.now())
				if d < 0 {
					d = 0
				}
				// A second more than the reset, for the clocks' skew.
				return d + time.Second, "primary rate limit"
			}
		}
		if code == http.StatusTooManyRequests || mentionsRateLimit(resp) {
			return min(secondaryWait<<attempt, t.maxWait), "secondary rate limit"
		}
		return 0, ""
	case code >= 500 && code != http.StatusNotImplemented:
		if d, ok := retryAfter(resp.Header, t.now()); ok {
			return d, "server error " + strconv.Itoa(code) + " (Retry-After)"
		}
		return t.jitter(attempt), "server error " + strconv.Itoa(code)
	}
	return 0, ""
}

// jitter is the exponential backoff of an attempt, between half and all of
// backoff*2^attempt, capped at maxWait.
func (t *retryTransport) jitter(attempt int) time.Duration {
	d := t.backoff << min(attempt, 16)
	if d <= 0 || d > t.maxWait {
		d = t.maxWait
	}
	return d/2 + rand.N(d/2+1)
}

func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// mentionsRateLimit reads the body of a 403 to tell a secondary rate limit
// from a missing permission, and leaves the body readable.
func mentionsRateLimit(resp *http.Response) bool {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return false
	}
	return bytes.Contains(bytes.ToLower(data), []byte("rate limit"))
}

// hideExhaustedRate removes the rate limit headers of a successful response
// that used up the limit. go-github remembers them and would refuse the
// next request itself, without sending it ("not making remote request"),
// and so without the bounded wait above; the server says the same with a
// 403 that this transport waits out.
func (t *retryTransport) hideExhaustedRate(resp *http.Response) *http.Response {
	if resp != nil && resp.StatusCode < 300 && resp.Header.Get("X-RateLimit-Remaining") == "0" {
		resp.Header.Del("X-RateLimit-Remaining")
		resp.Header.Del("X-RateLimit-Reset")
	}
	return resp
}

func deadlineBefore(ctx context.Context, t time.Time) bool {
	d, ok := ctx.Deadline()
	return ok && d.Before(t)
}
