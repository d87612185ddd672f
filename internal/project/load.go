package project

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Project is a dbt-style project read from disk, before any template runs.
type Project struct {
	Dir         string
	Name        string
	ProfileName string
	ModelPaths  []string
	SeedPaths   []string
	MacroPaths  []string
	TestPaths   []string
	Vars        map[string]any

	// Targets from profiles.yml; DefaultTarget names the one used when a
	// command is given none.
	Targets       map[string]Target
	DefaultTarget string

	modelsTree *yaml.Node
	seedsTree  *yaml.Node
	testsTree  *yaml.Node

	models     []sourceFile
	seeds      []sourceFile
	macroFiles []sourceFile
	singular   []sourceFile
	properties []yamlFile
	problems   Diagnostics
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

var projectKeys = []string{
	"name", "version", "config-version", "profile", "model-paths", "seed-paths", "macro-paths",
	"test-paths", "snapshot-paths", "analysis-paths", "docs-paths", "asset-paths", "target-path",
	"clean-targets", "packages-install-path", "log-path", "vars", "models", "seeds", "data_tests", "tests",
	"snapshots", "sources", "on-run-start", "on-run-end", "require-dbt-version", "quoting",
	"dispatch", "flags", "query-comment", "restrict-access", "semantic-models", "saved-queries",
	"metrics", "exposures", "unit_tests",
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

// readTree reads the files a project may use, skipping build output and
// dependency folders.
func readTree(dir string) ([]File, error) {
	info, err := os.Stat(filepath.Join(dir, projectFile))
	if err != nil || info.IsDir() {
		return nil, fmt.Errorf("no %s in %s", projectFile, dir)
	}
	var files []File
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch d.Name() {
			case "target", "dbt_packages", "logs", "node_modules", ".git":
				if rel != "." {
					return filepath.SkipDir
				}
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".sql", ".yml", ".yaml", ".csv":
		default:
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

// LoadFiles builds a Project from files already in memory.
func LoadFiles(dir string, files []File) (*Project, Diagnostics) {
	byPath := make(map[string][]byte, len(files))
	for _, f := range files {
		byPath[f.Path] = f.Content
	}
	p := &Project{Dir: dir, Vars: map[string]any{}}
	var ds Diagnostics
	raw, ok := byPath[projectFile]
	if !ok {
		return nil, Diagnostics{{Path: projectFile, Message: "file not found", Config: true,
			Hint: "a dbt project has a dbt_project.yml at its root; pass --project with that folder"}}
	}
	ds = append(ds, p.readProjectFile(raw)...)
	if prof, ok := byPath["profiles.yml"]; ok {
		ds = append(ds, p.readProfiles(prof)...)
	}
	if len(ds) > 0 {
		for i := range ds {
			ds[i].Config = true
		}
		return nil, ds
	}
	// Problems in model folders do not stop the project from loading: they
	// are reported by Compile together with everything else it finds.
	p.problems = p.classify(files)
	return p, nil
}

func (p *Project) readProjectFile(data []byte) Diagnostics {
	f, d := parseYAML(projectFile, data)
	if d != nil {
		return Diagnostics{*d}
	}
	if f.root == nil {
		return Diagnostics{{Path: projectFile, Line: 1, Message: "the file is empty", Hint: "it needs at least name:"}}
	}
	ds := Diagnostics(checkKeys(projectFile, f.root, "dbt_project.yml", projectKeys))
	name := lookup(f.root, "name")
	if name == nil || name.Value == "" {
		ds = append(ds, Diagnostic{Path: projectFile, Line: 1, Message: "missing name:", Hint: "add name: my_project"})
	} else {
		p.Name = name.Value
	}
	if prof := lookup(f.root, "profile"); prof != nil {
		p.ProfileName = prof.Value
	}
	paths := func(key string, def string) []string {
		n := lookup(f.root, key)
		if n == nil {
			return []string{def}
		}
		var out []string
		if err := n.Decode(&out); err != nil {
			ds = append(ds, at(projectFile, n, "%s must be a list of folders, like [%q]", key, def))
			return []string{def}
		}
		for i := range out {
			out[i] = strings.Trim(filepath.ToSlash(filepath.Clean(out[i])), "/")
		}
		return out
	}
	p.ModelPaths = paths("model-paths", "models")
	p.SeedPaths = paths("seed-paths", "seeds")
	p.MacroPaths = paths("macro-paths", "macros")
	if lookup(f.root, "test-paths") == nil {
		p.TestPaths = []string{"tests"}
	} else {
		p.TestPaths = paths("test-paths", "tests")
	}
	if vars := lookup(f.root, "vars"); vars != nil {
		v, err := plain(vars)
		m, ok := v.(map[string]any)
		if err != nil || (!ok && v != nil) {
			ds = append(ds, at(projectFile, vars, "vars must be a mapping of names to values"))
		}
		for k, x := range m {
			p.Vars[k] = x
		}
	}
	p.modelsTree = lookup(f.root, "models")
	p.seedsTree = lookup(f.root, "seeds")
	p.testsTree = lookup(f.root, "data_tests")
	if p.testsTree == nil {
		p.testsTree = lookup(f.root, "tests")
	}
	return ds
}

// readProfiles reads a dbt profiles.yml kept beside the project; dataops
// only needs each output's type and schema.
func (p *Project) readProfiles(data []byte) Diagnostics {
	const path = "profiles.yml"
	f, d := parseYAML(path, data)
	if d != nil {
		return Diagnostics{*d}
	}
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
	if t := lookup(prof, "target"); t != nil {
		p.DefaultTarget = t.Value
	}
	for _, kv := range pairs(lookup(prof, "outputs")) {
		t := Target{Name: kv[0].Value}
		if n := lookup(kv[1], "type"); n != nil {
			t.Type = n.Value
		}
		if n := lookup(kv[1], "schema"); n != nil {
			t.Schema = n.Value
		}
		if t.Type != "duckdb" && t.Type != "postgres" {
			ds = append(ds, at(path, kv[1], "output %q has type %q: dataops supports duckdb and postgres", t.Name, t.Type))
		}
		if t.Schema == "" {
			ds = append(ds, at(path, kv[1], "output %q has no schema:", t.Name))
		}
		p.Targets[t.Name] = t
	}
	if _, ok := p.Targets[p.DefaultTarget]; p.DefaultTarget != "" && !ok {
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
		return Target{Name: "dev", Schema: "main", Type: "duckdb"}, nil
	}
	if t, ok := p.Targets[name]; ok {
		return t, nil
	}
	if len(p.Targets) == 0 {
		return Target{Name: name, Schema: "main", Type: "duckdb"}, nil
	}
	return Target{}, fmt.Errorf("no target %q in profiles.yml; %s", name, "known targets: "+strings.Join(sortedKeys(p.Targets), ", "))
}

// classify sorts the project's files into models, seeds, macros, singular
// tests and properties YAML by the folders dbt_project.yml names.
func (p *Project) classify(files []File) Diagnostics {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var ds Diagnostics
	var yamls []File
	for _, f := range files {
		ext := strings.ToLower(filepath.Ext(f.Path))
		isYAML := ext == ".yml" || ext == ".yaml"
		switch {
		case underAny(f.Path, p.ModelPaths) && ext == ".sql":
			p.models = append(p.models, sourceFile{f.Path, string(f.Content)})
		case (underAny(f.Path, p.ModelPaths) || underAny(f.Path, p.SeedPaths)) && isYAML:
			yamls = append(yamls, f)
		case underAny(f.Path, p.SeedPaths) && ext == ".csv":
			p.seeds = append(p.seeds, sourceFile{f.Path, string(f.Content)})
		case underAny(f.Path, p.MacroPaths) && ext == ".sql":
			p.macroFiles = append(p.macroFiles, sourceFile{f.Path, string(f.Content)})
		case underAny(f.Path, p.TestPaths) && ext == ".sql":
			if strings.Contains(f.Path, "/generic/") {
				ds = append(ds, Diagnostic{Path: f.Path, Line: 1,
					Message: "custom generic tests ({% test %} blocks) are not supported yet",
					Hint:    "write it as a singular test, or use unique, not_null, accepted_values or relationships"})
				continue
			}
			p.singular = append(p.singular, sourceFile{f.Path, string(f.Content)})
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
		p.properties = append(p.properties, parsed[i])
	}
	return ds
}

func underAny(path string, dirs []string) bool {
	for _, d := range dirs {
		if d == "." || strings.HasPrefix(path, d+"/") {
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
