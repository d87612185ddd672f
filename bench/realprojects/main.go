// Command realprojects measures dataops' compiler on real dbt projects:
// for each project folder under DIR (each with its packages installed in
// dbt_packages/), the share of models that compile, the errors grouped by
// cause with the models each blocks, the compile time against the time of
// only loading the project (reading files and parsing YAML) in the same run,
// and, where the project ships a manifest.json written by dbt, how many
// models compile to the same SQL as dbt's compiled_code once relation names
// are normalised. See bench/realprojects.sh.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
	_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	_ "github.com/dataops-dev/dataops/internal/warehouse/postgres"
)

func main() {
	targetType := flag.String("type", "duckdb", "the target type to compile for (duckdb or postgres; a manifest's adapter, such as snowflake, to compare with dbt's SQL)")
	targetName = flag.String("target", "prod", "the target's name: prod places nodes in their custom schemas, as production does")
	runs := flag.Int("runs", 3, "timed runs per project; the fastest counts")
	causes := flag.Int("causes", 8, "causes listed per project")
	examples := flag.Bool("examples", false, "print one example error per cause")
	only := flag.String("only", "", "measure only the project folder with this name")
	dsn := flag.String("warehouse", "", "warehouse DSN for compile-time queries (duckdb:// is an empty in-memory DuckDB); without one, a model that queries counts as needing a warehouse")
	placeholders := flag.Bool("env", true, "give the environment variables a project requires (without a default) and the machine lacks a placeholder value (their name in lower case), as the project's CI sets them")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the compiles to this file")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: realprojects [flags] DIR\n\nDIR holds one folder per dbt project, packages installed.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dirs, err := projectDirs(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var w project.Warehouse
	if *dsn != "" {
		wh, err := warehouse.Open(context.Background(), *dsn)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer wh.Close()
		w = build.CompileWarehouse(wh)
	}
	opts := project.Options{Warehouse: w}
	envPlaceholders = *placeholders
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var rows []row
	for _, dir := range dirs {
		if *only != "" && filepath.Base(dir) != *only {
			continue
		}
		r, err := measure(dir, *targetType, *runs, opts)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(dir), err)
			continue
		}
		rows = append(rows, r)
		r.printCauses(*causes, *examples)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "project\tmodels\tcompiled\tneed a warehouse\tcompiled\tcompiled or need a warehouse\tidentical to dbt\tload s\tcompile s\tratio\t")
	for _, r := range rows {
		same := "-"
		if r.comparable > 0 {
			same = fmt.Sprintf("%d/%d (%.1f%%)", r.identical, r.comparable, 100*float64(r.identical)/float64(r.comparable))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f%%\t%.1f%%\t%s\t%.3f\t%.3f\t%.2fx\t\n", r.name, r.models, r.compiled, r.needWarehouse,
			100*float64(r.compiled)/float64(max(r.models, 1)), 100*float64(r.compiled+r.needWarehouse)/float64(max(r.models, 1)),
			same, r.load.Seconds(), r.compile.Seconds(),
			r.compile.Seconds()/max(r.load.Seconds(), 1e-9))
	}
	tw.Flush()
}

// projectDirs lists the folders of dir that hold a dbt_project.yml.
func projectDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(p, "dbt_project.yml")); err == nil {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

type row struct {
	name                  string
	models, compiled      int
	needWarehouse         int // models skipped only because the compile had no warehouse
	load, compile         time.Duration
	identical, comparable int
	causes                []cause
	mismatch              []string
}

type cause struct {
	class    string
	example  project.Diagnostic
	errors   int
	blocked  int // models skipped because of it, directly or downstream
	firstSee string
}

var (
	envPlaceholders bool
	targetName      *string
)

var missingEnvRE = regexp.MustCompile(`environment variable (\S+) is not set`)

func measure(dir, targetType string, runs int, opts project.Options) (row, error) {
	r := row{name: filepath.Base(dir)}
	opts.Target = project.Target{Name: *targetName, Schema: "main", Type: targetType, Database: "dev"}
	if envPlaceholders {
		// Learn which variables the project requires, then set them.
		p, _ := project.Load(dir)
		if p == nil {
			return r, fmt.Errorf("cannot load")
		}
		_, ds := project.Compile(context.Background(), p, opts)
		set := map[string]bool{}
		for _, d := range ds {
			if m := missingEnvRE.FindStringSubmatch(d.Message); m != nil {
				set[m[1]] = true
			}
		}
		opts.LookupEnv = func(name string) (string, bool) {
			if v, ok := os.LookupEnv(name); ok {
				return v, true
			}
			if set[name] {
				return strings.ToLower(name), true
			}
			return "", false
		}
	}
	var m *project.Manifest
	var ds project.Diagnostics
	for i := 0; i < runs; i++ {
		start := time.Now()
		p, lds := project.Load(dir)
		load := time.Since(start)
		if p == nil {
			return r, fmt.Errorf("load: %v", lds)
		}
		m, ds = project.Compile(context.Background(), p, opts)
		total := time.Since(start)
		if i == 0 || load < r.load {
			r.load = load
		}
		if i == 0 || total < r.compile {
			r.compile = total
		}
		ds = append(lds, ds...)
	}
	for _, n := range m.Nodes {
		if n.Kind == project.KindModel {
			r.models++
			r.compiled++
		}
	}
	for _, s := range m.Skipped {
		if s.Kind != project.KindModel {
			continue
		}
		r.models++
		if s.Cause == project.CauseWarehouse || (s.Cause == project.CauseUpstream && onlyWarehouse(m, s, 0)) {
			r.needWarehouse++
		}
	}
	r.causes = groupCauses(m, ds)
	if err := compareWithDBT(dir, m, &r); err != nil {
		fmt.Fprintf(os.Stderr, "%s: compare with dbt: %v\n", r.name, err)
	}
	return r, nil
}

var (
	quotedRE = regexp.MustCompile(`"[^"]*"|'[^']*'`)
	numberRE = regexp.MustCompile(`\b\d+\b`)
)

// classOf reduces an error message to its cause: names and numbers out.
func classOf(d project.Diagnostic) string {
	msg := d.Message
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	msg = quotedRE.ReplaceAllString(msg, "…")
	msg = numberRE.ReplaceAllString(msg, "N")
	if len(msg) > 110 {
		msg = msg[:110] + "…"
	}
	return msg
}

// groupCauses counts errors by cause, and each skipped model against the
// cause of the first error of the node it was skipped for.
func groupCauses(m *project.Manifest, ds project.Diagnostics) []cause {
	byClass := map[string]*cause{}
	firstOf := map[string]string{} // node -> class of its first error
	for _, d := range ds.Errors() {
		cl := classOf(d)
		c := byClass[cl]
		if c == nil {
			c = &cause{class: cl, example: d}
			byClass[cl] = c
		}
		c.errors++
		if d.Node != "" {
			if _, seen := firstOf[d.Node]; !seen {
				firstOf[d.Node] = cl
			}
		}
	}
	var root func(id string, depth int) string
	root = func(id string, depth int) string {
		s := m.Skipped[id]
		if s == nil || depth > 1000 {
			return ""
		}
		if s.Cause == project.CauseUpstream && len(s.Upstream) > 0 {
			return root(s.Upstream[0], depth+1)
		}
		if cl, ok := firstOf[id]; ok {
			return cl
		}
		return string(s.Cause) + ": " + classOf(project.Diagnostic{Message: s.Reason})
	}
	for id, s := range m.Skipped {
		if s.Kind != project.KindModel {
			continue
		}
		cl := root(id, 0)
		c := byClass[cl]
		if c == nil {
			c = &cause{class: cl}
			byClass[cl] = c
		}
		c.blocked++
	}
	var out []cause
	for _, c := range byClass {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].blocked != out[j].blocked {
			return out[i].blocked > out[j].blocked
		}
		if out[i].errors != out[j].errors {
			return out[i].errors > out[j].errors
		}
		return out[i].class < out[j].class
	})
	return out
}

func (r row) printCauses(n int, examples bool) {
	fmt.Printf("== %s: %d/%d models compile\n", r.name, r.compiled, r.models)
	for i, c := range r.causes {
		if i == n {
			fmt.Printf("   ... %d more causes\n", len(r.causes)-n)
			break
		}
		fmt.Printf("   %5d models %5d errors  %s\n", c.blocked, c.errors, c.class)
		if examples && c.example.Path != "" {
			fmt.Printf("                       e.g. %s\n", c.example.String())
		}
	}
	for _, s := range r.mismatch {
		fmt.Printf("   differs from dbt: %s\n", s)
	}
}

// dbtManifest is what compareWithDBT reads of a manifest.json dbt wrote.
type dbtManifest struct {
	Metadata struct {
		AdapterType string `json:"adapter_type"`
		DBTVersion  string `json:"dbt_version"`
	} `json:"metadata"`
	Nodes   map[string]dbtNode `json:"nodes"`
	Sources map[string]dbtNode `json:"sources"`
}

type dbtNode struct {
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	Package      string `json:"package_name"`
	RawCode      string `json:"raw_code"`
	RawSQL       string `json:"raw_sql"` // before dbt 1.3
	CompiledCode string `json:"compiled_code"`
	CompiledSQL  string `json:"compiled_sql"` // before dbt 1.3
	RelationName string `json:"relation_name"`
}

// compareWithDBT finds a manifest.json the project ships (not one dataops
// wrote) and compares each model's compiled SQL with dbt's, counting only
// models whose raw code is the same in both, since a shipped manifest may
// be older than the files.
func compareWithDBT(dir string, m *project.Manifest, r *row) error {
	var found string
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return nil
		}
		if d.IsDir() && (d.Name() == "dbt_packages" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.Name() == "manifest.json" && !strings.Contains(p, string(filepath.Separator)+"target"+string(filepath.Separator)+"compiled") {
			if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data[:min(len(data), 4096)]), `"dbt_version"`) {
				found = p
			}
		}
		return nil
	})
	if found == "" {
		return nil
	}
	data, err := os.ReadFile(found)
	if err != nil {
		return err
	}
	var dm dbtManifest
	if err := json.Unmarshal(data, &dm); err != nil {
		return fmt.Errorf("%s: %v", found, err)
	}
	if dm.Metadata.DBTVersion == "" {
		return nil // not dbt's (dataops compile writes one too)
	}
	// Relation names differ by target; replace both sides' with the node.
	dbtRel := map[string]string{}
	for id, n := range dm.Nodes {
		if n.RelationName != "" {
			dbtRel[n.RelationName] = id
		}
	}
	for id, n := range dm.Sources {
		if n.RelationName != "" {
			dbtRel[n.RelationName] = id
		}
	}
	ours := map[string]string{}
	for id, n := range m.Nodes {
		ours[project.QuoteRelation(n.Relation)] = id
	}
	for id, dn := range dm.Nodes {
		if dn.ResourceType != "model" {
			continue
		}
		n := m.Nodes[id]
		compiled := first(dn.CompiledCode, dn.CompiledSQL)
		if n == nil || compiled == "" || !sameSources(m, dm, n, 0) {
			continue
		}
		r.comparable++
		want := timestampRE.ReplaceAllString(normaliseRelations(compiled, dbtRel), "<timestamp>")
		got := timestampRE.ReplaceAllString(normaliseRelations(n.CompiledSQL, ours), "<timestamp>")
		if os.Getenv("REALPROJECTS_SHOW") == id {
			fmt.Printf("--- ours\n%s\n--- dbt's\n%s\n", got, want)
		}
		if want == got {
			r.identical++
		} else if len(r.mismatch) < 5 {
			r.mismatch = append(r.mismatch, fmt.Sprintf("%s: %s", id, firstDifference(got, want)))
		}
	}
	return nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// normaliseRelations replaces every known relation name with its node id,
// longest names first so a name inside another is not replaced first.
func normaliseRelations(sql string, rels map[string]string) string {
	names := make([]string, 0, len(rels))
	for name := range rels {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	pairs := make([]string, 0, 2*len(names))
	for _, name := range names {
		pairs = append(pairs, name, "<"+rels[name]+">")
	}
	return strings.NewReplacer(pairs...).Replace(sql)
}

// firstDifference shows where two texts part.
func firstDifference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	cut := func(s string) string {
		s = s[i:]
		if len(s) > 60 {
			s = s[:60]
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("at byte %d: ours %s, dbt's %s", i, cut(got), cut(want))
}

// onlyWarehouse reports whether every node a skipped node waits for needs
// only a warehouse to compile.
func onlyWarehouse(m *project.Manifest, s *project.Skipped, depth int) bool {
	if depth > 1000 {
		return false
	}
	switch s.Cause {
	case project.CauseWarehouse:
		return true
	case project.CauseUpstream:
		for _, up := range s.Upstream {
			u := m.Skipped[up]
			if u == nil || !onlyWarehouse(m, u, depth+1) {
				return false
			}
		}
		return len(s.Upstream) > 0
	}
	return false
}

// normaliseSource compares sources as dbt reads them: stripped, with
// Windows line ends read as newlines.
func normaliseSource(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// timestampRE matches the times templates print (run_started_at and the
// like), which differ between any two compiles.
var timestampRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2})?`)

// sameSources reports whether a model and every ephemeral model it inlines
// have the same source in the project and in dbt's manifest: only then are
// their compiled SQL comparable.
func sameSources(m *project.Manifest, dm dbtManifest, n *project.Node, depth int) bool {
	dn, ok := dm.Nodes[n.UniqueID]
	if !ok || depth > 100 || normaliseSource(first(dn.RawCode, dn.RawSQL)) != normaliseSource(n.RawSQL) {
		return false
	}
	for _, p := range m.Parents(n.UniqueID) {
		if pn := m.Nodes[p]; pn != nil && pn.Config.Materialized == "ephemeral" && !sameSources(m, dm, pn, depth+1) {
			return false
		}
	}
	return true
}
