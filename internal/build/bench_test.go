package build_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// runnableProject generates a project of n models that really runs: one
// seed of 1,000 rows, then models each joining 1 to 3 earlier models on
// id; the first 10 (staging, reading the seed) are views, the rest tables,
// as in most projects (stacks of hundreds of views make engines expand ever larger
// query trees, which measures the engine, not the build); every tenth
// model has a not_null test. changed models get a different expression, as a pull
// request would.
func runnableProject(n int, changed map[int]bool) []project.File {
	rng := rand.New(rand.NewPCG(42, 7))
	var seed strings.Builder
	seed.WriteString("id,value\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&seed, "%d,%d\n", i, i%97)
	}
	files := []project.File{
		{Path: "dbt_project.yml", Content: []byte("name: bench\n")},
		{Path: "seeds/numbers.csv", Content: []byte(seed.String())},
	}
	var yml strings.Builder
	yml.WriteString("version: 2\nmodels:\n")
	for i := 0; i < n; i++ {
		expr := "a.value + 1"
		if changed[i] {
			expr = "a.value * 2"
		}
		mat := "table"
		if i < 10 {
			mat = "view"
		}
		var sql string
		if i < 10 {
			sql = fmt.Sprintf("{{ config(materialized='%s') }}\nselect a.id, %s as value\nfrom {{ ref('numbers') }} as a\n", mat, expr)
		} else {
			parents := []int{rng.IntN(i)}
			for k := rng.IntN(3); k > 0; k-- {
				parents = append(parents, rng.IntN(i))
			}
			sql = fmt.Sprintf("{{ config(materialized='%s') }}\nselect a.id, %s", mat, expr)
			for k := 1; k < len(parents); k++ {
				sql += fmt.Sprintf(" + p%d.value", k)
			}
			sql += fmt.Sprintf(" as value\nfrom {{ ref('m%04d') }} as a\n", parents[0])
			for k := 1; k < len(parents); k++ {
				sql += fmt.Sprintf("join {{ ref('m%04d') }} as p%d on p%d.id = a.id\n", parents[k], k, k)
			}
		}
		files = append(files, project.File{Path: fmt.Sprintf("models/m%04d.sql", i), Content: []byte(sql)})
		if i%10 == 0 {
			fmt.Fprintf(&yml, "  - name: m%04d\n    columns:\n      - name: id\n        tests: [not_null]\n", i)
		}
	}
	files = append(files, project.File{Path: "models/schema.yml", Content: []byte(yml.String())})
	return files
}

func compileFiles(tb testing.TB, files []project.File, target project.Target) *project.Manifest {
	tb.Helper()
	p, ds := project.LoadFiles("bench", files)
	if p == nil {
		tb.Fatal(ds)
	}
	m, ds := project.Compile(context.Background(), p, project.Options{Target: target})
	if len(ds) > 0 {
		tb.Fatal(ds)
	}
	return m
}

// BenchmarkPullRequestBuild builds a 500-model project in production once,
// then times a pull request that changes 3 models: only they and their
// downstream are built, into an environment that defers the rest to
// production. The baseline, in the same run, builds all 500 models into an
// environment.
func BenchmarkPullRequestBuild(b *testing.B) {
	const models = 500
	changed := map[int]bool{120: true, 260: true, 480: true}
	for _, e := range []struct {
		name string
		open func(testing.TB) warehouse.Warehouse
	}{{"duckdb", warehousetest.DuckDB}, {"postgres", warehousetest.Postgres}} {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			w := e.open(b)
			prodT := project.Target{Name: "prod", Schema: "analytics", Type: w.Dialect().Name()}
			prod := compileFiles(b, runnableProject(models, nil), prodT)
			all, _ := prod.Select("", nil)
			res, err := build.Run(ctx, build.Options{Manifest: prod, Warehouse: w, Selection: all})
			if err != nil || res.Failed() {
				b.Fatalf("production build: %v %+v", err, res)
			}
			env := project.Target{Name: "pr_1", Schema: "pr_1", Type: w.Dialect().Name()}
			if err := w.CreateEnvironment(ctx, env.Schema, warehouse.EnvironmentMarker{PR: 1}); err != nil {
				b.Fatal(err)
			}
			head := compileFiles(b, runnableProject(models, changed), env)
			var expr []string
			for i := range changed {
				expr = append(expr, fmt.Sprintf("m%04d+", i))
			}
			modified, err := head.Select(strings.Join(expr, " "), nil)
			if err != nil {
				b.Fatal(err)
			}
			modified = head.WithTests(modified)
			everything, _ := head.Select("", nil)
			for _, c := range []struct {
				name string
				sel  project.Selection
			}{{"baseline-all-500", everything}, {"changed-3-and-downstream", modified}} {
				b.Run(c.name, func(b *testing.B) {
					var built int
					for i := 0; i < b.N; i++ {
						res, err := build.Run(ctx, build.Options{Manifest: head, Warehouse: w, Selection: c.sel, Defer: &prodT})
						if err != nil || res.Failed() {
							b.Fatalf("%v %+v", err, res)
						}
						built = res.Count()[build.StatusSuccess]
					}
					b.ReportMetric(float64(built), "nodes-built")
				})
			}
		})
	}
}
