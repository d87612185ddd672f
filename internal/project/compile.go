package project

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nikolalohinski/gonja/v2/exec"
	"gopkg.in/yaml.v3"
)

// Options choose what a compile renders for.
type Options struct {
	Target Target
	// Vars override the project's vars, like dbt's --vars.
	Vars map[string]any
	// LookupEnv is what env_var() reads; nil is the process environment
	// (os.LookupEnv). The bot narrows it: the code it compiles is not its
	// own, and its environment holds its secrets.
	LookupEnv func(name string) (string, bool)
}

// reserved names cannot be macros: they are the dbt context itself.
var reserved = []string{"ref", "source", "config", "var", "env_var", "is_incremental", "this", "target", "log", "execute"}

// Compile renders every enabled model, seed, source and test of the project
// into a Manifest. It reports all problems of the project at once; the
// Manifest is nil when any of them is an error.
func Compile(p *Project, opts Options) (*Manifest, Diagnostics) {
	c := &compiler{p: p, opts: opts, nodes: map[string]*Node{}}
	vars := map[string]any{}
	for k, v := range p.Vars {
		vars[k] = v
	}
	for k, v := range opts.Vars {
		vars[k] = v
	}
	c.diags = append(c.diags, p.problems...)
	props, ds := p.readProperties()
	c.diags = append(c.diags, ds...)
	macros := c.parseMacros()
	c.r = newRenderer(p.Name, opts.Target, vars, macros, opts.LookupEnv)
	c.compileModels(props)
	c.addSeeds(props)
	c.addSources(props)
	c.addTests(props)
	c.compileSingularTests()
	c.resolveDependencies()
	c.linkSeededSources()
	m := &Manifest{Project: p.Name, Target: opts.Target, Nodes: c.nodes, Macros: c.macroInfo, Vars: vars,
		Disabled: c.disabled}
	c.diags = append(c.diags, m.buildGraph()...)
	if len(c.diags) > 0 {
		c.diags.Sort()
		return nil, c.diags
	}
	m.assignRelations()
	if err := m.renderAll(); err != nil {
		return nil, err
	}
	return m, nil
}

type compiler struct {
	p         *Project
	opts      Options
	r         *renderer
	nodes     map[string]*Node
	disabled  []string
	macroInfo map[string]MacroInfo
	// where each node's references come from, to resolve them after all
	// configs are known
	refs  map[string]*renderState
	diags Diagnostics
}

// MacroInfo records a project macro so a plan can tell when it changed.
type MacroInfo struct {
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Checksum string `json:"checksum"`
}

func (c *compiler) parseMacros() map[string]macroDef {
	defs := map[string]macroDef{}
	c.macroInfo = map[string]MacroInfo{}
	probe := newRenderer(c.p.Name, c.opts.Target, nil, nil, c.opts.LookupEnv)
	for _, f := range c.p.macroFiles {
		tpl, d := probe.parse(f.path, f.content)
		if d != nil {
			c.diags = append(c.diags, *d)
			continue
		}
		for name, node := range tpl.Macros() {
			line := node.Location.Line
			if contains(reserved, name) {
				c.diags = append(c.diags, Diagnostic{Path: f.path, Line: line, Col: node.Location.Col,
					Message: fmt.Sprintf("macro %q has the name of a dbt built-in", name), Hint: "rename the macro"})
				continue
			}
			if prev, dup := c.macroInfo[name]; dup {
				c.diags = append(c.diags, Diagnostic{Path: f.path, Line: line, Col: node.Location.Col,
					Message: fmt.Sprintf("macro %q is defined twice", name),
					Hint:    fmt.Sprintf("the other definition is at %s:%d", prev.Path, prev.Line)})
				continue
			}
			defs[name] = macroDef{node: node, template: tpl, path: f.path}
			c.macroInfo[name] = MacroInfo{Path: f.path, Line: line, Checksum: checksum(macroSource(f.content, line))}
		}
	}
	return defs
}

// macroSource cuts one macro's text from its file, so that editing one
// macro of a file does not mark users of its neighbours as changed.
func macroSource(content string, line int) string {
	lines := strings.Split(content, "\n")
	if line < 1 || line > len(lines) {
		return content
	}
	var b strings.Builder
	for _, l := range lines[line-1:] {
		b.WriteString(l)
		b.WriteByte('\n')
		if strings.Contains(l, "endmacro") {
			break
		}
	}
	return b.String()
}

// renderJob is one template to render on a worker.
type renderJob struct {
	node *Node
	src  string
	incr bool
	tpl  *exec.Template // already parsed, for a second render
}

type renderResult struct {
	job      renderJob
	tpl      *exec.Template
	out      string
	st       *renderState
	problems []Diagnostic
}

// renderParallel renders templates on every core: templates are
// independent once the macros are parsed.
func (c *compiler) renderParallel(jobs []renderJob) []renderResult {
	results := make([]renderResult, len(jobs))
	parallel(len(jobs), func(i int) { results[i] = c.renderOne(jobs[i]) })
	return results
}

// parallel calls fn for 0..n-1 on every core.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func (c *compiler) renderOne(j renderJob) (res renderResult) {
	res.job = j
	defer func() {
		// gonja is third-party code running on user input; a panic there
		// must become a diagnostic, not a crash.
		if v := recover(); v != nil {
			res.problems = append(res.problems, Diagnostic{Path: j.node.Path, Line: 1,
				Message: fmt.Sprintf("the template engine failed on this file: %v", v)})
		}
	}()
	tpl := j.tpl
	if tpl == nil {
		var d *Diagnostic
		if tpl, d = c.r.parse(j.node.Path, j.src); d != nil {
			res.problems = append(res.problems, *d)
			return res
		}
	}
	res.tpl = tpl
	this := relationValue{kind: "this", name: j.node.Name}
	out, st, err := c.r.render(tpl, this, j.incr)
	res.out, res.st = out, st
	if err != nil {
		res.problems = append(res.problems, renderDiagnostic(j.node.Path, j.src, err, c.r.macroNames))
	}
	for _, p := range st.problems {
		line, col := locateCall(j.src, p.fn, p.arg)
		res.problems = append(res.problems, Diagnostic{Path: j.node.Path, Line: line, Col: col,
			Message: p.message, Hint: p.hint})
	}
	return res
}

func (c *compiler) compileModels(props properties) {
	names := map[string]string{}
	var jobs []renderJob
	for _, f := range c.p.models {
		name := baseName(f.path)
		if prev, dup := names[name]; dup {
			c.diags = append(c.diags, Diagnostic{Path: f.path, Line: 1,
				Message: fmt.Sprintf("duplicate model name %q", name),
				Hint:    fmt.Sprintf("%s has the same name; model names must be unique in a project", prev)})
			continue
		}
		names[name] = f.path
		n := &Node{UniqueID: "model." + c.p.Name + "." + name, Kind: KindModel, Name: name, Path: f.path,
			RawSQL: f.content, Line: 1}
		jobs = append(jobs, renderJob{node: n, src: f.content})
	}
	for name, pt := range props.models {
		if _, ok := names[name]; !ok {
			c.diags = append(c.diags, Diagnostic{Path: pt.path, Line: pt.line,
				Message: fmt.Sprintf("properties describe model %q, which does not exist", name),
				Hint:    strings.TrimSpace(didYouMean(name, sortedKeys(names)) + " or remove the entry")})
		}
	}
	c.refs = map[string]*renderState{}
	var incremental []renderJob
	for _, res := range c.renderParallel(jobs) {
		n := res.job.node
		c.diags = append(c.diags, res.problems...)
		if res.st == nil {
			continue
		}
		n.Config = c.resolveConfig(KindModel, n.Path, n.Name, props.models[n.Name], res.st.config)
		if !n.Config.Enabled {
			c.disabled = append(c.disabled, n.Name)
			continue
		}
		c.describe(n, props.models[n.Name])
		n.rendered = res.out
		n.preHooks = c.renderHooks(n, n.Config.PreHook, res.st)
		n.postHooks = c.renderHooks(n, n.Config.PostHook, res.st)
		c.refs[n.UniqueID] = res.st
		c.nodes[n.UniqueID] = n
		if n.Config.Materialized == "incremental" {
			incremental = append(incremental, renderJob{node: n, src: n.RawSQL, incr: true, tpl: res.tpl})
		}
	}
	for _, res := range c.renderParallel(incremental) {
		c.diags = append(c.diags, res.problems...)
		res.job.node.renderedIncremental = res.out
	}
}

// renderHooks renders hook templates such as "analyze {{ this }}" now, so
// their references resolve at build time like the model's own; what they
// ref counts as the model's dependencies.
func (c *compiler) renderHooks(n *Node, hooks []string, st *renderState) []string {
	var out []string
	for _, h := range hooks {
		tpl, d := c.r.parse(n.Path, h)
		var sql string
		var hst *renderState
		var err error
		if d == nil {
			sql, hst, err = c.r.render(tpl, relationValue{kind: "this", name: n.Name}, false)
		}
		if d != nil || err != nil {
			line, col := locateCall(n.RawSQL, "config", "")
			msg := ""
			if d != nil {
				msg = d.Message
			} else {
				msg = cleanGonja(err.Error())
			}
			c.diags = append(c.diags, Diagnostic{Path: n.Path, Line: line, Col: col, Message: "hook " + strconvQuote(h) + ": " + msg})
			continue
		}
		st.refs = append(st.refs, hst.refs...)
		st.sources = append(st.sources, hst.sources...)
		for k := range hst.macros {
			st.macros[k] = true
		}
		out = append(out, sql)
	}
	return out
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

func (c *compiler) describe(n *Node, pt *patch) {
	if pt == nil {
		return
	}
	n.Description = pt.description
	n.Columns = pt.columns
}

// resolveConfig layers the dbt_project.yml tree, the properties YAML and
// the file's own config() call.
func (c *compiler) resolveConfig(kind NodeKind, path, name string, pt *patch, inFile []configEntry) Config {
	cfg := defaultConfig(kind)
	tree, dirs := c.p.modelsTree, c.p.ModelPaths
	switch kind {
	case KindSeed:
		tree, dirs = c.p.seedsTree, c.p.SeedPaths
	case KindTest:
		tree, dirs = c.p.testsTree, c.p.TestPaths
	}
	c.applyTree(&cfg, tree, fqnPath(path, name, dirs))
	if pt != nil {
		for _, e := range pt.config {
			if err := cfg.set(e.key, e.value); err != nil {
				c.diags = append(c.diags, at(pt.path, e.node, "config %s: %v", e.key, err))
			}
		}
	}
	for _, e := range inFile {
		if err := cfg.set(e.key, e.value); err != nil {
			line, col := locateCall(c.sourceOf(path), "config", "")
			c.diags = append(c.diags, Diagnostic{Path: path, Line: line, Col: col, Message: fmt.Sprintf("config %s: %v", e.key, err)})
		}
	}
	return cfg
}

func (c *compiler) sourceOf(path string) string {
	for _, group := range [][]sourceFile{c.p.models, c.p.singular} {
		for _, f := range group {
			if f.path == path {
				return f.content
			}
		}
	}
	return ""
}

// fqnPath is the folder path of a file below its resource folder plus its
// name: models/staging/stg_orders.sql -> [staging stg_orders].
func fqnPath(path, name string, dirs []string) []string {
	for _, d := range dirs {
		if rest, ok := strings.CutPrefix(path, d+"/"); ok || d == "." {
			if d == "." {
				rest = path
			}
			parts := strings.Split(rest, "/")
			return append(parts[:len(parts)-1], name)
		}
	}
	return []string{name}
}

// applyTree walks dbt_project.yml's models:/seeds: tree along the node's
// path: project name, then folders, then the node's name. "+key" entries,
// and known config keys holding plain values, apply to everything below.
func (c *compiler) applyTree(cfg *Config, tree *yaml.Node, fqn []string) {
	if tree == nil {
		return
	}
	level := tree
	path := append([]string{c.p.Name}, fqn...)
	for depth := 0; level != nil && level.Kind == yaml.MappingNode; depth++ {
		var next *yaml.Node
		for _, kv := range pairs(level) {
			key := kv[0].Value
			isConfig := strings.HasPrefix(key, "+") || (kv[1].Kind != yaml.MappingNode && depth > 0) ||
				key == "column_types"
			if depth < len(path) && key == path[depth] && kv[1].Kind == yaml.MappingNode {
				next = kv[1]
				continue
			}
			if !isConfig {
				continue
			}
			v, err := plain(kv[1])
			if err == nil {
				v, err = c.renderConfigValue(v)
			}
			if err == nil {
				err = cfg.set(key, v)
			}
			if err != nil {
				c.diags = append(c.diags, Diagnostic{Path: projectFile, Line: kv[0].Line, Col: kv[0].Column,
					Message: fmt.Sprintf("%s: %v", key, err), Config: true})
			}
		}
		if depth >= len(path) {
			break
		}
		level = next
	}
}

// renderConfigValue renders Jinja in dbt_project.yml values, such as
// +schema: "{{ var('raw_schema') }}".
func (c *compiler) renderConfigValue(v any) (any, error) {
	s, ok := v.(string)
	if !ok || !strings.Contains(s, "{{") {
		return v, nil
	}
	tpl, d := c.r.parse(projectFile, s)
	if d != nil {
		return nil, fmt.Errorf("%s", d.Message)
	}
	out, st, err := c.r.render(tpl, relationValue{kind: "this"}, false)
	if err != nil {
		return nil, fmt.Errorf("%s", cleanGonja(err.Error()))
	}
	if len(st.problems) > 0 {
		return nil, fmt.Errorf("%s (%s)", st.problems[0].message, st.problems[0].hint)
	}
	return strings.TrimSpace(out), nil
}

func (c *compiler) addSeeds(props properties) {
	seen := map[string]string{}
	for _, f := range c.p.seeds {
		name := baseName(f.path)
		if prev, dup := seen[name]; dup {
			c.diags = append(c.diags, Diagnostic{Path: f.path, Line: 1, Message: fmt.Sprintf("duplicate seed name %q", name),
				Hint: prev + " has the same name"})
			continue
		}
		seen[name] = f.path
		id := "model." + c.p.Name + "." + name
		if other, clash := c.nodes[id]; clash {
			c.diags = append(c.diags, Diagnostic{Path: f.path, Line: 1,
				Message: fmt.Sprintf("seed %q has the name of model %s", name, other.Path),
				Hint:    "ref() could not tell them apart: rename one"})
			continue
		}
		n := &Node{UniqueID: "seed." + c.p.Name + "." + name, Kind: KindSeed, Name: name, Path: f.path, Line: 1}
		n.Config = c.resolveConfig(KindSeed, f.path, name, props.seeds[name], nil)
		if !n.Config.Enabled {
			c.disabled = append(c.disabled, name)
			continue
		}
		header, err := seedColumns(f.content)
		if err != nil {
			c.diags = append(c.diags, Diagnostic{Path: f.path, Line: 1, Message: err.Error()})
			continue
		}
		for _, h := range header {
			n.Columns = append(n.Columns, Column{Name: h, DataType: n.Config.ColumnTypes[h]})
		}
		if pt := props.seeds[name]; pt != nil {
			n.Description = pt.description
			for _, pc := range pt.columns {
				for i := range n.Columns {
					if n.Columns[i].Name == pc.Name {
						n.Columns[i].Description = pc.Description
						n.Columns[i].Meta, n.Columns[i].Tags = pc.Meta, pc.Tags
						if pc.DataType != "" && n.Columns[i].DataType == "" {
							n.Columns[i].DataType = pc.DataType
						}
					}
				}
			}
		}
		// A seed's content is what it builds, so it is its "raw code".
		n.RawSQL = f.content
		c.nodes[n.UniqueID] = n
	}
	for name, pt := range props.seeds {
		if _, ok := seen[name]; !ok {
			c.diags = append(c.diags, Diagnostic{Path: pt.path, Line: pt.line,
				Message: fmt.Sprintf("properties describe seed %q, which does not exist", name),
				Hint:    didYouMean(name, sortedKeys(seen))})
		}
	}
}

func (c *compiler) addSources(props properties) {
	for _, s := range props.sources {
		id := "source." + c.p.Name + "." + s.source + "." + s.table
		if prev, dup := c.nodes[id]; dup {
			c.diags = append(c.diags, Diagnostic{Path: s.path, Line: s.line,
				Message: fmt.Sprintf("source table %s.%s is declared twice", s.source, s.table),
				Hint:    fmt.Sprintf("the other declaration is at %s:%d", prev.Path, prev.Line)})
			continue
		}
		schema, err := c.renderConfigValue(s.schema)
		if err != nil {
			c.diags = append(c.diags, Diagnostic{Path: s.path, Line: s.line, Message: "source schema: " + err.Error()})
			continue
		}
		n := &Node{UniqueID: id, Kind: KindSource, Name: s.table, SourceName: s.source, Path: s.path, Line: s.line,
			Description: s.description, Columns: s.columns, Config: Config{Enabled: true},
			Relation: Relation{Schema: fmt.Sprint(schema), Name: s.identifier}}
		for _, e := range s.config {
			if err := n.Config.set(e.key, e.value); err != nil {
				c.diags = append(c.diags, at(s.path, e.node, "%s: %v", e.key, err))
			}
		}
		c.nodes[id] = n
	}
}

// linkSeededSources finds the sources a seed of the project loads: a
// source table at the schema a seed is given (+schema) and at its name.
// Such a source is read wherever the seed is in the target being built -
// in a development target's one schema, in a pull request's environment
// when the pull request changes the seed, in production otherwise - and
// depends on the seed, so that what reads it is rebuilt when the seed
// changes. Without the link, a development build put the seed in the
// target's schema while the source still read the custom one.
func (c *compiler) linkSeededSources() {
	seeds := map[Relation]string{}
	for id, n := range c.nodes {
		if n.Kind == KindSeed && n.Config.Schema != "" {
			name := n.Name
			if n.Config.Alias != "" {
				name = n.Config.Alias
			}
			seeds[Relation{Schema: n.Config.Schema, Name: name}] = id
		}
	}
	for _, n := range c.nodes {
		if n.Kind != KindSource {
			continue
		}
		if seed, ok := seeds[n.Relation]; ok {
			n.LoadedBy = seed
			n.DependsOn.Nodes = []string{seed}
		}
	}
}

func checksum(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func configChecksum(cfg Config) string {
	b, _ := json.Marshal(cfg) // maps marshal in key order: stable
	return string(b)
}

// resolveDependencies turns the names each template used into node ids,
// reporting unknown and disabled references at the call.
func (c *compiler) resolveDependencies() {
	modelNames := map[string]string{}
	var candidates []string
	var sourceKeys []string
	for id, n := range c.nodes {
		switch n.Kind {
		case KindModel, KindSeed:
			modelNames[n.Name] = id
			candidates = append(candidates, n.Name)
		case KindSource:
			sourceKeys = append(sourceKeys, n.SourceName+"."+n.Name)
		}
	}
	sort.Strings(candidates)
	sort.Strings(sourceKeys)
	for id, st := range c.refs {
		n := c.nodes[id]
		src := n.RawSQL
		deps := map[string]bool{}
		for _, name := range st.refs {
			if dep, ok := modelNames[name]; ok {
				deps[dep] = true
				continue
			}
			line, col := locateCall(src, "ref", name)
			d := Diagnostic{Path: n.Path, Line: line, Col: col}
			if contains(c.disabled, name) {
				d.Message = fmt.Sprintf("ref to disabled model %q", name)
				d.Hint = "enable it (enabled: true) or remove the ref"
			} else {
				d.Message = fmt.Sprintf("ref to unknown model %q", name)
				d.Hint = didYouMean(name, candidates)
			}
			c.diags = append(c.diags, d)
		}
		for _, key := range st.sources {
			id := "source." + c.p.Name + "." + key
			if _, ok := c.nodes[id]; ok {
				deps[id] = true
				continue
			}
			sourceName, table, _ := strings.Cut(key, ".")
			line, col := locateCall(src, "source", sourceName)
			c.diags = append(c.diags, Diagnostic{Path: n.Path, Line: line, Col: col,
				Message: fmt.Sprintf("source %q is not declared", key),
				Hint:    strings.TrimSpace(didYouMean(key, sourceKeys) + " declare table " + table + " under sources: in a properties .yml file")})
		}
		n.DependsOn.Nodes = sortedKeys(deps)
		n.DependsOn.Macros = sortedKeys(st.macros)
		n.DependsOn.Vars = sortedKeys(st.vars)
	}
	for _, n := range c.nodes {
		n.Checksum = checksum(n.RawSQL, configChecksum(n.Config))
	}
}

var callREs sync.Map // fn+arg -> *regexp.Regexp

// locateCall finds the line and column of fn('arg' in a template source.
// Template functions do not learn their call position from gonja, and a
// textual search finds the call the user wrote in nearly every real case.
func locateCall(src, fn, arg string) (int, int) {
	key := fn + "\x00" + arg
	v, ok := callREs.Load(key)
	if !ok {
		pattern := `\b` + regexp.QuoteMeta(fn) + `\s*\(`
		if arg != "" {
			pattern += `\s*['"]` + regexp.QuoteMeta(arg) + `['"]`
		}
		v, _ = callREs.LoadOrStore(key, regexp.MustCompile(pattern))
	}
	loc := v.(*regexp.Regexp).FindStringIndex(src)
	if loc == nil {
		return 1, 0
	}
	return position(src, loc[0])
}

// position converts a byte offset into a 1-based line and column.
func position(src string, offset int) (int, int) {
	before := src[:offset]
	line := strings.Count(before, "\n") + 1
	col := offset - strings.LastIndex(before, "\n")
	return line, col
}

// renderDiagnostic explains a gonja runtime error: an unknown macro with
// the closest names, anything else with its innermost cause and line.
func renderDiagnostic(path, src string, err error, macros []string) Diagnostic {
	msg := err.Error()
	d := Diagnostic{Path: path, Message: "template error: " + cleanGonja(msg)}
	if m := lineRE.FindAllStringSubmatch(msg, -1); len(m) > 0 {
		fmt.Sscanf(m[len(m)-1][1], "%d", &d.Line)
	}
	if strings.Contains(msg, "is not callable") {
		if m := notCallableRE.FindStringSubmatch(msg); m != nil {
			name := m[1]
			d.Message = fmt.Sprintf("unknown macro or function %q", name)
			d.Hint = didYouMean(name, append(append([]string(nil), macros...), reserved...))
			d.Line, d.Col = locateCall(src, name, "")
		}
	}
	return d
}
