package project_test

import (
	"context"
	"fmt"
	"path"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// benchSizes are the project sizes the compile targets are set for:
// 1,000 models under 0.3 s and 5,000 under 1.5 s.
var benchSizes = []int{1000, 5000}

const benchSeed = 1

// BenchmarkCompile times what `dataops compile` does to a project already
// in memory: LoadFiles (YAML parsing, classification) and Compile.
func BenchmarkCompile(b *testing.B) {
	opts := project.Options{Target: project.Target{Name: "dev", Schema: "main", Type: "duckdb"}}
	for _, models := range benchSizes {
		b.Run(fmt.Sprintf("models=%d", models), func(b *testing.B) {
			files := projecttest.Synthetic(models, benchSeed)
			b.ReportAllocs()
			for b.Loop() {
				p, ds := project.LoadFiles("synth", files)
				if len(ds) > 0 {
					b.Fatalf("LoadFiles: %v", ds)
				}
				if _, ds := project.Compile(context.Background(), p, opts); len(ds) > 0 {
					b.Fatalf("Compile: %d diagnostics, first: %v", len(ds), ds[0])
				}
			}
			reportModelsPerSecond(b, models)
		})
	}
}

// BenchmarkReadYAML is the baseline BenchmarkCompile is read against: only
// decoding the same project's YAML files, the least any compile must do.
func BenchmarkReadYAML(b *testing.B) {
	for _, models := range benchSizes {
		b.Run(fmt.Sprintf("models=%d", models), func(b *testing.B) {
			var docs [][]byte
			for _, f := range projecttest.Synthetic(models, benchSeed) {
				if path.Ext(f.Path) == ".yml" {
					docs = append(docs, f.Content)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, d := range docs {
					var n yaml.Node
					if err := yaml.Unmarshal(d, &n); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportModelsPerSecond(b, models)
		})
	}
}

func reportModelsPerSecond(b *testing.B, models int) {
	secondsPerOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(models)/secondsPerOp, "models/s")
}
