package jinja

import (
	"math/big"
	"strings"
)

// Jinja2 3.1's built-in tests, following tests.py.

var builtinTests map[string]Test

func init() {
	cmp := func(op string) Test {
		return func(c *Call, v Value, a Args) (bool, error) {
			p, err := a.Bind(op, 1, "b")
			if err != nil {
				return false, err
			}
			return c.r.compare(op, v, p[0])
		}
	}
	builtinTests = map[string]Test{
		"odd":         testModulo(1),
		"even":        testModulo(0),
		"divisibleby": testDivisibleby,
		"defined": func(c *Call, v Value, a Args) (bool, error) {
			_, undef := v.(Undefined)
			return !undef, noTestArgs("test_defined", a)
		},
		"undefined": func(c *Call, v Value, a Args) (bool, error) {
			_, undef := v.(Undefined)
			return undef, noTestArgs("test_undefined", a)
		},
		"filter": func(c *Call, v Value, a Args) (bool, error) {
			s, ok := v.(string)
			_, found := c.r.env.Filters[s]
			return ok && found, noTestArgs("test_filter", a)
		},
		"test": func(c *Call, v Value, a Args) (bool, error) {
			s, ok := v.(string)
			_, found := c.r.env.Tests[s]
			return ok && found, noTestArgs("test_test", a)
		},
		"none": func(c *Call, v Value, a Args) (bool, error) { return v == nil, noTestArgs("test_none", a) },
		"boolean": func(c *Call, v Value, a Args) (bool, error) {
			_, ok := v.(bool)
			return ok, noTestArgs("test_boolean", a)
		},
		"false": func(c *Call, v Value, a Args) (bool, error) { return v == false, noTestArgs("test_false", a) },
		"true":  func(c *Call, v Value, a Args) (bool, error) { return v == true, noTestArgs("test_true", a) },
		"integer": func(c *Call, v Value, a Args) (bool, error) {
			switch v.(type) {
			case int64, int, *big.Int:
				return true, noTestArgs("test_integer", a)
			}
			return false, noTestArgs("test_integer", a)
		},
		"float": func(c *Call, v Value, a Args) (bool, error) {
			_, ok := v.(float64)
			return ok, noTestArgs("test_float", a)
		},
		"lower": func(c *Call, v Value, a Args) (bool, error) {
			return strNoArgMethod(pyStr(v), "islower").(bool), noTestArgs("test_lower", a)
		},
		"upper": func(c *Call, v Value, a Args) (bool, error) {
			return strNoArgMethod(pyStr(v), "isupper").(bool), noTestArgs("test_upper", a)
		},
		"string": func(c *Call, v Value, a Args) (bool, error) {
			_, ok := asString(v)
			return ok, noTestArgs("test_string", a)
		},
		"mapping": func(c *Call, v Value, a Args) (bool, error) {
			_, ok := v.(*Dict)
			return ok, noTestArgs("test_mapping", a)
		},
		"number": func(c *Call, v Value, a Args) (bool, error) { return isNumber(v), noTestArgs("test_number", a) },
		"sequence": func(c *Call, v Value, a Args) (bool, error) {
			switch v.(type) {
			case string, Markup, *List, Tuple, *Dict, Range, Undefined, *groupTuple:
				return true, noTestArgs("test_sequence", a)
			}
			return false, noTestArgs("test_sequence", a)
		},
		"sameas": func(c *Call, v Value, a Args) (bool, error) {
			p, err := a.Bind("test_sameas", 1, "other")
			if err != nil {
				return false, err
			}
			return sameAs(v, p[0]), nil
		},
		"iterable": func(c *Call, v Value, a Args) (bool, error) {
			return isIterable(v), noTestArgs("test_iterable", a)
		},
		"escaped": func(c *Call, v Value, a Args) (bool, error) {
			_, ok := v.(Markup)
			return ok, noTestArgs("test_escaped", a)
		},
		"in": func(c *Call, v Value, a Args) (bool, error) {
			p, err := a.Bind("test_in", 1, "seq")
			if err != nil {
				return false, err
			}
			return c.r.contains(p[0], v)
		},
		"callable": func(c *Call, v Value, a Args) (bool, error) {
			switch v.(type) {
			case *Macro, Func, *funcValue, *boundMethod, Undefined, *loopContext, *joiner, *blockRef:
				return true, noTestArgs("callable", a)
			}
			_, ok := v.(Callable)
			return ok, noTestArgs("callable", a)
		},
		"==": cmp("eq"), "eq": cmp("eq"), "equalto": cmp("eq"),
		"!=": cmp("ne"), "ne": cmp("ne"),
		">": cmp("gt"), "gt": cmp("gt"), "greaterthan": cmp("gt"),
		">=": cmp("gteq"), "ge": cmp("gteq"),
		"<": cmp("lt"), "lt": cmp("lt"), "lessthan": cmp("lt"),
		"<=": cmp("lteq"), "le": cmp("lteq"),
	}
}

func noTestArgs(name string, a Args) error {
	_, err := a.Bind(name, 0)
	return err
}

func testModulo(want int64) Test {
	return func(c *Call, v Value, a Args) (bool, error) {
		if err := noTestArgs("test_odd", a); err != nil {
			return false, err
		}
		m, err := c.r.binaryOp("mod", v, int64(2))
		if err != nil {
			return false, err
		}
		return equal(m, want), nil
	}
}

func testDivisibleby(c *Call, v Value, a Args) (bool, error) {
	p, err := a.Bind("test_divisibleby", 1, "num")
	if err != nil {
		return false, err
	}
	m, err := c.r.binaryOp("mod", v, p[0])
	if err != nil {
		return false, err
	}
	return equal(m, int64(0)), nil
}

// sameAs is Python's "is" for the values templates can compare that way.
func sameAs(a, b Value) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		// CPython caches small ints; others are separate objects.
		return ok && x == y && x >= -5 && x <= 256
	case string:
		y, ok := b.(string)
		return ok && x == y && (len(x) <= 1 || isIdentifierLike(x))
	case *List, *Dict, *Macro, *Namespace, *loopContext, *Iterator, *cycler, *joiner:
		return a == b
	case Undefined:
		return false
	}
	return false
}

func isIdentifierLike(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !isNameRune(r) }) < 0
}
