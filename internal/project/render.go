package project

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
)

func init() {
	// gonja logs through logrus on some type mismatches; dataops reports
	// problems itself and must not print stray lines into compiled output.
	gonja.SetLoggerOutput(io.Discard)
}

// Relations are rendered as placeholders and resolved after every model's
// config is known: a ref's schema, name and whether it is inlined as a CTE
// all depend on the referenced model's own config() call, and deferral to
// production is decided per run. Private-use runes cannot occur in SQL a
// user wrote.
const (
	phOpen  = "\ue000"
	phClose = "\ue001"
)

// relationValue is what ref(), source() and this evaluate to in templates.
type relationValue struct {
	kind string // ref, src, this
	key  string // model name, "source.table", or "" for this
	name string // the relation's own name, for .name/.identifier
}

func (r relationValue) String() string { return phOpen + r.kind + ":" + r.key + phClose }

// GetAttribute gives templates dbt's Relation attributes that are known
// while rendering.
func (r relationValue) GetAttribute(name string) (*exec.Value, bool) {
	switch name {
	case "name", "identifier", "table":
		return exec.AsValue(r.name), true
	}
	return exec.AsValue(fmt.Errorf("relation attribute %q is not available while compiling", name)), false
}

// renderState collects what one template uses while it renders.
type renderState struct {
	refs        []string
	sources     []string
	macros      map[string]bool
	vars        map[string]bool
	config      []configEntry
	problems    []renderProblem
	incremental bool
}

// renderProblem is a problem found inside a template function; the call
// that caused it is located in the source afterwards (gonja does not give
// functions their call position).
type renderProblem struct {
	fn, arg string // the function and its first argument, to find the call
	message string
	hint    string
}

const stateKey = "__dataops_state__"

func stateOf(e *exec.Evaluator) *renderState {
	v, _ := e.Environment.Context.Get(stateKey)
	st, _ := v.(*renderState)
	if st == nil {
		st = &renderState{}
	}
	return st
}

// renderer holds what every template of one compile shares: the dbt
// context functions, the project's macros, vars and the target.
type renderer struct {
	env        *exec.Environment
	cfg        *config.Config
	macroNames []string
	vars       map[string]any
	target     Target
	project    string
	lookupEnv  func(string) (string, bool)
	mu         sync.Mutex // guards macroUse
}

type macroDef struct {
	node     *nodes.Macro
	template *exec.Template
	path     string
	key      string // MacroInfo key
}

// parsed is a template ready to render.
type parsed = exec.Template

func newRenderer(projectName string, target Target, vars map[string]any, macros map[string]macroDef, lookupEnv func(string) (string, bool)) *renderer {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	r := &renderer{cfg: config.New(), vars: vars, target: target, project: projectName, lookupEnv: lookupEnv}
	// Jinja's defaults as dbt uses them.
	r.cfg.KeepTrailingNewline = true
	ctx := exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables)
	r.env = &exec.Environment{
		Context:           ctx,
		Filters:           builtins.Filters,
		Tests:             builtins.Tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           builtins.Methods,
	}
	ctx.Set("ref", r.ref)
	ctx.Set("source", r.source)
	ctx.Set("config", r.config)
	ctx.Set("var", r.variable)
	ctx.Set("env_var", r.envVar)
	ctx.Set("is_incremental", func(e *exec.Evaluator, _ *exec.VarArgs) bool { return stateOf(e).incremental })
	ctx.Set("log", func(_ *exec.VarArgs) string { return "" })
	ctx.Set("execute", false)
	ctx.Set("target", map[string]any{"name": target.Name, "schema": target.Schema, "type": target.Type,
		"profile_name": projectName, "threads": 4})
	ctx.Set("project_name", projectName)
	for name, def := range macros {
		r.macroNames = append(r.macroNames, name)
		ctx.Set(name, r.macro(name, def))
	}
	sort.Strings(r.macroNames)
	return r
}

// parse turns a template into gonja's tree; a syntax error keeps its line.
func (r *renderer) parse(path, source string) (*exec.Template, *Diagnostic) {
	tpl, err := exec.NewTemplate(path, r.cfg, singleFile{path, source}, r.env)
	if err != nil {
		d := syntaxDiagnostic(path, source, err)
		return nil, &d
	}
	return tpl, nil
}

// render executes a parsed template for node n with a fresh state.
func (r *renderer) render(tpl *exec.Template, n *Node, incremental bool) (string, *renderState, error) {
	this := relationValue{kind: "this", name: n.Name}
	st := &renderState{macros: map[string]bool{}, vars: map[string]bool{}, incremental: incremental}
	ctx := exec.NewContext(map[string]any{stateKey: st, "this": this, "model": map[string]any{"name": this.name}})
	out, err := tpl.ExecuteToString(ctx)
	return out, st, err
}

func (r *renderer) ref(e *exec.Evaluator, va *exec.VarArgs) (any, error) {
	st := stateOf(e)
	args := positional(va)
	var name string
	switch len(args) {
	case 1:
		name = args[0]
	case 2:
		name = args[0] + "." + args[1]
	default:
		return nil, errors.New("ref() takes a model name, or a package and a model name")
	}
	if !contains(st.refs, name) {
		st.refs = append(st.refs, name)
	}
	_, short := splitRef(name)
	return relationValue{kind: "ref", key: name, name: short}, nil
}

func (r *renderer) source(e *exec.Evaluator, va *exec.VarArgs) (any, error) {
	args := positional(va)
	if len(args) != 2 {
		return nil, errors.New("source() takes a source name and a table name")
	}
	st := stateOf(e)
	key := args[0] + "." + args[1]
	if !contains(st.sources, key) {
		st.sources = append(st.sources, key)
	}
	return relationValue{kind: "src", key: key, name: args[1]}, nil
}

func (r *renderer) config(e *exec.Evaluator, va *exec.VarArgs) string {
	st := stateOf(e)
	for _, k := range sortedKeys(va.KwArgs) {
		st.config = append(st.config, configEntry{key: k, value: normalize(goValue(va.KwArgs[k]))})
	}
	return ""
}

func (r *renderer) variable(e *exec.Evaluator, va *exec.VarArgs) (any, error) {
	if len(va.Args) == 0 {
		return nil, errors.New("var() takes a variable name")
	}
	name := va.Args[0].String()
	st := stateOf(e)
	st.vars[name] = true
	if v, ok := r.vars[name]; ok {
		return v, nil
	}
	if len(va.Args) > 1 {
		return goValue(va.Args[1]), nil
	}
	st.problems = append(st.problems, renderProblem{fn: "var", arg: name,
		message: fmt.Sprintf("required var %q is not defined", name),
		hint:    "add it under vars: in dbt_project.yml, or give a default: var('" + name + "', ...)"})
	return "", nil
}

func (r *renderer) envVar(e *exec.Evaluator, va *exec.VarArgs) (any, error) {
	if len(va.Args) == 0 {
		return nil, errors.New("env_var() takes a variable name")
	}
	name := va.Args[0].String()
	if v, ok := r.lookupEnv(name); ok {
		return v, nil
	}
	if len(va.Args) > 1 {
		return goValue(va.Args[1]), nil
	}
	st := stateOf(e)
	st.problems = append(st.problems, renderProblem{fn: "env_var", arg: name,
		message: fmt.Sprintf("environment variable %s is not set", name),
		hint:    "set it, or give a default: env_var('" + name + "', ...)"})
	return "", nil
}

// macro binds a project macro as a global function, as dbt makes every
// project macro callable from every model without an import.
func (r *renderer) macro(name string, def macroDef) func(*exec.Evaluator, *exec.VarArgs) *exec.Value {
	return func(e *exec.Evaluator, va *exec.VarArgs) *exec.Value {
		stateOf(e).macros[def.key] = true
		sub := exec.NewRenderer(e.Environment, nil, e.Config, e.Loader, def.template)
		fn, err := exec.MacroNodeToFunc(def.node, sub)
		if err != nil {
			return exec.AsValue(err)
		}
		return fn(va)
	}
}

func positional(va *exec.VarArgs) []string {
	out := make([]string, len(va.Args))
	for i, a := range va.Args {
		out[i] = a.String()
	}
	return out
}

func goValue(v *exec.Value) any {
	if v == nil || v.IsNil() {
		return nil
	}
	if v.IsString() {
		return v.String()
	}
	if v.IsList() || v.IsDict() {
		return v.ToGoSimpleType(false)
	}
	return v.Interface()
}

// singleFile is a gonja loader for one in-memory template; dbt projects
// share code through macros, not include or import.
type singleFile struct{ path, content string }

func (f singleFile) Read(path string) (io.Reader, error) {
	if path != f.path {
		return nil, fmt.Errorf("%s: include and import are not supported; call project macros directly", path)
	}
	return strings.NewReader(f.content), nil
}
func (f singleFile) Resolve(path string) (string, error) { return path, nil }
func (f singleFile) Inherit(string) (loaders.Loader, error) {
	return f, nil
}

var (
	lineRE        = regexp.MustCompile(`(?i)\bline[: ]+(\d+)`)
	notCallableRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*) is not callable`)
)

// syntaxDiagnostic positions a template parse error.
func syntaxDiagnostic(path, source string, err error) Diagnostic {
	var se *parser.SyntaxError
	if strings.Contains(err.Error(), "Unexpected EOF") {
		if line, col, tag, ok := unclosedBlock(source); ok {
			return Diagnostic{Path: path, Line: line, Col: col,
				Message: "unclosed {% " + tag + " %} block", Hint: "add {% end" + tag + " %} where the block ends"}
		}
	}
	if errors.As(err, &se) {
		return Diagnostic{Path: path, Line: se.Line, Col: se.Column, Message: "template syntax error: " + se.Message}
	}
	msg := err.Error()
	d := Diagnostic{Path: path, Message: "template syntax error: " + cleanGonja(msg)}
	if m := lineRE.FindAllStringSubmatch(msg, -1); len(m) > 0 {
		d.Line, _ = strconv.Atoi(m[len(m)-1][1])
	}
	return d
}

// cleanGonja keeps the innermost cause of a wrapped gonja error: the outer
// layers repeat the template source.
func cleanGonja(msg string) string {
	parts := strings.Split(msg, ": ")
	last := strings.TrimSpace(parts[len(parts)-1])
	if strings.HasPrefix(msg, "failed to parse template") {
		return last
	}
	return last
}

// diagnose explains a runtime error of a template.
func (r *renderer) diagnose(path, src string, err error) Diagnostic {
	return renderDiagnostic(path, src, err, r.macroNames)
}

// parseMacros parses every package's macro files and gives each package a
// renderer whose templates see its own macros, then the root project's.
func (c *compiler) parseMacros() {
	c.macroInfo = map[string]MacroInfo{}
	c.renderers = map[string]*renderer{}
	probe := newRenderer(c.p.Name, c.opts.Target, nil, nil, c.opts.LookupEnv)
	byPkg := map[string]map[string]macroDef{}
	for _, pkg := range c.p.all() {
		defs := map[string]macroDef{}
		byPkg[pkg.Name] = defs
		for _, f := range pkg.macroFiles {
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
				key := c.macroKey(pkg.Name, name)
				if prev, dup := c.macroInfo[key]; dup {
					c.diags = append(c.diags, Diagnostic{Path: f.path, Line: line, Col: node.Location.Col,
						Message: fmt.Sprintf("macro %q is defined twice", name),
						Hint:    fmt.Sprintf("the other definition is at %s:%d", prev.Path, prev.Line)})
					continue
				}
				defs[name] = macroDef{node: node, template: tpl, path: f.path, key: key}
				c.macroInfo[key] = MacroInfo{Path: f.path, Line: line, Checksum: checksum(macroSource(f.content, line))}
			}
		}
	}
	for _, pkg := range c.p.all() {
		visible := map[string]macroDef{}
		for name, d := range byPkg[c.p.Name] {
			visible[name] = d
		}
		for name, d := range byPkg[pkg.Name] {
			visible[name] = d
		}
		c.renderers[pkg.Name] = newRenderer(c.p.Name, c.opts.Target, c.vars[pkg.Name], visible, c.opts.LookupEnv)
	}
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
