package jinja

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// renderer is the state of one render: the evaluator walks the syntax tree
// with it. It is not shared between goroutines.
type renderer struct {
	ctx     context.Context
	done    <-chan struct{}
	env     *Environment
	lim     Limits
	vars    map[string]Value
	depth   int
	mem     int64
	stack   []Frame
	ticks   int
	modules map[string]*Module
	// autoescape is the current autoescape setting ({% autoescape %}).
	autoescape bool
	// template is the template being rendered, for positions.
	template *Template
	// Template inheritance: the blocks of the chain (most derived first),
	// the parent an extends tag chose, and the scope blocks see.
	blocks         map[string][]blockImpl
	parentTemplate *Template
	extendsAt      Position
	root           *scope
}

func (e *Environment) newRenderer(ctx context.Context, vars map[string]Value) *renderer {
	if ctx == nil {
		ctx = context.Background()
	}
	r := &renderer{ctx: ctx, done: ctx.Done(), env: e, lim: e.Limits.withDefaults()}
	if len(vars) > 0 {
		r.vars = make(map[string]Value, len(vars))
		for k, v := range vars {
			r.vars[k] = FromGo(v)
		}
	}
	return r
}

// scope is one level of variables: a template, a loop iteration, a macro
// call. Lookups walk up to the render's variables and the globals.
type scope struct {
	names  []string
	vals   []Value
	parent *scope
	// tmpl is the template the scope belongs to, for error positions.
	tmpl *Template
	// Most scopes hold a few names: keep them in the scope itself.
	nbuf [4]string
	vbuf [4]Value
}

func newScope(parent *scope, tmpl *Template, frame *frameInfo) *scope {
	s := &scope{parent: parent, tmpl: tmpl}
	s.names, s.vals = s.nbuf[:0], s.vbuf[:0]
	if frame != nil {
		for _, n := range frame.undeclared {
			s.names = append(s.names, n)
			s.vals = append(s.vals, Missing)
		}
	}
	return s
}

func (s *scope) set(name string, v Value) {
	for i, n := range s.names {
		if n == name {
			s.vals[i] = v
			return
		}
	}
	s.names = append(s.names, name)
	s.vals = append(s.vals, v)
}

func (r *renderer) lookup(s *scope, name string) Value {
	for ; s != nil; s = s.parent {
		for i := len(s.names) - 1; i >= 0; i-- {
			if s.names[i] == name {
				if s.vals[i] == Missing {
					return Undefined{Name: name}
				}
				return s.vals[i]
			}
		}
	}
	if v, ok := r.vars[name]; ok {
		return v
	}
	if name == "self" {
		return &selfRef{r: r, sc: s}
	}
	if v, ok := r.env.Globals[name]; ok {
		return v
	}
	return Undefined{Name: name}
}

// Limits.

func (r *renderer) charge(n int64) error {
	r.mem += n
	if r.mem > r.lim.MaxMemory {
		return r.memoryError()
	}
	return nil
}

func (r *renderer) chargeString(s string) error { return r.charge(int64(len(s))) }

func (r *renderer) chargeItems(n int) error { return r.charge(int64(n) * 16) }

func (r *renderer) memoryError() error {
	return limitError(LimitMemory, fmt.Sprintf("the render needs more than %d bytes of memory (Limits.MaxMemory)", r.lim.MaxMemory))
}

// tick checks the context; loops and calls call it.
func (r *renderer) tick() error {
	if r.done == nil {
		return nil
	}
	select {
	case <-r.done:
		e := limitError(LimitDeadline, "rendering stopped: "+r.ctx.Err().Error())
		e.Err = r.ctx.Err()
		return e
	default:
		return nil
	}
}

func (r *renderer) enterCall(f Frame) error {
	r.depth++
	if r.depth > r.lim.MaxCallDepth {
		r.depth--
		return limitError(LimitCallDepth, fmt.Sprintf("calls nest deeper than %d (Limits.MaxCallDepth): is a macro or template calling itself?", r.lim.MaxCallDepth))
	}
	r.stack = append(r.stack, f)
	return r.tick()
}

func (r *renderer) leaveCall() {
	r.depth--
	r.stack = r.stack[:len(r.stack)-1]
}

// finishError gives an error that escaped the render its final form.
func (r *renderer) finishError(err error) error {
	if rs, ok := err.(*returnSignal); ok {
		_ = rs
		return &Error{Kind: KindRuntime, Msg: "return() called outside of a macro"}
	}
	return asError(err)
}

// wrapCallError adds a call frame to an error passing out of a macro or
// included template.
func (r *renderer) wrapCallError(err error, f Frame) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*returnSignal); ok {
		return err
	}
	if err == errBreak || err == errContinue {
		return err
	}
	e := asError(err)
	if e.positioned && e.Pos != f.Call {
		e.Stack = append(e.Stack, f)
	}
	return e
}

// Output.

// writer collects output: text, or for native rendering the values.
type writer struct {
	r      *renderer
	b      strings.Builder
	top    bool
	native bool
	parts  []Value
	size   int64
	// discard drops output: a child template's after its extends tag.
	discard bool
}

func (r *renderer) newWriter(top bool) *writer { return &writer{r: r, top: top} }

func (w *writer) WriteString(s string) error {
	if w.discard {
		return nil
	}
	if err := w.r.charge(int64(len(s))); err != nil {
		return err
	}
	if w.top {
		w.size += int64(len(s))
		if w.size > w.r.lim.MaxOutput {
			return limitError(LimitOutput, fmt.Sprintf("the output is larger than %d bytes (Limits.MaxOutput)", w.r.lim.MaxOutput))
		}
	}
	if w.native {
		w.parts = append(w.parts, s)
		return nil
	}
	w.b.WriteString(s)
	return nil
}

// writeValue prints a value: str() of it, escaped under autoescape.
func (w *writer) writeValue(v Value) error {
	if w.discard {
		return nil
	}
	if w.native {
		if err := w.r.charge(16); err != nil {
			return err
		}
		w.parts = append(w.parts, v)
		return nil
	}
	s, err := w.r.str(v)
	if err != nil {
		return err
	}
	if w.r.autoescape {
		s = string(escapeValue(markupOr(v, s)))
	}
	return w.WriteString(s)
}

func markupOr(v Value, s string) Value {
	if m, ok := v.(Markup); ok {
		return m
	}
	return s
}

func (w *writer) String() string { return w.b.String() }

func (w *writer) flushNative() {}

// str is str(v) with the undefined behaviour applied.
func (r *renderer) str(v Value) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case Undefined:
		if r.env.Undefined == UndefinedStrict {
			return "", r.undefinedError(x)
		}
		return "", nil
	case *big.Int:
		return bigText(x)
	case *List, Tuple, *Dict, *dictView, *groupTuple, *Namespace:
		out := reprOut{limit: max(r.lim.MaxMemory-r.mem, 1)}
		out.repr(v, nil, 0)
		if out.err != nil {
			return "", out.err
		}
		return out.String(), r.charge(int64(out.Len()))
	}
	return pyStr(v), nil
}

func (r *renderer) undefinedError(u Undefined) error {
	kind := KindUndefined
	if u.kind != "" {
		kind = u.kind
	}
	return newError(kind, u.Message())
}

func (r *renderer) truthOf(v Value) (bool, error) {
	if u, ok := v.(Undefined); ok && r.env.Undefined == UndefinedStrict {
		return false, r.undefinedError(u)
	}
	return truth(v), nil
}

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

// Templates.

func (r *renderer) renderTemplate(t *Template, w *writer, parent *scope) error {
	prev := r.template
	r.template = t
	defer func() { r.template = prev }()
	if t.extend {
		return r.renderExtends(t, w, parent)
	}
	sc := newScope(parent, t, t.frame)
	prevRoot, prevBlocks := r.root, r.blocks
	r.root = sc
	if len(t.blocks) > 0 {
		r.blocks = map[string][]blockImpl{}
		for name, b := range t.blocks {
			r.blocks[name] = []blockImpl{{b, t}}
		}
	}
	defer func() { r.root, r.blocks = prevRoot, prevBlocks }()
	return r.execBody(t.body, sc, w)
}

func (r *renderer) posOf(sc *scope, n node) Position {
	p := n.position()
	name := ""
	if sc != nil && sc.tmpl != nil {
		name = sc.tmpl.name
	} else if r.template != nil {
		name = r.template.name
	}
	return Position{name, p.line, p.col}
}

// Statements.

func (r *renderer) execBody(body []node, sc *scope, w *writer) error {
	for _, n := range body {
		if err := r.exec(n, sc, w); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) exec(n node, sc *scope, w *writer) error {
	switch x := n.(type) {
	case *outputStmt:
		for _, it := range x.items {
			if td, ok := it.(*templateData); ok {
				if err := w.WriteString(td.data); err != nil {
					return at(err, r.posOf(sc, td))
				}
				continue
			}
			v, err := r.eval(it, sc)
			if err != nil {
				return at(err, r.posOf(sc, it))
			}
			if err := w.writeValue(v); err != nil {
				return at(err, r.posOf(sc, it))
			}
		}
		return nil
	case *ifStmt:
		for _, e := range append([]*ifStmt{x}, x.elifs...) {
			v, err := r.eval(e.test, sc)
			if err != nil {
				return at(err, r.posOf(sc, e))
			}
			ok, err := r.truthOf(v)
			if err != nil {
				return at(err, r.posOf(sc, e))
			}
			if ok {
				return r.execBody(e.body, sc, w)
			}
		}
		return r.execBody(x.els, sc, w)
	case *forStmt:
		return r.execFor(x, sc, w)
	case *assignStmt:
		v, err := r.eval(x.expr, sc)
		if err != nil {
			return at(err, r.posOf(sc, x))
		}
		return at(r.assign(x.target, v, sc), r.posOf(sc, x))
	case *assignBlockStmt:
		inner := newScope(sc, sc.tmpl, x.frame)
		bw := r.newWriter(false)
		if err := r.execBody(x.body, inner, bw); err != nil {
			return err
		}
		var v Value = bw.String()
		if r.autoescape {
			v = Markup(bw.String())
		}
		if x.filter != nil {
			var err error
			if v, err = r.applyFilterChain(x.filter, v, sc); err != nil {
				return at(err, r.posOf(sc, x))
			}
		}
		return at(r.assign(x.target, v, sc), r.posOf(sc, x))
	case *macroStmt:
		sc.set(x.macro.name, &Macro{def: x.macro, closure: sc})
		return nil
	case *callBlockStmt:
		caller := &Macro{def: x.caller, closure: sc}
		v, err := r.evalCall(x.call, sc, caller)
		if err != nil {
			return at(err, r.posOf(sc, x))
		}
		return at(w.writeValue(v), r.posOf(sc, x))
	case *filterBlockStmt:
		inner := newScope(sc, sc.tmpl, x.frame)
		bw := r.newWriter(false)
		if err := r.execBody(x.body, inner, bw); err != nil {
			return err
		}
		var body Value = bw.String()
		if r.autoescape {
			body = Markup(bw.String())
		}
		v, err := r.applyFilterChain(x.filter, body, inner)
		if err != nil {
			return at(err, r.posOf(sc, x))
		}
		return at(w.writeValue(v), r.posOf(sc, x))
	case *withStmt:
		vals := make([]Value, len(x.values))
		for i, e := range x.values {
			v, err := r.eval(e, sc)
			if err != nil {
				return at(err, r.posOf(sc, e))
			}
			vals[i] = v
		}
		inner := newScope(sc, sc.tmpl, x.frame)
		for i, t := range x.targets {
			if err := r.assign(t, vals[i], inner); err != nil {
				return at(err, r.posOf(sc, x))
			}
		}
		return r.execBody(x.body, inner, w)
	case *exprStmt:
		_, err := r.eval(x.expr, sc)
		return at(err, r.posOf(sc, x))
	case *breakStmt:
		return errBreak
	case *continueStmt:
		return errContinue
	case *includeStmt:
		return r.execInclude(x, sc, w)
	case *importStmt:
		m, err := r.importModule(x.template, x.withContext, sc)
		if err != nil {
			return at(err, r.posOf(sc, x))
		}
		sc.set(x.target, m)
		return nil
	case *fromImportStmt:
		m, err := r.importModule(x.template, x.withContext, sc)
		if err != nil {
			return at(err, r.posOf(sc, x))
		}
		for i, name := range x.names {
			v, ok := m.vals[name]
			if !ok {
				v = Undefined{Hint: fmt.Sprintf("the template %s (imported on line %d) does not export the requested name %s", reprString(m.name), x.line, reprString(name)), Name: name}
			}
			sc.set(x.aliases[i], v)
		}
		return nil
	case *blockStmt:
		return r.execBlock(x, sc, w)
	case *extendsStmt:
		return r.execExtends(x, sc, w)
	case *autoescapeStmt:
		v, err := r.eval(x.value, sc)
		if err != nil {
			return at(err, r.posOf(sc, x))
		}
		prev := r.autoescape
		r.autoescape = truth(v)
		err = r.execBody(x.body, sc, w)
		r.autoescape = prev
		return err
	}
	return fmt.Errorf("jinja: cannot execute %T", n)
}

// assign stores a value into a set/for/with target.
func (r *renderer) assign(target node, v Value, sc *scope) error {
	switch t := target.(type) {
	case *nameExpr:
		sc.set(t.name, v)
		return nil
	case *nsRefExpr:
		ns, ok := r.lookup(sc, t.name).(*Namespace)
		if !ok {
			return newError(KindRuntime, "cannot assign attribute on non-namespace object")
		}
		return ns.attrs.set(t.attr, v)
	case *tupleExpr:
		items, err := r.unpack(v, len(t.items))
		if err != nil {
			return err
		}
		for i, it := range t.items {
			if err := r.assign(it, items[i], sc); err != nil {
				return err
			}
		}
		return nil
	}
	return newError(KindSyntax, "cannot assign to "+nodeTypeName(target))
}

func (r *renderer) unpack(v Value, n int) ([]Value, error) {
	if t, ok := v.(Tuple); ok && len(t) == n {
		return t, nil
	}
	if !isIterable(v) {
		return nil, typeErrorf("cannot unpack non-iterable %s object", typeName(v))
	}
	items, err := r.toList(v)
	if err != nil {
		return nil, err
	}
	if len(items) < n {
		return nil, errorf(KindValue, "not enough values to unpack (expected %d, got %d)", n, len(items))
	}
	if len(items) > n {
		return nil, errorf(KindValue, "too many values to unpack (expected %d)", n)
	}
	return items, nil
}

// Expressions.

func (r *renderer) eval(n node, sc *scope) (Value, error) {
	switch x := n.(type) {
	case *constExpr:
		return x.value, nil
	case *nameExpr:
		return r.lookup(sc, x.name), nil
	case *getattrExpr:
		obj, err := r.eval(x.obj, sc)
		if err != nil {
			return nil, err
		}
		v, err := r.getattr(obj, x.attr)
		return v, at(err, r.posOf(sc, x))
	case *getitemExpr:
		obj, err := r.eval(x.obj, sc)
		if err != nil {
			return nil, err
		}
		var key Value
		if s, ok := x.arg.(*sliceExpr); ok {
			sv := sliceValue{}
			for i, part := range []node{s.start, s.stop, s.step} {
				var pv Value
				if part != nil {
					if pv, err = r.eval(part, sc); err != nil {
						return nil, err
					}
				}
				switch i {
				case 0:
					sv.start = pv
				case 1:
					sv.stop = pv
				default:
					sv.step = pv
				}
			}
			key = sv
		} else if key, err = r.eval(x.arg, sc); err != nil {
			return nil, err
		}
		v, err := r.getitem(obj, key)
		return v, at(err, r.posOf(sc, x))
	case *callExpr:
		v, err := r.evalCall(x, sc, nil)
		return v, at(err, r.posOf(sc, x))
	case *filterExpr:
		var obj Value
		if x.obj != nil {
			var err error
			if obj, err = r.eval(x.obj, sc); err != nil {
				return nil, err
			}
		}
		v, err := r.applyFilter(x, obj, sc)
		return v, at(err, r.posOf(sc, x))
	case *testExpr:
		obj, err := r.eval(x.obj, sc)
		if err != nil {
			return nil, err
		}
		v, err := r.applyTest(x, obj, sc)
		return v, at(err, r.posOf(sc, x))
	case *listExpr:
		items := make([]Value, len(x.items))
		for i, it := range x.items {
			v, err := r.eval(it, sc)
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		return &List{Items: items}, r.chargeItems(len(items))
	case *tupleExpr:
		items := make(Tuple, len(x.items))
		for i, it := range x.items {
			v, err := r.eval(it, sc)
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		return items, r.chargeItems(len(items))
	case *dictExpr:
		d := &Dict{}
		for i := range x.keys {
			k, err := r.eval(x.keys[i], sc)
			if err != nil {
				return nil, err
			}
			v, err := r.eval(x.values[i], sc)
			if err != nil {
				return nil, err
			}
			if err := d.set(k, v); err != nil {
				return nil, at(err, r.posOf(sc, x.keys[i]))
			}
		}
		return d, r.chargeItems(2 * d.Len())
	case *condExpr:
		t, err := r.eval(x.test, sc)
		if err != nil {
			return nil, err
		}
		ok, err := r.truthOf(t)
		if err != nil {
			return nil, at(err, r.posOf(sc, x))
		}
		if ok {
			return r.eval(x.expr1, sc)
		}
		if x.expr2 != nil {
			return r.eval(x.expr2, sc)
		}
		pos := r.posOf(sc, x)
		where := fmt.Sprintf("line %d", pos.Line)
		if pos.Name != "" {
			where += " in " + reprString(pos.Name)
		}
		return Undefined{Hint: "the inline if-expression on " + where + " evaluated to false and no else section was defined."}, nil
	case *binExpr:
		a, err := r.eval(x.left, sc)
		if err != nil {
			return nil, err
		}
		b, err := r.eval(x.right, sc)
		if err != nil {
			return nil, err
		}
		v, err := r.binaryOp(x.op, a, b)
		return v, at(err, r.posOf(sc, x))
	case *concatExpr:
		var sb strings.Builder
		escaped := r.autoescape
		for _, it := range x.items {
			v, err := r.eval(it, sc)
			if err != nil {
				return nil, err
			}
			s, err := r.str(v)
			if err != nil {
				return nil, at(err, r.posOf(sc, it))
			}
			if escaped {
				s = string(escapeValue(markupOr(v, s)))
			}
			if err := r.charge(int64(len(s))); err != nil {
				return nil, at(err, r.posOf(sc, x))
			}
			sb.WriteString(s)
		}
		if escaped {
			return Markup(sb.String()), nil
		}
		return sb.String(), nil
	case *compareExpr:
		left, err := r.eval(x.expr, sc)
		if err != nil {
			return nil, err
		}
		for _, op := range x.ops {
			right, err := r.eval(op.expr, sc)
			if err != nil {
				return nil, err
			}
			ok, err := r.compare(op.op, left, right)
			if err != nil {
				return nil, at(err, r.posOf(sc, x))
			}
			if !ok {
				return false, nil
			}
			left = right
		}
		return true, nil
	case *andExpr:
		a, err := r.eval(x.left, sc)
		if err != nil {
			return nil, err
		}
		ok, err := r.truthOf(a)
		if err != nil {
			return nil, at(err, r.posOf(sc, x))
		}
		if !ok {
			return a, nil
		}
		return r.eval(x.right, sc)
	case *orExpr:
		a, err := r.eval(x.left, sc)
		if err != nil {
			return nil, err
		}
		ok, err := r.truthOf(a)
		if err != nil {
			return nil, at(err, r.posOf(sc, x))
		}
		if ok {
			return a, nil
		}
		return r.eval(x.right, sc)
	case *notExpr:
		v, err := r.eval(x.expr, sc)
		if err != nil {
			return nil, err
		}
		ok, err := r.truthOf(v)
		return !ok, at(err, r.posOf(sc, x))
	case *negExpr:
		v, err := r.eval(x.expr, sc)
		if err != nil {
			return nil, err
		}
		v, err = r.unaryOp(true, v)
		return v, at(err, r.posOf(sc, x))
	case *posExpr:
		v, err := r.eval(x.expr, sc)
		if err != nil {
			return nil, err
		}
		v, err = r.unaryOp(false, v)
		return v, at(err, r.posOf(sc, x))
	case *sliceExpr:
		return nil, newError(KindSyntax, "slice outside of a subscript")
	}
	return nil, fmt.Errorf("jinja: cannot evaluate %T", n)
}

func (r *renderer) compare(op string, a, b Value) (bool, error) {
	switch op {
	case "eq":
		return equal(a, b), nil
	case "ne":
		return !equal(a, b), nil
	case "in":
		return r.contains(b, a)
	case "notin":
		ok, err := r.contains(b, a)
		return !ok, err
	}
	return r.order(op, a, b)
}

// Attributes and items.

// sliceValue is a[start:stop:step].
type sliceValue struct{ start, stop, step Value }

// getattr is the sandboxed environment's getattr: attributes (methods
// included) first, then items; names starting with "_" are unsafe.
func (r *renderer) getattr(obj Value, name string) (Value, error) {
	if u, ok := obj.(Undefined); ok {
		if undefinedDunders[name] {
			return unsafeUndefined(obj, name), nil
		}
		if r.env.Undefined == UndefinedCapture {
			return Undefined{Name: name}, nil
		}
		return nil, r.undefinedError(u)
	}
	if isDunder(name) {
		return unsafeUndefined(obj, name), nil
	}
	if v, ok := r.attribute(obj, name); ok {
		if strings.HasPrefix(name, "_") {
			return unsafeUndefined(obj, name), nil
		}
		return v, nil
	}
	if v, ok, err := r.item(obj, name); err != nil {
		return nil, err
	} else if ok {
		return v, nil
	}
	return Undefined{obj: obj, hasObj: true, Name: name}, nil
}

// undefinedDunders are the dunder attributes jinja2.Undefined really has:
// the sandbox refuses them quietly, where others fail.
var undefinedDunders = map[string]bool{
	"__class__": true, "__doc__": true, "__module__": true, "__init__": true, "__getattr__": true,
	"__eq__": true, "__ne__": true, "__hash__": true, "__str__": true, "__len__": true, "__iter__": true,
	"__bool__": true, "__repr__": true, "__add__": true, "__radd__": true, "__sub__": true, "__mul__": true,
	"__call__": true, "__getitem__": true, "__lt__": true, "__le__": true, "__gt__": true, "__ge__": true,
	"__int__": true, "__float__": true, "__slots__": true, "__dir__": true, "__reduce__": true,
	"__setattr__": true, "__delattr__": true, "__new__": true, "__format__": true, "__sizeof__": true,
	"__subclasshook__": true, "__init_subclass__": true, "__getattribute__": true, "__reduce_ex__": true,
	"__aiter__": true, "__pow__": true, "__mod__": true, "__neg__": true, "__pos__": true,
	"__truediv__": true, "__floordiv__": true, "__rsub__": true, "__rmul__": true, "__rtruediv__": true,
	"__rfloordiv__": true, "__rmod__": true, "__rpow__": true, "__complex__": true, "__div__": true,
	"__rdiv__": true,
}

// Python objects have most dunder attributes, which the sandbox refuses.
func isDunder(name string) bool {
	return len(name) > 4 && strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__")
}

func unsafeUndefined(obj Value, name string) Undefined {
	return Undefined{Hint: fmt.Sprintf("access to attribute %s of %s object is unsafe.", reprString(name), reprString(typeName(obj))), Name: name, kind: KindSecurity}
}

// attribute is Python's getattr(obj, name) on the engine's values.
func (r *renderer) attribute(obj Value, name string) (Value, bool) {
	switch x := obj.(type) {
	case string, Markup, *List, Tuple, *Dict, *dictView:
		if hasMethod(obj, name) {
			return &boundMethod{recv: obj, name: name}, true
		}
		return nil, false
	case *loopContext:
		return x.attr(r, name)
	case *groupTuple:
		if v, ok := x.Attr(name); ok {
			return v, true
		}
		if hasMethod(x.tuple(), name) {
			return &boundMethod{recv: x.tuple(), name: name}, true
		}
		return nil, false
	case *cycler:
		return x.attr(name)
	case *joiner:
		return nil, false
	case int64, *big.Int, bool:
		if bv, isBool := obj.(bool); isBool {
			obj = map[bool]int64{false: 0, true: 1}[bv]
		}
		switch name {
		case "real", "numerator":
			return obj, true
		case "imag":
			return int64(0), true
		case "denominator":
			return int64(1), true
		}
		return nil, false
	case float64:
		switch name {
		case "real":
			return x, true
		case "imag":
			return 0.0, true
		}
		if name == "is_integer" {
			return &boundMethod{recv: obj, name: name}, true
		}
		return nil, false
	case Object:
		return x.Attr(name)
	}
	return nil, false
}

// getitem is the sandboxed environment's getitem: items first, then
// attributes for string keys.
func (r *renderer) getitem(obj, key Value) (Value, error) {
	if u, ok := obj.(Undefined); ok {
		if r.env.Undefined == UndefinedCapture {
			return Undefined{Name: u.Name}, nil
		}
		return nil, r.undefinedError(u)
	}
	if sv, isSlice := key.(sliceValue); isSlice {
		// Jinja2 compiles slices to Python subscripts, bypassing the
		// environment's getitem: their errors are not turned into undefined.
		v, ok, err := r.slice(obj, sv)
		if err != nil || ok {
			return v, err
		}
		if _, isDict := obj.(*Dict); isDict {
			return nil, typeErrorf("unhashable type: 'slice'")
		}
		if it, isItem := obj.(interface{ Item(Value) (Value, bool) }); isItem {
			if v, ok := it.Item(sv); ok {
				return v, nil
			}
		}
		return nil, typeErrorf("%s object is not subscriptable", reprString(typeName(obj)))
	}
	v, ok, err := r.item(obj, key)
	if err != nil {
		return nil, err
	}
	if ok {
		return v, nil
	}
	if name, isStr := key.(string); isStr {
		if isDunder(name) {
			return unsafeUndefined(obj, name), nil
		}
		if v, ok := r.attribute(obj, name); ok {
			if strings.HasPrefix(name, "_") {
				return unsafeUndefined(obj, name), nil
			}
			return v, nil
		}
		return Undefined{obj: obj, hasObj: true, Name: name}, nil
	}
	return Undefined{obj: obj, hasObj: true, key: key, isKey: true, Name: pyStr(key)}, nil
}

// item is obj[key]; ok is false where Python raises TypeError or
// LookupError (which Jinja2 turns into undefined). err is for the errors
// Jinja2 lets through (a zero slice step).
func (r *renderer) item(obj, key Value) (Value, bool, error) {
	if sv, ok := key.(sliceValue); ok {
		return r.slice(obj, sv)
	}
	switch x := obj.(type) {
	case *Dict:
		h, err := hashKey(key)
		if err != nil {
			return nil, false, nil
		}
		v, ok := x.get(h)
		return v, ok, nil
	case *List:
		i, ok := seqIndex(key, len(x.Items))
		if !ok {
			return nil, false, nil
		}
		return x.Items[i], true, nil
	case Tuple:
		i, ok := seqIndex(key, len(x))
		if !ok {
			return nil, false, nil
		}
		return x[i], true, nil
	case *groupTuple:
		return r.item(x.tuple(), key)
	case string:
		if isASCII(x) {
			i, ok := seqIndex(key, len(x))
			if !ok {
				return nil, false, nil
			}
			return x[i : i+1], true, nil
		}
		rs := []rune(x)
		i, ok := seqIndex(key, len(rs))
		if !ok {
			return nil, false, nil
		}
		return string(rs[i]), true, nil
	case Markup:
		v, ok, err := r.item(string(x), key)
		if s, isStr := v.(string); isStr {
			return Markup(s), ok, err
		}
		return v, ok, err
	case Range:
		n := x.Len()
		if n > math.MaxInt32 {
			n = math.MaxInt32
		}
		i, ok := seqIndex(key, int(n))
		if !ok {
			return nil, false, nil
		}
		return x.At(int64(i)), true, nil
	case *Namespace, *Macro:
		return nil, false, nil
	}
	if it, ok := obj.(interface{ Item(Value) (Value, bool) }); ok {
		v, ok := it.Item(key)
		return v, ok, nil
	}
	return nil, false, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// seqIndex resolves a Python index (negative from the end) into [0, n).
func seqIndex(key Value, n int) (int, bool) {
	kind, i, _, _ := number(key)
	if kind != 'i' {
		return 0, false
	}
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// sliceIndices is Python's slice.indices(n).
func sliceIndices(sv sliceValue, n int) (start, stop, step int, ok bool, err error) {
	get := func(v Value) (int64, bool, bool) {
		if v == nil {
			return 0, false, true
		}
		kind, i, b, _ := number(v)
		switch kind {
		case 'i':
			return i, true, true
		case 'b':
			if b.Sign() < 0 {
				return math.MinInt64 / 2, true, true
			}
			return math.MaxInt64 / 2, true, true
		}
		return 0, false, false
	}
	st, hasStep, ok1 := get(sv.step)
	a, hasA, ok2 := get(sv.start)
	b, hasB, ok3 := get(sv.stop)
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, 0, false, nil
	}
	if !hasStep {
		st = 1
	}
	if st == 0 {
		return 0, 0, 0, false, newError(KindValue, "slice step cannot be zero")
	}
	ln := int64(n)
	clamp := func(x int64, has bool, def int64) int64 {
		if !has {
			return def
		}
		if x < 0 {
			x += ln
			if x < 0 {
				if st < 0 {
					return -1
				}
				return 0
			}
		} else if x >= ln {
			if st < 0 {
				return ln - 1
			}
			return ln
		}
		return x
	}
	var s, e int64
	if st > 0 {
		s, e = clamp(a, hasA, 0), clamp(b, hasB, ln)
	} else {
		s, e = clamp(a, hasA, ln-1), clamp(b, hasB, -1)
	}
	return int(s), int(e), int(st), true, nil
}

func sliceItems[T any](items []T, start, stop, step int) []T {
	var out []T
	if step > 0 {
		for i := start; i < stop; i += step {
			out = append(out, items[i])
		}
	} else {
		for i := start; i > stop; i += step {
			out = append(out, items[i])
		}
	}
	return out
}

func (r *renderer) slice(obj Value, sv sliceValue) (Value, bool, error) {
	var n int
	switch x := obj.(type) {
	case *List:
		n = len(x.Items)
	case Tuple:
		n = len(x)
	case string:
		n = len(x)
		if !isASCII(x) {
			n = len([]rune(x))
		}
	case Markup:
		v, ok, err := r.slice(string(x), sv)
		if s, isStr := v.(string); isStr {
			return Markup(s), ok, err
		}
		return v, ok, err
	case Range:
		n = int(min(x.Len(), math.MaxInt32))
	case *groupTuple:
		return r.slice(x.tuple(), sv)
	default:
		return nil, false, nil
	}
	start, stop, step, ok, err := sliceIndices(sv, n)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, typeErrorf("slice indices must be integers or None or have an __index__ method")
	}
	switch x := obj.(type) {
	case *List:
		items := sliceItems(x.Items, start, stop, step)
		return &List{Items: items}, true, r.chargeItems(len(items))
	case Tuple:
		return Tuple(sliceItems(x, start, stop, step)), true, nil
	case string:
		if isASCII(x) && step == 1 {
			if start >= stop {
				return "", true, nil
			}
			return x[start:stop], true, nil
		}
		rs := sliceItems([]rune(x), start, stop, step)
		return string(rs), true, nil
	case Range:
		cnt := 0
		if step > 0 && stop > start {
			cnt = (stop - start + step - 1) / step
		} else if step < 0 && start > stop {
			cnt = (start - stop - step - 1) / -step
		}
		s := x.At(int64(start))
		return Range{Start: s, Stop: s + int64(cnt)*x.Step*int64(step), Step: x.Step * int64(step)}, true, nil
	}
	return nil, false, nil
}

// Iteration.

func isIterable(v Value) bool {
	switch v.(type) {
	case string, Markup, *List, Tuple, *Dict, Undefined, Range, *Iterator, *dictView, *groupTuple, *loopContext:
		return true
	case nil, bool, int64, int, float64, *big.Int:
		return false
	}
	_, ok := v.(interface{ Iter() ([]Value, error) })
	return ok
}

// iterate calls f for each item of v (Python's iter()); f returns false to
// stop.
func (r *renderer) iterate(v Value, f func(Value) (bool, error)) error {
	switch x := v.(type) {
	case Range:
		n := x.Len()
		for i := int64(0); i < n; i++ {
			if i&1023 == 1023 {
				if err := r.tick(); err != nil {
					return err
				}
			}
			more, err := f(x.At(i))
			if err != nil || !more {
				return err
			}
		}
		return nil
	case *Iterator:
		for {
			it, ok, err := x.Next()
			if err != nil || !ok {
				return err
			}
			more, err := f(it)
			if err != nil || !more {
				return err
			}
		}
	case Undefined:
		if r.env.Undefined == UndefinedStrict {
			return r.undefinedError(x)
		}
		return nil
	}
	items, err := r.toList(v)
	if err != nil {
		return err
	}
	for _, it := range items {
		more, err := f(it)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// toList is list(v). The result may share memory with v: copy before
// changing it.
func (r *renderer) toList(v Value) ([]Value, error) {
	switch x := v.(type) {
	case *List:
		return x.Items, nil
	case Tuple:
		return x, nil
	case *groupTuple:
		return x.tuple(), nil
	case *Dict:
		return x.keys, nil
	case *dictView:
		return x.items(), nil
	case string:
		return stringChars(x), r.chargeItems(len(x))
	case Markup:
		chars := stringChars(string(x))
		for i, c := range chars {
			chars[i] = Markup(c.(string))
		}
		return chars, nil
	case Range:
		n := x.Len()
		if err := r.chargeItems(int(min(n, math.MaxInt32))); err != nil {
			return nil, err
		}
		out := make([]Value, n)
		for i := range out {
			out[i] = x.At(int64(i))
		}
		return out, nil
	case Undefined:
		if r.env.Undefined == UndefinedStrict {
			return nil, r.undefinedError(x)
		}
		return nil, nil
	case *Iterator:
		var out []Value
		for {
			it, ok, err := x.Next()
			if err != nil {
				return nil, err
			}
			if !ok {
				return out, nil
			}
			if len(out)&1023 == 1023 {
				if err := r.chargeItems(1024); err != nil {
					return nil, err
				}
				if err := r.tick(); err != nil {
					return nil, err
				}
			}
			out = append(out, it)
		}
	case *loopContext:
		// Iterating the loop object consumes the loop's remaining items,
		// each as (item, loop).
		var out []Value
		for x.index0+1 < len(x.items) {
			x.index0++
			out = append(out, Tuple{x.items[x.index0], x})
		}
		return out, nil
	}
	if it, ok := v.(interface{ Iter() ([]Value, error) }); ok {
		return it.Iter()
	}
	return nil, typeErrorf("%s object is not iterable", reprString(typeName(v)))
}

func stringChars(s string) []Value {
	out := make([]Value, 0, len(s))
	for _, c := range s {
		out = append(out, string(c))
	}
	return out
}

// length is len(v).
func (r *renderer) length(v Value) (int, error) {
	switch x := v.(type) {
	case string:
		if isASCII(x) {
			return len(x), nil
		}
		return len([]rune(x)), nil
	case Markup:
		return r.length(string(x))
	case *List:
		return len(x.Items), nil
	case Tuple:
		return len(x), nil
	case *groupTuple:
		return 2, nil
	case *Dict:
		return x.Len(), nil
	case *dictView:
		return x.d.Len(), nil
	case Range:
		return int(x.Len()), nil
	case Undefined:
		if r.env.Undefined == UndefinedStrict {
			return 0, r.undefinedError(x)
		}
		return 0, nil
	case *Namespace:
		return 0, typeErrorf("object of type 'Namespace' has no len()")
	}
	if l, ok := v.(interface{ Len() int }); ok {
		return l.Len(), nil
	}
	return 0, typeErrorf("object of type %s has no len()", reprString(typeName(v)))
}
