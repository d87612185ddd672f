package projecttest_test

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

var devTarget = project.Options{Target: project.Target{Name: "dev", Schema: "main", Type: "duckdb"}}

func compile(t *testing.T, files []project.File) *project.Manifest {
	t.Helper()
	p, ds := project.LoadFiles("synth", files)
	if len(ds) > 0 {
		t.Fatalf("LoadFiles: %d diagnostics, first: %v", len(ds), ds[0])
	}
	m, ds := project.Compile(context.Background(), p, devTarget)
	if len(ds) > 0 {
		for i, d := range ds {
			if i == 5 {
				break
			}
			t.Errorf("diagnostic: %v", d)
		}
		t.Fatalf("Compile: %d diagnostics", len(ds))
	}
	return m
}

func TestSyntheticCompiles(t *testing.T) {
	tests := []struct {
		models int
		seed   int64
	}{
		{1, 1},
		{2, 2},
		{7, 3},
		{60, 4},
		{333, 5},
		{1000, 6},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("models=%d", tt.models), func(t *testing.T) {
			files := projecttest.Synthetic(tt.models, tt.seed)
			m := compile(t, files)
			if got := m.Stats().Models; got != tt.models {
				t.Errorf("manifest has %d models, want %d", got, tt.models)
			}
			// Compile reports cycles as diagnostics; check the order
			// too, as the proof that the graph is a DAG.
			pos := map[string]int{}
			for i, id := range m.Order() {
				pos[id] = i
			}
			if len(pos) != len(m.Nodes) {
				t.Fatalf("order has %d nodes, manifest %d", len(pos), len(m.Nodes))
			}
			for id := range m.Nodes {
				for _, p := range m.Parents(id) {
					if pos[p] >= pos[id] {
						t.Errorf("%s is ordered before its parent %s", id, p)
					}
				}
			}
		})
	}
}

func TestSyntheticShape(t *testing.T) {
	const models = 1000
	files := projecttest.Synthetic(models, 42)
	m := compile(t, files)

	layers := map[string]int{}
	incremental, ephemeral, loops, ifs, configs, withMacros := 0, 0, 0, 0, 0, 0
	macros := map[string]bool{}
	for _, f := range files {
		if strings.HasPrefix(f.Path, "macros/") {
			for _, line := range strings.Split(string(f.Content), "\n") {
				if name, ok := strings.CutPrefix(line, "{% macro "); ok {
					macros[name[:strings.Index(name, "(")]] = true
				}
			}
		}
		if !strings.HasPrefix(f.Path, "models/") || path.Ext(f.Path) != ".sql" {
			continue
		}
		layers[strings.Split(f.Path, "/")[1]]++
		src := string(f.Content)
		if lines := strings.Count(src, "\n"); lines < 20 || lines > 60 {
			t.Errorf("%s has %d lines, want 20 to 60", f.Path, lines)
		}
		if strings.Contains(src, "{% for") || strings.Contains(src, "{%- for") {
			loops++
		}
		if strings.Contains(src, "{% if") {
			ifs++
		}
		if strings.Contains(src, "config(") {
			configs++
		}
	}
	if n := len(macros); n < 8 || n > 12 {
		t.Errorf("%d macros, want 8 to 12", n)
	}
	if layers["staging"] != 100 || layers["intermediate"] != 600 || layers["marts"] != 300 {
		t.Errorf("layers = %v, want 100 staging, 600 intermediate, 300 marts", layers)
	}
	maxChildren := 0
	for id, n := range m.Nodes {
		if n.Kind != project.KindModel {
			continue
		}
		switch n.Config.Materialized {
		case "incremental":
			incremental++
			if n.IncrementalSQL == "" || n.IncrementalSQL == n.CompiledSQL {
				t.Errorf("%s: incremental SQL does not differ from the full build", n.Name)
			}
		case "ephemeral":
			ephemeral++
		}
		if len(n.DependsOn.Macros) > 0 {
			withMacros++
		}
		parents := 0
		for _, p := range m.Parents(id) {
			if strings.HasPrefix(p, "model.") {
				parents++
			}
		}
		if strings.HasPrefix(n.Name, "stg_") && parents != 0 || !strings.HasPrefix(n.Name, "stg_") && (parents < 1 || parents > 4) {
			t.Errorf("%s refs %d models", n.Name, parents)
		}
		children := 0
		for _, c := range m.Children(id) {
			if strings.HasPrefix(c, "model.") {
				children++
			}
		}
		maxChildren = max(maxChildren, children)
	}
	for what, got := range map[string]int{"incremental": incremental, "ephemeral": ephemeral, "loops": loops,
		"if blocks": ifs, "config calls": configs} {
		if got < 20 {
			t.Errorf("only %d models with %s", got, what)
		}
	}
	if withMacros < models*7/10 {
		t.Errorf("only %d of %d models call a macro", withMacros, models)
	}
	if maxChildren < 30 {
		t.Errorf("the most referenced model has %d children; want hubs", maxChildren)
	}
	st := m.Stats()
	if st.Tests < models || st.Sources != 100 {
		t.Errorf("stats %v: want a test per model or more and 100 sources", st)
	}
	t.Logf("%v; most referenced model has %d children; %d incremental, %d ephemeral", st, maxChildren, incremental, ephemeral)
}

func TestSyntheticDeterministic(t *testing.T) {
	a, b := projecttest.Synthetic(200, 7), projecttest.Synthetic(200, 7)
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Content, b[i].Content) {
			t.Fatalf("file %d differs between runs: %s, %s", i, a[i].Path, b[i].Path)
		}
	}
	c := projecttest.Synthetic(200, 8)
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i].Path == c[i].Path && bytes.Equal(a[i].Content, c[i].Content)
	}
	if same {
		t.Error("seeds 7 and 8 give the same project")
	}
}

func TestWriteDir(t *testing.T) {
	files := projecttest.Synthetic(120, 9)
	dir := t.TempDir()
	if err := projecttest.WriteDir(dir, files); err != nil {
		t.Fatal(err)
	}
	p, ds := project.Load(dir)
	if len(ds) > 0 {
		t.Fatalf("Load: %v", ds)
	}
	m, ds := project.Compile(context.Background(), p, devTarget)
	if len(ds) > 0 {
		t.Fatalf("Compile: %v", ds)
	}
	if want := compile(t, files).Stats(); m.Stats() != want {
		t.Errorf("from disk %v, in memory %v", m.Stats(), want)
	}
}
