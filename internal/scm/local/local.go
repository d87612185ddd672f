// Package local is a code host on this machine: the pull request is two
// revisions of a local git repository, and the comment and checks are kept
// in memory and written to a folder, for `dataops check` and the demo.
package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Host keeps what dataops would post to a code host.
type Host struct {
	// Repo is the git repository the archives come from.
	Repo string
	// Dir, when set, receives comment.md and checks/<name>.json on every
	// change, replacing the previous files.
	Dir string
	// PR is what PullRequest returns.
	PR scm.PullRequest
	// Mode is what Compare compares: scm.CompareMerge, CompareMergeBase
	// (the default) or CompareTip.
	Mode string

	mu        sync.Mutex
	comments  map[int]string
	checks    map[string]scm.Check // sha + "\x00" + name
	reactions []string
}

var _ scm.Host = (*Host)(nil)

func (h *Host) PullRequest(_ context.Context, number int) (*scm.PullRequest, error) {
	pr := h.PR
	pr.Number = number
	return &pr, nil
}

// Permission: whoever runs dataops locally owns the repository.
func (h *Host) Permission(context.Context, string) (scm.Permission, error) {
	return scm.PermissionAdmin, nil
}

func (h *Host) UpsertComment(_ context.Context, number int, marker, body string) error {
	if !strings.Contains(body, marker) {
		return fmt.Errorf("comment body lacks its marker %q", marker)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.comments == nil {
		h.comments = map[int]string{}
	}
	h.comments[number] = body
	return h.write("comment.md", []byte(body))
}

func (h *Host) PublishCheck(_ context.Context, sha string, c scm.Check) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.checks == nil {
		h.checks = map[string]scm.Check{}
	}
	h.checks[sha+"\x00"+c.Name] = c
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return h.write(filepath.Join("checks", strings.ReplaceAll(c.Name, "/", "-")+".json"), data)
}

func (h *Host) React(_ context.Context, number int, commentID int64, r scm.Reaction) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reactions = append(h.reactions, fmt.Sprintf("%d/%d:%s", number, commentID, r))
	return nil
}

// Archive runs git archive on the repository.
func (h *Host) Archive(ctx context.Context, sha string) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", existing(h.Repo), "archive", "--format=tar.gz", sha)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git archive %s: %v: %s", sha, err, strings.TrimSpace(stderr.String()))
	}
	return io.NopCloser(&out), nil
}

// Comment returns the pull request's comment.
func (h *Host) Comment(number int) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.comments[number]
	return c, ok
}

// Checks returns the checks on sha, by name.
func (h *Host) Checks(sha string) []scm.Check {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []scm.Check
	for k, c := range h.checks {
		if strings.HasPrefix(k, sha+"\x00") {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (h *Host) write(name string, data []byte) error {
	if h.Dir == "" {
		return nil
	}
	path := filepath.Join(h.Dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
