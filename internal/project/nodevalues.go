package project

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// dbtTags are the block tags dbt adds to Jinja, each defining a macro:
// {% test name(args) %} (named test_<name>, as dbt names them),
// {% materialization name, adapter='x' %} and {% snapshot name %}.
func dbtTags() map[string]jinja.Tag {
	return map[string]jinja.Tag{
		"test":      {Parse: testTag},
		"data_test": {Parse: testTag},
		"materialization": {Parse: func(p *jinja.TagParser) (string, error) {
			name, err := p.Name()
			if err != nil {
				return "", err
			}
			adapter := "default"
			for p.Skip(",") {
				switch {
				case p.Skip("default"):
				case p.Skip("adapter"):
					if err := p.Expect("="); err != nil {
						return "", err
					}
					v, err := p.Literal()
					if err != nil {
						return "", err
					}
					adapter = jinja.Str(v)
				case p.Skip("supported_languages"):
					if err := p.Expect("="); err != nil {
						return "", err
					}
					if _, err := p.Literal(); err != nil {
						return "", err
					}
				default:
					return "", p.Errorf("expected adapter=, default or supported_languages=")
				}
			}
			return "materialization_" + name + "_" + adapter, nil
		}},
		"snapshot": {Parse: func(p *jinja.TagParser) (string, error) {
			name, err := p.Name()
			if err != nil {
				return "", err
			}
			return snapshotMacroPrefix + name, nil
		}},
	}
}

// testTag reads {% test name(args) %}: a macro named test_<name>.
func testTag(p *jinja.TagParser) (string, error) {
	name, err := p.Name()
	if err != nil {
		return "", err
	}
	if err := p.Signature(); err != nil {
		return "", err
	}
	return "test_" + name, nil
}

// snapshotMacroPrefix names the macro a {% snapshot %} block defines.
const snapshotMacroPrefix = "snapshot__"

// thisRelation is `this` for node n.
func (r *renderer) thisRelation(n *Node, st *renderState) jinja.Value {
	if n.Kind == KindTest {
		return nil
	}
	rel := &relationValue{kind: "this", name: n.Name, st: st}
	if st.execute && n.Relation.Name != "" {
		p := n.Relation
		rel.parts = &p
		rel.name = p.Name
		rel.relType = relationTypeOf(n)
	}
	return rel
}

// modelValue is `model`: the node as dbt's manifest describes it.
func (r *renderer) modelValue(n *Node, st *renderState) jinja.Value {
	return &lazyDict{build: func() *jinja.Dict { return nodeDict(n, r.c.p.Name, st.execute) }, fast: n, root: r.c.p.Name}
}

// lazyDict is a dict built when first read: most templates never read
// `model`, which is costly to describe.
type lazyDict struct {
	build func() *jinja.Dict
	// fast, when set, answers the fields templates read most without
	// describing the whole node.
	fast *Node
	root string
	// shared marks a value every render sees (the graph's nodes): built
	// once under the lock, and frozen.
	shared bool
	once   sync.Once
	d      *jinja.Dict
}

func (l *lazyDict) dict() *jinja.Dict {
	l.once.Do(func() {
		l.d = l.build()
		if l.shared {
			freeze(l.d)
		}
	})
	return l.d
}

// freeze makes a dict and everything in it read-only, for values shared
// by concurrent renders.
func freeze(v jinja.Value) {
	switch x := v.(type) {
	case *jinja.Dict:
		for _, it := range x.Values() {
			freeze(it)
		}
		x.Freeze()
	case *jinja.List:
		for _, it := range x.Items {
			freeze(it)
		}
		x.Freeze()
	}
}

func (l *lazyDict) Attr(name string) (jinja.Value, bool) {
	if name == "get" || name == "items" || name == "keys" || name == "values" {
		return &dictMethod{d: l.dict(), name: name}, true
	}
	if v, ok := l.field(name); ok {
		return v, true
	}
	return l.dict().Get(name)
}

func (l *lazyDict) Item(key jinja.Value) (jinja.Value, bool) {
	if name, ok := key.(string); ok {
		if v, ok := l.field(name); ok {
			return v, true
		}
	}
	return l.dict().Get(key)
}

// field answers the cheap fields of a node without building its dict.
func (l *lazyDict) field(name string) (jinja.Value, bool) {
	n := l.fast
	if n == nil {
		return nil, false
	}
	switch name {
	case "name":
		return n.Name, true
	case "unique_id":
		return n.UniqueID, true
	case "resource_type":
		return string(n.Kind), true
	case "package_name":
		if n.Package == "" {
			return l.root, true
		}
		return n.Package, true
	case "path", "original_file_path":
		return n.Path, true
	case "version", "latest_version":
		return nil, true
	}
	return nil, false
}
func (l *lazyDict) Iter() ([]jinja.Value, error) { return l.dict().Keys(), nil }
func (l *lazyDict) Len() int                     { return l.dict().Len() }
func (l *lazyDict) String() string               { return jinja.Str(l.dict()) }

// dictMethod is dict.get, items, keys and values on a lazyDict.
type dictMethod struct {
	d    *jinja.Dict
	name string
}

func (m *dictMethod) CallJinja(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	switch m.name {
	case "get":
		if len(a.Pos) == 0 {
			return nil, fmt.Errorf("get() takes a key")
		}
		if v, ok := m.d.Get(a.Pos[0]); ok {
			return v, nil
		}
		if len(a.Pos) > 1 {
			return a.Pos[1], nil
		}
		return nil, nil
	case "keys":
		return jinja.NewList(m.d.Keys()...), nil
	case "values":
		return jinja.NewList(m.d.Values()...), nil
	}
	items := make([]jinja.Value, m.d.Len())
	for i, k := range m.d.Keys() {
		items[i] = jinja.Tuple{k, m.d.Values()[i]}
	}
	return jinja.NewList(items...), nil
}

// nodeDict describes a node the way dbt's graph and model variables do.
func nodeDict(n *Node, root string, configured bool) *jinja.Dict {
	d := jinja.NewDict()
	pkg := n.Package
	if pkg == "" {
		pkg = root
	}
	d.SetString("unique_id", n.UniqueID)
	d.SetString("name", n.Name)
	d.SetString("resource_type", string(n.Kind))
	d.SetString("package_name", pkg)
	d.SetString("path", n.Path)
	d.SetString("original_file_path", n.Path)
	d.SetString("raw_code", n.RawSQL)
	d.SetString("raw_sql", n.RawSQL)
	d.SetString("language", "sql")
	d.SetString("description", n.Description)
	fqn := []jinja.Value{pkg}
	for _, part := range n.fqn {
		fqn = append(fqn, part)
	}
	d.SetString("fqn", jinja.NewList(fqn...))
	cfg := jinja.NewDict()
	if configured {
		for _, k := range []string{"materialized", "schema", "alias", "tags", "enabled", "unique_key", "incremental_strategy",
			"severity", "where"} {
			if v, ok := configLookup(n.Config, k); ok {
				cfg.SetString(k, jinja.FromGo(v))
			}
		}
		for _, k := range sortedKeys(n.Config.Extra) {
			cfg.SetString(k, jinja.FromGo(n.Config.Extra[k]))
		}
		d.SetString("tags", jinja.FromGo(append([]string{}, n.Config.Tags...)))
		d.SetString("schema", n.Relation.Schema)
		d.SetString("alias", n.Relation.Name)
		d.SetString("database", n.Relation.Database)
		if n.Kind != KindSource {
			d.SetString("relation_name", quoteRelation(n.Relation))
		}
		meta := jinja.NewDict()
		if m, ok := n.Config.Extra["meta"].(map[string]any); ok {
			meta = jinja.FromGo(m).(*jinja.Dict)
		}
		d.SetString("meta", meta)
	} else {
		d.SetString("tags", jinja.NewList())
		d.SetString("meta", jinja.NewDict())
	}
	d.SetString("config", cfg)
	deps := jinja.NewDict()
	deps.SetString("nodes", jinja.FromGo(append([]string{}, n.DependsOn.Nodes...)))
	deps.SetString("macros", jinja.FromGo(append([]string{}, n.DependsOn.Macros...)))
	d.SetString("depends_on", deps)
	refs := []jinja.Value{}
	for _, id := range n.DependsOn.Nodes {
		if parts := strings.SplitN(id, ".", 3); len(parts) == 3 && (parts[0] == "model" || parts[0] == "seed" || parts[0] == "snapshot") {
			ref := jinja.NewDict()
			ref.SetString("name", parts[2])
			ref.SetString("package", nil)
			ref.SetString("version", nil)
			refs = append(refs, ref)
		}
	}
	d.SetString("refs", jinja.NewList(refs...))
	cols := jinja.NewDict()
	for _, c := range n.Columns {
		col := jinja.NewDict()
		col.SetString("name", c.Name)
		col.SetString("description", c.Description)
		col.SetString("data_type", nilIfEmpty(c.DataType))
		col.SetString("meta", jinja.NewDict())
		col.SetString("tags", jinja.NewList())
		cols.SetString(c.Name, col)
	}
	d.SetString("columns", cols)
	if n.Kind == KindSource {
		d.SetString("source_name", n.SourceName)
		d.SetString("identifier", n.Relation.Name)
		d.SetString("schema", n.Relation.Schema)
		d.SetString("database", n.Relation.Database)
		d.SetString("relation_name", quoteRelation(n.Relation))
	}
	if n.Test != nil {
		meta := jinja.NewDict()
		meta.SetString("name", n.Test.Name)
		meta.SetString("kwargs", jinja.FromGo(n.Test.Args))
		d.SetString("test_metadata", meta)
		d.SetString("column_name", nilIfEmpty(n.Test.Column))
		d.SetString("attached_node", nilIfEmpty(n.Test.AttachTo))
	}
	return d
}

// graphValue is dbt's graph once every node is configured: nodes (models,
// seeds, snapshots and tests) and sources by unique id. It is built once
// and shared, frozen, by every render.
func (r *renderer) graphValue() jinja.Value {
	r.graphOnce.Do(func() {
		nodes, sources := jinja.NewDict(), jinja.NewDict()
		for _, id := range sortedKeys(r.c.nodes) {
			n := r.c.nodes[id]
			// Templates that read the graph mostly filter it by a field or
			// two: each node is described when first read.
			d := &lazyDict{build: func() *jinja.Dict { return nodeDict(n, r.c.p.Name, true) }, shared: true, fast: n, root: r.c.p.Name}
			if n.Kind == KindSource {
				sources.SetString(id, d)
			} else {
				nodes.SetString(id, d)
			}
		}
		g := jinja.NewDict()
		g.SetString("nodes", nodes)
		g.SetString("sources", sources)
		for _, k := range []string{"exposures", "metrics", "groups", "semantic_models", "saved_queries", "unit_tests"} {
			g.SetString(k, jinja.NewDict())
		}
		freeze(g)
		r.graph = g
	})
	return r.graph
}
