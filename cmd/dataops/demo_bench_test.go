package main

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"
)

// stageTimes records the pipeline's "stage done" log lines.
type stageTimes struct {
	mu    sync.Mutex
	total map[string]time.Duration
}

func (s *stageTimes) Enabled(context.Context, slog.Level) bool { return true }
func (s *stageTimes) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *stageTimes) WithGroup(string) slog.Handler            { return s }
func (s *stageTimes) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "stage done" {
		return nil
	}
	var stage string
	var took time.Duration
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "stage":
			stage = a.Value.String()
		case "took":
			took = a.Value.Duration()
		}
		return true
	})
	s.mu.Lock()
	s.total[stage] += took
	s.mu.Unlock()
	return nil
}

// BenchmarkDemoPipeline times the demo's pull request on DuckDB, from the
// event to the last check completed and the comment posted, and reports
// each stage's share. Setting up the repository and production is not
// timed.
func BenchmarkDemoPipeline(b *testing.B) {
	ctx := context.Background()
	d, err := setUpDemo(ctx, b.TempDir(), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer d.w.Close()
	times := &stageTimes{total: map[string]time.Duration{}}
	p := d.pipeline(slog.New(times))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		o, err := p.Run(ctx, d.event)
		if err != nil || !o.Passed() {
			b.Fatalf("%v", err)
		}
	}
	elapsed := time.Since(start)
	var names []string
	for n := range times.total {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.ReportMetric(100*float64(times.total[n])/float64(elapsed), "%"+n[len("dataops/"):])
	}
}
