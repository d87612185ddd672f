package gitlab

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
)

const (
	approvalsPattern   = "/projects/:id/merge_requests/:merge_request_iid/approvals"
	usersPattern       = "/users"
	groupMemberPattern = "/groups/:id/members/all/:user_id"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestApprovers(t *testing.T) {
	type step struct {
		user    string
		approve bool // false: revoke
	}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{name: "no approvals", want: []string{}},
		{name: "approvals, sorted", steps: []step{{"zed", true}, {"amy", true}}, want: []string{"amy", "zed"}},
		{name: "approved twice", steps: []step{{"amy", true}, {"amy", true}}, want: []string{"amy"}},
		{
			// GitLab's "Request changes" and "Revoke approval" both take
			// the approval away.
			name:  "approved then revoked",
			steps: []step{{"amy", true}, {"bob", true}, {"amy", false}},
			want:  []string{"bob"},
		},
		{name: "revoked then approved again", steps: []step{{"amy", true}, {"amy", false}, {"amy", true}}, want: []string{"amy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv)
			for _, s := range tt.steps {
				if s.approve {
					srv.Approve(gitlabtest.SeedMRIID, s.user)
				} else {
					srv.Unapprove(gitlabtest.SeedMRIID, s.user)
				}
			}
			got, err := h.Approvers(testContext(t), gitlabtest.SeedMRIID)
			if err != nil {
				t.Fatalf("Approvers: %v", err)
			}
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("Approvers = %#v, want %#v", got, tt.want)
			}
			if n := len(srv.RequestsTo(http.MethodGet, approvalsPattern)); n != 1 {
				t.Errorf("%d requests for the approvals, want 1", n)
			}
		})
	}
}

func TestApproversErrors(t *testing.T) {
	tests := []struct {
		name   string
		number int
		setup  func(*gitlabtest.Server)
		is     error
		want   string
	}{
		{name: "no such merge request", number: 404, is: ErrNotFound, want: "read the approvals of merge request !404"},
		{
			name: "token without read_api", number: gitlabtest.SeedMRIID, is: ErrForbidden, want: "read_api",
			setup: func(s *gitlabtest.Server) {
				s.Forbid(http.MethodGet, approvalsPattern, gitlabtest.ForbiddenScope)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv)
			if tt.setup != nil {
				tt.setup(srv)
			}
			got, err := h.Approvers(testContext(t), tt.number)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Approvers = %v, %v; want %v containing %q", got, err, tt.is, tt.want)
			}
		})
	}
}

func TestTeamMember(t *testing.T) {
	tests := []struct {
		name       string
		team, user string
		want       bool
		wantGroup  string // the escaped group of the membership request; empty when none is sent
		wantErr    string
	}{
		{name: "direct member", team: "data/analysts", user: "amy", want: true, wantGroup: "data%2Fanalysts"},
		{name: "member of the parent group", team: "data/analysts", user: "lead", want: true, wantGroup: "data%2Fanalysts"},
		{name: "CODEOWNERS spelling, other case", team: "@data/analysts", user: "@AMY", want: true, wantGroup: "data%2Fanalysts"},
		{name: "not a member", team: "data/analysts", user: "outsider", wantGroup: "data%2Fanalysts"},
		{name: "member of a subgroup only", team: "data", user: "amy", wantGroup: "data"},
		{name: "awaiting a seat", team: "data/analysts", user: "waiting", wantGroup: "data%2Fanalysts"},
		{name: "blocked user", team: "data/analysts", user: "blocked", wantGroup: "data%2Fanalysts"},
		{name: "minimal access", team: "data/analysts", user: "minimal", wantGroup: "data%2Fanalysts"},
		{name: "no such group", team: "nobody/here", user: "amy", wantGroup: "nobody%2Fhere"},
		{name: "GitLab user not found", team: "data/analysts", user: "ghost"},
		{name: "no user", team: "data", user: "@", wantErr: "no user"},
		{name: "no group", team: " / ", user: "amy", wantErr: "no group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv)
			srv.SetGroupMembers("data", "lead")
			srv.SetGroupMembers("data/analysts", "amy")
			srv.AddUser(gitlabtest.User{ID: 77, Username: "outsider"})
			srv.AddGroupMember("data/analysts", gitlabtest.Member{User: gitlabtest.User{Username: "waiting"}, MembershipState: "awaiting"})
			srv.AddGroupMember("data/analysts", gitlabtest.Member{User: gitlabtest.User{Username: "blocked"}, State: "blocked"})
			srv.AddGroupMember("data/analysts", gitlabtest.Member{User: gitlabtest.User{Username: "minimal"}, AccessLevel: 5})

			got, err := h.TeamMember(testContext(t), tt.team, tt.user)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("TeamMember = %v, %v; want an error containing %q", got, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("TeamMember: %v", err)
			}
			if got != tt.want {
				t.Errorf("TeamMember = %v, want %v", got, tt.want)
			}
			reqs := srv.RequestsTo(http.MethodGet, groupMemberPattern)
			switch {
			case tt.wantGroup == "" && len(reqs) > 0:
				t.Errorf("%d membership requests, want none", len(reqs))
			case tt.wantGroup != "" && (len(reqs) != 1 || !strings.HasPrefix(reqs[0].Path, "/groups/"+tt.wantGroup+"/members/all/")):
				t.Errorf("membership requests %+v, want one for group %s", reqs, tt.wantGroup)
			}
			if tt.wantErr == "" {
				users := srv.RequestsTo(http.MethodGet, usersPattern)
				if len(users) != 1 || !strings.EqualFold(users[0].Query.Get("username"), strings.TrimPrefix(tt.user, "@")) {
					t.Errorf("user lookups %+v, want one by username %s", users, tt.user)
				}
			}
		})
	}
}

func TestTeamMemberErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*gitlabtest.Server)
		is      error
		wantErr string
	}{
		{
			name:    "user lookup forbidden",
			setup:   func(s *gitlabtest.Server) { s.Forbid(http.MethodGet, usersPattern, gitlabtest.ForbiddenRole) },
			is:      ErrForbidden,
			wantErr: "look up the GitLab user amy",
		},
		{
			name: "membership lookup fails",
			setup: func(s *gitlabtest.Server) {
				for range 5 {
					s.FailNext(http.MethodGet, groupMemberPattern, http.StatusBadGateway, nil)
				}
			},
			is:      ErrServer,
			wantErr: "read the membership of amy in group data",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv)
			srv.SetGroupMembers("data", "amy")
			tt.setup(srv)
			got, err := h.TeamMember(testContext(t), "data", "amy")
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("TeamMember = %v, %v; want %v containing %q", got, err, tt.is, tt.wantErr)
			}
			if got {
				t.Error("TeamMember = true along with an error")
			}
			if strings.Contains(err.Error(), gitlabtest.DefaultToken) {
				t.Errorf("the error holds the token: %v", err)
			}
		})
	}
}
