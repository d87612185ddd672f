package gitlab

import (
	"context"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
)

// TestCompare: GitLab's merge ref of the head is compared with its first
// parent; without one, the head with its merge base with the target
// branch, saying why.
func TestCompare(t *testing.T) {
	const (
		root   = "1111111111111111111111111111111111111111"
		branch = "2222222222222222222222222222222222222222"
		tip    = "3333333333333333333333333333333333333333"
		older  = "4444444444444444444444444444444444444444"
		head   = "5555555555555555555555555555555555555555"
		merge  = "6666666666666666666666666666666666666666"
		stale  = "7777777777777777777777777777777777777777"
		newer  = "8888888888888888888888888888888888888888"
	)
	tests := []struct {
		name string
		mr   gitlabtest.MergeRequest
		want scm.Comparison
	}{
		{name: "merge ref", mr: gitlabtest.MergeRequest{MergeRefSHA: merge},
			want: scm.Comparison{Base: tip, Head: merge, Mode: scm.CompareMerge, PullHead: head}},
		{name: "conflict", mr: gitlabtest.MergeRequest{Conflict: true},
			want: scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "the merge request conflicts with main"}},
		{name: "no merge ref", mr: gitlabtest.MergeRequest{},
			want: scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "GitLab has no merge ref: Merge ref cannot be updated"}},
		{name: "merge ref of an earlier head", mr: gitlabtest.MergeRequest{MergeRefSHA: stale},
			want: scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "GitLab's merge ref is of an earlier head"}},
		{name: "head moved on", mr: gitlabtest.MergeRequest{SHA: newer, MergeRefSHA: merge},
			want: scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "the merge request's head moved on to 888888888888"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv)
			for sha, parents := range map[string][]string{root: nil, branch: {root}, tip: {branch}, older: {branch}, head: {older},
				merge: {tip, head}, stale: {tip, older}, newer: {head}} {
				srv.SetParents(sha, parents...)
			}
			mr := tc.mr
			mr.IID, mr.SourceBranch, mr.TargetBranch, mr.BaseSHA, mr.StartSHA = 7, "feature", "main", branch, tip
			if mr.SHA == "" {
				mr.SHA = head
			}
			srv.AddMergeRequest(mr)
			got, err := h.Compare(context.Background(), scm.PullRequest{Number: 7, BaseSHA: branch, HeadSHA: head})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	h, _ := newHost(t, srv)
	srv.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, SourceBranch: "feature", TargetBranch: "main", SHA: headSHA, MergeRefSHA: "abc"})
	_, err := h.Compare(context.Background(), scm.PullRequest{Number: 7, HeadSHA: headSHA})
	if err == nil || !strings.Contains(err.Error(), "read commit abc") {
		t.Errorf("an unknown merge commit: %v", err)
	}
	// A token the merge ref refuses: the merge base, saying why.
	srv.SetParents(headSHA)
	srv.SetBranch("main", headSHA)
	srv.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, SourceBranch: "feature", TargetBranch: "main", SHA: headSHA, StartSHA: headSHA, MergeRefSHA: "abc"})
	srv.FailNext("GET", "/projects/:id/merge_requests/:merge_request_iid/merge_ref", 403, nil)
	got, err := h.Compare(context.Background(), scm.PullRequest{Number: 7, HeadSHA: headSHA})
	if err != nil || got.Mode != scm.CompareMergeBase || !strings.Contains(got.Why, "GitLab answered 403 to the merge ref request") {
		t.Errorf("a refused merge ref: %+v %v", got, err)
	}
	_, err = h.Compare(context.Background(), scm.PullRequest{Number: 8, HeadSHA: headSHA})
	if err == nil || !strings.Contains(err.Error(), "merge request !8") {
		t.Errorf("no merge request: %v", err)
	}
}
