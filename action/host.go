package action

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/dataops-dev/dataops/internal/scm"
)

// reviewingHost is a code host that can also tell approvals (both GitHub's
// and GitLab's can); the gate asks for them through a type assertion, so a
// wrapper must keep these methods.
type reviewingHost interface {
	scm.Host
	Approvers(ctx context.Context, number int) ([]string, error)
	TeamMember(ctx context.Context, team, user string) (bool, error)
}

// ciHost is the code host as the Action and the GitLab job use it: every
// comment and check is scrubbed of the run's secrets, comments are left
// out with comment: false, and each commit's archive is downloaded once
// (dataops.yml and the sources both come from the base's).
type ciHost struct {
	reviewingHost
	secrets   *secrets
	noComment bool

	mu       sync.Mutex
	archives map[string][]byte
}

func newCIHost(h reviewingHost, s *secrets, comment bool) *ciHost {
	return &ciHost{reviewingHost: h, secrets: s, noComment: !comment, archives: map[string][]byte{}}
}

func (h *ciHost) UpsertComment(ctx context.Context, number int, marker, body string) error {
	if h.noComment {
		return nil
	}
	return h.reviewingHost.UpsertComment(ctx, number, marker, h.secrets.scrub(body))
}

func (h *ciHost) PublishCheck(ctx context.Context, sha string, c scm.Check) error {
	s := h.secrets.scrub
	c.Title, c.Summary, c.Text = s(c.Title), s(c.Summary), s(c.Text)
	if len(c.Annotations) > 0 {
		as := make([]scm.Annotation, len(c.Annotations))
		for i, a := range c.Annotations {
			a.Path, a.Title, a.Message = s(a.Path), s(a.Title), s(a.Message)
			as[i] = a
		}
		c.Annotations = as
	}
	return h.reviewingHost.PublishCheck(ctx, sha, c)
}

// maxArchive bounds one download held in memory.
const maxArchive = 512 << 20

func (h *ciHost) Archive(ctx context.Context, sha string) (io.ReadCloser, error) {
	h.mu.Lock()
	data, ok := h.archives[sha]
	h.mu.Unlock()
	if !ok {
		rc, err := h.reviewingHost.Archive(ctx, sha)
		if err != nil {
			return nil, err
		}
		data, err = io.ReadAll(io.LimitReader(rc, maxArchive+1))
		rc.Close()
		if err != nil {
			return nil, err
		}
		if len(data) > maxArchive {
			return nil, fmt.Errorf("the archive of %s is larger than %d MB", sha, maxArchive>>20)
		}
		h.mu.Lock()
		h.archives[sha] = data
		h.mu.Unlock()
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}
