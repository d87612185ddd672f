package github_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

// TestCompare: with a test merge of the head, the merge is compared with
// its first parent; without one, the head with its merge base, saying why.
func TestCompare(t *testing.T) {
	const (
		root   = "1111111111111111111111111111111111111111"
		branch = "2222222222222222222222222222222222222222" // where the pull request branched
		tip    = "3333333333333333333333333333333333333333" // main moved on
		older  = "4444444444444444444444444444444444444444" // the head before the last push
		head   = "5555555555555555555555555555555555555555"
		merge  = "6666666666666666666666666666666666666666" // tip + head
		stale  = "7777777777777777777777777777777777777777" // tip + older
		newer  = "8888888888888888888888888888888888888888"
	)
	tests := []struct {
		name      string
		pr        githubtest.PullRequest
		want      scm.Comparison
		wantWaits int
	}{
		{name: "test merge", pr: githubtest.PullRequest{MergeCommitSHA: merge},
			want: scm.Comparison{Base: tip, Head: merge, Mode: scm.CompareMerge, PullHead: head}},
		{name: "conflict", pr: githubtest.PullRequest{Conflict: true},
			want: scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "the pull request conflicts with main"}},
		{name: "not computed yet", pr: githubtest.PullRequest{},
			want:      scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "GitHub has not computed the test merge yet"},
			wantWaits: github.DefaultMergeReads - 1},
		{name: "merge of an earlier head", pr: githubtest.PullRequest{MergeCommitSHA: stale},
			want: scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "GitHub's test merge is of an earlier head"}},
		{name: "head moved on", pr: githubtest.PullRequest{HeadSHA: newer, MergeCommitSHA: merge},
			want: scm.Comparison{Base: branch, Head: head, Mode: scm.CompareMergeBase, PullHead: head, Why: "the pull request's head moved on to 8888888"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			for sha, parents := range map[string][]string{root: nil, branch: {root}, tip: {branch}, older: {branch}, head: {older},
				merge: {tip, head}, stale: {tip, older}, newer: {head}} {
				e.fake.AddCommit(sha, parents...)
			}
			pr := tc.pr
			pr.Number, pr.BaseRef, pr.BaseSHA = 7, "main", tip
			if pr.HeadSHA == "" {
				pr.HeadSHA = head
			}
			e.fake.AddPullRequest(repo, pr)
			got, err := e.host.Compare(ctx(t), scm.PullRequest{Number: 7, BaseSHA: tip, HeadSHA: head})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if len(*e.sleeps) != tc.wantWaits {
				t.Errorf("waited %v, want %d waits", *e.sleeps, tc.wantWaits)
			}
			for _, d := range *e.sleeps {
				if d != github.DefaultMergeWait {
					t.Errorf("wait %s", d)
				}
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	e := setup(t, func(o *github.Options) { o.MergeWait, o.MergeReads = time.Millisecond, 1 })
	e.fake.AddPullRequest(repo, githubtest.PullRequest{Number: 7, BaseSHA: sha, HeadSHA: sha, MergeCommitSHA: "abc"})
	_, err := e.host.Compare(ctx(t), scm.PullRequest{Number: 7, BaseSHA: sha, HeadSHA: sha})
	if err == nil || !strings.Contains(err.Error(), "read commit abc") {
		t.Errorf("an unknown merge commit: %v", err)
	}
	e.fake.AddPullRequest(repo, githubtest.PullRequest{Number: 7, BaseSHA: sha, HeadSHA: sha, Conflict: true})
	_, err = e.host.Compare(ctx(t), scm.PullRequest{Number: 7, BaseSHA: sha, HeadSHA: sha})
	if err == nil || !strings.Contains(err.Error(), "find the merge base") {
		t.Errorf("unknown commits: %v", err)
	}
	noLeak(t, err)
}
