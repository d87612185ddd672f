package project

import (
	"fmt"
	"sort"
	"strings"
)

// resolveDependencies turns the names each template used into node ids,
// reporting unknown and disabled references at the call, and skips the
// nodes whose references lead to a node that did not compile.
func (c *compiler) resolveDependencies() {
	var candidates, sourceKeys []string
	for _, n := range c.nodes {
		switch n.Kind {
		case KindModel, KindSeed, KindSnapshot:
			candidates = append(candidates, n.Name)
		case KindSource:
			sourceKeys = append(sourceKeys, n.SourceName+"."+n.Name)
		}
	}
	sort.Strings(candidates)
	sort.Strings(sourceKeys)
	blocked := map[string][]string{}
	for _, id := range sortedKeys(c.refs) {
		st := c.refs[id]
		n := c.nodes[id]
		if n == nil {
			continue
		}
		src := n.RawSQL
		deps := map[string]bool{}
		n.refIDs = map[string]string{}
		var problems []Diagnostic
		for _, key := range st.refs {
			pkg, name := splitRef(key)
			dep, skipped := c.findRef(n.Package, pkg, name)
			switch {
			case dep != "":
				deps[dep] = true
				n.refIDs[key] = dep
				continue
			case skipped != "":
				blocked[id] = append(blocked[id], skipped)
				continue
			}
			first := name
			if pkg != "" {
				first = pkg
			}
			line, col := locateCall(src, "ref", first)
			d := Diagnostic{Path: n.Path, Line: line, Col: col}
			switch {
			case contains(c.disabled, name):
				d.Message = fmt.Sprintf("ref to disabled model %q", name)
				d.Hint = "enable it (enabled: true) or remove the ref"
			case pkg != "" && !c.hasPackage(pkg):
				d.Message = fmt.Sprintf("ref to package %q, which is not installed", pkg)
				d.Hint = strings.TrimSpace(didYouMean(pkg, c.p.Packages()) + " add it to packages.yml and run dataops deps")
			default:
				d.Message = fmt.Sprintf("ref to unknown model %q", name)
				d.Hint = didYouMean(name, candidates)
			}
			problems = append(problems, d)
		}
		for _, key := range st.sources {
			dep, skipped := c.findSource(n.Package, key)
			switch {
			case dep != "":
				deps[dep] = true
				n.refIDs[key] = dep
				continue
			case skipped != "":
				blocked[id] = append(blocked[id], skipped)
				continue
			}
			sourceName, table, _ := strings.Cut(key, ".")
			line, col := locateCall(src, "source", sourceName)
			problems = append(problems, Diagnostic{Path: n.Path, Line: line, Col: col,
				Message: fmt.Sprintf("source %q is not declared", key),
				Hint:    strings.TrimSpace(didYouMean(key, sourceKeys) + " declare table " + table + " under sources: in a properties .yml file")})
		}
		n.DependsOn.Nodes = append(n.DependsOn.Nodes, sortedKeys(deps)...)
		n.DependsOn.Nodes = dedupeSorted(n.DependsOn.Nodes)
		n.DependsOn.Macros = c.r.macroDeps(n.Package, src)
		n.DependsOn.Vars = sortedKeys(st.vars)
		if len(problems) > 0 {
			c.problem(n, problems...)
		}
	}
	c.failPending()
	for id, ups := range blocked {
		if n := c.nodes[id]; n != nil {
			c.block(n, ups)
		}
	}
	c.blockDownstream()
	for _, n := range c.nodes {
		n.Checksum = checksum(n.RawSQL, configChecksum(n.Config))
	}
}

// block skips node n because the nodes ups are skipped.
func (c *compiler) block(n *Node, ups []string) {
	ups = dedupeSorted(ups)
	names := make([]string, len(ups))
	for i, u := range ups {
		names[i] = c.skipped[u].Name
	}
	s := skippedFrom(n, CauseUpstream, "depends on "+strings.Join(names, ", ")+", which did not compile")
	s.Upstream = ups
	c.skipped[n.UniqueID] = s
	delete(c.nodes, n.UniqueID)
}

// splitRef splits a reference key "package.name" or "name".
func splitRef(key string) (pkg, name string) {
	if p, n, ok := strings.Cut(key, "."); ok {
		return p, n
	}
	return "", key
}

// refKinds are the kinds ref() reaches, in the order dbt prefers them.
var refKinds = []NodeKind{KindModel, KindSeed, KindSnapshot}

// findRef resolves ref([pkg,] name) from a node of package from, as dbt
// does: a named package only; otherwise the root project, then the node's
// own package, then any package. It returns the id of a compiled node, or
// else that of a skipped one.
func (c *compiler) findRef(from, pkg, name string) (id, skipped string) {
	for _, p := range c.searchOrder(from, pkg) {
		for _, kind := range refKinds {
			key := string(kind) + "." + p + "." + name
			if c.nodes[key] != nil {
				return key, ""
			}
			if c.skipped[key] != nil && skipped == "" {
				skipped = key
			}
		}
		if skipped != "" {
			return "", skipped
		}
	}
	return "", ""
}

func (c *compiler) findSource(from, key string) (id, skipped string) {
	for _, p := range c.searchOrder(from, "") {
		full := "source." + p + "." + key
		if c.nodes[full] != nil {
			return full, ""
		}
		if c.skipped[full] != nil {
			return "", full
		}
	}
	return "", ""
}

func (c *compiler) searchOrder(from, pkg string) []string {
	if pkg != "" {
		return []string{pkg}
	}
	order := []string{c.p.Name}
	if from != c.p.Name {
		order = append(order, from)
	}
	for _, p := range c.p.Packages() {
		if p != from {
			order = append(order, p)
		}
	}
	return order
}

func (c *compiler) hasPackage(name string) bool {
	return name == c.p.Name || contains(c.p.Packages(), name)
}

func dedupeSorted(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}
