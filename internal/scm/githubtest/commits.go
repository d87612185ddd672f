package githubtest

import (
	"net/http"
	"strings"
)

func init() {
	handlers["git/get-commit"] = (*Server).getGitCommit
	// GitHub's description has BASE...HEAD twice: as one parameter and as
	// two; go-github's path matches both, and the fake picks the latter.
	handlers["repos/compare-commits-with-basehead"] = (*Server).compareCommits
	handlers["repos/compare-commits"] = (*Server).compareCommits
}

// AddCommit registers a commit and its parents, first parent first: the
// git commits and compare endpoints answer from this graph, as GitHub's
// answer from the repository's history.
func (s *Server) AddCommit(sha string, parents ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits[sha] = append([]string(nil), parents...)
}

// SetBranch points a branch at a registered commit: the compare endpoint
// takes branch names as GitHub's does.
func (s *Server) SetBranch(name, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.branches[name] = sha
}

func (s *Server) commitObject(c *call, sha string, parents []string) map[string]any {
	repo := c.repoName()
	ps := []any{}
	for _, p := range parents {
		ps = append(ps, map[string]any{"sha": p, "url": "https://api.github.com/repos/" + repo + "/git/commits/" + p,
			"html_url": "https://github.com/" + repo + "/commit/" + p})
	}
	obj := s.example(c, 200)
	obj["sha"] = sha
	obj["url"] = "https://api.github.com/repos/" + repo + "/git/commits/" + sha
	obj["html_url"] = "https://github.com/" + repo + "/commit/" + sha
	obj["parents"] = ps
	return obj
}

func (s *Server) getGitCommit(c *call) {
	sha := c.params["commit_sha"]
	s.mu.Lock()
	parents, ok := s.commits[sha]
	s.mu.Unlock()
	if !ok {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	s.finish(c.w, c.rec, http.StatusOK, nil, s.commitObject(c, sha, parents))
}

// compareCommits serves BASE...HEAD: the merge base, how far each side is
// ahead, and no commits or files (the fake does not keep them).
func (s *Server) compareCommits(c *call) {
	base, head, ok := c.params["base"], c.params["head"], true
	if bh, given := c.params["basehead"]; given {
		base, head, ok = strings.Cut(bh, "...")
	}
	s.mu.Lock()
	if sha, ok := s.branches[base]; ok {
		base = sha
	}
	if sha, ok := s.branches[head]; ok {
		head = sha
	}
	_, knowBase := s.commits[base]
	_, knowHead := s.commits[head]
	var mb string
	var ahead, behind int
	if ok && knowBase && knowHead {
		mb = s.commits.MergeBase(base, head)
		ib, ih := s.commits.Ancestors(base), s.commits.Ancestors(head)
		for x := range ih {
			if !ib[x] {
				ahead++
			}
		}
		for x := range ib {
			if !ih[x] {
				behind++
			}
		}
	}
	s.mu.Unlock()
	if !ok || !knowBase || !knowHead {
		s.respondError(c, http.StatusNotFound, "Not Found")
		return
	}
	if mb == "" {
		s.respondError(c, http.StatusNotFound, "No common ancestor between %s and %s.", base, head)
		return
	}
	obj := s.example(c, 200)
	repo := c.repoName()
	baseObj, mbObj := s.repoCommit(c, obj["base_commit"], base), s.repoCommit(c, obj["merge_base_commit"], mb)
	obj["base_commit"], obj["merge_base_commit"] = baseObj, mbObj
	status := "diverged"
	switch {
	case ahead == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case ahead == 0:
		status = "behind"
	}
	obj["status"], obj["ahead_by"], obj["behind_by"], obj["total_commits"] = status, ahead, behind, ahead
	obj["commits"], obj["files"] = []any{}, []any{}
	obj["url"] = "https://api.github.com/repos/" + repo + "/compare/" + base + "..." + head
	obj["html_url"] = "https://github.com/" + repo + "/compare/" + base + "..." + head
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

// repoCommit is the example's commit object for sha and its parents; the
// caller does not hold s.mu.
func (s *Server) repoCommit(c *call, example any, sha string) map[string]any {
	obj, _ := deepCopy(example).(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	s.mu.Lock()
	parents := s.commits[sha]
	s.mu.Unlock()
	repo := c.repoName()
	ps := []any{}
	for _, p := range parents {
		ps = append(ps, map[string]any{"sha": p, "url": "https://api.github.com/repos/" + repo + "/commits/" + p})
	}
	obj["sha"] = sha
	obj["url"] = "https://api.github.com/repos/" + repo + "/commits/" + sha
	obj["parents"] = ps
	return obj
}
