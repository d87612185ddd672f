package jinja

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Python's string formatting: the % operator (printf-style) and
// str.format with its format-spec mini-language.

// percentFormat is fmt % args.
func (r *renderer) percentFormat(format string, args Value) (string, error) {
	var tuple Tuple
	single := false
	switch a := args.(type) {
	case Tuple:
		tuple = a
	case *groupTuple:
		tuple = a.tuple()
	default:
		single = true
	}
	var mapping Value
	switch args.(type) {
	case *Dict, *List, Range, Undefined:
		mapping = args
	}
	argIdx := 0
	singleUsed := false
	next := func() (Value, error) {
		if single {
			if singleUsed {
				return nil, typeErrorf("not enough arguments for format string")
			}
			singleUsed = true
			return args, nil
		}
		if argIdx >= len(tuple) {
			return nil, typeErrorf("not enough arguments for format string")
		}
		argIdx++
		return tuple[argIdx-1], nil
	}
	var b strings.Builder
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			j := strings.IndexByte(format[i:], '%')
			if j < 0 {
				b.WriteString(format[i:])
				break
			}
			b.WriteString(format[i : i+j])
			i += j
			continue
		}
		start := i
		i++
		if i >= len(format) {
			return "", newError(KindValue, "incomplete format")
		}
		var value Value
		haveValue := false
		if format[i] == '(' {
			if mapping == nil {
				return "", typeErrorf("format requires a mapping")
			}
			depth := 1
			k := i + 1
			for k < len(format) && depth > 0 {
				if format[k] == '(' {
					depth++
				} else if format[k] == ')' {
					depth--
				}
				k++
			}
			if depth > 0 {
				return "", newError(KindValue, "incomplete format key")
			}
			key := format[i+1 : k-1]
			if u, isU := mapping.(Undefined); isU {
				return "", r.undefinedError(u)
			}
			v, ok, err := r.item(mapping, key)
			if err != nil {
				return "", err
			}
			if !ok {
				return "", newError(KindKey, reprString(key))
			}
			value, haveValue = v, true
			i = k
		}
		var spec fmtSpec
	flags:
		for i < len(format) {
			switch format[i] {
			case '-':
				spec.minus = true
			case '+':
				spec.plus = true
			case ' ':
				spec.space = true
			case '#':
				spec.alt = true
			case '0':
				spec.zero = true
			default:
				break flags
			}
			i++
		}
		readNum := func() (int, bool, error) {
			if i < len(format) && format[i] == '*' {
				i++
				v, err := next()
				if err != nil {
					return 0, false, err
				}
				n, ok := v.(int64)
				if !ok {
					if bv, isB := v.(bool); isB {
						n, ok = map[bool]int64{true: 1, false: 0}[bv], true
					}
				}
				if !ok {
					return 0, false, typeErrorf("* wants int")
				}
				return int(n), true, nil
			}
			n, has := 0, false
			for i < len(format) && isDigit(format[i]) {
				n = n*10 + int(format[i]-'0')
				if n > 1<<30 {
					return 0, false, newError(KindValue, "width too big")
				}
				has = true
				i++
			}
			return n, has, nil
		}
		w, hasW, err := readNum()
		if err != nil {
			return "", err
		}
		if hasW {
			if w < 0 {
				spec.minus = true
				w = -w
			}
			spec.width = w
		}
		spec.prec = -1
		if i < len(format) && format[i] == '.' {
			i++
			p, _, err := readNum()
			if err != nil {
				return "", err
			}
			spec.prec = max(p, 0)
		}
		for i < len(format) && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L') {
			i++
		}
		if i >= len(format) {
			return "", newError(KindValue, "incomplete format")
		}
		conv, n := utf8.DecodeRuneInString(format[i:])
		i += n
		if conv == '%' && i == start+2 {
			b.WriteByte('%')
			continue
		}
		if !haveValue {
			if value, err = next(); err != nil {
				return "", err
			}
		}
		if err := r.charge(int64(spec.width + max(spec.prec, 0))); err != nil {
			return "", err
		}
		s, err := r.percentOne(conv, value, spec, start, format)
		if err != nil {
			return "", err
		}
		if err := r.charge(int64(len(s))); err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	if !single && argIdx < len(tuple) && mapping == nil {
		return "", typeErrorf("not all arguments converted during string formatting")
	}
	if single && !singleUsed && mapping == nil {
		return "", typeErrorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

type fmtSpec struct {
	minus, plus, space, alt, zero bool
	width, prec                   int
}

func (r *renderer) percentOne(conv rune, v Value, spec fmtSpec, start int, format string) (string, error) {
	switch conv {
	case 's', 'r', 'a':
		var s string
		switch conv {
		case 's':
			var err error
			if s, err = r.str(v); err != nil {
				return "", err
			}
		case 'r':
			s = repr(v)
		default:
			s = asciiRepr(repr(v))
		}
		if spec.prec >= 0 {
			if rs := []rune(s); len(rs) > spec.prec {
				s = string(rs[:spec.prec])
			}
		}
		return padSpec(s, spec, false), nil
	case 'd', 'i', 'u', 'x', 'X', 'o':
		if u, ok := v.(Undefined); ok {
			return "", r.undefinedError(u)
		}
		kind, iv, bv, fv := number(v)
		if kind == 0 {
			if conv == 'd' || conv == 'i' || conv == 'u' {
				return "", typeErrorf("%%%c format: a real number is required, not %s", conv, typeName(v))
			}
			return "", typeErrorf("%%%c format: an integer is required, not %s", conv, typeName(v))
		}
		var n *big.Int
		switch kind {
		case 'i':
			n = big.NewInt(iv)
		case 'b':
			n = bv
		case 'f':
			if conv == 'x' || conv == 'X' || conv == 'o' {
				return "", typeErrorf("%%%c format: an integer is required, not float", conv)
			}
			if math.IsInf(fv, 0) {
				return "", newError(KindOverflow, "cannot convert float infinity to integer")
			}
			if math.IsNaN(fv) {
				return "", newError(KindValue, "cannot convert float NaN to integer")
			}
			n, _ = big.NewFloat(math.Trunc(fv)).Int(nil)
		}
		base := 10
		prefix := ""
		switch conv {
		case 'x', 'X':
			base = 16
			if spec.alt {
				prefix = "0" + string(conv)
			}
		case 'o':
			base = 8
			if spec.alt {
				prefix = "0o"
			}
		}
		if base == 10 {
			if _, err := bigText(n); err != nil {
				return "", err
			}
		}
		digits := new(big.Int).Abs(n).Text(base)
		if conv == 'X' {
			digits = strings.ToUpper(digits)
		}
		if spec.prec > len(digits) {
			digits = strings.Repeat("0", spec.prec-len(digits)) + digits
		}
		return signPad(n.Sign() < 0, prefix, digits, spec), nil
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if u, ok := v.(Undefined); ok {
			return "", r.undefinedError(u)
		}
		if !isNumber(v) {
			return "", typeErrorf("must be real number, not %s", typeName(v))
		}
		f, err := toFloat(v)
		if err != nil {
			return "", err
		}
		prec := spec.prec
		if prec < 0 {
			prec = 6
		}
		body := formatFloatC(math.Abs(f), byte(conv), prec, spec.alt)
		neg := math.Signbit(f) && !math.IsNaN(f)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			spec.zero = false
		}
		return signPad(neg, "", body, spec), nil
	case 'c':
		var s string
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) != 1 {
				return "", typeErrorf("%%c requires int or char")
			}
			s = x
		default:
			kind, iv, _, _ := number(v)
			if kind != 'i' {
				return "", typeErrorf("%%c requires int or char")
			}
			if iv < 0 || iv > 0x10ffff {
				return "", newError(KindOverflow, "%c arg not in range(0x110000)")
			}
			s = string(rune(iv))
		}
		return padSpec(s, spec, false), nil
	}
	return "", errorf(KindValue, "unsupported format character %s (0x%x) at index %d", reprString(string(conv)), conv, utf8.RuneCountInString(format[:start])+1)
}

func asciiRepr(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r <= 0xff:
			b.WriteString(`\x` + leftPad(strconv.FormatInt(int64(r), 16), 2))
		case r <= 0xffff:
			b.WriteString(`\u` + leftPad(strconv.FormatInt(int64(r), 16), 4))
		default:
			b.WriteString(`\U` + leftPad(strconv.FormatInt(int64(r), 16), 8))
		}
	}
	return b.String()
}

// padSpec pads s to the spec's width (printf rules: "-" pads right).
func padSpec(s string, spec fmtSpec, _ bool) string {
	n := utf8.RuneCountInString(s)
	if n >= spec.width {
		return s
	}
	fill := strings.Repeat(" ", spec.width-n)
	if spec.minus {
		return s + fill
	}
	return fill + s
}

// signPad lays out a number: sign, prefix, zero padding or space padding.
func signPad(neg bool, prefix, digits string, spec fmtSpec) string {
	sign := ""
	switch {
	case neg:
		sign = "-"
	case spec.plus:
		sign = "+"
	case spec.space:
		sign = " "
	}
	n := len(sign) + len(prefix) + utf8.RuneCountInString(digits)
	if n >= spec.width {
		return sign + prefix + digits
	}
	if spec.minus {
		return sign + prefix + digits + strings.Repeat(" ", spec.width-n)
	}
	if spec.zero {
		return sign + prefix + strings.Repeat("0", spec.width-n) + digits
	}
	return strings.Repeat(" ", spec.width-n) + sign + prefix + digits
}

// formatFloatC formats a non-negative float like C's printf (e, f, g and
// their upper-case forms), as Python's % does.
func formatFloatC(f float64, conv byte, prec int, alt bool) string {
	upper := conv == 'E' || conv == 'F' || conv == 'G'
	if math.IsInf(f, 0) {
		if upper {
			return "INF"
		}
		return "inf"
	}
	if math.IsNaN(f) {
		if upper {
			return "NAN"
		}
		return "nan"
	}
	var s string
	switch conv {
	case 'f', 'F':
		s = strconv.FormatFloat(f, 'f', prec, 64)
		if alt && prec == 0 {
			s += "."
		}
	case 'e', 'E':
		s = strconv.FormatFloat(f, 'e', prec, 64)
		if alt && prec == 0 {
			i := strings.IndexByte(s, 'e')
			s = s[:i] + "." + s[i:]
		}
	default:
		s = formatG(f, prec, alt, false)
	}
	if upper {
		s = strings.ToUpper(s)
	}
	return s
}

// formatG is C's %g: precision significant digits, exponent form when the
// exponent is below -4 or at least the precision, trailing zeros removed
// unless alt. noneType is format()'s default float type, which keeps one
// digit after the point.
func formatG(f float64, prec int, alt, noneType bool) string {
	if prec == 0 {
		prec = 1
	}
	e := strconv.FormatFloat(f, 'e', prec-1, 64)
	x, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	var s string
	if x >= -4 && x < prec {
		s = strconv.FormatFloat(f, 'f', prec-1-x, 64)
		if !alt {
			if strings.IndexByte(s, '.') >= 0 {
				s = strings.TrimRight(s, "0")
				s = strings.TrimSuffix(s, ".")
			}
			if noneType && strings.IndexByte(s, '.') < 0 {
				s += ".0"
			}
		} else if strings.IndexByte(s, '.') < 0 {
			s += "."
		}
		return s
	}
	s = e
	if !alt {
		i := strings.IndexByte(s, 'e')
		mant, exp := s[:i], s[i:]
		if strings.IndexByte(mant, '.') >= 0 {
			mant = strings.TrimRight(mant, "0")
			mant = strings.TrimSuffix(mant, ".")
		}
		s = mant + exp
	} else if strings.IndexByte(s, '.') < 0 {
		i := strings.IndexByte(s, 'e')
		s = s[:i] + "." + s[i:]
	}
	return s
}

// str.format.

// strFormat is str.format as Jinja2's SandboxedFormatter runs it: Python's
// string.Formatter, with the sandbox's attribute and item lookups.
func (r *renderer) strFormat(format string, args []Value, kwargs Value) (Value, error) {
	auto := 0 // the next automatic index; -1 once manual numbering is used
	out, _, err := r.vformat(format, args, kwargs, 2, &auto)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (r *renderer) vformat(format string, args []Value, kwargs Value, depth int, auto *int) (string, bool, error) {
	if depth < 0 {
		return "", false, newError(KindValue, "Max string recursion exceeded")
	}
	var b strings.Builder
	p := formatParser{s: format}
	for {
		literal, field, ok, err := p.next()
		if err != nil {
			return "", false, err
		}
		b.WriteString(literal)
		if !ok {
			if p.done() {
				return b.String(), true, nil
			}
			continue
		}
		name := field.name
		if name == "" {
			if *auto < 0 {
				return "", false, newError(KindValue, "cannot switch from manual field specification to automatic field numbering")
			}
			name = strconv.Itoa(*auto)
			*auto++
		} else if isAllDigits(name) {
			if *auto > 0 {
				return "", false, newError(KindValue, "cannot switch from manual field specification to automatic field numbering")
			}
			*auto = -1
		}
		obj, err := r.formatField(name, args, kwargs)
		if err != nil {
			return "", false, err
		}
		switch field.conv {
		case 0:
		case 's':
			s, err := r.str(obj)
			if err != nil {
				return "", false, err
			}
			obj = s
		case 'r':
			obj = repr(obj)
		case 'a':
			obj = asciiRepr(repr(obj))
		default:
			return "", false, errorf(KindValue, "Unknown conversion specifier %s", string(field.conv))
		}
		spec, _, err := r.vformat(field.spec, args, kwargs, depth-1, auto)
		if err != nil {
			return "", false, err
		}
		s, err := r.formatValue(obj, spec)
		if err != nil {
			return "", false, err
		}
		if err := r.charge(int64(len(s))); err != nil {
			return "", false, err
		}
		b.WriteString(s)
	}
}

// formatField is Formatter.get_field: the first part of the name indexes
// the arguments, then .attr and [key] look into it.
func (r *renderer) formatField(name string, args []Value, kwargs Value) (Value, error) {
	first, rest := name, ""
	if i := strings.IndexAny(name, ".["); i >= 0 {
		first, rest = name[:i], name[i:]
	}
	var obj Value
	if isAllDigits(first) {
		i, err := strconv.Atoi(first)
		if err != nil || i >= len(args) {
			return nil, newError(KindIndex, "tuple index out of range")
		}
		obj = args[i]
	} else {
		v, ok, err := r.item(kwargs, first)
		if err != nil {
			return nil, err
		}
		if !ok {
			if u, isU := kwargs.(Undefined); isU {
				return nil, r.undefinedError(u)
			}
			return nil, newError(KindKey, reprString(first))
		}
		obj = v
	}
	for rest != "" {
		if rest[0] == '.' {
			end := strings.IndexAny(rest[1:], ".[")
			attr := rest[1:]
			if end >= 0 {
				attr = rest[1 : end+1]
			}
			if attr == "" {
				return nil, newError(KindValue, "Empty attribute in format string")
			}
			v, err := r.getattr(obj, attr)
			if err != nil {
				return nil, err
			}
			obj = v
			rest = rest[1+len(attr):]
			continue
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, newError(KindValue, "Missing ']' in format string")
		}
		keyText := rest[1:end]
		if keyText == "" {
			return nil, newError(KindValue, "Empty attribute in format string")
		}
		var key Value = keyText
		if isAllDigits(keyText) {
			n, _ := strconv.ParseInt(keyText, 10, 64)
			key = n
		}
		v, err := r.getitem(obj, key)
		if err != nil {
			return nil, err
		}
		obj = v
		rest = rest[end+1:]
		if rest != "" && rest[0] != '.' && rest[0] != '[' {
			return nil, newError(KindValue, "Only '.' or '[' may follow ']' in format field specifier")
		}
	}
	return obj, nil
}

func isAllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// expand replaces the {fields} of a format string, handling {{ and }}.
// formatParser is CPython's MarkupIterator: literal text and replacement
// fields, one at a time, with its exact errors.
type formatParser struct {
	s   string
	pos int
}

type formatFieldSpec struct {
	name string
	conv byte
	spec string
}

func (p *formatParser) done() bool { return p.pos >= len(p.s) }

// next returns the literal text up to the next field, and the field if
// there is one.
func (p *formatParser) next() (string, formatFieldSpec, bool, error) {
	var f formatFieldSpec
	if p.done() {
		return "", f, false, nil
	}
	start := p.pos
	var c byte
	markup := false
	for p.pos < len(p.s) {
		c = p.s[p.pos]
		p.pos++
		if c == '{' || c == '}' {
			markup = true
			break
		}
	}
	atEnd := p.pos >= len(p.s)
	n := p.pos - start
	if markup && c == '}' && (atEnd || p.s[p.pos] != '}') {
		return "", f, false, newError(KindValue, "Single '}' encountered in format string")
	}
	if markup && atEnd && c == '{' {
		return "", f, false, newError(KindValue, "Single '{' encountered in format string")
	}
	if markup && !atEnd {
		if p.s[p.pos] == c {
			p.pos++
			markup = false
		} else {
			n--
		}
	}
	literal := p.s[start : start+n]
	if !markup {
		return literal, f, false, nil
	}
	// The field name ends at '}', ':' or '!' outside brackets.
	nameStart := p.pos
	c = 0
	for p.pos < len(p.s) {
		c = p.s[p.pos]
		p.pos++
		if c == '{' {
			return "", f, false, newError(KindValue, "unexpected '{' in field name")
		}
		if c == '[' {
			for p.pos < len(p.s) && p.s[p.pos] != ']' {
				p.pos++
			}
			c = 0
			continue
		}
		if c == '}' || c == ':' || c == '!' {
			break
		}
		c = 0
	}
	f.name = p.s[nameStart:max(p.pos-1, nameStart)]
	if c == 0 {
		f.name = p.s[nameStart:p.pos]
	}
	if c == '!' || c == ':' {
		if c == '!' {
			if p.pos >= len(p.s) {
				return "", f, false, newError(KindValue, "end of string while looking for conversion specifier")
			}
			f.conv = p.s[p.pos]
			p.pos++
			if p.pos < len(p.s) {
				c = p.s[p.pos]
				p.pos++
				if c == '}' {
					return literal, f, true, nil
				}
				if c != ':' {
					return "", f, false, newError(KindValue, "expected ':' after conversion specifier")
				}
			}
		}
		specStart := p.pos
		count := 1
		for p.pos < len(p.s) {
			c = p.s[p.pos]
			p.pos++
			switch c {
			case '{':
				count++
			case '}':
				count--
				if count == 0 {
					f.spec = p.s[specStart : p.pos-1]
					return literal, f, true, nil
				}
			}
		}
		return "", f, false, newError(KindValue, "unmatched '{' in format spec")
	}
	if c != '}' {
		return "", f, false, newError(KindValue, "expected '}' before end of string")
	}
	return literal, f, true, nil
}

// formatSpec is a parsed format-spec mini-language spec.
type formatSpec struct {
	fill      string
	align     byte
	sign      byte
	alt       bool
	zero      bool
	width     int
	grouping  byte
	prec      int
	typ       byte
	hasWidth  bool
	hasAlign  bool
	hasSign   bool
	hasPrec   bool
	hasZero   bool
	precDigit bool
}

func parseFormatSpec(spec string) (formatSpec, error) {
	fs := formatSpec{fill: " ", prec: -1}
	rs := []rune(spec)
	i := 0
	isAlign := func(c rune) bool { return c == '<' || c == '>' || c == '=' || c == '^' }
	if len(rs) >= 2 && isAlign(rs[1]) {
		fs.fill, fs.align, fs.hasAlign = string(rs[0]), byte(rs[1]), true
		i = 2
	} else if len(rs) >= 1 && isAlign(rs[0]) {
		fs.align, fs.hasAlign = byte(rs[0]), true
		i = 1
	}
	if i < len(rs) && (rs[i] == '+' || rs[i] == '-' || rs[i] == ' ') {
		fs.sign, fs.hasSign = byte(rs[i]), true
		i++
	}
	if i < len(rs) && rs[i] == 'z' {
		i++
	}
	if i < len(rs) && rs[i] == '#' {
		fs.alt = true
		i++
	}
	if i < len(rs) && rs[i] == '0' {
		fs.zero, fs.hasZero = true, true
		i++
	}
	for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
		fs.width = fs.width*10 + int(rs[i]-'0')
		if fs.width > 1<<30 {
			return fs, newError(KindValue, "Too many decimal digits in format string")
		}
		fs.hasWidth = true
		i++
	}
	if i < len(rs) && (rs[i] == ',' || rs[i] == '_') {
		fs.grouping = byte(rs[i])
		i++
	}
	if i < len(rs) && rs[i] == '.' {
		i++
		fs.prec = 0
		start := i
		for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
			fs.prec = fs.prec*10 + int(rs[i]-'0')
			if fs.prec > 1<<30 {
				return fs, newError(KindValue, "Too many decimal digits in format string")
			}
			i++
		}
		if i == start {
			return fs, newError(KindValue, "Format specifier missing precision")
		}
		fs.hasPrec = true
	}
	if i < len(rs) {
		fs.typ = byte(rs[i])
		if rs[i] > 0x7f {
			fs.typ = '?'
		}
		i++
	}
	if i < len(rs) {
		return fs, newError(KindValue, "Invalid format specifier")
	}
	if fs.zero && !fs.hasAlign {
		fs.fill, fs.align = "0", '='
	}
	return fs, nil
}

// formatValue is Python's format(value, spec).
func (r *renderer) formatValue(v Value, spec string) (string, error) {
	if spec == "" {
		return r.str(v)
	}
	fs, err := parseFormatSpec(spec)
	if err != nil {
		return "", err
	}
	if err := r.charge(int64(fs.width + max(fs.prec, 0))); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string, Markup:
		s, _ := asString(x)
		if fs.typ != 0 && fs.typ != 's' {
			return "", errorf(KindValue, "Unknown format code '%c' for object of type 'str'", fs.typ)
		}
		if fs.hasSign {
			return "", newError(KindValue, "Sign not allowed in string format specifier")
		}
		if fs.alt {
			return "", newError(KindValue, "Alternate form (#) not allowed in string format specifier")
		}
		if fs.align == '=' {
			return "", newError(KindValue, "'=' alignment not allowed in string format specifier")
		}
		if fs.grouping != 0 {
			return "", newError(KindValue, "Cannot specify ',' with 's'.")
		}
		if fs.hasPrec {
			if rs := []rune(s); len(rs) > fs.prec {
				s = string(rs[:fs.prec])
			}
		}
		return alignText(s, fs, '<'), nil
	case bool, int64, int, *big.Int:
		return r.formatInt(v, fs)
	case float64:
		return formatFloatSpec(x, fs)
	}
	return "", typeErrorf("unsupported format string passed to %s.__format__", typeName(v))
}

func alignText(s string, fs formatSpec, def byte) string {
	n := utf8.RuneCountInString(s)
	if n >= fs.width {
		return s
	}
	pad := fs.width - n
	align := fs.align
	if align == 0 {
		align = def
	}
	switch align {
	case '<':
		return s + strings.Repeat(fs.fill, pad)
	case '>':
		return strings.Repeat(fs.fill, pad) + s
	case '^':
		left := pad / 2
		return strings.Repeat(fs.fill, left) + s + strings.Repeat(fs.fill, pad-left)
	}
	return s
}

// alignNumber lays out sign+prefix and digits with the spec's alignment,
// '=' padding between them.
func alignNumber(sign, prefix, digits string, fs formatSpec) string {
	n := len(sign) + len(prefix) + utf8.RuneCountInString(digits)
	if n >= fs.width {
		return sign + prefix + digits
	}
	if fs.align == '=' {
		return sign + prefix + strings.Repeat(fs.fill, fs.width-n) + digits
	}
	return alignText(sign+prefix+digits, fs, '>')
}

func signOf(neg bool, fs formatSpec) string {
	switch {
	case neg:
		return "-"
	case fs.sign == '+':
		return "+"
	case fs.sign == ' ':
		return " "
	}
	return ""
}

func group(digits string, sep byte, every int) string {
	if sep == 0 || len(digits) <= every {
		return digits
	}
	var parts []string
	for len(digits) > every {
		parts = append([]string{digits[len(digits)-every:]}, parts...)
		digits = digits[:len(digits)-every]
	}
	parts = append([]string{digits}, parts...)
	return strings.Join(parts, string(sep))
}

func (r *renderer) formatInt(v Value, fs formatSpec) (string, error) {
	kind, iv, bv, _ := number(v)
	n := toBig(kind, iv, bv)
	switch fs.typ {
	case 'e', 'E', 'f', 'F', 'g', 'G', '%':
		f, err := toFloat(v)
		if err != nil {
			return "", err
		}
		return formatFloatSpec(f, fs)
	case 0, 'd', 'n', 'b', 'o', 'x', 'X', 'c':
	default:
		return "", errorf(KindValue, "Unknown format code '%c' for object of type 'int'", fs.typ)
	}
	if fs.hasPrec {
		return "", newError(KindValue, "Precision not allowed in integer format specifier")
	}
	if fs.typ == 'c' {
		if fs.hasSign {
			return "", newError(KindValue, "Sign not allowed with integer format specifier 'c'")
		}
		if !n.IsInt64() || n.Int64() < 0 || n.Int64() > 0x10ffff {
			return "", newError(KindOverflow, "%c arg not in range(0x110000)")
		}
		return alignText(string(rune(n.Int64())), fs, '<'), nil
	}
	if _, isBool := v.(bool); isBool && fs.typ == 0 && !fs.hasWidth && !fs.hasSign && fs.grouping == 0 && !fs.alt {
		return alignText(pyStr(v), fs, '<'), nil
	}
	base, prefix, every := 10, "", 3
	switch fs.typ {
	case 'b':
		base, prefix, every = 2, "0b", 4
	case 'o':
		base, prefix, every = 8, "0o", 4
	case 'x', 'X':
		base, prefix, every = 16, "0"+string(fs.typ), 4
	}
	if !fs.alt {
		prefix = ""
	}
	if fs.grouping == ',' && base != 10 {
		return "", errorf(KindValue, "Cannot specify ',' with '%c'.", fs.typ)
	}
	if base == 10 {
		if _, err := bigText(n); err != nil {
			return "", err
		}
	}
	digits := new(big.Int).Abs(n).Text(base)
	if fs.typ == 'X' {
		digits = strings.ToUpper(digits)
	}
	sign := signOf(n.Sign() < 0, fs)
	if fs.grouping != 0 && fs.align == '=' && fs.fill == "0" {
		// Zero padding is grouped too.
		width := fs.width - len(sign) - len(prefix)
		for len(group(digits, fs.grouping, every)) < width {
			digits = "0" + digits
		}
		return sign + prefix + group(digits, fs.grouping, every), nil
	}
	return alignNumber(sign, prefix, group(digits, fs.grouping, every), fs), nil
}

func formatFloatSpec(f float64, fs formatSpec) (string, error) {
	switch fs.typ {
	case 0, 'e', 'E', 'f', 'F', 'g', 'G', 'n', '%':
	default:
		return "", errorf(KindValue, "Unknown format code '%c' for object of type 'float'", fs.typ)
	}
	if fs.alt && fs.typ == 0 && !fs.hasPrec {
		fs.alt = false
	}
	neg := math.Signbit(f) && !math.IsNaN(f)
	a := math.Abs(f)
	prec := fs.prec
	var body string
	switch fs.typ {
	case 0:
		if !fs.hasPrec {
			body = floatRepr(a)
		} else {
			body = formatG(a, prec, fs.alt, true)
		}
	case 'n':
		if prec < 0 {
			prec = 6
		}
		body = formatG(a, prec, fs.alt, false)
	case '%':
		if prec < 0 {
			prec = 6
		}
		body = formatFloatC(a*100, 'f', prec, fs.alt) + "%"
	default:
		if prec < 0 {
			prec = 6
		}
		body = formatFloatC(a, fs.typ, prec, fs.alt)
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		if fs.typ == 'E' || fs.typ == 'F' || fs.typ == 'G' {
			body = strings.ToUpper(body)
		}
	}
	if fs.grouping != 0 {
		intPart, rest := body, ""
		if i := strings.IndexAny(body, ".e%"); i >= 0 {
			intPart, rest = body[:i], body[i:]
		}
		if isAllDigits(intPart) {
			body = group(intPart, fs.grouping, 3) + rest
		}
	}
	return alignNumber(signOf(neg, fs), "", body, fs), nil
}
