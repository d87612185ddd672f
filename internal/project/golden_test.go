package project

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/golden"
)

// golden compares got with testdata/<name>, rewriting it under -update.

// TestShopGolden compiles examples/shop and compares every model's and
// test's SQL with the golden copy.
func TestShopGolden(t *testing.T) {
	p, ds := Load("../../examples/shop")
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	// One target's SQL is the golden copy; production differs only in where
	// relations live, checked below.
	for _, targetName := range []string{"dev"} {
		target, err := p.Target(targetName)
		if err != nil {
			t.Fatal(err)
		}
		m, ds := Compile(context.Background(), p, Options{Target: target})
		if len(ds) > 0 {
			t.Fatal(ds)
		}
		if got := m.Stats(); got != (Stats{Models: 13, Seeds: 6, Sources: 5, Tests: 71, Macros: 3}) {
			t.Errorf("stats = %+v", got)
		}
		for _, id := range m.Order() {
			n := m.Nodes[id]
			if n.Kind != KindModel && n.Kind != KindTest {
				continue
			}
			t.Run(targetName+"/"+n.Name, func(t *testing.T) {
				golden.Check(t, filepath.Join("golden", "shop", targetName, CompiledPath(n)), []byte(n.CompiledSQL))
				if n.IncrementalSQL != "" {
					golden.Check(t, filepath.Join("golden", "shop", targetName, strings.TrimSuffix(n.Path, ".sql")+".incremental.sql"), []byte(n.IncrementalSQL))
				}
			})
		}
	}
}

// TestShopProductionSchemas: for the production target, custom schemas are
// used as given (the seeds land in raw, where the shop's source reads them).
func TestShopProductionSchemas(t *testing.T) {
	p, _ := Load("../../examples/shop")
	target, _ := p.Target("prod")
	m, ds := Compile(context.Background(), p, Options{Target: target})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	seed, _ := m.Lookup("raw_orders")
	model, _ := m.Lookup("stg_orders")
	src := m.Nodes["source.shop.shop.raw_orders"]
	if seed.Relation.Schema != "raw" || src.Relation != seed.Relation || model.Relation.Schema != "main" {
		t.Errorf("seed %+v, source %+v, model %+v", seed.Relation, src.Relation, model.Relation)
	}
	if !strings.Contains(model.CompiledSQL, `from "raw"."raw_orders"`) {
		t.Errorf("stg_orders should read the raw schema:\n%s", model.CompiledSQL)
	}
}

// TestBrokenProjects checks the full error output of each project under
// testdata/broken against its expected.txt: every problem, with its
// position in the file the user edits and a hint.
func TestBrokenProjects(t *testing.T) {
	dirs, err := filepath.Glob("testdata/broken/*")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no broken projects", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p, ds := Load(dir)
			if p != nil && !ds.HasConfigErrors() {
				target, _ := p.Target("")
				m, cds := Compile(context.Background(), p, Options{Target: target})
				ds = append(ds, cds...)
				checkPartial(t, m, cds)
			}
			if len(ds) == 0 {
				t.Fatal("compiled without errors")
			}
			ds.Sort()
			var b strings.Builder
			for _, d := range ds {
				b.WriteString(d.String())
				b.WriteString("\n")
			}
			golden.Check(t, filepath.Join("broken", filepath.Base(dir), "expected.txt"), []byte(b.String()))
		})
	}
}

// TestPackagedGolden compiles testdata/packaged, a project of our own with
// a local package (dispatch with an override, a generic test, a package
// model, dbt's cross-database macros), for DuckDB and PostgreSQL, and
// compares every model's and test's SQL with the golden copy. The build
// tests run the same SQL on both engines (internal/build).
func TestPackagedGolden(t *testing.T) {
	for _, engine := range []string{"duckdb", "postgres"} {
		p, ds := Load("testdata/packaged")
		if p == nil {
			t.Fatal(ds)
		}
		m, ds := Compile(context.Background(), p, Options{Target: Target{Name: "prod", Schema: "analytics", Type: engine, Database: "warehouse"}})
		if len(ds) > 0 {
			t.Fatal(ds)
		}
		if got := m.Stats(); got != (Stats{Models: 4, Seeds: 1, Tests: 5, Macros: 5}) {
			t.Errorf("%s: stats = %+v", engine, got)
		}
		for _, id := range m.Order() {
			n := m.Nodes[id]
			if n.Kind != KindModel && n.Kind != KindTest {
				continue
			}
			t.Run(engine+"/"+n.Name, func(t *testing.T) {
				golden.Check(t, filepath.Join("golden", "packaged", engine, CompiledPath(n)), []byte(n.CompiledSQL))
			})
		}
	}
}
