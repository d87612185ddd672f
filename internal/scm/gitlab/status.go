package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// PublishCheck sets the commit status named c.Name on sha. GitLab keeps
// the latest status per name, commit and ref, so publishing a stage again
// replaces it. Commit statuses carry no annotations: they belong in the
// Code Quality report (WriteCodeQuality).
//
// A token that may not set statuses skips them with one log line.
func (h *Host) PublishCheck(ctx context.Context, sha string, c scm.Check) error {
	if sha == "" || c.Name == "" {
		return errors.New("gitlab: publish check: empty commit SHA or check name")
	}
	state, desc, err := commitStatus(c)
	if err != nil {
		return fmt.Errorf("gitlab: publish check %s: %w", c.Name, err)
	}
	opt := &gl.SetCommitStatusOptions{State: state, Name: &c.Name, Description: &desc}
	if c.DetailsURL != "" {
		if u, err := url.Parse(c.DetailsURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
			utf8.RuneCountInString(c.DetailsURL) <= maxStatusTargetURL {
			opt.TargetURL = &c.DetailsURL
		} else {
			// GitLab refuses the whole status over a bad link; drop the link.
			h.log.WarnContext(ctx, "gitlab: commit status without its link: not an http(s) URL of at most 255 characters",
				"check", c.Name, "url_length", len(c.DetailsURL))
		}
	}
	if len(c.Annotations) > 0 {
		h.log.DebugContext(ctx, "gitlab: annotations go to the Code Quality report, not the commit status",
			"check", c.Name, "annotations", len(c.Annotations))
	}
	_, _, err = h.client.Commits.SetCommitStatus(h.project, sha, opt, h.req(ctx, retryReplayable)...)
	switch {
	case err == nil:
		return nil
	case sameState(err):
		// GitLab refuses to move a pending or running status to the state
		// it is in (or back): the status already says what we would.
		h.log.DebugContext(ctx, "gitlab: commit status already in that state", "check", c.Name, "state", state, "reason", h.redact(err.Error()))
		return nil
	case h.skipped(ctx, "commit status "+c.Name, err, needStatus):
		return nil
	}
	return h.fail(fmt.Sprintf("set commit status %s on %s in %s", c.Name, short(sha), h.project), err, needStatus)
}

// commitStatus maps a check onto GitLab's status states, which have no
// neutral or skipped (skipped exists only in recent versions): those pass,
// and their description says so.
func commitStatus(c scm.Check) (gl.BuildStateValue, string, error) {
	var state gl.BuildStateValue
	prefix := ""
	switch c.Status {
	case scm.StatusQueued:
		state = gl.Pending
	case scm.StatusInProgress:
		state = gl.Running
	case scm.StatusCompleted:
		switch c.Conclusion {
		case scm.ConclusionSuccess:
			state = gl.Success
		case scm.ConclusionFailure:
			state = gl.Failed
		case scm.ConclusionCancelled:
			state = gl.Canceled
		case scm.ConclusionNeutral:
			state, prefix = gl.Success, "Neutral: "
		case scm.ConclusionSkipped:
			state, prefix = gl.Success, "Skipped: "
		default:
			return "", "", fmt.Errorf("unknown conclusion %q", c.Conclusion)
		}
	default:
		return "", "", fmt.Errorf("unknown status %q", c.Status)
	}
	title := strings.Join(strings.Fields(c.Title), " ")
	if title == "" {
		title = strings.TrimSuffix(prefix, ": ")
	}
	if prefix != "" && !strings.HasPrefix(strings.ToLower(title), strings.ToLower(strings.TrimSuffix(prefix, ": "))) {
		title = prefix + title
	}
	return state, cutRunes(title, maxStatusDescription), nil
}

// sameState recognises GitLab's refusal of a transition, such as running
// to running: "Cannot transition status via :run from :running".
func sameState(err error) bool {
	var er *gl.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusBadRequest &&
		strings.Contains(er.Message, "Cannot transition status")
}

// cutRunes cuts s to n characters, ending in an ellipsis when cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
