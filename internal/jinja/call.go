package jinja

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strings"
)

// Func is a Go function templates can call: {{ f(1, x=2) }}.
type Func func(c *Call, args Args) (Value, error)

// Filter is a filter: {{ value|name(args) }}.
type Filter func(c *Call, value Value, args Args) (Value, error)

// Test is a test: {% if value is name(args) %}.
type Test func(c *Call, value Value, args Args) (bool, error)

// Object is a Go value with attributes: {{ obj.name }}. Attr reports false
// for a missing attribute, which templates see as undefined. Methods are
// attributes whose value is a Func.
//
// An Object may also implement any of:
//
//	Item(key Value) (Value, bool)      obj[key]
//	Iter() ([]Value, error)            for loops, |list, unpacking
//	Len() int                          |length
//	Truth() bool                       if obj
//	String() string                    printing (fmt.Stringer)
//	Repr() string                      repr inside lists and dicts
//	CallJinja(*Call, Args) (Value, error)  obj(...)
//	Equal(other Value) bool            obj == other
//	Operand                            obj + x, x - obj, obj < x, -obj, ...
type Object interface {
	Attr(name string) (Value, bool)
}

// Operand is a host value with Python's arithmetic and ordering, such as
// a datetime: Python calls the left operand's __sub__, then the right
// one's __rsub__, and only then fails with a TypeError.
type Operand interface {
	// BinaryOp is self op other, or other op self when reflected is true.
	// op is one of add, sub, mul, div, floordiv, mod and pow. ok false is
	// Python's NotImplemented: the other operand is asked next.
	BinaryOp(op string, other Value, reflected bool) (result Value, ok bool, err error)
	// Compare orders self against other (-1, 0 or 1); ok false when the
	// two do not compare.
	Compare(other Value) (order int, ok bool)
	// Negate is -self; ok false when it has no unary minus.
	Negate() (Value, bool)
}

// Callable is a value templates can call.
type Callable interface {
	CallJinja(c *Call, args Args) (Value, error)
}

// CallJinja makes a Func a Callable.
func (f Func) CallJinja(c *Call, args Args) (Value, error) { return f(c, args) }

// funcValue is a named built-in function (range, dict, lipsum...).
type funcValue struct {
	name string
	fn   Func
}

func (f *funcValue) CallJinja(c *Call, args Args) (Value, error) { return f.fn(c, args) }

// KV is one keyword argument.
type KV struct {
	Name  string
	Value Value
}

// Args are the arguments of a call: positional, then keyword in the order
// written.
type Args struct {
	Pos []Value
	Kw  []KV
}

// Kwarg returns the keyword argument name.
func (a Args) Kwarg(name string) (Value, bool) {
	for _, kv := range a.Kw {
		if kv.Name == name {
			return kv.Value, true
		}
	}
	return nil, false
}

// Bind matches the arguments to parameters the way Python binds a call to
// def fn(names...): the first required parameters must be given, the rest
// are optional and come back as Missing when not passed. Errors are
// Python's TypeErrors.
func (a Args) Bind(fn string, required int, names ...string) ([]Value, error) {
	out := make([]Value, len(names))
	for i := range out {
		out[i] = Missing
	}
	if len(a.Pos) > len(names) {
		return nil, typeErrorf("%s() takes %s but %d were given", fn, countArgs(len(names), required), len(a.Pos))
	}
	copy(out, a.Pos)
	for _, kv := range a.Kw {
		i := indexOf(names, kv.Name)
		if i < 0 {
			return nil, typeErrorf("%s() got an unexpected keyword argument %s", fn, reprString(kv.Name))
		}
		if i < len(a.Pos) {
			return nil, typeErrorf("%s() got multiple values for argument %s", fn, reprString(kv.Name))
		}
		out[i] = kv.Value
	}
	var missing []string
	for i := 0; i < required; i++ {
		if out[i] == Missing {
			missing = append(missing, reprString(names[i]))
		}
	}
	if len(missing) > 0 {
		s := "s"
		if len(missing) == 1 {
			s = ""
		}
		list := strings.Join(missing, ", ")
		if len(missing) > 1 {
			list = strings.Join(missing[:len(missing)-1], ", ") + " and " + missing[len(missing)-1]
		}
		return nil, typeErrorf("%s() missing %d required positional argument%s: %s", fn, len(missing), s, list)
	}
	return out, nil
}

func countArgs(n, required int) string {
	if n == required {
		if n == 1 {
			return "1 positional argument"
		}
		return fmt.Sprintf("%d positional arguments", n)
	}
	return fmt.Sprintf("from %d to %d positional arguments", required, n)
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// Call is what a Func, Filter or Test gets besides its arguments: the
// render it runs in. It is valid only during the call.
type Call struct {
	r   *renderer
	pos Position
	sc  *scope
}

// Context is the render's context (cancellation, deadline, and whatever
// values the host put in it).
func (c *Call) Context() context.Context { return c.r.ctx }

// Position is where the call is in the template.
func (c *Call) Position() Position { return c.pos }

// Stack is the chain of macro calls and includes the call is inside,
// innermost first.
func (c *Call) Stack() []Frame {
	out := make([]Frame, len(c.r.stack))
	for i := range c.r.stack {
		out[i] = c.r.stack[len(c.r.stack)-1-i]
	}
	return out
}

// Lookup resolves a name as the template would at the call.
func (c *Call) Lookup(name string) (Value, bool) {
	v := c.r.lookup(c.sc, name)
	_, undef := v.(Undefined)
	return v, !undef
}

// Call calls a template value (macro, function, callable object).
func (c *Call) Call(fn Value, args Args) (Value, error) {
	return c.r.call(fn, args, c.pos, c.sc)
}

// Env is the environment of the render.
func (c *Call) Env() *Environment { return c.r.env }

// Undefined makes an undefined value with the given message.
func (c *Call) Undefined(hint string) Value { return Undefined{Hint: hint} }

// Str is Python's str() of a value.
func (c *Call) Str(v Value) string { return pyStr(v) }

// Charge counts n bytes against the render's memory limit; host functions
// that build large values should call it.
func (c *Call) Charge(n int64) error { return c.r.charge(n) }

// Return ends the innermost macro call with value v when a Func returns it
// as its error: dbt's {{ return(x) }} is
//
//	func(c *Call, a Args) (Value, error) { return nil, jinja.Return(a.Pos[0]) }
func Return(v Value) error { return &returnSignal{value: v} }

type returnSignal struct{ value Value }

func (r *returnSignal) Error() string { return "return() outside of a macro" }

// FromGo converts a Go value to a template value: numbers to int64/float64,
// slices to *List, maps with string keys to *Dict (keys sorted), and
// pointers to what they point to. Template values and other types are
// returned as they are.
func FromGo(v any) Value {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, Markup, *List, Tuple, *Dict, Undefined, Range, *big.Int,
		*Macro, Func, *Namespace, *Module, *Iterator:
		return v
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return uintValue(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return uintValue(x)
	case float32:
		return float64(x)
	case []any:
		items := make([]Value, len(x))
		for i, it := range x {
			items[i] = FromGo(it)
		}
		return &List{Items: items}
	case []string:
		items := make([]Value, len(x))
		for i, it := range x {
			items[i] = it
		}
		return &List{Items: items}
	case map[string]any:
		return sortedDict(x, func(v any) Value { return FromGo(v) })
	case map[string]string:
		return sortedDict(x, func(v string) Value { return v })
	case func(c *Call, args Args) (Value, error):
		return Func(x)
	case Object, Callable:
		return v
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return string(rv.Bytes())
		}
		items := make([]Value, rv.Len())
		for i := range items {
			items[i] = FromGo(rv.Index(i).Interface())
		}
		return &List{Items: items}
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		d := &Dict{}
		for _, k := range keys {
			_ = d.set(k.String(), FromGo(rv.MapIndex(k).Interface()))
		}
		return d
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		if rv.Elem().Kind() != reflect.Struct {
			return FromGo(rv.Elem().Interface())
		}
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	return v
}

func uintValue(u uint64) Value {
	if u <= 1<<63-1 {
		return int64(u)
	}
	return new(big.Int).SetUint64(u)
}

// ToGo converts a template value to plain Go: nil, bool, int64 (or
// *big.Int), float64, string, []any (lists and tuples), map[string]any
// (dicts; other key types are printed with str()). Undefined becomes nil.
// Other values are returned as they are.
func ToGo(v Value) any {
	switch x := v.(type) {
	case Markup:
		return string(x)
	case *List:
		out := make([]any, len(x.Items))
		for i, it := range x.Items {
			out[i] = ToGo(it)
		}
		return out
	case Tuple:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = ToGo(it)
		}
		return out
	case *Dict:
		out := make(map[string]any, x.Len())
		for i, k := range x.keys {
			out[pyStr(k)] = ToGo(x.vals[i])
		}
		return out
	case Undefined:
		return nil
	case *groupTuple:
		return ToGo(x.tuple())
	}
	return v
}

// Str is Python's str() of a template value, as templates print it.
func Str(v Value) string { return pyStr(v) }

// Repr is Python's repr() of a template value.
func Repr(v Value) string { return repr(v) }

// Truth is Python's bool() of a template value.
func Truth(v Value) bool { return truth(v) }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
