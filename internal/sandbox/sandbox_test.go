package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// The tests run this test binary again as the child. Its compile does what
// a file of the project asks, so that each way of dying can be tested
// whatever the template engine lets through.
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) == "compile" {
		if err := Serve(os.Stdin, os.Stdout, testCompile); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var sink [][]byte

func recurse(n int) int { return recurse(n+1) + 1 }

func testCompile(dir string, files []project.File, opts project.Options) (*project.Project, *project.Manifest, project.Diagnostics) {
	w := opts.Warehouse
	for _, f := range files {
		switch f.Path {
		case "query":
			if w == nil {
				return nil, nil, project.Diagnostics{{Path: "query", Message: "no warehouse"}}
			}
			// What a template's run_query and get_columns_in_relation do.
			var got []string
			cols, rows, err := w.Query(context.Background(), "select n, s from t")
			got = append(got, fmt.Sprint(cols, rows, err))
			_, _, err = w.Query(context.Background(), "select broken")
			got = append(got, fmt.Sprint(err))
			info, found, err := w.Columns(context.Background(), project.Relation{Schema: "main", Name: "orders"})
			got = append(got, fmt.Sprint(info, found, err))
			return nil, nil, project.Diagnostics{{Path: "query", Message: strings.Join(got, " | ")}}
		case "die/stack":
			recurse(0)
		case "die/memory":
			for {
				sink = append(sink, make([]byte, 64<<20))
			}
		case "die/hang":
			for {
				time.Sleep(time.Hour)
			}
		case "die/panic":
			panic("a bug")
		case "env":
			got := []string{os.Getenv("SANDBOX_TEST_SECRET")}
			v, ok := opts.LookupEnv("DBT_REGION")
			got = append(got, v, map[bool]string{true: "set", false: "unset"}[ok])
			return nil, nil, project.Diagnostics{{Path: "env", Message: strings.Join(got, ",")}}
		}
	}
	return compile(dir, files, opts)
}

func compiler(t *testing.T) *Compiler {
	c := &Compiler{Memory: 1 << 30, Timeout: time.Minute}
	t.Cleanup(c.Close)
	return c
}

var target = project.Target{Name: "pr_7", Schema: "pr_7", Type: "duckdb"}

// TestCompileInChild: the child's manifest is the one this process
// compiles, and a project that does not compile comes back as its
// diagnostics.
func TestCompileInChild(t *testing.T) {
	files := projecttest.Shop(t, nil)
	m, ds, err := compiler(t).Compile(context.Background(), Input{Dir: "shop", Files: files, Options: project.Options{Target: target}})
	if err != nil || len(ds) > 0 {
		t.Fatalf("%v %v", err, ds)
	}
	want := projecttest.Compile(t, files, target)
	if got, want := manifestText(t, m), manifestText(t, want); got != want {
		t.Errorf("the child's manifest differs from this process's:\n%s\n%s", got, want)
	}

	broken := projecttest.Shop(t, map[string]string{"models/marts/fct_orders.sql": "select {{ ref('nowhere') }}"})
	m, ds, err = compiler(t).Compile(context.Background(), Input{Dir: "shop", Files: broken, Options: project.Options{Target: target}})
	if err != nil || len(ds.Errors()) == 0 || !strings.Contains(ds.Error(), "nowhere") {
		t.Errorf("a broken project: %v %v", ds, err)
	}
	// What compiled comes back, what did not is skipped with its reason.
	if m == nil || m.Nodes["model.shop.stg_orders"] == nil || m.Skipped["model.shop.fct_orders"] == nil {
		t.Errorf("a broken project's partial manifest: %v", m)
	}
}

// manifestText is what a manifest holds: its JSON and each node's SQL.
func manifestText(t *testing.T, m *project.Manifest) string {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.Write(data)
	for _, id := range m.Order() {
		n := m.Nodes[id]
		sql, _ := m.SQLFor(n, false, nil)
		pre, post := m.Hooks(n, nil)
		b.WriteString(id + sql + strings.Join(pre, ";") + strings.Join(post, ";"))
	}
	return b.String()
}

// TestChildDies: whatever kills the child, the caller gets a CrashError
// that says what, and this process goes on.
func TestChildDies(t *testing.T) {
	for _, c := range []struct {
		file, says string
		timeout    time.Duration
	}{
		{"die/stack", "overflowed the stack", time.Minute},
		{"die/memory", "used more than its 1024 MiB of memory", time.Minute},
		{"die/hang", "took longer than 2s and was stopped", 2 * time.Second},
		{"die/panic", "crashed: panic: a bug", time.Minute},
	} {
		t.Run(c.file, func(t *testing.T) {
			if raceDetector && (c.file == "die/stack" || c.file == "die/memory") {
				t.Skip("the race detector's shadow memory does not fit an address-space limit")
			}
			comp := compiler(t)
			comp.Timeout = c.timeout
			files := append(projecttest.Shop(t, nil), project.File{Path: c.file})
			m, ds, err := comp.Compile(context.Background(), Input{Dir: "shop", Files: files, Options: project.Options{Target: target}})
			var crash *CrashError
			if !errors.As(err, &crash) || m != nil || ds != nil {
				t.Fatalf("got %v %v %v, want a CrashError", m, ds, err)
			}
			if !strings.Contains(crash.Reason, c.says) {
				t.Errorf("reason %q, want it to say %q", crash.Reason, c.says)
			}
		})
	}
}

// TestChildEnvironment: the child sees none of this process's environment;
// env_var() reads what the caller passes.
func TestChildEnvironment(t *testing.T) {
	t.Setenv("SANDBOX_TEST_SECRET", "hunter2")
	_, ds, err := compiler(t).Compile(context.Background(), Input{Dir: "shop", Files: []project.File{{Path: "env"}}, Options: project.Options{Target: target},
		Env: map[string]string{"DBT_REGION": "eu"}})
	if err != nil || len(ds) != 1 || ds[0].Message != ",eu,set" {
		t.Errorf("the child saw %v (%v), want no secret and DBT_REGION=eu", ds, err)
	}
}

// TestSpareChildren: each compile takes a child started ahead, never one
// that served before, and keeps spares waiting; after Close none is left.
func TestSpareChildren(t *testing.T) {
	c := compiler(t)
	files := projecttest.Shop(t, nil)
	served := map[int]bool{}
	spares := func() []*child {
		deadline := time.Now().Add(time.Minute)
		for {
			c.mu.Lock()
			out := append([]*child(nil), c.spares...)
			c.mu.Unlock()
			if len(out) == spareChildren {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d spare children, want %d", len(out), spareChildren)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for range 3 {
		if _, ds, err := c.Compile(context.Background(), Input{Dir: "shop", Files: files, Options: project.Options{Target: target}}); err != nil || len(ds) > 0 {
			t.Fatal(err, ds)
		}
		for _, ch := range spares() {
			if served[ch.cmd.Process.Pid] {
				t.Fatalf("child %d waits for a second compile", ch.cmd.Process.Pid)
			}
		}
		c.mu.Lock()
		served[c.spares[len(c.spares)-1].cmd.Process.Pid] = true // the next one taken
		c.mu.Unlock()
	}
	waiting := spares()
	c.Close()
	for _, ch := range waiting {
		if ch.cmd.ProcessState == nil {
			t.Errorf("child %d outlived Close", ch.cmd.Process.Pid)
		}
	}
	if _, _, err := c.Compile(context.Background(), Input{Dir: "shop", Files: files, Options: project.Options{Target: target}}); err == nil {
		t.Error("a closed compiler compiled")
	}
}

// TestCancelledCompile: the job's context ends the child.
func TestCancelledCompile(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, _, err := compiler(t).Compile(ctx, Input{Dir: "shop", Files: []project.File{{Path: "die/hang"}}, Options: project.Options{Target: target}})
	var crash *CrashError
	if !errors.As(err, &crash) || !strings.Contains(crash.Reason, "cancelled") {
		t.Errorf("err = %v, want a cancelled compile", err)
	}
}

// tables is a warehouse of one table, for the child's queries.
type tables struct{ asked []string }

func (w *tables) Query(_ context.Context, sql string) ([]string, [][]any, error) {
	w.asked = append(w.asked, sql)
	if sql != "select n, s from t" {
		return nil, nil, errors.New(`syntax error at or near "broken"`)
	}
	return []string{"n", "s"}, [][]any{{int64(1), "a"}, {big.NewInt(2), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}, {struct{ X int }{3}, nil}}, nil
}

func (w *tables) Columns(_ context.Context, rel project.Relation) ([]project.ColumnInfo, bool, error) {
	w.asked = append(w.asked, rel.Schema+"."+rel.Name)
	return []project.ColumnInfo{{Name: "id", Type: "integer"}}, true, nil
}

// TestChildQueries: a template's compile-time queries run in the parent,
// on the warehouse it gives, and their rows and errors reach the child; an
// engine's own value type arrives as its text.
func TestChildQueries(t *testing.T) {
	w := &tables{}
	_, ds, err := compiler(t).Compile(context.Background(), Input{Dir: "shop", Files: []project.File{{Path: "query"}},
		Options: project.Options{Target: target, Warehouse: w}})
	want := "[n s] [[1 a] [2 2026-01-02 00:00:00 +0000 UTC] [{3} <nil>]] <nil> | syntax error at or near \"broken\" | [{id integer}] true <nil>"
	if err != nil || len(ds) != 1 || ds[0].Message != want {
		t.Errorf("the child got %v (%v),\nwant %s", ds, err, want)
	}
	if len(w.asked) != 3 {
		t.Errorf("the parent was asked %q", w.asked)
	}
	_, ds, err = compiler(t).Compile(context.Background(), Input{Dir: "shop", Files: []project.File{{Path: "query"}}, Options: project.Options{Target: target}})
	if err != nil || len(ds) != 1 || ds[0].Message != "no warehouse" {
		t.Errorf("without a warehouse: %v %v", ds, err)
	}
}

// TestChildLimitsItselfBeforeTheRequest: the child is bounded from its
// start, so even the request it reads counts: a request larger than the
// bound (files the project does not even read) ends the child, which says
// so. (It limited itself after reading the request before, which then did
// not count.)
func TestChildLimitsItselfBeforeTheRequest(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's shadow memory does not fit an address-space limit")
	}
	c := &Compiler{Memory: 64 << 20, Timeout: time.Minute}
	t.Cleanup(c.Close)
	files := []project.File{{Path: "dbt_project.yml", Content: []byte("name: big\n")}}
	for i := range 4 {
		files = append(files, project.File{Path: fmt.Sprintf("assets/big%d.bin", i), Content: make([]byte, 32<<20)})
	}
	_, _, err := c.Compile(context.Background(), Input{Dir: "big", Files: files, Options: project.Options{Target: target}})
	var crash *CrashError
	if !errors.As(err, &crash) || !strings.Contains(crash.Reason, "used more than its 64 MiB of memory") {
		t.Errorf("a 128 MiB request to a child bounded at 64 MiB: %v", err)
	}
}
