package project

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// refTarget is the node a ref key of node from resolves to, once every
// node is known.
func (c *compiler) refTarget(from *Node, key string) *Node {
	pkg, name := splitRef(key)
	id, _ := c.findRef(c.packageOf(from), pkg, name)
	return c.nodes[id]
}

func (c *compiler) sourceTarget(from *Node, key string) *Node {
	id, _ := c.findSource(c.packageOf(from), key)
	return c.nodes[id]
}

func (c *compiler) packageOf(n *Node) string {
	if n != nil && n.Package != "" {
		return n.Package
	}
	return c.p.Name
}

// targetDict is `target` for t.
func (c *compiler) targetDict(t Target) *jinja.Dict {
	d := jinja.NewDict()
	for _, kv := range [][2]any{{"name", t.Name}, {"schema", t.Schema}, {"type", t.Type}, {"database", t.Database},
		{"profile_name", c.p.ProfileName}, {"threads", int64(4)}, {"target_name", t.Name}} {
		d.SetString(kv[0].(string), kv[1])
	}
	if t.Type == "postgres" {
		d.SetString("dbname", t.Database)
	}
	return d.Freeze()
}

// callMacro calls a macro from Go for node n, as a render of n would,
// with `target` set to t.
func (c *compiler) callMacro(d *macroDef, n *Node, t Target, args jinja.Args) (jinja.Value, error) {
	st := &renderState{node: n, vars: map[string]bool{}, execute: true}
	ctx := context.WithValue(c.ctx, stateKey{}, st)
	vars := c.r.varsFor(n, st)
	vars["target"] = c.targetDict(t)
	return c.r.env.Call(ctx, d.macro, vars, args)
}

// namingMacros are the project's own macros that decide where nodes go.
type namingMacros struct{ schema, alias, database *macroDef }

func (c *compiler) naming() namingMacros {
	root := c.r.macros[c.p.Name]
	return namingMacros{root["generate_schema_name"], root["generate_alias_name"], root["generate_database_name"]}
}

// nameFor places node n for target t. The project's generate_alias_name
// names it on every target; its generate_schema_name and
// generate_database_name place it on the production target, as dbt would.
// On every other target (a pull request's environment, dev) a node lives
// in the target's schema, which is what lets an environment be created and
// dropped as one schema.
func (c *compiler) nameFor(n *Node, t Target) (Relation, error) {
	rel := defaultRelation(n, t)
	if n.Kind == KindSnapshot {
		if s, ok := n.Config.Extra["target_schema"].(string); ok && s != "" && t.Production() {
			rel.Schema = s
		}
	}
	nm := c.naming()
	call := func(d *macroDef, custom any) (string, error) {
		node := &lazyDict{build: func() *jinja.Dict { return nodeDict(n, c.p.Name, true) }, fast: n, root: c.p.Name}
		v, err := c.callMacro(d, n, t, jinja.Args{Pos: []jinja.Value{jinja.FromGo(custom), node}})
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(jinja.Str(v)), nil
	}
	optional := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	if nm.alias != nil {
		name, err := call(nm.alias, optional(n.Config.Alias))
		if err != nil {
			return rel, err
		}
		if name != "" {
			rel.Name = name
		}
	}
	if !t.Production() {
		return rel, nil
	}
	if nm.schema != nil && !(n.Kind == KindSnapshot && n.Config.Extra["target_schema"] != nil) {
		schema, err := call(nm.schema, optional(n.Config.Schema))
		if err != nil {
			return rel, err
		}
		if schema != "" {
			rel.Schema = schema
		}
	}
	if nm.database != nil {
		custom, _ := n.Config.Extra["database"].(string)
		db, err := call(nm.database, optional(custom))
		if err != nil {
			return rel, err
		}
		if db != "" && db != t.Database {
			rel.Database = db
		}
	}
	return rel, nil
}

// assignRelations places every node for the compile's target.
func (c *compiler) assignRelations() {
	for _, id := range sortedKeys(c.nodes) {
		n := c.nodes[id]
		if n.Kind == KindSource || n.Kind == KindTest {
			continue
		}
		rel, err := c.nameFor(n, c.opts.Target)
		if err != nil {
			d := c.r.diagnose(n.Path, n.RawSQL, err)
			d.Message = "placing the model: " + d.Message
			c.fail(n, d)
			continue
		}
		n.Relation = rel
	}
	c.separateCollisions()
	c.blockDownstream()
}

// separateCollisions keeps two nodes from being built into one relation.
// Off production every node lives in the target's schema, so two models
// that production keeps apart by their custom schemas (core.eligibility,
// raw.eligibility) would meet: the one with a custom schema is then named
// <schema>__<name> in the environment.
func (c *compiler) separateCollisions() {
	if c.opts.Target.Production() {
		return
	}
	byRel := map[Relation][]*Node{}
	for _, id := range sortedKeys(c.nodes) {
		n := c.nodes[id]
		if n.Kind == KindSource || n.Kind == KindTest || n.Config.Materialized == "ephemeral" {
			continue
		}
		byRel[n.Relation] = append(byRel[n.Relation], n)
	}
	for _, nodes := range byRel {
		if len(nodes) < 2 {
			continue
		}
		for _, n := range nodes {
			if n.Config.Schema != "" {
				n.Relation.Name = n.Config.Schema + "__" + n.Relation.Name
			}
		}
	}
}

// relationNamer places nodes for other targets, when the project decides
// with macros of its own.
func (c *compiler) relationNamer() func(n *Node, t Target) Relation {
	nm := c.naming()
	if nm.schema == nil && nm.alias == nil && nm.database == nil {
		return nil
	}
	return func(n *Node, t Target) Relation {
		rel, err := c.nameFor(n, t)
		if err != nil {
			return defaultRelation(n, t)
		}
		return rel
	}
}

// compileSecondPass renders again, with execute true and every node
// configured and placed, the templates whose first render read what only
// a compile knows, and renders the generic tests written as macros.
func (c *compiler) compileSecondPass() {
	var jobs []renderJob
	for _, id := range sortedKeys(c.nodes) {
		n := c.nodes[id]
		st := c.refs[id]
		if st != nil && st.second && c.templates[id] != nil {
			jobs = append(jobs, renderJob{node: n, src: n.RawSQL, execute: true, tpl: c.templates[id]})
		}
		if c.incrSecond[id] && c.templates[id] != nil {
			jobs = append(jobs, renderJob{node: n, src: n.RawSQL, execute: true, incr: true, tpl: c.templates[id]})
		}
	}
	for _, res := range c.renderParallel(jobs) {
		n := res.job.node
		if c.nodes[n.UniqueID] == nil {
			continue
		}
		if res.st != nil && res.st.needsWarehouse {
			c.skipped[n.UniqueID] = skippedFrom(n, CauseWarehouse, errNeedsWarehouse.Error())
			delete(c.nodes, n.UniqueID)
			continue
		}
		if len(res.problems) > 0 || res.st == nil {
			c.fail(n, res.problems...)
			continue
		}
		c.warnFrom(n, res.st)
		if extra := c.unexpectedRefs(n, res.st); len(extra) > 0 {
			c.fail(n, Diagnostic{Path: n.Path, Line: 1, Message: fmt.Sprintf("%s uses %s only when compiling (execute is true), so its dependencies cannot be known",
				n.Name, strings.Join(extra, ", ")),
				Hint: "add a comment such as -- depends_on: {{ ref('" + extra[0] + "') }} at the top of the file, as dbt asks"})
			continue
		}
		if res.job.incr {
			n.renderedIncremental = res.out
		} else {
			n.rendered = res.out
		}
	}
	c.blockDownstream()
}

// unexpectedRefs lists the references a compile render made that the
// first render did not: the graph cannot hold them.
func (c *compiler) unexpectedRefs(n *Node, st *renderState) []string {
	var out []string
	for _, key := range append(append([]string(nil), st.refs...), st.sources...) {
		if _, ok := n.refIDs[key]; !ok {
			if id := c.refOrSource(n, key); id != "" && !contains(n.DependsOn.Nodes, id) {
				out = append(out, key)
			}
		}
	}
	return out
}

func (c *compiler) refOrSource(n *Node, key string) string {
	if t := c.refTarget(n, key); t != nil {
		return t.UniqueID
	}
	if t := c.sourceTarget(n, key); t != nil {
		return t.UniqueID
	}
	return ""
}

// warnFrom reports what a template warned of with exceptions.warn.
func (c *compiler) warnFrom(n *Node, st *renderState) {
	for _, w := range st.warnings {
		c.diags = append(c.diags, Diagnostic{Path: n.Path, Line: 1, Warning: true, Node: n.UniqueID, Message: w})
	}
}

// blockDownstream skips every node that depends on a skipped one, all the
// way down, in one walk from the skipped nodes along the edges to their
// children.
func (c *compiler) blockDownstream() {
	children := map[string][]string{}
	for _, id := range sortedKeys(c.nodes) {
		for _, p := range c.nodes[id].DependsOn.Nodes {
			children[p] = append(children[p], id)
		}
	}
	queue := sortedKeys(c.skipped)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, child := range children[id] {
			n := c.nodes[child]
			if n == nil {
				continue // skipped already, through another parent
			}
			var ups []string
			for _, p := range n.DependsOn.Nodes {
				if c.skipped[p] != nil {
					ups = append(ups, p)
				}
			}
			c.block(n, ups)
			queue = append(queue, child)
		}
	}
}

var snapshotBlockRE = regexp.MustCompile(`(?s)\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}`)

// compileSnapshots reads {% snapshot %} blocks: each is a node models may
// ref, compiled like a model (its select), never built by dataops.
func (c *compiler) compileSnapshots() {
	for _, pp := range c.props {
		pkg := pp.pkg
		var jobs []renderJob
		for _, f := range pkg.snapshots {
			for _, m := range snapshotBlockRE.FindAllStringSubmatchIndex(f.content, -1) {
				name := f.content[m[2]:m[3]]
				line, _ := position(f.content, m[4])
				// Keep the body's lines where they are in the file, so
				// problems point at them.
				body := strings.Repeat("\n", line-1) + f.content[m[4]:m[5]]
				n := &Node{UniqueID: "snapshot." + pkg.Name + "." + name, Kind: KindSnapshot, Name: name, Package: pkg.Name,
					Path: f.path, RawSQL: body, Line: line}
				jobs = append(jobs, renderJob{node: n, src: body})
			}
		}
		for _, res := range c.renderParallel(jobs) {
			n := res.job.node
			if res.st == nil {
				c.fail(n, res.problems...)
				continue
			}
			n.Config, _ = c.resolveConfig(pkg, n, pp.props.snapshots[n.Name], res.st.config)
			if n.Config.Materialized == "" || n.Config.Materialized == "view" {
				n.Config.Materialized = "snapshot"
			}
			if !n.Config.Enabled {
				continue
			}
			n.rendered = res.out
			c.nodes[n.UniqueID] = n
			c.refs[n.UniqueID] = res.st
			c.templates[n.UniqueID] = res.tpl
			if len(res.problems) > 0 {
				c.problem(n, res.problems...)
			}
		}
	}
}
