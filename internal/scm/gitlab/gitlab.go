// Package gitlab is dataops' code host for GitLab (gitlab.com and
// self-managed), built on gitlab.com/gitlab-org/api/client-go: the merge
// request and its changed files, members' access levels, one merge request
// note kept up to date by a marker, one commit status per stage, award
// emoji on notes and repository archives.
//
// GitLab has no check-run annotations; the stages' findings go instead to
// the CI report files of reports.go (Code Quality JSON, JUnit XML), which
// GitLab shows in the merge request widgets when the job declares them as
// artifacts:reports.
//
// A token that may not write (no api scope, too low a role, CI_JOB_TOKEN)
// does not fail the run: the comment, status or reaction is skipped with
// one log line that names what is missing.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Token kinds: the header the token is sent in.
const (
	TokenPrivate = "private" // PRIVATE-TOKEN: personal, project or group access token
	TokenJob     = "job"     // JOB-TOKEN: the CI job's CI_JOB_TOKEN
	TokenOAuth   = "oauth"   // Authorization: Bearer
)

// DefaultBaseURL is gitlab.com's API root.
const DefaultBaseURL = "https://gitlab.com/api/v4"

// GitLab's limits, from its API documentation.
const (
	maxNoteBody          = 1_000_000 // characters of a note
	maxStatusDescription = 255       // characters of a commit status description
	maxStatusTargetURL   = 255       // characters of a commit status target_url
	perPage              = 100       // the largest page GitLab serves
	maxPages             = 1000      // a guard against a server that never stops paging
)

// Retry defaults.
const (
	defaultMaxRetries = 4
	defaultRetryBase  = time.Second      // first wait after a 5xx; doubles each time
	defaultMaxWait    = 60 * time.Second // the longest single wait; a longer Retry-After fails the call
)

// Options configure a Host.
type Options struct {
	// BaseURL is the API root, e.g. https://gitlab.com/api/v4 (in GitLab
	// CI, CI_API_V4_URL). A self-managed instance's root works the same,
	// with or without the /api/v4 suffix. Empty means gitlab.com.
	BaseURL string
	// Project is the project's numeric ID or its path ("group/project").
	Project string
	// Token authenticates every call; TokenKind says how it is sent:
	// "private" (PRIVATE-TOKEN, the default), "job" (JOB-TOKEN, for
	// CI_JOB_TOKEN) or "oauth" (Authorization: Bearer).
	Token     string
	TokenKind string
	// HTTPClient replaces client-go's pooled client.
	HTTPClient *http.Client
	// MaxRetries bounds the retries of one call after a 429 or a 5xx: 0
	// means 4, a negative number none.
	MaxRetries int
	// Logger receives the skipped-for-permission messages and retries;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Host is one GitLab project.
type Host struct {
	client     *gl.Client
	project    string
	token      string
	tokenKind  string
	log        *slog.Logger
	maxRetries int
	retryBase  time.Duration
	maxWait    time.Duration
	warned     sync.Map // what was skipped -> already said once
}

var _ scm.Host = (*Host)(nil)

// New returns a Host for opts.Project.
func New(opts Options) (*Host, error) {
	if strings.TrimSpace(opts.Project) == "" {
		return nil, errors.New("gitlab: no project: set Options.Project to the project's ID or path (in GitLab CI, CI_PROJECT_ID)")
	}
	if opts.Token == "" {
		return nil, errors.New("gitlab: no token: set a project access token with the api scope (CI_JOB_TOKEN cannot write notes or commit statuses)")
	}
	kind := opts.TokenKind
	if kind == "" {
		kind = TokenPrivate
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gitlab: base URL %q is not an http(s) URL such as %s", base, DefaultBaseURL)
	}
	h := &Host{
		project:    strings.Trim(opts.Project, "/"),
		token:      opts.Token,
		tokenKind:  kind,
		log:        opts.Logger,
		maxRetries: opts.MaxRetries,
		retryBase:  defaultRetryBase,
		maxWait:    defaultMaxWait,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	switch {
	case h.maxRetries == 0:
		h.maxRetries = defaultMaxRetries
	case h.maxRetries < 0:
		h.maxRetries = 0
	}

	copts := []gl.ClientOptionFunc{
		gl.WithBaseURL(base),
		gl.WithUserAgent("dataops"),
		gl.WithURLWarningLogger(h.log),
		gl.WithCustomRetryMax(h.maxRetries),
		gl.WithCustomRetry(h.checkRetry(retryIdempotent)),
		gl.WithCustomBackoff(h.backoff),
	}
	if opts.HTTPClient != nil {
		copts = append(copts, gl.WithHTTPClient(opts.HTTPClient))
	}
	var c *gl.Client
	switch kind {
	case TokenPrivate:
		c, err = gl.NewClient(opts.Token, copts...)
	case TokenJob:
		c, err = gl.NewJobClient(opts.Token, copts...)
	case TokenOAuth:
		c, err = gl.NewAuthSourceClient(bearer{opts.Token}, copts...)
	default:
		return nil, fmt.Errorf("gitlab: unknown token kind %q: use %q, %q or %q", kind, TokenPrivate, TokenJob, TokenOAuth)
	}
	if err != nil {
		return nil, fmt.Errorf("gitlab: %s", h.redact(err.Error()))
	}
	h.client = c
	return h, nil
}

// bearer sends an OAuth token as it is, without a token source to refresh.
type bearer struct{ token string }

func (bearer) Init(context.Context, *gl.Client) error { return nil }

func (b bearer) Header(context.Context) (string, string, error) {
	return "Authorization", "Bearer " + b.token, nil
}

// Retries.

// retryPolicy says which failures of a request may be sent again.
type retryPolicy int

const (
	// retryIdempotent: reads and edits. Any transport error, 429 and 5xx.
	retryIdempotent retryPolicy = iota
	// retryReplayable: creations GitLab dedupes itself (a commit status of
	// a name, an emoji per user). 429 and 5xx, and a transport error only
	// when the request never left.
	retryReplayable
	// retryUnsent: creations a replay would duplicate (a note). 429 and a
	// failed dial only: after a 5xx the caller looks before it tries again.
	retryUnsent
)

func (h *Host) req(ctx context.Context, p retryPolicy) []gl.RequestOptionFunc {
	return []gl.RequestOptionFunc{gl.WithContext(ctx), gl.WithRequestRetry(h.checkRetry(p))}
}

func (h *Host) checkRetry(p retryPolicy) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil {
			if p == retryIdempotent {
				return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
			}
			var op *net.OpError
			return errors.As(err, &op) && op.Op == "dial", nil
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			if wait, ok := rateLimitWait(resp, time.Now()); ok && wait > h.maxWait {
				return false, nil // the error tells how long to wait
			}
			return true, nil
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
			return p != retryUnsent, nil
		}
		return false, nil
	}
}

// backoff waits as a 429 asks (Retry-After, else RateLimit-Reset), and
// exponentially with jitter after a 5xx.
func (h *Host) backoff(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
	wait := h.serverErrorWait(attempt)
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := rateLimitWait(resp, time.Now()); ok {
			wait = min(d, h.maxWait)
		}
	}
	if resp != nil && resp.Request != nil {
		h.log.Info("gitlab: retrying", "method", resp.Request.Method, "path", resp.Request.URL.EscapedPath(),
			"status", resp.StatusCode, "attempt", attempt+1, "wait", wait)
	}
	return wait
}

func (h *Host) serverErrorWait(attempt int) time.Duration {
	d := h.retryBase << min(attempt, 16)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1)) // up to a quarter more, so clients spread out
	return min(d, h.maxWait)
}

// rateLimitWait reads how long a 429 asks to wait: Retry-After in seconds
// or as a date, else GitLab's RateLimit-Reset (a Unix time).
func rateLimitWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(resp.Header.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(resp.Header.Get("RateLimit-Reset")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Errors.

// Sentinels a Host's errors match with errors.Is.
var (
	ErrUnauthorized = errors.New("gitlab: unauthorized")       // 401
	ErrForbidden    = errors.New("gitlab: forbidden")          // 403
	ErrNotFound     = errors.New("gitlab: not found")          // 404
	ErrRateLimited  = errors.New("gitlab: rate limited")       // 429
	ErrServer       = errors.New("gitlab: server error (5xx)") // 5xx after the retries
)

// Error is a failed GitLab call: what dataops was doing, GitLab's answer
// and what to do about it. Its message never contains the token.
type Error struct {
	Op         string // what was being done: "read merge request !12 of group/project"
	StatusCode int    // GitLab's HTTP status; 0 when none came back
	Hint       string // what to do
	msg        string // the cause, redacted
	cause      error  // the cause when its message holds no secret
}

func (e *Error) Error() string {
	s := "gitlab: " + e.Op + ": " + e.msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.cause }

// Is matches the sentinels by status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500
	}
	return false
}

// redact removes the token from s, whatever a server or proxy echoed.
func (h *Host) redact(s string) string {
	if h.token == "" {
		return s
	}
	s = strings.ReplaceAll(s, h.token, "[REDACTED]")
	if q := url.QueryEscape(h.token); q != h.token {
		s = strings.ReplaceAll(s, q, "[REDACTED]")
	}
	return s
}

// statusOf returns the HTTP status of a client-go error, 0 when none.
func statusOf(err error) int {
	var er *gl.ErrorResponse
	switch {
	case errors.As(err, &er) && er.Response != nil:
		return er.Response.StatusCode
	case errors.Is(err, gl.ErrNotFound):
		return http.StatusNotFound
	}
	return 0
}

// need is what a call needs of the token: a scope and a role.
type need struct {
	scope string
	role  string
	what  string // what it does, for messages: "write merge request notes"
}

var (
	needComment = need{"api", "Reporter", "write merge request notes"}
	needStatus  = need{"api", "Developer", "set commit statuses"}
	needReact   = need{"api", "Reporter", "award emoji"}
	needRead    = need{"read_api", "Reporter", "read merge requests"}
	needMembers = need{"read_api", "Guest", "read the project's members"}
	needArchive = need{"read_api", "Reporter", "download the repository"}
)

// fail wraps a failed call with what was being done and a hint.
func (h *Host) fail(op string, err error, n need) error {
	e := &Error{Op: op, StatusCode: statusOf(err)}
	e.msg = h.redact(describe(err))
	switch {
	case !strings.Contains(err.Error(), h.token):
		e.cause = err
	case errors.Is(err, context.Canceled):
		e.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.cause = context.DeadlineExceeded
	}
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		e.Hint = h.accessProblem(e.StatusCode, err, n)
	case http.StatusNotFound:
		e.Hint = fmt.Sprintf("it does not exist, or the token cannot see project %s", h.project)
	case http.StatusTooManyRequests:
		e.Hint = "GitLab's rate limit; try again later"
		var er *gl.ErrorResponse
		if errors.As(err, &er) && er.Response != nil {
			if d, ok := rateLimitWait(er.Response, time.Now()); ok {
				e.Hint = fmt.Sprintf("GitLab's rate limit; try again in %s", d.Round(time.Second))
			}
		}
	}
	if e.StatusCode >= 500 {
		e.Hint = "GitLab's server failed; try again later"
		if h.maxRetries > 0 {
			e.Hint = fmt.Sprintf("GitLab's server failed %d times in a row; try again later", h.maxRetries+1)
		}
	}
	return e
}

// describe says what GitLab answered: the status and GitLab's message,
// without client-go's URL or its parsing remarks.
func describe(err error) string {
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return err.Error()
	}
	code := er.Response.StatusCode
	s := fmt.Sprintf("%d %s", code, http.StatusText(code))
	msg := strings.TrimPrefix(er.Message, "failed to parse unknown error format: ")
	msg = strings.Join(strings.Fields(msg), " ")
	if msg != "" && !strings.Contains(msg, s) {
		s += ": " + cutRunes(msg, 300)
	}
	return s
}

// accessProblem says what the token lacks, from GitLab's 401 or 403.
func (h *Host) accessProblem(status int, err error, n need) string {
	switch {
	case status == http.StatusUnauthorized && h.tokenKind == TokenJob:
		return fmt.Sprintf("CI_JOB_TOKEN cannot %s; give dataops a project access token with the %s scope and at least the %s role", n.what, n.scope, n.role)
	case status == http.StatusUnauthorized:
		return "the token is invalid, expired or revoked"
	case insufficientScope(err):
		return fmt.Sprintf("the token lacks the %s scope", n.scope)
	default:
		return fmt.Sprintf("the token's user needs at least the %s role in %s (and the token the %s scope)", n.role, h.project, n.scope)
	}
}

// insufficientScope recognises GitLab's answer to a token without the
// scope an endpoint needs.
func insufficientScope(err error) bool {
	var er *gl.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	if strings.Contains(string(er.Body), "insufficient_scope") {
		return true
	}
	return er.Response != nil && strings.Contains(er.Response.Header.Get("WWW-Authenticate"), "insufficient_scope")
}

// skipped reports whether err means the token may not do what was asked,
// which a run can live without: it logs what is missing, once per kind of
// thing skipped, and the caller returns nil.
func (h *Host) skipped(ctx context.Context, what string, err error, n need) bool {
	status := statusOf(err)
	if status != http.StatusForbidden && !(status == http.StatusUnauthorized && h.tokenKind == TokenJob) {
		return false
	}
	msg := fmt.Sprintf("gitlab: %s skipped: GitLab refused (%d) to let the token %s in %s: %s; the run goes on without it",
		what, status, n.what, h.project, h.accessProblem(status, err, n))
	msg = h.redact(msg)
	if _, said := h.warned.LoadOrStore(n.what, true); said {
		h.log.DebugContext(ctx, msg)
	} else {
		h.log.WarnContext(ctx, msg, "project", h.project, "status", status, "scope", n.scope, "role", n.role)
	}
	return true
}
