package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/sandbox"
)

// BenchmarkContainedCompile runs the demo's pull request through the whole
// pipeline twice per iteration, alternating: once compiling in this
// process, once as the bot does (each revision compiled in a child process
// of this binary, with its memory and time limits). It reports the
// contained run's time as a ratio to the in-process one (target: under
// 1.10).
func BenchmarkContainedCompile(b *testing.B) {
	ctx := context.Background()
	d, err := setUpDemo(ctx, b.TempDir(), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer d.w.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	inProcess := d.pipeline(logger)
	contained := d.pipeline(logger)
	contained.Compiler = bot.ChildCompiler{Sandbox: &sandbox.Compiler{Memory: 2 << 30, Timeout: time.Minute}}
	var took [2]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, p := range []*bot.Pipeline{inProcess, contained} {
			if i%2 == 1 {
				j = 1 - j // alternate which goes first
				p = []*bot.Pipeline{inProcess, contained}[j]
			}
			start := time.Now()
			o, err := p.Run(ctx, d.event)
			took[j] += time.Since(start)
			if err != nil || !o.Passed() {
				b.Fatalf("%v", err)
			}
		}
	}
	b.ReportMetric(float64(took[0].Milliseconds())/float64(b.N), "ms-in-process/op")
	b.ReportMetric(float64(took[1].Milliseconds())/float64(b.N), "ms-contained/op")
	b.ReportMetric(float64(took[1])/float64(took[0]), "contained/in-process")
}

// BenchmarkContainedCompileAlone compiles the shop project's files once
// per iteration in this process and once in a child process, alternating,
// and reports the child's cost per compile (what the pipeline's ratio is
// made of: two compiles per pull request).
func BenchmarkContainedCompileAlone(b *testing.B) {
	ctx := context.Background()
	files := projecttest.Shop(b, nil)
	target := project.Target{Name: "pr_1", Schema: "pr_1", Type: "duckdb"}
	child := bot.ChildCompiler{Sandbox: &sandbox.Compiler{Memory: 2 << 30, Timeout: time.Minute}}
	var took [2]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p, ds := project.LoadFiles("shop", files)
		if p == nil {
			b.Fatal(ds)
		}
		if _, ds := project.Compile(context.Background(), p, project.Options{Target: target}); len(ds) > 0 {
			b.Fatal(ds)
		}
		took[0] += time.Since(start)
		start = time.Now()
		if _, ds, err := child.Compile(ctx, "shop", files, project.Options{Target: target}, nil); err != nil || len(ds) > 0 {
			b.Fatal(err, ds)
		}
		took[1] += time.Since(start)
	}
	b.ReportMetric(float64(took[0].Microseconds())/1000/float64(b.N), "ms-in-process/op")
	b.ReportMetric(float64(took[1].Microseconds())/1000/float64(b.N), "ms-child/op")
}
