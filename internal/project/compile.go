package project

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/jinja"
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
	// Limits bound every template's render (call depth, nesting, output
	// and memory); zero fields take the engine's defaults. The compile's
	// context bounds its time: a render past the deadline fails its node.
	Limits jinja.Limits
	// Warehouse answers the queries templates make while compiling
	// (run_query, statement, adapter.get_columns_in_relation, ...). Without
	// one, a model that queries is skipped as needing a warehouse.
	Warehouse Warehouse
	// QueryTarget, when set, is where compile-time queries read the
	// project's own relations: a pull request's environment does not hold
	// its models yet, so the pipeline points them at production.
	QueryTarget *Target
	// RunStartedAt and InvocationID are dbt's run_started_at and
	// invocation_id; zero values take the time now and a new id.
	RunStartedAt time.Time
	InvocationID string
}

// Compile renders every enabled model, seed, source, snapshot and test of
// the project and its packages into a Manifest. It reports every problem
// at once. The Manifest holds what compiled; a node that did not, and
// every node downstream of it, is listed in Manifest.Skipped with the
// reason, and the problems name the node they belong to, so a caller can
// go on with the rest. Warnings (Diagnostic.Warning) never skip anything.
func Compile(ctx context.Context, p *Project, opts Options) (*Manifest, Diagnostics) {
	if opts.RunStartedAt.IsZero() {
		opts.RunStartedAt = time.Now().UTC()
	}
	if opts.InvocationID == "" {
		opts.InvocationID = newInvocationID()
	}
	c := &compiler{ctx: ctx, p: p, opts: opts, nodes: map[string]*Node{}, skipped: map[string]*Skipped{},
		refs: map[string]*renderState{}, templates: map[string]*parsed{}, incrSecond: map[string]bool{}}
	c.vars = c.projectVars()
	c.diags = append(c.diags, p.problems...)
	c.parseMacros()
	c.renderVars()
	for _, pkg := range p.all() {
		props, ds := pkg.readProperties()
		c.diags = append(c.diags, ds...)
		c.props = append(c.props, pkgProps{pkg, props})
	}
	for _, pp := range c.props {
		c.compileModels(pp.pkg, pp.props)
	}
	for _, pp := range c.props {
		c.addSeeds(pp.pkg, pp.props)
		c.addSources(pp.pkg, pp.props)
	}
	for _, pp := range c.props {
		c.addTests(pp.pkg, pp.props)
		c.compileSingularTests(pp.pkg)
	}
	c.renderMacroTests()
	c.compileSnapshots()
	c.resolveDependencies()
	c.linkSeededSources()
	c.blockDownstream()
	c.warnUnusedProperties()
	m := &Manifest{Project: p.Name, Target: opts.Target, Nodes: c.nodes, Macros: c.macroInfo, Vars: c.vars[p.Name],
		Disabled: c.disabled, Skipped: c.skipped}
	c.m = m
	c.breakCycles(m.buildGraph())
	c.assignRelations()
	c.compileSecondPass()
	m.Nodes, m.Skipped = c.nodes, c.skipped
	c.breakCycles(m.buildGraph())
	m.namer = c.relationNamer()
	m.renderAll()
	c.diags = dedupeDiagnostics(c.diags)
	c.diags.Sort()
	return m, c.diags
}

// dedupeDiagnostics drops exact repeats (a cycle found by both graph
// builds, a problem of a template rendered twice).
func dedupeDiagnostics(ds Diagnostics) Diagnostics {
	seen := map[Diagnostic]bool{}
	out := ds[:0]
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

type compiler struct {
	ctx       context.Context
	p         *Project
	opts      Options
	r         *renderer
	m         *Manifest
	vars      map[string]map[string]any
	props     []pkgProps
	nodes     map[string]*Node
	skipped   map[string]*Skipped
	disabled  []string
	macroInfo map[string]MacroInfo
	// where each node's references come from, to resolve them after all
	// configs are known
	refs map[string]*renderState
	// the first render's parsed template of each node, for the second
	templates map[string]*parsed
	// incremental models whose incremental form needs a second render
	incrSecond map[string]bool
	// rendered config values (renderConfigValue)
	configMu    sync.Mutex
	configCache map[string]configResult
	// parsed hook templates by text
	hookTemplates map[string]*parsed
	// macro files' text by path, for macroText
	macroFileText map[string]string
	// generic tests written as macros, rendered once every model is known
	testJobs []pkgJob
	diags    Diagnostics
	// problems of nodes still being compiled (see problem)
	pending      map[string][]Diagnostic
	pendingNodes []*Node
}

type pkgProps struct {
	pkg   *Package
	props properties
}

// projectVars gives each package the vars its templates see, as dbt
// does: the package's own vars, then the root project's global vars and
// those it scopes to the package (vars: {pkg: {x: 1}}), then --vars.
func (c *compiler) projectVars() map[string]map[string]any {
	out := map[string]map[string]any{}
	packageNames := map[string]bool{}
	for _, pkg := range c.p.all() {
		packageNames[pkg.Name] = true
	}
	scoped := func(vars map[string]any, into map[string]any, pkg string) {
		for k, v := range vars {
			if !packageNames[k] {
				into[k] = v
			}
		}
		if m, ok := vars[pkg].(map[string]any); ok {
			for k, v := range m {
				into[k] = v
			}
		}
	}
	for _, pkg := range c.p.all() {
		vars := map[string]any{}
		if pkg != c.p.root {
			scoped(pkg.Vars, vars, pkg.Name)
		}
		scoped(c.p.root.Vars, vars, pkg.Name)
		for k, v := range c.opts.Vars {
			vars[k] = v
		}
		out[pkg.Name] = vars
	}
	return out
}

// MacroInfo records a macro so a plan can tell when it changed.
type MacroInfo struct {
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Checksum string `json:"checksum"`
}

// macroKey is how Manifest.Macros and Depends.Macros name a macro: by its
// name in the root project, as package.name in a package.
func (c *compiler) macroKey(pkg, name string) string {
	if pkg == c.p.Name {
		return name
	}
	return pkg + "." + name
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
		if strings.Contains(l, "endmacro") || strings.Contains(l, "endtest") {
			break
		}
	}
	return b.String()
}

// renderJob is one template to render on a worker.
type renderJob struct {
	node    *Node
	src     string
	incr    bool
	execute bool    // the second render: every node configured
	tpl     *parsed // already parsed, for a second render
}

type renderResult struct {
	job      renderJob
	tpl      *parsed
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
	r := c.r
	defer func() {
		// The template engine runs on user input; a panic there must
		// become a diagnostic, not a crash.
		if v := recover(); v != nil {
			res.problems = append(res.problems, Diagnostic{Path: j.node.Path, Line: 1,
				Message: fmt.Sprintf("the template engine failed on this file: %v", v)})
		}
	}()
	tpl := j.tpl
	if tpl == nil {
		var d *Diagnostic
		if tpl, d = r.parse(j.node.Path, dbtSource(j.src)); d != nil {
			res.problems = append(res.problems, *d)
			return res
		}
	}
	res.tpl = tpl
	out, st, err := r.renderWith(tpl, j.node, j.incr, j.execute)
	if err != nil && !j.execute && j.node.testCall == nil && isUndefinedError(err) {
		// dbt parses with an undefined that lets anything through
		// (first_.DATE[0] of a query result that parsing leaves empty);
		// so does the first render, and the compile render decides.
		if cout, cst, cerr := r.renderCapture(j.node, dbtSource(j.src), j.incr); cerr == nil {
			cst.second = true
			out, st, err = cout, cst, nil
		}
	}
	res.out, res.st = out, st
	if err != nil && !st.needsWarehouse {
		res.problems = append(res.problems, r.diagnose(j.node.Path, j.src, err))
	}
	for _, p := range st.problems {
		line, col := locateCall(j.src, p.fn, p.arg)
		res.problems = append(res.problems, Diagnostic{Path: j.node.Path, Line: line, Col: col,
			Message: p.message, Hint: p.hint})
	}
	return res
}

// problem records problems of node n, which is failed once every problem
// of it is known (failPending), so that all of them are reported at once.
func (c *compiler) problem(n *Node, ds ...Diagnostic) {
	if c.pending == nil {
		c.pending = map[string][]Diagnostic{}
	}
	c.pending[n.UniqueID] = append(c.pending[n.UniqueID], ds...)
	if c.nodes[n.UniqueID] == nil {
		c.pendingNodes = append(c.pendingNodes, n)
	}
}

func (c *compiler) failPending() {
	for _, n := range c.pendingNodes {
		if c.nodes[n.UniqueID] == nil {
			c.nodes[n.UniqueID] = n
		}
	}
	for _, id := range sortedKeys(c.pending) {
		if n := c.nodes[id]; n != nil {
			c.fail(n, c.pending[id]...)
		}
	}
	c.pending, c.pendingNodes = nil, nil
}

// fail records that node n did not compile, with its problems.
func (c *compiler) fail(n *Node, ds ...Diagnostic) {
	for i := range ds {
		ds[i].Node = n.UniqueID
	}
	c.diags = append(c.diags, ds...)
	if _, done := c.skipped[n.UniqueID]; done {
		return
	}
	reason := "does not compile"
	if len(ds) > 0 {
		reason = ds[0].Message
	}
	c.skipped[n.UniqueID] = skippedFrom(n, CauseError, reason)
	delete(c.nodes, n.UniqueID)
}

func (c *compiler) compileModels(pkg *Package, props properties) {
	names := map[string]string{}
	var jobs []renderJob
	for _, f := range pkg.models {
		name := baseName(f.path)
		n := &Node{UniqueID: "model." + pkg.Name + "." + name, Kind: KindModel, Name: name, Package: pkg.Name,
			Path: f.path, RawSQL: f.content, Line: 1}
		// Two files may share a name when all but one are disabled (a
		// package's per-adapter variants): duplicates are found once
		// configs are known.
		names[name] = f.path
		jobs = append(jobs, renderJob{node: n, src: f.content})
	}
	for _, f := range pkg.python {
		name := baseName(f.path)
		n := &Node{UniqueID: "model." + pkg.Name + "." + name, Kind: KindModel, Name: name, Package: pkg.Name,
			Path: f.path, RawSQL: f.content, Line: 1}
		names[name] = f.path
		c.skipped[n.UniqueID] = skippedFrom(n, CauseUnsupported, "a Python model: dataops compiles and builds SQL models only")
	}
	var incremental []renderJob
	enabledModels := map[string]string{}
	for _, res := range c.renderParallel(jobs) {
		n := res.job.node
		pt := props.models[n.Name]
		if res.st == nil {
			c.describe(n, pt)
			c.fail(n, res.problems...)
			continue
		}
		// A template with problems is still configured and resolved, so
		// that every problem of the file is reported at once.
		n.Config, _ = c.resolveConfig(pkg, n, pt, res.st.config)
		if !n.Config.Enabled && c.pending[n.UniqueID] == nil && len(res.problems) == 0 {
			c.disabled = append(c.disabled, n.Name)
			continue
		}
		if prev := enabledModels[n.UniqueID]; prev != "" {
			c.diags = append(c.diags, Diagnostic{Path: n.Path, Line: 1,
				Message: fmt.Sprintf("duplicate model name %q", n.Name),
				Hint:    fmt.Sprintf("%s has the same name; model names must be unique in a project, or all but one disabled", prev)})
			continue
		}
		enabledModels[n.UniqueID] = n.Path
		c.describe(n, pt)
		n.rendered = res.out
		c.nodes[n.UniqueID] = n
		c.refs[n.UniqueID] = res.st
		c.templates[n.UniqueID] = res.tpl
		c.warnFrom(n, res.st)
		if len(res.problems) > 0 {
			c.problem(n, res.problems...)
			continue
		}
		if !c.renderHooks(n, res.st) {
			continue
		}
		if n.Config.Materialized == "incremental" {
			incremental = append(incremental, renderJob{node: n, src: n.RawSQL, incr: true, tpl: res.tpl})
		}
	}
	for _, res := range c.renderParallel(incremental) {
		if len(res.problems) > 0 {
			c.fail(res.job.node, res.problems...)
			continue
		}
		res.job.node.renderedIncremental = res.out
		if res.st != nil && res.st.second {
			c.incrSecond[res.job.node.UniqueID] = true
		}
	}
}

// renderHooks renders hook templates such as "analyze {{ this }}" now, so
// their references resolve at build time like the model's own; what they
// ref counts as the model's dependencies.
func (c *compiler) renderHooks(n *Node, st *renderState) bool {
	r := c.r
	render := func(hooks []string) ([]string, bool) {
		var out []string
		for _, h := range hooks {
			tpl, d := c.hookTemplates[h], (*Diagnostic)(nil)
			if tpl == nil {
				if tpl, d = r.parse(n.Path, h); d == nil {
					if c.hookTemplates == nil {
						c.hookTemplates = map[string]*parsed{}
					}
					c.hookTemplates[h] = tpl
				}
			}
			var sql string
			var hst *renderState
			var err error
			if d == nil {
				sql, hst, err = r.render(tpl, n, false)
			}
			if d != nil || err != nil || len(hst.problems) > 0 {
				line, col := locateCall(n.RawSQL, "config", "")
				msg := ""
				switch {
				case d != nil:
					msg = d.Message
				case err != nil:
					msg = r.diagnose(n.Path, h, err).Message
				default:
					msg = hst.problems[0].message
				}
				c.fail(n, Diagnostic{Path: n.Path, Line: line, Col: col, Message: "hook " + strconvQuote(h) + ": " + msg})
				return nil, false
			}
			st.refs = append(st.refs, hst.refs...)
			st.sources = append(st.sources, hst.sources...)
			out = append(out, sql)
		}
		return out, true
	}
	var ok bool
	if n.preHooks, ok = render(n.Config.PreHook); !ok {
		return false
	}
	n.postHooks, ok = render(n.Config.PostHook)
	return ok
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

func (c *compiler) describe(n *Node, pt *patch) {
	if pt == nil {
		return
	}
	pt.used = true
	n.Description = pt.description
	n.Columns = pt.columns
}

// resolveConfig layers the dbt_project.yml trees (the package's own, then
// the root project's), the properties YAML and the file's own config()
// call. A bad value fails the node.
func (c *compiler) resolveConfig(pkg *Package, n *Node, pt *patch, inFile []configEntry) (Config, bool) {
	cfg := defaultConfig(n.Kind)
	ok := true
	tree := func(p *Package) (*yaml.Node, []string) {
		switch n.Kind {
		case KindSeed:
			return p.seedsTree, pkg.SeedPaths
		case KindTest:
			return p.testsTree, pkg.TestPaths
		case KindSnapshot:
			return p.snapshotsTree, pkg.SnapshotPaths
		}
		return p.modelsTree, pkg.ModelPaths
	}
	fqn := fqnPath(strings.TrimPrefix(strings.TrimPrefix(n.Path, pkg.Dir), "/"), n.Name, func() []string { _, d := tree(pkg); return d }())
	n.fqn = fqn
	owners := []*Package{pkg}
	if pkg != c.p.root {
		owners = append(owners, c.p.root)
	}
	for _, owner := range owners {
		t, _ := tree(owner)
		if ds := c.applyTree(&cfg, t, owner, pkg.Name, fqn); len(ds) > 0 {
			c.problem(n, ds...)
			ok = false
		}
	}
	if pt != nil {
		for _, e := range pt.config {
			v, err := e.value, error(nil)
			if !isHookKey(e.key) {
				v, err = c.renderConfigValue(pkg.Name, e.value)
			}
			if err == nil {
				err = cfg.set(e.key, v)
			}
			if err != nil {
				c.problem(n, at(pt.path, e.node, "config %s: %v", e.key, err))
				ok = false
			}
		}
	}
	for _, e := range inFile {
		if err := cfg.set(e.key, e.value); err != nil {
			line, col := locateCall(n.RawSQL, "config", "")
			c.problem(n, Diagnostic{Path: n.Path, Line: line, Col: col, Message: fmt.Sprintf("config %s: %v", e.key, err)})
			ok = false
		}
	}
	return cfg, ok
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

// applyTree walks a dbt_project.yml models:/seeds: tree (of package owner)
// along a node's path: package name, then folders, then the node's name.
// "+key" entries, and known config keys holding plain values, apply to
// everything below. Problems are returned for the node they break.
func (c *compiler) applyTree(cfg *Config, tree *yaml.Node, owner *Package, pkgName string, fqn []string) Diagnostics {
	if tree == nil {
		return nil
	}
	var ds Diagnostics
	file := projectFile
	if owner.Dir != "" {
		file = owner.Dir + "/" + projectFile
	}
	level := tree
	path := append([]string{pkgName}, fqn...)
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
			// Top-level settings of a package's own tree apply to its own
			// nodes only; the root project's apply to every package.
			if !isConfig || (depth == 0 && owner.Name != pkgName && owner != c.p.root) {
				continue
			}
			v, err := plain(kv[1])
			if err == nil && !isHookKey(key) {
				v, err = c.renderConfigValue(owner.Name, v)
			}
			if err == nil {
				err = cfg.set(key, v)
			}
			if err != nil {
				ds = append(ds, Diagnostic{Path: file, Line: kv[0].Line, Col: kv[0].Column,
					Message: fmt.Sprintf("%s: %v", key, err)})
			}
		}
		if depth >= len(path) {
			break
		}
		level = next
	}
	return ds
}

// renderConfigValue renders Jinja in dbt_project.yml values, such as
// +schema: "{{ var('raw_schema') }}".
func (c *compiler) renderConfigValue(pkg string, v any) (any, error) {
	s, ok := v.(string)
	if !ok || (!strings.Contains(s, "{{") && !strings.Contains(s, "{%")) {
		return v, nil
	}
	// The same value is written once in dbt_project.yml and read for
	// every node below it: render it once.
	key := pkg + "\x00" + s
	c.configMu.Lock()
	cached, hit := c.configCache[key]
	c.configMu.Unlock()
	if hit {
		return cached.v, cached.err
	}
	out, err := c.renderConfigValueOnce(pkg, s)
	c.configMu.Lock()
	if c.configCache == nil {
		c.configCache = map[string]configResult{}
	}
	c.configCache[key] = configResult{out, err}
	c.configMu.Unlock()
	return out, err
}

type configResult struct {
	v   any
	err error
}

func (c *compiler) renderConfigValueOnce(pkg, s string) (any, error) {
	r := c.r
	tpl, d := r.parse(projectFile, s)
	if d != nil {
		return nil, fmt.Errorf("%s", d.Message)
	}
	out, st, err := r.render(tpl, &Node{Kind: KindModel, Package: pkg}, false)
	if err != nil {
		return nil, fmt.Errorf("%s", r.diagnose(projectFile, s, err).Message)
	}
	if len(st.problems) > 0 {
		return nil, fmt.Errorf("%s (%s)", st.problems[0].message, st.problems[0].hint)
	}
	return nativeValue(out), nil
}

// newInvocationID makes a random UUID (version 4), as dbt's invocation_id.
func newInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// isHookKey tells the config keys whose templates are rendered when the
// node runs, not when its configuration is read.
func isHookKey(key string) bool {
	key = strings.ReplaceAll(strings.TrimPrefix(key, "+"), "-", "_")
	return key == "pre_hook" || key == "post_hook"
}

// nativeValue reads a rendered config value back as the Python literal it
// prints, as dbt's native rendering does: "False" is false, "3" is 3,
// "['a', 'b']" a list; anything else stays a string.
func nativeValue(out string) any {
	s := strings.TrimSpace(out)
	switch s {
	case "True":
		return true
	case "False":
		return false
	case "None":
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return int(n)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, ".eE") {
		return f
	}
	if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
		var v any
		if yaml.Unmarshal([]byte(pythonLiteralsToYAML(s)), &v) == nil {
			return normalize(v)
		}
	}
	return s
}

// pythonLiteralsToYAML rewrites Python's True/False/None outside quotes as
// YAML's, so a printed list or dict reads back with its values' types.
func pythonLiteralsToYAML(s string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if quote != 0 {
			if ch == quote {
				quote = 0
			}
			b.WriteByte(ch)
			continue
		}
		if ch == '\'' || ch == '"' {
			quote = ch
			b.WriteByte(ch)
			continue
		}
		replaced := false
		for word, with := range map[string]string{"True": "true", "False": "false", "None": "null"} {
			if strings.HasPrefix(s[i:], word) && (i == 0 || !isWordByte(s[i-1])) && (i+len(word) == len(s) || !isWordByte(s[i+len(word)])) {
				b.WriteString(with)
				i += len(word) - 1
				replaced = true
				break
			}
		}
		if !replaced {
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (c *compiler) addSeeds(pkg *Package, props properties) {
	seen := map[string]string{}
	for _, f := range pkg.seeds {
		name := baseName(f.path)
		n := &Node{UniqueID: "seed." + pkg.Name + "." + name, Kind: KindSeed, Name: name, Package: pkg.Name, Path: f.path, Line: 1,
			RawSQL: f.content} // a seed's content is what it builds, so it is its "raw code"
		if prev, dup := seen[name]; dup {
			c.diags = append(c.diags, Diagnostic{Path: f.path, Line: 1, Message: fmt.Sprintf("duplicate seed name %q", name),
				Hint: prev + " has the same name"})
			continue
		}
		seen[name] = f.path
		if other, clash := c.nodes["model."+pkg.Name+"."+name]; clash {
			c.fail(n, Diagnostic{Path: f.path, Line: 1,
				Message: fmt.Sprintf("seed %q has the name of model %s", name, other.Path),
				Hint:    "ref() could not tell them apart: rename one"})
			continue
		}
		var ok bool
		if n.Config, ok = c.resolveConfig(pkg, n, props.seeds[name], nil); !ok {
			continue
		}
		if !n.Config.Enabled {
			c.disabled = append(c.disabled, name)
			continue
		}
		header, err := seedColumns(f.content)
		if err != nil {
			c.fail(n, Diagnostic{Path: f.path, Line: 1, Message: err.Error()})
			continue
		}
		for _, h := range header {
			n.Columns = append(n.Columns, Column{Name: h, DataType: n.Config.ColumnTypes[h]})
		}
		if pt := props.seeds[name]; pt != nil {
			pt.used = true
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
		c.nodes[n.UniqueID] = n
	}
}

func (c *compiler) addSources(pkg *Package, props properties) {
	for _, s := range props.sources {
		id := "source." + pkg.Name + "." + s.source + "." + s.table
		n := &Node{UniqueID: id, Kind: KindSource, Name: s.table, SourceName: s.source, Package: pkg.Name, Path: s.path, Line: s.line,
			Description: s.description, Columns: s.columns, Config: Config{Enabled: s.enabled}}
		if prev, dup := c.nodes[id]; dup {
			c.diags = append(c.diags, Diagnostic{Path: s.path, Line: s.line,
				Message: fmt.Sprintf("source table %s.%s is declared twice", s.source, s.table),
				Hint:    fmt.Sprintf("the other declaration is at %s:%d", prev.Path, prev.Line)})
			continue
		}
		if !s.enabled {
			continue
		}
		schema, err := c.renderConfigValue(pkg.Name, s.schema)
		var identifier any = s.identifier
		if err == nil {
			identifier, err = c.renderConfigValue(pkg.Name, s.identifier)
		}
		var database any = s.database
		if err == nil {
			database, err = c.renderConfigValue(pkg.Name, s.database)
		}
		if err != nil {
			c.fail(n, Diagnostic{Path: s.path, Line: s.line, Message: "source: " + err.Error()})
			continue
		}
		n.Relation = Relation{Database: fmt.Sprint(database), Schema: fmt.Sprint(schema), Name: fmt.Sprint(identifier)}
		for _, e := range s.config {
			if err := n.Config.set(e.key, e.value); err != nil {
				c.diags = append(c.diags, at(s.path, e.node, "%s: %v", e.key, err))
			}
		}
		c.nodes[id] = n
	}
}

// warnUnusedProperties warns of properties that describe a model or seed
// that does not exist, as dbt does.
func (c *compiler) warnUnusedProperties() {
	for _, pp := range c.props {
		for _, kind := range []NodeKind{KindModel, KindSeed} {
			patches := pp.props.models
			if kind == KindSeed {
				patches = pp.props.seeds
			}
			var names []string
			for _, n := range c.nodes {
				if n.Kind == kind && n.Package == pp.pkg.Name {
					names = append(names, n.Name)
				}
			}
			sort.Strings(names)
			for _, name := range sortedKeys(patches) {
				pt := patches[name]
				id := string(kind) + "." + pp.pkg.Name + "." + name
				if pt.used || c.skipped[id] != nil || contains(c.disabled, name) {
					continue
				}
				c.diags = append(c.diags, Diagnostic{Path: pt.path, Line: pt.line, Warning: true,
					Message: fmt.Sprintf("properties describe %s %q, which does not exist", kind, name),
					Hint:    missingHint(didYouMean(name, names))})
			}
		}
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
		if seed, ok := seeds[Relation{Schema: n.Relation.Schema, Name: n.Relation.Name}]; ok {
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

var callREs sync.Map // fn+arg -> *regexp.Regexp

// locateCall finds the line and column of fn('arg' in a template source.
// Template functions do not learn their call position from the engine, and
// a textual search finds the call the user wrote in nearly every real case.
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

// renderVars renders the Jinja in vars' values (insert_batch_size: "{{ 10000
// if target.type == 'bigquery' else 100000 }}"), as dbt renders
// dbt_project.yml, each in its own package.
func (c *compiler) renderVars() {
	var render func(pkg string, v any) any
	render = func(pkg string, v any) any {
		switch x := v.(type) {
		case string:
			if out, err := c.renderConfigValue(pkg, x); err == nil {
				return out
			}
			return x
		case []any:
			out := make([]any, len(x))
			for i, it := range x {
				out[i] = render(pkg, it)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, it := range x {
				out[k] = render(pkg, it)
			}
			return out
		}
		return v
	}
	for _, pkg := range sortedKeys(c.vars) {
		for k, v := range c.vars[pkg] {
			c.vars[pkg][k] = render(pkg, v)
		}
	}
}

// dbtSource is a file's template as dbt reads it: without leading and
// trailing whitespace. The leading whitespace becomes a comment spanning
// the same lines, so positions in the file stay where they are.
func dbtSource(src string) string {
	body := strings.TrimSpace(src)
	if body == "" {
		return ""
	}
	lead := src[:strings.Index(src, body)]
	if lead == "" {
		return body
	}
	return "{#" + lead + "#}" + body
}

func isUndefinedError(err error) bool {
	var je *jinja.Error
	return errors.As(err, &je) && je.Kind == jinja.KindUndefined
}

// breakCycles reports each dependency cycle on its first node and skips
// every node on it (and downstream): none of them can be built.
func (c *compiler) breakCycles(ds Diagnostics) {
	if len(c.m.cycles) == 0 {
		c.diags = append(c.diags, ds...)
		return
	}
	for i, cycle := range c.m.cycles {
		first := c.nodes[cycle[0]]
		if first == nil || i >= len(ds) {
			continue
		}
		c.fail(first, ds[i])
		for _, id := range cycle[1:] {
			if n := c.nodes[id]; n != nil {
				c.block(n, []string{first.UniqueID})
			}
		}
	}
	c.blockDownstream()
	c.m.Nodes, c.m.Skipped = c.nodes, c.skipped
	c.m.buildGraph()
}

// missingHint says what to do about properties of a node that does not
// exist: the name it may have meant, or removing the entry.
func missingHint(didYouMean string) string {
	if didYouMean == "" {
		return "remove the entry, or fix its name"
	}
	return didYouMean + " Otherwise remove the entry"
}
