package project

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// Relations are rendered as placeholders and resolved after every model's
// config is known: a ref's schema, name and whether it is inlined as a CTE
// all depend on the referenced model's own config() call, and deferral to
// production is decided per run. Private-use runes cannot occur in SQL a
// user wrote.
const (
	phOpen  = "\ue000"
	phClose = "\ue001"
)

// parsed is a template ready to render.
type parsed = jinja.Template

// renderState collects what one render of a template uses and finds. It
// travels in the render's context, where the dbt functions find it.
type renderState struct {
	node        *Node
	refs        []string
	sources     []string
	vars        map[string]bool
	config      []configEntry
	problems    []renderProblem
	warnings    []string
	incremental bool
	// execute is dbt's execute: false while reading a template's config
	// and references (dbt's parse), true when compiling it.
	execute bool
	// second records that the first render read something only a compile
	// knows (execute, config.get, a relation's schema, graph, a query), so
	// the template is rendered again once every node is configured.
	second bool
	// needsWarehouse records that a compile render ran a query without a
	// warehouse to run it on.
	needsWarehouse bool
	statements     map[string]*jinja.Dict
	adapter        string // the target's type
	database       string // the target's database
}

// renderProblem is a problem found inside a dbt function; the call that
// caused it is located in the source afterwards.
type renderProblem struct {
	fn, arg string // the function and its first argument, to find the call
	message string
	hint    string
}

type stateKey struct{}

// stateOf finds the render's state; functions called outside a compile's
// render (never, in practice) get a throwaway one.
func stateOf(c *jinja.Call) *renderState {
	if st, ok := c.Context().Value(stateKey{}).(*renderState); ok {
		return st
	}
	return &renderState{vars: map[string]bool{}}
}

// errNeedsWarehouse stops a render that queries the warehouse when the
// compile has none.
var errNeedsWarehouse = errors.New("needs a warehouse to compile: it queries the warehouse while rendering (run_query, statement or adapter calls)")

// macroDef is a macro of the project, a package or dbt's own namespace.
type macroDef struct {
	macro *jinja.Macro
	pkg   string
	name  string
	key   string // MacroInfo key
	path  string
	line  int
}

// renderer is what every template of one compile shares: the engine, the
// dbt functions, and for each package the names its templates see.
type renderer struct {
	c   *compiler
	env *jinja.Environment
	// scopes holds, per package, the variables a render of one of its
	// templates starts with: dbt's macros by bare name, then the package
	// namespaces, then the root project's macros, then the package's own.
	scopes map[string]map[string]jinja.Value
	// macros by package (dbt's own under "dbt"), then name
	macros   map[string]map[string]*macroDef
	prefixes []string // adapter prefixes dispatch tries, most specific first

	graphOnce sync.Once
	graph     jinja.Value

	// capture is the environment of dbt's parse: undefined values let
	// anything through (made on first use)
	captureOnce sync.Once
	capture     *jinja.Environment

	// deps memoizes, per macro, the macros its text calls
	deps map[*macroDef][]*macroDef
}

// dbtNamespace is the package name of dbt's own macros.
const dbtNamespace = "dbt"

func newRenderer(c *compiler) *renderer {
	r := &renderer{c: c, env: jinja.New(), scopes: map[string]map[string]jinja.Value{},
		macros: map[string]map[string]*macroDef{}}
	r.env.Limits = c.opts.Limits
	r.env.Tags = dbtTags()
	if t := c.opts.Target.Type; t != "" && t != "default" {
		r.prefixes = append(r.prefixes, t)
	}
	r.prefixes = append(r.prefixes, "default")
	r.installGlobals()
	return r
}

// renderCapture renders a template's first pass as dbt parses, with an
// undefined that lets attribute, item and call through.
func (r *renderer) renderCapture(n *Node, source string, incremental bool) (string, *renderState, error) {
	r.captureOnce.Do(func() {
		env := jinja.New()
		env.Globals, env.Filters, env.Tests, env.Tags = r.env.Globals, r.env.Filters, r.env.Tests, r.env.Tags
		env.Limits = r.env.Limits
		env.Undefined = jinja.UndefinedCapture
		r.capture = env
	})
	tpl, err := r.capture.Parse(n.Path, source)
	if err != nil {
		return "", nil, err
	}
	st := &renderState{node: n, vars: map[string]bool{}, incremental: incremental,
		adapter: r.c.opts.Target.Type, database: r.c.opts.Target.Database}
	ctx := context.WithValue(r.c.ctx, stateKey{}, st)
	out, err := tpl.Render(ctx, r.varsFor(n, st))
	return out, st, err
}

// parse turns a template into the engine's tree; a syntax error keeps its
// position.
func (r *renderer) parse(path, source string) (*parsed, *Diagnostic) {
	tpl, err := r.env.Parse(path, source)
	if err != nil {
		d := r.diagnose(path, source, err)
		return nil, &d
	}
	return tpl, nil
}

// render renders a parsed template for node n: the first time to read its
// config and references (execute false, as dbt parses), the second time
// with execute true once every node is configured.
func (r *renderer) render(tpl *parsed, n *Node, incremental bool) (string, *renderState, error) {
	return r.renderWith(tpl, n, incremental, false)
}

func (r *renderer) renderWith(tpl *parsed, n *Node, incremental, execute bool) (string, *renderState, error) {
	st := &renderState{node: n, vars: map[string]bool{}, incremental: incremental, execute: execute,
		adapter: r.c.opts.Target.Type, database: r.c.opts.Target.Database}
	ctx := context.WithValue(r.c.ctx, stateKey{}, st)
	vars := r.varsFor(n, st)
	if n.testCall != nil {
		kwargs, err := r.testKwargs(ctx, n, st, vars)
		if err != nil {
			return "", st, err
		}
		vars["_dbt_generic_test_kwargs"] = kwargs
	}
	out, err := tpl.Render(ctx, vars)
	if errors.Is(err, errNeedsWarehouse) {
		st.needsWarehouse = true
	}
	return out, st, err
}

// varsFor is what one render sees besides the environment's globals.
func (r *renderer) varsFor(n *Node, st *renderState) map[string]jinja.Value {
	scope := r.scopes[n.Package]
	if scope == nil {
		scope = r.scopes[r.c.p.Name]
	}
	vars := make(map[string]jinja.Value, len(scope)+8)
	for k, v := range scope {
		vars[k] = v
	}
	vars["this"] = r.thisRelation(n, st)
	vars["model"] = r.modelValue(n, st)
	if st.execute {
		vars["execute"] = true
	} else {
		vars["execute"] = executeFlag{st}
	}
	if st.execute {
		vars["graph"] = r.graphValue()
	} else {
		vars["graph"] = parseGraph{st}
	}
	return vars
}

// executeFlag is dbt's execute; reading it while parsing asks for a
// second render.
type executeFlag struct{ st *renderState }

func (e executeFlag) Attr(string) (jinja.Value, bool) { return nil, false }
func (e executeFlag) Truth() bool {
	if !e.st.execute {
		e.st.second = true
	}
	return e.st.execute
}
func (e executeFlag) String() string {
	if e.Truth() {
		return "True"
	}
	return "False"
}

// parseGraph is the graph while parsing: empty, and a reason to render
// again.
type parseGraph struct{ st *renderState }

func (g parseGraph) Attr(name string) (jinja.Value, bool) {
	g.st.second = true
	return jinja.NewDict(), true
}
func (g parseGraph) Item(key jinja.Value) (jinja.Value, bool) { return g.Attr("") }

// parseMacros parses every package's macro files and dbt's own, and builds
// each package's scope.
func (c *compiler) parseMacros() {
	c.macroInfo = map[string]MacroInfo{}
	r := newRenderer(c)
	c.r = r
	r.macros[dbtNamespace] = map[string]*macroDef{}
	for _, f := range dbtMacroFiles() {
		tpl, d := r.parse(f.path, f.content)
		if d != nil {
			panic(fmt.Sprintf("dataops's own macro %s does not parse: %v", f.path, d))
		}
		for _, m := range tpl.Macros() {
			r.macros[dbtNamespace][m.Name()] = &macroDef{macro: m, pkg: dbtNamespace, name: m.Name(), key: "dbt." + m.Name(), path: f.path, line: m.Position().Line}
		}
	}
	type parsedFile struct {
		tpl *parsed
		d   *Diagnostic
	}
	for _, pkg := range c.p.all() {
		defs := map[string]*macroDef{}
		r.macros[pkg.Name] = defs
		results := make([]parsedFile, len(pkg.macroFiles))
		parallel(len(pkg.macroFiles), func(i int) {
			f := pkg.macroFiles[i]
			results[i].tpl, results[i].d = r.parse(f.path, f.content)
		})
		for i, f := range pkg.macroFiles {
			if results[i].d != nil {
				c.diags = append(c.diags, *results[i].d)
				continue
			}
			for _, m := range results[i].tpl.Macros() {
				name := m.Name()
				pos := m.Position()
				key := c.macroKey(pkg.Name, name)
				if prev, dup := defs[name]; dup {
					c.diags = append(c.diags, Diagnostic{Path: f.path, Line: pos.Line, Col: pos.Col,
						Message: fmt.Sprintf("macro %q is defined twice", name),
						Hint:    fmt.Sprintf("the other definition is at %s:%d", prev.path, prev.line)})
					continue
				}
				defs[name] = &macroDef{macro: m, pkg: pkg.Name, name: name, key: key, path: f.path, line: pos.Line}
				c.macroInfo[key] = MacroInfo{Path: f.path, Line: pos.Line, Checksum: checksum(macroSource(f.content, pos.Line))}
			}
		}
	}
	r.buildScopes()
}

// buildScopes makes, for each package, the names its templates see, in
// dbt's order of precedence (later wins): dbt's own macros by bare name,
// the namespaces of dbt and of every package, the root project's macros,
// the package's own macros.
func (r *renderer) buildScopes() {
	// What every package sees alike lives in the environment's globals,
	// below each render's variables: dbt's own macros by bare name, and
	// the namespaces. (Renders have not started: nothing reads Globals.)
	g := r.env.Globals
	for name, d := range r.macros[dbtNamespace] {
		if _, taken := g[name]; !taken {
			g[name] = d.macro
		}
	}
	g[dbtNamespace] = &namespace{r: r, pkg: dbtNamespace}
	for _, pkg := range r.c.p.all() {
		g[pkg.Name] = &namespace{r: r, pkg: pkg.Name}
	}
	// The root project's macros win over dbt's functions and macros (a
	// project may override ref); a package's own win over the root's, in
	// the variables of its renders.
	root := r.c.p.Name
	for name, d := range r.macros[root] {
		g[name] = d.macro
	}
	for _, pkg := range r.c.p.all() {
		scope := make(map[string]jinja.Value, len(r.macros[pkg.Name]))
		if pkg.Name != root {
			for name, d := range r.macros[pkg.Name] {
				scope[name] = d.macro
			}
		}
		r.scopes[pkg.Name] = scope
	}
}

// namespace is a package's macros as an object: dbt_utils.star(...).
type namespace struct {
	r   *renderer
	pkg string
}

// Attr finds nothing: a namespace's macros are its items, as they are in
// dbt (a dict), so macros named with a leading underscore
// (dbt_utils._is_relation) pass the sandbox as they do in dbt.
func (ns *namespace) Attr(string) (jinja.Value, bool) { return nil, false }

func (ns *namespace) Item(key jinja.Value) (jinja.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return nil, false
	}
	if d := ns.r.macros[ns.pkg][name]; d != nil {
		return d.macro, true
	}
	if ns.pkg == dbtNamespace {
		// dbt.<function>: dbt's functions are reachable through its
		// namespace too (dbt.run_query, dbt.return).
		if v, ok := ns.r.env.Globals[name]; ok {
			if _, isNS := v.(*namespace); !isNS {
				return v, true
			}
		}
	}
	return nil, false
}

func (ns *namespace) String() string { return "<namespace " + ns.pkg + ">" }

// findMacro looks a macro up in one package (dbt's own under "dbt").
func (r *renderer) findMacro(pkg, name string) *macroDef {
	return r.macros[pkg][name]
}

// dispatch is adapter.dispatch: the first of <adapter>__name and
// default__name found in the packages the namespace's search order lists.
func (r *renderer) dispatch(from, name, ns string) (*macroDef, []string) {
	var search []string
	switch order, ok := r.c.p.Dispatch[ns]; {
	case ns == "":
		search = []string{""}
	case ok:
		search = order
	case ns == dbtNamespace || r.hasPackage(ns):
		search = []string{r.c.p.Name, ns}
	default:
		// A namespace that is no package is searched for by bare name, as
		// dbt does (packages such as the Tuva Project rely on it).
		search = []string{""}
	}
	var tried []string
	for _, pkg := range search {
		for _, prefix := range r.prefixes {
			want := prefix + "__" + name
			if pkg == "" {
				tried = append(tried, want)
				if d := r.bareMacro(from, want); d != nil {
					return d, nil
				}
				continue
			}
			tried = append(tried, pkg+"."+want)
			if d := r.findMacro(pkg, want); d != nil {
				return d, nil
			}
		}
	}
	return nil, tried
}

// bareMacro resolves a macro name as a template of package from would:
// its own macros, the root project's, dbt's.
func (r *renderer) bareMacro(from, name string) *macroDef {
	for _, pkg := range []string{from, r.c.p.Name, dbtNamespace} {
		if d := r.findMacro(pkg, name); d != nil {
			return d
		}
	}
	return nil
}

func (r *renderer) hasPackage(name string) bool {
	_, ok := r.macros[name]
	return ok
}

// diagnose turns an engine error into a diagnostic at the innermost
// position: inside a macro, the macro's own file and line, with the calls
// that led there.
func (r *renderer) diagnose(path, src string, err error) Diagnostic {
	var je *jinja.Error
	if !errors.As(err, &je) {
		return Diagnostic{Path: path, Line: 1, Message: err.Error()}
	}
	d := Diagnostic{Path: path, Line: je.Pos.Line, Col: je.Pos.Col}
	if je.Pos.Name != "" {
		d.Path = je.Pos.Name
	}
	msg := readablePlaceholders(je.Msg)
	switch je.Kind {
	case jinja.KindSyntax, jinja.KindAssertion:
		if strings.Contains(msg, "Unexpected end of template") {
			if line, col, tag, ok := unclosedBlock(src); ok && d.Path == path {
				return Diagnostic{Path: path, Line: line, Col: col,
					Message: "unclosed {% " + tag + " %} block", Hint: "add {% end" + tag + " %} where the block ends"}
			}
		}
		d.Message = "template syntax error: " + msg
	case jinja.KindLimit:
		d.Message = "rendering stopped: " + msg
		if je.Err != nil && errors.Is(je.Err, context.DeadlineExceeded) {
			d.Message = "rendering stopped: the compile's deadline passed"
		}
	case jinja.KindHost:
		d.Message = msg
	default:
		d.Message = msg
		if je.Kind != jinja.KindUndefined || !strings.HasSuffix(msg, "is undefined") {
			d.Message = je.Kind + ": " + msg
		}
	}
	if m := undefinedCallRE.FindStringSubmatch(msg); m != nil && je.Kind == jinja.KindUndefined {
		name := m[1]
		file := r.sourceOf(d.Path, src, path)
		if col, ok := callColumn(file, d.Line, d.Col, name); ok {
			d.Col = col
			d.Message = fmt.Sprintf("unknown macro or function %q", name)
			d.Hint = didYouMean(name, r.knownNames())
		} else if col, ok := usedAsNamespace(file, d.Line, d.Col, name); ok {
			d.Col = col
			// dbt_date.get_base_dates(...): a package's macros, and
			// no package of that name is installed.
			d.Hint = fmt.Sprintf("no package named %s is installed in %s/: list it in packages.yml and run dataops deps", name, r.c.p.install)
		}
	}
	var chain []string
	for _, f := range je.Stack {
		chain = append(chain, fmt.Sprintf("%s (%s:%d), called from %s:%d", f.Name, f.Def.Name, f.Def.Line, f.Call.Name, f.Call.Line))
	}
	if len(chain) > 0 {
		in := "in " + strings.Join(chain, "; in ")
		if d.Hint == "" {
			d.Hint = in
		} else {
			d.Hint += "; " + in
		}
	}
	return d
}

// usedAsNamespace reports whether line of src reads an attribute of name
// (name.something) at or before col, as templates call a package's
// macros, and the column where name starts.
func usedAsNamespace(src string, line, col int, name string) (int, bool) {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return 0, false
	}
	re := regexp.MustCompile(`(?:^|[^A-Za-z0-9_.])(` + regexp.QuoteMeta(name) + `)\s*\.\s*[A-Za-z_]`)
	found, at := false, 0
	for _, m := range re.FindAllStringSubmatchIndex(lines[line-1], -1) {
		c := utf8.RuneCountInString(lines[line-1][:m[2]]) + 1
		if c <= col || !found {
			found, at = true, c
		}
	}
	return at, found
}

var undefinedCallRE = regexp.MustCompile(`^'([A-Za-z_][A-Za-z0-9_]*)' is undefined$`)

// sourceOf finds the text of file: the template being rendered, or a
// macro file.
func (r *renderer) sourceOf(file, src, path string) string {
	if file == path {
		return src
	}
	for _, pkg := range r.c.p.all() {
		for _, f := range pkg.macroFiles {
			if f.path == file {
				return f.content
			}
		}
	}
	return ""
}

// callColumn finds name called at or before line:col of src (the engine
// points at the call's parenthesis) and returns the name's column.
func callColumn(src string, line, col int, name string) (int, bool) {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return 0, false
	}
	l := []rune(lines[line-1])
	end := min(max(col, 1)+len(name), len(l))
	text := string(l[:end])
	for i := strings.LastIndex(text, name); i >= 0; i = strings.LastIndex(text[:i], name) {
		rest := strings.TrimLeft(string(l[len([]rune(text[:i]))+len([]rune(name)):]), " ")
		if strings.HasPrefix(rest, "(") {
			return len([]rune(text[:i])) + 1, true
		}
	}
	return 0, false
}

// knownNames lists what a template can call, for hints.
func (r *renderer) knownNames() []string {
	seen := map[string]bool{}
	for name := range r.env.Globals {
		seen[name] = true
	}
	for name := range r.macros[r.c.p.Name] {
		seen[name] = true
	}
	return sortedKeys(seen)
}

// macroCalls finds, in a template's text, the macros it may call: bare
// names and package.name of known macros followed by "(", inside Jinja
// tags, and dispatched names. A plan uses the transitive closure to see
// that a model changed when a macro it uses did.
var dispatchRE = regexp.MustCompile(`dispatch\(\s*(?:macro_name\s*=\s*)?['"]([A-Za-z0-9_]+)['"]\s*(?:,\s*(?:macro_namespace\s*=\s*)?['"]([A-Za-z0-9_]+)['"])?`)

func (r *renderer) macroCalls(pkg, src string) []*macroDef {
	var out []*macroDef
	for _, code := range jinjaCode(src) {
		for _, call := range calledNames(code) {
			if call[0] != "" {
				if d := r.findMacro(call[0], call[1]); d != nil {
					out = append(out, d)
				}
				continue
			}
			if d := r.bareMacro(pkg, call[1]); d != nil {
				out = append(out, d)
			}
		}
		if strings.Contains(code, "dispatch") {
			for _, m := range dispatchRE.FindAllStringSubmatch(code, -1) {
				ns := m[2]
				if ns == "" {
					ns = pkg
				}
				if d, _ := r.dispatch(pkg, m[1], ns); d != nil {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// jinjaCode returns the text inside a template's {{ }} and {% %} tags:
// SQL around them calls no macro.
func jinjaCode(src string) []string {
	var out []string
	for {
		i := strings.Index(src, "{")
		if i < 0 || i+1 >= len(src) {
			return out
		}
		var end string
		switch src[i+1] {
		case '{':
			end = "}}"
		case '%':
			end = "%}"
		default:
			src = src[i+1:]
			continue
		}
		j := strings.Index(src[i+2:], end)
		if j < 0 {
			return append(out, src[i+2:])
		}
		out = append(out, src[i+2:i+2+j])
		src = src[i+2+j+2:]
	}
}

// calledNames lists the [package, name] pairs called in Jinja code:
// name( or package.name( (package empty for a bare name).
func calledNames(code string) [][2]string {
	var out [][2]string
	isStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	var prev string // the identifier before a dot
	for i := 0; i < len(code); {
		c := code[i]
		if !isStart(c) {
			if c != '.' {
				prev = ""
			}
			if c == '\'' || c == '"' {
				// skip string literals
				j := strings.IndexByte(code[i+1:], c)
				if j < 0 {
					return out
				}
				i += j + 2
				continue
			}
			i++
			continue
		}
		j := i
		for j < len(code) && isPart(code[j]) {
			j++
		}
		name := code[i:j]
		qualified := i > 0 && code[i-1] == '.' && prev != ""
		k := j
		for k < len(code) && (code[k] == ' ' || code[k] == '\t' || code[k] == '\n') {
			k++
		}
		if k < len(code) && code[k] == '(' {
			if qualified {
				out = append(out, [2]string{prev, name})
			} else {
				out = append(out, [2]string{"", name})
			}
		}
		prev = name
		i = j
	}
	return out
}

// macroDeps returns the keys of the macros a template uses, directly or
// through other macros, skipping dbt's own. It runs after the renders,
// on one goroutine.
func (r *renderer) macroDeps(pkg, src string) []string {
	seen := map[*macroDef]bool{}
	queue := r.macroCalls(pkg, src)
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		queue = append(queue, r.directCalls(d)...)
	}
	var keys []string
	for d := range seen {
		if d.pkg != dbtNamespace {
			keys = append(keys, d.key)
		}
	}
	sort.Strings(keys)
	return keys
}

// directCalls memoizes the macros a macro's text calls.
func (r *renderer) directCalls(d *macroDef) []*macroDef {
	if r.deps == nil {
		r.deps = map[*macroDef][]*macroDef{}
	}
	out, ok := r.deps[d]
	if !ok {
		out = r.macroCalls(d.pkg, r.c.macroText(d))
		r.deps[d] = out
	}
	return out
}

// macroText is one macro's text, cut from its file.
func (c *compiler) macroText(d *macroDef) string {
	if c.macroFileText == nil {
		c.macroFileText = map[string]string{}
		for _, pkg := range c.p.all() {
			for _, f := range pkg.macroFiles {
				c.macroFileText[f.path] = f.content
			}
		}
	}
	content, ok := c.macroFileText[d.path]
	if !ok {
		return ""
	}
	return macroSource(content, d.line)
}

var placeholderRE = regexp.MustCompile(phOpen + `(ref|src|this):([^` + phClose + `]*)` + phClose)

// readablePlaceholders writes relation placeholders in a message as the
// call that made them.
func readablePlaceholders(s string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := placeholderRE.FindStringSubmatch(m)
		switch sub[1] {
		case "ref":
			pkg, name := splitRef(sub[2])
			if pkg != "" {
				return "ref('" + pkg + "', '" + name + "')"
			}
			return "ref('" + name + "')"
		case "src":
			s, t, _ := strings.Cut(sub[2], ".")
			return "source('" + s + "', '" + t + "')"
		}
		return "this"
	})
}
