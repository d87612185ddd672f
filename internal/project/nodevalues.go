package project

import (
	"strings"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// dbtTags are the block tags dbt adds to Jinja, each defining a macro:
// {% test name(args) %} (named test_<name>, as dbt names them),
// {% materialization name, adapter='x' %} and {% snapshot name %}.
func dbtTags() map[string]jinja.Tag {
	return map[string]jinja.Tag{
		"test": {Parse: func(p *jinja.TagParser) (string, error) {
			name, err := p.Name()
			if err != nil {
				return "", err
			}
			if err := p.Signature(); err != nil {
				return "", err
			}
			return "test_" + name, nil
		}},
		"data_test": {Parse: func(p *jinja.TagParser) (string, error) {
			name, err := p.Name()
			if err != nil {
				return "", err
			}
			if err := p.Signature(); err != nil {
				return "", err
			}
			return "test_" + name, nil
		}},
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
	return nodeDict(n, r.c.p.Name, st.execute)
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
	for _, part := range strings.Split(strings.TrimSuffix(n.Path, ".sql"), "/") {
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
			d := nodeDict(n, r.c.p.Name, true)
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
		r.graph = g
	})
	return r.graph
}
