package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

var _ scm.Reviews = (*Host)(nil)

// maxReviewPages bounds the pages of reviews read: GitHub keeps at most a
// few thousand reviews on a pull request, and a server that never stops
// paging must not hold the gate forever.
const maxReviewPages = 100

// Approvers returns the logins, sorted, whose latest review of pull
// request number approves it. A COMMENTED review neither approves nor
// withdraws an approval, so it is skipped; a review that was dismissed
// (stale after a push, or by a maintainer) reads DISMISSED and withdraws
// it, as does a later CHANGES_REQUESTED. PENDING reviews are drafts that
// only their author sees.
func (h *Host) Approvers(ctx context.Context, number int) ([]string, error) {
	if err := ctxOK(ctx); err != nil {
		return nil, err
	}
	// GitHub lists reviews oldest first, so a later review overwrites an
	// earlier one of the same user.
	latest := map[string]string{} // lower-case login -> state
	logins := map[string]string{} // lower-case login -> login as GitHub spells it
	opts := &gh.ListOptions{PerPage: 100}
	for pages := 0; ; pages++ {
		if pages == maxReviewPages {
			return nil, fmt.Errorf("list the reviews of pull request #%d: more than %d pages", number, maxReviewPages)
		}
		reviews, resp, err := h.client.PullRequests.ListReviews(ctx, h.owner, h.repo, number, opts)
		if err != nil {
			return nil, h.fail(err, "list the reviews of pull request #%d", number)
		}
		for _, r := range reviews {
			login := r.GetUser().GetLogin()
			if login == "" { // a deleted account ("ghost") approves nothing
				continue
			}
			switch state := strings.ToUpper(r.GetState()); state {
			case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
				key := strings.ToLower(login)
				latest[key] = state
				logins[key] = login
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	approvers := []string{}
	for key, state := range latest {
		if state == "APPROVED" {
			approvers = append(approvers, logins[key])
		}
	}
	sort.Strings(approvers)
	return approvers, nil
}

// TeamMember reports whether user is an active member of team, written
// "org/team-slug" or "team-slug" for a team of the repository owner's
// organization (a leading "@", as in CODEOWNERS, is allowed). GitHub
// answers 404 for a user outside the team, and also for a team the token
// cannot see: a GITHUB_TOKEN cannot read an organization's teams, which
// needs a GitHub App with the "members" organization permission or a
// token with read:org. A pending membership (an invitation not yet
// accepted) is not a member.
func (h *Host) TeamMember(ctx context.Context, team, user string) (bool, error) {
	if err := ctxOK(ctx); err != nil {
		return false, err
	}
	org, slug, err := h.splitTeam(team)
	if err != nil {
		return false, err
	}
	user = strings.TrimPrefix(strings.TrimSpace(user), "@")
	if user == "" {
		return false, errors.New("read team membership: no user")
	}
	m, _, err := h.client.Teams.GetTeamMembershipBySlug(ctx, url.PathEscape(org), url.PathEscape(slug), url.PathEscape(user))
	if err != nil {
		if status(err) == http.StatusNotFound {
			return false, nil
		}
		return false, h.fail(err, "read the membership of %s in team %s/%s", user, org, slug)
	}
	return m.GetState() == "active", nil
}

// splitTeam reads "org/team-slug" or "team-slug".
func (h *Host) splitTeam(team string) (org, slug string, err error) {
	t := strings.TrimPrefix(strings.TrimSpace(team), "@")
	org, slug, found := strings.Cut(t, "/")
	if !found {
		org, slug = h.owner, t
	}
	if org == "" || slug == "" || strings.ContainsAny(slug, "/ \t\n") || strings.ContainsAny(org, " \t\n") {
		return "", "", fmt.Errorf("team %q is not \"org/team-slug\" or \"team-slug\"", team)
	}
	return org, slug, nil
}
