package jinja

// The syntax tree mirrors Jinja2's nodes.py, so the evaluator can follow
// Jinja2's compiler node by node.

type pos struct{ line, col int }

type node interface{ position() pos }

func (p pos) position() pos { return p }

// Expressions.
type (
	constExpr struct {
		pos
		value Value
	}
	nameExpr struct {
		pos
		name string
	}
	// nsRefExpr is the target "ns.attr" of a set.
	nsRefExpr struct {
		pos
		name, attr string
	}
	listExpr struct {
		pos
		items []node
	}
	tupleExpr struct {
		pos
		items []node
	}
	dictExpr struct {
		pos
		keys, values []node
	}
	getattrExpr struct {
		pos
		obj  node
		attr string
	}
	getitemExpr struct {
		pos
		obj, arg node
	}
	sliceExpr struct {
		pos
		start, stop, step node // nil when omitted
	}
	callArgs struct {
		args      []node
		kwNames   []string
		kwValues  []node
		dynArgs   node
		dynKwargs node
	}
	callExpr struct {
		pos
		fn node
		callArgs
	}
	filterExpr struct {
		pos
		obj  node // nil in a filter block
		name string
		callArgs
	}
	testExpr struct {
		pos
		obj  node
		name string
		callArgs
	}
	condExpr struct {
		pos
		test, expr1, expr2 node // expr2 nil without else
	}
	binExpr struct {
		pos
		op          string // add sub mul div floordiv mod pow
		left, right node
	}
	concatExpr struct {
		pos
		items []node
	}
	compareOp struct {
		op   string // eq ne lt lteq gt gteq in notin
		expr node
	}
	compareExpr struct {
		pos
		expr node
		ops  []compareOp
	}
	andExpr struct {
		pos
		left, right node
	}
	orExpr struct {
		pos
		left, right node
	}
	notExpr struct {
		pos
		expr node
	}
	negExpr struct {
		pos
		expr node
	}
	posExpr struct {
		pos
		expr node
	}
)

// Statements.
type (
	// outputStmt prints its items: string template data or expressions.
	outputStmt struct {
		pos
		items []node
	}
	templateData struct {
		pos
		data string
	}
	ifStmt struct {
		pos
		test  node
		body  []node
		elifs []*ifStmt
		els   []node
	}
	forStmt struct {
		pos
		target    node
		iter      node
		body, els []node
		test      node
		recursive bool
		frame     *frameInfo // the body's
		elseFrame *frameInfo
	}
	assignStmt struct {
		pos
		target node
		expr   node
	}
	assignBlockStmt struct {
		pos
		target node
		filter node // a filterExpr chain with a nil innermost obj, or nil
		body   []node
		frame  *frameInfo
	}
	macroStmt struct {
		pos
		macro *macroDef
	}
	callBlockStmt struct {
		pos
		call   *callExpr
		caller *macroDef
	}
	filterBlockStmt struct {
		pos
		filter node
		body   []node
		frame  *frameInfo
	}
	withStmt struct {
		pos
		targets []node
		values  []node
		body    []node
		frame   *frameInfo
	}
	exprStmt struct {
		pos
		expr node
	}
	breakStmt struct {
		pos
	}
	continueStmt struct {
		pos
	}
	includeStmt struct {
		pos
		template      node
		ignoreMissing bool
		withContext   bool
	}
	importStmt struct {
		pos
		template    node
		target      string
		withContext bool
	}
	fromImportStmt struct {
		pos
		template    node
		names       []string
		aliases     []string
		withContext bool
	}
	extendsStmt struct {
		pos
		template node
	}
	blockStmt struct {
		pos
		name     string
		scoped   bool
		required bool
		body     []node
		frame    *frameInfo
	}
	autoescapeStmt struct {
		pos
		value node
		body  []node
	}
)

// macroDef is a macro, a call block's caller, or a custom tag's macro.
type macroDef struct {
	pos
	name           string
	params         []string
	defaults       []node // for the last len(defaults) params
	body           []node
	catchVarargs   bool
	catchKwargs    bool
	caller         bool // the body uses caller
	isCaller       bool // this is a call block's caller
	explicitCaller int  // index of a "caller" parameter, or -1
	frame          *frameInfo
	template       *Template
}

// frameInfo is what the symbol analysis (symbols.go) found about one scope.
type frameInfo struct {
	// undeclared are the names assigned in the scope before any use that
	// Jinja2 initialises as missing, hiding outer values of the same name.
	undeclared []string
}
