package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/gitlab"
)

// A job's error is transient or permanent. Transient ones (the network, a
// host's 5xx, a rate limit, a timeout, a warehouse briefly away) are
// retried with backoff. Permanent ones (a commit that does not exist, an
// event without an installation, a bad configuration) cannot be mended by
// running the job again: the pull request is told once, with a failed
// gate, and the job is not retried.

// jobError is an error with what the pull request is told of it.
type jobError struct {
	permanent bool
	// reason is markdown for the pull request: no host URL, no credential.
	reason string
	err    error
}

func (e *jobError) Error() string {
	if e.err == nil {
		return e.reason
	}
	return e.err.Error()
}

func (e *jobError) Unwrap() error { return e.err }

// permanent marks err as one no retry mends, with reason for the pull
// request ("" derives one from err).
func permanent(err error, reason string) error {
	if reason == "" {
		reason = publicReason(err)
	}
	return &jobError{permanent: true, reason: reason, err: err}
}

// isPermanent tells whether running the job again could not help.
func isPermanent(err error) bool {
	if err == nil {
		return false
	}
	var je *jobError
	if errors.As(err, &je) {
		return je.permanent
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return permanentStatus(hostStatus(err))
}

// hostStatus is the HTTP status a code host answered a failed call with,
// 0 when none.
func hostStatus(err error) int {
	var ge *gitlab.Error
	if errors.As(err, &ge) {
		return ge.StatusCode
	}
	return github.StatusCode(err)
}

// permanentStatus: the request itself is wrong (a missing commit or pull
// request, credentials refused, a request the host will not take), so
// sending it again gets the same answer. 408, 409, 429 and 5xx are not.
func permanentStatus(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusGone, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// publicReason is what a pull request may read of err: its message with
// host URLs (and the credentials a URL's query may carry) removed.
func publicReason(err error) string {
	if err == nil {
		return ""
	}
	var je *jobError
	if errors.As(err, &je) && je.reason != "" {
		return je.reason
	}
	return scrub(err.Error())
}

var (
	// go-github's "GET https://api.github.com/repos/o/r/tarball/sha: 404
	// Not Found []": the request line and the empty error list.
	requestLine = regexp.MustCompile(`\b(?:GET|HEAD|POST|PUT|PATCH|DELETE) [a-zA-Z][a-zA-Z0-9+.-]*://\S*?: `)
	emptyErrors = regexp.MustCompile(` \[\]($|[\n;)])`)
	anyURL      = regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>` + "`" + `]+`)
)

// scrub removes URLs from a message: an API's address tells a stranger
// where the bot's hosts are, and a URL can carry a token or a password.
func scrub(s string) string {
	s = requestLine.ReplaceAllString(s, "")
	s = emptyErrors.ReplaceAllString(s, "$1")
	return anyURL.ReplaceAllStringFunc(s, func(u string) string {
		scheme, _, _ := strings.Cut(u, "://")
		// Punctuation that ends a sentence is not the URL's.
		trimmed := strings.TrimRight(u, ".,:;!?)")
		return "[" + strings.ToLower(scheme) + " address]" + u[len(trimmed):]
	})
}

// sourcesError is a commit whose files could not be downloaded.
func sourcesError(which, sha string, err error) error {
	reason := fmt.Sprintf("the %s commit %s could not be read: %s", which, short(sha), publicReason(err))
	if isPermanent(err) && hostStatus(err) == 0 { // sources past the archive's bounds
		return permanent(err, reason)
	}
	if code := hostStatus(err); permanentStatus(code) {
		if code == http.StatusNotFound {
			reason = fmt.Sprintf("the %s commit %s cannot be downloaded: the code host answered 404 Not Found (was it force-pushed away, or can the bot not read the repository?). "+
				"Push again, or comment `/dataops rerun` once it exists.", which, short(sha))
		}
		return permanent(err, reason)
	}
	return &jobError{reason: reason, err: err}
}
