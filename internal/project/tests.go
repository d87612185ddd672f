package project

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/dataops-dev/dataops/internal/jinja"
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
	name, alias := t.name, ""
	if name == "" {
		name, alias = dbtTestName(t.kind, ownerLabel, t.args, column)
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
	if alias != name {
		cfg.Alias = alias
	}
	n.Config = cfg
	if d := c.testMacro(pkg.Name, t.kind); d != nil {
		c.addMacroTest(pkg, t, n, d, owner, ownerOK, rel, column)
		return
	}
	for k, v := range t.args {
		if s, ok := v.(string); ok && strings.Contains(s, "{{") {
			rendered, err := c.renderConfigValue(pkg.Name, s)
			if err != nil {
				fail("test %s argument %s: %v", t.kind, k, err)
				return
			}
			t.args[k] = rendered
		}
	}
	if !contains(genericTests, t.kind) {
		c.fail(n, Diagnostic{Path: t.path, Line: t.node.Line, Col: t.node.Column,
			Message: fmt.Sprintf("unknown generic test %q", t.kind),
			Hint:    strings.TrimSpace(didYouMean(t.kind, c.testNames()) + " no macro test_" + strings.TrimPrefix(t.kind[strings.Index(t.kind, ".")+1:], ".") + " in the project or its packages: write it as {% test " + t.kind[strings.Index(t.kind, ".")+1:] + "(model, column_name) %} under macros/ or tests/generic/")})
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

// dbtTestName names a generic test as dbt does: its type, what it tests,
// and its arguments flattened and sorted by name, joined with "__"; a name
// of 64 characters or more is shortened to a prefix and the md5 of the
// full name for the test's file (the alias).
func dbtTestName(kind, owner string, args map[string]any, column string) (name, alias string) {
	all := map[string]any{}
	for k, v := range args {
		all[k] = v
	}
	if column != "" {
		all["column_name"] = column
	}
	var flat []string
	for _, k := range sortedKeys(all) {
		if k == "model" {
			continue
		}
		switch v := all[k].(type) {
		case map[string]any:
			for _, x := range dictValuesInOrder(v) {
				flat = append(flat, pyString(x))
			}
		case []any:
			for _, x := range v {
				flat = append(flat, pyString(x))
			}
		default:
			flat = append(flat, pyString(v))
		}
	}
	for i, f := range flat {
		flat[i] = nonWordRE.ReplaceAllString(f, "_")
	}
	identifier := strings.ReplaceAll(kind, ".", "_") + "_" + owner
	name = identifier + "_" + strings.Join(flat, "__")
	alias = name
	if len(name) >= 64 {
		sum := md5.Sum([]byte(name))
		alias = identifier[:min(30, len(identifier))] + "_" + hex.EncodeToString(sum[:])
	}
	return name, alias
}

var nonWordRE = regexp.MustCompile(`[^0-9a-zA-Z_]+`)

// pyString prints a YAML value as Python's str() does.
func pyString(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	}
	return jinja.Str(jinja.FromGo(v))
}

// dictValuesInOrder gives a YAML mapping's values in key order (the
// mapping's own order is not kept once decoded).
func dictValuesInOrder(m map[string]any) []any {
	var out []any
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
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
		c.templates[n.UniqueID] = res.tpl
		c.nodes[n.UniqueID] = n
	}
}

// testCall is a generic test written as a macro: the macro and its
// arguments as the properties file gives them.
type testCall struct {
	macro  *macroDef
	kwargs map[string]any
	owner  *relationValue // what the test tests, for its model argument
	ownerN *Node
}

// testMacro finds the macro of a generic test: test_<name> in the package
// the name gives, or else the root project, the test's own package and
// then every package. The four tests dbt defines itself are compiled by
// dataops unless a project or package writes its own.
func (c *compiler) testMacro(from, kind string) *macroDef {
	if pkg, name, ok := strings.Cut(kind, "."); ok {
		return c.r.findMacro(pkg, "test_"+name)
	}
	for _, pkg := range c.searchOrder(from, "") {
		if d := c.r.findMacro(pkg, "test_"+kind); d != nil {
			return d
		}
	}
	return nil
}

// addMacroTest adds a generic test whose SQL a macro writes. It renders
// like a model: its raw code calls the macro with the test's arguments,
// as dbt's does.
func (c *compiler) addMacroTest(pkg *Package, t testDecl, n *Node, d *macroDef, owner *Node, ownerOK bool, rel relationValue, column string) {
	call := d.name
	if d.pkg != c.p.Name && d.pkg != pkg.Name {
		call = d.pkg + "." + d.name
	}
	n.RawSQL = "{{ " + call + "(**_dbt_generic_test_kwargs) }}"
	kwargs := map[string]any{}
	for k, v := range t.args {
		kwargs[k] = v
	}
	if column != "" {
		kwargs["column_name"] = column
	}
	n.testCall = &testCall{macro: d, kwargs: kwargs, owner: &rel, ownerN: owner}
	n.DependsOn.Nodes = []string{owner.UniqueID}
	if !ownerOK {
		s := skippedFrom(n, CauseUpstream, "tests "+owner.Name+", which did not compile")
		s.Upstream = []string{owner.UniqueID}
		c.skipped[n.UniqueID] = s
		return
	}
	c.testJobs = append(c.testJobs, pkgJob{pkg, renderJob{node: n, src: n.RawSQL}})
}

type pkgJob struct {
	pkg *Package
	job renderJob
}

// renderMacroTests renders the generic tests written as macros, once
// every model is known.
func (c *compiler) renderMacroTests() {
	jobs := make([]renderJob, len(c.testJobs))
	for i, j := range c.testJobs {
		jobs[i] = j.job
	}
	for _, res := range c.renderParallel(jobs) {
		n := res.job.node
		if res.st == nil {
			c.fail(n, res.problems...)
			continue
		}
		// The properties' own config (severity, where) wins over the
		// macro's config() call, as in dbt.
		for _, e := range res.st.config {
			if !isSetIn(e.key, n) {
				if err := n.Config.set(e.key, e.value); err != nil {
					c.problem(n, Diagnostic{Path: n.testCall.macro.path, Line: n.testCall.macro.line, Message: fmt.Sprintf("config %s: %v", e.key, err)})
				}
			}
		}
		if !n.Config.Enabled {
			continue
		}
		n.rendered = res.out
		c.nodes[n.UniqueID] = n
		c.refs[n.UniqueID] = res.st
		c.templates[n.UniqueID] = res.tpl
		c.warnFrom(n, res.st)
		if len(res.problems) > 0 {
			c.problem(n, res.problems...)
		}
	}
	c.testJobs = nil
}

// isSetIn reports whether a test's properties set a config key.
func isSetIn(key string, n *Node) bool {
	switch strings.ReplaceAll(key, "-", "_") {
	case "severity":
		return n.Config.Severity != "" && n.Config.Severity != "error"
	case "where":
		return n.Config.Where != ""
	}
	return false
}

// looksLikeFunc is dbt's test for an argument to render as an
// expression: ref('x'), source('a', 'b'), var('x'), env_var('X').
var looksLikeFunc = regexp.MustCompile(`^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$`)

// testKwargs renders a macro test's arguments as dbt does: every string
// natively (ref('x') as an expression), column_name as written, and model
// as the tested relation, filtered by the test's where config.
func (r *renderer) testKwargs(ctx context.Context, n *Node, st *renderState, vars map[string]jinja.Value) (*jinja.Dict, error) {
	tc := n.testCall
	var convert func(key string, v any) (jinja.Value, error)
	convert = func(key string, v any) (jinja.Value, error) {
		switch x := v.(type) {
		case string:
			if key == "column_name" {
				return x, nil
			}
			src := x
			if looksLikeFunc.MatchString(x) {
				src = "{{ " + x + " }}"
			}
			if !strings.Contains(src, "{{") && !strings.Contains(src, "{%") {
				return x, nil
			}
			tpl, err := r.env.Parse(n.Path, src)
			if err != nil {
				return nil, err
			}
			return tpl.RenderNative(ctx, vars)
		case []any:
			out := make([]jinja.Value, len(x))
			for i, it := range x {
				v, err := convert("", it)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return jinja.NewList(out...), nil
		case map[string]any:
			d := jinja.NewDict()
			for _, k := range sortedKeys(x) {
				v, err := convert("", x[k])
				if err != nil {
					return nil, err
				}
				d.SetString(k, v)
			}
			return d, nil
		}
		return jinja.FromGo(v), nil
	}
	d := jinja.NewDict()
	for _, k := range sortedKeys(tc.kwargs) {
		v, err := convert(k, tc.kwargs[k])
		if err != nil {
			return nil, err
		}
		d.SetString(k, v)
	}
	owner := *tc.owner
	owner.st = st
	if tc.ownerN != nil {
		key := tc.ownerN.Name
		if tc.ownerN.Kind == KindSource {
			key = tc.ownerN.SourceName + "." + tc.ownerN.Name
			if !contains(st.sources, key) {
				st.sources = append(st.sources, key)
			}
		} else {
			key = tc.ownerN.Package + "." + tc.ownerN.Name
			owner.key = key
			if !contains(st.refs, key) {
				st.refs = append(st.refs, key)
			}
		}
		if st.execute {
			p := tc.ownerN.Relation
			owner.parts = &p
		}
	}
	var model jinja.Value = &owner
	if n.Config.Where != "" {
		model = "(select * from " + owner.String() + " where " + n.Config.Where + ") dbt_subquery"
	}
	d.SetString("model", model)
	return d, nil
}

// testNames lists the generic tests the project can use, for hints.
func (c *compiler) testNames() []string {
	names := append([]string(nil), genericTests...)
	for pkg, defs := range c.r.macros {
		for name := range defs {
			if t, ok := strings.CutPrefix(name, "test_"); ok {
				if pkg != c.p.Name {
					t = pkg + "." + t
				}
				names = append(names, t)
			}
		}
	}
	sort.Strings(names)
	return names
}
