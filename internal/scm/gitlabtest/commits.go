package gitlabtest

import (
	"net/http"
	"time"
)

// What a merge request's checks compare: GitLab's merge ref, commits'
// parents, and merge bases.

func init() {
	endpoints = append(endpoints,
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/projects/:id/merge_requests/:merge_request_iid/merge_ref",
			Doc:     "https://docs.gitlab.com/api/merge_requests/#merge-to-default-merge-ref-path",
			Path:    []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}},
			handle:  (*Server).getMergeRef,
		},
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/projects/:id/repository/commits/:sha",
			Doc:     "https://docs.gitlab.com/api/commits/#get-a-single-commit",
			Path:    []param{{Name: "id", Type: tProjectID}, {Name: "sha", Type: tString}},
			Params:  []param{{Name: "stats", Type: tBoolean}},
			handle:  (*Server).getCommit,
		},
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/projects/:id/repository/merge_base",
			Doc:     "https://docs.gitlab.com/api/repositories/#merge-base",
			Path:    []param{{Name: "id", Type: tProjectID}},
			Params:  []param{{Name: "refs", Type: tStrArray, Required: true}},
			handle:  (*Server).getMergeBase,
		},
	)
	for _, e := range endpoints {
		if e.re == nil {
			e.re = compilePattern(e.Pattern)
		}
	}
}

// SetParents makes sha a known commit with these parents, first parent
// first.
func (s *Server) SetParents(sha string, parents ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parents[sha] = append([]string(nil), parents...)
	if _, ok := s.commits[sha]; !ok {
		s.commits[sha] = "main"
	}
}

// SetBranch points a branch at sha (a merge request already points its
// source branch at its head, and its target at its start SHA).
func (s *Server) SetBranch(name, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.branches[name] = sha
}

func mergeStatus(mr *MergeRequest) string {
	if mr.Conflict {
		return "cannot_be_merged"
	}
	return "can_be_merged"
}

func detailedMergeStatus(mr *MergeRequest) string {
	if mr.Conflict {
		return "conflict"
	}
	return "mergeable"
}

func (s *Server) getMergeRef(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[c.intVar("merge_request_iid")]
	switch {
	case !ok:
		return jsonError(http.StatusNotFound, "404 Not found")
	case mr.Conflict || mr.State != "opened":
		return jsonError(http.StatusBadRequest, "Merge request is not mergeable")
	case mr.MergeRefSHA == "":
		return jsonError(http.StatusBadRequest, "Merge ref cannot be updated")
	}
	return response{status: http.StatusOK, body: map[string]any{"commit_id": mr.MergeRefSHA}}
}

func (s *Server) commitJSON(sha string) map[string]any {
	parents := s.parents[sha]
	if parents == nil {
		parents = []string{}
	}
	t := isoTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	return map[string]any{
		"id": sha, "short_id": sha[:min(8, len(sha))], "title": "commit " + sha[:min(8, len(sha))],
		"message": "commit " + sha, "author_name": "Dev", "author_email": "dev@example.com",
		"authored_date": t, "committer_name": "Dev", "committer_email": "dev@example.com", "committed_date": t,
		"created_at": t, "parent_ids": parents, "trailers": map[string]any{}, "extended_trailers": map[string]any{},
		"web_url": s.projectWebURL() + "/-/commit/" + sha,
	}
}

func (s *Server) getCommit(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha := s.resolve(c.vars["sha"])
	if _, ok := s.parents[sha]; !ok {
		return jsonError(http.StatusNotFound, "404 Commit Not Found")
	}
	return response{status: http.StatusOK, body: s.commitJSON(sha)}
}

// resolve turns a branch name into its tip; a SHA stays itself.
func (s *Server) resolve(ref string) string {
	if sha, ok := s.branches[ref]; ok {
		return sha
	}
	return ref
}

func (s *Server) getMergeBase(c *call) response {
	refs, _ := c.params["refs"].([]string)
	if len(refs) < 2 {
		return jsonError(http.StatusBadRequest, "Provide at least 2 refs")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var shas []string
	for _, ref := range refs {
		sha := s.resolve(ref)
		if _, ok := s.parents[sha]; !ok {
			return jsonError(http.StatusBadRequest, "Could not find ref: "+ref)
		}
		shas = append(shas, sha)
	}
	if mb := s.parents.MergeBase(shas...); mb != "" {
		return response{status: http.StatusOK, body: s.commitJSON(mb)}
	}
	return jsonError(http.StatusNotFound, "404 Merge Base Not Found")
}
