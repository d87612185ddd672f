package jinja

import (
	"context"
	"strings"
)

// Template is a parsed template. It is immutable and safe to render
// concurrently.
type Template struct {
	env    *Environment
	name   string
	body   []node
	frame  *frameInfo
	macros []*Macro
	blocks map[string]*blockStmt
	extend bool // has an extends tag at top level
}

// Name is the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// collect finds the template's top-level macros and its blocks.
func (t *Template) collect() {
	t.blocks = map[string]*blockStmt{}
	var walk func(ns []node, top bool)
	walk = func(ns []node, top bool) {
		for _, n := range ns {
			switch x := n.(type) {
			case *macroStmt:
				if top {
					t.macros = append(t.macros, &Macro{def: x.macro})
				}
			case *blockStmt:
				t.blocks[x.name] = x
				walk(x.body, false)
			case *extendsStmt:
				if top {
					t.extend = true
				}
			default:
				eachChild(n, func(c node) {
					if s, ok := c.(*blockStmt); ok {
						walk([]node{s}, false)
					} else {
						walk([]node{c}, false)
					}
				}, func(node) {})
			}
		}
	}
	walk(t.body, true)
}

// Macros returns the macros defined at the top level of the template,
// including those of custom tags, in source order. Called from a render,
// such a macro resolves the names it does not define itself in that
// render's variables and the environment's globals (as dbt's macros see
// the context of the node being rendered).
func (t *Template) Macros() []*Macro { return t.macros }

// Render renders the template with vars as its variables.
func (t *Template) Render(ctx context.Context, vars map[string]Value) (string, error) {
	r := t.env.newRenderer(ctx, vars)
	w := r.newWriter(true)
	if err := r.renderTemplate(t, w, nil); err != nil {
		return "", r.finishError(err)
	}
	return w.String(), nil
}

// RenderParts renders the template and returns its top-level output as
// values instead of text: template data as strings, each {{ }} as the value
// it evaluated to. dbt's native rendering is built on this.
func (t *Template) RenderParts(ctx context.Context, vars map[string]Value) ([]Value, error) {
	r := t.env.newRenderer(ctx, vars)
	w := r.newWriter(true)
	w.native = true
	if err := r.renderTemplate(t, w, nil); err != nil {
		return nil, r.finishError(err)
	}
	w.flushNative()
	return w.parts, nil
}

// RenderNative renders like Jinja2's NativeEnvironment: a template whose
// output is a single value returns that value; otherwise the output is
// joined into a string and parsed as a Python literal when it is one
// (LiteralEval), else returned as the string.
func (t *Template) RenderNative(ctx context.Context, vars map[string]Value) (Value, error) {
	parts, err := t.RenderParts(ctx, vars)
	if err != nil {
		return nil, err
	}
	return NativeConcat(parts), nil
}

// NativeConcat is Jinja2's native_concat.
func NativeConcat(parts []Value) Value {
	if len(parts) == 0 {
		return nil
	}
	var raw string
	if len(parts) == 1 {
		s, ok := parts[0].(string)
		if !ok {
			return parts[0]
		}
		raw = s
	} else {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(pyStr(p))
		}
		raw = b.String()
	}
	if v, err := LiteralEval(raw); err == nil {
		return v
	}
	return raw
}

// Module renders the template's top level and returns what it exports:
// its top-level macros and variables (Jinja2's Template.module).
func (t *Template) Module(ctx context.Context, vars map[string]Value) (*Module, error) {
	r := t.env.newRenderer(ctx, vars)
	m, err := r.makeModule(t, nil)
	if err != nil {
		return nil, r.finishError(err)
	}
	return m, nil
}

// Module is what a template exports. Attr gives its macros and variables;
// printing it gives the template's output.
type Module struct {
	name  string
	names []string
	vals  map[string]Value
	body  string
}

// Attr implements Object.
func (m *Module) Attr(name string) (Value, bool) {
	v, ok := m.vals[name]
	return v, ok
}

// Names lists the exported names in the order they were defined.
func (m *Module) Names() []string { return m.names }

// Macro is a template macro. Call it from Go with Environment.Call.
type Macro struct {
	def     *macroDef
	closure *scope // the scope it was defined in; nil for Template.Macros
}

// Name is the macro's name.
func (m *Macro) Name() string { return m.def.name }

// Params lists the macro's parameter names.
func (m *Macro) Params() []string { return m.def.params }

// Position is where the macro is defined.
func (m *Macro) Position() Position {
	name := ""
	if m.def.template != nil {
		name = m.def.template.name
	}
	return Position{name, m.def.line, m.def.col}
}

// Attr gives the macro attributes Jinja2 has.
func (m *Macro) Attr(name string) (Value, bool) {
	switch name {
	case "name":
		if m.def.isCaller {
			return nil, true
		}
		return m.def.name, true
	case "arguments":
		t := make(Tuple, len(m.def.params))
		for i, p := range m.def.params {
			t[i] = p
		}
		return t, true
	case "catch_kwargs":
		return m.def.catchKwargs, true
	case "catch_varargs":
		return m.def.catchVarargs, true
	case "caller":
		return m.def.caller, true
	}
	return nil, false
}

// Tag defines a block tag that defines a macro, such as dbt's
// {% test not_null(model) %}...{% endtest %} or
// {% materialization table, adapter='duckdb' %}...{% endmaterialization %}.
type Tag struct {
	// Parse reads the tag's head, everything between the tag name and %},
	// and returns the name of the macro it defines. It adds the macro's
	// parameters with the TagParser's methods.
	Parse func(p *TagParser) (string, error)
	// End is the closing tag; "end" + the tag's name when empty.
	End string
}

// TagParser reads the head of a custom tag for Tag.Parse.
type TagParser struct {
	p *parser
	m *macroDef
}

// Name reads an identifier.
func (tp *TagParser) Name() (string, error) {
	t, err := tp.p.expectAssignName()
	return t.val, err
}

// Signature reads a parenthesised parameter list, as {% macro %} has.
func (tp *TagParser) Signature() error { return tp.p.parseSignature(tp.m) }

// Skip consumes the next token if it is tok (an operator such as "," or
// "=", or a name) and reports whether it did.
func (tp *TagParser) Skip(tok string) bool {
	if typ, ok := operators[tok]; ok {
		return tp.p.skipIf(typ)
	}
	return tp.p.skipIf("name:" + tok)
}

// Expect consumes tok (as in Skip) or fails.
func (tp *TagParser) Expect(tok string) error {
	if typ, ok := operators[tok]; ok {
		_, err := tp.p.expect(typ)
		return err
	}
	_, err := tp.p.expect("name:" + tok)
	return err
}

// AtEnd reports whether the head is complete (the next token is %}).
func (tp *TagParser) AtEnd() bool { return tp.p.cur().typ == tBlockEnd }

// Literal reads an expression that must be a constant (a string, number,
// list...) and returns its value.
func (tp *TagParser) Literal() (Value, error) {
	start := tp.p.cur()
	e, err := tp.p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	v, ok := constValue(e)
	if !ok {
		return nil, tp.p.failAt(start, KindSyntax, "expected a constant")
	}
	return v, nil
}

// Param adds a parameter to the macro; it reads "= expression" as its
// default when the next token is "=".
func (tp *TagParser) Param(name string) error {
	if tp.p.skipIf("assign") {
		d, err := tp.p.parseExpression(true)
		if err != nil {
			return err
		}
		tp.m.defaults = append(tp.m.defaults, d)
	} else if len(tp.m.defaults) > 0 {
		return tp.p.fail("non-default argument follows default argument")
	}
	tp.m.params = append(tp.m.params, name)
	return nil
}

// ParamDefault adds a parameter with a constant default.
func (tp *TagParser) ParamDefault(name string, def Value) {
	tp.m.params = append(tp.m.params, name)
	tp.m.defaults = append(tp.m.defaults, &constExpr{pos: tp.m.pos, value: def})
}

// HasParam reports whether the macro has a parameter of that name yet.
func (tp *TagParser) HasParam(name string) bool {
	for _, p := range tp.m.params {
		if p == name {
			return true
		}
	}
	return false
}

// Errorf fails the parse at the current token.
func (tp *TagParser) Errorf(format string, args ...any) error {
	return tp.p.fail(sprintf(format, args...))
}

func (p *parser) parseCustomTag(t token, tag Tag) (node, error) {
	p.next()
	m := &macroDef{pos: p.pos(t), template: p.tmpl}
	name, err := tag.Parse(&TagParser{p: p, m: m})
	if err != nil {
		return nil, err
	}
	m.name = name
	end := tag.End
	if end == "" {
		end = "end" + t.val
	}
	if err := p.parseMacroBody(m, end); err != nil {
		return nil, err
	}
	if err := finishMacro(p, m, t); err != nil {
		return nil, err
	}
	return &macroStmt{pos: m.pos, macro: m}, nil
}

// constValue evaluates a literal expression at parse time.
func constValue(n node) (Value, bool) {
	switch x := n.(type) {
	case *constExpr:
		return x.value, true
	case *listExpr:
		items := make([]Value, len(x.items))
		for i, it := range x.items {
			v, ok := constValue(it)
			if !ok {
				return nil, false
			}
			items[i] = v
		}
		return &List{Items: items}, true
	case *tupleExpr:
		items := make(Tuple, len(x.items))
		for i, it := range x.items {
			v, ok := constValue(it)
			if !ok {
				return nil, false
			}
			items[i] = v
		}
		return items, true
	case *dictExpr:
		d := &Dict{}
		for i := range x.keys {
			k, ok := constValue(x.keys[i])
			if !ok {
				return nil, false
			}
			v, ok := constValue(x.values[i])
			if !ok {
				return nil, false
			}
			if d.set(k, v) != nil {
				return nil, false
			}
		}
		return d, true
	}
	return nil, false
}
