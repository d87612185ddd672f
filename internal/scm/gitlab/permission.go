package gitlab

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Permission tells a user's access to the project from their effective
// access level, inherited from groups included (/members/all). Someone who
// is not a member, or is blocked, has none.
func (h *Host) Permission(ctx context.Context, user string) (scm.Permission, error) {
	user = strings.TrimPrefix(strings.TrimSpace(user), "@")
	if user == "" {
		return scm.PermissionNone, errors.New("gitlab: permission of an empty username")
	}
	op := fmt.Sprintf("read the access level of %s in %s", user, h.project)
	opt := &gl.ListProjectMembersOptions{ListOptions: gl.ListOptions{PerPage: perPage, Page: 1}, Query: &user}
	level := gl.NoPermissions
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return scm.PermissionNone, &Error{Op: op, msg: fmt.Sprintf("more than %d pages", maxPages)}
		}
		members, resp, err := h.client.ProjectMembers.ListAllProjectMembers(h.project, opt, h.req(ctx, retryIdempotent)...)
		if err != nil {
			return scm.PermissionNone, h.fail(op, err, needMembers)
		}
		// query matches names and usernames in part: keep the exact user.
		for _, m := range members {
			if !strings.EqualFold(m.Username, user) || !activeMember(m) {
				continue
			}
			level = max(level, m.AccessLevel)
		}
		if resp.NextPage == 0 {
			return permissionOf(level), nil
		}
		opt.Page = resp.NextPage
	}
}

// activeMember: a blocked, banned or deactivated user grants nothing.
func activeMember(m *gl.ProjectMember) bool {
	return m.State == "" || m.State == "active"
}

// permissionOf maps GitLab's access levels onto GitHub's words.
func permissionOf(level gl.AccessLevelValue) scm.Permission {
	switch {
	case level >= gl.OwnerPermissions: // 50, and 60 for administrators
		return scm.PermissionAdmin
	case level >= gl.MaintainerPermissions: // 40
		return scm.PermissionMaintain
	case level >= gl.DeveloperPermissions: // 30
		return scm.PermissionWrite
	case level >= gl.ReporterPermissions: // 20
		return scm.PermissionTriage
	case level >= gl.MinimalAccessPermissions: // 15 planner, 10 guest, 5 minimal access
		return scm.PermissionRead
	}
	return scm.PermissionNone
}
