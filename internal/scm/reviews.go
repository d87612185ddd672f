package scm

import "context"

// Reviews is what the merge gate reads from a host: who approved, and team
// membership. It is apart from Host because only the gate needs it, and
// the local host has no reviews to give.
type Reviews interface {
	// Approvers returns the logins whose latest review of the pull
	// request's current state is an approval (GitHub: latest review per
	// user is APPROVED, ignoring COMMENTED reviews and dismissed ones;
	// GitLab: approved_by of the MR approvals endpoint).
	Approvers(ctx context.Context, number int) ([]string, error)
	// TeamMember reports whether user is an active member of team: GitHub
	// "org/team-slug" or "team-slug" (the repository owner's org) via GET
	// /orgs/{org}/teams/{team_slug}/memberships/{username} (404 = not a
	// member; state must be "active"); GitLab a group path
	// "group/subgroup" via GET /groups/:id/members/all/:user_id (needs the
	// user id: look the user up by username with GET /users?username=).
	TeamMember(ctx context.Context, team, user string) (bool, error)
}
