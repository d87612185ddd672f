package project

import (
	"context"
	"strings"
	"testing"
)

// TestSeededSourcesFollowTheirSeed: a source whose table a seed loads
// (examples/shop's raw tables, +schema: raw) is read wherever the seed is:
// in a development target's schema, in production's raw, in a pull
// request's environment when it builds the seed and in production when it
// defers it. It depends on the seed, so a changed seed reaches what reads
// the source.
func TestSeededSourcesFollowTheirSeed(t *testing.T) {
	p, ds := Load("../../examples/shop")
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	compile := func(target Target) *Manifest {
		m, ds := Compile(context.Background(), p, Options{Target: target})
		if len(ds) > 0 {
			t.Fatal(ds)
		}
		return m
	}
	prod := Target{Name: "prod", Schema: "main", Type: "duckdb"}
	env := Target{Name: "pr_1", Schema: "pr_1", Type: "duckdb"}
	deferTo := func(m *Manifest, selected string) Resolver {
		return func(n *Node) Ref {
			if n.Name == selected {
				return Ref{Relation: n.Relation}
			}
			return Ref{Relation: m.RelationIn(n, prod)}
		}
	}
	tests := []struct {
		name    string
		target  Target
		resolve func(m *Manifest) Resolver
		want    string
	}{
		{"development target", Target{Name: "dev", Schema: "main", Type: "duckdb"}, nil, `"main"."raw_orders"`},
		{"production", prod, nil, `"raw"."raw_orders"`},
		{"environment, seed deferred", env, func(m *Manifest) Resolver { return deferTo(m, "stg_orders") }, `"raw"."raw_orders"`},
		{"environment, seed built", env, func(m *Manifest) Resolver { return deferTo(m, "raw_orders") }, `"pr_1"."raw_orders"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := compile(tc.target)
			model, _ := m.Lookup("stg_orders")
			var resolve Resolver
			if tc.resolve != nil {
				resolve = tc.resolve(m)
			}
			sql, _ := m.SQLFor(model, false, resolve)
			if !strings.Contains(sql, "from "+tc.want) {
				t.Errorf("stg_orders reads, want %s:\n%s", tc.want, sql)
			}
			src := m.Nodes["source.shop.shop.raw_orders"]
			if src.LoadedBy != "seed.shop.raw_orders" || strings.Join(m.Parents(src.UniqueID), ",") != "seed.shop.raw_orders" {
				t.Errorf("source %s: loaded by %q, parents %v", src.UniqueID, src.LoadedBy, m.Parents(src.UniqueID))
			}
		})
	}
	// A source no seed loads stays where its YAML says.
	m := mustCompile(t, map[string]string{
		"seeds/lookup.csv":   "id\n1\n",
		"models/sources.yml": "version: 2\nsources:\n  - name: app\n    schema: app\n    tables:\n      - name: lookup\n",
		"models/a.sql":       "select * from {{ source('app', 'lookup') }}",
	}, Target{})
	if src := m.Nodes["source.p.app.lookup"]; src.LoadedBy != "" || !strings.Contains(m.Nodes["model.p.a"].CompiledSQL, `"app"."lookup"`) {
		t.Errorf("a source no seed loads: %+v\n%s", src, m.Nodes["model.p.a"].CompiledSQL)
	}
}
