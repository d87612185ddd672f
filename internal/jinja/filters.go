package jinja

import (
	"fmt"
	"html"
	"math"
	"math/big"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Jinja2 3.1's built-in filters, following filters.py.

var builtinFilters map[string]Filter

func init() {
	builtinFilters = map[string]Filter{
		"abs": filterAbs, "attr": filterAttr, "batch": filterBatch, "capitalize": strFilter("capitalize"),
		"center": filterCenter, "count": filterLength, "d": filterDefault, "default": filterDefault,
		"dictsort": filterDictsort, "e": filterEscape, "escape": filterEscape,
		"filesizeformat": filterFilesizeformat, "first": filterFirst, "float": filterFloat,
		"forceescape": filterForceescape, "format": filterFormat, "groupby": filterGroupby,
		"indent": filterIndent, "int": filterInt, "items": filterItems, "join": filterJoin,
		"last": filterLast, "length": filterLength, "list": filterList, "lower": strFilter("lower"),
		"map": filterMap, "max": filterMinMax(false), "min": filterMinMax(true), "pprint": filterPprint,
		"random": filterRandom, "reject": selectFilter(false, false), "rejectattr": selectFilter(false, true),
		"replace": filterReplace, "reverse": filterReverse, "round": filterRound, "safe": filterSafe,
		"select": selectFilter(true, false), "selectattr": selectFilter(true, true), "slice": filterSlice,
		"sort": filterSort, "string": filterString, "striptags": filterStriptags, "sum": filterSum,
		"title": filterTitle, "tojson": filterTojson, "trim": filterTrim, "truncate": filterTruncate,
		"unique": filterUnique, "upper": strFilter("upper"), "urlencode": filterUrlencode,
		"urlize": filterUrlize, "wordcount": filterWordcount, "wordwrap": filterWordwrap,
		"xmlattr": filterXmlattr,
	}
}

// softStr is Jinja2's soft_str: str() unless already a string.
func softStr(c *Call, v Value) (string, error) { return c.r.str(v) }

func strFilter(method string) Filter {
	return func(c *Call, v Value, a Args) (Value, error) {
		if _, err := a.Bind("do_"+method, 0); err != nil {
			return nil, err
		}
		s, err := softStr(c, v)
		if err != nil {
			return nil, err
		}
		out := strNoArgMethod(s, method)
		if _, ok := v.(Markup); ok {
			return Markup(out.(string)), nil
		}
		return out, nil
	}
}

func filterAbs(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("abs", 0); err != nil {
		return nil, err
	}
	kind, i, b, f := number(v)
	switch kind {
	case 'i':
		if i == math.MinInt64 {
			return new(big.Int).Neg(big.NewInt(i)), nil
		}
		if i < 0 {
			return -i, nil
		}
		return i, nil
	case 'b':
		return normBig(new(big.Int).Abs(b)), nil
	case 'f':
		return math.Abs(f), nil
	}
	return nil, typeErrorf("bad operand type for abs(): %s", reprString(typeName(v)))
}

func filterAttr(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_attr", 1, "name")
	if err != nil {
		return nil, err
	}
	name, ok := p[0].(string)
	if !ok {
		return nil, typeErrorf("attribute name must be string, not %s", reprString(typeName(p[0])))
	}
	if u, isU := v.(Undefined); isU {
		if isDunder(name) {
			return Undefined{obj: v, hasObj: true, Name: name}, nil
		}
		return nil, c.r.undefinedError(u)
	}
	if isDunder(name) {
		return unsafeUndefined(v, name), nil
	}
	if r, ok := c.r.attribute(v, name); ok {
		if strings.HasPrefix(name, "_") {
			return unsafeUndefined(v, name), nil
		}
		return r, nil
	}
	return Undefined{obj: v, hasObj: true, Name: name}, nil
}

func filterBatch(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_batch", 1, "linecount", "fill_with")
	if err != nil {
		return nil, err
	}
	r := c.r
	started := false
	var items []Value
	pos := 0
	done := false
	return newIterator("generator", func() (Value, bool, error) {
		if !started {
			started = true
			if !isIterable(v) {
				return nil, false, typeErrorf("%s object is not iterable", reprString(typeName(v)))
			}
			var err error
			if items, err = r.toList(v); err != nil {
				return nil, false, err
			}
		}
		if done {
			return nil, false, nil
		}
		var tmp []Value
		for pos < len(items) {
			n, err := argInt("batch", p[0])
			if err != nil {
				return nil, false, err
			}
			if int64(len(tmp)) == n {
				return &List{Items: tmp}, true, nil
			}
			tmp = append(tmp, items[pos])
			pos++
		}
		done = true
		if len(tmp) == 0 {
			return nil, false, nil
		}
		if p[1] != Missing && p[1] != nil {
			n, err := argInt("batch", p[0])
			if err != nil {
				return nil, false, err
			}
			if err := r.chargeItems(int(max(n, 0))); err != nil {
				return nil, false, err
			}
			for int64(len(tmp)) < n {
				tmp = append(tmp, p[1])
			}
		}
		return &List{Items: tmp}, true, nil
	}), nil
}

func filterCenter(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_center", 0, "width")
	if err != nil {
		return nil, err
	}
	s, err := softStr(c, v)
	if err != nil {
		return nil, err
	}
	var width Value = int64(80)
	if p[0] != Missing {
		width = p[0]
	}
	return c.r.strMethod(s, "center", Args{Pos: []Value{width}})
}

func filterLength(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("len", 0); err != nil {
		return nil, err
	}
	n, err := c.r.length(v)
	return int64(n), err
}

func filterDefault(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_default", 0, "default_value", "boolean")
	if err != nil {
		return nil, err
	}
	def := p[0]
	if def == Missing {
		def = ""
	}
	_, undef := v.(Undefined)
	if undef || (p[1] != Missing && truth(p[1]) && !truth(v)) {
		return def, nil
	}
	return v, nil
}

// reverseArg is sorted()'s reverse argument, which must be an int.
func reverseArg(v Value) (bool, error) {
	if v == Missing {
		return false, nil
	}
	if !isInt(v) {
		return false, typeErrorf("%s object cannot be interpreted as an integer", reprString(typeName(v)))
	}
	return truth(v), nil
}

func ignoreCase(v Value) Value {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	if s, ok := v.(Markup); ok {
		return Markup(strings.ToLower(string(s)))
	}
	return v
}

func filterDictsort(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_dictsort", 0, "case_sensitive", "by", "reverse")
	if err != nil {
		return nil, err
	}
	pos := 0
	if p[1] != Missing {
		switch p[1] {
		case "key":
		case "value":
			pos = 1
		default:
			return nil, newError(KindFilterArgument, `You can only sort by either "key" or "value"`)
		}
	}
	var items []Value
	switch d := v.(type) {
	case *Dict:
		items = (&dictView{d: d, kind: "items"}).items()
	case Undefined:
		return nil, c.r.undefinedError(d)
	default:
		if o, ok := v.(Object); ok {
			if m, ok := o.Attr("items"); ok {
				iv, err := c.r.call(m, Args{}, c.pos, c.sc)
				if err != nil {
					return nil, err
				}
				if items, err = c.r.toList(iv); err != nil {
					return nil, err
				}
				break
			}
		}
		return nil, errorf(KindAttribute, "%s object has no attribute 'items'", reprString(typeName(v)))
	}
	caseSensitive := p[0] != Missing && truth(p[0])
	key := func(it Value) (Value, error) {
		t, err := c.r.toList(it)
		if err != nil || len(t) < 2 {
			return nil, typeErrorf("dictsort needs (key, value) pairs")
		}
		k := t[pos]
		if !caseSensitive {
			k = ignoreCase(k)
		}
		return k, nil
	}
	out := append([]Value(nil), items...)
	reverse, err := reverseArg(p[2])
	if err != nil {
		return nil, err
	}
	if err := c.r.sortValues(out, key, reverse); err != nil {
		return nil, err
	}
	return &List{Items: out}, nil
}

func filterEscape(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("escape", 0); err != nil {
		return nil, err
	}
	return escapeValue(v), nil
}

func filterForceescape(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_forceescape", 0); err != nil {
		return nil, err
	}
	return escapeString(pyStr(v)), nil
}

func filterFilesizeformat(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_filesizeformat", 0, "binary")
	if err != nil {
		return nil, err
	}
	b, err := pyFloat(c.r, v)
	if err != nil {
		return nil, err
	}
	binary := p[0] != Missing && truth(p[0])
	base := 1000.0
	prefixes := []string{"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	if binary {
		base = 1024
		prefixes = []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
	}
	if b == 1 {
		return "1 Byte", nil
	}
	if b < base {
		n, err := floatToInt(b)
		if err != nil {
			return nil, err
		}
		return pyStr(n) + " Bytes", nil
	}
	var unit float64
	var prefix string
	for i, pre := range prefixes {
		unit = math.Pow(base, float64(i+2))
		prefix = pre
		if b < unit {
			break
		}
	}
	return formatFloatC(base*b/unit, 'f', 1, false) + " " + prefix, nil
}

func floatToInt(f float64) (Value, error) {
	if math.IsInf(f, 0) {
		return nil, newError(KindOverflow, "cannot convert float infinity to integer")
	}
	if math.IsNaN(f) {
		return nil, newError(KindValue, "cannot convert float NaN to integer")
	}
	t := math.Trunc(f)
	if t >= -9.2e18 && t <= 9.2e18 {
		return int64(t), nil
	}
	b, _ := big.NewFloat(t).Int(nil)
	return normBig(b), nil
}

func filterFirst(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_first", 0); err != nil {
		return nil, err
	}
	if !isIterable(v) {
		return nil, typeErrorf("%s object is not iterable", reprString(typeName(v)))
	}
	if it, ok := v.(*Iterator); ok {
		x, ok, err := it.Next()
		if err != nil {
			return nil, err
		}
		if ok {
			return x, nil
		}
		return Undefined{Hint: "No first item, sequence was empty."}, nil
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{Hint: "No first item, sequence was empty."}, nil
	}
	return items[0], nil
}

func filterLast(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_last", 0); err != nil {
		return nil, err
	}
	switch v.(type) {
	case *Iterator:
		return nil, typeErrorf("%s object is not reversible", reprString(typeName(v)))
	case nil, bool, int64, float64, *big.Int:
		return nil, typeErrorf("%s object is not reversible", reprString(typeName(v)))
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{Hint: "No last item, sequence was empty."}, nil
	}
	return items[len(items)-1], nil
}

// pyFloat is Python's float(v).
func pyFloat(r *renderer, v Value) (float64, error) {
	switch x := v.(type) {
	case string:
		return parsePyFloat(x)
	case Markup:
		return parsePyFloat(string(x))
	case Undefined:
		return 0, r.undefinedError(x)
	}
	if isNumber(v) {
		return toFloat(v)
	}
	return 0, typeErrorf("float() argument must be a string or a real number, not %s", reprString(typeName(v)))
}

// isNumSpace is the whitespace int() and float() strip: Python's without
// the ASCII separators \x1c-\x1f.
func isNumSpace(r rune) bool { return isPySpace(r) && (r < 0x1c || r > 0x1f) }

func parsePyFloat(s string) (float64, error) {
	t := strings.TrimFunc(s, isNumSpace)
	bad := errorf(KindValue, "could not convert string to float: %s", reprString(s))
	if t == "" {
		return 0, bad
	}
	low := strings.ToLower(strings.TrimLeft(t, "+-"))
	switch low {
	case "inf", "infinity", "nan":
		f, _ := strconv.ParseFloat(strings.Replace(t, "infinity", "inf", 1), 64)
		if low == "nan" {
			f = math.NaN()
			if strings.HasPrefix(t, "-") {
				f = math.Copysign(f, -1)
			}
		} else if strings.HasPrefix(t, "-") {
			f = math.Inf(-1)
		} else {
			f = math.Inf(1)
		}
		return f, nil
	}
	// Python allows single underscores between digits only.
	if strings.Contains(t, "_") {
		if !validUnderscores(t) {
			return 0, bad
		}
		t = strings.ReplaceAll(t, "_", "")
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, bad
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, bad
	}
	return f, nil
}

func validUnderscores(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] == '_' {
			if i == 0 || i == len(t)-1 || !isDigit(t[i-1]) || !isDigit(t[i+1]) {
				return false
			}
		}
	}
	return true
}

func filterFloat(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_float", 0, "default")
	if err != nil {
		return nil, err
	}
	f, err := pyFloat(c.r, v)
	if err != nil {
		if e := asError(err); e.Kind == KindType || e.Kind == KindValue {
			if p[0] == Missing {
				return 0.0, nil
			}
			return p[0], nil
		}
		return nil, err
	}
	return f, nil
}

// pyInt is Python's int(s, base) for strings.
func pyIntString(s string, base int64) (Value, error) {
	bad := errorf(KindValue, "invalid literal for int() with base %d: %s", base, reprString(s))
	if base != 0 && (base < 2 || base > 36) {
		return nil, newError(KindValue, "int() base must be >= 2 and <= 36, or 0")
	}
	t := strings.TrimFunc(s, isNumSpace)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	b := int(base)
	if len(t) > 1 && t[0] == '0' {
		switch t[1] {
		case 'x', 'X':
			if base == 16 || base == 0 {
				t, b = t[2:], 16
			}
		case 'o', 'O':
			if base == 8 || base == 0 {
				t, b = t[2:], 8
			}
		case 'b', 'B':
			if base == 2 || base == 0 {
				t, b = t[2:], 2
			}
		}
		if len(t) > 0 && t[0] == '_' && b != int(base) || (base == 0 && b != 0 && len(s) > 0 && t != "" && t[0] == '_') {
			t = t[1:]
		}
	}
	if b == 0 {
		b = 10
		if len(t) > 1 && t[0] == '0' && strings.Trim(t, "0_") != "" {
			return nil, bad
		}
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return nil, bad
	}
	t = strings.ReplaceAll(t, "_", "")
	if b&(b-1) != 0 && len(t) > maxIntDigits {
		return nil, errorf(KindValue, "Exceeds the limit (%d digits) for integer string conversion: value has %d digits", maxIntDigits, len(t))
	}
	n, ok := new(big.Int).SetString(t, b)
	if !ok {
		return nil, bad
	}
	if neg {
		n.Neg(n)
	}
	return normBig(n), nil
}

func filterInt(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_int", 0, "default", "base")
	if err != nil {
		return nil, err
	}
	def := p[0]
	if def == Missing {
		def = int64(0)
	}
	base := int64(10)
	if p[1] != Missing {
		if base, err = argInt("int", p[1]); err != nil {
			return nil, err
		}
	}
	if u, ok := v.(Undefined); ok {
		return nil, c.r.undefinedError(u)
	}
	if s, ok := asString(v); ok {
		if n, err := pyIntString(s, base); err == nil {
			return n, nil
		}
		f, err := parsePyFloat(s)
		if err != nil {
			return def, nil
		}
		n, err := floatToInt(f)
		if err != nil {
			return def, nil
		}
		return n, nil
	}
	kind, i, b, f := number(v)
	switch kind {
	case 'i':
		return i, nil
	case 'b':
		return b, nil
	case 'f':
		n, err := floatToInt(f)
		if err != nil {
			if e := asError(err); e.Kind == KindOverflow || e.Kind == KindValue {
				return def, nil
			}
			return nil, err
		}
		return n, nil
	}
	return def, nil
}

func filterFormat(c *Call, v Value, a Args) (Value, error) {
	if len(a.Pos) > 0 && len(a.Kw) > 0 {
		return nil, newError(KindFilterArgument, "can't handle positional and keyword arguments at the same time")
	}
	s, err := softStr(c, v)
	if err != nil {
		return nil, err
	}
	var args Value
	if len(a.Kw) > 0 {
		args = kwDict(a.Kw)
	} else {
		args = Tuple(append([]Value{}, a.Pos...))
	}
	if m, ok := v.(Markup); ok {
		res, err := c.r.percentFormat(string(m), escapeArgs(args))
		return Markup(res), err
	}
	return c.r.percentFormat(s, args)
}

// attrGetter is Jinja2's make_attrgetter: "a.b.0" looks up a, then b,
// then item 0, with the environment's getitem.
func (r *renderer) attrGetter(attribute Value, def Value, post func(Value) Value) func(Value) (Value, error) {
	parts := attributeParts(attribute)
	return func(item Value) (Value, error) {
		for _, p := range parts {
			var err error
			if item, err = r.getitem(item, p); err != nil {
				return nil, err
			}
			if def != nil && def != Missing {
				if _, ok := item.(Undefined); ok {
					item = def
				}
			}
		}
		if post != nil {
			item = post(item)
		}
		return item, nil
	}
}

func attributeParts(attribute Value) []Value {
	if attribute == nil || attribute == Missing {
		return nil
	}
	s, ok := attribute.(string)
	if !ok {
		return []Value{attribute}
	}
	var parts []Value
	for _, p := range strings.Split(s, ".") {
		if isAllDigits(p) && isASCII(p) {
			n, _ := strconv.ParseInt(p, 10, 64)
			parts = append(parts, n)
		} else {
			parts = append(parts, p)
		}
	}
	return parts
}

func filterGroupby(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_groupby", 1, "attribute", "default", "case_sensitive")
	if err != nil {
		return nil, err
	}
	caseSensitive := p[2] != Missing && truth(p[2])
	var post func(Value) Value
	if !caseSensitive {
		post = ignoreCase
	}
	def := p[1]
	if def == Missing {
		def = nil
	}
	expr := c.r.attrGetter(p[0], def, post)
	if !isIterable(v) {
		return nil, typeErrorf("%s object is not iterable", reprString(typeName(v)))
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	sorted := append([]Value(nil), items...)
	if err := c.r.sortValues(sorted, expr, false); err != nil {
		return nil, err
	}
	var out []Value
	var groups []*groupTuple
	for _, it := range sorted {
		k, err := expr(it)
		if err != nil {
			return nil, err
		}
		if len(groups) > 0 && equal(groups[len(groups)-1].grouper, k) {
			g := groups[len(groups)-1]
			g.list.Items = append(g.list.Items, it)
			continue
		}
		groups = append(groups, &groupTuple{grouper: k, list: &List{Items: []Value{it}}})
	}
	if !caseSensitive {
		real := c.r.attrGetter(p[0], def, nil)
		for _, g := range groups {
			k, err := real(g.list.Items[0])
			if err != nil {
				return nil, err
			}
			g.grouper = k
		}
	}
	for _, g := range groups {
		out = append(out, g)
	}
	return &List{Items: out}, nil
}

func filterIndent(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_indent", 0, "width", "first", "blank")
	if err != nil {
		return nil, err
	}
	var indention string
	switch w := p[0].(type) {
	case missingType:
		indention = "    "
	case string:
		indention = w
	case Markup:
		indention = string(w)
	default:
		n, err := argInt("indent", w)
		if err != nil {
			return nil, typeErrorf("can't multiply sequence by non-int of type %s", reprString(typeName(w)))
		}
		if err := c.r.charge(max(n, 0)); err != nil {
			return nil, err
		}
		indention = strings.Repeat(" ", int(max(n, 0)))
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case Markup:
		s = string(x)
	case Undefined:
		return nil, c.r.undefinedError(x)
	case *List:
		// list += "\n" extends the list; then it has no splitlines.
		return nil, errorf(KindAttribute, "'list' object has no attribute 'splitlines'")
	default:
		return nil, typeErrorf("unsupported operand type(s) for +=: %s and 'str'", reprString(typeName(v)))
	}
	s += "\n"
	lines := splitLines(s, false)
	if err := c.r.charge(int64(len(lines)*len(indention) + len(s))); err != nil {
		return nil, err
	}
	var rv string
	if p[2] != Missing && truth(p[2]) {
		rv = strings.Join(lines, "\n"+indention)
	} else {
		rv = lines[0]
		if len(lines) > 1 {
			rest := make([]string, len(lines)-1)
			for i, l := range lines[1:] {
				if l != "" {
					l = indention + l
				}
				rest[i] = l
			}
			rv += "\n" + strings.Join(rest, "\n")
		}
	}
	if p[1] != Missing && truth(p[1]) {
		rv = indention + rv
	}
	if _, ok := v.(Markup); ok {
		return Markup(rv), nil
	}
	return rv, nil
}

func filterItems(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_items", 0); err != nil {
		return nil, err
	}
	var items []Value
	started := false
	i := 0
	return newIterator("generator", func() (Value, bool, error) {
		if !started {
			started = true
			switch d := v.(type) {
			case Undefined:
				return nil, false, nil
			case *Dict:
				items = (&dictView{d: d, kind: "items"}).items()
			default:
				return nil, false, typeErrorf("Can only get item pairs from a mapping.")
			}
		}
		if i >= len(items) {
			return nil, false, nil
		}
		i++
		return items[i-1], true, nil
	}), nil
}

func filterJoin(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_join", 0, "d", "attribute")
	if err != nil {
		return nil, err
	}
	if !isIterable(v) {
		return nil, typeErrorf("can only join an iterable")
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	if p[1] != Missing && p[1] != nil {
		get := c.r.attrGetter(p[1], nil, nil)
		mapped := make([]Value, len(items))
		for i, it := range items {
			if mapped[i], err = get(it); err != nil {
				return nil, err
			}
		}
		items = mapped
	}
	sep := ""
	if p[0] != Missing {
		sep = pyStr(p[0])
	}
	parts := make([]string, len(items))
	for i, it := range items {
		if parts[i], err = c.r.str(it); err != nil {
			return nil, err
		}
		if err := c.r.charge(int64(len(parts[i]) + len(sep))); err != nil {
			return nil, err
		}
	}
	return strings.Join(parts, sep), nil
}

func filterList(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("list", 0); err != nil {
		return nil, err
	}
	if !isIterable(v) {
		return nil, typeErrorf("%s object is not iterable", reprString(typeName(v)))
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	return &List{Items: append([]Value(nil), items...)}, nil
}

func filterMap(c *Call, v Value, a Args) (Value, error) {
	r := c.r
	var fn func(Value) (Value, error)
	var items []Value
	started := false
	i := 0
	return newIterator("generator", func() (Value, bool, error) {
		if !started {
			started = true
			if !truth(v) {
				return nil, false, nil
			}
			var err error
			if fn, err = prepareMap(c, a); err != nil {
				return nil, false, err
			}
			if !isIterable(v) {
				return nil, false, typeErrorf("%s object is not iterable", reprString(typeName(v)))
			}
			if items, err = r.toList(v); err != nil {
				return nil, false, err
			}
		}
		if i >= len(items) {
			return nil, false, nil
		}
		i++
		out, err := fn(items[i-1])
		if err != nil {
			return nil, false, err
		}
		return out, true, nil
	}), nil
}

func prepareMap(c *Call, a Args) (func(Value) (Value, error), error) {
	if len(a.Pos) == 0 {
		if attr, ok := a.Kwarg("attribute"); ok {
			var def Value
			for _, kv := range a.Kw {
				switch kv.Name {
				case "attribute":
				case "default":
					def = kv.Value
				default:
					return nil, newError(KindFilterArgument, fmt.Sprintf("Unexpected keyword argument %s", reprString(kv.Name)))
				}
			}
			return c.r.attrGetter(attr, def, nil), nil
		}
		return nil, newError(KindFilterArgument, "map requires a filter argument")
	}
	name, ok := a.Pos[0].(string)
	rest := Args{Pos: a.Pos[1:], Kw: a.Kw}
	return func(item Value) (Value, error) {
		f, found := c.r.env.Filters[pyStr(a.Pos[0])]
		if !ok || !found {
			return nil, newError(KindRuntime, fmt.Sprintf("No filter named %s.", reprString(name)))
		}
		out, err := f(c, item, rest)
		if err != nil {
			return nil, err
		}
		return out, c.r.chargeResult(out)
	}, nil
}

func selectFilter(keep, lookupAttr bool) Filter {
	return func(c *Call, v Value, a Args) (Value, error) {
		r := c.r
		var fn func(Value) (bool, error)
		var items []Value
		started := false
		i := 0
		return newIterator("generator", func() (Value, bool, error) {
			if !started {
				started = true
				if !truth(v) {
					return nil, false, nil
				}
				var err error
				if fn, err = prepareSelect(c, a, lookupAttr); err != nil {
					return nil, false, err
				}
				if !isIterable(v) {
					return nil, false, typeErrorf("%s object is not iterable", reprString(typeName(v)))
				}
				if items, err = r.toList(v); err != nil {
					return nil, false, err
				}
			}
			for i < len(items) {
				it := items[i]
				i++
				ok, err := fn(it)
				if err != nil {
					return nil, false, err
				}
				if ok == keep {
					return it, true, nil
				}
			}
			return nil, false, nil
		}), nil
	}
}

func prepareSelect(c *Call, a Args, lookupAttr bool) (func(Value) (bool, error), error) {
	trans := func(v Value) (Value, error) { return v, nil }
	off := 0
	if lookupAttr {
		if len(a.Pos) == 0 {
			return nil, newError(KindFilterArgument, "Missing parameter for attribute name")
		}
		trans = c.r.attrGetter(a.Pos[0], nil, nil)
		off = 1
	}
	if len(a.Pos) <= off {
		return func(v Value) (bool, error) {
			x, err := trans(v)
			if err != nil {
				return false, err
			}
			return c.r.truthOf(x)
		}, nil
	}
	name := a.Pos[off]
	rest := Args{Pos: a.Pos[off+1:], Kw: a.Kw}
	return func(v Value) (bool, error) {
		x, err := trans(v)
		if err != nil {
			return false, err
		}
		t, ok := c.r.env.Tests[pyStr(name)]
		if _, isStr := name.(string); !ok || !isStr {
			return false, newError(KindRuntime, fmt.Sprintf("No test named %s.", reprString(pyStr(name))))
		}
		return t(c, x, rest)
	}, nil
}

func filterMinMax(isMin bool) Filter {
	return func(c *Call, v Value, a Args) (Value, error) {
		name := "do_max"
		if isMin {
			name = "do_min"
		}
		p, err := a.Bind(name, 0, "case_sensitive", "attribute")
		if err != nil {
			return nil, err
		}
		if !isIterable(v) {
			return nil, typeErrorf("%s object is not iterable", reprString(typeName(v)))
		}
		items, err := c.r.toList(v)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			return Undefined{Hint: "No aggregated item, sequence was empty."}, nil
		}
		var post func(Value) Value
		if p[0] == Missing || !truth(p[0]) {
			post = ignoreCase
		}
		key := c.r.attrGetter(p[1], nil, post)
		best := items[0]
		bestKey, err := key(best)
		if err != nil {
			return nil, err
		}
		for _, it := range items[1:] {
			k, err := key(it)
			if err != nil {
				return nil, err
			}
			var better bool
			if isMin {
				better, err = c.r.order("lt", k, bestKey)
			} else {
				better, err = c.r.order("gt", k, bestKey)
			}
			if err != nil {
				return nil, err
			}
			if better {
				best, bestKey = it, k
			}
		}
		return best, nil
	}
}

func filterPprint(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_pprint", 0); err != nil {
		return nil, err
	}
	return pformat(v), nil
}

func filterRandom(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_random", 0); err != nil {
		return nil, err
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return Undefined{Hint: "No random item, sequence was empty."}, nil
	}
	return items[rand.IntN(len(items))], nil
}

func filterReplace(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_replace", 2, "old", "new", "count")
	if err != nil {
		return nil, err
	}
	count := int64(-1)
	if p[2] != Missing && p[2] != nil {
		if count, err = argInt("replace", p[2]); err != nil {
			return nil, err
		}
	}
	s, err := c.r.str(v)
	if err != nil {
		return nil, err
	}
	if c.r.autoescape {
		_, oldM := p[0].(Markup)
		_, newM := p[1].(Markup)
		_, sM := v.(Markup)
		if oldM || (newM && !sM) {
			s = string(escapeValue(v))
		}
		out, err := c.r.pyReplace(s, pyStr(p[0]), pyStr(p[1]), count)
		if err != nil {
			return nil, err
		}
		if oldM || newM || sM {
			return Markup(out.(string)), nil
		}
		return out, nil
	}
	return c.r.pyReplace(s, pyStr(p[0]), pyStr(p[1]), count)
}

func filterReverse(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_reverse", 0); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case string:
		return reverseString(x), nil
	case Markup:
		return Markup(reverseString(string(x))), nil
	case *List, Tuple, *Dict, Range, *dictView, Undefined, *groupTuple:
		items, err := c.r.toList(v)
		if err != nil {
			return nil, err
		}
		rev := make([]Value, len(items))
		for i, it := range items {
			rev[len(items)-1-i] = it
		}
		name := map[string]string{"list": "list_reverseiterator", "dict": "dict_reversekeyiterator", "range": "range_iterator"}[typeName(v)]
		if name == "" {
			name = "reversed"
		}
		return sliceIterator(name, rev), nil
	}
	if !isIterable(v) {
		return nil, newError(KindFilterArgument, "argument must be iterable")
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	rev := make([]Value, len(items))
	for i, it := range items {
		rev[len(items)-1-i] = it
	}
	return &List{Items: rev}, nil
}

func reverseString(s string) string {
	rs := []rune(s)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return string(rs)
}

func filterRound(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_round", 0, "precision", "method")
	if err != nil {
		return nil, err
	}
	method := "common"
	if p[1] != Missing {
		method = pyStr(p[1])
		if _, isStr := p[1].(string); !isStr || (method != "common" && method != "ceil" && method != "floor") {
			return nil, newError(KindFilterArgument, "method must be common, ceil or floor")
		}
	}
	prec := int64(0)
	if p[0] != Missing {
		if prec, err = argInt("round", p[0]); err != nil {
			return nil, err
		}
	}
	if u, ok := v.(Undefined); ok && method != "common" {
		return nil, c.r.undefinedError(u)
	}
	kind, i, _, f := number(v)
	if kind == 0 {
		return nil, typeErrorf("type %s doesn't define __round__ method", typeName(v))
	}
	if method == "common" {
		if kind != 'f' {
			if prec >= 0 {
				if _, isBool := v.(bool); isBool {
					return i, nil
				}
				return v, nil
			}
			p10 := math.Pow(10, float64(-prec))
			return int64(math.RoundToEven(float64(i)/p10) * p10), nil
		}
		return pyRound(f, int(prec)), nil
	}
	x, err := toFloat(v)
	if err != nil {
		return nil, err
	}
	p10 := math.Pow(10, float64(prec))
	var y float64
	if method == "ceil" {
		y = math.Ceil(x * p10)
	} else {
		y = math.Floor(x * p10)
	}
	if math.IsInf(y, 0) || math.IsNaN(y) {
		return nil, newError(KindOverflow, "cannot convert float infinity to integer")
	}
	return y / p10, nil
}

// pyRound is Python's round(x, n) for floats: correctly rounded, ties to
// even on the exact binary value.
func pyRound(x float64, n int) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	if n >= 0 {
		if n > 330 {
			return x
		}
		f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', n, 64), 64)
		return f
	}
	if n < -330 {
		return math.Copysign(0, x)
	}
	p10 := math.Pow(10, float64(-n))
	return math.RoundToEven(x/p10) * p10
}

func filterSafe(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_mark_safe", 0); err != nil {
		return nil, err
	}
	if m, ok := v.(Markup); ok {
		return m, nil
	}
	return Markup(pyStr(v)), nil
}

func filterSlice(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_slice", 1, "slices", "fill_with")
	if err != nil {
		return nil, err
	}
	r := c.r
	var seq []Value
	started := false
	k := int64(0)
	var slices, perSlice, extra, offset int64
	return newIterator("generator", func() (Value, bool, error) {
		if !started {
			started = true
			if !isIterable(v) {
				return nil, false, typeErrorf("%s object is not iterable", reprString(typeName(v)))
			}
			var err error
			if seq, err = r.toList(v); err != nil {
				return nil, false, err
			}
			if slices, err = argInt("slice", p[0]); err != nil {
				return nil, false, err
			}
			if slices == 0 {
				return nil, false, newError(KindZeroDivision, "integer division or modulo by zero")
			}
			n := int64(len(seq))
			q, _ := intOpFast("floordiv", n, slices)
			m, _ := intOpFast("mod", n, slices)
			perSlice, extra = q.(int64), m.(int64)
		}
		if k >= slices {
			return nil, false, nil
		}
		start := offset + k*perSlice
		if k < extra {
			offset++
		}
		end := offset + (k+1)*perSlice
		k++
		start = max(0, min(start, int64(len(seq))))
		end = max(start, min(end, int64(len(seq))))
		tmp := append([]Value(nil), seq[start:end]...)
		if p[1] != Missing && p[1] != nil && k-1 >= extra {
			tmp = append(tmp, p[1])
		}
		if err := r.chargeItems(len(tmp)); err != nil {
			return nil, false, err
		}
		return &List{Items: tmp}, true, nil
	}), nil
}

func filterSort(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_sort", 0, "reverse", "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	if !isIterable(v) {
		return nil, typeErrorf("%s object is not iterable", reprString(typeName(v)))
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	out := append([]Value(nil), items...)
	var post func(Value) Value
	if p[1] == Missing || !truth(p[1]) {
		post = ignoreCase
	}
	key := c.r.multiAttrGetter(p[2], post)
	reverse, err := reverseArg(p[0])
	if err != nil {
		return nil, err
	}
	if err := c.r.sortValues(out, key, reverse); err != nil {
		return nil, err
	}
	return &List{Items: out}, nil
}

// multiAttrGetter is make_multi_attrgetter: "a,b" gives [a, b] to sort by.
func (r *renderer) multiAttrGetter(attribute Value, post func(Value) Value) func(Value) (Value, error) {
	var split []Value
	if s, ok := attribute.(string); ok {
		for _, p := range strings.Split(s, ",") {
			split = append(split, p)
		}
	} else if attribute == Missing || attribute == nil {
		split = []Value{nil}
	} else {
		split = []Value{attribute}
	}
	getters := make([]func(Value) (Value, error), len(split))
	for i, s := range split {
		getters[i] = r.attrGetter(s, nil, post)
	}
	return func(v Value) (Value, error) {
		out := make([]Value, len(getters))
		for i, g := range getters {
			x, err := g(v)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return &List{Items: out}, nil
	}
}

func filterString(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("soft_str", 0); err != nil {
		return nil, err
	}
	if m, ok := v.(Markup); ok {
		return m, nil
	}
	return softStr(c, v)
}

func filterStriptags(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_striptags", 0); err != nil {
		return nil, err
	}
	s := pyStr(v)
	for {
		start := strings.Index(s, "<!--")
		if start < 0 {
			break
		}
		end := strings.Index(s[start:], "-->")
		if end < 0 {
			break
		}
		s = s[:start] + s[start+end+3:]
	}
	for {
		start := strings.IndexByte(s, '<')
		if start < 0 {
			break
		}
		end := strings.IndexByte(s[start:], '>')
		if end < 0 {
			break
		}
		s = s[:start] + s[start+end+1:]
	}
	s = strings.Join(splitWhitespace(s, -1, false), " ")
	return html.UnescapeString(s), nil
}

func filterSum(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_sum", 0, "attribute", "start")
	if err != nil {
		return nil, err
	}
	if !isIterable(v) {
		return nil, typeErrorf("%s object is not iterable", reprString(typeName(v)))
	}
	items, err := c.r.toList(v)
	if err != nil {
		return nil, err
	}
	var total Value = int64(0)
	if p[1] != Missing {
		total = p[1]
	}
	if _, ok := asString(total); ok {
		return nil, typeErrorf("sum() can't sum strings [use ''.join(seq) instead]")
	}
	get := func(x Value) (Value, error) { return x, nil }
	if p[0] != Missing && p[0] != nil {
		get = c.r.attrGetter(p[0], nil, nil)
	}
	for _, it := range items {
		x, err := get(it)
		if err != nil {
			return nil, err
		}
		if total, err = c.r.binaryOp("add", total, x); err != nil {
			return nil, err
		}
	}
	return total, nil
}

var wordBeginningSplit = regexp.MustCompile(`[-\s({\[<]+`)

func filterTitle(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_title", 0); err != nil {
		return nil, err
	}
	s, err := softStr(c, v)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	// Split keeping the separators, as re.split with a group does.
	last := 0
	word := func(w string) {
		if w == "" {
			return
		}
		r, n := utf8.DecodeRuneInString(w)
		b.WriteString(pyUpper(string(r)))
		b.WriteString(strings.ToLower(w[n:]))
	}
	for _, m := range pySpaceSplitIndexes(s) {
		word(s[last:m[0]])
		word(s[m[0]:m[1]])
		last = m[1]
	}
	word(s[last:])
	if _, ok := v.(Markup); ok {
		return Markup(b.String()), nil
	}
	return b.String(), nil
}

// pySpaceSplitIndexes finds runs of [-\s({\[<] with Python's \s.
func pySpaceSplitIndexes(s string) [][2]int {
	var out [][2]int
	start := -1
	for i, r := range s {
		sep := r == '-' || r == '(' || r == '{' || r == '[' || r == '<' || isPySpace(r)
		if sep && start < 0 {
			start = i
		}
		if !sep && start >= 0 {
			out = append(out, [2]int{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(s)})
	}
	return out
}

func filterTrim(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_trim", 0, "chars")
	if err != nil {
		return nil, err
	}
	s, err := softStr(c, v)
	if err != nil {
		return nil, err
	}
	chars, has, err := optChars("strip", p[0])
	if err != nil {
		return nil, err
	}
	out := pyStrip(s, chars, has, true, true)
	if _, ok := v.(Markup); ok {
		return Markup(out), nil
	}
	return out, nil
}

func filterTruncate(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_truncate", 0, "length", "killwords", "end", "leeway")
	if err != nil {
		return nil, err
	}
	length := int64(255)
	if p[0] != Missing {
		if length, err = argInt("truncate", p[0]); err != nil {
			return nil, err
		}
	}
	end := "..."
	if p[2] != Missing {
		end = pyStr(p[2])
	}
	leeway := int64(5)
	if p[3] != Missing && p[3] != nil {
		if leeway, err = argInt("truncate", p[3]); err != nil {
			return nil, err
		}
	}
	endLen := int64(utf8.RuneCountInString(end))
	if length < endLen {
		return nil, errorf(KindAssertionFailed, "expected length >= %d, got %d", endLen, length)
	}
	if leeway < 0 {
		return nil, errorf(KindAssertionFailed, "expected leeway >= 0, got %d", leeway)
	}
	if _, ok := v.(Undefined); ok {
		return v, nil
	}
	s, ok := asString(v)
	if !ok {
		n, err := c.r.length(v)
		if err != nil {
			return nil, err
		}
		if int64(n) <= length+leeway {
			return v, nil
		}
		return nil, typeErrorf("can only truncate strings")
	}
	rs := []rune(s)
	if int64(len(rs)) <= length+leeway {
		return v, nil
	}
	cut := string(rs[:length-endLen])
	if p[1] != Missing && truth(p[1]) {
		return cut + end, nil
	}
	if i := strings.LastIndexByte(cut, ' '); i >= 0 {
		cut = cut[:i]
	}
	return cut + end, nil
}

func filterUnique(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_unique", 0, "case_sensitive", "attribute")
	if err != nil {
		return nil, err
	}
	var post func(Value) Value
	if p[0] == Missing || !truth(p[0]) {
		post = ignoreCase
	}
	get := c.r.attrGetter(p[1], nil, post)
	var items []Value
	seen := map[hkey]bool{}
	started := false
	i := 0
	return newIterator("generator", func() (Value, bool, error) {
		if !started {
			started = true
			if !isIterable(v) {
				return nil, false, typeErrorf("%s object is not iterable", reprString(typeName(v)))
			}
			var err error
			if items, err = c.r.toList(v); err != nil {
				return nil, false, err
			}
		}
		for i < len(items) {
			it := items[i]
			i++
			k, err := get(it)
			if err != nil {
				return nil, false, err
			}
			h, err := hashKey(k)
			if err != nil {
				return nil, false, err
			}
			if !seen[h] {
				seen[h] = true
				return it, true, nil
			}
		}
		return nil, false, nil
	}), nil
}

func urlQuote(s string, forQS bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || isDigit(ch) || ch == '_' || ch == '.' || ch == '-' || ch == '~' || (ch == '/' && !forQS) {
			b.WriteByte(ch)
			continue
		}
		if ch == ' ' && forQS {
			b.WriteByte('+')
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}

func filterUrlencode(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_urlencode", 0); err != nil {
		return nil, err
	}
	if s, ok := asString(v); ok || !isIterable(v) {
		if !ok {
			s = pyStr(v)
		}
		return urlQuote(s, false), nil
	}
	var items []Value
	if d, ok := v.(*Dict); ok {
		items = (&dictView{d: d, kind: "items"}).items()
	} else {
		var err error
		if items, err = c.r.toList(v); err != nil {
			return nil, err
		}
	}
	parts := make([]string, len(items))
	for i, it := range items {
		kv, err := c.r.unpack(it, 2)
		if err != nil {
			return nil, err
		}
		parts[i] = urlQuote(pyStr(kv[0]), true) + "=" + urlQuote(pyStr(kv[1]), true)
	}
	return strings.Join(parts, "&"), nil
}

var wordRe = regexp.MustCompile(`[\p{L}\p{N}_\p{Mn}\p{Mc}\p{Pc}]+`)

func filterWordcount(c *Call, v Value, a Args) (Value, error) {
	if _, err := a.Bind("do_wordcount", 0); err != nil {
		return nil, err
	}
	s, err := softStr(c, v)
	if err != nil {
		return nil, err
	}
	return int64(len(wordRe.FindAllStringIndex(s, -1))), nil
}

func filterXmlattr(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_xmlattr", 0, "autospace")
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		if u, isU := v.(Undefined); isU {
			return nil, c.r.undefinedError(u)
		}
		return nil, errorf(KindAttribute, "%s object has no attribute 'items'", reprString(typeName(v)))
	}
	var items []string
	for i, k := range d.keys {
		val := d.vals[i]
		if val == nil {
			continue
		}
		if _, isU := val.(Undefined); isU {
			continue
		}
		ks := pyStr(k)
		if strings.ContainsAny(ks, " \t\n\r\f\v/>=") {
			return nil, errorf(KindValue, "Invalid character in attribute name: %s", repr(k))
		}
		items = append(items, string(escapeValue(k))+`="`+string(escapeValue(val))+`"`)
	}
	rv := strings.Join(items, " ")
	if (p[0] == Missing || truth(p[0])) && rv != "" {
		rv = " " + rv
	}
	if c.r.autoescape {
		return Markup(rv), nil
	}
	return rv, nil
}

func filterWordwrap(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_wordwrap", 0, "width", "break_long_words", "wrapstring", "break_on_hyphens")
	if err != nil {
		return nil, err
	}
	width := int64(79)
	if p[0] != Missing {
		if width, err = argInt("wordwrap", p[0]); err != nil {
			return nil, err
		}
	}
	if width <= 0 {
		return nil, errorf(KindValue, "invalid width %d (must be > 0)", width)
	}
	breakLong := p[1] == Missing || truth(p[1])
	wrap := "\n"
	if p[2] != Missing && p[2] != nil {
		wrap = pyStr(p[2])
	}
	breakHyphens := p[3] == Missing || truth(p[3])
	s, ok := asString(v)
	if !ok {
		if u, isU := v.(Undefined); isU {
			return nil, c.r.undefinedError(u)
		}
		return nil, errorf(KindAttribute, "%s object has no attribute 'splitlines'", reprString(typeName(v)))
	}
	var paras []string
	for _, line := range splitLines(s, false) {
		paras = append(paras, strings.Join(textWrap(line, int(width), breakLong, breakHyphens), wrap))
	}
	return strings.Join(paras, wrap), nil
}

// textWrap is Python's textwrap.wrap with expand_tabs and
// replace_whitespace off.
func textWrap(text string, width int, breakLong, breakHyphens bool) []string {
	chunks := wrapChunks(text, breakHyphens)
	isBlank := func(s string) bool { return strings.TrimFunc(s, isPySpace) == "" }
	rlen := utf8.RuneCountInString
	// reversed stack
	for i, j := 0, len(chunks)-1; i < j; i, j = i+1, j-1 {
		chunks[i], chunks[j] = chunks[j], chunks[i]
	}
	var lines []string
	for len(chunks) > 0 {
		var cur []string
		curLen := 0
		if isBlank(chunks[len(chunks)-1]) && len(lines) > 0 {
			chunks = chunks[:len(chunks)-1]
		}
		for len(chunks) > 0 {
			l := rlen(chunks[len(chunks)-1])
			if curLen+l <= width {
				cur = append(cur, chunks[len(chunks)-1])
				chunks = chunks[:len(chunks)-1]
				curLen += l
			} else {
				break
			}
		}
		if len(chunks) > 0 && rlen(chunks[len(chunks)-1]) > width {
			spaceLeft := width - curLen
			if width < 1 {
				spaceLeft = 1
			}
			if breakLong {
				chunk := []rune(chunks[len(chunks)-1])
				end := spaceLeft
				if breakHyphens && len(chunk) > spaceLeft {
					hyphen := -1
					for k := min(spaceLeft, len(chunk)) - 1; k >= 0; k-- {
						if chunk[k] == '-' {
							hyphen = k
							break
						}
					}
					if hyphen > 0 && strings.Trim(string(chunk[:hyphen]), "-") != "" {
						end = hyphen + 1
					}
				}
				cur = append(cur, string(chunk[:end]))
				chunks[len(chunks)-1] = string(chunk[end:])
			} else if len(cur) == 0 {
				cur = append(cur, chunks[len(chunks)-1])
				chunks = chunks[:len(chunks)-1]
			}
			curLen = 0
			for _, x := range cur {
				curLen += rlen(x)
			}
		}
		if len(cur) > 0 && isBlank(cur[len(cur)-1]) {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			lines = append(lines, strings.Join(cur, ""))
		}
	}
	return lines
}

func isWrapSpace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == ' '
}

// wrapChunks splits text into textwrap's chunks: runs of whitespace and
// words, words split after hyphens between letters when asked.
func wrapChunks(text string, hyphens bool) []string {
	var chunks []string
	rs := []rune(text)
	isLetter := func(r rune) bool { return unicode.IsLetter(r) }
	for i := 0; i < len(rs); {
		j := i
		if isWrapSpace(rs[i]) {
			for j < len(rs) && isWrapSpace(rs[j]) {
				j++
			}
			chunks = append(chunks, string(rs[i:j]))
			i = j
			continue
		}
		for j < len(rs) && !isWrapSpace(rs[j]) {
			if hyphens && rs[j] == '-' && j+1 < len(rs) && j > i {
				// A hyphen after two letters (or letter-letter-) and before
				// a letter ends a chunk.
				before := j >= 2 && isLetter(rs[j-1]) && isLetter(rs[j-2]) || j >= 3 && isLetter(rs[j-1]) && rs[j-2] == '-' && isLetter(rs[j-3])
				after := isLetter(rs[j+1]) || (rs[j+1] == '-' && j+2 < len(rs) && isLetter(rs[j+2]))
				if before && after && j-i >= 1 {
					j++
					break
				}
			}
			j++
		}
		chunks = append(chunks, string(rs[i:j]))
		i = j
	}
	return chunks
}

var urlizeTrail = ".,)>\n!"

func filterUrlize(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_urlize", 0, "trim_url_limit", "nofollow", "target", "rel", "extra_schemes")
	if err != nil {
		return nil, err
	}
	s, err := softStr(c, v)
	if err != nil {
		return nil, err
	}
	rel := map[string]bool{}
	if p[3] != Missing && p[3] != nil {
		for _, r := range strings.Fields(pyStr(p[3])) {
			rel[r] = true
		}
	}
	if p[1] != Missing && truth(p[1]) {
		rel["nofollow"] = true
	}
	rel["noopener"] = true
	var relParts []string
	for r := range rel {
		relParts = append(relParts, r)
	}
	sort.Strings(relParts)
	attrs := ` rel="` + string(escapeString(strings.Join(relParts, " "))) + `"`
	if p[2] != Missing && p[2] != nil {
		attrs += ` target="` + string(escapeString(pyStr(p[2]))) + `"`
	}
	limit := -1
	if p[0] != Missing && p[0] != nil {
		n, err := argInt("urlize", p[0])
		if err != nil {
			return nil, err
		}
		limit = int(n)
	}
	words := regexp.MustCompile(`(\s+)`).Split(s, -1)
	seps := regexp.MustCompile(`\s+`).FindAllString(s, -1)
	var b strings.Builder
	for i, w := range words {
		b.WriteString(urlizeWord(w, attrs, limit))
		if i < len(seps) {
			b.WriteString(seps[i])
		}
	}
	return b.String(), nil
}

func urlizeWord(word, attrs string, limit int) string {
	head, middle, tail := "", word, ""
	for strings.HasPrefix(middle, "(") || strings.HasPrefix(middle, "<") || strings.HasPrefix(middle, "&lt;") {
		if strings.HasPrefix(middle, "&lt;") {
			head += "&lt;"
			middle = middle[4:]
		} else {
			head += middle[:1]
			middle = middle[1:]
		}
	}
	for middle != "" && strings.ContainsAny(middle[len(middle)-1:], urlizeTrail) {
		tail = middle[len(middle)-1:] + tail
		middle = middle[:len(middle)-1]
	}
	trim := func(x string) string {
		if limit >= 0 && len(x) > limit {
			if limit > 3 {
				return x[:limit] + "..."
			}
			return x[:limit]
		}
		return x
	}
	esc := func(x string) string { return string(escapeString(x)) }
	switch {
	case strings.HasPrefix(middle, "https://") || strings.HasPrefix(middle, "http://"):
		return esc(head) + `<a href="` + esc(middle) + `"` + attrs + ">" + esc(trim(middle)) + "</a>" + esc(tail)
	case strings.HasPrefix(middle, "www."):
		return esc(head) + `<a href="https://` + esc(middle) + `"` + attrs + ">" + esc(trim(middle)) + "</a>" + esc(tail)
	case strings.HasPrefix(middle, "mailto:"):
		return esc(head) + `<a href="` + esc(middle) + `">` + esc(middle[7:]) + "</a>" + esc(tail)
	case strings.Count(middle, "@") == 1 && !strings.Contains(middle, ":") && strings.Contains(middle[strings.IndexByte(middle, '@'):], "."):
		return esc(head) + `<a href="mailto:` + esc(middle) + `">` + esc(middle) + "</a>" + esc(tail)
	}
	return esc(word)
}

func filterTojson(c *Call, v Value, a Args) (Value, error) {
	p, err := a.Bind("do_tojson", 0, "indent")
	if err != nil {
		return nil, err
	}
	indent := -1
	if p[0] != Missing && p[0] != nil {
		n, err := argInt("tojson", p[0])
		if err != nil {
			return nil, err
		}
		indent = int(n)
	}
	var b strings.Builder
	if err := c.r.writeJSON(&b, v, indent, 0, nil); err != nil {
		return nil, err
	}
	s := b.String()
	s = strings.ReplaceAll(s, "<", `\u003c`)
	s = strings.ReplaceAll(s, ">", `\u003e`)
	s = strings.ReplaceAll(s, "&", `\u0026`)
	s = strings.ReplaceAll(s, "'", `\u0027`)
	return Markup(s), nil
}
