package project

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// Project is a dbt-style project read from disk, before any template runs:
// the root project and the packages installed in its dbt_packages/.
type Project struct {
	Dir         string
	Name        string
	ProfileName string
	Vars        map[string]any

	// Targets from profiles.yml; DefaultTarget names the one used when a
	// command is given none.
	Targets       map[string]Target
	DefaultTarget string
	unusable      map[string]string // target name -> why dataops cannot compile for it

	// Dispatch is dbt_project.yml's dispatch: the packages searched, in
	// order, for the implementation of a dispatched macro namespace.
	Dispatch map[string][]string

	root     *Package
	packages []*Package // installed packages, by name
	install  string     // packages-install-path
	problems Diagnostics
}

// Package is the root project or one installed package: its own
// dbt_project.yml and the files under its paths.
type Package struct {
	Name string
	// Dir is the package's folder relative to the project directory: ""
	// for the root project, "dbt_packages/dbt_utils" for a package.
	Dir        string
	ModelPaths []string
	SeedPaths  []string
	MacroPaths []string
	TestPaths  []string
	// SnapshotPaths hold {% snapshot %} blocks, which models may ref.
	SnapshotPaths []string
	Vars          map[string]any

	modelsTree, seedsTree, testsTree, snapshotsTree *yaml.Node

	models     []sourceFile
	python     []sourceFile // Python models: listed, not compiled
	seeds      []sourceFile
	macroFiles []sourceFile
	snapshots  []sourceFile
	singular   []sourceFile
	properties []yamlFile
}

type sourceFile struct {
	path    string // relative to the project directory, slash separated
	content string
}

// File is any file of the project, addressed by its slash-separated path
// relative to the project directory. Load reads them from disk; the plan
// reads them from a git revision through the same type.
type File struct {
	Path    string
	Content []byte
}

const projectFile = "dbt_project.yml"

// PackagesDir is where `dbt deps` (and `dataops deps`) install packages.
const PackagesDir = "dbt_packages"

var projectKeys = []string{
	"name", "version", "config-version", "profile", "model-paths", "seed-paths", "macro-paths",
	"test-paths", "snapshot-paths", "analysis-paths", "docs-paths", "asset-paths", "target-path",
	"clean-targets", "packages-install-path", "log-path", "vars", "models", "seeds", "data_tests", "tests",
	"snapshots", "sources", "on-run-start", "on-run-end", "require-dbt-version", "quoting",
	"dispatch", "flags", "query-comment", "restrict-access", "semantic-models", "saved-queries",
	"metrics", "exposures", "unit_tests", "source-paths", "data-paths", "modules-path", "functions",
}

// Load reads the project in dir from disk. It returns a nil Project and the
// reasons when the project's own configuration (dbt_project.yml,
// profiles.yml) cannot be used; problems in models and properties files
// are reported by Compile.
func Load(dir string) (*Project, Diagnostics) {
	files, err := readTree(dir)
	if err != nil {
		return nil, Diagnostics{{Path: dir, Message: err.Error(), Config: true,
			Hint: "pass --project with the folder that holds dbt_project.yml"}}
	}
	return LoadFiles(dir, files)
}

// ReadDir reads the files of the project in dir as Load does (for
// LoadFiles), its installed packages included.
func ReadDir(dir string) ([]File, error) { return readTree(dir) }

// readTree reads the files a project may use, skipping build output. Of
// dbt_packages/ it reads what dbt uses: each package's own files, not the
// packages nested in it (deps flattens them) nor its integration tests.
func readTree(dir string) ([]File, error) {
	info, err := os.Stat(filepath.Join(dir, projectFile))
	if err != nil || info.IsDir() {
		return nil, fmt.Errorf("no %s in %s", projectFile, dir)
	}
	// Walk the real folder: a symlinked project folder is walked too.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	var files []File
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && skipDir(rel, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".sql", ".yml", ".yaml", ".csv", ".py":
		default:
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, File{Path: rel, Content: data})
		return nil
	})
	return files, err
}

// skipDir tells the folders a project never reads: build output, logs,
// version control, and inside an installed package its own packages and
// integration tests.
func skipDir(rel, name string) bool {
	switch name {
	case "target", "logs", "node_modules", ".git", ".venv", "venv", "__pycache__":
		return true
	}
	if rest, ok := strings.CutPrefix(rel, PackagesDir+"/"); ok {
		if _, inner, nested := strings.Cut(rest, "/"); nested {
			return inner == PackagesDir || inner == "integration_tests"
		}
	}
	return false
}

// LoadFiles builds a Project from files already in memory.
func LoadFiles(dir string, files []File) (*Project, Diagnostics) {
	byPath := make(map[string][]byte, len(files))
	for _, f := range files {
		byPath[f.Path] = f.Content
	}
	p := &Project{Dir: dir, Vars: map[string]any{}, Dispatch: map[string][]string{}}
	raw, ok := byPath[projectFile]
	if !ok {
		return nil, Diagnostics{{Path: projectFile, Message: "file not found", Config: true,
			Hint: "a dbt project has a dbt_project.yml at its root; pass --project with that folder"}}
	}
	root, ds := readPackageFile("", raw)
	if root != nil {
		p.root = root.Package
		p.install = root.installPath
		p.Name = root.Name
		p.Vars = root.Vars
		p.ProfileName = root.profile
		p.Dispatch = root.dispatch
	}
	if prof, ok := byPath["profiles.yml"]; ok {
		ds = append(ds, p.ReadProfiles("profiles.yml", prof)...)
	}
	for i := range ds {
		ds[i].Config = true
	}
	if len(ds.Errors()) > 0 {
		return nil, ds
	}
	// Problems in model folders and packages do not stop the project from
	// loading: they are reported by Compile with everything else it finds.
	p.problems = append(ds, p.classify(files)...)
	p.problems = append(p.problems, p.notInstalled(byPath)...)
	return p, nil
}

// notInstalled warns when packages.yml (or dependencies.yml) asks for
// packages and none is installed: every macro of theirs would otherwise be
// reported as undefined, model by model, without saying why.
func (p *Project) notInstalled(byPath map[string][]byte) Diagnostics {
	if len(p.packages) > 0 {
		return nil
	}
	for _, name := range []string{"packages.yml", "dependencies.yml"} {
		data, ok := byPath[name]
		if !ok {
			continue
		}
		f, d := parseYAML(name, data)
		if d != nil || f.root == nil {
			continue // dataops deps reports it
		}
		if list := lookup(f.root, "packages"); list != nil && len(list.Content) > 0 {
			d := at(name, list, "%s asks for %d packages and none is installed in %s/", name, len(list.Content), p.install)
			d.Hint = "run dataops deps to install them"
			d.Warning = true
			return Diagnostics{d}
		}
	}
	return nil
}

// packageFile is what readPackageFile reads beyond the Package itself.
type packageFile struct {
	*Package
	profile     string
	dispatch    map[string][]string
	installPath string
}

// readPackageFile reads the dbt_project.yml of the root project (dir "")
// or of an installed package.
func readPackageFile(dir string, data []byte) (*packageFile, Diagnostics) {
	file := path.Join(dir, projectFile)
	f, d := parseYAML(file, data)
	if d != nil {
		return nil, Diagnostics{*d}
	}
	if f.root == nil {
		return nil, Diagnostics{{Path: file, Line: 1, Message: "the file is empty", Hint: "it needs at least name:"}}
	}
	pkg := &packageFile{Package: &Package{Dir: dir, Vars: map[string]any{}}, dispatch: map[string][]string{}}
	ds := Diagnostics(checkKeys(file, f.root, "dbt_project.yml", projectKeys))
	name := lookup(f.root, "name")
	if name == nil || name.Value == "" {
		ds = append(ds, Diagnostic{Path: file, Line: 1, Message: "missing name:", Hint: "add name: my_project"})
	} else {
		pkg.Name = name.Value
	}
	if prof := lookup(f.root, "profile"); prof != nil {
		pkg.profile = prof.Value
	}
	paths := func(def string, keys ...string) []string {
		for _, key := range keys {
			n := lookup(f.root, key)
			if n == nil {
				continue
			}
			var out []string
			if err := n.Decode(&out); err != nil {
				ds = append(ds, at(file, n, "%s must be a list of folders, like [%q]", key, def))
				return []string{def}
			}
			for i := range out {
				out[i] = strings.Trim(filepath.ToSlash(filepath.Clean(out[i])), "/")
			}
			return out
		}
		return []string{def}
	}
	// source-paths and data-paths are the names dbt used before 1.0.
	pkg.ModelPaths = paths("models", "model-paths", "source-paths")
	pkg.SeedPaths = paths("seeds", "seed-paths", "data-paths")
	pkg.MacroPaths = paths("macros", "macro-paths")
	pkg.TestPaths = paths("tests", "test-paths")
	pkg.SnapshotPaths = paths("snapshots", "snapshot-paths")
	pkg.installPath = PackagesDir
	if n := lookup(f.root, "packages-install-path"); n != nil && n.Value != "" {
		pkg.installPath = strings.Trim(path.Clean(n.Value), "/")
	}
	if vars := lookup(f.root, "vars"); vars != nil {
		v, err := plain(vars)
		m, ok := v.(map[string]any)
		if err != nil || (!ok && v != nil) {
			ds = append(ds, at(file, vars, "vars must be a mapping of names to values"))
		}
		for k, x := range m {
			pkg.Vars[k] = x
		}
	}
	if n := lookup(f.root, "dispatch"); n != nil {
		ds = append(ds, readDispatch(file, n, pkg.dispatch)...)
	}
	pkg.modelsTree = lookup(f.root, "models")
	pkg.seedsTree = lookup(f.root, "seeds")
	pkg.testsTree = lookup(f.root, "data_tests")
	if pkg.testsTree == nil {
		pkg.testsTree = lookup(f.root, "tests")
	}
	pkg.snapshotsTree = lookup(f.root, "snapshots")
	return pkg, ds
}

// readDispatch reads dispatch: [{macro_namespace: x, search_order: [...]}].
func readDispatch(file string, n *yaml.Node, into map[string][]string) Diagnostics {
	if n.Kind != yaml.SequenceNode {
		return Diagnostics{at(file, n, "dispatch must be a list of {macro_namespace: ..., search_order: [...]}")}
	}
	var ds Diagnostics
	for _, entry := range n.Content {
		ns := lookup(entry, "macro_namespace")
		order := lookup(entry, "search_order")
		var list []string
		if ns == nil || ns.Value == "" || order == nil || order.Decode(&list) != nil {
			ds = append(ds, at(file, entry, "each dispatch entry needs macro_namespace: and a search_order: list"))
			continue
		}
		into[ns.Value] = list
	}
	return ds
}

// ReadProfiles reads a dbt profiles.yml (path is only for messages): the
// one beside the project, or the one --profiles-dir names.
func (p *Project) ReadProfiles(path string, data []byte) Diagnostics {
	f, d := parseYAML(path, data)
	if d != nil {
		return Diagnostics{*d}
	}
	p.Targets, p.unusable, p.DefaultTarget = nil, nil, ""
	if f.root == nil {
		return nil
	}
	name := p.ProfileName
	prof := lookup(f.root, name)
	if prof == nil {
		if name == "" {
			return nil
		}
		var names []string
		for _, kv := range pairs(f.root) {
			names = append(names, kv[0].Value)
		}
		return Diagnostics{{Path: path, Line: 1, Message: fmt.Sprintf("no profile %q (named by profile: in dbt_project.yml)", name),
			Hint: didYouMean(name, names)}}
	}
	var ds Diagnostics
	p.Targets = map[string]Target{}
	p.unusable = map[string]string{}
	if t := lookup(prof, "target"); t != nil {
		p.DefaultTarget, _ = renderProfileValue(t.Value)
	}
	// Outputs for other warehouses are kept with the reason they cannot be
	// used: dbt reads only the target it runs, so they matter only when
	// chosen.
	for _, kv := range pairs(lookup(prof, "outputs")) {
		t := Target{Name: kv[0].Value}
		var renderErr error
		str := func(keys ...string) string {
			for _, k := range keys {
				if n := lookup(kv[1], k); n != nil && n.Kind == yaml.ScalarNode {
					v, err := renderProfileValue(n.Value)
					if err != nil && renderErr == nil {
						renderErr = fmt.Errorf("%s: %v", k, err)
					}
					return v
				}
			}
			return ""
		}
		t.Type, t.Schema = str("type"), str("schema")
		switch t.Type {
		case "duckdb":
			t.Database = str("database")
			if t.Database == "" {
				if file := str("path"); file != "" && file != ":memory:" {
					t.Database = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
				} else {
					t.Database = "memory"
				}
			}
			if t.Schema == "" {
				t.Schema = "main" // dbt-duckdb's default
			}
		case "postgres":
			t.Database = str("dbname", "database")
		}
		where := fmt.Sprintf("%s:%d", path, kv[0].Line)
		switch {
		case renderErr != nil:
			p.unusable[t.Name] = fmt.Sprintf("output %q (%s): %v", t.Name, where, renderErr)
		case t.Type != "duckdb" && t.Type != "postgres":
			p.unusable[t.Name] = fmt.Sprintf("output %q (%s) has type %q: dataops compiles for duckdb and postgres", t.Name, where, t.Type)
		case t.Schema == "":
			p.unusable[t.Name] = fmt.Sprintf("output %q (%s) has no schema:", t.Name, where)
		}
		p.Targets[t.Name] = t
	}
	if _, ok := p.Targets[p.DefaultTarget]; p.DefaultTarget != "" && !ok && !strings.Contains(p.DefaultTarget, "{{") {
		ds = append(ds, at(path, lookup(prof, "target"), "default target %q is not among the outputs", p.DefaultTarget))
	}
	return ds
}

// Target returns the named target, or the default one for an empty name.
// Without a profiles.yml the default is a DuckDB target writing to "main".
func (p *Project) Target(name string) (Target, error) {
	if name == "" {
		name = p.DefaultTarget
	}
	if name == "" {
		return Target{Name: "dev", Schema: "main", Type: "duckdb", Database: "memory"}, nil
	}
	if t, ok := p.Targets[name]; ok {
		if why := p.unusable[name]; why != "" {
			return Target{}, fmt.Errorf("%s; choose another output with --target, or add a duckdb or postgres output", why)
		}
		return t, nil
	}
	if len(p.Targets) == 0 {
		return Target{Name: name, Schema: "main", Type: "duckdb", Database: "memory"}, nil
	}
	return Target{}, fmt.Errorf("no target %q in profiles.yml; %s", name, "known targets: "+strings.Join(sortedKeys(p.Targets), ", "))
}

// Packages returns the installed packages' names, sorted.
func (p *Project) Packages() []string {
	var out []string
	for _, pkg := range p.packages {
		out = append(out, pkg.Name)
	}
	return out
}

// all returns the root project and then every package.
func (p *Project) all() []*Package {
	out := []*Package{}
	if p.root != nil {
		out = append(out, p.root)
	}
	return append(out, p.packages...)
}

// classify finds the installed packages and sorts each one's files into
// models, seeds, macros, snapshots, singular tests and properties YAML by
// the folders its dbt_project.yml names.
func (p *Project) classify(files []File) Diagnostics {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var ds Diagnostics
	installDir := p.install
	byPkg := map[string][]File{}
	var own []File
	for _, f := range files {
		rest, inPackages := strings.CutPrefix(f.Path, installDir+"/")
		if !inPackages {
			own = append(own, f)
			continue
		}
		dir, _, ok := strings.Cut(rest, "/")
		if ok {
			byPkg[installDir+"/"+dir] = append(byPkg[installDir+"/"+dir], f)
		}
	}
	names := map[string]string{p.root.Name: projectFile}
	for _, dir := range sortedKeys(byPkg) {
		pkgFiles := byPkg[dir]
		var raw []byte
		for _, f := range pkgFiles {
			if f.Path == dir+"/"+projectFile {
				raw = f.Content
			}
		}
		if raw == nil {
			ds = append(ds, Diagnostic{Path: dir, Warning: true, Message: "an installed package without dbt_project.yml is ignored",
				Hint: "run dataops deps (or dbt deps) again"})
			continue
		}
		pf, pds := readPackageFile(dir, raw)
		// A package's own configuration problems are the package's, not
		// the project's: they are reported and the package is used as far
		// as it can be.
		ds = append(ds, pds...)
		if pf == nil || pf.Name == "" {
			continue
		}
		if prev, dup := names[pf.Name]; dup {
			ds = append(ds, Diagnostic{Path: path.Join(dir, projectFile), Line: 1,
				Message: fmt.Sprintf("two packages are named %q", pf.Name), Hint: "the other is " + prev + "; remove one"})
			continue
		}
		names[pf.Name] = path.Join(dir, projectFile)
		for ns, order := range pf.dispatch {
			if _, set := p.Dispatch[ns]; !set {
				p.Dispatch[ns] = order
			}
		}
		ds = append(ds, pf.Package.classify(pkgFiles)...)
		p.packages = append(p.packages, pf.Package)
	}
	sort.Slice(p.packages, func(i, j int) bool { return p.packages[i].Name < p.packages[j].Name })
	return append(ds, p.root.classify(own)...)
}

// classify sorts one package's files; paths are relative to the project
// directory, the package's folders relative to its own directory.
func (pkg *Package) classify(files []File) Diagnostics {
	var ds Diagnostics
	var yamls []File
	for _, f := range files {
		rel := f.Path
		if pkg.Dir != "" {
			rel = strings.TrimPrefix(f.Path, pkg.Dir+"/")
		}
		ext := strings.ToLower(filepath.Ext(f.Path))
		isYAML := ext == ".yml" || ext == ".yaml"
		sf := sourceFile{f.Path, string(f.Content)}
		switch {
		case underAny(rel, pkg.ModelPaths) && ext == ".sql":
			pkg.models = append(pkg.models, sf)
		case underAny(rel, pkg.ModelPaths) && ext == ".py":
			pkg.python = append(pkg.python, sf)
		case (underAny(rel, pkg.ModelPaths) || underAny(rel, pkg.SeedPaths) || underAny(rel, pkg.SnapshotPaths) ||
			underAny(rel, pkg.MacroPaths) || underAny(rel, pkg.TestPaths)) && isYAML:
			yamls = append(yamls, f)
		case underAny(rel, pkg.SeedPaths) && ext == ".csv":
			pkg.seeds = append(pkg.seeds, sf)
		case underAny(rel, pkg.MacroPaths) && ext == ".sql":
			pkg.macroFiles = append(pkg.macroFiles, sf)
		case underAny(rel, pkg.SnapshotPaths) && ext == ".sql":
			pkg.snapshots = append(pkg.snapshots, sf)
		case underAny(rel, pkg.TestPaths) && ext == ".sql":
			// tests/generic/ holds {% test %} blocks, which live with the
			// macros; every other file is a singular test.
			if strings.Contains("/"+rel, "/generic/") {
				pkg.macroFiles = append(pkg.macroFiles, sf)
				continue
			}
			pkg.singular = append(pkg.singular, sf)
		}
	}
	// Properties files are most of a large project's bytes; decode them on
	// every core, keeping their order.
	parsed := make([]yamlFile, len(yamls))
	problems := make([]*Diagnostic, len(yamls))
	parallel(len(yamls), func(i int) { parsed[i], problems[i] = parseYAML(yamls[i].Path, yamls[i].Content) })
	for i := range yamls {
		if problems[i] != nil {
			ds = append(ds, *problems[i])
			continue
		}
		pkg.properties = append(pkg.properties, parsed[i])
	}
	return ds
}

func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if d == "." || d == "" || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// seedColumns reads a CSV's header.
func seedColumns(content string) ([]string, error) {
	r := csv.NewReader(bytes.NewReader([]byte(content)))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("cannot read the CSV header: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	return header, nil
}

func baseName(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// renderProfileValue renders the Jinja of a profiles.yml value, as dbt does:
// "{{ env_var('DBT_SCHEMA', 'dev') }}". profiles.yml is the user's own
// configuration, read by the commands they run, so it reads the process
// environment. An output with a value that does not render cannot be used.
func renderProfileValue(s string) (string, error) {
	if !strings.Contains(s, "{{") && !strings.Contains(s, "{%") {
		return s, nil
	}
	env := jinja.New()
	env.Globals["env_var"] = jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
		p, err := a.Bind("env_var", 1, "var", "default")
		if err != nil {
			return nil, err
		}
		if v, ok := os.LookupEnv(jinja.Str(p[0])); ok {
			return v, nil
		}
		if p[1] != jinja.Missing {
			return p[1], nil
		}
		return nil, fmt.Errorf("environment variable %s is not set", jinja.Str(p[0]))
	})
	tpl, err := env.Parse("profiles.yml", s)
	if err != nil {
		return s, err
	}
	out, err := tpl.Render(context.Background(), nil)
	if err != nil {
		var je *jinja.Error
		if errors.As(err, &je) {
			err = errors.New(je.Msg)
		}
		return s, err
	}
	return strings.TrimSpace(out), nil
}
