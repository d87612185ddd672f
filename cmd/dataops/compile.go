package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/project"
)

func init() {
	commands["compile"] = command{
		summary: "Render every model of a dbt-style project to SQL and write target/manifest.json.",
		usage:   "compile [--project DIR] [--select EXPR] [--target NAME] [--vars YAML] [--json]",
		run:     runCompile,
	}
}

// compileSummary is what --json prints, for scripts.
type compileSummary struct {
	Project  string               `json:"project"`
	Target   project.Target       `json:"target"`
	Counts   project.Stats        `json:"counts"`
	Selected []string             `json:"selected"`
	Manifest string               `json:"manifest,omitempty"`
	Millis   int64                `json:"elapsed_ms"`
	Errors   []project.Diagnostic `json:"errors"`
}

func runCompile(args []string, out, errOut io.Writer) int {
	fs := newFlags("compile", commands["compile"], errOut)
	dir := fs.String("project", ".", "the folder holding dbt_project.yml")
	sel := fs.String("select", "", "dbt selection: names, +name, name+, tag:x, path:models/marts; space = union, comma = intersection")
	targetName := fs.String("target", "", "the profiles.yml output to render for (default: the profile's target)")
	varsFlag := fs.String("vars", "", "vars as YAML or JSON, overriding dbt_project.yml, e.g. '{min_date: 2024-01-01}'")
	asJSON := fs.Bool("json", false, "print a JSON summary for scripts instead of text")
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(errOut, "compile", "unexpected argument %q (use --select to choose models)", fs.Arg(0))
	}
	start := time.Now()
	m, sum, ds, code := compileProject(*dir, *targetName, *varsFlag, errOut)
	if code == exitUsage {
		return code
	}
	if m != nil {
		selection, err := m.Select(*sel, nil)
		if err != nil {
			return usageError(errOut, "compile", "--select: %v", err)
		}
		selection = m.WithTests(selection)
		if err := m.WriteArtifacts(*dir, selection); err != nil {
			fmt.Fprintf(errOut, "dataops compile: %v\n", err)
			return exitFailure
		}
		for _, id := range m.IDs(selection) {
			if m.Nodes[id].Kind == project.KindModel {
				sum.Selected = append(sum.Selected, m.Nodes[id].Name)
			}
		}
		sum.Manifest = filepath.Join(*dir, "target", "manifest.json")
	}
	sum.Millis = time.Since(start).Milliseconds()
	if *asJSON {
		sum.Errors = ds
		if sum.Errors == nil {
			sum.Errors = []project.Diagnostic{}
		}
		if sum.Selected == nil {
			sum.Selected = []string{}
		}
		printJSON(out, sum)
	} else {
		printDiagnostics(errOut, *dir, ds)
		if m != nil {
			fmt.Fprintf(out, "Compiled %s for target %s (%s, schema %s) in %s: %s; %s selected.\nWrote %s\n",
				sum.Project, sum.Target.Name, sum.Target.Type, sum.Target.Schema, time.Since(start).Round(time.Millisecond),
				sum.Counts, plural(len(sum.Selected), "model"), sum.Manifest)
		} else {
			fmt.Fprintf(errOut, "%s: nothing was written.\n", plural(len(ds), "error"))
		}
	}
	return code
}

// compileProject loads and compiles a project, returning the manifest (nil
// on errors), a summary, the problems, and the exit code they call for.
func compileProject(dir, targetName, varsFlag string, errOut io.Writer) (*project.Manifest, compileSummary, project.Diagnostics, int) {
	var sum compileSummary
	vars := map[string]any{}
	if varsFlag != "" {
		if err := yaml.Unmarshal([]byte(varsFlag), &vars); err != nil {
			return nil, sum, nil, usageError(errOut, "compile", "--vars is not a YAML mapping: %v", err)
		}
	}
	p, ds := project.Load(dir)
	if p == nil || ds.HasConfigErrors() {
		printDiagnostics(errOut, dir, ds)
		return nil, sum, ds, exitUsage
	}
	target, err := p.Target(targetName)
	if err != nil {
		return nil, sum, ds, usageError(errOut, "compile", "--target: %v", err)
	}
	sum.Project, sum.Target = p.Name, target
	m, cds := project.Compile(p, project.Options{Target: target, Vars: vars})
	ds = append(ds, cds...)
	ds.Sort()
	if m == nil || len(ds) > 0 {
		if ds.HasConfigErrors() {
			return nil, sum, ds, exitUsage
		}
		return nil, sum, ds, exitFailure
	}
	sum.Counts = m.Stats()
	return m, sum, nil, exitOK
}

// printDiagnostics prints each problem as path:line:col: message, with the
// path as seen from where the command runs so editors can jump to it.
func printDiagnostics(w io.Writer, dir string, ds project.Diagnostics) {
	for _, d := range ds {
		d.Path = filepath.Join(dir, filepath.FromSlash(d.Path))
		fmt.Fprintln(w, d.String())
	}
}
