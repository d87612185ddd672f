package bot

import (
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
)

// TestUnpinned: what a command or re-run finds when it runs (the pull
// request read then, on every attempt) against the commit it was given
// for.
func TestUnpinned(t *testing.T) {
	const seen, pushed = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	comment := &Comment{Author: "octocat", Body: "/dataops rerun"}
	for _, c := range []struct {
		name    string
		ev      Event
		require bool
		says    []string // "" runs
	}{
		{"head unchanged", Event{Kind: Commented, Pinned: seen, Comment: comment, PullRequest: scm.PullRequest{HeadSHA: seen}}, true, nil},
		{"head moved", Event{Kind: Commented, Pinned: seen, Comment: comment, PullRequest: scm.PullRequest{HeadSHA: pushed}}, true,
			[]string{"moved from 1111111 to 2222222", "@octocat's command", "nothing ran"}},
		{"re-run of an older check", Event{Kind: Rerun, Pinned: seen, PullRequest: scm.PullRequest{HeadSHA: pushed}}, true,
			[]string{"checks of 1111111 were re-run", "moved to 2222222", "nothing ran"}},
		{"no pin in the bot", Event{Kind: Commented, Comment: comment, PullRequest: scm.PullRequest{HeadSHA: pushed}}, true,
			[]string{"could not read this pull request's head", "ran nothing"}},
		{"no pin in the Action", Event{Kind: Commented, Comment: comment, PullRequest: scm.PullRequest{HeadSHA: pushed}}, false, nil},
		{"a pin the Action was given", Event{Kind: Commented, Pinned: seen, Comment: comment, PullRequest: scm.PullRequest{HeadSHA: pushed}}, false,
			[]string{"moved from 1111111 to 2222222"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			why := unpinned(c.ev, c.require)
			if (why == "") != (c.says == nil) {
				t.Fatalf("unpinned = %q, want %q", why, c.says)
			}
			for _, s := range c.says {
				if !strings.Contains(why, s) {
					t.Errorf("unpinned = %q, want it to say %q", why, s)
				}
			}
		})
	}
}
