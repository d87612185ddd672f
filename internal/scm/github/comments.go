package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// UpsertComment edits the pull request's comment that holds marker, or
// creates it. The marker is appended to body when body lacks it, so that
// the next call finds the comment. Bodies over GitHub's limit are refused:
// shortening markdown well is the caller's job. A token that may not write
// comments is logged once and the comment skipped.
func (h *Host) UpsertComment(ctx context.Context, number int, marker, body string) error {
	if err := ctxOK(ctx); err != nil {
		return err
	}
	if strings.TrimSpace(marker) == "" {
		return fmt.Errorf("comment on pull request #%d: empty marker", number)
	}
	if !strings.Contains(body, marker) {
		body = strings.TrimRight(body, "\n") + "\n\n" + marker + "\n"
	}
	if n := utf8.RuneCountInString(body); n > MaxCommentBody {
		return fmt.Errorf("comment %s on pull request #%d: the body is %d characters, over GitHub's limit of %d; shorten it first", marker, number, n, MaxCommentBody)
	}
	if h.lacks(permPullRequests) {
		return nil
	}

	key := commentKey{number, marker}
	h.mu.Lock()
	last, remembered := h.comments[key]
	h.mu.Unlock()
	// current is the body on GitHub as far as this Host knows: an edit to
	// the same body would only notify people.
	id, current := last.id, last.body
	if !remembered {
		found, err := h.findComment(ctx, number, marker)
		if err != nil {
			return err
		}
		if found != nil {
			id, current = found.GetID(), found.GetBody()
		}
	}

	if id != 0 {
		if current == body {
			h.remember(key, id, body)
			return nil
		}
		_, _, err := h.client.Issues.EditComment(ctx, h.owner, h.repo, id, &gh.IssueComment{Body: gh.String(body)})
		switch {
		case err == nil:
			h.remember(key, id, body)
			return nil
		case remembered && status(err) == http.StatusNotFound:
			// Deleted since: find it again, or write a new one.
			h.mu.Lock()
			delete(h.comments, key)
			h.mu.Unlock()
			return h.UpsertComment(ctx, number, marker, body)
		case isForbidden(err):
			h.warnMissing(permPullRequests, "edit comments on pull request #"+fmt.Sprint(number), "skipping the comment (\"issues: write\" would do too)", err)
			return nil
		default:
			return h.fail(err, "edit comment %d on pull request #%d", id, number)
		}
	}

	created, _, err := h.client.Issues.CreateComment(ctx, h.owner, h.repo, number, &gh.IssueComment{Body: gh.String(body)})
	if isForbidden(err) {
		h.warnMissing(permPullRequests, "comment on pull request #"+fmt.Sprint(number), "skipping the comment (\"issues: write\" would do too)", err)
		return nil
	}
	if err != nil {
		return h.fail(err, "comment on pull request #%d", number)
	}
	h.remember(key, created.GetID(), body)
	return nil
}

func (h *Host) remember(k commentKey, id int64, body string) {
	h.mu.Lock()
	h.comments[k] = commentState{id, body}
	h.mu.Unlock()
}

// findComment returns the oldest comment holding marker, preferring one
// written by a bot (the identity of the token is not known cheaply: a
// workflow's token cannot read /user), or nil.
func (h *Host) findComment(ctx context.Context, number int, marker string) (*gh.IssueComment, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	var first *gh.IssueComment
	for {
		page, resp, err := h.client.Issues.ListComments(ctx, h.owner, h.repo, number, opts)
		if err != nil {
			return nil, h.fail(err, "list comments of pull request #%d", number)
		}
		for _, c := range page {
			if !strings.Contains(c.GetBody(), marker) {
				continue
			}
			if c.GetUser().GetType() == "Bot" {
				return c, nil
			}
			if first == nil {
				first = c
			}
		}
		if resp.NextPage == 0 {
			return first, nil
		}
		opts.Page = resp.NextPage
	}
}

// React adds a reaction to an issue comment of the pull request; adding
// one that is there already is not an error. A token that may not react is
// logged once and the reaction skipped.
func (h *Host) React(ctx context.Context, number int, commentID int64, r scm.Reaction) error {
	if err := ctxOK(ctx); err != nil {
		return err
	}
	switch r {
	case scm.ReactionEyes, scm.ReactionRocket, scm.ReactionConfused,
		"+1", "-1", "laugh", "heart", "hooray":
	default:
		return fmt.Errorf("react to comment %d on pull request #%d: GitHub has no reaction %q", commentID, number, r)
	}
	if h.lacks(permPullRequests) {
		return nil
	}
	_, _, err := h.client.Reactions.CreateIssueCommentReaction(ctx, h.owner, h.repo, commentID, string(r))
	if isForbidden(err) {
		h.warnMissing(permPullRequests, "react to comments on pull request #"+fmt.Sprint(number), "skipping reactions and comments (\"issues: write\" would do too)", err)
		return nil
	}
	return h.fail(err, "react %s to comment %d on pull request #%d", r, commentID, number)
}
