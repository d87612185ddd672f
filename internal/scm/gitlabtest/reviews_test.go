package gitlabtest

import (
	"strconv"
	"strings"
	"testing"
)

func TestServerReviewEndpoints(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantErr    string // in what the server reports; empty: nothing
	}{
		{"approvals", "/projects/14/merge_requests/1/approvals", 200, ""},
		{"approvals of another project", "/projects/15/merge_requests/1/approvals", 404, ""},
		{"approvals of an unknown merge request", "/projects/14/merge_requests/9/approvals", 404, ""},
		{"users by username", "/users?username=amy", 200, ""},
		{"users, undocumented parameter", "/users?login=amy", 400, "parameter login is not documented"},
		{"users, order_by enum", "/users?order_by=login", 400, `"login" is not one of`},
		{"group member by path", "/groups/data%2Fanalysts/members/all/1", 404, ""},
		{"group member, user_id not an integer", "/groups/data/members/all/amy", 400, `"amy" is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := NewServer(rec)
			resp := do(t, s, "GET", tt.path, "", "", nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d (reported: %q)", resp.StatusCode, tt.wantStatus, rec.errors())
			}
			errs := rec.errors()
			if tt.wantErr == "" {
				if len(errs) > 0 {
					t.Errorf("reported %q, want nothing", errs)
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tt.wantErr) {
				t.Errorf("reported %q, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}

func TestServerGroupInheritance(t *testing.T) {
	s := NewServer(t)
	s.SetGroupMembers("data", "lead")
	s.SetGroupMembers("data/analysts", "amy")
	s.SetGroupMembers("datateam", "other") // a prefix of the name, not a parent
	var lead, other int
	s.mu.Lock()
	users := s.knownUsersLocked()
	s.mu.Unlock()
	for _, u := range users {
		switch u.Username {
		case "lead":
			lead = u.ID
		case "other":
			other = u.ID
		}
	}
	tests := []struct {
		name   string
		group  string
		userID int
		want   int
	}{
		{"from the parent", "data%2Fanalysts", lead, 200},
		{"by the group's own path", "data", lead, 200},
		{"not from a look-alike group", "data%2Fanalysts", other, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, s, "GET", "/groups/"+tt.group+"/members/all/"+strconv.Itoa(tt.userID), "", "", nil)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
