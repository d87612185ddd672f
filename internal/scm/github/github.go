// Package github is the scm.Host of one GitHub (or GitHub Enterprise Server)
// repository, built on go-github. It authenticates with a token (a
// workflow's GITHUB_TOKEN, or any personal access token) or as a GitHub App
// installation, retries rate-limited and failed requests a bounded number of
// times, and degrades rather than fails when the token lacks a permission:
// commit statuses stand in for check runs, and a comment it may not write is
// skipped with one log line naming the permission.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// GitHub's limits.
const (
	// MaxAnnotationsPerRequest is how many annotations one create or update
	// of a check run may carry.
	MaxAnnotationsPerRequest = 50
	// MaxCheckOutput is the length limit of a check run's summary and text.
	MaxCheckOutput = 65535
	// MaxAnnotationMessage is the size limit of an annotation's message.
	MaxAnnotationMessage = 64 * 1024
	// MaxAnnotationTitle is the length limit of an annotation's title.
	MaxAnnotationTitle = 255
	// MaxCommentBody is the length limit of an issue comment, in characters.
	MaxCommentBody = 65536
	// MaxStatusDescription is the length limit of a commit status's
	// description, in characters.
	MaxStatusDescription = 140
)

// DefaultBaseURL is the API of github.com.
const DefaultBaseURL = "https://api.github.com/"

// Retry defaults.
const (
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = 60 * time.Second
	DefaultRetryBackoff = time.Second
)

// Options configure a Host.
type Options struct {
	// BaseURL is the API's base: https://api.github.com/ (the default) or,
	// for GitHub Enterprise Server, https://HOST/api/v3/ (GITHUB_API_URL in
	// Actions). It is used as given.
	BaseURL string
	// Owner and Repo name the repository.
	Owner, Repo string

	// Token authenticates as a token: GITHUB_TOKEN in Actions, or a
	// personal access token.
	Token string
	// AppID, InstallationID and PrivateKey (PEM) authenticate as an
	// installation of a GitHub App instead.
	AppID          int64
	InstallationID int64
	PrivateKey     []byte

	// HTTPClient supplies the transport and timeout; nil uses
	// http.DefaultTransport without a timeout (every call has a context).
	HTTPClient *http.Client

	// MaxRetries bounds the retries of one request (rate limits, 5xx):
	// 0 means DefaultMaxRetries, a negative number none.
	MaxRetries int
	// MaxRetryWait is the longest wait for a rate limit to reset; a limit
	// that resets later fails the request at once. 0 means
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// RetryBackoff is the first wait before retrying a 5xx, doubled on each
	// further attempt, with jitter. 0 means DefaultRetryBackoff.
	RetryBackoff time.Duration

	// Logger receives the fallbacks and retries; nil uses slog.Default().
	Logger *slog.Logger

	// MergeWait is how long Compare waits between reads of a pull request
	// whose mergeability GitHub is still computing (mergeable: null); it
	// reads it MergeReads times in all. 0 means DefaultMergeWait and
	// DefaultMergeReads.
	MergeWait  time.Duration
	MergeReads int
}

// Defaults of Compare's wait for GitHub's test merge.
const (
	DefaultMergeWait  = 2 * time.Second
	DefaultMergeReads = 3
)

// Host is one GitHub repository.
type Host struct {
	mergeWait  time.Duration
	mergeReads int

	client   *gh.Client
	download *http.Client // for archive redirects: no credentials
	retry    *retryTransport
	owner    string
	repo     string
	appID    int64
	token    string // for redaction only
	log      *slog.Logger

	mu        sync.Mutex
	runs      map[runKey]int64
	runLocks  map[runKey]*sync.Mutex
	comments  map[commentKey]commentState
	forbidden map[string]bool // a permission the token lacks, by name
}

var _ scm.Host = (*Host)(nil)

type runKey struct{ name, sha string }

type commentKey struct {
	number int
	marker string
}

// commentState is a comment this Host wrote, and its body then.
type commentState struct {
	id   int64
	body string
}

// New returns the Host of opts.Owner/opts.Repo.
func New(opts Options) (*Host, error) {
	if opts.Owner == "" || opts.Repo == "" {
		return nil, errors.New("github: the repository is not set (Options.Owner and Options.Repo)")
	}
	if strings.ContainsAny(opts.Owner+opts.Repo, "/ \t\n") {
		return nil, fmt.Errorf("github: repository %q/%q: owner and name must not contain slashes or spaces", opts.Owner, opts.Repo)
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	baseURL, err := url.Parse(base)
	if err != nil || (baseURL.Scheme != "http" && baseURL.Scheme != "https") || baseURL.Host == "" {
		return nil, fmt.Errorf("github: base URL %q is not an http(s) URL such as %s or https://HOST/api/v3/", base, DefaultBaseURL)
	}
	if !strings.HasSuffix(baseURL.Path, "/") {
		baseURL.Path += "/"
	}

	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var transport http.RoundTripper = http.DefaultTransport
	var timeout time.Duration
	if opts.HTTPClient != nil {
		if opts.HTTPClient.Transport != nil {
			transport = opts.HTTPClient.Transport
		}
		timeout = opts.HTTPClient.Timeout
	}
	retry := newRetryTransport(transport, opts, log)

	h := &Host{
		owner:      opts.Owner,
		repo:       opts.Repo,
		appID:      opts.AppID,
		log:        log.With("repo", opts.Owner+"/"+opts.Repo),
		runs:       map[runKey]int64{},
		runLocks:   map[runKey]*sync.Mutex{},
		comments:   map[commentKey]commentState{},
		forbidden:  map[string]bool{},
		download:   &http.Client{Transport: retry, Timeout: timeout},
		mergeWait:  opts.MergeWait,
		mergeReads: opts.MergeReads,
	}
	if h.mergeWait <= 0 {
		h.mergeWait = DefaultMergeWait
	}
	if h.mergeReads <= 0 {
		h.mergeReads = DefaultMergeReads
	}
	retry.log = h.log
	h.retry = retry

	usesApp := opts.AppID != 0 || opts.InstallationID != 0 || len(opts.PrivateKey) > 0
	var auth http.RoundTripper
	switch {
	case opts.Token != "" && usesApp:
		return nil, errors.New("github: both a token and GitHub App credentials are set; set one (Options.Token, or AppID, InstallationID and PrivateKey)")
	case opts.Token != "":
		tok := opts.Token
		if strings.TrimSpace(tok) != tok || strings.IndexFunc(tok, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0 {
			return nil, errors.New("github: the token contains spaces, line breaks or control characters (check how the secret is passed)")
		}
		h.token = tok
		auth = &tokenTransport{token: tok, next: retry}
	case usesApp:
		var missing []string
		if opts.AppID <= 0 {
			missing = append(missing, "AppID")
		}
		if opts.InstallationID <= 0 {
			missing = append(missing, "InstallationID")
		}
		if len(opts.PrivateKey) == 0 {
			missing = append(missing, "PrivateKey")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("github: GitHub App authentication needs AppID, InstallationID and PrivateKey; missing %s", strings.Join(missing, ", "))
		}
		itr, err := ghinstallation.New(retry, opts.AppID, opts.InstallationID, opts.PrivateKey)
		if err != nil {
			// The parser's message never quotes the key.
			return nil, fmt.Errorf("github: GitHub App %d: the private key is not a PEM-encoded RSA key (the .pem file GitHub generates): %w", opts.AppID, err)
		}
		itr.BaseURL = strings.TrimSuffix(baseURL.String(), "/")
		// Least privilege: the installation token covers this repository
		// only. It also keeps the request body an object, as GitHub's
		// description requires, instead of the null ghinstallation sends.
		itr.InstallationTokenOptions = &gh.InstallationTokenOptions{Repositories: []string{opts.Repo}}
		auth = itr
	default:
		return nil, errors.New("github: no credentials: set Options.Token (GITHUB_TOKEN in Actions) or AppID, InstallationID and PrivateKey of a GitHub App")
	}

	h.client = gh.NewClient(&http.Client{Transport: auth, Timeout: timeout})
	h.client.BaseURL = baseURL
	h.client.UploadURL = baseURL
	h.client.UserAgent = "dataops"
	return h, nil
}

// tokenTransport adds the token to each request.
type tokenTransport struct {
	token string
	next  http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// secretInURL matches credentials carried in a URL's query, as in
// codeload's redirect URLs (?token=...).
var secretInURL = regexp.MustCompile(`(?i)([?&](?:token|access_token|jwt|client_secret)=)[^&\s"']+`)

// githubSecret matches GitHub's tokens by their form (personal, OAuth,
// user-to-server, installation, refresh, fine-grained) and JWTs: the
// installation token of an App is never known to the Host, so it is
// recognised instead.
var githubSecret = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`)

// redactedError hides secrets in an error's message while keeping the error
// chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact removes the token, and any credential in a URL, from a message.
func (h *Host) redact(s string) string {
	if h.token != "" {
		s = strings.ReplaceAll(s, h.token, "[REDACTED]")
	}
	s = githubSecret.ReplaceAllString(s, "[REDACTED]")
	return secretInURL.ReplaceAllString(s, "${1}[REDACTED]")
}

// fail wraps err with what was being done, never quoting a secret.
func (h *Host) fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var wrapped error = fmt.Errorf(format+": %w", append(args, err)...)
	if msg := h.redact(wrapped.Error()); msg != wrapped.Error() {
		return &redactedError{msg: msg, err: wrapped}
	}
	return wrapped
}

// status returns the HTTP status of a go-github error, or 0.
func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// isForbidden tells a token lacking a permission (403, not a rate limit).
func isForbidden(err error) bool {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return false
	}
	return status(err) == http.StatusForbidden
}

// warnMissing logs, once per Host and permission, that the token lacks it
// and what happens instead.
func (h *Host) warnMissing(permission, doing, instead string, err error) {
	h.mu.Lock()
	seen := h.forbidden[permission]
	h.forbidden[permission] = true
	h.mu.Unlock()
	if seen {
		return
	}
	msg := "GitHub refused to " + doing + ": the token lacks the \"" + permission + "\" permission (give it in the workflow's permissions: block, or to the GitHub App); " + instead
	h.log.Warn(msg, "permission", permission, "error", h.redact(apiMessage(err)))
}

func (h *Host) lacks(permission string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.forbidden[permission]
}

// apiMessage is the short form of an API error for log lines.
func apiMessage(err error) string {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return fmt.Sprintf("%d %s", er.Response.StatusCode, er.Message)
	}
	return err.Error()
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// ctxOK returns an error for a nil or finished context before any request.
func ctxOK(ctx context.Context) error {
	if ctx == nil {
		return errors.New("github: nil context")
	}
	return ctx.Err()
}
