// Package commitgraph answers the history questions the GitHub and GitLab
// test doubles serve (a commit's ancestors, the merge base of commits) from
// a graph of commits and their parents, as git answers them.
package commitgraph

import "sort"

// Graph maps a commit to its parents, first parent first.
type Graph map[string][]string

// Ancestors returns sha and every commit reachable from it.
func (g Graph) Ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !seen[c] {
			seen[c] = true
			stack = append(stack, g[c]...)
		}
	}
	return seen
}

// MergeBase is git's best common ancestor of the commits: a common
// ancestor that is no ancestor of another one (the smallest SHA of
// several, for a stable answer); "" when they share no history.
func (g Graph) MergeBase(shas ...string) string {
	var common map[string]bool
	for _, sha := range shas {
		anc := g.Ancestors(sha)
		if common == nil {
			common = anc
			continue
		}
		for c := range common {
			if !anc[c] {
				delete(common, c)
			}
		}
	}
	var candidates []string
	for c := range common {
		candidates = append(candidates, c)
	}
	sort.Strings(candidates)
	for _, c := range candidates {
		best := true
		for _, other := range candidates {
			if other != c && g.Ancestors(other)[c] {
				best = false
				break
			}
		}
		if best {
			return c
		}
	}
	return ""
}
