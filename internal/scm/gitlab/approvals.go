package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

var _ scm.Reviews = (*Host)(nil)

var (
	needApprovals = need{"read_api", "Reporter", "read merge request approvals"}
	needUsers     = need{"read_api", "Guest", "look users up by username"}
	needGroup     = need{"read_api", "Guest", "read a group's members"}
)

// Approvers returns the usernames, sorted, that approve merge request
// number now. GitLab keeps that list itself: an approval revoked, or
// reset by a push when the project says so, is gone from approved_by.
func (h *Host) Approvers(ctx context.Context, number int) ([]string, error) {
	op := fmt.Sprintf("read the approvals of merge request !%d of %s", number, h.project)
	a, _, err := h.client.MergeRequests.GetMergeRequestApprovals(h.project, int64(number), h.req(ctx, retryIdempotent)...)
	if err != nil {
		return nil, h.fail(op, err, needApprovals)
	}
	approvers := []string{}
	for _, by := range a.ApprovedBy {
		if by != nil && by.User != nil && by.User.Username != "" {
			approvers = append(approvers, by.User.Username)
		}
	}
	sort.Strings(approvers)
	return approvers, nil
}

// groupMember is GitLab's member, with membership_state, which client-go
// does not decode: a membership awaiting a seat grants nothing yet.
type groupMember struct {
	ID              int64               `json:"id"`
	Username        string              `json:"username"`
	State           string              `json:"state"`
	MembershipState string              `json:"membership_state"`
	AccessLevel     gl.AccessLevelValue `json:"access_level"`
}

// TeamMember reports whether user is an active member of the group of full
// path team ("group/subgroup"; a leading "@", as in CODEOWNERS, is
// allowed), directly or through a group above it. A user GitLab does not
// know, or a 404 for the membership, is no member; so is a blocked user, a
// membership awaiting a seat, and Minimal Access, which is no role in the
// group's projects.
func (h *Host) TeamMember(ctx context.Context, team, user string) (bool, error) {
	group := strings.Trim(strings.TrimPrefix(strings.TrimSpace(team), "@"), "/")
	if group == "" {
		return false, errors.New("gitlab: team membership: no group")
	}
	user = strings.TrimPrefix(strings.TrimSpace(user), "@")
	if user == "" {
		return false, errors.New("gitlab: team membership: no user")
	}
	id, found, err := h.userID(ctx, user)
	if err != nil || !found {
		return false, err
	}

	op := fmt.Sprintf("read the membership of %s in group %s", user, group)
	u := fmt.Sprintf("groups/%s/members/all/%d", gl.PathEscape(group), id)
	req, err := h.client.NewRequest(http.MethodGet, u, nil, h.req(ctx, retryIdempotent))
	if err != nil {
		return false, &Error{Op: op, msg: h.redact(err.Error())}
	}
	var m groupMember
	if _, err := h.client.Do(req, &m); err != nil {
		// GitLab answers a bare 404 for a user outside the group and for a
		// group the token cannot see alike.
		if statusOf(err) == http.StatusNotFound {
			return false, nil
		}
		return false, h.fail(op, err, needGroup)
	}
	active := (m.State == "" || m.State == "active") && (m.MembershipState == "" || m.MembershipState == "active")
	return active && m.AccessLevel >= gl.GuestPermissions, nil
}

// userID looks a user up by username, which GitLab matches exactly and in
// any case.
func (h *Host) userID(ctx context.Context, username string) (int64, bool, error) {
	op := fmt.Sprintf("look up the GitLab user %s", username)
	users, _, err := h.client.Users.ListUsers(&gl.ListUsersOptions{Username: &username}, h.req(ctx, retryIdempotent)...)
	if err != nil {
		return 0, false, h.fail(op, err, needUsers)
	}
	for _, u := range users {
		if u != nil && strings.EqualFold(u.Username, username) {
			return u.ID, true, nil
		}
	}
	return 0, false, nil
}
