package jinja

import (
	"errors"
	"fmt"
	"strings"
)

// Calls, filters, tests, loops, includes, imports and inheritance.

func (r *renderer) evalArgs(a *callArgs, sc *scope) (Args, error) {
	var out Args
	if len(a.args) > 0 {
		out.Pos = make([]Value, 0, len(a.args))
	}
	for _, e := range a.args {
		v, err := r.eval(e, sc)
		if err != nil {
			return out, err
		}
		out.Pos = append(out.Pos, v)
	}
	for i, e := range a.kwValues {
		v, err := r.eval(e, sc)
		if err != nil {
			return out, err
		}
		out.Kw = append(out.Kw, KV{a.kwNames[i], v})
	}
	if a.dynArgs != nil {
		v, err := r.eval(a.dynArgs, sc)
		if err != nil {
			return out, err
		}
		if !isIterable(v) {
			return out, typeErrorf("argument after * must be an iterable, not %s", typeName(v))
		}
		items, err := r.toList(v)
		if err != nil {
			return out, err
		}
		out.Pos = append(out.Pos, items...)
	}
	if a.dynKwargs != nil {
		v, err := r.eval(a.dynKwargs, sc)
		if err != nil {
			return out, err
		}
		d, ok := v.(*Dict)
		if !ok {
			if u, isU := v.(Undefined); isU {
				return out, r.undefinedError(u)
			}
			return out, typeErrorf("argument after ** must be a mapping, not %s", typeName(v))
		}
		for i, k := range d.keys {
			name, ok := k.(string)
			if !ok {
				return out, typeErrorf("keywords must be strings")
			}
			if _, dup := out.Kwarg(name); dup {
				return out, typeErrorf("got multiple values for keyword argument %s", reprString(name))
			}
			out.Kw = append(out.Kw, KV{name, d.vals[i]})
		}
	}
	return out, nil
}

func (r *renderer) evalCall(x *callExpr, sc *scope, caller *Macro) (Value, error) {
	fn, err := r.eval(x.fn, sc)
	if err != nil {
		return nil, err
	}
	args, err := r.evalArgs(&x.callArgs, sc)
	if err != nil {
		return nil, err
	}
	if caller != nil {
		args.Kw = append(args.Kw, KV{"caller", caller})
	}
	return r.call(fn, args, r.posOf(sc, x), sc)
}

// call calls any callable value.
func (r *renderer) call(fn Value, args Args, pos Position, sc *scope) (Value, error) {
	if err := r.tick(); err != nil {
		return nil, err
	}
	switch f := fn.(type) {
	case *Macro:
		return r.callMacro(f, args, pos)
	case *boundMethod:
		v, err := r.callMethod(f.recv, f.name, args)
		if err != nil {
			return nil, err
		}
		return v, r.chargeResult(v)
	case *funcValue:
		v, err := f.fn(&Call{r: r, pos: pos, sc: sc}, args)
		if err != nil {
			return nil, err
		}
		return v, r.chargeResult(v)
	case Func:
		v, err := f(&Call{r: r, pos: pos, sc: sc}, args)
		if err != nil {
			return nil, err
		}
		return FromGo(v), r.chargeResult(v)
	case *loopContext:
		return f.call(r, args, pos)
	case *blockRef:
		return r.callBlock(f, pos)
	case Undefined:
		if r.env.Undefined == UndefinedCapture {
			return f, nil
		}
		return nil, r.undefinedError(f)
	case Callable:
		v, err := f.CallJinja(&Call{r: r, pos: pos, sc: sc}, args)
		if err != nil {
			return nil, err
		}
		return FromGo(v), r.chargeResult(v)
	}
	return nil, typeErrorf("%s object is not callable", reprString(typeName(fn)))
}

// chargeResult counts what a built-in or host function returned.
func (r *renderer) chargeResult(v Value) error {
	switch x := v.(type) {
	case string:
		return r.charge(int64(len(x)))
	case Markup:
		return r.charge(int64(len(x)))
	case *List:
		return r.chargeItems(len(x.Items))
	case Tuple:
		return r.chargeItems(len(x))
	case *Dict:
		return r.chargeItems(2 * x.Len())
	}
	return nil
}

func (r *renderer) callMacro(m *Macro, args Args, pos Position) (Value, error) {
	def := m.def
	frame := Frame{Name: "macro " + def.name, Def: m.Position(), Call: pos}
	if def.isCaller {
		frame.Name = "caller()"
	}
	if err := r.enterCall(frame); err != nil {
		return nil, err
	}
	defer r.leaveCall()

	// Bind the arguments as Jinja2's Macro.__call__ does.
	n := len(def.params)
	arguments := make([]Value, 0, n+3)
	arguments = append(arguments, args.Pos[:min(len(args.Pos), n)]...)
	var kw []KV
	if len(args.Kw) > 0 {
		kw = append(kw, args.Kw...)
	}
	pop := func(name string) (Value, bool) {
		for i, kv := range kw {
			if kv.Name == name {
				kw = append(kw[:i], kw[i+1:]...)
				return kv.Value, true
			}
		}
		return nil, false
	}
	foundCaller := false
	if len(arguments) != n {
		for _, name := range def.params[len(arguments):] {
			v, ok := pop(name)
			if !ok {
				v = Missing
			}
			if name == "caller" {
				foundCaller = true
			}
			arguments = append(arguments, v)
		}
	} else {
		foundCaller = def.explicitCaller >= 0
	}
	var callerV Value
	if def.caller && !foundCaller {
		c, ok := pop("caller")
		if !ok || c == nil {
			c = Undefined{Hint: "No caller defined", Name: "caller"}
		}
		callerV = c
	}
	macroName := func() string {
		if def.isCaller {
			return "None"
		}
		return reprString(def.name)
	}
	var kwargs *Dict
	if def.catchKwargs {
		kwargs = &Dict{}
		for _, kv := range kw {
			_ = kwargs.set(kv.Name, kv.Value)
		}
	} else if len(kw) > 0 {
		for _, kv := range kw {
			if kv.Name == "caller" {
				return nil, typeErrorf("macro %s was invoked with two values for the special caller argument. This is most likely a bug.", macroName())
			}
		}
		return nil, typeErrorf("macro %s takes no keyword argument %s", macroName(), reprString(kw[0].Name))
	}
	var varargs Tuple
	if def.catchVarargs {
		if len(args.Pos) > n {
			varargs = append(Tuple(nil), args.Pos[n:]...)
		} else {
			varargs = Tuple{}
		}
	} else if len(args.Pos) > n {
		return nil, typeErrorf("macro %s takes not more than %d argument(s)", macroName(), n)
	}

	sc := newScope(m.closure, def.template, def.frame)
	for i, name := range def.params {
		sc.set(name, arguments[i])
	}
	if def.caller && !foundCaller {
		sc.set("caller", callerV)
	}
	if def.catchKwargs {
		sc.set("kwargs", kwargs)
	}
	if def.catchVarargs {
		sc.set("varargs", varargs)
	}
	firstDefault := n - len(def.defaults)
	for i, name := range def.params {
		if arguments[i] != Missing {
			continue
		}
		if i >= firstDefault {
			v, err := r.eval(def.defaults[i-firstDefault], sc)
			if err != nil {
				return nil, r.wrapCallError(at(err, r.posOf(sc, def.defaults[i-firstDefault])), frame)
			}
			sc.set(name, v)
		} else {
			sc.set(name, Undefined{Hint: fmt.Sprintf("parameter %s was not provided", reprString(name)), Name: name})
		}
	}
	w := r.newWriter(false)
	if err := r.execBody(def.body, sc, w); err != nil {
		if rs, ok := err.(*returnSignal); ok && !def.isCaller {
			return rs.value, nil
		}
		return nil, r.wrapCallError(err, frame)
	}
	if r.autoescape {
		return Markup(w.String()), nil
	}
	return w.String(), nil
}

// Filters and tests.

func (r *renderer) applyFilter(x *filterExpr, obj Value, sc *scope) (Value, error) {
	f, ok := r.env.Filters[x.name]
	if !ok {
		return nil, newError(KindRuntime, fmt.Sprintf("No filter named %s found.", reprString(x.name)))
	}
	args, err := r.evalArgs(&x.callArgs, sc)
	if err != nil {
		return nil, err
	}
	v, err := f(&Call{r: r, pos: r.posOf(sc, x), sc: sc}, obj, args)
	if err != nil {
		return nil, err
	}
	return v, r.chargeResult(v)
}

// applyFilterChain applies a filter block's or block set's filters, whose
// innermost filter has no object, to v.
func (r *renderer) applyFilterChain(n node, v Value, sc *scope) (Value, error) {
	x, ok := n.(*filterExpr)
	if !ok {
		return nil, fmt.Errorf("jinja: not a filter: %T", n)
	}
	in := v
	if x.obj != nil {
		var err error
		if in, err = r.applyFilterChain(x.obj, v, sc); err != nil {
			return nil, err
		}
	}
	out, err := r.applyFilter(x, in, sc)
	return out, at(err, r.posOf(sc, x))
}

func (r *renderer) applyTest(x *testExpr, obj Value, sc *scope) (Value, error) {
	t, ok := r.env.Tests[x.name]
	if !ok {
		return nil, newError(KindRuntime, fmt.Sprintf("No test named %s found.", reprString(x.name)))
	}
	args, err := r.evalArgs(&x.callArgs, sc)
	if err != nil {
		return nil, err
	}
	ok, err = t(&Call{r: r, pos: r.posOf(sc, x), sc: sc}, obj, args)
	return ok, err
}

// Loops.

type loopContext struct {
	items   []Value
	index0  int
	depth0  int
	changed []Value
	hasLast bool
	st      *forStmt
	sc      *scope
}

func (l *loopContext) attr(r *renderer, name string) (Value, bool) {
	n := len(l.items)
	switch name {
	case "index0":
		return int64(l.index0), true
	case "index":
		return int64(l.index0 + 1), true
	case "revindex":
		return int64(n - l.index0), true
	case "revindex0":
		return int64(n - l.index0 - 1), true
	case "first":
		return l.index0 == 0, true
	case "last":
		return l.index0 == n-1, true
	case "length":
		return int64(n), true
	case "depth":
		return int64(l.depth0 + 1), true
	case "depth0":
		return int64(l.depth0), true
	case "previtem":
		if l.index0 == 0 {
			return Undefined{Hint: "there is no previous item", Name: "previtem"}, true
		}
		return l.items[l.index0-1], true
	case "nextitem":
		if l.index0+1 >= n {
			return Undefined{Hint: "there is no next item", Name: "nextitem"}, true
		}
		return l.items[l.index0+1], true
	case "cycle":
		return &funcValue{name: "cycle", fn: func(c *Call, a Args) (Value, error) {
			if len(a.Pos) == 0 {
				return nil, typeErrorf("no items for cycling given")
			}
			return a.Pos[l.index0%len(a.Pos)], nil
		}}, true
	case "changed":
		return &funcValue{name: "changed", fn: func(c *Call, a Args) (Value, error) {
			if l.hasLast && seqEqual(l.changed, a.Pos, 0) {
				return false, nil
			}
			l.changed, l.hasLast = append([]Value(nil), a.Pos...), true
			return true, nil
		}}, true
	}
	return nil, false
}

// call is loop(iterable) in a recursive loop.
func (l *loopContext) call(r *renderer, args Args, pos Position) (Value, error) {
	if !l.st.recursive {
		return nil, typeErrorf("The loop must be marked as recursive in order to be called recursively.")
	}
	if len(args.Pos) != 1 || len(args.Kw) > 0 {
		return nil, typeErrorf("loop() takes exactly one argument")
	}
	frame := Frame{Name: "loop()", Def: r.posOf(l.sc, l.st), Call: pos}
	if err := r.enterCall(frame); err != nil {
		return nil, err
	}
	defer r.leaveCall()
	w := r.newWriter(false)
	if err := r.runLoop(l.st, args.Pos[0], l.sc, w, l.depth0+1); err != nil {
		return nil, r.wrapCallError(err, frame)
	}
	if r.autoescape {
		return Markup(w.String()), nil
	}
	return w.String(), nil
}

func (r *renderer) execFor(st *forStmt, sc *scope, w *writer) error {
	it, err := r.eval(st.iter, sc)
	if err != nil {
		return at(err, r.posOf(sc, st))
	}
	return r.runLoop(st, it, sc, w, 0)
}

func (r *renderer) runLoop(st *forStmt, iterable Value, sc *scope, w *writer, depth0 int) error {
	if !isIterable(iterable) {
		return at(typeErrorf("%s object is not iterable", reprString(typeName(iterable))), r.posOf(sc, st))
	}
	items, err := r.toList(iterable)
	if err != nil {
		return at(err, r.posOf(sc, st))
	}
	if st.test != nil {
		var kept []Value
		for _, it := range items {
			tsc := newScope(sc, sc.tmpl, nil)
			if err := r.assign(st.target, it, tsc); err != nil {
				return at(err, r.posOf(sc, st))
			}
			v, err := r.eval(st.test, tsc)
			if err != nil {
				return at(err, r.posOf(sc, st.test))
			}
			ok, err := r.truthOf(v)
			if err != nil {
				return at(err, r.posOf(sc, st.test))
			}
			if ok {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	// Jinja2 runs the else block unless an iteration ran its whole body:
	// a loop whose iterations all end in break or continue runs it too.
	completed := false
	runElse := func() error {
		if completed || st.els == nil {
			return nil
		}
		return r.execBody(st.els, newScope(sc, sc.tmpl, st.elseFrame), w)
	}
	lc := &loopContext{items: items, depth0: depth0, st: st, sc: sc, index0: -1}
	// The loop advances through lc, because iterating "loop" in the body
	// consumes the rest of the items, as in Jinja2.
	for lc.index0+1 < len(items) {
		if err := r.tick(); err != nil {
			return at(err, r.posOf(sc, st))
		}
		lc.index0++
		it := items[lc.index0]
		lsc := newScope(sc, sc.tmpl, st.frame)
		if err := r.assign(st.target, it, lsc); err != nil {
			return at(err, r.posOf(sc, st))
		}
		lsc.set("loop", lc)
		if err := r.execBody(st.body, lsc, w); err != nil {
			if err == errBreak {
				break
			}
			if err == errContinue {
				continue
			}
			return err
		}
		completed = true
	}
	return runElse()
}

// Includes and imports.

func (r *renderer) loadTemplate(v Value) (*Template, error) {
	switch x := v.(type) {
	case string:
		return r.env.Template(x)
	case Markup:
		return r.env.Template(string(x))
	case *List, Tuple:
		items, _ := r.toList(x)
		var names []string
		for _, it := range items {
			if u, ok := it.(Undefined); ok {
				return nil, r.undefinedError(u)
			}
			t, err := r.loadTemplate(it)
			if err == nil {
				return t, nil
			}
			if e := asError(err); e.Kind != KindNotFound {
				return nil, err
			}
			names = append(names, pyStr(it))
		}
		return nil, &Error{Kind: KindNotFound, Msg: "none of the templates given were found: " + strings.Join(names, ", "), Err: ErrTemplateNotFound}
	case Undefined:
		return nil, r.undefinedError(x)
	}
	return nil, &Error{Kind: KindNotFound, Msg: pyStr(v), Err: ErrTemplateNotFound}
}

func (r *renderer) execInclude(x *includeStmt, sc *scope, w *writer) error {
	pos := r.posOf(sc, x)
	v, err := r.eval(x.template, sc)
	if err != nil {
		return at(err, pos)
	}
	t, err := r.loadTemplate(v)
	if err != nil {
		if x.ignoreMissing && errors.Is(err, ErrTemplateNotFound) {
			return nil
		}
		return at(err, pos)
	}
	frame := Frame{Name: "include " + reprString(t.name), Def: Position{t.name, 1, 1}, Call: pos}
	if err := r.enterCall(frame); err != nil {
		return at(err, pos)
	}
	defer r.leaveCall()
	var parent *scope
	if x.withContext {
		parent = sc
	}
	saved := r.blocks
	r.blocks = nil
	err = r.renderTemplate(t, w, parent)
	r.blocks = saved
	return r.wrapCallError(err, frame)
}

func (r *renderer) importModule(expr node, withContext bool, sc *scope) (*Module, error) {
	v, err := r.eval(expr, sc)
	if err != nil {
		return nil, err
	}
	t, err := r.loadTemplate(v)
	if err != nil {
		return nil, err
	}
	if !withContext {
		if m, ok := r.modules[t.name]; ok {
			return m, nil
		}
	}
	var parent *scope
	if withContext {
		parent = sc
	}
	m, err := r.makeModule(t, parent)
	if err != nil {
		return nil, err
	}
	if !withContext {
		if r.modules == nil {
			r.modules = map[string]*Module{}
		}
		r.modules[t.name] = m
	}
	return m, nil
}

func (r *renderer) makeModule(t *Template, parent *scope) (*Module, error) {
	frame := Frame{Name: "import " + reprString(t.name), Def: Position{t.name, 1, 1}}
	if err := r.enterCall(frame); err != nil {
		return nil, err
	}
	defer r.leaveCall()
	prev, saved := r.template, r.blocks
	r.template, r.blocks = t, nil
	defer func() { r.template, r.blocks = prev, saved }()
	sc := newScope(parent, t, t.frame)
	w := r.newWriter(false)
	if err := r.execBody(t.body, sc, w); err != nil {
		return nil, r.wrapCallError(err, frame)
	}
	m := &Module{name: t.name, vals: map[string]Value{}, body: w.String()}
	for i, n := range sc.names {
		if sc.vals[i] == Missing || strings.HasPrefix(n, "_") {
			continue
		}
		if _, dup := m.vals[n]; !dup {
			m.names = append(m.names, n)
		}
		m.vals[n] = sc.vals[i]
	}
	return m, nil
}

// Template inheritance.

type blockImpl struct {
	st   *blockStmt
	tmpl *Template
}

// blockRef is super() and self.name(): it renders a block of the chain.
type blockRef struct {
	name  string
	index int
	sc    *scope
}

func (r *renderer) renderExtends(t *Template, w *writer, parent *scope) error {
	saved := r.blocks
	r.blocks = map[string][]blockImpl{}
	defer func() { r.blocks = saved }()
	for name, b := range t.blocks {
		r.blocks[name] = append(r.blocks[name], blockImpl{b, t})
	}
	cur := t
	sc := newScope(parent, t, t.frame)
	savedDiscard := w.discard
	defer func() { w.discard = savedDiscard }()
	for chain := 0; ; chain++ {
		// A template that extends itself (or a cycle of them) recurses
		// in Jinja2 until Python's stack runs out.
		if chain > r.lim.MaxCallDepth {
			e := limitError(LimitCallDepth, fmt.Sprintf("templates extend each other more than %d deep (Limits.MaxCallDepth): do they extend in a cycle?", r.lim.MaxCallDepth))
			return at(e, r.extendsAt)
		}
		r.parentTemplate = nil
		r.root = sc
		w.discard = savedDiscard
		if err := r.execBody(cur.body, sc, w); err != nil {
			return err
		}
		next := r.parentTemplate
		if next == nil {
			return nil
		}
		for name, b := range next.blocks {
			r.blocks[name] = append(r.blocks[name], blockImpl{b, next})
		}
		r.template = next
		sc = newScope(sc, next, next.frame)
		cur = next
		w.discard = savedDiscard
		if next.extend {
			continue
		}
		// The last template of the chain renders normally.
		r.parentTemplate = nil
		r.root = sc
		return r.execBody(cur.body, sc, w)
	}
}

func (r *renderer) execExtends(x *extendsStmt, sc *scope, w *writer) error {
	pos := r.posOf(sc, x)
	if r.parentTemplate != nil {
		return at(newError(KindRuntime, "extended multiple times"), pos)
	}
	v, err := r.eval(x.template, sc)
	if err != nil {
		return at(err, pos)
	}
	t, err := r.loadTemplate(v)
	if err != nil {
		return at(err, pos)
	}
	r.parentTemplate, r.extendsAt = t, pos
	w.discard = true
	return nil
}

func (r *renderer) execBlock(x *blockStmt, sc *scope, w *writer) error {
	if w.discard {
		return nil
	}
	impls := r.blocks[x.name]
	if len(impls) == 0 {
		impls = []blockImpl{{x, sc.tmpl}}
	}
	return r.renderBlock(x.name, impls, 0, sc, w)
}

func (r *renderer) renderBlock(name string, impls []blockImpl, i int, sc *scope, w *writer) error {
	b := impls[i]
	if b.st.required {
		return newError(KindRuntime, fmt.Sprintf("Required block %s not found", reprString(name)))
	}
	parent := r.root
	if b.st.scoped || parent == nil {
		parent = sc
	}
	bsc := newScope(parent, b.tmpl, b.st.frame)
	if i+1 < len(impls) {
		bsc.set("super", &blockRef{name: name, index: i + 1, sc: sc})
	} else {
		bsc.set("super", Undefined{Hint: fmt.Sprintf("there is no parent block called %s.", reprString(name)), Name: "super"})
	}
	bsc.set("self", &selfRef{r: r, sc: sc})
	prev := r.template
	r.template = b.tmpl
	defer func() { r.template = prev }()
	return r.execBody(b.st.body, bsc, w)
}

func (r *renderer) callBlock(b *blockRef, pos Position) (Value, error) {
	impls := r.blocks[b.name]
	if b.index >= len(impls) {
		return nil, newError(KindRuntime, fmt.Sprintf("there is no parent block called %s.", reprString(b.name)))
	}
	frame := Frame{Name: "block " + reprString(b.name), Def: r.posOf(nil, impls[b.index].st), Call: pos}
	if err := r.enterCall(frame); err != nil {
		return nil, err
	}
	defer r.leaveCall()
	w := r.newWriter(false)
	if err := r.renderBlock(b.name, impls, b.index, b.sc, w); err != nil {
		return nil, r.wrapCallError(err, frame)
	}
	if r.autoescape {
		return Markup(w.String()), nil
	}
	return w.String(), nil
}

// selfRef is the template's "self": self.blockname() renders a block.
type selfRef struct {
	r  *renderer
	sc *scope
}

func (s *selfRef) Attr(name string) (Value, bool) {
	if _, ok := s.r.blocks[name]; ok {
		return &blockRef{name: name, sc: s.sc}, true
	}
	return nil, false
}
