package jinja

import (
	"math/big"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The methods of Python's str, list, dict and tuple that templates call:
// {{ s.upper() }}, {% do l.append(x) %}, {{ d.items() }}.

type boundMethod struct {
	recv Value
	name string
}

var strMethods = map[string]bool{
	"capitalize": true, "casefold": true, "center": true, "count": true, "endswith": true, "expandtabs": true,
	"find": true, "format": true, "format_map": true, "index": true, "isalnum": true, "isalpha": true,
	"isascii": true, "isdecimal": true, "isdigit": true, "isidentifier": true, "islower": true,
	"isnumeric": true, "isprintable": true, "isspace": true, "istitle": true, "isupper": true, "join": true,
	"ljust": true, "lower": true, "lstrip": true, "partition": true, "removeprefix": true,
	"removesuffix": true, "replace": true, "rfind": true, "rindex": true, "rjust": true, "rpartition": true,
	"rsplit": true, "rstrip": true, "split": true, "splitlines": true, "startswith": true, "strip": true,
	"swapcase": true, "title": true, "upper": true, "zfill": true,
}

var listMethods = map[string]bool{
	"append": true, "clear": true, "copy": true, "count": true, "extend": true, "index": true,
	"insert": true, "pop": true, "remove": true, "reverse": true, "sort": true,
}

var dictMethods = map[string]bool{
	"clear": true, "copy": true, "fromkeys": true, "get": true, "items": true, "keys": true, "pop": true,
	"popitem": true, "setdefault": true, "update": true, "values": true,
}

func hasMethod(recv Value, name string) bool {
	switch recv.(type) {
	case string, Markup:
		return strMethods[name]
	case *List:
		return listMethods[name]
	case *Dict:
		return dictMethods[name]
	case Tuple:
		return name == "count" || name == "index"
	}
	return false
}

// Markup's methods that return Markup again.
var markupMethods = map[string]bool{
	"capitalize": true, "title": true, "lower": true, "upper": true, "replace": true, "ljust": true,
	"rjust": true, "lstrip": true, "rstrip": true, "center": true, "strip": true, "expandtabs": true,
	"swapcase": true, "zfill": true, "casefold": true, "removeprefix": true, "removesuffix": true,
}

func (r *renderer) callMethod(recv Value, name string, a Args) (Value, error) {
	switch x := recv.(type) {
	case string:
		return r.strMethod(x, name, a)
	case Markup:
		if name == "join" || name == "format" || name == "replace" {
			a = escapeMethodArgs(a)
		}
		v, err := r.strMethod(string(x), name, a)
		if s, ok := v.(string); ok && (markupMethods[name] || name == "join" || name == "format") {
			return Markup(s), err
		}
		return v, err
	case *List:
		return r.listMethod(x, name, a)
	case *Dict:
		return r.dictMethod(x, name, a)
	case Tuple:
		return r.seqMethod(x, "tuple", name, a)
	case float64:
		if name == "is_integer" {
			return x == float64(int64(x)), nil
		}
	}
	return nil, errorf(KindAttribute, "%s object has no attribute %s", reprString(typeName(recv)), reprString(name))
}

func escapeMethodArgs(a Args) Args {
	out := Args{Pos: make([]Value, len(a.Pos)), Kw: make([]KV, len(a.Kw))}
	for i, v := range a.Pos {
		if _, ok := v.(*List); ok {
			l, _ := v.(*List)
			items := make([]Value, len(l.Items))
			for j, it := range l.Items {
				items[j] = escapeArg(it)
			}
			out.Pos[i] = &List{Items: items}
			continue
		}
		out.Pos[i] = escapeArg(v)
	}
	for i, kv := range a.Kw {
		out.Kw[i] = KV{kv.Name, escapeArg(kv.Value)}
	}
	return out
}

// Strings.

func noArgs(fn string, a Args) error {
	if len(a.Pos)+len(a.Kw) > 0 {
		return typeErrorf("%s() takes no arguments (%d given)", fn, len(a.Pos)+len(a.Kw))
	}
	return nil
}

func argString(fn string, v Value) (string, error) {
	if s, ok := asString(v); ok {
		return s, nil
	}
	return "", typeErrorf("%s() argument must be str, not %s", fn, typeName(v))
}

func argInt(fn string, v Value) (int64, error) {
	kind, i, b, _ := number(v)
	switch kind {
	case 'i':
		return i, nil
	case 'b':
		if b.Sign() < 0 {
			return -1 << 62, nil
		}
		return 1 << 62, nil
	}
	return 0, typeErrorf("%s object cannot be interpreted as an integer", reprString(typeName(v)))
}

// optChars is the chars argument of strip: None means whitespace.
func optChars(fn string, v Value) (string, bool, error) {
	if v == Missing || v == nil {
		return "", false, nil
	}
	s, ok := asString(v)
	if !ok {
		return "", false, typeErrorf("%s arg must be None or str", fn)
	}
	return s, true, nil
}

func (r *renderer) strMethod(s, name string, a Args) (Value, error) {
	fn := "str." + name
	switch name {
	case "upper", "lower", "casefold", "swapcase", "title", "capitalize",
		"isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
		"isnumeric", "isprintable", "isspace", "istitle", "isupper":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		return strNoArgMethod(s, name), nil
	case "strip", "lstrip", "rstrip":
		p, err := a.Bind(fn, 0, "chars")
		if err != nil {
			return nil, err
		}
		chars, has, err := optChars(name, p[0])
		if err != nil {
			return nil, err
		}
		return pyStrip(s, chars, has, name != "rstrip", name != "lstrip"), nil
	case "split", "rsplit":
		p, err := a.Bind(fn, 0, "sep", "maxsplit")
		if err != nil {
			return nil, err
		}
		maxsplit := int64(-1)
		if p[1] != Missing {
			if maxsplit, err = argInt(fn, p[1]); err != nil {
				return nil, err
			}
		}
		var parts []string
		if p[0] == Missing || p[0] == nil {
			parts = splitWhitespace(s, int(maxsplit), name == "rsplit")
		} else {
			sep, err := argString(fn, p[0])
			if err != nil {
				return nil, err
			}
			if sep == "" {
				return nil, newError(KindValue, "empty separator")
			}
			if name == "split" {
				parts = strings.SplitN(s, sep, splitN(maxsplit))
			} else {
				parts = rsplitN(s, sep, splitN(maxsplit))
			}
		}
		return stringList(parts), nil
	case "splitlines":
		p, err := a.Bind(fn, 0, "keepends")
		if err != nil {
			return nil, err
		}
		return stringList(splitLines(s, p[0] != Missing && truth(p[0]))), nil
	case "replace":
		p, err := a.Bind(fn, 2, "old", "new", "count")
		if err != nil {
			return nil, err
		}
		old, err := argString("replace", p[0])
		if err != nil {
			return nil, err
		}
		nw, err := argString("replace", p[1])
		if err != nil {
			return nil, err
		}
		count := int64(-1)
		if p[2] != Missing {
			if count, err = argInt(fn, p[2]); err != nil {
				return nil, err
			}
		}
		return r.pyReplace(s, old, nw, count)
	case "startswith", "endswith":
		p, err := a.Bind(fn, 1, "prefix", "start", "end")
		if err != nil {
			return nil, err
		}
		sub, err := r.strRange(s, p[1], p[2])
		if err != nil {
			return nil, err
		}
		check := func(v Value) (bool, error) {
			t, ok := asString(v)
			if !ok {
				return false, typeErrorf("%s first arg must be str or a tuple of str, not %s", name, typeName(v))
			}
			if name == "startswith" {
				return strings.HasPrefix(sub, t), nil
			}
			return strings.HasSuffix(sub, t), nil
		}
		if t, ok := p[0].(Tuple); ok {
			for _, it := range t {
				ok, err := check(it)
				if err != nil || ok {
					return ok, err
				}
			}
			return false, nil
		}
		return check(p[0])
	case "find", "rfind", "index", "rindex", "count":
		p, err := a.Bind(fn, 1, "sub", "start", "end")
		if err != nil {
			return nil, err
		}
		sub, err := argString(name, p[0])
		if err != nil {
			return nil, err
		}
		return strSearch(s, sub, name, p[1], p[2])
	case "join":
		p, err := a.Bind(fn, 1, "iterable")
		if err != nil {
			return nil, err
		}
		items, err := r.toList(p[0])
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(items))
		size := int64(0)
		for i, it := range items {
			t, ok := asString(it)
			if !ok {
				return nil, typeErrorf("sequence item %d: expected str instance, %s found", i, typeName(it))
			}
			parts[i] = t
			size += int64(len(t) + len(s))
		}
		if err := r.charge(size); err != nil {
			return nil, err
		}
		return strings.Join(parts, s), nil
	case "center", "ljust", "rjust":
		p, err := a.Bind(fn, 1, "width", "fillchar")
		if err != nil {
			return nil, err
		}
		width, err := argInt(fn, p[0])
		if err != nil {
			return nil, err
		}
		fill := " "
		if p[1] != Missing {
			f, ok := asString(p[1])
			if !ok || utf8.RuneCountInString(f) != 1 {
				return nil, typeErrorf("The fill character must be exactly one character long")
			}
			fill = f
		}
		if err := r.charge(width); err != nil {
			return nil, err
		}
		return pad(s, int(width), fill, name), nil
	case "zfill":
		p, err := a.Bind(fn, 1, "width")
		if err != nil {
			return nil, err
		}
		width, err := argInt(fn, p[0])
		if err != nil {
			return nil, err
		}
		if err := r.charge(width); err != nil {
			return nil, err
		}
		return zfill(s, int(width)), nil
	case "expandtabs":
		p, err := a.Bind(fn, 0, "tabsize")
		if err != nil {
			return nil, err
		}
		size := int64(8)
		if p[0] != Missing {
			if size, err = argInt(fn, p[0]); err != nil {
				return nil, err
			}
		}
		if err := r.charge(int64(strings.Count(s, "\t")) * max(size, 0)); err != nil {
			return nil, err
		}
		return expandTabs(s, int(size)), nil
	case "partition", "rpartition":
		p, err := a.Bind(fn, 1, "sep")
		if err != nil {
			return nil, err
		}
		sep, err := argString(name, p[0])
		if err != nil {
			return nil, err
		}
		if sep == "" {
			return nil, newError(KindValue, "empty separator")
		}
		var i int
		if name == "partition" {
			i = strings.Index(s, sep)
			if i < 0 {
				return Tuple{s, "", ""}, nil
			}
		} else {
			i = strings.LastIndex(s, sep)
			if i < 0 {
				return Tuple{"", "", s}, nil
			}
		}
		return Tuple{s[:i], sep, s[i+len(sep):]}, nil
	case "removeprefix", "removesuffix":
		p, err := a.Bind(fn, 1, "affix")
		if err != nil {
			return nil, err
		}
		t, err := argString(name, p[0])
		if err != nil {
			return nil, err
		}
		if name == "removeprefix" {
			return strings.TrimPrefix(s, t), nil
		}
		return strings.TrimSuffix(s, t), nil
	case "format":
		return r.strFormat(s, a.Pos, kwDict(a.Kw))
	case "format_map":
		p, err := a.Bind(fn, 1, "mapping")
		if err != nil {
			return nil, err
		}
		return r.strFormat(s, nil, p[0])
	}
	return nil, errorf(KindAttribute, "'str' object has no attribute %s", reprString(name))
}

func kwDict(kw []KV) *Dict {
	d := &Dict{}
	for _, kv := range kw {
		_ = d.set(kv.Name, kv.Value)
	}
	return d
}

func stringList(parts []string) *List {
	items := make([]Value, len(parts))
	for i, p := range parts {
		items[i] = p
	}
	return &List{Items: items}
}

func splitN(maxsplit int64) int {
	if maxsplit < 0 {
		return -1
	}
	return int(min(maxsplit, 1<<30)) + 1
}

func rsplitN(s, sep string, n int) []string {
	if n < 0 {
		return strings.Split(s, sep)
	}
	var out []string
	for len(out) < n-1 {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		out = append(out, s[i+len(sep):])
		s = s[:i]
	}
	out = append(out, s)
	slices.Reverse(out)
	return out
}

// splitWhitespace is str.split() / rsplit() without a separator.
func splitWhitespace(s string, maxsplit int, fromRight bool) []string {
	rs := []rune(s)
	var out []string
	if !fromRight {
		i := 0
		for {
			for i < len(rs) && isPySpace(rs[i]) {
				i++
			}
			if i >= len(rs) {
				return out
			}
			if maxsplit >= 0 && len(out) == maxsplit {
				return append(out, string(rs[i:]))
			}
			j := i
			for j < len(rs) && !isPySpace(rs[j]) {
				j++
			}
			out = append(out, string(rs[i:j]))
			i = j
		}
	}
	j := len(rs)
	for {
		for j > 0 && isPySpace(rs[j-1]) {
			j--
		}
		if j <= 0 {
			break
		}
		if maxsplit >= 0 && len(out) == maxsplit {
			out = append(out, string(rs[:j]))
			break
		}
		i := j
		for i > 0 && !isPySpace(rs[i-1]) {
			i--
		}
		out = append(out, string(rs[i:j]))
		j = i
	}
	slices.Reverse(out)
	return out
}

func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

func splitLines(s string, keepends bool) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isLineBreak(r) {
			i += n
			continue
		}
		end := i + n
		if r == '\r' && end < len(s) && s[end] == '\n' {
			end++
		}
		if keepends {
			out = append(out, s[start:end])
		} else {
			out = append(out, s[start:i])
		}
		start = end
		i = end
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func pyStrip(s, chars string, hasChars, left, right bool) string {
	f := isPySpace
	if hasChars {
		f = func(r rune) bool { return strings.ContainsRune(chars, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, f)
	}
	if right {
		s = strings.TrimRightFunc(s, f)
	}
	return s
}

func (r *renderer) pyReplace(s, old, nw string, count int64) (Value, error) {
	n := int(min(count, 1<<30))
	if count < 0 {
		n = -1
	}
	if old == "" {
		// Python inserts new between every character, and at both ends.
		slots := int64(utf8.RuneCountInString(s) + 1)
		if n >= 0 && int64(n) < slots {
			slots = int64(n)
		}
		if err := r.charge(slots * int64(len(nw))); err != nil {
			return nil, err
		}
		var b strings.Builder
		k := 0
		for _, c := range s {
			if n < 0 || k < n {
				b.WriteString(nw)
				k++
			}
			b.WriteRune(c)
		}
		if n < 0 || k < n {
			b.WriteString(nw)
		}
		return b.String(), nil
	}
	if len(nw) > len(old) {
		occ := int64(strings.Count(s, old))
		if n >= 0 && int64(n) < occ {
			occ = int64(n)
		}
		if err := r.charge(occ * int64(len(nw)-len(old))); err != nil {
			return nil, err
		}
	}
	return strings.Replace(s, old, nw, n), nil
}

func strNoArgMethod(s, name string) Value {
	switch name {
	case "upper":
		return pyUpper(s)
	case "lower", "casefold":
		return strings.ToLower(s)
	case "swapcase":
		return strings.Map(func(r rune) rune {
			if unicode.IsUpper(r) {
				return unicode.ToLower(r)
			}
			if unicode.IsLower(r) {
				return unicode.ToUpper(r)
			}
			return r
		}, s)
	case "title":
		return pyTitle(s)
	case "capitalize":
		if s == "" {
			return s
		}
		r, n := utf8.DecodeRuneInString(s)
		return string(unicode.ToTitle(r)) + strings.ToLower(s[n:])
	case "isalnum":
		return nonEmptyAll(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) })
	case "isalpha":
		return nonEmptyAll(s, unicode.IsLetter)
	case "isascii":
		return isASCII(s)
	case "isdecimal":
		return nonEmptyAll(s, func(r rune) bool { return unicode.Is(unicode.Nd, r) })
	case "isdigit":
		return nonEmptyAll(s, func(r rune) bool { return unicode.Is(unicode.Nd, r) || unicode.Is(unicode.No, r) && isDigitLike(r) })
	case "isnumeric":
		return nonEmptyAll(s, unicode.IsNumber)
	case "isidentifier":
		if s == "" {
			return false
		}
		for i, r := range s {
			if i == 0 && !(r == '_' || unicode.IsLetter(r)) {
				return false
			}
			if !isNameRune(r) {
				return false
			}
		}
		return true
	case "islower":
		return hasCased(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsUpper(r) || unicode.IsTitle(r) })
	case "isupper":
		return hasCased(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLower(r) || unicode.IsTitle(r) })
	case "isprintable":
		for _, r := range s {
			if !isPrintable(r) {
				return false
			}
		}
		return true
	case "isspace":
		return nonEmptyAll(s, isPySpace)
	case "istitle":
		return pyIsTitle(s)
	}
	return nil
}

func isDigitLike(r rune) bool {
	// Superscripts and circled digits count as digits in Python.
	return (r >= 0x2070 && r <= 0x2079) || r == 0xb2 || r == 0xb3 || r == 0xb9 || (r >= 0x2080 && r <= 0x2089) ||
		(r >= 0x2460 && r <= 0x2468) || (r >= 0x2474 && r <= 0x247c) || (r >= 0x2488 && r <= 0x2490) ||
		(r >= 0x24f5 && r <= 0x24fd) || r == 0x24ea || r == 0x24ff || (r >= 0x2776 && r <= 0x277e) ||
		(r >= 0x2780 && r <= 0x2788) || (r >= 0x278a && r <= 0x2792)
}

func nonEmptyAll(s string, f func(rune) bool) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !f(r) {
			return false
		}
	}
	return true
}

func isCased(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }

func hasCased(s string) bool { return strings.ContainsFunc(s, isCased) }

// pyUpper is str.upper with the special cases Go's simple mapping lacks.
func pyUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case 'ß':
			b.WriteString("SS")
		case 'ŉ':
			b.WriteString("ʼN")
		case 'ﬁ':
			b.WriteString("FI")
		case 'ﬂ':
			b.WriteString("FL")
		case 'ﬀ':
			b.WriteString("FF")
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// pyTitle is str.title: a cased character after an uncased one is
// titlecased, others lowercased.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		if prevCased {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToTitle(r))
		}
		prevCased = isCased(r)
	}
	return b.String()
}

func pyIsTitle(s string) bool {
	cased, prevCased := false, false
	for _, r := range s {
		switch {
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			if prevCased {
				return false
			}
			prevCased, cased = true, true
		case unicode.IsLower(r):
			if !prevCased {
				return false
			}
			prevCased, cased = true, true
		default:
			prevCased = false
		}
	}
	return cased
}

func pad(s string, width int, fill, how string) string {
	n := utf8.RuneCountInString(s)
	if width <= n {
		return s
	}
	marg := width - n
	var left int
	switch how {
	case "ljust":
		left = 0
	case "rjust":
		left = marg
	default:
		left = marg/2 + (marg & width & 1)
	}
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, marg-left)
}

func zfill(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if width <= n {
		return s
	}
	fill := strings.Repeat("0", width-n)
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[:1] + fill + s[1:]
	}
	return fill + s
}

func expandTabs(s string, size int) string {
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch r {
		case '\t':
			if size > 0 {
				n := size - col%size
				b.WriteString(strings.Repeat(" ", n))
				col += n
			}
		case '\n', '\r':
			b.WriteRune(r)
			col = 0
		default:
			b.WriteRune(r)
			col++
		}
	}
	return b.String()
}

// strRange is s[start:end] with Python's index rules (for startswith...).
func (r *renderer) strRange(s string, start, end Value) (string, error) {
	if (start == Missing || start == nil) && (end == Missing || end == nil) {
		return s, nil
	}
	rs := []rune(s)
	i, j, err := clampRange(len(rs), start, end)
	if err != nil {
		return "", err
	}
	if i > j {
		return "", nil
	}
	return string(rs[i:j]), nil
}

func clampRange(n int, start, end Value) (int, int, error) {
	conv := func(v Value, def int) (int, error) {
		if v == Missing || v == nil {
			return def, nil
		}
		x, err := argInt("slice", v)
		if err != nil {
			return 0, typeErrorf("slice indices must be integers or None or have an __index__ method")
		}
		if x < 0 {
			x += int64(n)
			if x < 0 {
				x = 0
			}
		}
		if x > int64(n) {
			x = int64(n)
		}
		return int(x), nil
	}
	i, err := conv(start, 0)
	if err != nil {
		return 0, 0, err
	}
	j, err := conv(end, n)
	return i, j, err
}

func strSearch(s, sub, name string, start, end Value) (Value, error) {
	rs := []rune(s)
	i, j, err := clampRange(len(rs), start, end)
	if err != nil {
		return nil, err
	}
	notFound := func() (Value, error) {
		if name == "index" || name == "rindex" {
			return nil, newError(KindValue, "substring not found")
		}
		return int64(-1), nil
	}
	if i > j {
		if name == "count" {
			return int64(0), nil
		}
		return notFound()
	}
	hay := string(rs[i:j])
	switch name {
	case "count":
		if sub == "" {
			return int64(j - i + 1), nil
		}
		return int64(strings.Count(hay, sub)), nil
	case "find", "index":
		k := strings.Index(hay, sub)
		if k < 0 {
			return notFound()
		}
		return int64(i + utf8.RuneCountInString(hay[:k])), nil
	}
	k := strings.LastIndex(hay, sub)
	if k < 0 {
		return notFound()
	}
	return int64(i + utf8.RuneCountInString(hay[:k])), nil
}

// Lists, tuples and dicts.

func (r *renderer) mutable(l *List) error {
	if l.frozen {
		return typeErrorf("this list is read-only")
	}
	return nil
}

func (r *renderer) listMethod(l *List, name string, a Args) (Value, error) {
	fn := "list." + name
	switch name {
	case "append":
		p, err := a.Bind(fn, 1, "object")
		if err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		l.Items = append(l.Items, p[0])
		return nil, r.chargeItems(1)
	case "extend":
		p, err := a.Bind(fn, 1, "iterable")
		if err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		if !isIterable(p[0]) {
			return nil, typeErrorf("%s object is not iterable", reprString(typeName(p[0])))
		}
		items, err := r.toList(p[0])
		if err != nil {
			return nil, err
		}
		if err := r.chargeItems(len(items)); err != nil {
			return nil, err
		}
		l.Items = append(l.Items, items...)
		return nil, nil
	case "insert":
		p, err := a.Bind(fn, 2, "index", "object")
		if err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		i, err := argInt(fn, p[0])
		if err != nil {
			return nil, err
		}
		n := int64(len(l.Items))
		if i < 0 {
			i = max(i+n, 0)
		}
		i = min(i, n)
		l.Items = slices.Insert(l.Items, int(i), p[1])
		return nil, r.chargeItems(1)
	case "pop":
		p, err := a.Bind(fn, 0, "index")
		if err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		if len(l.Items) == 0 {
			return nil, newError(KindIndex, "pop from empty list")
		}
		i := int64(-1)
		if p[0] != Missing {
			if i, err = argInt(fn, p[0]); err != nil {
				return nil, err
			}
		}
		k, ok := seqIndex(i, len(l.Items))
		if !ok {
			return nil, newError(KindIndex, "pop index out of range")
		}
		v := l.Items[k]
		l.Items = slices.Delete(slices.Clone(l.Items), k, k+1)
		return v, nil
	case "remove":
		p, err := a.Bind(fn, 1, "value")
		if err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		for i, it := range l.Items {
			if equal(it, p[0]) {
				l.Items = slices.Delete(slices.Clone(l.Items), i, i+1)
				return nil, nil
			}
		}
		return nil, newError(KindValue, "list.remove(x): x not in list")
	case "reverse":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		l.Items = slices.Clone(l.Items)
		slices.Reverse(l.Items)
		return nil, nil
	case "sort":
		if len(a.Pos) > 0 {
			return nil, typeErrorf("sort() takes no positional arguments")
		}
		p, err := Args{Kw: a.Kw}.Bind("sort", 0, "key", "reverse")
		if err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		items := slices.Clone(l.Items)
		var keyFn func(Value) (Value, error)
		if p[0] != Missing && p[0] != nil {
			key := p[0]
			keyFn = func(v Value) (Value, error) { return r.call(key, Args{Pos: []Value{v}}, Position{}, nil) }
		}
		reverse, err := reverseArg(p[1])
		if err != nil {
			return nil, err
		}
		if err := r.sortValues(items, keyFn, reverse); err != nil {
			return nil, err
		}
		l.Items = items
		return nil, nil
	case "copy":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		return &List{Items: slices.Clone(l.Items)}, nil
	case "clear":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		if err := r.mutable(l); err != nil {
			return nil, err
		}
		l.Items = nil
		return nil, nil
	}
	return r.seqMethod(l.Items, "list", name, a)
}

func (r *renderer) seqMethod(items []Value, typ, name string, a Args) (Value, error) {
	switch name {
	case "count":
		p, err := a.Bind(typ+".count", 1, "value")
		if err != nil {
			return nil, err
		}
		n := 0
		for _, it := range items {
			if equal(it, p[0]) {
				n++
			}
		}
		return int64(n), nil
	case "index":
		p, err := a.Bind(typ+".index", 1, "value", "start", "stop")
		if err != nil {
			return nil, err
		}
		i, j, err := clampRange(len(items), p[1], p[2])
		if err != nil {
			return nil, err
		}
		for k := i; k < j; k++ {
			if equal(items[k], p[0]) {
				return int64(k), nil
			}
		}
		if typ == "tuple" {
			return nil, newError(KindValue, "tuple.index(x): x not in tuple")
		}
		return nil, newError(KindValue, repr(p[0])+" is not in list")
	}
	return nil, errorf(KindAttribute, "%s object has no attribute %s", reprString(typ), reprString(name))
}

func (r *renderer) mutableDict(d *Dict) error {
	if d.frozen {
		return typeErrorf("this dict is read-only")
	}
	return nil
}

func (r *renderer) dictMethod(d *Dict, name string, a Args) (Value, error) {
	fn := "dict." + name
	switch name {
	case "keys", "values", "items":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		return &dictView{d: d, kind: name}, nil
	case "get":
		p, err := a.Bind("get", 1, "key", "default")
		if err != nil {
			return nil, err
		}
		if len(a.Kw) > 0 {
			return nil, typeErrorf("dict.get() takes no keyword arguments")
		}
		h, err := hashKey(p[0])
		if err != nil {
			return nil, err
		}
		if v, ok := d.get(h); ok {
			return v, nil
		}
		if p[1] == Missing {
			return nil, nil
		}
		return p[1], nil
	case "pop":
		if len(a.Kw) > 0 {
			return nil, typeErrorf("dict.pop() takes no keyword arguments")
		}
		p, err := a.Bind("pop", 1, "key", "default")
		if err != nil {
			return nil, err
		}
		if err := r.mutableDict(d); err != nil {
			return nil, err
		}
		v, ok, err := d.delete(p[0])
		if err != nil {
			return nil, err
		}
		if ok {
			return v, nil
		}
		if p[1] != Missing {
			return p[1], nil
		}
		return nil, newError(KindKey, repr(p[0]))
	case "popitem":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		if err := r.mutableDict(d); err != nil {
			return nil, err
		}
		if d.Len() == 0 {
			return nil, newError(KindKey, "'popitem(): dictionary is empty'")
		}
		k := d.keys[len(d.keys)-1]
		v, _, _ := d.delete(k)
		return Tuple{k, v}, nil
	case "setdefault":
		p, err := a.Bind("setdefault", 1, "key", "default")
		if err != nil {
			return nil, err
		}
		h, err := hashKey(p[0])
		if err != nil {
			return nil, err
		}
		if v, ok := d.get(h); ok {
			return v, nil
		}
		if err := r.mutableDict(d); err != nil {
			return nil, err
		}
		def := p[1]
		if def == Missing {
			def = nil
		}
		return def, d.set(p[0], def)
	case "update":
		if len(a.Pos) > 1 {
			return nil, typeErrorf("update expected at most 1 argument, got %d", len(a.Pos))
		}
		if err := r.mutableDict(d); err != nil {
			return nil, err
		}
		if len(a.Pos) == 1 {
			if err := r.updateDict(d, a.Pos[0]); err != nil {
				return nil, err
			}
		}
		for _, kv := range a.Kw {
			_ = d.set(kv.Name, kv.Value)
		}
		return nil, r.chargeItems(2 * (len(a.Kw) + 1))
	case "copy":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		return d.copy(), nil
	case "clear":
		if err := noArgs(fn, a); err != nil {
			return nil, err
		}
		if err := r.mutableDict(d); err != nil {
			return nil, err
		}
		d.keys, d.vals, d.index = nil, nil, nil
		return nil, nil
	case "fromkeys":
		p, err := a.Bind("fromkeys", 1, "iterable", "value")
		if err != nil {
			return nil, err
		}
		items, err := r.toList(p[0])
		if err != nil {
			return nil, err
		}
		v := p[1]
		if v == Missing {
			v = nil
		}
		out := &Dict{}
		for _, k := range items {
			if err := out.set(k, v); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, errorf(KindAttribute, "'dict' object has no attribute %s", reprString(name))
}

// updateDict is dict.update(other): a mapping, or an iterable of pairs.
func (r *renderer) updateDict(d *Dict, other Value) error {
	if u, ok := other.(Undefined); ok {
		// dict() looks for a keys attribute first, which undefined refuses.
		return r.undefinedError(u)
	}
	if o, ok := other.(*Dict); ok {
		if err := r.chargeItems(2 * o.Len()); err != nil {
			return err
		}
		for i, k := range o.keys {
			_ = d.set(k, o.vals[i])
		}
		return nil
	}
	if !isIterable(other) {
		return typeErrorf("%s object is not iterable", reprString(typeName(other)))
	}
	items, err := r.toList(other)
	if err != nil {
		return err
	}
	for i, it := range items {
		if !isIterable(it) {
			return typeErrorf("cannot convert dictionary update sequence element #%d to a sequence", i)
		}
		pair, err := r.toList(it)
		if err != nil {
			return err
		}
		if len(pair) != 2 {
			return errorf(KindValue, "dictionary update sequence element #%d has length %d; 2 is required", i, len(pair))
		}
		if err := d.set(pair[0], pair[1]); err != nil {
			return err
		}
	}
	return r.chargeItems(2 * len(items))
}

// sortValues sorts stably with Python's ordering; a failed comparison
// fails the sort, as Python's does.
func (r *renderer) sortValues(items []Value, key func(Value) (Value, error), reverse bool) error {
	keys := items
	if key != nil {
		keys = make([]Value, len(items))
		for i, it := range items {
			k, err := key(it)
			if err != nil {
				return err
			}
			keys[i] = k
		}
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	var sortErr error
	less := func(a, b Value) bool {
		if sortErr != nil {
			return false
		}
		ok, err := r.order("lt", a, b)
		if err != nil {
			sortErr = err
		}
		return ok
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := keys[i], keys[j]
		if reverse {
			a, b = b, a
		}
		if less(a, b) {
			return -1
		}
		if less(b, a) {
			return 1
		}
		return 0
	})
	if sortErr != nil {
		return sortErr
	}
	sorted := make([]Value, len(items))
	for i, k := range idx {
		sorted[i] = items[k]
	}
	copy(items, sorted)
	return nil
}

var _ = big.NewInt
