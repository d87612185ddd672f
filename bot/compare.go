package bot

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/dataops-dev/dataops/internal/scm"
)

// comparison says which commits a run compiles, compares and builds: the
// Pipeline's Compare when set (a CI job's checkout), else the host's merge
// of the pull request into its base branch.
func (p *Pipeline) comparison(ctx context.Context, pr scm.PullRequest) (scm.Comparison, error) {
	if p.Compare != nil {
		return p.Compare(ctx, pr)
	}
	return p.Host.Compare(ctx, pr)
}

// CommitReader is what a CI job asks its host about the commit it checked
// out; GitHub's and GitLab's hosts answer it.
type CommitReader interface {
	Parents(ctx context.Context, sha string) ([]string, error)
	MergeBase(ctx context.Context, a, b string) (string, error)
}

// CheckoutCompare is the comparison of a CI job that checked out commit
// checkedOut, which is what it builds when it can:
//   - a merge of the pull request's head (actions/checkout's default on
//     pull_request events, refs/pull/N/merge; GitLab's merged results
//     pipelines) is compared with its first parent, the base's tip it was
//     made on;
//   - the head itself (a workflow that checks out the head, a dispatched
//     run) is compared with its merge base with the base branch;
//   - anything else (an issue_comment run checks out the default branch)
//     is not the pull request's: the host's comparison is used, and the
//     sources come from the host's archives.
func CheckoutCompare(host scm.Host, commits CommitReader, checkedOut string) func(context.Context, scm.PullRequest) (scm.Comparison, error) {
	return func(ctx context.Context, pr scm.PullRequest) (scm.Comparison, error) {
		head := pr.HeadSHA
		if checkedOut == "" || checkedOut == head {
			mb, err := commits.MergeBase(ctx, pr.BaseSHA, head)
			if err != nil {
				return scm.Comparison{}, err
			}
			return scm.Comparison{Base: mb, Head: head, Mode: scm.CompareMergeBase, PullHead: head,
				Why: "the workflow checked out the head, not a merge"}, nil
		}
		parents, err := commits.Parents(ctx, checkedOut)
		if err != nil {
			return scm.Comparison{}, fmt.Errorf("read the checked-out commit %s: %w", short(checkedOut), err)
		}
		if len(parents) == 2 && parents[1] == head {
			return scm.Comparison{Base: parents[0], Head: checkedOut, Mode: scm.CompareMerge, PullHead: head}, nil
		}
		if pr.Number == 0 {
			return scm.Comparison{}, fmt.Errorf("the checked-out commit %s is not %s, the commit to check", short(checkedOut), short(head))
		}
		return host.Compare(ctx, pr)
	}
}

// CheckedOut is the commit checked out in a CI job's workspace, from git,
// or fallback (GITHUB_SHA, CI_COMMIT_SHA) when git cannot tell (no git in
// the image, a workspace owned by another user).
func CheckedOut(ctx context.Context, workspace, fallback string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", workspace, "rev-parse", "--verify", "--quiet", "HEAD").Output()
	if sha := strings.TrimSpace(string(out)); err == nil && sha != "" {
		return sha
	}
	return fallback
}

// DescribeComparison says which commits a run compared, for a log or a
// terminal; base names the base branch or revision ("" when unknown).
func DescribeComparison(c scm.Comparison, base string) string {
	if base == "" {
		base = "the base branch"
	}
	head, change := short(c.Head), short(c.PullHead)
	if c.WorkTree {
		head = "the work tree (on " + short(c.PullHead) + ")"
		change = head
	}
	var s string
	switch c.Mode {
	case scm.CompareMerge:
		s = fmt.Sprintf("compared the merge %s of %s into %s with %s at %s", short(c.Head), change, base, base, short(c.Base))
	case scm.CompareTip:
		s = fmt.Sprintf("compared %s with %s at %s", head, base, short(c.Base))
	default:
		s = fmt.Sprintf("compared %s with %s, its merge base with %s", head, short(c.Base), base)
	}
	if c.Why != "" {
		s += " (no merge to compare: " + c.Why + ")"
	}
	return s
}
