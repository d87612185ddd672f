package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Compare says what the checks of pr compare. GitHub keeps a test merge
// commit of every mergeable pull request into its base branch
// (refs/pull/N/merge, merge_commit_sha); its first parent is the base
// branch's tip it was made on, its second the head. Comparing that merge
// with that tip shows only the pull request's change, however far the base
// moved on. The pull request is read again rather than taken from the
// event: a payload's merge_commit_sha may be of an earlier head.
//
// Without a usable merge (a conflict, GitHub still computing it, a merge of
// an older head) the head is compared with its merge base, which GitHub's
// compare endpoint tells, and Why says so.
func (h *Host) Compare(ctx context.Context, pr scm.PullRequest) (scm.Comparison, error) {
	if err := ctxOK(ctx); err != nil {
		return scm.Comparison{}, err
	}
	if pr.HeadSHA == "" {
		return scm.Comparison{}, fmt.Errorf("compare pull request #%d: no head commit", pr.Number)
	}
	var why string
	base := pr.BaseSHA
	for read := 1; ; read++ {
		got, _, err := h.client.PullRequests.Get(ctx, h.owner, h.repo, pr.Number)
		if err != nil {
			return scm.Comparison{}, h.fail(err, "read pull request #%d", pr.Number)
		}
		if got.GetBase().GetSHA() != "" {
			base = got.GetBase().GetSHA()
		}
		ref := got.GetBase().GetRef()
		switch {
		case got.GetHead().GetSHA() != pr.HeadSHA:
			why = fmt.Sprintf("the pull request's head moved on to %s", short(got.GetHead().GetSHA()))
		case got.Mergeable == nil && read < h.mergeReads:
			if err := h.retry.sleep(ctx, h.mergeWait); err != nil {
				return scm.Comparison{}, err
			}
			continue
		case got.Mergeable == nil:
			why = "GitHub has not computed the test merge yet"
		case !got.GetMergeable():
			why = fmt.Sprintf("the pull request conflicts with %s", ref)
		case got.GetMergeCommitSHA() == "":
			why = "GitHub has no test merge commit"
		default:
			merge := got.GetMergeCommitSHA()
			ps, err := h.Parents(ctx, merge)
			if err != nil {
				return scm.Comparison{}, err
			}
			if len(ps) == 2 && ps[1] == pr.HeadSHA && ps[0] != "" {
				return scm.Comparison{Base: ps[0], Head: merge, Mode: scm.CompareMerge, PullHead: pr.HeadSHA}, nil
			}
			why = "GitHub's test merge is of an earlier head"
		}
		break
	}
	mb, err := h.MergeBase(ctx, base, pr.HeadSHA)
	if err != nil {
		return scm.Comparison{}, err
	}
	return scm.Comparison{Base: mb, Head: pr.HeadSHA, Mode: scm.CompareMergeBase, PullHead: pr.HeadSHA, Why: why}, nil
}

// MergeBase is the best common ancestor of two commits, from GitHub's
// compare endpoint (one commit per page: only merge_base_commit is read).
func (h *Host) MergeBase(ctx context.Context, a, b string) (string, error) {
	cmp, _, err := h.client.Repositories.CompareCommits(ctx, h.owner, h.repo, a, b, &gh.ListOptions{PerPage: 1})
	if err != nil {
		return "", h.fail(err, "find the merge base of %s and %s", short(a), short(b))
	}
	sha := cmp.GetMergeBaseCommit().GetSHA()
	if sha == "" {
		return "", fmt.Errorf("find the merge base of %s and %s: the commits share no history", short(a), short(b))
	}
	return sha, nil
}

// Parents are a commit's parents, first parent first.
func (h *Host) Parents(ctx context.Context, sha string) ([]string, error) {
	c, _, err := h.client.Git.GetCommit(ctx, h.owner, h.repo, sha)
	if err != nil {
		return nil, h.fail(err, "read commit %s", short(sha))
	}
	var out []string
	for _, p := range c.Parents {
		out = append(out, p.GetSHA())
	}
	return out, nil
}
