package project

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Manifest is a compiled project: every enabled node with its SQL, config
// and dependencies, and the graph between them.
type Manifest struct {
	Project  string               `json:"project"`
	Target   Target               `json:"target"`
	Nodes    map[string]*Node     `json:"nodes"`
	Macros   map[string]MacroInfo `json:"macros"`
	Vars     map[string]any       `json:"vars,omitempty"`
	Disabled []string             `json:"disabled,omitempty"`

	parents  map[string][]string
	children map[string][]string
	order    []string // topological: parents before children
	byName   map[string]string
}

// Parents returns the ids a node depends on.
func (m *Manifest) Parents(id string) []string { return m.parents[id] }

// Children returns the ids that depend on a node.
func (m *Manifest) Children(id string) []string { return m.children[id] }

// Order returns every node id, parents before children; ties by id, so the
// order is the same on every run.
func (m *Manifest) Order() []string { return m.order }

// Lookup finds a model or seed by name.
func (m *Manifest) Lookup(name string) (*Node, bool) {
	id, ok := m.byName[name]
	if !ok {
		return nil, false
	}
	return m.Nodes[id], true
}

// buildGraph links nodes to their dependencies and orders them; a cycle is
// reported with every node on it.
func (m *Manifest) buildGraph() Diagnostics {
	m.parents = map[string][]string{}
	m.children = map[string][]string{}
	m.byName = map[string]string{}
	for id, n := range m.Nodes {
		if n.Kind == KindModel || n.Kind == KindSeed {
			m.byName[n.Name] = id
		}
		m.parents[id] = n.DependsOn.Nodes
		for _, p := range n.DependsOn.Nodes {
			m.children[p] = append(m.children[p], id)
		}
	}
	for id := range m.children {
		sort.Strings(m.children[id])
	}
	ids := sortedKeys(m.Nodes)
	const (
		unvisited = iota
		active
		done
	)
	state := make(map[string]int, len(ids))
	var stack []string
	var ds Diagnostics
	reported := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		state[id] = active
		stack = append(stack, id)
		for _, p := range m.parents[id] {
			switch state[p] {
			case unvisited:
				visit(p)
			case active:
				ds = append(ds, m.cycleDiagnostic(stack, p, reported)...)
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		m.order = append(m.order, id)
	}
	for _, id := range ids {
		if state[id] == unvisited {
			visit(id)
		}
	}
	return ds
}

func (m *Manifest) cycleDiagnostic(stack []string, back string, reported map[string]bool) Diagnostics {
	start := len(stack) - 1
	for start >= 0 && stack[start] != back {
		start--
	}
	cycle := append([]string(nil), stack[start:]...)
	// Name the cycle from its smallest member so it is reported once.
	first := 0
	for i, id := range cycle {
		if id < cycle[first] {
			first = i
		}
	}
	cycle = append(cycle[first:], cycle[:first]...)
	key := strings.Join(cycle, ",")
	if reported[key] {
		return nil
	}
	reported[key] = true
	// stack holds children before parents; print the flow of data.
	names := make([]string, 0, len(cycle)+1)
	for i := len(cycle) - 1; i >= 0; i-- {
		names = append(names, m.Nodes[cycle[i]].Name)
	}
	names = append(names, names[0])
	n := m.Nodes[cycle[0]]
	return Diagnostics{{Path: n.Path, Line: n.Line, Message: "dependency cycle: " + strings.Join(names, " -> "),
		Hint: "models cannot ref each other in a loop; move the shared logic into a model both use"}}
}

// schemaFor applies dataops's schema rule; see Target.Production.
func (m *Manifest) schemaFor(n *Node) string {
	if n.Config.Schema != "" && m.Target.Production() {
		return n.Config.Schema
	}
	return m.Target.Schema
}

func (m *Manifest) assignRelations() {
	for _, n := range m.Nodes {
		if n.Kind == KindSource {
			continue
		}
		name := n.Name
		if n.Config.Alias != "" {
			name = n.Config.Alias
		}
		n.Relation = Relation{Schema: m.schemaFor(n), Name: name}
	}
}

// Resolver decides which relation a reference to node n reads. The default
// reads everything from the compile's target; a pull request build defers
// unselected models to production.
type Resolver func(n *Node) Relation

// SQLFor returns a node's SQL with its references resolved, ephemeral
// models inlined as CTEs, and the line map adjusted to match.
func (m *Manifest) SQLFor(n *Node, incremental bool, resolve Resolver) (string, []int) {
	rendered := n.rendered
	if incremental && n.renderedIncremental != "" {
		rendered = n.renderedIncremental
	}
	if resolve == nil {
		resolve = func(x *Node) Relation { return x.Relation }
	}
	var ctes []string
	seen := map[string]bool{}
	sql := m.substitute(n, rendered, resolve, &ctes, seen)
	lineMap := lineMapFor(n.RawSQL, rendered)
	if len(ctes) == 0 {
		return sql, lineMap
	}
	return injectCTEs(sql, ctes, lineMap)
}

// substitute replaces placeholders; references to ephemeral models become
// CTE names and their SQL is collected, dependencies first.
func (m *Manifest) substitute(self *Node, sql string, resolve Resolver, ctes *[]string, seen map[string]bool) string {
	return placeholderRE.ReplaceAllStringFunc(sql, func(ph string) string {
		parts := placeholderRE.FindStringSubmatch(ph)
		kind, key := parts[1], parts[2]
		switch kind {
		case "this":
			return quoteRelation(resolve(self))
		case "src":
			if n, ok := m.Nodes["source."+m.Project+"."+key]; ok {
				return quoteRelation(n.Relation)
			}
		case "ref":
			n, ok := m.Lookup(key)
			if !ok {
				break
			}
			if n.Config.Materialized == "ephemeral" {
				cte := "__dbt__cte__" + n.Name
				if !seen[n.UniqueID] {
					seen[n.UniqueID] = true
					inner := m.substitute(n, n.rendered, resolve, ctes, seen)
					*ctes = append(*ctes, quoteIdent(cte)+" as (\n"+strings.TrimSpace(inner)+"\n)")
				}
				return quoteIdent(cte)
			}
			return quoteRelation(resolve(n))
		}
		return ph
	})
}

var leadingWith = regexp.MustCompile(`(?is)^(\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*)with\b`)

// injectCTEs puts ephemeral models in front of a query, inside its own WITH
// clause when it has one, as dbt does.
func injectCTEs(sql string, ctes []string, lineMap []int) (string, []int) {
	block := strings.Join(ctes, ",\n")
	if loc := leadingWith.FindStringIndex(sql); loc != nil {
		insert := " " + block + ","
		at := loc[1]
		line := strings.Count(sql[:at], "\n")
		out := sql[:at] + insert + sql[at:]
		return out, insertLines(lineMap, line+1, strings.Count(insert, "\n"))
	}
	insert := "with " + block + "\n"
	return insert + sql, insertLines(lineMap, 0, strings.Count(insert, "\n"))
}

// insertLines adds n unknown lines after index at of a line map.
func insertLines(lineMap []int, at, n int) []int {
	if n == 0 {
		return lineMap
	}
	if at > len(lineMap) {
		at = len(lineMap)
	}
	out := make([]int, 0, len(lineMap)+n)
	out = append(out, lineMap[:at]...)
	out = append(out, make([]int, n)...)
	return append(out, lineMap[at:]...)
}

// quoteIdent quotes an identifier the ANSI way, which both DuckDB and
// PostgreSQL use.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteRelation(r Relation) string {
	if r.Schema == "" {
		return quoteIdent(r.Name)
	}
	return quoteIdent(r.Schema) + "." + quoteIdent(r.Name)
}

// quoteLiteral quotes a string literal for SQL written into tests.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// renderAll fills every node's CompiledSQL for the compile's target.
func (m *Manifest) renderAll() Diagnostics {
	for _, n := range m.Nodes {
		if n.Kind != KindModel && n.Kind != KindTest {
			continue
		}
		n.CompiledSQL, n.LineMap = m.SQLFor(n, false, nil)
		if n.renderedIncremental != "" {
			n.IncrementalSQL, _ = m.SQLFor(n, true, nil)
		}
	}
	return nil
}

// Stats counts nodes by kind.
type Stats struct {
	Models  int `json:"models"`
	Seeds   int `json:"seeds"`
	Sources int `json:"sources"`
	Tests   int `json:"tests"`
	Macros  int `json:"macros"`
}

func (m *Manifest) Stats() Stats {
	s := Stats{Macros: len(m.Macros)}
	for _, n := range m.Nodes {
		switch n.Kind {
		case KindModel:
			s.Models++
		case KindSeed:
			s.Seeds++
		case KindSource:
			s.Sources++
		case KindTest:
			s.Tests++
		}
	}
	return s
}

func (s Stats) String() string {
	return fmt.Sprintf("%d models, %d seeds, %d sources, %d tests, %d macros", s.Models, s.Seeds, s.Sources, s.Tests, s.Macros)
}
