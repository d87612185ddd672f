package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Compare says what the checks of merge request pr compare. GitLab keeps
// the merge of a merge request's source into its target branch at
// refs/merge-requests/IID/merge; the merge_ref endpoint brings it up to
// date and names its commit, whose first parent is the target's tip and
// second the head. That merge against that tip shows only the merge
// request's change, however far the target moved on (it is what merged
// results pipelines build).
//
// Without a merge (a conflict, an empty merge request, a merge of an older
// head) the head is compared with its merge base with the target branch,
// and Why says so.
func (h *Host) Compare(ctx context.Context, pr scm.PullRequest) (scm.Comparison, error) {
	if pr.HeadSHA == "" {
		return scm.Comparison{}, fmt.Errorf("compare merge request !%d: no head commit", pr.Number)
	}
	op := fmt.Sprintf("read merge request !%d of %s", pr.Number, h.project)
	mr, _, err := h.client.MergeRequests.GetMergeRequest(h.project, int64(pr.Number), nil, h.req(ctx, retryIdempotent)...)
	if err != nil {
		return scm.Comparison{}, h.fail(op, err, needRead)
	}
	var why string
	switch {
	case mr.SHA != pr.HeadSHA:
		why = fmt.Sprintf("the merge request's head moved on to %s", short(mr.SHA))
	case mr.HasConflicts:
		why = fmt.Sprintf("the merge request conflicts with %s", mr.TargetBranch)
	default:
		merge, reason, err := h.mergeRef(ctx, pr.Number)
		if err != nil {
			return scm.Comparison{}, err
		}
		why = reason
		if merge != "" {
			parents, err := h.Parents(ctx, merge)
			if err != nil {
				return scm.Comparison{}, err
			}
			if len(parents) == 2 && parents[1] == pr.HeadSHA && parents[0] != "" {
				return scm.Comparison{Base: parents[0], Head: merge, Mode: scm.CompareMerge, PullHead: pr.HeadSHA}, nil
			}
			why = "GitLab's merge ref is of an earlier head"
		}
	}
	mb, err := h.MergeBase(ctx, mr.TargetBranch, pr.HeadSHA)
	if err != nil {
		return scm.Comparison{}, err
	}
	return scm.Comparison{Base: mb, Head: pr.HeadSHA, Mode: scm.CompareMergeBase, PullHead: pr.HeadSHA, Why: why}, nil
}

// mergeRef updates refs/merge-requests/IID/merge and returns its commit,
// or why there is none (GitLab's 400: a conflict, nothing to merge).
func (h *Host) mergeRef(ctx context.Context, number int) (sha, why string, err error) {
	op := fmt.Sprintf("read the merge ref of merge request !%d of %s", number, h.project)
	u := fmt.Sprintf("projects/%s/merge_requests/%d/merge_ref", gl.PathEscape(h.project), number)
	req, err := h.client.NewRequest(http.MethodGet, u, nil, h.req(ctx, retryIdempotent))
	if err != nil {
		return "", "", &Error{Op: op, msg: h.redact(err.Error())}
	}
	var out struct {
		CommitID string `json:"commit_id"`
	}
	if _, err := h.client.Do(req, &out); err != nil {
		var er *gl.ErrorResponse
		if statusOf(err) == http.StatusBadRequest && errors.As(err, &er) {
			var body struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(er.Body, &body) != nil || body.Message == "" {
				body.Message = describe(err)
			}
			return "", "GitLab has no merge ref: " + body.Message, nil
		}
		if st := statusOf(err); st == http.StatusForbidden || st == http.StatusNotFound {
			// The merge ref is updated on request, which a token may not be
			// allowed to ask, and which older GitLab lacks: the merge base
			// still tells the merge request's change.
			return "", fmt.Sprintf("GitLab answered %d to the merge ref request (%s)", st, h.accessProblem(st, err, needRead)), nil
		}
		return "", "", h.fail(op, err, needRead)
	}
	return out.CommitID, "", nil
}

// Parents are a commit's parents, first parent first.
func (h *Host) Parents(ctx context.Context, sha string) ([]string, error) {
	c, _, err := h.client.Commits.GetCommit(h.project, sha, nil, h.req(ctx, retryIdempotent)...)
	if err != nil {
		return nil, h.fail(fmt.Sprintf("read commit %s of %s", short(sha), h.project), err, needRead)
	}
	return c.ParentIDs, nil
}

// MergeBase is the best common ancestor of two refs (branches or commits).
func (h *Host) MergeBase(ctx context.Context, a, b string) (string, error) {
	refs := []string{a, b}
	c, _, err := h.client.Repositories.MergeBase(h.project, &gl.MergeBaseOptions{Ref: &refs}, h.req(ctx, retryIdempotent)...)
	if err != nil {
		return "", h.fail(fmt.Sprintf("find the merge base of %s and %s in %s", a, short(b), h.project), err, needRead)
	}
	return c.ID, nil
}
