package githubtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Review is a review of a pull request as the fake holds it.
type Review struct {
	ID   int64
	User string
	// State is GitHub's: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	// (a review that was dismissed) or PENDING (a draft).
	State    string
	CommitID string
}

var reviewStates = map[string]bool{
	"APPROVED": true, "CHANGES_REQUESTED": true, "COMMENTED": true, "DISMISSED": true, "PENDING": true,
}

func init() {
	handlers["pulls/list-reviews"] = (*Server).listReviews
	handlers["teams/get-membership-for-user-in-org"] = (*Server).getTeamMembership
}

// AddReview adds a review by user to a pull request of repo, after the
// ones added before (GitHub lists reviews oldest first), and returns its
// id. state is one of GitHub's review states, in any case. The review is of
// the pull request's head commit when the pull request was added first.
func (s *Server) AddReview(repo string, number int, user, state string) int64 {
	s.t.Helper()
	state = strings.ToUpper(state)
	if !reviewStates[state] {
		s.t.Fatalf("githubtest: AddReview: state %q is not one of APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING", state)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := issueKey(repo, number)
	commit := "ecdd80bb57125d7ba9641ffaa4d7d2c19d3f3091" // the description's example
	if pr := s.pulls[k]; pr != nil {
		if sha, _ := asMap(pr.object["head"])["sha"].(string); sha != "" {
			commit = sha
		}
	}
	if s.reviews == nil {
		s.reviews = map[string][]*Review{}
	}
	s.nextID++
	s.reviews[k] = append(s.reviews[k], &Review{ID: s.nextID, User: user, State: state, CommitID: commit})
	return s.nextID
}

// Reviews returns the reviews of a pull request, oldest first.
func (s *Server) Reviews(repo string, number int) []Review {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Review
	for _, r := range s.reviews[issueKey(repo, number)] {
		out = append(out, *r)
	}
	return out
}

// SetTeamMembers makes logins the active members of team (its slug) of
// org, replacing the members it had. A team without members still exists.
func (s *Server) SetTeamMembers(org, team string, logins ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	members := map[string]string{}
	for _, l := range logins {
		members[strings.ToLower(l)] = "active"
	}
	if s.teams == nil {
		s.teams = map[string]map[string]string{}
	}
	s.teams[teamKey(org, team)] = members
}

// SetTeamMembership sets one user's membership of a team: "active", or
// "pending" for an invitation not yet accepted; "" removes it.
func (s *Server) SetTeamMembership(org, team, login, state string) {
	s.t.Helper()
	if state != "" && state != "active" && state != "pending" {
		s.t.Fatalf("githubtest: SetTeamMembership: state %q is not active or pending", state)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.teams == nil {
		s.teams = map[string]map[string]string{}
	}
	k := teamKey(org, team)
	if s.teams[k] == nil {
		s.teams[k] = map[string]string{}
	}
	if state == "" {
		delete(s.teams[k], strings.ToLower(login))
		return
	}
	s.teams[k][strings.ToLower(login)] = state
}

func teamKey(org, team string) string { return strings.ToLower(org + "/" + team) }

func (s *Server) reviewObject(c *call, tmpl map[string]any, r *Review) map[string]any {
	obj, _ := deepCopy(tmpl).(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	repo, number := c.repoName(), c.params["pull_number"]
	html := fmt.Sprintf("https://github.com/%s/pull/%s#pullrequestreview-%d", repo, number, r.ID)
	api := fmt.Sprintf("https://api.github.com/repos/%s/pulls/%s", repo, number)
	obj["id"] = r.ID
	obj["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("PullRequestReview%d", r.ID)))
	obj["state"] = r.State
	obj["commit_id"] = r.CommitID
	obj["html_url"] = html
	obj["pull_request_url"] = api
	obj["_links"] = map[string]any{"html": map[string]any{"href": html}, "pull_request": map[string]any{"href": api}}
	setIf(obj, "user.login", r.User)
	if u := asMap(obj["user"]); u != nil {
		if strings.HasSuffix(r.User, "[bot]") {
			u["type"] = "Bot"
		} else {
			u["type"] = "User"
		}
	}
	if r.State == "PENDING" {
		delete(obj, "submitted_at") // a draft was never submitted
	}
	return obj
}

func (s *Server) listReviews(c *call) {
	pr := s.pull(c)
	if pr == nil {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	var tmpl map[string]any
	if list, ok := s.spec.example(c.op, 200).([]any); ok && len(list) > 0 {
		tmpl, _ = list[0].(map[string]any)
	}
	s.mu.Lock()
	var list []*Review
	for _, r := range s.reviews[issueKey(c.repo(), toInt(c.params["pull_number"]))] {
		// A draft review is seen by its author only.
		if r.State == "PENDING" && !strings.EqualFold(r.User, c.login) {
			continue
		}
		list = append(list, r)
	}
	page, next := paginate(c, len(list))
	items := []any{}
	for _, r := range list[page[0]:page[1]] {
		items = append(items, s.reviewObject(c, tmpl, r))
	}
	s.mu.Unlock()
	s.finish(c.w, c.rec, http.StatusOK, next, items)
}

func (s *Server) getTeamMembership(c *call) {
	org, team, user := c.params["org"], c.params["team_slug"], c.params["username"]
	s.mu.Lock()
	members, teamExists := s.teams[teamKey(org, team)]
	state := members[strings.ToLower(user)]
	s.mu.Unlock()
	// GitHub answers 404 alike for a missing team and for a user outside it.
	if !teamExists || state == "" {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	obj := s.example(c, 200)
	obj["url"] = fmt.Sprintf("https://api.github.com/orgs/%s/teams/%s/memberships/%s", org, team, user)
	obj["role"] = "member"
	obj["state"] = state
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}
