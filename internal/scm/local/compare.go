package local

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Compare resolves what a local change compares, in the git repository
// holding dir: head ("" is the work tree, uncommitted edits included)
// against base. Like `git diff base...head`, the base is the merge base of
// the two, so that what base gained since the branch was made does not
// show as the change's; with tip, it is base itself.
func Compare(ctx context.Context, dir, base, head string, tip bool) (scm.Comparison, error) {
	b, err := commit(ctx, dir, base)
	if err != nil {
		return scm.Comparison{}, err
	}
	c := scm.Comparison{Base: b, Mode: scm.CompareMergeBase}
	ref := head
	if head == "" {
		ref = "HEAD"
	}
	if c.PullHead, err = commit(ctx, dir, ref); err != nil {
		return scm.Comparison{}, err
	}
	if head != "" {
		c.Head = c.PullHead
	}
	if tip {
		c.Mode = scm.CompareTip
		return c, nil
	}
	out, err := git(ctx, dir, "merge-base", b, c.PullHead)
	if err != nil {
		return scm.Comparison{}, fmt.Errorf("%s and %s share no history here (a shallow clone?): fetch more of it (in CI, fetch-depth: 0), or compare with the tip of %s (--merge-base=false)", base, ref, base)
	}
	c.Base = strings.TrimSpace(out)
	return c, nil
}

// commit resolves a revision to its commit's full SHA.
func commit(ctx context.Context, dir, rev string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("unknown git revision %q in %s: use a branch, tag or commit that exists there (in CI, fetch enough history, e.g. fetch-depth: 0)", rev, dir)
	}
	return strings.TrimSpace(out), nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// Compare is the comparison of the host's pull request: its head (the
// work tree when empty) against the merge base with its base, or the
// base's tip with CompareTip.
func (h *Host) Compare(ctx context.Context, pr scm.PullRequest) (scm.Comparison, error) {
	return Compare(ctx, h.Repo, pr.BaseSHA, pr.HeadSHA, h.CompareTip)
}
