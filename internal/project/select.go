package project

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Selection is a set of node ids.
type Selection map[string]bool

// IDs returns the selected ids in the manifest's build order.
func (m *Manifest) IDs(s Selection) []string {
	var out []string
	for _, id := range m.order {
		if s[id] {
			out = append(out, id)
		}
	}
	return out
}

// SelectorMethod matches nodes for a method: prefix (tag:, path:, ...).
// Extra methods, such as state: for a plan, are passed to Select.
type SelectorMethod func(m *Manifest, value string) (Selection, error)

// noWalk marks a selector part without a graph operator; depth -1 means
// all the way.
const noWalk = -2

// Select evaluates dbt's selection syntax: space-separated terms are a
// union, comma-joined parts an intersection; each part is
// [@][N+]method:value[+N]. An empty expression selects every model, seed
// and test. A name that matches nothing is an error with the closest names,
// since a typo would otherwise build nothing and pass.
func (m *Manifest) Select(expr string, extra map[string]SelectorMethod) (Selection, error) {
	expr = strings.TrimSpace(expr)
	result := Selection{}
	if expr == "" {
		for id, n := range m.Nodes {
			if n.Kind != KindSource {
				result[id] = true
			}
		}
		return result, nil
	}
	for _, term := range strings.Fields(expr) {
		var acc Selection
		for _, part := range strings.Split(term, ",") {
			s, err := m.selectPart(part, extra)
			if err != nil {
				return nil, err
			}
			if acc == nil {
				acc = s
				continue
			}
			for id := range acc {
				if !s[id] {
					delete(acc, id)
				}
			}
		}
		for id := range acc {
			result[id] = true
		}
	}
	return result, nil
}

func (m *Manifest) selectPart(part string, extra map[string]SelectorMethod) (Selection, error) {
	value := part
	at := strings.HasPrefix(value, "@")
	value = strings.TrimPrefix(value, "@")
	upDepth, downDepth := noWalk, noWalk
	i := 0
	for i < len(value) && value[i] >= '0' && value[i] <= '9' {
		i++
	}
	if i < len(value) && value[i] == '+' {
		upDepth = depth(value[:i])
		value = value[i+1:]
	}
	j := len(value)
	for j > 0 && value[j-1] >= '0' && value[j-1] <= '9' {
		j--
	}
	if j > 0 && value[j-1] == '+' {
		downDepth = depth(value[j:])
		value = value[:j-1]
	}
	if value == "" || strings.Contains(value, "+") {
		return nil, fmt.Errorf("selector %q: expected [@][N+]name[+N], tag:x, path:dir or source:x", part)
	}
	base, err := m.matchMethod(value, extra)
	if err != nil {
		return nil, err
	}
	out := Selection{}
	for id := range base {
		out[id] = true
	}
	if upDepth != noWalk || at {
		d := upDepth
		if at {
			d = -1
		}
		for id := range base {
			m.walk(id, m.parents, d, out)
		}
	}
	if downDepth != noWalk || at {
		d := downDepth
		if at {
			d = -1
		}
		desc := Selection{}
		for id := range base {
			m.walk(id, m.children, d, desc)
		}
		for id := range desc {
			out[id] = true
			if at {
				m.walk(id, m.parents, -1, out)
			}
		}
	}
	return out, nil
}

func depth(s string) int {
	if s == "" {
		return -1
	}
	n, _ := strconv.Atoi(s)
	return n
}

// walk adds nodes reachable from id through edges, up to max steps
// (-1: all).
func (m *Manifest) walk(id string, edges map[string][]string, max int, into Selection) {
	type item struct {
		id string
		d  int
	}
	queue := []item{{id, 0}}
	seen := map[string]bool{id: true}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if max >= 0 && cur.d >= max {
			continue
		}
		for _, next := range edges[cur.id] {
			if !seen[next] {
				seen[next] = true
				into[next] = true
				queue = append(queue, item{next, cur.d + 1})
			}
		}
	}
}

func (m *Manifest) matchMethod(value string, extra map[string]SelectorMethod) (Selection, error) {
	method, arg, hasMethod := strings.Cut(value, ":")
	if !hasMethod {
		method, arg = "name", value
		if strings.Contains(value, "/") {
			method = "path"
		}
	}
	if arg == "" {
		return nil, fmt.Errorf("selector %q has no value after the colon", value)
	}
	out := Selection{}
	// candidates collects the values the method could have matched, for
	// the hint when it matches nothing.
	candidates := map[string]bool{}
	nothing := func(what string) error {
		hint := didYouMean(arg, sortedKeys(candidates))
		if hint == "" && len(candidates) > 0 && len(candidates) <= maxListedValues {
			// Nothing is close, but the choices are few: name them.
			hint = "the project has " + quoteList(sortedKeys(candidates))
		}
		return fmt.Errorf("selector %q matches no %s%s", value, what, hintSuffix(hint))
	}
	switch {
	case method == "name" || method == "fqn":
		for id, n := range m.Nodes {
			if n.Kind != KindSource && globMatch(arg, n.Name) {
				out[id] = true
			}
			if n.Kind == KindModel || n.Kind == KindSeed || n.Kind == KindSnapshot {
				candidates[n.Name] = true
			}
		}
		if len(out) == 0 {
			// A node that did not compile is reported by the compile; a
			// selection naming it selects nothing rather than failing.
			for _, s := range m.Skipped {
				if globMatch(arg, s.Name) {
					return out, nil
				}
			}
			return nil, nothing("model, seed or test")
		}
	case method == "tag":
		for id, n := range m.Nodes {
			for _, t := range n.Config.Tags {
				candidates[t] = true
				if globMatch(arg, t) {
					out[id] = true
				}
			}
		}
		if len(out) == 0 {
			return nil, nothing("tag")
		}
	case method == "path":
		arg = strings.TrimSuffix(path.Clean(arg), "/")
		for id, n := range m.Nodes {
			if n.Kind == KindSource {
				continue
			}
			if n.Path == arg || strings.HasPrefix(n.Path, arg+"/") || globMatch(arg, n.Path) {
				out[id] = true
			}
			for dir := n.Path; dir != "." && dir != "/" && dir != ""; dir = path.Dir(dir) {
				candidates[dir] = true
			}
		}
		if len(out) == 0 {
			return nil, nothing("file or folder")
		}
	case method == "source":
		for id, n := range m.Nodes {
			if n.Kind != KindSource {
				continue
			}
			candidates[n.SourceName] = true
			candidates[n.SourceName+"."+n.Name] = true
			if globMatch(arg, n.SourceName) || globMatch(arg, n.SourceName+"."+n.Name) {
				out[id] = true
			}
		}
		if len(out) == 0 {
			return nil, nothing("source")
		}
	case method == "package":
		for id, n := range m.Nodes {
			candidates[n.Package] = true
			if globMatch(arg, n.Package) {
				out[id] = true
			}
		}
		if len(out) == 0 {
			return nil, nothing("package")
		}
	case method == "file":
		// dbt's file: a file name, or a path under the project.
		for id, n := range m.Nodes {
			if n.Kind == KindSource {
				continue
			}
			candidates[path.Base(n.Path)] = true
			if globMatch(arg, path.Base(n.Path)) || globMatch(arg, n.Path) {
				out[id] = true
			}
		}
		if len(out) == 0 {
			return nil, nothing("file")
		}
	case method == "test_type" || method == "test_name":
		for id, n := range m.Nodes {
			if n.Kind != KindTest {
				continue
			}
			v := "singular"
			if method == "test_name" {
				if n.Test == nil {
					continue
				}
				v = n.Test.Name
			} else if n.Test != nil {
				v = "generic"
			}
			candidates[v] = true
			if globMatch(arg, v) || (method == "test_type" && arg == "data" && v == "singular") {
				out[id] = true
			}
		}
		if method == "test_type" && arg != "generic" && arg != "singular" && arg != "data" && arg != "unit" {
			return nil, fmt.Errorf("selector %q: test_type is generic, singular or unit%s", value, hintSuffix(didYouMean(arg, []string{"generic", "singular", "unit"})))
		}
		if len(out) == 0 {
			return nil, nothing("test")
		}
	case method == "resource_type":
		for _, k := range []NodeKind{KindModel, KindSeed, KindSource, KindTest, KindSnapshot} {
			candidates[string(k)] = true
		}
		if !candidates[arg] {
			return nil, nothing("resource type")
		}
		for id, n := range m.Nodes {
			if string(n.Kind) == arg {
				out[id] = true
			}
		}
	case strings.HasPrefix(method, "config."):
		key := strings.TrimPrefix(method, "config.")
		for id, n := range m.Nodes {
			v := configValue(n.Config, key)
			if v != "" {
				candidates[v] = true
			}
			if v == arg {
				out[id] = true
			}
		}
		if len(out) == 0 {
			return nil, nothing("node with " + key + " " + arg)
		}
	default:
		if fn, ok := extra[method]; ok {
			return fn(m, arg)
		}
		known := []string{"name", "fqn", "tag", "path", "file", "source", "package", "resource_type", "test_type", "test_name", "config.materialized"}
		for k := range extra {
			known = append(known, k)
		}
		sort.Strings(known)
		switch method {
		case "state":
			return nil, fmt.Errorf("selector %q compares with a base revision: give one with dataops build --base REV", value)
		case "exposure", "metric", "semantic_model", "saved_query", "unit_test", "result", "source_status", "version", "access", "group", "wildcard":
			return nil, fmt.Errorf("selector %q: dbt's selector method %q is not supported by dataops; the methods are %s", value, method, strings.Join(known, ", "))
		}
		return nil, fmt.Errorf("unknown selector method %q%s", method, hintSuffix(didYouMean(method, known)))
	}
	return out, nil
}

// maxListedValues bounds the values an error lists when none is close to
// what a selector asked for.
const maxListedValues = 10

func configValue(c Config, key string) string {
	switch key {
	case "materialized":
		return c.Materialized
	case "schema":
		return c.Schema
	case "severity":
		return c.Severity
	}
	if v, ok := c.Extra[key]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

func globMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return pattern == s
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// WithTests adds the tests of selected nodes, as dbt's default "eager"
// indirect selection does: a test is selected when any node it tests is.
func (m *Manifest) WithTests(s Selection) Selection {
	out := Selection{}
	for id := range s {
		out[id] = true
	}
	for id, n := range m.Nodes {
		if n.Kind != KindTest {
			continue
		}
		for _, p := range n.DependsOn.Nodes {
			if s[p] {
				out[id] = true
				break
			}
		}
	}
	return out
}
