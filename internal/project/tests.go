package project

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var (
	refArgRE    = regexp.MustCompile(`^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$`)
	sourceArgRE = regexp.MustCompile(`^\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$`)
)

// addTests turns generic tests declared in properties YAML into test nodes
// whose SQL selects the failing rows.
func (c *compiler) addTests(props properties) {
	for _, name := range sortedKeys(props.models) {
		pt := props.models[name]
		id := "model." + c.p.Name + "." + name
		n, ok := c.nodes[id]
		if !ok {
			continue // missing or disabled: reported already, or deliberately off
		}
		for _, t := range pt.tests {
			c.addGenericTest(t, n, name, relationValue{kind: "ref", key: name, name: name})
		}
	}
	for _, name := range sortedKeys(props.seeds) {
		n, ok := c.nodes["seed."+c.p.Name+"."+name]
		if !ok {
			continue
		}
		for _, t := range props.seeds[name].tests {
			c.addGenericTest(t, n, name, relationValue{kind: "ref", key: name, name: name})
		}
	}
	for _, s := range props.sources {
		n, ok := c.nodes["source."+c.p.Name+"."+s.source+"."+s.table]
		if !ok {
			continue
		}
		for _, t := range s.tests {
			c.addGenericTest(t, n, "source_"+s.source+"_"+s.table,
				relationValue{kind: "src", key: s.source + "." + s.table, name: s.table})
		}
	}
}

func (c *compiler) addGenericTest(t testDecl, owner *Node, ownerLabel string, rel relationValue) {
	fail := func(format string, args ...any) {
		c.diags = append(c.diags, at(t.path, t.node, format, args...))
	}
	cfg := defaultConfig(KindTest)
	c.applyTree(&cfg, c.p.testsTree, []string{t.kind})
	for _, e := range t.config {
		if err := cfg.set(e.key, e.value); err != nil {
			fail("test %s: %v", t.kind, err)
			return
		}
	}
	if !cfg.Enabled {
		return
	}
	column := t.column
	if column == "" {
		if v, ok := t.args["column_name"].(string); ok {
			column = v
		}
	}
	if column == "" {
		fail("test %s needs a column: put it under a column's tests, or give column_name:", t.kind)
		return
	}
	target := rel.String()
	if cfg.Where != "" {
		target = "(select * from " + target + " where " + cfg.Where + ") dbt_subquery"
	}
	col := quoteIdent(column)
	deps := []string{owner.UniqueID}
	nameParts := []string{t.kind, ownerLabel, column}
	var sql string
	switch t.kind {
	case "not_null":
		sql = fmt.Sprintf("select %s\nfrom %s\nwhere %s is null", col, target, col)
	case "unique":
		sql = fmt.Sprintf("select %s as unique_field, count(*) as n_records\nfrom %s\nwhere %s is not null\ngroup by %s\nhaving count(*) > 1", col, target, col, col)
	case "accepted_values":
		values, ok := t.args["values"].([]any)
		if !ok || len(values) == 0 {
			fail("accepted_values needs values: a list of the allowed values")
			return
		}
		quote := true
		if q, ok := t.args["quote"].(bool); ok {
			quote = q
		}
		lits := make([]string, len(values))
		for i, v := range values {
			s := fmt.Sprint(v)
			if quote {
				lits[i] = quoteLiteral(s)
			} else {
				lits[i] = s
			}
			nameParts = append(nameParts, s)
		}
		sql = fmt.Sprintf("with all_values as (\n    select %s as value_field, count(*) as n_records\n    from %s\n    group by %s\n)\nselect value_field, n_records\nfrom all_values\nwhere value_field not in (%s)",
			col, target, col, strings.Join(lits, ", "))
	case "relationships":
		to, _ := t.args["to"].(string)
		field, _ := t.args["field"].(string)
		if to == "" || field == "" {
			fail("relationships needs to: (like ref('customers')) and field: (the column there)")
			return
		}
		var parent relationValue
		if m := refArgRE.FindStringSubmatch(to); m != nil {
			parent = relationValue{kind: "ref", key: m[1], name: m[1]}
			if p, ok := c.nodeByName(m[1]); ok {
				deps = append(deps, p.UniqueID)
			} else {
				fail("relationships to: %s names an unknown model%s", to, hintSuffix(didYouMean(m[1], c.modelNames())))
				return
			}
		} else if m := sourceArgRE.FindStringSubmatch(to); m != nil {
			parent = relationValue{kind: "src", key: m[1] + "." + m[2], name: m[2]}
			sid := "source." + c.p.Name + "." + m[1] + "." + m[2]
			if _, ok := c.nodes[sid]; !ok {
				fail("relationships to: %s names an undeclared source", to)
				return
			}
			deps = append(deps, sid)
		} else {
			fail("relationships to: must be ref('model') or source('source', 'table'), not %q", to)
			return
		}
		nameParts = append(nameParts, field, parent.name)
		sql = fmt.Sprintf("with child as (\n    select %s as from_field\n    from %s\n    where %s is not null\n),\nparent as (\n    select %s as to_field\n    from %s\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null",
			col, target, col, quoteIdent(field), parent.String())
	}
	name := t.name
	if name == "" {
		name = testName(nameParts)
	}
	id := "test." + c.p.Name + "." + name
	if _, dup := c.nodes[id]; dup {
		id += "." + checksum(t.path, fmt.Sprint(t.node.Line))[:10]
	}
	sort.Strings(deps)
	n := &Node{UniqueID: id, Kind: KindTest, Name: name, Path: t.path, Line: t.node.Line, Config: cfg,
		RawSQL: sql, rendered: sql, DependsOn: Depends{Nodes: deps},
		Test: &TestSpec{Name: t.kind, Model: owner.Name, Column: column, Args: t.args, AttachTo: owner.UniqueID}}
	c.nodes[id] = n
}

// testName builds dbt's name for a generic test, shortened with a hash when
// it would be too long to read.
func testName(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('_')
		}
		// Runs of anything but letters, digits and _ become one _.
		gap := false
		for j := 0; j < len(p); j++ {
			ch := p[j]
			if ch == '_' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' {
				b.WriteByte(ch)
				gap = false
			} else if !gap {
				b.WriteByte('_')
				gap = true
			}
		}
	}
	name := b.String()
	if len(name) > 64 {
		name = name[:50] + "_" + checksum(name)[:10]
	}
	return name
}

func hintSuffix(h string) string {
	if h == "" {
		return ""
	}
	return " (" + h + ")"
}

func (c *compiler) nodeByName(name string) (*Node, bool) {
	for _, kind := range []string{"model.", "seed."} {
		if n, ok := c.nodes[kind+c.p.Name+"."+name]; ok {
			return n, true
		}
	}
	return nil, false
}

func (c *compiler) modelNames() []string {
	var out []string
	for _, n := range c.nodes {
		if n.Kind == KindModel || n.Kind == KindSeed {
			out = append(out, n.Name)
		}
	}
	sort.Strings(out)
	return out
}

// compileSingularTests renders tests/*.sql: queries returning failing rows.
func (c *compiler) compileSingularTests() {
	var jobs []renderJob
	for _, f := range c.p.singular {
		name := baseName(f.path)
		n := &Node{UniqueID: "test." + c.p.Name + "." + name, Kind: KindTest, Name: name, Path: f.path,
			RawSQL: f.content, Line: 1}
		if _, dup := c.nodes[n.UniqueID]; dup {
			c.diags = append(c.diags, Diagnostic{Path: f.path, Line: 1, Message: fmt.Sprintf("duplicate test name %q", name)})
			continue
		}
		jobs = append(jobs, renderJob{node: n, src: f.content})
	}
	for _, res := range c.renderParallel(jobs) {
		n := res.job.node
		c.diags = append(c.diags, res.problems...)
		if res.st == nil {
			continue
		}
		n.Config = c.resolveConfig(KindTest, n.Path, n.Name, nil, res.st.config)
		if !n.Config.Enabled {
			continue
		}
		n.rendered = res.out
		c.refs[n.UniqueID] = res.st
		c.nodes[n.UniqueID] = n
	}
}
