package gitlab

import (
	"context"
	"fmt"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// PullRequest reads merge request number (its IID) with its changed files.
//
// BaseSHA is the merge base GitLab diffs against (diff_refs.base_sha), so
// the changed files and a diff of base and head archives agree.
func (h *Host) PullRequest(ctx context.Context, number int) (*scm.PullRequest, error) {
	op := fmt.Sprintf("read merge request !%d of %s", number, h.project)
	mr, _, err := h.client.MergeRequests.GetMergeRequest(h.project, int64(number), nil, h.req(ctx, retryIdempotent)...)
	if err != nil {
		return nil, h.fail(op, err, needRead)
	}
	state, ok := mergeRequestStates[mr.State]
	if !ok {
		return nil, &Error{Op: op, msg: fmt.Sprintf("unknown merge request state %q", mr.State)}
	}
	head := mr.SHA
	if head == "" {
		head = mr.DiffRefs.HeadSha
	}
	base := mr.DiffRefs.BaseSha
	if base == "" {
		base = mr.DiffRefs.StartSha
	}
	if head == "" || base == "" {
		return nil, &Error{Op: op, msg: "GitLab has not prepared the merge request's diff yet (no diff_refs)", Hint: "run again in a moment"}
	}
	pr := &scm.PullRequest{
		Number:  int(mr.IID),
		Title:   mr.Title,
		URL:     mr.WebURL,
		BaseRef: mr.TargetBranch,
		BaseSHA: base,
		HeadRef: mr.SourceBranch,
		HeadSHA: head,
		Fork:    mr.SourceProjectID != mr.TargetProjectID,
		State:   state,
	}
	if mr.Author != nil {
		pr.Author = mr.Author.Username
	}
	if pr.ChangedFiles, err = h.changedFiles(ctx, number); err != nil {
		return nil, err
	}
	if strings.HasSuffix(mr.ChangesCount, "+") {
		// Over the instance's diff limits GitLab lists only some files.
		h.log.WarnContext(ctx, "gitlab: merge request has more changes than GitLab lists; changed files are incomplete",
			"project", h.project, "mr", number, "changes_count", mr.ChangesCount, "listed", len(pr.ChangedFiles))
	}
	return pr, nil
}

var mergeRequestStates = map[string]string{
	"opened": "open",
	"locked": "open", // briefly, while GitLab merges it
	"closed": "closed",
	"merged": "merged",
}

// changedFiles lists a merge request's changed paths through the diffs
// endpoint (the /changes endpoint is deprecated). A renamed file
// contributes its old path too: a model that moved away is changed there.
func (h *Host) changedFiles(ctx context.Context, number int) ([]string, error) {
	op := fmt.Sprintf("list the changes of merge request !%d of %s", number, h.project)
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	opt := &gl.ListMergeRequestDiffsOptions{ListOptions: gl.ListOptions{PerPage: perPage, Page: 1}}
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, &Error{Op: op, msg: fmt.Sprintf("more than %d pages", maxPages)}
		}
		diffs, resp, err := h.client.MergeRequests.ListMergeRequestDiffs(h.project, int64(number), opt, h.req(ctx, retryIdempotent)...)
		if err != nil {
			return nil, h.fail(op, err, needRead)
		}
		for _, d := range diffs {
			add(d.NewPath)
			if d.RenamedFile || d.DeletedFile {
				add(d.OldPath)
			}
		}
		if resp.NextPage == 0 {
			return files, nil
		}
		opt.Page = resp.NextPage
	}
}
