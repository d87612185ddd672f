package jinja

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Python's str() and repr() of the engine's values, byte for byte.

// pyStr is str(v). Undefined prints as "". Errors (too deep, too large)
// are ignored here: the renderer's str reports them.
func pyStr(v Value) string {
	switch x := v.(type) {
	case string:
		return x
	case Markup:
		return string(x)
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return floatRepr(x)
	case Undefined:
		return ""
	case *Module:
		return x.body
	}
	var b reprOut
	b.repr(v, nil, 0)
	return b.String()
}

// repr is Python's repr(v).
func repr(v Value) string {
	var b reprOut
	b.repr(v, nil, 0)
	return b.String()
}

// reprString is repr of a str.
func reprString(s string) string {
	var b strings.Builder
	writeReprString(&b, s)
	return b.String()
}

// maxIntDigits is Python's default limit on converting ints to text.
const maxIntDigits = 4300

// reprOut builds a repr, stopping with an error where Python fails (too
// deep, an int with too many digits) or past a size limit.
type reprOut struct {
	strings.Builder
	limit int64 // bytes; 0 means no limit
	err   error
}

func (b *reprOut) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func bigText(x *big.Int) (string, error) {
	s := x.String()
	if n := len(strings.TrimPrefix(s, "-")); n > maxIntDigits {
		return "", errorf(KindValue, "Exceeds the limit (%d digits) for integer string conversion: value has %d digits; use sys.set_int_max_str_digits() to increase the limit", maxIntDigits, n)
	}
	return s, nil
}

func (b *reprOut) repr(v Value, seen []any, depth int) {
	if b.err != nil {
		return
	}
	if b.limit > 0 && int64(b.Len()) > b.limit {
		b.fail(limitError(LimitMemory, "the text of a value is larger than the memory limit (Limits.MaxMemory)"))
		return
	}
	if depth > maxCompareDepth {
		b.fail(newError(KindRecursion, "maximum recursion depth exceeded while getting the repr of an object"))
		return
	}
	switch x := v.(type) {
	case string:
		writeReprString(&b.Builder, x)
	case Markup:
		b.WriteString("Markup(")
		writeReprString(&b.Builder, string(x))
		b.WriteString(")")
	case *big.Int:
		s, err := bigText(x)
		if err != nil {
			b.fail(err)
			return
		}
		b.WriteString(s)
	case *List:
		for _, s := range seen {
			if s == any(x) {
				b.WriteString("[...]")
				return
			}
		}
		b.WriteByte('[')
		for i, it := range x.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			b.repr(it, append(seen, x), depth+1)
		}
		b.WriteByte(']')
	case Tuple:
		b.WriteByte('(')
		for i, it := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.repr(it, seen, depth+1)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *groupTuple:
		b.repr(x.tuple(), seen, depth)
	case *Dict:
		for _, s := range seen {
			if s == any(x) {
				b.WriteString("{...}")
				return
			}
		}
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.repr(k, append(seen, x), depth+1)
			b.WriteString(": ")
			b.repr(x.vals[i], append(seen, x), depth+1)
		}
		b.WriteByte('}')
	case Undefined:
		b.WriteString("Undefined")
	case missingType:
		b.WriteString("missing")
	case Range:
		if x.Step == 1 {
			fmt.Fprintf(b, "range(%d, %d)", x.Start, x.Stop)
		} else {
			fmt.Fprintf(b, "range(%d, %d, %d)", x.Start, x.Stop, x.Step)
		}
	case *dictView:
		b.WriteString("dict_" + x.kind + "(")
		b.repr(&List{Items: x.items()}, seen, depth+1)
		b.WriteString(")")
	case *Macro:
		if x.def.isCaller {
			b.WriteString("<Macro anonymous>")
		} else {
			b.WriteString("<Macro " + reprString(x.def.name) + ">")
		}
	case *Namespace:
		b.WriteString("<Namespace ")
		b.repr(x.attrs, seen, depth+1)
		b.WriteString(">")
	case *loopContext:
		fmt.Fprintf(b, "<LoopContext %d/%d>", x.index0+1, len(x.items))
	case *Iterator:
		b.WriteString("<" + x.name + " object>")
	case *boundMethod:
		b.WriteString("<built-in method " + x.name + " of " + typeName(x.recv) + " object>")
	case *Module:
		b.WriteString("<TemplateModule " + reprString(x.name) + ">")
	case *cycler:
		b.WriteString("<jinja2.utils.Cycler object>")
	case *joiner:
		b.WriteString("<jinja2.utils.Joiner object>")
	case Func, *funcValue:
		b.WriteString("<function>")
	case sliceValue:
		b.WriteString("slice(")
		b.repr(x.start, seen, depth+1)
		b.WriteString(", ")
		b.repr(x.stop, seen, depth+1)
		b.WriteString(", ")
		b.repr(x.step, seen, depth+1)
		b.WriteString(")")
	case nil, bool, int64, int, float64:
		b.WriteString(pyStr(v))
	default:
		if rp, ok := v.(interface{ Repr() string }); ok {
			b.WriteString(rp.Repr())
		} else if s, ok := v.(fmt.Stringer); ok {
			b.WriteString(s.String())
		} else {
			fmt.Fprint(b, v)
		}
	}
}

func writeReprString(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case isPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
}

// isPrintable is Python's str.isprintable for one character.
func isPrintable(r rune) bool {
	if r == ' ' {
		return true
	}
	if r == utf8.RuneError {
		return false
	}
	return unicode.IsPrint(r)
}

// floatRepr is Python's repr(float).
func floatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	digits, decpt, neg := shortestDigits(f)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if decpt > -4 && decpt <= 16 {
		writeFixed(&b, digits, decpt, true)
	} else {
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		writeExponent(&b, decpt-1)
	}
	return b.String()
}

// shortestDigits returns the shortest digits that round-trip f and the
// position of the decimal point (value = 0.DIGITS * 10**decpt).
func shortestDigits(f float64) (string, int, bool) {
	neg := math.Signbit(f)
	if f == 0 {
		return "0", 1, neg
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
	e := strings.IndexByte(s, 'e')
	mant, exp := s[:e], s[e+1:]
	x, _ := strconv.Atoi(exp)
	digits := strings.Replace(mant, ".", "", 1)
	return digits, x + 1, neg
}

func writeFixed(b *strings.Builder, digits string, decpt int, dotZero bool) {
	switch {
	case decpt <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case decpt < len(digits):
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	default:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
		if dotZero {
			b.WriteString(".0")
		}
	}
}

func writeExponent(b *strings.Builder, exp int) {
	b.WriteByte('e')
	if exp < 0 {
		b.WriteByte('-')
		exp = -exp
	} else {
		b.WriteByte('+')
	}
	if exp < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(exp))
}

// escapeString is markupsafe's escape of a plain string.
func escapeString(s string) Markup {
	if !strings.ContainsAny(s, "&<>'\"") {
		return Markup(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\'':
			b.WriteString("&#39;")
		case '"':
			b.WriteString("&#34;")
		default:
			b.WriteByte(s[i])
		}
	}
	return Markup(b.String())
}

// escapeValue is markupsafe.escape(v): Markup stays, the rest is str()
// then escaped.
func escapeValue(v Value) Markup {
	if m, ok := v.(Markup); ok {
		return m
	}
	if h, ok := v.(interface{ HTML() string }); ok {
		return Markup(h.HTML())
	}
	return escapeString(pyStr(v))
}

// escapeArgs escapes the arguments of Markup % args.
func escapeArgs(v Value) Value {
	switch x := v.(type) {
	case Tuple:
		out := make(Tuple, len(x))
		for i, it := range x {
			out[i] = escapeArg(it)
		}
		return out
	case *Dict:
		out := &Dict{}
		for i, k := range x.keys {
			_ = out.set(k, escapeArg(x.vals[i]))
		}
		return out
	}
	return escapeArg(v)
}

func escapeArg(v Value) Value {
	switch v.(type) {
	case string, Markup:
		return escapeValue(v)
	}
	return v
}
