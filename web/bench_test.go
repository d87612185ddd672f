package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// The load benchmark: the run page of a pull request on a 5,000-model
// project (internal/project/projecttest.Synthetic), which changes the SQL
// of benchChanged staging models. Everything downstream of them is built
// and compared: each compared model has a diff with samples of every kind
// and a profile of eight columns, and the build lists every node with its
// tests. The baseline, in the same run, renders the pull request's comment
// of the same report (report.Comment, which shortens it to fit). "page" is
// a report's first view; "page-again" the views after it, whose report
// part comes from the cache.

const (
	benchModels  = 5000
	benchChanged = 12
)

var (
	benchOnce  sync.Once
	benchInput report.Input
	benchErr   error
)

func benchReport(b *testing.B) report.Input {
	benchOnce.Do(func() { benchInput, benchErr = makeBenchReport() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchInput
}

func makeBenchReport() (report.Input, error) {
	target := project.Target{Name: "pr_42", Schema: "pr_42", Type: "duckdb"}
	compile := func(files []project.File) (*project.Manifest, error) {
		p, ds := project.LoadFiles("synth", files)
		if p == nil || len(ds) > 0 {
			return nil, fmt.Errorf("load the synthetic project: %v", ds)
		}
		m, ds := project.Compile(context.Background(), p, project.Options{Target: target})
		if len(ds.Errors()) > 0 {
			return nil, fmt.Errorf("compile the synthetic project: %v", ds)
		}
		return m, nil
	}
	files := projecttest.Synthetic(benchModels, 1)
	base, err := compile(files)
	if err != nil {
		return report.Input{}, err
	}
	changed := 0
	head := make([]project.File, len(files))
	for i, f := range files {
		head[i] = f
		if changed < benchChanged && strings.HasPrefix(f.Path, "models/staging/") && strings.HasSuffix(f.Path, ".sql") {
			head[i].Content = []byte(strings.Replace(string(f.Content), "select", "select 1 as changed_in_pr,", 1))
			changed++
		}
	}
	headM, err := compile(head)
	if err != nil {
		return report.Input{}, err
	}
	pl := plan.Diff(base, headM)
	pl.Base, pl.Head = "1111111", "2222222"
	sel := pl.Selection(headM)

	res := &build.Result{}
	var diffs []report.ModelDiff
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, id := range headM.Order() {
		if !sel[id] {
			continue
		}
		n := headM.Nodes[id]
		status := build.StatusSuccess
		if n.Kind == project.KindTest {
			status = build.StatusPass
		}
		res.Nodes = append(res.Nodes, build.NodeResult{ID: id, Name: n.Name, Kind: n.Kind, Path: n.Path, Materialized: n.Config.Materialized,
			Relation: warehouse.Relation{Schema: "pr_42", Name: n.Name}, Status: status, Rows: 12345, Duration: 40 * time.Millisecond})
		if n.Kind != project.KindModel {
			continue
		}
		key := []any{int64(17)}
		r := &datadiff.Result{Algorithm: "join", Key: []string{"id"}, Base: datadiff.Side{Exists: true, Rows: 12345}, Head: datadiff.Side{Exists: true, Rows: 12340},
			OnlyInBase: 9, OnlyInHead: 4, Changed: 120, Unchanged: 12216}
		for c := range 8 {
			r.Columns = append(r.Columns, datadiff.ColumnDiff{Name: fmt.Sprintf("column_%d", c), Changed: int64(c * 15), MatchPercent: 100 - float64(c)/10})
		}
		for s := range 5 {
			r.Samples.Changed = append(r.Samples.Changed, datadiff.ChangedRow{Key: key, Changes: map[string][2]any{
				"column_1": {int64(s), int64(s + 1)}, "column_2": {"before " + n.Name, "after " + n.Name}, "column_3": {day, day.AddDate(0, 0, s)}}})
			vals := map[string]any{"column_1": int64(s), "column_2": "value of " + n.Name, "column_3": day, "column_4": 3.25}
			r.Samples.OnlyInBase = append(r.Samples.OnlyInBase, datadiff.Row{Key: key, Values: vals})
			r.Samples.OnlyInHead = append(r.Samples.OnlyInHead, datadiff.Row{Key: key, Values: vals})
		}
		pd, err := profile.Compare(n.Name, benchProfile("main", 12345, 0), benchProfile("pr_42", 12340, 1), profile.DefaultRules())
		if err != nil {
			return report.Input{}, err
		}
		diffs = append(diffs, report.ModelDiff{Model: n.Name, Path: n.Path, Key: []string{"id"}, Result: r, Profile: pd})
	}
	stages := []checks.Result{checks.Compile("", headM, plan.Attribution{}), checks.DryRun("", res, pl), checks.Build("", res), checks.Diff(diffs, pl, config.FailOn{})}
	stages = append(stages, checks.Gate(stages))
	var cs []scm.Check
	for _, s := range stages {
		cs = append(cs, s.Check())
	}
	return report.Input{Project: "synth", Environment: "pr_42", HeadSHA: strings.Repeat("2", 40), Base: "main", Checks: cs, Plan: pl, Head: headM,
		Diffs: diffs, Build: res, RunURL: "https://dataops.example.com/repos/github/acme%2Fsynth/runs/r1"}, nil
}

func fp(f float64) *float64 { return &f }

// benchProfile is a profile of eight columns; shift moves the head's.
func benchProfile(schema string, rows int64, shift float64) *profile.Profile {
	p := &profile.Profile{Relation: warehouse.Relation{Schema: schema, Name: "m"}, Exists: true, Rows: rows}
	for c := range 8 {
		col := profile.Column{Name: fmt.Sprintf("column_%d", c), Type: "integer", Kind: profile.KindNumber, Distinct: rows - int64(c),
			Min: int64(c), Max: int64(1000 + c), Mean: fp(500 + shift*float64(c)), StdDev: fp(120), P5: int64(50), P50: int64(500), P95: int64(950)}
		if c%3 == 2 {
			col = profile.Column{Name: col.Name, Type: "varchar", Kind: profile.KindText, Distinct: 4, Min: "a", Max: "d",
				Length: &profile.Lengths{Min: 1, Avg: 1, Max: 1},
				Values: []profile.ValueCount{{Value: "a", Count: 100}, {Value: "b", Count: 50}, {Value: "c", Count: 20 + int64(shift)}, {Value: "d", Count: 5}}}
		}
		p.Columns = append(p.Columns, col)
	}
	return p
}

// staticViewer is the host for the benchmark: a reader of everything,
// without a network.
type staticViewer struct{}

func (staticViewer) User(context.Context) (scm.User, error) {
	return scm.User{ID: 1, Login: "bench"}, nil
}
func (staticViewer) Access(context.Context, string) (scm.Permission, error) {
	return scm.PermissionRead, nil
}

// BenchmarkRunPage: the whole request of the run page (read the run and
// its report from the store, render), against rendering the comment of
// the same report.
func BenchmarkRunPage(b *testing.B) {
	in := benchReport(b)
	doc := report.NewDocument(in)
	doc.CommentShortened = true
	data, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "dataops.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const repo = "github:acme/synth"
	if err := st.StartRun(context.Background(), store.Run{ID: "r1", Repo: repo, PR: 42, HeadSHA: in.HeadSHA, Trigger: "push"}); err != nil {
		b.Fatal(err)
	}
	if err := st.FinishRun(context.Background(), "r1", store.RunCompleted, "success", "", nil, data); err != nil {
		b.Fatal(err)
	}
	host := GitHubHost("https://github.com", "", "id", "secret", nil) // credentials it never uses
	host.Viewer = func(string) (scm.Viewer, error) { return staticViewer{}, nil }
	s, err := New(Config{Store: st, PublicURL: "https://dataops.example.com", SessionKey: []byte(strings.Repeat("k", 32)),
		Hosts: []Host{host}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	cookie, err := s.sealer.seal(sessionCookie, session{Host: "github", UserID: 1, Login: "bench", Token: "t", Expires: time.Now().Add(time.Hour).Unix(), CSRF: "c"})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	page := func() int {
		req := httptest.NewRequest(http.MethodGet, runPath(repo, "r1"), nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("the run page answered %d", rec.Code)
		}
		return rec.Body.Len()
	}
	size := page()
	comment := report.Comment(in)
	b.Logf("%d models; %d changed, %d nodes built, %d models compared; report %d KB of JSON; page %d KB of HTML; comment %d KB",
		benchModels, benchChanged, len(in.Build.Nodes), len(in.Diffs), len(data)>>10, size>>10, len(comment)>>10)

	// The first view of a report: read and decode it, render everything.
	b.Run("page", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			s.reports = newReportCache(maxCachedReports)
			page()
		}
	})
	// Views after the first: the report's part comes from the cache.
	b.Run("page-again", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			page()
		}
	})
	b.Run("baseline-comment", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			report.Comment(in)
		}
	})
}

// cpuPerOp reports the process's CPU time (user and system, garbage
// collection included) per operation, beside the wall time: on a machine
// others share, the wall time also counts waiting for a core.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64((cpu()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
	}
}
