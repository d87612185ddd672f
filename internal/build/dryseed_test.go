package build_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// shopFile is a file of examples/shop.
func shopFile(t *testing.T, path string) string {
	t.Helper()
	for _, f := range projecttest.Shop(t, nil) {
		if f.Path == path {
			return string(f.Content)
		}
	}
	t.Fatalf("examples/shop has no %s", path)
	return ""
}

// columnList is "name type, ..." for comparing columns.
func columnList(cols []warehouse.Column) string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name+" "+c.Type)
	}
	return strings.Join(out, ", ")
}

// TestDryRunSeeds: a dry run reads the seeds it selects from their files,
// typed as the build loads them, not from production: a new seed (read
// through ref, source() or an ephemeral model outside the selection), a
// changed one, one whose file is bad. It writes nothing, deferring to
// production or not, and a model's columns are those the build gives it.
func TestDryRunSeeds(t *testing.T) {
	newSeed := "code,label,amount,ratio,ok,day,stamp,zip\n1,one,12.50,1e3,true,2024-01-31,2024-01-31 08:00:00,007\n2,two,,,false,,,\n"
	x := "select code, label, amount * 2 as double_amount, ratio, ok, day, stamp, zip\nfrom {{ ref('new_seed') }}\n"
	projectYML := strings.Replace(shopFile(t, "dbt_project.yml"), "    raw:\n      raw_customers:",
		"    new_seed:\n      +column_types:\n        code: bigint\n    raw:\n      raw_customers:", 1)
	customers := shopFile(t, "seeds/raw/raw_customers.csv")
	vips := strings.Replace(customers, "created_at\n", "created_at,vip\n", 1)
	lines := strings.Split(strings.TrimSuffix(vips, "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] += ",false"
	}
	vips = strings.Join(lines, "\n") + "\n"
	withSeed := map[string]string{"dbt_project.yml": projectYML, "seeds/new_seed.csv": newSeed, "models/marts/x.sql": x}

	cases := []struct {
		name   string
		files  map[string]string
		sel    string
		noProd bool // no deferral, as dataops build --dry-run without --defer-to
		fails  bool
		check  func(t *testing.T, got map[string]build.NodeResult)
	}{
		{name: "a new seed and a model reading it", files: withSeed, sel: "new_seed+",
			check: func(t *testing.T, got map[string]build.NodeResult) {
				if s := got["new_seed"]; s.Status != build.StatusSuccess || !strings.HasPrefix(columnList(s.Columns), "code bigint, label ") {
					t.Errorf("new_seed: %s %s: %s", s.Status, s.Message, columnList(s.Columns))
				}
			}},
		{name: "without deferral", files: withSeed, sel: "new_seed+", noProd: true,
			check: func(t *testing.T, got map[string]build.NodeResult) {
				if x := got["x"]; x.Status != build.StatusSuccess || len(x.Columns) != 8 {
					t.Errorf("x: %s %s: %s", x.Status, x.Message, columnList(x.Columns))
				}
			}},
		{name: "through an ephemeral model outside the selection", sel: "new_seed x",
			files: map[string]string{"seeds/new_seed.csv": newSeed, "models/marts/e.sql": "{{ config(materialized='ephemeral') }}\nselect code from {{ ref('new_seed') }}\n",
				"models/marts/x.sql": "select code + 1 as next from {{ ref('e') }}\n"},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				if x := got["x"]; x.Status != build.StatusSuccess || columnList(x.Columns) != "next integer" {
					t.Errorf("x: %s %s: %s", x.Status, x.Message, columnList(x.Columns))
				}
			}},
		{name: "in a query with its own recursive WITH", sel: "new_seed+",
			files: map[string]string{"seeds/new_seed.csv": newSeed, "models/marts/x.sql": "-- counts\nwith recursive r as (select 1 as n union all select n + 1 from r where n < 3)\nselect r.n, s.label from r cross join {{ ref('new_seed') }} as s\n"},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				if x := got["x"]; x.Status != build.StatusSuccess || len(x.Columns) != 2 {
					t.Errorf("x: %s %s: %s", x.Status, x.Message, columnList(x.Columns))
				}
			}},
		{name: "read twice, after a block comment and an upper-case WITH", sel: "new_seed+",
			files: map[string]string{"seeds/new_seed.csv": newSeed,
				"models/marts/x.sql": "/* both */\nWITH a AS (select code from {{ ref('new_seed') }})\nselect code from a union all select code from {{ ref('new_seed') }}\n"},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				if x := got["x"]; x.Status != build.StatusSuccess || columnList(x.Columns) != "code integer" {
					t.Errorf("x: %s %s: %s", x.Status, x.Message, columnList(x.Columns))
				}
			}},
		{name: "a seed read through source()", sel: "raw_customers+",
			files: map[string]string{"seeds/raw/raw_customers.csv": vips, "models/marts/vips.sql": "select cast(id as integer) as id from {{ source('shop', 'raw_customers') }} where vip\n"},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				if v := got["vips"]; v.Status != build.StatusSuccess {
					t.Errorf("vips: %s %s", v.Status, v.Message)
				}
				if s := got["stg_customers"]; s.Status != build.StatusSuccess {
					t.Errorf("stg_customers: %s %s", s.Status, s.Message)
				}
			}},
		{name: "a seed column renamed", fails: true, sel: "country_codes+",
			files: map[string]string{"seeds/country_codes.csv": strings.Replace(shopFile(t, "seeds/country_codes.csv"), ",region\n", ",area\n", 1)},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				d := got["dim_customers"]
				if d.Status != build.StatusError || d.Failure == nil || d.Failure.Line != 19 || !strings.Contains(d.Failure.Message, "region") {
					t.Errorf("dim_customers: %s %+v", d.Status, d.Failure)
				}
				if s := got["customer_segments"]; s.Status != build.StatusSkipped {
					t.Errorf("customer_segments: %s", s.Status)
				}
			}},
		{name: "an error in a model reading a new seed", fails: true, sel: "new_seed+",
			files: map[string]string{"seeds/new_seed.csv": newSeed, "models/marts/x.sql": "select\n    code,\n    missing_col\nfrom {{ ref('new_seed') }}\n"},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				if f := got["x"].Failure; f == nil || f.Line != 3 || f.Col != 5 {
					t.Errorf("x: %+v, want an error at 3:5", f)
				}
			}},
		{name: "a bad value for a declared type", fails: true, sel: "new_seed+",
			files: map[string]string{"dbt_project.yml": projectYML, "models/marts/x.sql": x,
				"seeds/new_seed.csv": strings.Replace(newSeed, "\n2,two,", "\nx,two,", 1)},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				s := got["new_seed"]
				if s.Status != build.StatusError || s.Failure == nil || s.Failure.Path != "seeds/new_seed.csv" || s.Failure.Line != 3 ||
					!strings.Contains(s.Message, `"x" is not a bigint`) {
					t.Errorf("new_seed: %s %+v", s.Status, s.Failure)
				}
				if x := got["x"]; x.Status != build.StatusSkipped || x.Message != "skipped: upstream seed new_seed failed" {
					t.Errorf("x: %s %s", x.Status, x.Message)
				}
			}},
		{name: "a declared type the engine does not know", fails: true, sel: "new_seed+",
			files: map[string]string{"dbt_project.yml": strings.Replace(projectYML, "code: bigint", "code: bigintt", 1), "seeds/new_seed.csv": newSeed, "models/marts/x.sql": x},
			check: func(t *testing.T, got map[string]build.NodeResult) {
				s := got["new_seed"]
				if s.Status != build.StatusError || s.Failure == nil || !strings.Contains(s.Message, "bigintt") || !strings.HasSuffix(s.Message, "(check the seed's +column_types)") {
					t.Errorf("new_seed: %s %s", s.Status, s.Message)
				}
			}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			if _, res := buildProduction(t, w, shop(t, nil)); res.Failed() {
				t.Fatal("production build failed")
			}
			prodT := prodTarget(w)
			before := strings.Join(tables(t, w, "analytics"), ",") + " " + strings.Join(tables(t, w, "raw"), ",")
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					m := compile(t, shop(t, tc.files), envTarget(w, "pr_seeds"))
					opts := build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, tc.sel), Defer: &prodT, DryRun: true}
					if tc.noProd {
						opts.Defer = nil
					}
					res := run(t, opts)
					got := byName(res)
					tc.check(t, got)
					if after := strings.Join(tables(t, w, "analytics"), ",") + " " + strings.Join(tables(t, w, "raw"), ","); after != before {
						t.Errorf("production changed: %s, was %s", after, before)
					}
					if env := tables(t, w, "pr_seeds"); len(env) > 0 {
						t.Errorf("the dry run wrote %v", env)
					}
					if res.Failed() != tc.fails {
						t.Fatalf("failed: %v, want %v: %+v", res.Failed(), tc.fails, res.Nodes)
					}
					if tc.fails {
						return
					}
					// What the dry run says a model gives is what the build
					// gives it, seeds included.
					if err := w.CreateEnvironment(context.Background(), "pr_seeds", warehouse.EnvironmentMarker{PR: 1}); err != nil {
						t.Fatal(err)
					}
					defer w.DropEnvironment(context.Background(), "pr_seeds")
					opts.DryRun, opts.Defer = false, &prodT
					built := run(t, opts)
					if built.Failed() {
						t.Fatalf("build failed: %+v", built.Nodes)
					}
					for _, n := range res.Nodes {
						if n.Kind == project.KindTest || n.Materialized == "ephemeral" || n.Materialized == "view" {
							continue
						}
						cols, err := w.Columns(context.Background(), n.Relation)
						if err != nil {
							t.Fatal(err)
						}
						if a, b := columnList(n.Columns), columnList(cols); a != b {
							t.Errorf("%s: the dry run says %s; the build gives %s", n.Name, a, b)
						}
					}
				})
			}
		})
	}
}

// BenchmarkDryRunSeed dry-runs a model reading a new 10,000-row seed, which
// reads the seed's file instead of loading it, against the baseline of
// loading the seed (what loading seeds into the environment first would
// add to every dry run):
//
//	go test ./internal/build -run '^$' -bench DryRunSeed -benchtime 5x
func BenchmarkDryRunSeed(b *testing.B) {
	csv := seedCSV10k()
	p, ds := project.LoadFiles("bench", []project.File{
		{Path: "dbt_project.yml", Content: []byte("name: bench\n")},
		{Path: "seeds/orders.csv", Content: []byte(csv)},
		{Path: "models/per_day.sql", Content: []byte("select day, count(*) as orders, sum(amount) as amount\nfrom {{ ref('orders') }}\ngroup by day\n")},
	})
	if p == nil {
		b.Fatal(ds)
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			w := e.open(b)
			schema := warehousetest.Schema(b, w)
			ctx := seedCtx(b)
			m, ds := project.Compile(ctx, p, project.Options{Target: envTarget(w, "pr_1")})
			if len(ds) > 0 {
				b.Fatal(ds)
			}
			all, _ := m.Select("", nil)
			prod := prodTarget(w)
			b.Run("dry_run", func(b *testing.B) {
				b.SetBytes(int64(len(csv)))
				for i := 0; i < b.N; i++ {
					res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all, Defer: &prod, DryRun: true})
					if err != nil || res.Failed() {
						b.Fatalf("%v %+v", err, res)
					}
				}
			})
			runs := 0
			b.Run("load_baseline", func(b *testing.B) {
				b.SetBytes(int64(len(csv)))
				for i := 0; i < b.N; i++ {
					rel := warehouse.Relation{Schema: schema, Name: fmt.Sprintf("orders_%d", runs)}
					runs++
					if _, err := loadSeedTx(ctx, w, rel, csv, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
