package jinja

import "fmt"

// Symbol analysis, after Jinja2's idtracking.py. Jinja2 compiles each scope
// (template, loop body, macro...) to Python locals: a name first assigned in
// a scope is "missing" there until the assignment runs, even if an outer
// scope or the context has a value for it. The evaluator looks names up
// through a chain of scopes; this pass finds the names each scope must
// start as missing so that the chain gives Jinja2's answers.

const (
	loadParam = iota + 1
	loadResolve
	loadAlias
	loadUndefined
)

type symbols struct {
	parent *symbols
	refs   map[string]bool
	loads  map[string]int
	stores map[string]bool
}

func newSymbols(parent *symbols) *symbols {
	return &symbols{parent: parent, refs: map[string]bool{}, loads: map[string]int{}, stores: map[string]bool{}}
}

func (s *symbols) findRef(name string) bool {
	for x := s; x != nil; x = x.parent {
		if x.refs[name] {
			return true
		}
	}
	return false
}

func (s *symbols) define(name string, load int) {
	s.refs[name] = true
	s.loads[name] = load
}

func (s *symbols) load(name string) {
	if !s.findRef(name) {
		s.define(name, loadResolve)
	}
}

func (s *symbols) store(name string) {
	s.stores[name] = true
	if s.refs[name] {
		return
	}
	if s.parent != nil && s.parent.findRef(name) {
		s.define(name, loadAlias)
		return
	}
	s.define(name, loadUndefined)
}

func (s *symbols) declareParameter(name string) {
	s.stores[name] = true
	s.define(name, loadParam)
}

func (s *symbols) copy() *symbols {
	c := newSymbols(s.parent)
	for k, v := range s.refs {
		c.refs[k] = v
	}
	for k, v := range s.loads {
		c.loads[k] = v
	}
	for k, v := range s.stores {
		c.stores[k] = v
	}
	return c
}

func (s *symbols) branchUpdate(branches []*symbols) {
	counts := map[string]int{}
	var order []string
	for _, b := range branches {
		for name := range b.stores {
			if s.stores[name] {
				continue
			}
			if counts[name] == 0 {
				order = append(order, name)
			}
			counts[name]++
		}
	}
	for _, b := range branches {
		for k, v := range b.refs {
			s.refs[k] = v
		}
		for k, v := range b.loads {
			s.loads[k] = v
		}
		for k, v := range b.stores {
			s.stores[k] = v
		}
	}
	for _, name := range order {
		if counts[name] == len(branches) {
			continue
		}
		if s.parent != nil && s.parent.findRef(name) {
			s.loads[name] = loadAlias
			continue
		}
		s.loads[name] = loadResolve
	}
}

func (s *symbols) info() *frameInfo {
	f := &frameInfo{}
	for name, load := range s.loads {
		if load == loadUndefined {
			f.undeclared = append(f.undeclared, name)
		}
	}
	return f
}

// frameVisitor is Jinja2's FrameSymbolVisitor: it records the loads and
// stores of one scope, and queues the scopes nested in it.
type frameVisitor struct {
	sym    *symbols
	nested []func(parent *symbols)
}

func (v *frameVisitor) target(n node, param bool) {
	switch x := n.(type) {
	case *nameExpr:
		if param {
			v.sym.declareParameter(x.name)
		} else {
			v.sym.store(x.name)
		}
	case *nsRefExpr:
		v.sym.load(x.name)
	case *tupleExpr:
		for _, it := range x.items {
			v.target(it, param)
		}
	}
}

func (v *frameVisitor) visitAll(ns []node) {
	for _, n := range ns {
		v.visit(n)
	}
}

func (v *frameVisitor) visitArgs(a *callArgs) {
	v.visitAll(a.args)
	v.visitAll(a.kwValues)
	if a.dynArgs != nil {
		v.visit(a.dynArgs)
	}
	if a.dynKwargs != nil {
		v.visit(a.dynKwargs)
	}
}

func (v *frameVisitor) visit(n node) {
	switch x := n.(type) {
	case nil:
	case *nameExpr:
		v.sym.load(x.name)
	case *constExpr, *templateData, *breakStmt, *continueStmt:
	case *outputStmt:
		v.visitAll(x.items)
	case *listExpr:
		v.visitAll(x.items)
	case *tupleExpr:
		v.visitAll(x.items)
	case *dictExpr:
		for i := range x.keys {
			v.visit(x.keys[i])
			v.visit(x.values[i])
		}
	case *getattrExpr:
		v.visit(x.obj)
	case *getitemExpr:
		v.visit(x.obj)
		v.visit(x.arg)
	case *sliceExpr:
		v.visit(x.start)
		v.visit(x.stop)
		v.visit(x.step)
	case *callExpr:
		v.visit(x.fn)
		v.visitArgs(&x.callArgs)
	case *filterExpr:
		v.visit(x.obj)
		v.visitArgs(&x.callArgs)
	case *testExpr:
		v.visit(x.obj)
		v.visitArgs(&x.callArgs)
	case *condExpr:
		v.visit(x.test)
		v.visit(x.expr1)
		v.visit(x.expr2)
	case *binExpr:
		v.visit(x.left)
		v.visit(x.right)
	case *concatExpr:
		v.visitAll(x.items)
	case *compareExpr:
		v.visit(x.expr)
		for _, op := range x.ops {
			v.visit(op.expr)
		}
	case *andExpr:
		v.visit(x.left)
		v.visit(x.right)
	case *orExpr:
		v.visit(x.left)
		v.visit(x.right)
	case *notExpr:
		v.visit(x.expr)
	case *negExpr:
		v.visit(x.expr)
	case *posExpr:
		v.visit(x.expr)
	case *exprStmt:
		v.visit(x.expr)
	case *extendsStmt:
		v.visit(x.template)
	case *includeStmt:
		v.visit(x.template)
	case *autoescapeStmt:
		v.visit(x.value)
		v.visitAll(x.body)
	case *ifStmt:
		v.visit(x.test)
		orig := v.sym
		inner := func(f func()) *symbols {
			v.sym = orig.copy()
			f()
			s := v.sym
			v.sym = orig
			return s
		}
		body := inner(func() { v.visitAll(x.body) })
		elifs := inner(func() {
			for _, e := range x.elifs {
				v.visit(e)
			}
		})
		els := inner(func() { v.visitAll(x.els) })
		v.sym.branchUpdate([]*symbols{body, elifs, els})
	case *macroStmt:
		v.sym.store(x.macro.name)
		m := x.macro
		v.nested = append(v.nested, func(parent *symbols) { analyzeMacro(m, parent) })
	case *importStmt:
		v.visit(x.template)
		v.sym.store(x.target)
	case *fromImportStmt:
		v.visit(x.template)
		for _, a := range x.aliases {
			v.sym.store(a)
		}
	case *assignStmt:
		v.visit(x.expr)
		v.target(x.target, false)
	case *forStmt:
		v.visit(x.iter)
		v.nested = append(v.nested, func(parent *symbols) { analyzeFor(x, parent) })
	case *callBlockStmt:
		v.visit(x.call)
		m := x.caller
		v.nested = append(v.nested, func(parent *symbols) { analyzeMacro(m, parent) })
	case *filterBlockStmt:
		v.visit(x.filter)
		v.nested = append(v.nested, func(parent *symbols) {
			fv := &frameVisitor{sym: newSymbols(parent)}
			fv.visitAll(x.body)
			fv.visit(x.filter)
			x.frame = fv.finish()
		})
	case *withStmt:
		v.visitAll(x.values)
		v.nested = append(v.nested, func(parent *symbols) {
			fv := &frameVisitor{sym: newSymbols(parent)}
			for _, t := range x.targets {
				fv.target(t, true)
			}
			fv.visitAll(x.body)
			x.frame = fv.finish()
		})
	case *assignBlockStmt:
		v.target(x.target, false)
		v.nested = append(v.nested, func(parent *symbols) {
			fv := &frameVisitor{sym: newSymbols(parent)}
			fv.visitAll(x.body)
			x.frame = fv.finish()
		})
	case *blockStmt:
		v.nested = append(v.nested, func(parent *symbols) {
			fv := &frameVisitor{sym: newSymbols(parent)}
			fv.visitAll(x.body)
			x.frame = fv.finish()
		})
	default:
		panic(fmt.Sprintf("jinja: symbol analysis: unknown node %T", n))
	}
}

// finish analyses the scopes nested in this one, now that it is complete.
func (v *frameVisitor) finish() *frameInfo {
	for i := 0; i < len(v.nested); i++ {
		v.nested[i](v.sym)
	}
	return v.sym.info()
}

func analyzeMacro(m *macroDef, parent *symbols) {
	fv := &frameVisitor{sym: newSymbols(parent)}
	for _, p := range m.params {
		fv.sym.declareParameter(p)
	}
	fv.visitAll(m.defaults)
	fv.visitAll(m.body)
	m.frame = fv.finish()
}

func analyzeFor(f *forStmt, parent *symbols) {
	body := &frameVisitor{sym: newSymbols(parent)}
	body.target(f.target, true)
	body.sym.declareParameter("loop")
	body.visitAll(f.body)
	f.frame = body.finish()
	if f.els != nil {
		els := &frameVisitor{sym: newSymbols(parent)}
		els.visitAll(f.els)
		f.elseFrame = els.finish()
	}
}

// analyzeTemplate runs the analysis over a template and returns its root
// scope's information; nested scopes get theirs on their nodes.
func analyzeTemplate(body []node) *frameInfo {
	v := &frameVisitor{sym: newSymbols(nil)}
	v.visitAll(body)
	return v.finish()
}

// findUndeclared is Jinja2's find_undeclared: which of names are read
// before being assigned in nodes (nested scopes included).
func findUndeclared(nodes []node, names []string) map[string]bool {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string]bool{}
	var walk func(n node)
	walkTarget := func(n node) {}
	walkTarget = func(n node) {
		switch x := n.(type) {
		case *nameExpr:
			delete(want, x.name)
		case *tupleExpr:
			for _, it := range x.items {
				walkTarget(it)
			}
		case *nsRefExpr:
		}
	}
	walk = func(n node) {
		if n == nil {
			return
		}
		if x, ok := n.(*nameExpr); ok {
			if want[x.name] {
				found[x.name] = true
			}
			return
		}
		if _, ok := n.(*blockStmt); ok {
			return
		}
		eachChild(n, walk, walkTarget)
	}
	for _, n := range nodes {
		walk(n)
	}
	return found
}

// eachChild calls f for each child of n in Jinja2's field order, and target
// for the assignment targets among them.
func eachChild(n node, f func(node), target func(node)) {
	all := func(ns []node) {
		for _, c := range ns {
			f(c)
		}
	}
	args := func(a *callArgs) {
		all(a.args)
		all(a.kwValues)
		if a.dynArgs != nil {
			f(a.dynArgs)
		}
		if a.dynKwargs != nil {
			f(a.dynKwargs)
		}
	}
	macro := func(m *macroDef) {
		for _, p := range m.params {
			target(&nameExpr{pos: m.pos, name: p})
		}
		all(m.defaults)
		all(m.body)
	}
	switch x := n.(type) {
	case *outputStmt:
		all(x.items)
	case *listExpr:
		all(x.items)
	case *tupleExpr:
		all(x.items)
	case *dictExpr:
		for i := range x.keys {
			f(x.keys[i])
			f(x.values[i])
		}
	case *getattrExpr:
		f(x.obj)
	case *getitemExpr:
		f(x.obj)
		f(x.arg)
	case *sliceExpr:
		for _, c := range []node{x.start, x.stop, x.step} {
			if c != nil {
				f(c)
			}
		}
	case *callExpr:
		f(x.fn)
		args(&x.callArgs)
	case *filterExpr:
		if x.obj != nil {
			f(x.obj)
		}
		args(&x.callArgs)
	case *testExpr:
		f(x.obj)
		args(&x.callArgs)
	case *condExpr:
		f(x.test)
		f(x.expr1)
		if x.expr2 != nil {
			f(x.expr2)
		}
	case *binExpr:
		f(x.left)
		f(x.right)
	case *concatExpr:
		all(x.items)
	case *compareExpr:
		f(x.expr)
		for _, op := range x.ops {
			f(op.expr)
		}
	case *andExpr:
		f(x.left)
		f(x.right)
	case *orExpr:
		f(x.left)
		f(x.right)
	case *notExpr:
		f(x.expr)
	case *negExpr:
		f(x.expr)
	case *posExpr:
		f(x.expr)
	case *exprStmt:
		f(x.expr)
	case *ifStmt:
		f(x.test)
		all(x.body)
		for _, e := range x.elifs {
			f(e)
		}
		all(x.els)
	case *forStmt:
		target(x.target)
		f(x.iter)
		all(x.body)
		all(x.els)
		if x.test != nil {
			f(x.test)
		}
	case *assignStmt:
		target(x.target)
		f(x.expr)
	case *assignBlockStmt:
		target(x.target)
		if x.filter != nil {
			f(x.filter)
		}
		all(x.body)
	case *macroStmt:
		macro(x.macro)
	case *callBlockStmt:
		f(x.call)
		macro(x.caller)
	case *filterBlockStmt:
		all(x.body)
		f(x.filter)
	case *withStmt:
		for _, t := range x.targets {
			target(t)
		}
		all(x.values)
		all(x.body)
	case *includeStmt:
		f(x.template)
	case *importStmt:
		f(x.template)
	case *fromImportStmt:
		f(x.template)
	case *extendsStmt:
		f(x.template)
	case *blockStmt:
		all(x.body)
	case *autoescapeStmt:
		f(x.value)
		all(x.body)
	}
}

// checkTemplate makes the checks Jinja2's compiler makes: unknown filters
// and tests (outside if blocks and conditional expressions, where they fail
// only when run), assignments to loop, blocks defined twice.
func checkTemplate(name string, body []node, env *Environment) error {
	blocks := map[string]bool{}
	var err error
	fail := func(p pos, kind, msg string) {
		if err == nil {
			err = &Error{Kind: kind, Msg: msg, Pos: Position{name, p.line, p.col}, positioned: true}
		}
	}
	var walk func(n node, soft bool)
	walk = func(n node, soft bool) {
		if n == nil || err != nil {
			return
		}
		inner := soft
		switch x := n.(type) {
		case *filterExpr:
			if _, ok := env.Filters[x.name]; !ok && !soft {
				fail(x.pos, KindAssertion, fmt.Sprintf("No filter named %s.", reprString(x.name)))
			}
		case *testExpr:
			if _, ok := env.Tests[x.name]; !ok && !soft {
				fail(x.pos, KindAssertion, fmt.Sprintf("No test named %s.", reprString(x.name)))
			}
		case *ifStmt, *condExpr:
			inner = true
		case *forStmt:
			var loopTarget func(t node)
			loopTarget = func(t node) {
				switch y := t.(type) {
				case *nameExpr:
					if y.name == "loop" {
						fail(y.pos, KindAssertion, "Can't assign to special loop variable in for-loop target")
					}
				case *tupleExpr:
					for _, it := range y.items {
						loopTarget(it)
					}
				}
			}
			loopTarget(x.target)
			walk(x.iter, soft)
			for _, c := range x.body {
				walk(c, false)
			}
			for _, c := range x.els {
				walk(c, false)
			}
			walk(x.test, false)
			return
		case *blockStmt:
			if blocks[x.name] {
				fail(x.pos, KindAssertion, fmt.Sprintf("block %s defined twice", reprString(x.name)))
			}
			blocks[x.name] = true
			inner = false
		case *macroStmt, *withStmt, *filterBlockStmt, *assignBlockStmt:
			inner = false
		case *callBlockStmt:
			walk(x.call, soft)
			for _, d := range x.caller.defaults {
				walk(d, false)
			}
			for _, c := range x.caller.body {
				walk(c, false)
			}
			return
		}
		eachChild(n, func(c node) { walk(c, inner) }, func(node) {})
	}
	for _, n := range body {
		walk(n, false)
	}
	return err
}

// checkDepth fails when the syntax tree is deeper than max, walking it
// without recursion.
func checkDepth(name string, body []node, max int) error {
	type item struct {
		n     node
		depth int
	}
	stack := make([]item, 0, len(body))
	for _, n := range body {
		stack = append(stack, item{n, 1})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > max {
			p := it.n.position()
			return &Error{Kind: KindLimit, Limit: LimitNesting, positioned: true, Pos: Position{name, p.line, p.col},
				Msg: fmt.Sprintf("template nesting is deeper than %d levels", max)}
		}
		eachChild(it.n, func(c node) { stack = append(stack, item{c, it.depth + 1}) }, func(node) {})
	}
	return nil
}
