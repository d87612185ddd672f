package github

import (
	"errors"
	"net/http"

	gh "github.com/google/go-github/v62/github"
)

// StatusCode returns the HTTP status of a failed call GitHub answered, 0
// when none came back (a network error, a timeout), so that a caller can
// tell a missing commit (404) from a server that is briefly away (5xx). A
// rate limit is 429, whichever status GitHub sent it with (403 or 429).
func StatusCode(err error) int {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return http.StatusTooManyRequests
	}
	return status(err)
}
