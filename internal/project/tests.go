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

// addTests turns generic tests declared in a package's properties YAML
// into test nodes whose SQL selects the failing rows.
func (c *compiler) addTests(pkg *Package, props properties) {
	owner := func(id string) (*Node, bool) {
		if n, ok := c.nodes[id]; ok {
			return n, true
		}
		if s, ok := c.skipped[id]; ok {
			return &Node{UniqueID: id, Kind: s.Kind, Name: s.Name, Package: s.Package, Path: s.Path}, false
		}
		return nil, false
	}
	for _, name := range sortedKeys(props.models) {
		n, ok := owner("model." + pkg.Name + "." + name)
		if n == nil {
			continue // missing or disabled: warned of already, or deliberately off
		}
		for _, t := range props.models[name].tests {
			c.addGenericTest(pkg, t, n, ok, name, relationValue{kind: "ref", key: name, name: name})
		}
	}
	for _, name := range sortedKeys(props.seeds) {
		n, ok := owner("seed." + pkg.Name + "." + name)
		if n == nil {
			continue
		}
		for _, t := range props.seeds[name].tests {
			c.addGenericTest(pkg, t, n, ok, name, relationValue{kind: "ref", key: name, name: name})
		}
	}
	for _, s := range props.sources {
		n, ok := owner("source." + pkg.Name + "." + s.source + "." + s.table)
		if n == nil {
			continue
		}
		for _, t := range s.tests {
			c.addGenericTest(pkg, t, n, ok, "source_"+s.source+"_"+s.table,
				relationValue{kind: "src", key: s.source + "." + s.table, name: s.table})
		}
	}
}

func (c *compiler) addGenericTest(pkg *Package, t testDecl, owner *Node, ownerOK bool, ownerLabel string, rel relationValue) {
	column := t.column
	if column == "" {
		if v, ok := t.args["column_name"].(string); ok {
			column = v
		}
	}
	nameParts := []string{t.kind, ownerLabel}
	if column != "" {
		nameParts = append(nameParts, column)
	}
	switch t.kind {
	case "accepted_values":
		if values, ok := t.args["values"].([]any); ok {
			for _, v := range values {
				nameParts = append(nameParts, fmt.Sprint(v))
			}
		}
	case "relationships":
		to, _ := t.args["to"].(string)
		field, _ := t.args["field"].(string)
		if m := refArgRE.FindStringSubmatch(to); m != nil {
			nameParts = append(nameParts, field, m[1])
		} else if m := sourceArgRE.FindStringSubmatch(to); m != nil {
			nameParts = append(nameParts, field, m[2])
		}
	}
	name := t.name
	if name == "" {
		name = testName(nameParts)
	}
	id := "test." + pkg.Name + "." + name
	if _, dup := c.nodes[id]; dup {
		id += "." + checksum(t.path, fmt.Sprint(t.node.Line))[:10]
	}
	n := &Node{UniqueID: id, Kind: KindTest, Name: name, Package: pkg.Name, Path: t.path, Line: t.node.Line,
		RawSQL: t.path + fmt.Sprint(t.node.Line) + t.kind + fmt.Sprint(t.args),
		Test:   &TestSpec{Name: t.kind, Model: owner.Name, Column: column, Args: t.args, AttachTo: owner.UniqueID}}
	fail := func(format string, args ...any) {
		c.fail(n, at(t.path, t.node, format, args...))
	}
	cfg := defaultConfig(KindTest)
	owners := []*Package{pkg}
	if pkg != c.p.root {
		owners = append(owners, c.p.root)
	}
	for _, o := range owners {
		if ds := c.applyTree(&cfg, o.testsTree, o, pkg.Name, []string{t.kind}); len(ds) > 0 {
			c.fail(n, ds...)
			return
		}
	}
	for _, e := range t.config {
		v, err := c.renderConfigValue(pkg.Name, e.value)
		if err == nil {
			err = cfg.set(e.key, v)
		}
		if err != nil {
			fail("test %s: %v", t.kind, err)
			return
		}
	}
	if !cfg.Enabled {
		return
	}
	n.Config = cfg
	if !contains(genericTests, t.kind) {
		c.fail(n, Diagnostic{Path: t.path, Line: t.node.Line, Col: t.node.Column,
			Message: fmt.Sprintf("unknown generic test %q", t.kind),
			Hint:    strings.TrimSpace(didYouMean(t.kind, genericTests) + " dataops supports unique, not_null, accepted_values and relationships; write others as singular tests in tests/")})
		return
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
			dep, skipped := c.findRef(pkg.Name, "", m[1])
			switch {
			case dep != "":
				deps = append(deps, dep)
			case skipped != "":
				c.block(n, []string{skipped})
				return
			default:
				fail("relationships to: %s names an unknown model%s", to, hintSuffix(didYouMean(m[1], c.modelNames())))
				return
			}
		} else if m := sourceArgRE.FindStringSubmatch(to); m != nil {
			parent = relationValue{kind: "src", key: m[1] + "." + m[2], name: m[2]}
			dep, _ := c.findSource(pkg.Name, m[1]+"."+m[2])
			if dep == "" {
				fail("relationships to: %s names an undeclared source", to)
				return
			}
			deps = append(deps, dep)
		} else {
			fail("relationships to: must be ref('model') or source('source', 'table'), not %q", to)
			return
		}
		sql = fmt.Sprintf("with child as (\n    select %s as from_field\n    from %s\n    where %s is not null\n),\nparent as (\n    select %s as to_field\n    from %s\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null",
			col, target, col, quoteIdent(field), parent.String())
	}
	if !ownerOK {
		s := skippedFrom(n, CauseUpstream, "tests "+owner.Name+", which did not compile")
		s.Upstream = []string{owner.UniqueID}
		c.skipped[id] = s
		return
	}
	sort.Strings(deps)
	n.RawSQL, n.rendered, n.DependsOn = sql, sql, Depends{Nodes: deps}
	n.refIDs = map[string]string{}
	for _, d := range deps {
		if dn := c.nodes[d]; dn != nil {
			if dn.Kind == KindSource {
				n.refIDs[dn.SourceName+"."+dn.Name] = d
			} else {
				n.refIDs[dn.Name] = d
			}
		}
	}
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

// compileSingularTests renders a package's tests/*.sql: queries
// returning failing rows.
func (c *compiler) compileSingularTests(pkg *Package) {
	var jobs []renderJob
	for _, f := range pkg.singular {
		name := baseName(f.path)
		n := &Node{UniqueID: "test." + pkg.Name + "." + name, Kind: KindTest, Name: name, Package: pkg.Name, Path: f.path,
			RawSQL: f.content, Line: 1}
		if _, dup := c.nodes[n.UniqueID]; dup {
			c.diags = append(c.diags, Diagnostic{Path: f.path, Line: 1, Message: fmt.Sprintf("duplicate test name %q", name)})
			continue
		}
		jobs = append(jobs, renderJob{node: n, src: f.content})
	}
	for _, res := range c.renderParallel(jobs) {
		n := res.job.node
		if len(res.problems) > 0 || res.st == nil {
			c.fail(n, res.problems...)
			continue
		}
		var ok bool
		if n.Config, ok = c.resolveConfig(pkg, n, nil, res.st.config); !ok {
			continue
		}
		if !n.Config.Enabled {
			continue
		}
		n.rendered = res.out
		c.refs[n.UniqueID] = res.st
		c.nodes[n.UniqueID] = n
	}
}
