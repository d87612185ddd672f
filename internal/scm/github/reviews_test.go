package github_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

type review struct{ user, state string }

func TestApprovers(t *testing.T) {
	// 150 comments by one reviewer before anyone approves: the approvals
	// are on the second page of 100.
	var chatter []review
	for range 150 {
		chatter = append(chatter, review{"talker", "COMMENTED"})
	}
	tests := []struct {
		name    string
		reviews []review
		want    []string
		pages   int // requests to list-reviews; 0 means 1
	}{
		{name: "no reviews", want: []string{}},
		{
			name:    "approvals, sorted",
			reviews: []review{{"zed", "APPROVED"}, {"amy", "APPROVED"}},
			want:    []string{"amy", "zed"},
		},
		{
			name:    "approved then requested changes",
			reviews: []review{{"amy", "APPROVED"}, {"amy", "CHANGES_REQUESTED"}, {"bob", "APPROVED"}},
			want:    []string{"bob"},
		},
		{
			name:    "requested changes then approved",
			reviews: []review{{"amy", "CHANGES_REQUESTED"}, {"amy", "APPROVED"}},
			want:    []string{"amy"},
		},
		{
			name:    "a comment after an approval keeps it",
			reviews: []review{{"amy", "APPROVED"}, {"amy", "COMMENTED"}},
			want:    []string{"amy"},
		},
		{
			name:    "a comment is no approval",
			reviews: []review{{"amy", "COMMENTED"}},
			want:    []string{},
		},
		{
			name:    "dismissed approval",
			reviews: []review{{"amy", "DISMISSED"}, {"bob", "APPROVED"}},
			want:    []string{"bob"},
		},
		{
			name:    "approved again after a dismissal",
			reviews: []review{{"amy", "DISMISSED"}, {"amy", "APPROVED"}},
			want:    []string{"amy"},
		},
		{
			name:    "the same user in another case",
			reviews: []review{{"Amy", "APPROVED"}, {"amy", "CHANGES_REQUESTED"}},
			want:    []string{},
		},
		{
			name:    "a draft review of the token's user",
			reviews: []review{{githubtest.DefaultLogin, "PENDING"}},
			want:    []string{},
		},
		{
			name:    "second page",
			reviews: append(slices.Clone(chatter), review{"amy", "APPROVED"}, review{"talker", "APPROVED"}),
			want:    []string{"amy", "talker"},
			pages:   2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			for _, r := range tt.reviews {
				e.fake.AddReview(repo, 7, r.user, r.state)
			}
			got, err := e.host.Approvers(ctx(t), 7)
			if err != nil {
				t.Fatalf("Approvers: %v", err)
			}
			if !slices.Equal(got, tt.want) || got == nil {
				t.Errorf("Approvers = %#v, want %#v", got, tt.want)
			}
			pages := max(tt.pages, 1)
			if n := len(calls(e.fake, "pulls/list-reviews")); n != pages {
				t.Errorf("%d requests to list the reviews, want %d", n, pages)
			}
		})
	}
}

func TestApproversErrors(t *testing.T) {
	tests := []struct {
		name   string
		number int
		fail   *githubtest.Failure
		want   string
	}{
		{name: "no such pull request", number: 99, want: "list the reviews of pull request #99"},
		{
			name:   "server error after the retries",
			number: 7,
			fail:   &githubtest.Failure{Path: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", Status: 502, Times: 10},
			want:   "502",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			if tt.fail != nil {
				e.fake.Fail(*tt.fail)
			}
			got, err := e.host.Approvers(ctx(t), tt.number)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Approvers = %v, %v; want an error containing %q", got, err, tt.want)
			}
			noLeak(t, err)
		})
	}
}

func TestTeamMember(t *testing.T) {
	tests := []struct {
		name       string
		team, user string
		want       bool
		wantPath   string // the request's path; empty when none is sent
		wantErr    string
	}{
		{name: "member, org/team", team: "data-org/analysts", user: "amy", want: true,
			wantPath: "/orgs/data-org/teams/analysts/memberships/amy"},
		{name: "member of the owner's org", team: "leads", user: "bob", want: true,
			wantPath: "/orgs/" + owner + "/teams/leads/memberships/bob"},
		{name: "CODEOWNERS spelling", team: "@data-org/analysts", user: "@amy", want: true,
			wantPath: "/orgs/data-org/teams/analysts/memberships/amy"},
		{name: "not a member", team: "data-org/analysts", user: "bob",
			wantPath: "/orgs/data-org/teams/analysts/memberships/bob"},
		{name: "pending invitation", team: "data-org/analysts", user: "newcomer",
			wantPath: "/orgs/data-org/teams/analysts/memberships/newcomer"},
		{name: "no such team", team: "data-org/nobody", user: "amy",
			wantPath: "/orgs/data-org/teams/nobody/memberships/amy"},
		{name: "no user", team: "leads", user: " ", wantErr: "no user"},
		{name: "empty team", team: "", user: "amy", wantErr: "is not"},
		{name: "nested path", team: "data-org/a/b", user: "amy", wantErr: `team "data-org/a/b" is not`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.fake.SetTeamMembers("data-org", "analysts", "amy", "carol")
			e.fake.SetTeamMembership("data-org", "analysts", "newcomer", "pending")
			e.fake.SetTeamMembers(owner, "leads", "bob")
			got, err := e.host.TeamMember(ctx(t), tt.team, tt.user)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("TeamMember = %v, %v; want an error containing %q", got, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("TeamMember: %v", err)
			}
			if got != tt.want {
				t.Errorf("TeamMember = %v, want %v", got, tt.want)
			}
			reqs := calls(e.fake, "teams/get-membership-for-user-in-org")
			switch {
			case tt.wantPath == "" && len(reqs) != 0:
				t.Errorf("sent %d requests, want none", len(reqs))
			case tt.wantPath != "" && (len(reqs) != 1 || reqs[0].Path != tt.wantPath):
				t.Errorf("requests %+v, want one to %s", reqs, tt.wantPath)
			}
		})
	}
}

func TestTeamMemberErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   string
	}{
		{"token may not read the organization", http.StatusForbidden, "403"},
		{"server error", http.StatusBadGateway, "502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.fake.SetTeamMembers("data-org", "analysts", "amy")
			e.fake.Fail(githubtest.Failure{Path: "/orgs/{org}/teams/{team_slug}/memberships/{username}", Status: tt.status, Times: 10})
			got, err := e.host.TeamMember(ctx(t), "data-org/analysts", "amy")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "amy in team data-org/analysts") {
				t.Fatalf("TeamMember = %v, %v; want an error naming the team and %q", got, err, tt.want)
			}
			if got {
				t.Errorf("TeamMember = true along with an error")
			}
			noLeak(t, err)
		})
	}
}

// A finished context sends nothing.
func TestReviewsContextDone(t *testing.T) {
	e := setup(t)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.host.Approvers(c, 7); !errors.Is(err, context.Canceled) {
		t.Errorf("Approvers on a canceled context: %v", err)
	}
	if _, err := e.host.TeamMember(c, "leads", "amy"); !errors.Is(err, context.Canceled) {
		t.Errorf("TeamMember on a canceled context: %v", err)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests sent on a canceled context", n)
	}
}
