package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func init() {
	commands["compile"] = command{
		summary: "Render every model of a dbt-style project to SQL and write target/manifest.json.",
		usage:   "compile [--project DIR] [--select EXPR] [--target NAME] [--profiles-dir DIR] [--vars YAML] [--warehouse DSN] [--json]",
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
	Warnings []project.Diagnostic `json:"warnings"`
	// Skipped lists the models, seeds, snapshots and tests that are not
	// compiled, each with its cause and reason.
	Skipped []*project.Skipped `json:"skipped"`
}

func runCompile(args []string, out, errOut io.Writer) int {
	fs := newFlags("compile", commands["compile"], errOut)
	dir := fs.String("project", ".", "the folder holding dbt_project.yml")
	sel := fs.String("select", "", "dbt selection: names, +name, name+, @name, tag:x, path:models/marts; space = union, comma = intersection")
	targetName := fs.String("target", "", "the profiles.yml output to render for (default: the profile's target)")
	profilesDir := fs.String("profiles-dir", "", "the folder holding profiles.yml (default: $DBT_PROFILES_DIR, else the project folder)")
	varsFlag := fs.String("vars", "", "vars as YAML or JSON, overriding dbt_project.yml, e.g. '{min_date: 2024-01-01}'")
	dsn := fs.String("warehouse", "", "warehouse DSN for templates that query while compiling (run_query, dbt_utils.star); without one such models are listed as needing a warehouse")
	asJSON := fs.Bool("json", false, "print a JSON summary for scripts instead of text")
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(errOut, "compile", "unexpected argument %q (use --select to choose models)", fs.Arg(0))
	}
	start := time.Now()
	var w project.Warehouse
	if *dsn != "" {
		wh, err := warehouse.Open(context.Background(), *dsn)
		if err != nil {
			return usageError(errOut, "compile", "--warehouse: %s", scrubSecret(err.Error(), *dsn))
		}
		defer wh.Close()
		w = build.CompileWarehouse(wh)
	}
	m, sum, ds, code := compileProject(*dir, *targetName, *profilesDir, *varsFlag, w, errOut)
	if m == nil {
		return code
	}
	// Everything that compiled is written, whatever failed beside it.
	selection, err := m.Select(*sel, nil)
	if err != nil {
		printDiagnostics(errOut, *dir, ds)
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
	sum.Millis = time.Since(start).Milliseconds()
	errs := ds.Errors()
	if *asJSON {
		sum.Errors, sum.Warnings = append(project.Diagnostics{}, errs...), append(project.Diagnostics{}, ds.Warnings()...)
		sum.Skipped = []*project.Skipped{}
		for _, id := range sortedSkipped(m) {
			sum.Skipped = append(sum.Skipped, m.Skipped[id])
		}
		if sum.Selected == nil {
			sum.Selected = []string{}
		}
		printJSON(out, sum)
		return code
	}
	printDiagnostics(errOut, *dir, ds)
	fmt.Fprintf(out, "Compiled %s for target %s (%s, schema %s) in %s: %s; %s selected.\nWrote %s\n",
		sum.Project, sum.Target.Name, sum.Target.Type, sum.Target.Schema, time.Since(start).Round(time.Millisecond),
		sum.Counts, plural(len(sum.Selected), "model"), sum.Manifest)
	if len(m.Skipped) > 0 {
		fmt.Fprintf(errOut, "Not compiled:\n")
		for _, id := range sortedSkipped(m) {
			s := m.Skipped[id]
			fmt.Fprintf(errOut, "  %s %s (%s): %s\n", s.Kind, s.Name, filepath.Join(*dir, filepath.FromSlash(s.Path)), s.Reason)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(errOut, "%s; everything else was written.\n", plural(len(errs), "error"))
	}
	for _, s := range m.Skipped {
		if s.Cause == project.CauseWarehouse {
			fmt.Fprintln(errOut, "Some models query the warehouse while compiling: pass --warehouse DSN to compile them.")
			break
		}
	}
	return code
}

func sortedSkipped(m *project.Manifest) []string {
	ids := make([]string, 0, len(m.Skipped))
	for id := range m.Skipped {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// compileProject loads and compiles a project, returning the manifest of
// what compiled (nil when the project's configuration cannot be used), a
// summary, the problems, and the exit code they call for: 1 when any
// model has errors, 2 for configuration errors.
func compileProject(dir, targetName, profilesDir, varsFlag string, w project.Warehouse, errOut io.Writer) (*project.Manifest, compileSummary, project.Diagnostics, int) {
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
	if profilesDir == "" {
		profilesDir = os.Getenv("DBT_PROFILES_DIR")
	}
	if profilesDir != "" {
		file := filepath.Join(profilesDir, "profiles.yml")
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, sum, nil, usageError(errOut, "compile", "--profiles-dir: %v", err)
		}
		if pds := p.ReadProfiles(file, data); len(pds.Errors()) > 0 {
			printDiagnostics(errOut, "", pds)
			return nil, sum, pds, exitUsage
		}
	}
	target, err := p.Target(targetName)
	if err != nil {
		return nil, sum, ds, usageError(errOut, "compile", "--target: %v", err)
	}
	sum.Project, sum.Target = p.Name, target
	m, cds := project.Compile(context.Background(), p, project.Options{Target: target, Vars: vars, Warehouse: w})
	ds = append(ds, cds...)
	ds.Sort()
	if ds.HasConfigErrors() {
		printDiagnostics(errOut, dir, ds)
		return nil, sum, ds, exitUsage
	}
	sum.Counts = m.Stats()
	if len(ds.Errors()) > 0 {
		return m, sum, ds, exitFailure
	}
	return m, sum, ds, exitOK
}

// printDiagnostics prints each problem as path:line:col: message, with the
// path as seen from where the command runs so editors can jump to it.
func printDiagnostics(w io.Writer, dir string, ds project.Diagnostics) {
	for _, d := range ds {
		d.Path = filepath.Join(dir, filepath.FromSlash(d.Path))
		fmt.Fprintln(w, d.String())
	}
}
