package jinja

import (
	"fmt"
	"math/big"
	"reflect"
	"sort"
)

// Value is any value a template works with. The engine uses these Go types
// for Python's:
//
//	None        nil
//	bool        bool
//	int         int64, or *big.Int beyond int64 (results are normalised)
//	float       float64
//	str         string (Markup for markupsafe's Markup)
//	list        *List
//	tuple       Tuple
//	dict        *Dict (insertion ordered)
//	Undefined   Undefined
//	range       Range
//
// plus *Macro, Func and other callables, Object implementations, and the
// engine's own objects (loop, namespace, cycler, joiner, iterators). Values
// handed in by the host are converted with FromGo.
type Value = any

// Markup is a string that is already HTML-safe (markupsafe.Markup): escape
// leaves it alone and it escapes what is joined to it.
type Markup string

// Tuple is Python's immutable tuple.
type Tuple []Value

// List is Python's mutable list.
type List struct {
	Items  []Value
	frozen bool
}

// NewList makes a list of the given items (not copied).
func NewList(items ...Value) *List { return &List{Items: items} }

// Freeze makes the list read-only: templates that try to change it fail
// with a TypeError. Use it for values shared by concurrent renders.
func (l *List) Freeze() *List { l.frozen = true; return l }

// Undefined is Jinja2's Undefined: the value of a name or attribute that does
// not exist. It prints as "", is falsy and iterates as empty; most other
// operations fail with an UndefinedError carrying its message.
type Undefined struct {
	Hint string // the message, if given explicitly
	Name string // the missing name or attribute
	obj  Value  // the object the attribute was missing on (nil with hasObj false: a plain name)
	// hasObj tells a missing attribute of obj from a missing name.
	hasObj bool
	key    Value // a non-string item key, for "has no element"
	isKey  bool
	kind   string // the error kind raised on use; "" means UndefinedError
}

// Message is the text of the error an operation on u raises.
func (u Undefined) Message() string {
	if u.Hint != "" {
		return u.Hint
	}
	if !u.hasObj {
		return reprString(u.Name) + " is undefined"
	}
	if u.isKey {
		return objectTypeRepr(u.obj) + " has no element " + repr(u.key)
	}
	return reprString(objectTypeRepr(u.obj)) + " has no attribute " + reprString(u.Name)
}

// Range is Python's range object.
type Range struct{ Start, Stop, Step int64 }

// Len is the number of items in the range.
func (r Range) Len() int64 {
	if r.Step > 0 {
		if r.Stop <= r.Start {
			return 0
		}
		return (r.Stop - r.Start + r.Step - 1) / r.Step
	}
	if r.Stop >= r.Start {
		return 0
	}
	return (r.Start - r.Stop - r.Step - 1) / -r.Step
}

// At is the i-th item (0 <= i < Len).
func (r Range) At(i int64) int64 { return r.Start + i*r.Step }

// Dict is Python's dict: keys keep their insertion order.
type Dict struct {
	keys   []Value
	vals   []Value
	index  map[hkey]int
	frozen bool
}

// NewDict makes an empty dict.
func NewDict() *Dict { return &Dict{} }

// Freeze makes the dict read-only: templates that try to change it fail
// with a TypeError. Use it for values shared by concurrent renders.
func (d *Dict) Freeze() *Dict { d.frozen = true; return d }

// Len is the number of keys.
func (d *Dict) Len() int { return len(d.keys) }

// Keys returns the keys in insertion order (not a copy).
func (d *Dict) Keys() []Value { return d.keys }

// Values returns the values in insertion order (not a copy).
func (d *Dict) Values() []Value { return d.vals }

// Get looks a key up.
func (d *Dict) Get(key Value) (Value, bool) {
	h, err := hashKey(key)
	if err != nil {
		return nil, false
	}
	return d.get(h)
}

func (d *Dict) get(h hkey) (Value, bool) {
	if d.index == nil {
		// Small dicts are scanned: cheaper than building a map.
		for i, k := range d.keys {
			if kh, _ := hashKey(k); kh == h {
				return d.vals[i], true
			}
		}
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// Set stores a value under a hashable key; it panics on an unhashable key,
// which only host code can pass (templates get a TypeError).
func (d *Dict) Set(key, value Value) {
	if err := d.set(key, value); err != nil {
		panic(err)
	}
}

// SetString stores a value under a string key.
func (d *Dict) SetString(key string, value Value) { _ = d.set(key, value) }

const dictIndexAt = 8

func (d *Dict) set(key, value Value) error {
	h, err := hashKey(key)
	if err != nil {
		return err
	}
	if i, ok := d.find(h); ok {
		d.vals[i] = value
		return nil
	}
	d.keys = append(d.keys, key)
	d.vals = append(d.vals, value)
	if d.index != nil {
		d.index[h] = len(d.keys) - 1
	} else if len(d.keys) > dictIndexAt {
		d.reindex()
	}
	return nil
}

func (d *Dict) find(h hkey) (int, bool) {
	if d.index != nil {
		i, ok := d.index[h]
		return i, ok
	}
	for i, k := range d.keys {
		if kh, _ := hashKey(k); kh == h {
			return i, true
		}
	}
	return 0, false
}

func (d *Dict) reindex() {
	d.index = make(map[hkey]int, len(d.keys))
	for i, k := range d.keys {
		h, _ := hashKey(k)
		d.index[h] = i
	}
}

func (d *Dict) delete(key Value) (Value, bool, error) {
	h, err := hashKey(key)
	if err != nil {
		return nil, false, err
	}
	i, ok := d.find(h)
	if !ok {
		return nil, false, nil
	}
	v := d.vals[i]
	d.keys = append(d.keys[:i:i], d.keys[i+1:]...)
	d.vals = append(d.vals[:i:i], d.vals[i+1:]...)
	if d.index != nil {
		d.reindex()
	}
	return v, true, nil
}

func (d *Dict) copy() *Dict {
	c := &Dict{keys: append([]Value(nil), d.keys...), vals: append([]Value(nil), d.vals...)}
	if d.index != nil {
		c.reindex()
	}
	return c
}

// hkey is a dict key reduced so that keys Python treats as equal (1, 1.0,
// True) are equal.
type hkey struct {
	kind uint8
	i    int64
	f    float64
	s    string
	o    any
}

func hashKey(v Value) (hkey, error) {
	switch x := v.(type) {
	case nil:
		return hkey{kind: 0}, nil
	case bool:
		if x {
			return hkey{kind: 1, i: 1}, nil
		}
		return hkey{kind: 1}, nil
	case int64:
		return hkey{kind: 1, i: x}, nil
	case int:
		return hkey{kind: 1, i: int64(x)}, nil
	case float64:
		if x == float64(int64(x)) && x >= -9.2e18 && x <= 9.2e18 {
			return hkey{kind: 1, i: int64(x)}, nil
		}
		if b, ok := floatToBig(x); ok {
			return hkey{kind: 4, s: b.String()}, nil
		}
		return hkey{kind: 2, f: x}, nil
	case string:
		return hkey{kind: 3, s: x}, nil
	case Markup:
		return hkey{kind: 3, s: string(x)}, nil
	case *big.Int:
		if x.IsInt64() {
			return hkey{kind: 1, i: x.Int64()}, nil
		}
		return hkey{kind: 4, s: x.String()}, nil
	case Tuple:
		s := make([]byte, 0, 16*len(x))
		for _, it := range x {
			h, err := hashKey(it)
			if err != nil {
				return hkey{}, err
			}
			s = fmt.Appendf(s, "%d|%d|%g|%q;", h.kind, h.i, h.f, h.s)
		}
		return hkey{kind: 5, s: string(s)}, nil
	case Undefined:
		return hkey{kind: 6}, nil
	case Range:
		return hkey{kind: 7, s: fmt.Sprint(x.Start, x.Stop, x.Step)}, nil
	case *List, *Dict, *dictView:
		return hkey{}, newError(KindType, "unhashable type: "+reprString(typeName(v)))
	}
	// Other objects hash by identity (or value) when Go can compare them.
	if t := reflect.TypeOf(v); t != nil && t.Comparable() {
		return hkey{kind: 8, o: v}, nil
	}
	return hkey{}, newError(KindType, "unhashable type: "+reprString(typeName(v)))
}

// sortedDict converts a Go map to a Dict with keys in sorted order, so
// that Go's random map order never reaches the output.
func sortedDict[V any](m map[string]V, conv func(V) Value) *Dict {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := &Dict{}
	for _, k := range keys {
		_ = d.set(k, conv(m[k]))
	}
	return d
}

// Namespace is the object namespace() makes: attributes can be assigned
// with {% set ns.attr = value %}.
type Namespace struct{ attrs *Dict }

// Attr implements Object.
func (n *Namespace) Attr(name string) (Value, bool) { return n.attrs.Get(name) }

// dictView is what dict.keys(), values() and items() return.
type dictView struct {
	d    *Dict
	kind string // keys, values, items
}

func (v *dictView) items() []Value {
	switch v.kind {
	case "keys":
		return append([]Value(nil), v.d.keys...)
	case "values":
		return append([]Value(nil), v.d.vals...)
	}
	out := make([]Value, len(v.d.keys))
	for i := range v.d.keys {
		out[i] = Tuple{v.d.keys[i], v.d.vals[i]}
	}
	return out
}

// Iterator is a one-shot sequence, like a Python generator: the filters
// map, select, reject, batch, slice, unique and items return one. Once
// consumed it is empty.
type Iterator struct {
	name string // Python's type name: generator, list_reverseiterator...
	next func() (Value, bool, error)
	done bool
}

func newIterator(name string, next func() (Value, bool, error)) *Iterator {
	return &Iterator{name: name, next: next}
}

func sliceIterator(name string, items []Value) *Iterator {
	i := 0
	return newIterator(name, func() (Value, bool, error) {
		if i >= len(items) {
			return nil, false, nil
		}
		i++
		return items[i-1], true, nil
	})
}

// Next returns the next item; ok is false when it is exhausted.
func (it *Iterator) Next() (v Value, ok bool, err error) {
	if it.done {
		return nil, false, nil
	}
	v, ok, err = it.next()
	if !ok || err != nil {
		it.done = true
	}
	return v, ok, err
}

// groupTuple is groupby's named tuple (grouper, list).
type groupTuple struct {
	grouper Value
	list    *List
}

func (g *groupTuple) tuple() Tuple { return Tuple{g.grouper, g.list} }

// Attr implements Object.
func (g *groupTuple) Attr(name string) (Value, bool) {
	switch name {
	case "grouper":
		return g.grouper, true
	case "list":
		return g.list, true
	}
	return nil, false
}

// missingType marks a parameter that was not passed (Args.Bind) and a name
// that a scope declares but has not assigned yet.
type missingType struct{}

// Missing is what Args.Bind returns for an optional parameter that was not
// passed, so that "not passed" differs from an explicit None.
var Missing Value = missingType{}
