package project

import (
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// relationValue is what ref(), source(), this and api.Relation.create
// evaluate to in templates: dbt's Relation. A reference to a node prints
// as a placeholder resolved after the compile (and per deferral); one
// made from parts prints as the quoted name.
type relationValue struct {
	kind string // ref, src, this; "" for a relation made from its parts
	key  string // [package.]model name, "source.table", or "" for this
	name string // the relation's own name, for .name/.identifier
	// parts are the relation's database, schema and identifier when known:
	// always for a relation made from parts; for a node, once the
	// compile has configured it (the second render).
	parts *Relation
	// st is the render that made the relation; reading an unknown part
	// asks it for a second render.
	st *renderState
	// include chooses which parts print, for include(database=false).
	noDatabase, noSchema bool
	relType              string // table, view, cte, ... ("" unknown)
}

func (r *relationValue) String() string {
	if r.kind != "" && !r.noDatabase && !r.noSchema {
		return phOpen + r.kind + ":" + r.key + phClose
	}
	p := r.resolved()
	out := Relation{Name: p.Name}
	if !r.noSchema {
		out.Schema = p.Schema
	}
	if !r.noDatabase && !r.noSchema {
		out.Database = p.Database
	}
	return quoteRelation(out)
}

// resolved returns the relation's parts, or the best guess while they are
// unknown (asking for a second render).
func (r *relationValue) resolved() Relation {
	if r.parts != nil {
		return *r.parts
	}
	if r.st != nil {
		r.st.second = true
	}
	return Relation{Name: r.name}
}

func (r *relationValue) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "database":
		db := r.resolved().Database
		if db == "" && r.st != nil && r.kind != "" {
			db = r.st.database
		}
		return nilIfEmpty(db), true
	case "schema":
		return nilIfEmpty(r.resolved().Schema), true
	case "identifier", "name", "table":
		if r.parts != nil {
			return r.parts.Name, true
		}
		if r.kind == "src" {
			r.resolved()
		}
		return r.name, true
	case "type":
		return nilIfEmpty(r.relType), true
	case "is_table":
		return r.relType == "table", true
	case "is_view":
		return r.relType == "view", true
	case "is_cte":
		return r.relType == "cte", true
	case "is_materialized_view":
		return r.relType == "materialized_view", true
	case "path":
		p := r.resolved()
		d := jinja.NewDict()
		d.SetString("database", nilIfEmpty(p.Database))
		d.SetString("schema", nilIfEmpty(p.Schema))
		d.SetString("identifier", p.Name)
		return d, true
	case "get":
		// dbt's relations are mappings; packages test for them with
		// obj.get('metadata', {}).get('type').
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) == 0 {
				return nil, fmt.Errorf("get() takes a key")
			}
			switch jinja.Str(a.Pos[0]) {
			case "metadata":
				d := jinja.NewDict()
				d.SetString("type", relationClassName(r.adapterType()))
				return d, nil
			case "path":
				v, _ := r.Attr("path")
				return v, nil
			case "type":
				return nilIfEmpty(r.relType), nil
			}
			if len(a.Pos) > 1 {
				return a.Pos[1], nil
			}
			return nil, nil
		}), true
	case "render":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) { return r.String(), nil }), true
	case "quote":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) { return r, nil }), true
	case "include":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			out := *r
			if v, ok := a.Kwarg("database"); ok && !jinja.Truth(v) {
				out.noDatabase = true
			}
			if v, ok := a.Kwarg("schema"); ok && !jinja.Truth(v) {
				out.noSchema = true
			}
			if out.noDatabase || out.noSchema {
				p := r.resolved()
				out.parts = &p
			}
			return &out, nil
		}), true
	case "incorporate", "replace_path":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			out := *r
			p := r.resolved()
			set := func(d *jinja.Dict) {
				for i, k := range d.Keys() {
					v := jinja.Str(d.Values()[i])
					switch jinja.Str(k) {
					case "database":
						p.Database = v
					case "schema":
						p.Schema = v
					case "identifier":
						p.Name = v
						out.name = v
					}
				}
			}
			if v, ok := a.Kwarg("path"); ok {
				if d, ok := v.(*jinja.Dict); ok {
					set(d)
				}
			}
			for _, kv := range a.Kw {
				switch kv.Name {
				case "database", "schema", "identifier":
					d := jinja.NewDict()
					d.SetString(kv.Name, kv.Value)
					set(d)
				case "type":
					out.relType = jinja.Str(kv.Value)
				}
			}
			if out.kind != "" && (p != r.resolved()) {
				out.kind = "" // a different relation now: print it as written
			}
			out.parts = &p
			return &out, nil
		}), true
	}
	return nil, false
}

func nilIfEmpty(s string) jinja.Value {
	if s == "" {
		return nil
	}
	return s
}

// relationFromParts is api.Relation.create(database=, schema=, identifier=).
func relationFromParts(a jinja.Args) *relationValue {
	p := Relation{}
	get := func(name string) string {
		if v, ok := a.Kwarg(name); ok && v != nil {
			if _, undef := v.(jinja.Undefined); !undef {
				return jinja.Str(v)
			}
		}
		return ""
	}
	p.Database, p.Schema, p.Name = get("database"), get("schema"), get("identifier")
	rel := &relationValue{name: p.Name, parts: &p}
	if t := get("type"); t != "" {
		rel.relType = t
	}
	return rel
}

// relationTypeOf is the relation type a node's materialization builds.
func relationTypeOf(n *Node) string {
	switch n.Config.Materialized {
	case "table", "incremental", "seed", "snapshot":
		return "table"
	case "view":
		return "view"
	case "ephemeral":
		return "cte"
	}
	if n.Kind == KindSource {
		return "table"
	}
	return ""
}

// nodeRelation makes the relation value for a reference to node n as seen
// from the render st: a placeholder, with its parts once known.
func (c *compiler) nodeRelation(st *renderState, kind, key string, n *Node, fallbackName string) *relationValue {
	rel := &relationValue{kind: kind, key: key, name: fallbackName, st: st}
	if n != nil && st.execute {
		p := n.Relation
		if n.Kind == KindSource {
			p = n.Relation
		}
		rel.parts = &p
		rel.name = p.Name
		rel.relType = relationTypeOf(n)
	}
	return rel
}

// identifierOf strips quotes from a quoted identifier.
func identifierOf(s string) string {
	return strings.ReplaceAll(strings.Trim(s, `"`), `""`, `"`)
}

// relationClassName is the name of dbt's Relation class for an adapter.
func relationClassName(adapter string) string {
	switch adapter {
	case "postgres":
		return "PostgresRelation"
	case "duckdb":
		return "DuckDBRelation"
	case "":
		return "BaseRelation"
	}
	return strings.ToUpper(adapter[:1]) + adapter[1:] + "Relation"
}

func (r *relationValue) adapterType() string {
	if r.st != nil && r.st.adapter != "" {
		return r.st.adapter
	}
	return ""
}
