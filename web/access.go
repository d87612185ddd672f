package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/scm"
)

// accessCache keeps the hosts' answers about who may do what with a
// repository for a few minutes: every page asks, and a host's answer costs
// a request against the person's rate limit. It is a cache, rebuilt by
// asking again; a replica without it only asks more.
type accessCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	answers map[accessKey]accessAnswer
}

type accessKey struct {
	host   string
	userID int64
	repo   string
}

type accessAnswer struct {
	perm    scm.Permission
	expires time.Time
}

// maxAccessAnswers bounds the cache; it is emptied when full.
const maxAccessAnswers = 10_000

func newAccessCache(ttl time.Duration, now func() time.Time) *accessCache {
	return &accessCache{ttl: ttl, now: now, answers: map[accessKey]accessAnswer{}}
}

func (c *accessCache) get(k accessKey) (scm.Permission, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.answers[k]
	if !ok || c.now().After(a.expires) {
		return "", false
	}
	return a.perm, true
}

func (c *accessCache) put(k accessKey, p scm.Permission) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.answers) >= maxAccessAnswers {
		c.answers = map[accessKey]accessAnswer{}
	}
	c.answers[k] = accessAnswer{perm: p, expires: c.now().Add(c.ttl)}
}

// splitRepoKey undoes the store's repository key, "host:path".
func splitRepoKey(key string) (host, repo string) {
	host, repo, _ = strings.Cut(key, ":")
	return host, repo
}

// permission asks (or remembers) what the signed-in person may do with a
// repository of the store. A repository of another host than the one they
// signed in with is none of theirs.
func (s *Server) permission(ctx context.Context, sess *session, repoKey string) (scm.Permission, error) {
	host, repo := splitRepoKey(repoKey)
	if host != sess.Host || repo == "" {
		return scm.PermissionNone, nil
	}
	k := accessKey{host: host, userID: sess.UserID, repo: strings.ToLower(repo)}
	if p, ok := s.access.get(k); ok {
		return p, nil
	}
	v, err := s.hosts[host].Viewer(sess.Token)
	if err != nil {
		return scm.PermissionNone, err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	p, err := v.Access(ctx, repo)
	if err != nil {
		return scm.PermissionNone, err
	}
	s.access.put(k, p)
	return p, nil
}

// canRead: anything but none lets a person see a repository's pages.
func canRead(p scm.Permission) bool { return p != "" && p != scm.PermissionNone }
