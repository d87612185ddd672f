package jinja

import (
	"fmt"
	"math"
	"math/big"
	"strings"
)

// Python's operators on the engine's values: numbers with Python's
// arbitrary-precision ints, floor division and modulo, sequences, and
// Python's TypeErrors for the rest.

// typeName is Python's type(v).__name__.
func typeName(v Value) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, int, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case Markup:
		return "Markup"
	case *List:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case Undefined:
		return "Undefined"
	case Range:
		return "range"
	case *Macro:
		return "Macro"
	case *Namespace:
		return "Namespace"
	case *loopContext:
		return "LoopContext"
	case *Iterator:
		return x.name
	case *dictView:
		return "dict_" + x.kind
	case *groupTuple:
		return "_GroupTuple"
	case *boundMethod:
		return "builtin_function_or_method"
	case Func, *funcValue:
		return "function"
	case *cycler:
		return "Cycler"
	case *joiner:
		return "Joiner"
	case sliceValue:
		return "slice"
	case *Module:
		return "TemplateModule"
	}
	if n, ok := v.(interface{ TypeName() string }); ok {
		return n.TypeName()
	}
	return "object"
}

// objectTypeRepr is Jinja2's object_type_repr, used in undefined messages.
func objectTypeRepr(v Value) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool, int64, int, *big.Int, float64, string, *List, Tuple, *Dict, Range:
		return typeName(v) + " object"
	}
	return "jinja2.runtime." + typeName(v) + " object"
}

// truth is Python's bool(v).
func truth(v Value) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case *big.Int:
		return x.Sign() != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case Markup:
		return x != ""
	case *List:
		return len(x.Items) > 0
	case Tuple:
		return len(x) > 0
	case *Dict:
		return x.Len() > 0
	case Undefined:
		return false
	case Range:
		return x.Len() > 0
	case *dictView:
		return x.d.Len() > 0
	}
	if t, ok := v.(interface{ Truth() bool }); ok {
		return t.Truth()
	}
	return true
}

// Numbers.

// number classifies a numeric value: 'i' int64, 'b' big int, 'f' float, 0 not a number.
func number(v Value) (kind byte, i int64, b *big.Int, f float64) {
	switch x := v.(type) {
	case bool:
		if x {
			return 'i', 1, nil, 0
		}
		return 'i', 0, nil, 0
	case int64:
		return 'i', x, nil, 0
	case int:
		return 'i', int64(x), nil, 0
	case *big.Int:
		return 'b', 0, x, 0
	case float64:
		return 'f', 0, nil, x
	}
	return 0, 0, nil, 0
}

func isNumber(v Value) bool { k, _, _, _ := number(v); return k != 0 }

func isInt(v Value) bool {
	switch v.(type) {
	case bool, int64, int, *big.Int:
		return true
	}
	return false
}

func toBig(kind byte, i int64, b *big.Int) *big.Int {
	if kind == 'b' {
		return b
	}
	return big.NewInt(i)
}

// normBig turns a big result back into an int64 when it fits.
func normBig(b *big.Int) Value {
	if b.IsInt64() {
		return b.Int64()
	}
	return b
}

func floatToBig(f float64) (*big.Int, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) {
		return nil, false
	}
	b, _ := big.NewFloat(f).Int(nil)
	return b, true
}

// toFloat converts a number to float as Python's float() does for ints.
func toFloat(v Value) (float64, error) {
	kind, i, b, f := number(v)
	switch kind {
	case 'i':
		return float64(i), nil
	case 'b':
		x, acc := new(big.Float).SetInt(b).Float64()
		if math.IsInf(x, 0) || (acc != big.Exact && math.IsInf(x, 0)) {
			return 0, newError(KindOverflow, "int too large to convert to float")
		}
		return x, nil
	case 'f':
		return f, nil
	}
	return 0, typeErrorf("must be real number, not %s", typeName(v))
}

func unsupported(op string, a, b Value) error {
	return typeErrorf("unsupported operand type(s) for %s: %s and %s", op, reprString(typeName(a)), reprString(typeName(b)))
}

var opSymbols = map[string]string{"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "pow": "** or pow()"}

// binaryOp applies a Jinja2 math operator with Python's semantics.
func (r *renderer) binaryOp(op string, a, b Value) (Value, error) {
	if op == "mod" {
		// str.__mod__ formats any right operand, undefined included.
		if _, isStr := asString(a); isStr {
			if _, isU := b.(Undefined); isU {
				res, err := r.percentFormat(pyStr(a), b)
				if _, m := a.(Markup); m && err == nil {
					return Markup(res), nil
				}
				return res, err
			}
		}
	}
	if u, ok := a.(Undefined); ok {
		return nil, r.undefinedError(u)
	}
	if u, ok := b.(Undefined); ok {
		return nil, r.undefinedError(u)
	}
	ka, ia, ba, fa := number(a)
	kb, ib, bb, fb := number(b)
	if ka != 0 && kb != 0 {
		if ka == 'f' || kb == 'f' {
			x, err := toFloat(a)
			if err != nil {
				return nil, err
			}
			y, err := toFloat(b)
			if err != nil {
				return nil, err
			}
			return floatOp(op, x, y)
		}
		if ka == 'i' && kb == 'i' {
			if v, ok := intOpFast(op, ia, ib); ok {
				return v, nil
			}
		}
		return r.bigOp(op, toBig(ka, ia, ba), toBig(kb, ib, bb))
	}
	_ = fa
	_ = fb
	if o, ok := a.(Operand); ok {
		if v, ok, err := o.BinaryOp(op, b, false); ok || err != nil {
			return v, err
		}
	}
	if o, ok := b.(Operand); ok {
		if v, ok, err := o.BinaryOp(op, a, true); ok || err != nil {
			return v, err
		}
	}
	switch op {
	case "add":
		return r.addSeq(a, b)
	case "mul":
		if kb != 0 && ka == 0 {
			return r.repeat(a, b)
		}
		if ka != 0 && kb == 0 {
			return r.repeat(b, a)
		}
	case "mod":
		switch s := a.(type) {
		case string:
			res, err := r.percentFormat(s, b)
			if err != nil {
				return nil, err
			}
			return res, r.chargeString(res)
		case Markup:
			res, err := r.percentFormat(string(s), escapeArgs(b))
			if err != nil {
				return nil, err
			}
			return Markup(res), r.chargeString(res)
		}
	}
	return nil, unsupported(opSymbols[op], a, b)
}

func intOpFast(op string, a, b int64) (Value, bool) {
	switch op {
	case "add":
		s := a + b
		if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
			return nil, false
		}
		return s, true
	case "sub":
		s := a - b
		if (a >= 0) != (b >= 0) && (s >= 0) != (a >= 0) {
			return nil, false
		}
		return s, true
	case "mul":
		if a == 0 || b == 0 {
			return int64(0), true
		}
		s := a * b
		if s/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
			return nil, false
		}
		return s, true
	case "floordiv":
		if b == 0 || (a == math.MinInt64 && b == -1) {
			return nil, false
		}
		q := a / b
		if (a%b != 0) && ((a < 0) != (b < 0)) {
			q--
		}
		return q, true
	case "mod":
		if b == 0 || b == -1 {
			if b == -1 {
				return int64(0), true
			}
			return nil, false
		}
		m := a % b
		if m != 0 && (m < 0) != (b < 0) {
			m += b
		}
		return m, true
	case "div":
		if b == 0 {
			return nil, false
		}
		if a > -1<<53 && a < 1<<53 && b > -1<<53 && b < 1<<53 {
			return float64(a) / float64(b), true
		}
		return nil, false
	}
	return nil, false
}

func (r *renderer) bigOp(op string, a, b *big.Int) (Value, error) {
	switch op {
	case "add":
		return r.bigResult(new(big.Int).Add(a, b))
	case "sub":
		return r.bigResult(new(big.Int).Sub(a, b))
	case "mul":
		if a.BitLen()+b.BitLen() > maxIntBits+1 {
			return nil, intTooLarge()
		}
		if err := r.charge(int64(a.BitLen()+b.BitLen()) / 8); err != nil {
			return nil, err
		}
		return r.bigResult(new(big.Int).Mul(a, b))
	case "floordiv", "mod":
		if b.Sign() == 0 {
			return nil, newError(KindZeroDivision, "integer division or modulo by zero")
		}
		q, m := new(big.Int).DivMod(a, b, new(big.Int))
		// Go's DivMod is Euclidean (m >= 0); Python's modulo has the
		// divisor's sign.
		if m.Sign() != 0 && b.Sign() < 0 {
			m.Add(m, b)
			q.Add(q, big.NewInt(1))
		}
		if op == "floordiv" {
			return normBig(q), nil
		}
		return normBig(m), nil
	case "div":
		if b.Sign() == 0 {
			return nil, newError(KindZeroDivision, "division by zero")
		}
		f, _ := new(big.Rat).SetFrac(a, b).Float64()
		if math.IsInf(f, 0) {
			return nil, newError(KindOverflow, "integer division result too large for a float")
		}
		return f, nil
	case "pow":
		return r.intPow(a, b)
	}
	return nil, unsupported(opSymbols[op], a, b)
}

// maxIntBits bounds the size of an int a render may compute: Python has
// no bound, but it cannot print one of more than 4,300 digits (14,300
// bits) and arithmetic on huge ints takes unbounded time.
const maxIntBits = 1 << 20

func intTooLarge() error {
	return limitError(LimitMemory, fmt.Sprintf("an integer result has more than %d bits", maxIntBits))
}

func (r *renderer) bigResult(b *big.Int) (Value, error) {
	if b.BitLen() > maxIntBits {
		return nil, intTooLarge()
	}
	if !b.IsInt64() {
		if err := r.charge(int64(b.BitLen() / 8)); err != nil {
			return nil, err
		}
	}
	return normBig(b), nil
}

func (r *renderer) intPow(a, b *big.Int) (Value, error) {
	if b.Sign() < 0 {
		x, err := toFloat(normBig(a))
		if err != nil {
			return nil, err
		}
		y, err := toFloat(normBig(b))
		if err != nil {
			return nil, err
		}
		return floatOp("pow", x, y)
	}
	// The result has about exp*log2(|base|) bits: refuse what would not
	// fit in the memory limit before computing it.
	if a.CmpAbs(big.NewInt(1)) > 0 {
		if !b.IsInt64() {
			return nil, intTooLarge()
		}
		bits := float64(b.Int64()) * float64(a.BitLen()-1)
		if bits > maxIntBits {
			return nil, intTooLarge()
		}
		if err := r.charge(int64(bits / 8)); err != nil {
			return nil, err
		}
	}
	return r.bigResult(new(big.Int).Exp(a, b, nil))
}

func floatOp(op string, x, y float64) (Value, error) {
	switch op {
	case "add":
		return x + y, nil
	case "sub":
		return x - y, nil
	case "mul":
		return x * y, nil
	case "div":
		if y == 0 {
			return nil, newError(KindZeroDivision, "float division by zero")
		}
		return x / y, nil
	case "floordiv":
		if y == 0 {
			return nil, newError(KindZeroDivision, "float floor division by zero")
		}
		d, _ := floatDivmod(x, y)
		return d, nil
	case "mod":
		if y == 0 {
			return nil, newError(KindZeroDivision, "float modulo")
		}
		_, m := floatDivmod(x, y)
		return m, nil
	case "pow":
		return floatPow(x, y)
	}
	return nil, newError(KindType, "unsupported operand")
}

// floatDivmod is CPython's float_divmod.
func floatDivmod(vx, wx float64) (float64, float64) {
	mod := math.Mod(vx, wx)
	div := (vx - mod) / wx
	if mod != 0 {
		if (wx < 0) != (mod < 0) {
			mod += wx
			div -= 1.0
		}
	} else {
		mod = math.Copysign(0, wx)
	}
	var floordiv float64
	if div != 0 {
		floordiv = math.Floor(div)
		if div-floordiv > 0.5 {
			floordiv += 1.0
		}
	} else {
		floordiv = math.Copysign(0, vx/wx)
	}
	return floordiv, mod
}

func floatPow(x, y float64) (Value, error) {
	if x == 0 && y < 0 {
		return nil, newError(KindZeroDivision, "0.0 cannot be raised to a negative power")
	}
	if x < 0 && y != math.Trunc(y) && !math.IsInf(y, 0) {
		return nil, newError(KindValue, "a negative number raised to a fractional power is complex, which templates do not support")
	}
	r := math.Pow(x, y)
	if math.IsInf(r, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return nil, newError(KindOverflow, "(34, 'Numerical result out of range')")
	}
	return r, nil
}

func (r *renderer) addSeq(a, b Value) (Value, error) {
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return r.concatStrings(x, y)
		case Markup:
			s, err := r.concatStrings(string(escapeString(x)), string(y))
			return Markup(s.(string)), err
		}
		return nil, typeErrorf("can only concatenate str (not %q) to str", typeName(b))
	case Markup:
		switch y := b.(type) {
		case string:
			s, err := r.concatStrings(string(x), string(escapeString(y)))
			return Markup(s.(string)), err
		case Markup:
			s, err := r.concatStrings(string(x), string(y))
			return Markup(s.(string)), err
		}
	case *List:
		y, ok := b.(*List)
		if !ok {
			return nil, typeErrorf("can only concatenate list (not %q) to list", typeName(b))
		}
		if err := r.chargeItems(len(x.Items) + len(y.Items)); err != nil {
			return nil, err
		}
		items := make([]Value, 0, len(x.Items)+len(y.Items))
		return &List{Items: append(append(items, x.Items...), y.Items...)}, nil
	case Tuple:
		y, ok := b.(Tuple)
		if !ok {
			return nil, typeErrorf("can only concatenate tuple (not %q) to tuple", typeName(b))
		}
		if err := r.chargeItems(len(x) + len(y)); err != nil {
			return nil, err
		}
		items := make(Tuple, 0, len(x)+len(y))
		return append(append(items, x...), y...), nil
	}
	return nil, unsupported("+", a, b)
}

func (r *renderer) concatStrings(a, b string) (Value, error) {
	if err := r.charge(int64(len(a) + len(b))); err != nil {
		return nil, err
	}
	return a + b, nil
}

// repeat is seq * n.
func (r *renderer) repeat(seq, n Value) (Value, error) {
	switch seq.(type) {
	case string, Markup, *List, Tuple:
	default:
		return nil, unsupported("*", seq, n)
	}
	kind, count, _, _ := number(n)
	if kind == 'f' {
		return nil, typeErrorf("can't multiply sequence by non-int of type 'float'")
	}
	if kind == 'b' {
		if n.(*big.Int).Sign() < 0 {
			count = 0
		} else {
			return nil, r.memoryError()
		}
	}
	if count < 0 {
		count = 0
	}
	switch x := seq.(type) {
	case string:
		if err := r.charge(int64(len(x)) * count); err != nil {
			return nil, err
		}
		return strings.Repeat(x, int(count)), nil
	case Markup:
		if err := r.charge(int64(len(x)) * count); err != nil {
			return nil, err
		}
		return Markup(strings.Repeat(string(x), int(count))), nil
	case *List:
		if err := r.chargeItems(len(x.Items) * int(min(count, math.MaxInt32))); err != nil {
			return nil, err
		}
		items := make([]Value, 0, len(x.Items)*int(count))
		for i := int64(0); i < count; i++ {
			items = append(items, x.Items...)
		}
		return &List{Items: items}, nil
	case Tuple:
		if err := r.chargeItems(len(x) * int(min(count, math.MaxInt32))); err != nil {
			return nil, err
		}
		items := make(Tuple, 0, len(x)*int(count))
		for i := int64(0); i < count; i++ {
			items = append(items, x...)
		}
		return items, nil
	}
	return nil, unsupported("*", seq, n)
}

func (r *renderer) unaryOp(neg bool, v Value) (Value, error) {
	if u, ok := v.(Undefined); ok {
		return nil, r.undefinedError(u)
	}
	kind, i, b, f := number(v)
	switch kind {
	case 'i':
		if !neg {
			return i, nil
		}
		if i == math.MinInt64 {
			return new(big.Int).Neg(big.NewInt(i)), nil
		}
		return -i, nil
	case 'b':
		if !neg {
			return b, nil
		}
		return normBig(new(big.Int).Neg(b)), nil
	case 'f':
		if neg {
			return -f, nil
		}
		return f, nil
	}
	if o, ok := v.(Operand); ok {
		if !neg {
			return v, nil
		}
		if n, ok := o.Negate(); ok {
			return n, nil
		}
	}
	sym := "+"
	if neg {
		sym = "-"
	}
	return nil, typeErrorf("bad operand type for unary %s: %s", sym, reprString(typeName(v)))
}

// Comparison.

// equal is Python's ==.
func equal(a, b Value) bool { return equalDepth(a, b, 0) }

const maxCompareDepth = 500

func equalDepth(a, b Value, depth int) bool {
	if depth > maxCompareDepth {
		return false
	}
	ka, ia, ba, fa := number(a)
	kb, ib, bb, fb := number(b)
	if ka != 0 && kb != 0 {
		return numCompare(ka, ia, ba, fa, kb, ib, bb, fb) == 0 && !(ka == 'f' && math.IsNaN(fa)) && !(kb == 'f' && math.IsNaN(fb))
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		switch y := b.(type) {
		case string:
			return x == y
		case Markup:
			return x == string(y)
		}
		return false
	case Markup:
		switch y := b.(type) {
		case string:
			return string(x) == y
		case Markup:
			return x == y
		}
		return false
	case *List:
		y, ok := b.(*List)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		return seqEqual(x.Items, y.Items, depth)
	case Tuple:
		switch y := b.(type) {
		case Tuple:
			return seqEqual(x, y, depth)
		case *groupTuple:
			return seqEqual(x, y.tuple(), depth)
		}
		return false
	case *groupTuple:
		return equalDepth(x.tuple(), b, depth)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if x.Len() != y.Len() {
			return false
		}
		for i, k := range x.keys {
			h, _ := hashKey(k)
			v, ok := y.get(h)
			if !ok || !equalDepth(x.vals[i], v, depth+1) {
				return false
			}
		}
		return true
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case Range:
		y, ok := b.(Range)
		if !ok {
			return false
		}
		n := x.Len()
		if n != y.Len() {
			return false
		}
		return n == 0 || (x.Start == y.Start && (n == 1 || x.Step == y.Step))
	case *Macro, *Namespace, *loopContext, *Iterator, *cycler, *joiner, *dictView:
		return a == b
	}
	if e, ok := a.(interface{ Equal(Value) bool }); ok {
		return e.Equal(b)
	}
	defer func() { _ = recover() }()
	return a == b
}

func seqEqual(x, y []Value, depth int) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !equalDepth(x[i], y[i], depth+1) {
			return false
		}
	}
	return true
}

// numCompare compares two numbers exactly (-1, 0, 1; NaN compares 2).
func numCompare(ka byte, ia int64, ba *big.Int, fa float64, kb byte, ib int64, bb *big.Int, fb float64) int {
	if ka == 'i' && kb == 'i' {
		switch {
		case ia < ib:
			return -1
		case ia > ib:
			return 1
		}
		return 0
	}
	if ka == 'f' && kb == 'f' {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		case fa == fb:
			return 0
		}
		return 2
	}
	if (ka == 'f' && math.IsNaN(fa)) || (kb == 'f' && math.IsNaN(fb)) {
		return 2
	}
	toBF := func(k byte, i int64, b *big.Int, f float64) *big.Float {
		switch k {
		case 'i':
			return new(big.Float).SetInt64(i)
		case 'b':
			return new(big.Float).SetInt(b)
		}
		return big.NewFloat(f)
	}
	if ka != 'f' && kb != 'f' {
		return toBig(ka, ia, ba).Cmp(toBig(kb, ib, bb))
	}
	return toBF(ka, ia, ba, fa).Cmp(toBF(kb, ib, bb, fb))
}

var compareSymbols = map[string]string{"lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}

// less is Python's ordering operators (op: lt lteq gt gteq).
func (r *renderer) order(op string, a, b Value) (bool, error) {
	if u, ok := a.(Undefined); ok {
		return false, r.undefinedError(u)
	}
	if u, ok := b.(Undefined); ok {
		return false, r.undefinedError(u)
	}
	c, err := compareValues(a, b, 0)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Kind == KindType && e.Msg == "" {
			return false, typeErrorf("%s not supported between instances of %s and %s", reprString(compareSymbols[op]), reprString(typeName(a)), reprString(typeName(b)))
		}
		return false, err
	}
	if c == 2 {
		return false, nil
	}
	switch op {
	case "lt":
		return c < 0, nil
	case "lteq":
		return c <= 0, nil
	case "gt":
		return c > 0, nil
	}
	return c >= 0, nil
}

// compareValues orders two values; an *Error with Kind TypeError and an
// empty message means "not orderable" (the caller words the message).
func compareValues(a, b Value, depth int) (int, error) {
	if depth > maxCompareDepth {
		return 0, newError(KindRecursion, "maximum recursion depth exceeded in comparison")
	}
	ka, ia, ba, fa := number(a)
	kb, ib, bb, fb := number(b)
	if ka != 0 && kb != 0 {
		return numCompare(ka, ia, ba, fa, kb, ib, bb, fb), nil
	}
	if u, ok := a.(Undefined); ok {
		return 0, newError(KindUndefined, u.Message())
	}
	if u, ok := b.(Undefined); ok {
		return 0, newError(KindUndefined, u.Message())
	}
	sa, aIsStr := asString(a)
	sb, bIsStr := asString(b)
	if aIsStr && bIsStr {
		return strings.Compare(sa, sb), nil
	}
	// A host's order is only its sign: 2 means unordered (NaN) here.
	if o, ok := a.(Operand); ok {
		if c, ok := o.Compare(b); ok {
			return sign(c), nil
		}
	}
	if o, ok := b.(Operand); ok {
		if c, ok := o.Compare(a); ok {
			return -sign(c), nil
		}
	}
	var xa, xb []Value
	switch x := a.(type) {
	case *List:
		y, ok := b.(*List)
		if !ok {
			return 0, newError(KindType, "")
		}
		xa, xb = x.Items, y.Items
	case Tuple:
		y, ok := b.(Tuple)
		if !ok {
			return 0, newError(KindType, "")
		}
		xa, xb = x, y
	default:
		return 0, newError(KindType, "")
	}
	for i := 0; i < len(xa) && i < len(xb); i++ {
		if equalDepth(xa[i], xb[i], depth+1) {
			continue
		}
		c, err := compareValues(xa[i], xb[i], depth+1)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Kind == KindType && e.Msg == "" {
				return 0, typeErrorf("'<' not supported between instances of %s and %s", reprString(typeName(xa[i])), reprString(typeName(xb[i])))
			}
		}
		return c, err
	}
	switch {
	case len(xa) < len(xb):
		return -1, nil
	case len(xa) > len(xb):
		return 1, nil
	}
	return 0, nil
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func asString(v Value) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case Markup:
		return string(x), true
	}
	return "", false
}

// contains is Python's "item in container".
func (r *renderer) contains(container, item Value) (bool, error) {
	switch c := container.(type) {
	case string, Markup:
		s, _ := asString(c)
		sub, ok := asString(item)
		if !ok {
			return false, typeErrorf("'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(s, sub), nil
	case *Dict:
		h, err := hashKey(item)
		if err != nil {
			return false, err
		}
		_, ok := c.get(h)
		return ok, nil
	case *dictView:
		if c.kind == "keys" {
			return r.contains(c.d, item)
		}
		for _, v := range c.items() {
			if equal(v, item) {
				return true, nil
			}
		}
		return false, nil
	case Range:
		kind, i, _, f := number(item)
		if kind == 'f' && f == math.Trunc(f) {
			kind, i = 'i', int64(f)
		}
		if kind != 'i' {
			return false, nil
		}
		n := c.Len()
		if n == 0 {
			return false, nil
		}
		if (i-c.Start)%c.Step != 0 {
			return false, nil
		}
		k := (i - c.Start) / c.Step
		return k >= 0 && k < n, nil
	case nil, bool, int64, float64, *big.Int:
		return false, typeErrorf("argument of type %s is not iterable", reprString(typeName(container)))
	}
	if o, ok := container.(interface{ Contains(Value) (bool, error) }); ok {
		return o.Contains(item)
	}
	var found bool
	err := r.iterate(container, func(v Value) (bool, error) {
		if equal(v, item) {
			found = true
			return false, nil
		}
		return true, nil
	})
	return found, err
}
