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
	// Skipped lists the nodes that are not in Nodes because they, or
	// something they depend on, did not compile.
	Skipped map[string]*Skipped `json:"skipped,omitempty"`

	// namer places a node for another target than the compile's (the
	// project's generate_*_name macros, when it has them).
	namer func(n *Node, t Target) Relation
	// placeIn are the targets PlaceIn named, for MarshalBinary.
	placeIn []Target

	// cycles found by buildGraph, each a list of node ids
	cycles [][]string

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
	m.order = nil
	m.cycles = nil
	for id, n := range m.Nodes {
		if n.Kind == KindModel || n.Kind == KindSeed || n.Kind == KindSnapshot {
			// A name means the root project's node first, as in ref().
			if prev, taken := m.byName[n.Name]; !taken || n.Package == m.Project && m.Nodes[prev].Package != m.Project {
				m.byName[n.Name] = id
			}
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
	m.cycles = append(m.cycles, cycle)
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

// Ref says how a reference to a node is read: from a relation, or inlined
// as a CTE (ephemeral models always; any model in a dry run, where its
// relation has not been built yet).
type Ref struct {
	Relation Relation
	Inline   bool
}

// Resolver decides how a reference to node n is read. The default reads
// everything from the compile's target; a pull request build defers
// unselected models to production.
type Resolver func(n *Node) Ref

// SQLFor returns a node's SQL with its references resolved, inlined models
// put in front as CTEs, and the line map adjusted to match.
func (m *Manifest) SQLFor(n *Node, incremental bool, resolve Resolver) (string, []int) {
	rendered := n.rendered
	if incremental && n.renderedIncremental != "" {
		rendered = n.renderedIncremental
	}
	resolve = m.withDefaults(resolve)
	var ctes []string
	seen := map[string]bool{}
	sql := m.substitute(n, rendered, resolve, &ctes, seen)
	lineMap := lineMapFor(n.RawSQL, rendered)
	if len(ctes) == 0 {
		return sql, lineMap
	}
	return injectCTEs(sql, ctes, lineMap)
}

// withDefaults makes every resolver inline ephemeral models, and reads
// everything from its compiled relation when there is no resolver.
func (m *Manifest) withDefaults(resolve Resolver) Resolver {
	return func(x *Node) Ref {
		if x.Config.Materialized == "ephemeral" {
			return Ref{Inline: true}
		}
		if resolve == nil {
			return Ref{Relation: x.Relation}
		}
		return resolve(x)
	}
}

// Hooks returns a node's pre- and post-hooks with references resolved.
func (m *Manifest) Hooks(n *Node, resolve Resolver) (pre, post []string) {
	resolve = m.withDefaults(resolve)
	for _, h := range n.preHooks {
		pre = append(pre, m.substitute(n, h, resolve, nil, nil))
	}
	for _, h := range n.postHooks {
		post = append(post, m.substitute(n, h, resolve, nil, nil))
	}
	return pre, post
}

// RelationIn is where node n lives when built for target t, which is how a
// pull request's build finds the production relation it defers to.
func (m *Manifest) RelationIn(n *Node, t Target) Relation {
	if n.Kind == KindSource {
		if seed := m.Nodes[n.LoadedBy]; seed != nil {
			return m.RelationIn(seed, t)
		}
		return n.Relation
	}
	if t == m.Target {
		return n.Relation
	}
	if m.namer != nil {
		return m.namer(n, t)
	}
	return defaultRelation(n, t)
}

// defaultRelation is where a node goes without a project macro deciding:
// its alias or name, in the target's schema, or in its custom schema on
// the production target (dbt's generate_schema_name_for_env).
func defaultRelation(n *Node, t Target) Relation {
	schema := t.Schema
	if n.Config.Schema != "" && t.Production() {
		schema = n.Config.Schema
	}
	name := n.Name
	if n.Config.Alias != "" {
		name = n.Config.Alias
	}
	return Relation{Schema: schema, Name: name}
}

// substitute replaces placeholders; inlined references become CTE names
// and their SQL is collected, dependencies first. Without a CTE list (in
// hooks), every reference is a relation.
func (m *Manifest) substitute(self *Node, sql string, resolve Resolver, ctes *[]string, seen map[string]bool) string {
	if !strings.Contains(sql, phOpen) {
		return sql
	}
	var b strings.Builder
	b.Grow(len(sql) + 64)
	rest := sql
	for {
		open := strings.Index(rest, phOpen)
		if open < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:open])
		body := rest[open+len(phOpen):]
		end := strings.Index(body, phClose)
		if end < 0 {
			b.WriteString(rest[open:])
			break
		}
		kind, key, _ := strings.Cut(body[:end], ":")
		b.WriteString(m.resolvePlaceholder(self, kind, key, rest[open:open+len(phOpen)+end+len(phClose)], resolve, ctes, seen))
		rest = body[end+len(phClose):]
	}
	return b.String()
}

func (m *Manifest) resolvePlaceholder(self *Node, kind, key, ph string, resolve Resolver, ctes *[]string, seen map[string]bool) string {
	switch kind {
	case "this":
		return quoteRelation(resolve(self).Relation)
	case "src":
		if n, ok := m.Nodes[self.refIDs[key]]; ok {
			if seed := m.Nodes[n.LoadedBy]; seed != nil {
				return quoteRelation(resolve(seed).Relation)
			}
			r := n.Relation
			if r.Database == m.Target.Database {
				r.Database = ""
			}
			return quoteRelation(r)
		}
	case "ref":
		n, ok := m.Nodes[self.refIDs[key]]
		if !ok {
			break
		}
		ref := resolve(n)
		if !ref.Inline || ctes == nil {
			return quoteRelation(ref.Relation)
		}
		// dbt names the CTE after the model, unquoted, and writes the
		// model's SQL as compiled.
		cte := "__dbt__cte__" + n.Name
		if !seen[n.UniqueID] {
			seen[n.UniqueID] = true
			inner := m.substitute(n, n.rendered, resolve, ctes, seen)
			*ctes = append(*ctes, " "+cte+" as (\n"+inner+"\n)")
		}
		return cte
	}
	return ph
}

var leadingWith = regexp.MustCompile(`(?is)^(\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*)with\b`)

// injectCTEs puts ephemeral models in front of a query as dbt does, text
// for text: after the query's own WITH and the space that follows it
// (then a comma), or else as a new "with" before the query's first word.
func injectCTEs(sql string, ctes []string, lineMap []int) (string, []int) {
	block := strings.Join(ctes, ", ")
	at, insert := 0, ""
	if loc := leadingWith.FindStringIndex(sql); loc != nil {
		rest := sql[loc[1]:]
		at, insert = loc[1]+len(rest)-len(strings.TrimLeft(rest, " \t\r\n")), block+","
	} else {
		at = len(sql) - len(strings.TrimLeft(sql, " \t\r\n"))
		insert = "with" + block
	}
	line := strings.Count(sql[:at], "\n")
	out := sql[:at] + insert + sql[at:]
	return out, insertLines(lineMap, line, strings.Count(insert, "\n"))
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
	if r.Database != "" {
		return quoteIdent(r.Database) + "." + quoteIdent(r.Schema) + "." + quoteIdent(r.Name)
	}
	return quoteIdent(r.Schema) + "." + quoteIdent(r.Name)
}

// quoteLiteral quotes a string literal for SQL written into tests.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// renderAll fills every node's CompiledSQL for the compile's target.
func (m *Manifest) renderAll() {
	var todo []*Node
	for _, id := range m.order {
		if n := m.Nodes[id]; n.Kind == KindModel || n.Kind == KindTest {
			todo = append(todo, n)
		}
	}
	parallel(len(todo), func(i int) {
		n := todo[i]
		n.CompiledSQL, n.LineMap = m.SQLFor(n, false, nil)
		if n.renderedIncremental != "" {
			n.IncrementalSQL, _ = m.SQLFor(n, true, nil)
		}
	})
}

// Key returns the columns that identify a model's rows, for comparing
// them: its unique_key config, or else the column of an unconditional
// unique test on it (the first by name when there are several, since each
// such column is a key on its own).
func (m *Manifest) Key(n *Node) []string {
	if len(n.Config.UniqueKey) > 0 {
		return n.Config.UniqueKey
	}
	var keys []string
	for _, id := range m.Children(n.UniqueID) {
		t := m.Nodes[id]
		if t.Kind == KindTest && t.Test != nil && t.Test.Name == "unique" && t.Test.AttachTo == n.UniqueID && t.Config.Where == "" {
			keys = append(keys, t.Test.Column)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	return keys[:1]
}

// Stats counts nodes by kind.
type Stats struct {
	Models  int `json:"models"`
	Seeds   int `json:"seeds"`
	Sources int `json:"sources"`
	Tests   int `json:"tests"`
	Macros  int `json:"macros"`
	// Skipped counts the models that did not compile or depend on one
	// that did not.
	Skipped int `json:"skipped_models,omitempty"`
}

func (m *Manifest) Stats() Stats {
	s := Stats{Macros: len(m.Macros)}
	for _, sk := range m.Skipped {
		if sk.Kind == KindModel {
			s.Skipped++
		}
	}
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
	count := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	out := strings.Join([]string{count(s.Models, "model"), count(s.Seeds, "seed"), count(s.Sources, "source"),
		count(s.Tests, "test"), count(s.Macros, "macro")}, ", ")
	if s.Skipped > 0 {
		out += "; " + count(s.Skipped, "model") + " skipped"
	}
	return out
}

// QuoteRelation writes a relation as compiled SQL refers to it.
func QuoteRelation(r Relation) string { return quoteRelation(r) }
