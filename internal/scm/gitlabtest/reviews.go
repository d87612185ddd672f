package gitlabtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// What the merge gate reads: who approved a merge request, users by name,
// and group membership.

func init() {
	endpoints = append(endpoints,
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/projects/:id/merge_requests/:merge_request_iid/approvals",
			Doc:     "https://docs.gitlab.com/api/merge_request_approvals/#single-merge-request-approval",
			Path:    []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}},
			handle:  (*Server).getApprovals,
		},
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/users",
			Doc:     "https://docs.gitlab.com/api/users/#list-users",
			Params: []param{
				{Name: "username", Type: tString},
				{Name: "search", Type: tString},
				{Name: "public_email", Type: tString},
				{Name: "active", Type: tBoolean},
				{Name: "blocked", Type: tBoolean},
				{Name: "external", Type: tBoolean},
				{Name: "humans", Type: tBoolean},
				{Name: "exclude_active", Type: tBoolean},
				{Name: "exclude_external", Type: tBoolean},
				{Name: "exclude_humans", Type: tBoolean},
				{Name: "exclude_internal", Type: tBoolean},
				{Name: "without_project_bots", Type: tBoolean},
				{Name: "without_projects", Type: tBoolean},
				{Name: "admins", Type: tBoolean},
				{Name: "auditors", Type: tBoolean},
				{Name: "two_factor", Type: tString, Enum: []string{"enabled", "disabled"}},
				{Name: "created_after", Type: tString},
				{Name: "created_before", Type: tString},
				{Name: "extern_uid", Type: tString},
				{Name: "provider", Type: tString},
				{Name: "saml_provider_id", Type: tInteger},
				{Name: "skip_ldap", Type: tBoolean},
				{Name: "with_custom_attributes", Type: tBoolean},
				{Name: "order_by", Type: tString, Enum: []string{"id", "name", "username", "created_at", "updated_at"}},
				{Name: "sort", Type: tString, Enum: []string{"asc", "desc"}},
			},
			Paginated: true,
			handle:    (*Server).listUsers,
		},
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/groups/:id/members/all/:user_id",
			Doc:     "https://docs.gitlab.com/api/members/#get-a-member-of-a-group-or-project-including-inherited-and-invited-members",
			Path:    []param{{Name: "id", Type: tProjectID}, {Name: "user_id", Type: tInteger}},
			handle:  (*Server).getInheritedGroupMember,
		},
	)
	for _, e := range endpoints {
		if e.re == nil {
			e.re = compilePattern(e.Pattern)
		}
	}
}

// group is a GitLab group and its direct members.
type group struct {
	ID      int
	Path    string
	members []Member
}

// AddUser makes a user known to GET /users; users named in Approve,
// SetGroupMembers and the other helpers are known already.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		u.ID = s.id()
	}
	if u.Name == "" {
		u.Name = u.Username
	}
	if s.users == nil {
		s.users = map[string]User{}
	}
	s.users[strings.ToLower(u.Username)] = u
}

// knownUsersLocked returns every user the server has seen, once each.
func (s *Server) knownUsersLocked() []User {
	var out []User
	seen := map[string]bool{}
	add := func(u User) {
		k := strings.ToLower(u.Username)
		if u.Username == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, u)
	}
	add(s.user)
	for _, u := range s.users {
		add(u)
	}
	for _, m := range s.members {
		add(m.User)
	}
	for _, mr := range s.mrs {
		add(mr.Author)
	}
	for _, notes := range s.notes {
		for _, n := range notes {
			add(n.Author)
		}
	}
	for _, us := range s.approvals {
		for _, u := range us {
			add(u)
		}
	}
	for _, g := range s.groups {
		for _, m := range g.members {
			add(m.User)
		}
	}
	slices.SortFunc(out, func(a, b User) int { return a.ID - b.ID })
	return out
}

// userLocked returns the known user of username, or makes one up.
func (s *Server) userLocked(username string) User {
	for _, u := range s.knownUsersLocked() {
		if strings.EqualFold(u.Username, username) {
			return u
		}
	}
	u := User{ID: s.id(), Username: username, Name: username}
	if s.users == nil {
		s.users = map[string]User{}
	}
	s.users[strings.ToLower(username)] = u
	return u
}

// Approve records username's approval of merge request iid; approving
// twice is one approval, as on GitLab.
func (s *Server) Approve(iid int, username string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mrs[iid]; !ok {
		s.t.Fatalf("gitlabtest: Approve: no merge request !%d", iid)
	}
	u := s.userLocked(username)
	if slices.ContainsFunc(s.approvals[iid], func(a User) bool { return a.ID == u.ID }) {
		return
	}
	if s.approvals == nil {
		s.approvals = map[int][]User{}
	}
	s.approvals[iid] = append(s.approvals[iid], u)
}

// Unapprove withdraws username's approval of merge request iid, as the
// "Revoke approval" button (or a request for changes) does.
func (s *Server) Unapprove(iid int, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.approvals == nil {
		return
	}
	s.approvals[iid] = slices.DeleteFunc(s.approvals[iid], func(a User) bool { return strings.EqualFold(a.Username, username) })
}

// SetGroupMembers creates the group of full path group ("team/sub") if
// need be and makes usernames its direct, active Developer members,
// replacing the ones it had. Members of a parent group are members of its
// subgroups through /members/all, as on GitLab.
func (s *Server) SetGroupMembers(group string, usernames ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupLocked(group)
	g.members = nil
	for _, name := range usernames {
		g.members = append(g.members, Member{User: s.userLocked(name), AccessLevel: 30, State: "active", MembershipState: "active"})
	}
}

// AddGroupMember adds a direct membership of group, which is created if
// need be: for a blocked user or a membership awaiting a seat. Unset
// states are active; a user without an ID is looked up by username.
func (s *Server) AddGroupMember(group string, m Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupLocked(group)
	if m.ID == 0 {
		m.User = s.userLocked(m.Username)
	}
	if m.State == "" {
		m.State = "active"
	}
	if m.MembershipState == "" {
		m.MembershipState = "active"
	}
	if m.AccessLevel == 0 {
		m.AccessLevel = 30
	}
	g.members = append(g.members, m)
}

func (s *Server) groupLocked(path string) *group {
	path = strings.Trim(path, "/")
	if s.groups == nil {
		s.groups = map[string]*group{}
	}
	k := strings.ToLower(path)
	g, ok := s.groups[k]
	if !ok {
		g = &group{ID: s.id(), Path: path}
		s.groups[k] = g
	}
	return g
}

func (s *Server) getApprovals(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[c.intVar("merge_request_iid")]
	if !ok {
		return jsonError(http.StatusNotFound, "404 Not found")
	}
	approvedBy := []any{}
	userHasApproved := false
	for _, u := range s.approvals[mr.IID] {
		approvedBy = append(approvedBy, map[string]any{"user": s.userJSON(u)})
		userHasApproved = userHasApproved || u.ID == s.user.ID
	}
	return response{status: http.StatusOK, body: map[string]any{
		"id":                                mr.ID,
		"iid":                               mr.IID,
		"project_id":                        mr.TargetProjectID,
		"title":                             mr.Title,
		"description":                       mr.Description,
		"state":                             mr.State,
		"created_at":                        isoTime(mr.CreatedAt),
		"updated_at":                        isoTime(mr.UpdatedAt),
		"merge_status":                      "can_be_merged",
		"approved":                          true, // no approval rules: nothing is missing
		"approvals_required":                0,
		"approvals_left":                    0,
		"require_password_to_approve":       false,
		"approved_by":                       approvedBy,
		"suggested_approvers":               []any{},
		"approvers":                         []any{},
		"approver_groups":                   []any{},
		"user_has_approved":                 userHasApproved,
		"user_can_approve":                  !userHasApproved,
		"approval_rules_left":               []any{},
		"has_approval_rules":                false,
		"merge_request_approvers_available": false,
		"multiple_approval_rules_available": false,
		"invalid_approvers_rules":           []any{},
	}}
}

func (s *Server) listUsers(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	username, byName := c.str("username")
	search, _ := c.str("search")
	var found []User
	for _, u := range s.knownUsersLocked() {
		// username is an exact match, in any case; search a partial one of
		// the name or username.
		if byName && !strings.EqualFold(u.Username, username) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(u.Username), strings.ToLower(search)) &&
			!strings.Contains(strings.ToLower(u.Name), strings.ToLower(search)) {
			continue
		}
		found = append(found, u)
	}
	return pageResponse(c, found, func(u User) any { return s.userJSON(u) })
}

// findGroupLocked finds a group by ID or full path.
func (s *Server) findGroupLocked(id string) *group {
	if n, err := strconv.Atoi(id); err == nil {
		for _, g := range s.groups {
			if g.ID == n {
				return g
			}
		}
		return nil
	}
	return s.groups[strings.ToLower(strings.Trim(id, "/"))]
}

func (s *Server) getInheritedGroupMember(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.findGroupLocked(c.vars["id"])
	if g == nil {
		return jsonError(http.StatusNotFound, "404 Group Not Found")
	}
	// The group's own members and those of every group above it; a user in
	// several counts with the highest access level.
	id := c.intVar("user_id")
	var best *Member
	parts := strings.Split(strings.ToLower(g.Path), "/")
	for i := range parts {
		ancestor := s.groups[strings.Join(parts[:i+1], "/")]
		if ancestor == nil {
			continue
		}
		for _, m := range ancestor.members {
			if m.ID == id && (best == nil || m.AccessLevel > best.AccessLevel) {
				m := m
				best = &m
			}
		}
	}
	if best == nil {
		return jsonError(http.StatusNotFound, "404 Not found")
	}
	return response{status: http.StatusOK, body: s.memberJSON(*best)}
}
