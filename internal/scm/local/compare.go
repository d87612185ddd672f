package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Compare resolves what a local change compares, in the git repository
// holding dir: head ("" is the work tree, uncommitted and untracked files
// included) against base, by mode:
//
//   - scm.CompareMerge (dataops check's default) merges the change into
//     base, as a code host's test merge does, and compares that with base's
//     tip: whatever base gained since the branch was made is in both, so
//     only the change differs, in the plan and in the data. The merge is
//     made with git's plumbing (merge-tree, commit-tree): no branch, index
//     or file of the repository changes. A conflict falls back to the
//     merge base, and Why says so.
//   - scm.CompareMergeBase compares head with the merge base of the two,
//     as `git diff base...head` does (dataops plan's default).
//   - scm.CompareTip compares head with base's tip as it is.
func Compare(ctx context.Context, dir, base, head, mode string) (scm.Comparison, error) {
	b, err := commit(ctx, dir, base)
	if err != nil {
		return scm.Comparison{}, err
	}
	c := scm.Comparison{Base: b, Mode: mode, WorkTree: head == ""}
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
	switch mode {
	case scm.CompareTip:
		return c, nil
	case scm.CompareMerge:
		change := c.PullHead
		if head == "" {
			if change, err = snapshot(ctx, dir); err != nil {
				return scm.Comparison{}, err
			}
		}
		merge, why, err := testMerge(ctx, dir, b, change)
		if err != nil {
			return scm.Comparison{}, err
		}
		if merge != "" {
			c.Head = merge
			return c, nil
		}
		c.Mode, c.Why = scm.CompareMergeBase, why+fmt.Sprintf(" %s", base)
	case scm.CompareMergeBase:
	default:
		return scm.Comparison{}, fmt.Errorf("unknown comparison %q: use merge, merge-base or tip", mode)
	}
	out, err := git(ctx, dir, nil, "merge-base", b, c.PullHead)
	if err != nil {
		return scm.Comparison{}, fmt.Errorf("%s and %s share no history here (a shallow clone?): fetch more of it (in CI, fetch-depth: 0), or compare with the tip of %s (--compare tip)", base, ref, base)
	}
	c.Base = strings.TrimSpace(out)
	return c, nil
}

// snapshot commits the work tree as it is - tracked, changed and untracked
// files, minus what .gitignore leaves out - through a temporary index, so
// that it can be merged; the repository's own index and refs stay as they
// are.
func snapshot(ctx context.Context, dir string) (string, error) {
	tmp, err := os.MkdirTemp("", "dataops-index-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	top, err := git(ctx, dir, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	root := strings.TrimSpace(top)
	for _, args := range [][]string{{"read-tree", "HEAD"}, {"add", "-A", "--", "."}} {
		if _, err := git(ctx, root, env, args...); err != nil {
			return "", fmt.Errorf("snapshot the work tree: %w", err)
		}
	}
	tree, err := git(ctx, root, env, "write-tree")
	if err != nil {
		return "", fmt.Errorf("snapshot the work tree: %w", err)
	}
	return commitTree(ctx, dir, strings.TrimSpace(tree), "dataops check: the work tree", "HEAD")
}

// testMerge merges change into base without touching anything; a conflict
// gives no merge and why.
func testMerge(ctx context.Context, dir, base, change string) (merge, why string, err error) {
	out, err := git(ctx, dir, nil, "merge-tree", "--write-tree", "--no-messages", base, change)
	if err != nil {
		if strings.Contains(err.Error(), "exit status 1") {
			return "", "the change conflicts with", nil
		}
		if strings.Contains(err.Error(), "--write-tree") || strings.Contains(err.Error(), "unknown option") {
			return "", "git is too old to merge without a work tree (2.38 or later does) for", nil
		}
		// Unrelated histories, say: the merge base says what is wrong.
		return "", "git could not merge the change into", nil
	}
	tree := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	merge, err = commitTree(ctx, dir, tree, "dataops: the change merged into its base", base, change)
	return merge, "", err
}

func commitTree(ctx context.Context, dir, tree, msg string, parents ...string) (string, error) {
	args := []string{"-c", "user.name=dataops", "-c", "user.email=dataops@localhost", "commit-tree", tree, "-m", msg}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	out, err := git(ctx, dir, nil, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// commit resolves a revision to its commit's full SHA.
func commit(ctx context.Context, dir, rev string) (string, error) {
	out, err := git(ctx, dir, nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("unknown git revision %q in %s: use a branch, tag or commit that exists there (in CI, fetch enough history, e.g. fetch-depth: 0)", rev, dir)
	}
	return strings.TrimSpace(out), nil
}

func git(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", existing(dir)}, args...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// Compare is the comparison of the host's pull request: its head (the
// work tree when empty) against its base, by the host's Mode (the merge
// base when empty).
func (h *Host) Compare(ctx context.Context, pr scm.PullRequest) (scm.Comparison, error) {
	mode := h.Mode
	if mode == "" {
		mode = scm.CompareMergeBase
	}
	return Compare(ctx, h.Repo, pr.BaseSHA, pr.HeadSHA, mode)
}

// existing is dir or its nearest parent that exists: a branch that
// removes the project folder is still in the repository that holds it.
func existing(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}
