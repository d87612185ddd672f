package jinja

import (
	"fmt"
	"strings"
)

// The parser follows Jinja2's parser.py function by function, so precedence,
// trailing commas and error cases come out the same.

var statementKeywords = map[string]bool{
	"for": true, "if": true, "block": true, "extends": true, "print": true, "macro": true,
	"include": true, "from": true, "import": true, "set": true, "with": true, "autoescape": true,
}

var compareOperators = map[string]bool{"eq": true, "ne": true, "lt": true, "lteq": true, "gt": true, "gteq": true}

type parser struct {
	env       *Environment
	name      string
	toks      []token
	i         int
	tagStack  []string
	endStack  [][]string
	depth     int
	maxDepth  int
	loopDepth int // break/continue are only valid inside a loop's own frame
	tmpl      *Template
}

func (p *parser) cur() token { return p.toks[p.i] }

func (p *parser) look() token {
	if p.i+1 < len(p.toks) {
		return p.toks[p.i+1]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

// test is Jinja2's Token.test: a type, or "type:value".
func (t token) test(expr string) bool {
	if t.typ == expr {
		return true
	}
	if i := strings.IndexByte(expr, ':'); i >= 0 {
		return expr[:i] == t.typ && expr[i+1:] == t.val && (t.typ == tName || t.typ == tString)
	}
	return false
}

func (t token) testAny(exprs ...string) bool {
	for _, e := range exprs {
		if t.test(e) {
			return true
		}
	}
	return false
}

func (p *parser) skipIf(expr string) bool {
	if p.cur().test(expr) {
		p.next()
		return true
	}
	return false
}

func describeTokenExpr(expr string) string {
	if i := strings.IndexByte(expr, ':'); i >= 0 {
		if expr[:i] == tName {
			return expr[i+1:]
		}
		return describeTokenType(expr[:i])
	}
	return describeTokenType(expr)
}

func (p *parser) pos(t token) pos { return pos{t.line, t.col} }

func (p *parser) failAt(t token, kind, msg string) error {
	return &Error{Kind: kind, Msg: msg, Pos: Position{p.name, t.line, t.col}, positioned: true}
}

func (p *parser) fail(msg string) error { return p.failAt(p.cur(), KindSyntax, msg) }

func (p *parser) expect(expr string) (token, error) {
	t := p.cur()
	if !t.test(expr) {
		d := describeTokenExpr(expr)
		if t.typ == tEOF {
			return t, p.fail(fmt.Sprintf("unexpected end of template, expected %s.", reprString(d)))
		}
		return t, p.fail(fmt.Sprintf("expected token %s, got %s", reprString(d), reprString(describeToken(t))))
	}
	return p.next(), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		e := limitError(LimitNesting, fmt.Sprintf("template nesting is deeper than %d levels", p.maxDepth))
		e.Pos, e.positioned = Position{p.name, p.cur().line, p.cur().col}, true
		return e
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) failUnknownTag(name string, t token) error {
	expected := map[string]bool{}
	for _, exprs := range p.endStack {
		for _, e := range exprs {
			expected[describeTokenExpr(e)] = true
		}
	}
	var msg []string
	if name == "" {
		msg = append(msg, "Unexpected end of template.")
	} else {
		msg = append(msg, fmt.Sprintf("Encountered unknown tag %s.", reprString(name)))
	}
	if len(p.endStack) > 0 {
		var looking []string
		for _, e := range p.endStack[len(p.endStack)-1] {
			looking = append(looking, reprString(describeTokenExpr(e)))
		}
		cl := strings.Join(looking, " or ")
		if name != "" && expected[name] {
			msg = append(msg, "You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for "+cl+".")
		} else {
			msg = append(msg, "Jinja was looking for the following tags: "+cl+".")
		}
	}
	if len(p.tagStack) > 0 {
		msg = append(msg, fmt.Sprintf("The innermost block that needs to be closed is %s.", reprString(p.tagStack[len(p.tagStack)-1])))
	}
	return p.failAt(t, KindSyntax, strings.Join(msg, " "))
}

// parseTemplate parses a whole template.
func (p *parser) parseTemplate() ([]node, error) {
	body, err := p.subparse(nil)
	if err != nil {
		return nil, err
	}
	return body, nil
}

func (p *parser) subparse(endTokens []string) ([]node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var body []node
	var data []node
	flush := func() {
		if len(data) > 0 {
			body = append(body, &outputStmt{pos: data[0].position(), items: data})
			data = nil
		}
	}
	if endTokens != nil {
		p.endStack = append(p.endStack, endTokens)
		defer func() { p.endStack = p.endStack[:len(p.endStack)-1] }()
	}
	for p.cur().typ != tEOF {
		t := p.cur()
		switch t.typ {
		case tData:
			data = append(data, &templateData{pos: p.pos(t), data: t.val})
			p.next()
		case tVariableBegin:
			p.next()
			e, err := p.parseTuple(false, true, nil, false, false)
			if err != nil {
				return nil, err
			}
			data = append(data, e)
			if _, err := p.expect(tVariableEnd); err != nil {
				return nil, err
			}
		case tBlockBegin:
			flush()
			p.next()
			if endTokens != nil && p.cur().testAny(endTokens...) {
				return body, nil
			}
			st, err := p.parseStatement()
			if err != nil {
				return nil, err
			}
			if st != nil {
				body = append(body, st)
			}
			if _, err := p.expect(tBlockEnd); err != nil {
				return nil, err
			}
		default:
			return nil, p.fail("internal parsing error")
		}
	}
	flush()
	return body, nil
}

func (p *parser) parseStatement() (node, error) {
	t := p.cur()
	if t.typ != tName {
		return nil, p.fail("tag name expected")
	}
	p.tagStack = append(p.tagStack, t.val)
	defer func() { p.tagStack = p.tagStack[:len(p.tagStack)-1] }()
	switch t.val {
	case "for":
		return p.parseFor()
	case "if":
		return p.parseIf()
	case "block":
		return p.parseBlock()
	case "extends":
		p.next()
		e, err := p.parseExpression(true)
		return &extendsStmt{pos: p.pos(t), template: e}, err
	case "print":
		return p.parsePrint()
	case "macro":
		return p.parseMacro()
	case "include":
		return p.parseInclude()
	case "from":
		return p.parseFrom()
	case "import":
		return p.parseImport()
	case "set":
		return p.parseSet()
	case "with":
		return p.parseWith()
	case "autoescape":
		p.next()
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		body, err := p.parseStatements([]string{"name:endautoescape"}, true)
		return &autoescapeStmt{pos: p.pos(t), value: e, body: body}, err
	case "call":
		return p.parseCallBlock()
	case "filter":
		return p.parseFilterBlock()
	case "do":
		p.next()
		e, err := p.parseTuple(false, true, nil, false, false)
		return &exprStmt{pos: p.pos(t), expr: e}, err
	case "break", "continue":
		p.next()
		if p.loopDepth == 0 {
			return nil, p.failAt(t, KindSyntax, fmt.Sprintf("'%s' outside loop", t.val))
		}
		if t.val == "break" {
			return &breakStmt{pos: p.pos(t)}, nil
		}
		return &continueStmt{pos: p.pos(t)}, nil
	}
	if tag, ok := p.env.Tags[t.val]; ok {
		return p.parseCustomTag(t, tag)
	}
	p.tagStack = p.tagStack[:len(p.tagStack)-1]
	defer func() { p.tagStack = append(p.tagStack, "") }()
	return nil, p.failUnknownTag(t.val, t)
}

func (p *parser) parseStatements(endTokens []string, dropNeedle bool) ([]node, error) {
	p.skipIf("colon")
	if _, err := p.expect(tBlockEnd); err != nil {
		return nil, err
	}
	body, err := p.subparse(endTokens)
	if err != nil {
		return nil, err
	}
	if p.cur().typ == tEOF {
		return nil, p.failUnknownTag("", p.cur())
	}
	if dropNeedle {
		p.next()
	}
	return body, nil
}

// inFrame parses with break/continue allowed (loop) or not (a new function).
func (p *parser) inFrame(loop bool, f func() error) error {
	saved := p.loopDepth
	if loop {
		p.loopDepth++
	} else {
		p.loopDepth = 0
	}
	defer func() { p.loopDepth = saved }()
	return f()
}

func (p *parser) parseSet() (node, error) {
	t := p.next()
	target, err := p.parseAssignTarget(true, false, nil, true)
	if err != nil {
		return nil, err
	}
	if p.skipIf("assign") {
		e, err := p.parseTuple(false, true, nil, false, false)
		return &assignStmt{pos: p.pos(t), target: target, expr: e}, err
	}
	filter, err := p.parseFilter(nil, false)
	if err != nil {
		return nil, err
	}
	body, err := p.parseStatements([]string{"name:endset"}, true)
	if err != nil {
		return nil, err
	}
	return &assignBlockStmt{pos: p.pos(t), target: target, filter: filter, body: body}, nil
}

func (p *parser) parseFor() (node, error) {
	t, _ := p.expect("name:for")
	target, err := p.parseAssignTarget(true, false, []string{"name:in"}, false)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect("name:in"); err != nil {
		return nil, err
	}
	iter, err := p.parseTuple(false, false, []string{"name:recursive"}, false, false)
	if err != nil {
		return nil, err
	}
	st := &forStmt{pos: p.pos(t), target: target, iter: iter}
	if p.skipIf("name:if") {
		if st.test, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	st.recursive = p.skipIf("name:recursive")
	err = p.inFrame(true, func() error {
		st.body, err = p.parseStatements([]string{"name:endfor", "name:else"}, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	if p.next().val == "endfor" {
		return st, nil
	}
	st.els, err = p.parseStatements([]string{"name:endfor"}, true)
	return st, err
}

func (p *parser) parseIf() (node, error) {
	t, _ := p.expect("name:if")
	result := &ifStmt{pos: p.pos(t)}
	n := result
	for {
		var err error
		if n.test, err = p.parseTuple(false, false, nil, false, false); err != nil {
			return nil, err
		}
		if n.body, err = p.parseStatements([]string{"name:elif", "name:else", "name:endif"}, false); err != nil {
			return nil, err
		}
		t := p.next()
		if t.test("name:elif") {
			n = &ifStmt{pos: p.pos(p.cur())}
			result.elifs = append(result.elifs, n)
			continue
		}
		if t.test("name:else") {
			if result.els, err = p.parseStatements([]string{"name:endif"}, true); err != nil {
				return nil, err
			}
		}
		return result, nil
	}
}

func (p *parser) parseWith() (node, error) {
	t := p.next()
	st := &withStmt{pos: p.pos(t)}
	for p.cur().typ != tBlockEnd {
		if len(st.targets) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return nil, err
			}
		}
		target, err := p.parseAssignTarget(true, false, nil, false)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("assign"); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		st.targets = append(st.targets, target)
		st.values = append(st.values, v)
	}
	body, err := p.parseStatements([]string{"name:endwith"}, true)
	st.body = body
	return st, err
}

func (p *parser) parseBlock() (node, error) {
	t := p.next()
	name, err := p.expect(tName)
	if err != nil {
		return nil, err
	}
	st := &blockStmt{pos: p.pos(t), name: name.val}
	st.scoped = p.skipIf("name:scoped")
	st.required = p.skipIf("name:required")
	if p.cur().typ == "sub" {
		return nil, p.fail("Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.")
	}
	err = p.inFrame(false, func() error {
		st.body, err = p.parseStatements([]string{"name:endblock"}, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if st.required {
		for _, n := range st.body {
			out, ok := n.(*outputStmt)
			if !ok {
				return nil, p.failAt(t, KindSyntax, "Required blocks can only contain comments or whitespace")
			}
			for _, it := range out.items {
				td, ok := it.(*templateData)
				if !ok || strings.TrimFunc(td.data, isPySpace) != "" || td.data == "" {
					return nil, p.failAt(t, KindSyntax, "Required blocks can only contain comments or whitespace")
				}
			}
		}
	}
	p.skipIf("name:" + st.name)
	return st, nil
}

func (p *parser) parseImportContext(def bool) bool {
	if p.cur().testAny("name:with", "name:without") && p.look().test("name:context") {
		with := p.next().val == "with"
		p.next()
		return with
	}
	return def
}

func (p *parser) parseInclude() (node, error) {
	t := p.next()
	e, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	st := &includeStmt{pos: p.pos(t), template: e}
	if p.cur().test("name:ignore") && p.look().test("name:missing") {
		st.ignoreMissing = true
		p.next()
		p.next()
	}
	st.withContext = p.parseImportContext(true)
	return st, nil
}

func (p *parser) parseImport() (node, error) {
	t := p.next()
	e, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect("name:as"); err != nil {
		return nil, err
	}
	target, err := p.expectAssignName()
	if err != nil {
		return nil, err
	}
	return &importStmt{pos: p.pos(t), template: e, target: target.val, withContext: p.parseImportContext(false)}, nil
}

func (p *parser) parseFrom() (node, error) {
	t := p.next()
	e, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect("name:import"); err != nil {
		return nil, err
	}
	st := &fromImportStmt{pos: p.pos(t), template: e}
	withSet := false
	parseContext := func() bool {
		if (p.cur().val == "with" || p.cur().val == "without") && p.cur().typ == tName && p.look().test("name:context") {
			st.withContext = p.next().val == "with"
			p.next()
			withSet = true
			return true
		}
		return false
	}
	for {
		if len(st.names) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return nil, err
			}
		}
		if p.cur().typ != tName {
			if _, err := p.expect(tName); err != nil {
				return nil, err
			}
		}
		if parseContext() {
			break
		}
		target, err := p.expectAssignName()
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(target.val, "_") {
			return nil, p.failAt(target, KindAssertion, "names starting with an underline can not be imported")
		}
		alias := target.val
		if p.skipIf("name:as") {
			a, err := p.expectAssignName()
			if err != nil {
				return nil, err
			}
			alias = a.val
		}
		st.names = append(st.names, target.val)
		st.aliases = append(st.aliases, alias)
		if parseContext() || p.cur().typ != "comma" {
			break
		}
	}
	_ = withSet
	return st, nil
}

// expectAssignName reads a name that is assigned to (a parameter, a macro
// or import name): Jinja2 refuses the constants' names there.
func (p *parser) expectAssignName() (token, error) {
	t, err := p.expect(tName)
	if err != nil {
		return t, err
	}
	switch t.val {
	case "true", "false", "none", "True", "False", "None":
		return t, p.failAt(t, KindSyntax, "can't assign to 'name'")
	}
	return t, nil
}

// parseSignature reads "(a, b=1)" into a macro definition.
func (p *parser) parseSignature(m *macroDef) error {
	if _, err := p.expect("lparen"); err != nil {
		return err
	}
	for p.cur().typ != "rparen" {
		if len(m.params) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return err
			}
		}
		arg, err := p.expectAssignName()
		if err != nil {
			return err
		}
		if indexOf(m.params, arg.val) >= 0 {
			// Jinja2's compiled Python function refuses it.
			return p.failAt(arg, KindSyntax, fmt.Sprintf("duplicate argument %s in function definition", reprString(arg.val)))
		}
		if p.skipIf("assign") {
			d, err := p.parseExpression(true)
			if err != nil {
				return err
			}
			m.defaults = append(m.defaults, d)
		} else if len(m.defaults) > 0 {
			return p.fail("non-default argument follows default argument")
		}
		m.params = append(m.params, arg.val)
	}
	_, err := p.expect("rparen")
	return err
}

func (p *parser) parseMacroBody(m *macroDef, end string) error {
	return p.inFrame(false, func() error {
		var err error
		m.body, err = p.parseStatements([]string{"name:" + end}, true)
		return err
	})
}

func (p *parser) parseMacro() (node, error) {
	t := p.next()
	name, err := p.expectAssignName()
	if err != nil {
		return nil, err
	}
	m := &macroDef{pos: p.pos(t), name: name.val, template: p.tmpl}
	if err := p.parseSignature(m); err != nil {
		return nil, err
	}
	if err := p.parseMacroBody(m, "endmacro"); err != nil {
		return nil, err
	}
	if err := finishMacro(p, m, t); err != nil {
		return nil, err
	}
	return &macroStmt{pos: m.pos, macro: m}, nil
}

func (p *parser) parseCallBlock() (node, error) {
	t := p.next()
	m := &macroDef{pos: p.pos(t), name: "caller", template: p.tmpl, isCaller: true}
	if p.cur().typ == "lparen" {
		if err := p.parseSignature(m); err != nil {
			return nil, err
		}
	}
	e, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	call, ok := e.(*callExpr)
	if !ok {
		return nil, p.failAt(t, KindSyntax, "expected call")
	}
	if err := p.parseMacroBody(m, "endcall"); err != nil {
		return nil, err
	}
	if err := finishMacro(p, m, t); err != nil {
		return nil, err
	}
	return &callBlockStmt{pos: p.pos(t), call: call, caller: m}, nil
}

func (p *parser) parseFilterBlock() (node, error) {
	t := p.next()
	f, err := p.parseFilter(nil, true)
	if err != nil {
		return nil, err
	}
	body, err := p.parseStatements([]string{"name:endfilter"}, true)
	return &filterBlockStmt{pos: p.pos(t), filter: f, body: body}, err
}

func (p *parser) parsePrint() (node, error) {
	t := p.next()
	st := &outputStmt{pos: p.pos(t)}
	for p.cur().typ != tBlockEnd {
		if len(st.items) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return nil, err
			}
		}
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		st.items = append(st.items, e)
	}
	return st, nil
}

// parseAssignTarget reads what set, for and with assign to.
func (p *parser) parseAssignTarget(withTuple, nameOnly bool, extraEnd []string, withNamespace bool) (node, error) {
	var target node
	var err error
	if nameOnly {
		t, err := p.expect(tName)
		if err != nil {
			return nil, err
		}
		target = &nameExpr{pos: p.pos(t), name: t.val}
	} else if withTuple {
		target, err = p.parseTuple(true, true, extraEnd, false, withNamespace)
	} else {
		target, err = p.parsePrimary(withNamespace)
	}
	if err != nil {
		return nil, err
	}
	if !canAssign(target) {
		return nil, p.failAt(p.toks[max(p.i-1, 0)], KindSyntax, fmt.Sprintf("can't assign to %s", reprString(nodeTypeName(target))))
	}
	return target, nil
}

func canAssign(n node) bool {
	switch x := n.(type) {
	case *nameExpr:
		return !(x.name == "true" || x.name == "false" || x.name == "none" || x.name == "True" || x.name == "False" || x.name == "None")
	case *nsRefExpr:
		return true
	case *tupleExpr:
		for _, it := range x.items {
			if !canAssign(it) {
				return false
			}
		}
		return true
	}
	return false
}

func nodeTypeName(n node) string {
	switch n.(type) {
	case *constExpr:
		return "const"
	case *tupleExpr:
		return "tuple"
	case *listExpr:
		return "list"
	case *dictExpr:
		return "dict"
	case *getattrExpr:
		return "getattr"
	case *getitemExpr:
		return "getitem"
	case *callExpr:
		return "call"
	case *filterExpr:
		return "filter"
	case *testExpr:
		return "test"
	case *concatExpr:
		return "concat"
	case *compareExpr:
		return "compare"
	case *condExpr:
		return "condexpr"
	case *binExpr:
		return n.(*binExpr).op
	case *andExpr:
		return "and"
	case *orExpr:
		return "or"
	case *notExpr:
		return "not"
	case *negExpr:
		return "neg"
	case *posExpr:
		return "pos"
	}
	return "expr"
}

func (p *parser) parseExpression(withCondexpr bool) (node, error) {
	if withCondexpr {
		return p.parseCondexpr()
	}
	return p.parseOr()
}

func (p *parser) parseCondexpr() (node, error) {
	start := p.pos(p.cur())
	expr1, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.skipIf("name:if") {
		expr2, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var expr3 node
		if p.skipIf("name:else") {
			if err := p.enter(); err != nil {
				return nil, err
			}
			expr3, err = p.parseCondexpr()
			p.leave()
			if err != nil {
				return nil, err
			}
		}
		expr1 = &condExpr{pos: start, test: expr2, expr1: expr1, expr2: expr3}
		start = p.pos(p.cur())
	}
	return expr1, nil
}

func (p *parser) parseOr() (node, error) {
	start := p.pos(p.cur())
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.skipIf("name:or") {
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &orExpr{pos: start, left: left, right: right}
		start = p.pos(p.cur())
	}
	return left, nil
}

func (p *parser) parseAnd() (node, error) {
	start := p.pos(p.cur())
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.skipIf("name:and") {
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		left = &andExpr{pos: start, left: left, right: right}
		start = p.pos(p.cur())
	}
	return left, nil
}

func (p *parser) parseNot() (node, error) {
	if p.cur().test("name:not") {
		t := p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		e, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &notExpr{pos: p.pos(t), expr: e}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (node, error) {
	start := p.pos(p.cur())
	expr, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	var ops []compareOp
	for {
		typ := p.cur().typ
		var op string
		switch {
		case compareOperators[typ]:
			p.next()
			op = typ
		case p.skipIf("name:in"):
			op = "in"
		case p.cur().test("name:not") && p.look().test("name:in"):
			p.next()
			p.next()
			op = "notin"
		default:
			if len(ops) == 0 {
				return expr, nil
			}
			return &compareExpr{pos: start, expr: expr, ops: ops}, nil
		}
		e, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		ops = append(ops, compareOp{op: op, expr: e})
		start = p.pos(p.cur())
	}
}

func (p *parser) parseMath1() (node, error) {
	start := p.pos(p.cur())
	left, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for typ := p.cur().typ; typ == "add" || typ == "sub"; typ = p.cur().typ {
		p.next()
		right, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		left = &binExpr{pos: start, op: typ, left: left, right: right}
		start = p.pos(p.cur())
	}
	return left, nil
}

func (p *parser) parseConcat() (node, error) {
	start := p.pos(p.cur())
	first, err := p.parseMath2()
	if err != nil {
		return nil, err
	}
	if p.cur().typ != "tilde" {
		return first, nil
	}
	items := []node{first}
	for p.cur().typ == "tilde" {
		p.next()
		e, err := p.parseMath2()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	return &concatExpr{pos: start, items: items}, nil
}

func (p *parser) parseMath2() (node, error) {
	start := p.pos(p.cur())
	left, err := p.parsePow()
	if err != nil {
		return nil, err
	}
	for typ := p.cur().typ; typ == "mul" || typ == "div" || typ == "floordiv" || typ == "mod"; typ = p.cur().typ {
		p.next()
		right, err := p.parsePow()
		if err != nil {
			return nil, err
		}
		left = &binExpr{pos: start, op: typ, left: left, right: right}
		start = p.pos(p.cur())
	}
	return left, nil
}

func (p *parser) parsePow() (node, error) {
	start := p.pos(p.cur())
	left, err := p.parseUnary(true)
	if err != nil {
		return nil, err
	}
	for p.cur().typ == "pow" {
		p.next()
		right, err := p.parseUnary(true)
		if err != nil {
			return nil, err
		}
		left = &binExpr{pos: start, op: "pow", left: left, right: right}
		start = p.pos(p.cur())
	}
	return left, nil
}

func (p *parser) parseUnary(withFilter bool) (node, error) {
	t := p.cur()
	var n node
	var err error
	if t.typ == "sub" || t.typ == "add" {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
	}
	switch t.typ {
	case "sub":
		p.next()
		e, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		n = &negExpr{pos: p.pos(t), expr: e}
	case "add":
		p.next()
		e, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		n = &posExpr{pos: p.pos(t), expr: e}
	default:
		if n, err = p.parsePrimary(false); err != nil {
			return nil, err
		}
	}
	if n, err = p.parsePostfix(n); err != nil {
		return nil, err
	}
	if withFilter {
		return p.parseFilterExpr(n)
	}
	return n, nil
}

func (p *parser) parsePrimary(withNamespace bool) (node, error) {
	t := p.cur()
	switch t.typ {
	case "lparen", "lbracket", "lbrace":
		// Every level of brackets nests the parser once.
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
	}
	switch t.typ {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &constExpr{pos: p.pos(t), value: true}, nil
		case "false", "False":
			return &constExpr{pos: p.pos(t), value: false}, nil
		case "none", "None":
			return &constExpr{pos: p.pos(t), value: nil}, nil
		}
		if withNamespace && p.cur().typ == "dot" {
			p.next()
			attr, err := p.expect(tName)
			if err != nil {
				return nil, err
			}
			return &nsRefExpr{pos: p.pos(t), name: t.val, attr: attr.val}, nil
		}
		return &nameExpr{pos: p.pos(t), name: t.val}, nil
	case tString:
		p.next()
		s := t.val
		if p.cur().typ == tString {
			var b strings.Builder
			b.WriteString(s)
			for p.cur().typ == tString {
				b.WriteString(p.next().val)
			}
			s = b.String()
		}
		return &constExpr{pos: p.pos(t), value: s}, nil
	case tInteger, tFloat:
		p.next()
		return &constExpr{pos: p.pos(t), value: t.num}, nil
	case "lparen":
		p.next()
		e, err := p.parseTuple(false, true, nil, true, false)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("rparen"); err != nil {
			return nil, err
		}
		return e, nil
	case "lbracket":
		return p.parseList()
	case "lbrace":
		return p.parseDict()
	}
	return nil, p.fail(fmt.Sprintf("unexpected %s", reprString(describeToken(t))))
}

// parseTuple is Jinja2's parse_tuple: an expression, or several separated
// by commas (a tuple, trailing comma allowed).
func (p *parser) parseTuple(simplified, withCondexpr bool, extraEnd []string, explicitParens, withNamespace bool) (node, error) {
	start := p.pos(p.cur())
	var items []node
	isTuple := false
	for {
		if len(items) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return nil, err
			}
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		var e node
		var err error
		if simplified {
			e, err = p.parsePrimary(withNamespace)
		} else {
			e, err = p.parseExpression(withCondexpr)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if p.cur().typ != "comma" {
			break
		}
		isTuple = true
		start = p.pos(p.cur())
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0], nil
		}
		if !explicitParens {
			return nil, p.fail(fmt.Sprintf("Expected an expression, got %s", reprString(describeToken(p.cur()))))
		}
	}
	return &tupleExpr{pos: start, items: items}, nil
}

func (p *parser) isTupleEnd(extraEnd []string) bool {
	switch p.cur().typ {
	case tVariableEnd, tBlockEnd, "rparen":
		return true
	}
	// Jinja2 3.1 passes its extra end rules to Token.test_any as one tuple
	// argument, so they never match: "{% for a, in x %}" reads "in" as a
	// name. Keep that.
	_ = extraEnd
	return false
}

func (p *parser) parseList() (node, error) {
	t, _ := p.expect("lbracket")
	var items []node
	for p.cur().typ != "rbracket" {
		if len(items) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return nil, err
			}
		}
		if p.cur().typ == "rbracket" {
			break
		}
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if _, err := p.expect("rbracket"); err != nil {
		return nil, err
	}
	return &listExpr{pos: p.pos(t), items: items}, nil
}

func (p *parser) parseDict() (node, error) {
	t, _ := p.expect("lbrace")
	d := &dictExpr{pos: p.pos(t)}
	for p.cur().typ != "rbrace" {
		if len(d.keys) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return nil, err
			}
		}
		if p.cur().typ == "rbrace" {
			break
		}
		k, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("colon"); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k)
		d.values = append(d.values, v)
	}
	if _, err := p.expect("rbrace"); err != nil {
		return nil, err
	}
	return d, nil
}

func (p *parser) parsePostfix(n node) (node, error) {
	for {
		var err error
		switch p.cur().typ {
		case "dot", "lbracket":
			n, err = p.parseSubscript(n)
		case "lparen":
			n, err = p.parseCall(n)
		default:
			return n, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseFilterExpr(n node) (node, error) {
	for {
		var err error
		switch {
		case p.cur().typ == "pipe":
			n, err = p.parseFilter(n, false)
		case p.cur().typ == tName && p.cur().val == "is":
			n, err = p.parseTest(n)
		case p.cur().typ == "lparen":
			n, err = p.parseCall(n)
		default:
			return n, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseSubscript(n node) (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.next()
	if t.typ == "dot" {
		attr := p.next()
		if attr.typ == tName {
			return &getattrExpr{pos: p.pos(t), obj: n, attr: attr.val}, nil
		}
		if attr.typ != tInteger {
			return nil, p.failAt(attr, KindSyntax, "expected name or number")
		}
		return &getitemExpr{pos: p.pos(t), obj: n, arg: &constExpr{pos: p.pos(attr), value: attr.num}}, nil
	}
	// lbracket
	var args []node
	for p.cur().typ != "rbracket" {
		if len(args) > 0 {
			if _, err := p.expect("comma"); err != nil {
				return nil, err
			}
		}
		a, err := p.parseSubscribed()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if _, err := p.expect("rbracket"); err != nil {
		return nil, err
	}
	if len(args) == 1 {
		return &getitemExpr{pos: p.pos(t), obj: n, arg: args[0]}, nil
	}
	return &getitemExpr{pos: p.pos(t), obj: n, arg: &tupleExpr{pos: p.pos(t), items: args}}, nil
}

func (p *parser) parseSubscribed() (node, error) {
	start := p.pos(p.cur())
	var args [3]node
	if p.cur().typ == "colon" {
		p.next()
	} else {
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if p.cur().typ != "colon" {
			return e, nil
		}
		p.next()
		args[0] = e
	}
	if t := p.cur().typ; t != "colon" && t != "rbracket" && t != "comma" {
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		args[1] = e
	}
	if p.cur().typ == "colon" {
		p.next()
		if t := p.cur().typ; t != "rbracket" && t != "comma" {
			e, err := p.parseExpression(true)
			if err != nil {
				return nil, err
			}
			args[2] = e
		}
	}
	return &sliceExpr{pos: start, start: args[0], stop: args[1], step: args[2]}, nil
}

func (p *parser) parseCallArgs() (callArgs, error) {
	var a callArgs
	t, err := p.expect("lparen")
	if err != nil {
		return a, err
	}
	requireComma := false
	ensure := func(ok bool) error {
		if !ok {
			return p.failAt(t, KindSyntax, "invalid syntax for function call expression")
		}
		return nil
	}
	for p.cur().typ != "rparen" {
		if requireComma {
			if _, err := p.expect("comma"); err != nil {
				return a, err
			}
			if p.cur().typ == "rparen" {
				break
			}
		}
		switch {
		case p.cur().typ == "mul":
			if err := ensure(a.dynArgs == nil && a.dynKwargs == nil); err != nil {
				return a, err
			}
			p.next()
			if a.dynArgs, err = p.parseExpression(true); err != nil {
				return a, err
			}
		case p.cur().typ == "pow":
			if err := ensure(a.dynKwargs == nil); err != nil {
				return a, err
			}
			p.next()
			if a.dynKwargs, err = p.parseExpression(true); err != nil {
				return a, err
			}
		case p.cur().typ == tName && p.look().typ == "assign":
			if err := ensure(a.dynKwargs == nil); err != nil {
				return a, err
			}
			key := p.next().val
			p.next()
			v, err := p.parseExpression(true)
			if err != nil {
				return a, err
			}
			a.kwNames = append(a.kwNames, key)
			a.kwValues = append(a.kwValues, v)
		default:
			if err := ensure(a.dynArgs == nil && a.dynKwargs == nil && len(a.kwNames) == 0); err != nil {
				return a, err
			}
			v, err := p.parseExpression(true)
			if err != nil {
				return a, err
			}
			a.args = append(a.args, v)
		}
		requireComma = true
	}
	_, err = p.expect("rparen")
	return a, err
}

func (p *parser) parseCall(n node) (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	a, err := p.parseCallArgs()
	if err != nil {
		return nil, err
	}
	// Errors of a call point at what is called, not at its parenthesis.
	return &callExpr{pos: startOf(n), fn: n, callArgs: a}, nil
}

// startOf is where an expression's text begins: the leftmost primary of a
// chain of attribute, item, call and filter nodes.
func startOf(n node) pos {
	for {
		switch x := n.(type) {
		case *getattrExpr:
			n = x.obj
		case *getitemExpr:
			n = x.obj
		case *callExpr:
			return x.pos
		case *filterExpr:
			if x.obj == nil {
				return x.pos
			}
			n = x.obj
		default:
			return n.position()
		}
	}
}

func (p *parser) parseFilter(n node, startInline bool) (node, error) {
	for p.cur().typ == "pipe" || startInline {
		if !startInline {
			p.next()
		}
		t, err := p.expect(tName)
		if err != nil {
			return nil, err
		}
		name := t.val
		for p.cur().typ == "dot" {
			p.next()
			part, err := p.expect(tName)
			if err != nil {
				return nil, err
			}
			name += "." + part.val
		}
		f := &filterExpr{pos: p.pos(t), obj: n, name: name}
		if p.cur().typ == "lparen" {
			if f.callArgs, err = p.parseCallArgs(); err != nil {
				return nil, err
			}
		}
		n = f
		startInline = false
	}
	return n, nil
}

func (p *parser) parseTest(n node) (node, error) {
	t := p.next()
	negated := false
	if p.cur().test("name:not") {
		p.next()
		negated = true
	}
	nt, err := p.expect(tName)
	if err != nil {
		return nil, err
	}
	name := nt.val
	for p.cur().typ == "dot" {
		p.next()
		part, err := p.expect(tName)
		if err != nil {
			return nil, err
		}
		name += "." + part.val
	}
	te := &testExpr{pos: p.pos(t), obj: n, name: name}
	switch c := p.cur(); {
	case c.typ == "lparen":
		if te.callArgs, err = p.parseCallArgs(); err != nil {
			return nil, err
		}
	case (c.typ == tName || c.typ == tString || c.typ == tInteger || c.typ == tFloat || c.typ == "lparen" ||
		c.typ == "lbracket" || c.typ == "lbrace") && !c.testAny("name:else", "name:or", "name:and"):
		if c.test("name:is") {
			return nil, p.fail("You cannot chain multiple tests with is")
		}
		arg, err := p.parsePrimary(false)
		if err != nil {
			return nil, err
		}
		if arg, err = p.parsePostfix(arg); err != nil {
			return nil, err
		}
		te.args = []node{arg}
	}
	if negated {
		return &notExpr{pos: p.pos(t), expr: te}, nil
	}
	return te, nil
}

// finishMacro finds the special names a macro body uses (varargs, kwargs,
// caller), as Jinja2's compiler does.
func finishMacro(p *parser, m *macroDef, t token) error {
	m.explicitCaller = -1
	skip := map[string]bool{}
	for i, name := range m.params {
		if name == "caller" {
			m.explicitCaller = i
		}
		if name == "varargs" || name == "kwargs" {
			skip[name] = true
		}
	}
	und := findUndeclared(m.body, []string{"caller", "kwargs", "varargs"})
	if und["caller"] {
		if m.explicitCaller >= 0 && m.explicitCaller < len(m.params)-len(m.defaults) {
			return p.failAt(t, KindAssertion, "When defining macros or call blocks the special \"caller\" argument must be omitted or be given a default.")
		}
		m.caller = true
	}
	m.catchKwargs = und["kwargs"] && !skip["kwargs"]
	m.catchVarargs = und["varargs"] && !skip["varargs"]
	return nil
}
