package jinja

import (
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer follows Jinja2's lexer.py rule by rule (its regular expressions
// are written out by hand here): the same token boundaries, the same
// whitespace control, the same string escapes.

type token struct {
	typ  string // Jinja2's token type: data, name, string, integer, add, lparen...
	val  string // text of data, name and string tokens
	num  Value  // value of integer and float tokens
	line int
	col  int
	off  int
}

// Token types that are not operators.
const (
	tData          = "data"
	tVariableBegin = "variable_begin"
	tVariableEnd   = "variable_end"
	tBlockBegin    = "block_begin"
	tBlockEnd      = "block_end"
	tName          = "name"
	tString        = "string"
	tInteger       = "integer"
	tFloat         = "float"
	tEOF           = "eof"
)

var operators = map[string]string{
	"+": "add", "-": "sub", "/": "div", "//": "floordiv", "*": "mul", "%": "mod", "**": "pow",
	"~": "tilde", "[": "lbracket", "]": "rbracket", "(": "lparen", ")": "rparen", "{": "lbrace",
	"}": "rbrace", "==": "eq", "!=": "ne", ">": "gt", ">=": "gteq", "<": "lt", "<=": "lteq",
	"=": "assign", ".": "dot", ":": "colon", "|": "pipe", ",": "comma", ";": "semicolon",
}

var reverseOperators = func() map[string]string {
	m := map[string]string{}
	for k, v := range operators {
		m[v] = k
	}
	return m
}()

// describeTokenType is Jinja2's _describe_token_type, for error messages.
func describeTokenType(typ string) string {
	if op, ok := reverseOperators[typ]; ok {
		return op
	}
	switch typ {
	case tBlockBegin:
		return "begin of statement block"
	case tBlockEnd:
		return "end of statement block"
	case tVariableBegin:
		return "begin of print statement"
	case tVariableEnd:
		return "end of print statement"
	case tData:
		return "template data / text"
	case tEOF:
		return "end of template"
	}
	return typ
}

func describeToken(t token) string {
	if t.typ == tName {
		return t.val
	}
	return describeTokenType(t.typ)
}

// isPySpace is Python's str.isspace for one character, which is also what
// \s matches in Jinja2's regular expressions.
func isPySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func pyRStrip(s string) string {
	return strings.TrimRightFunc(s, isPySpace)
}

// normalizeSource applies Jinja2's newline handling to a whole template:
// \r\n and \r become \n, and one trailing newline is dropped unless kept.
func normalizeSource(src string, keepTrailingNewline bool) string {
	if strings.IndexByte(src, '\r') >= 0 {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	if !keepTrailingNewline && strings.HasSuffix(src, "\n") {
		src = src[:len(src)-1]
	}
	return src
}

type lexer struct {
	name         string
	src          string
	pos          int
	toks         []token
	trimBlocks   bool
	lstripBlocks bool
	lineStarting bool
	balancing    []byte
	// line bookkeeping: the line and start offset at lastOff.
	lastOff, lastLine, lastLineStart int
	lastColOff, lastCol              int
}

func tokenize(name, src string, env *Environment) ([]token, error) {
	lx := &lexer{name: name, src: src, trimBlocks: env.TrimBlocks, lstripBlocks: env.LstripBlocks,
		lineStarting: true, lastLine: 1}
	// About one token per 8 bytes of dbt-style SQL: growing the slice
	// would copy it several times.
	lx.toks = make([]token, 0, len(src)/8+8)
	if err := lx.run(); err != nil {
		return nil, err
	}
	return lx.toks, nil
}

// position returns the line and column of a byte offset. Offsets are asked
// for in increasing order, so the scan is incremental.
func (lx *lexer) position(off int) (int, int) {
	if off < lx.lastOff {
		lx.lastOff, lx.lastLine, lx.lastLineStart = 0, 1, 0
		lx.lastColOff, lx.lastCol = 0, 0
	}
	for i := lx.lastOff; i < off && i < len(lx.src); i++ {
		if lx.src[i] == '\n' {
			lx.lastLine++
			lx.lastLineStart = i + 1
		}
	}
	lx.lastOff = off
	if lx.lastColOff < lx.lastLineStart || lx.lastColOff > off {
		lx.lastColOff, lx.lastCol = lx.lastLineStart, 0
	}
	lx.lastCol += utf8.RuneCountInString(lx.src[lx.lastColOff:min(off, len(lx.src))])
	lx.lastColOff = off
	return lx.lastLine, lx.lastCol + 1
}

func (lx *lexer) emit(typ, val string, off int) {
	line, col := lx.position(off)
	lx.toks = append(lx.toks, token{typ: typ, val: val, line: line, col: col, off: off})
}

func (lx *lexer) fail(off int, msg string) error {
	line, col := lx.position(off)
	return &Error{Kind: KindSyntax, Msg: msg, Pos: Position{lx.name, line, col}, positioned: true}
}

func (lx *lexer) skipSpace(p int) int {
	for p < len(lx.src) {
		r, n := utf8.DecodeRuneInString(lx.src[p:])
		if !isPySpace(r) {
			break
		}
		p += n
	}
	return p
}

func (lx *lexer) has(p int, s string) bool { return strings.HasPrefix(lx.src[p:], s) }

// findTag returns the offset of the next "{{", "{%" or "{#" at or after p.
func (lx *lexer) findTag(p int) int {
	for {
		i := strings.IndexByte(lx.src[p:], '{')
		if i < 0 || p+i+1 >= len(lx.src) {
			return -1
		}
		switch lx.src[p+i+1] {
		case '{', '%', '#':
			return p + i
		}
		p += i + 1
	}
}

// stripText applies whitespace control to the text before a tag: "-"
// strips all whitespace, and lstrip_blocks strips spaces and tabs back to
// the line start.
func (lx *lexer) stripText(text string, sign byte, isVariable bool) string {
	if sign == '-' {
		return pyRStrip(text)
	}
	if sign != '+' && lx.lstripBlocks && !isVariable {
		lpos := strings.LastIndexByte(text, '\n') + 1
		if lpos > 0 || lx.lineStarting {
			if strings.Trim(text[lpos:], " \t") == "" {
				return text[:lpos]
			}
		}
	}
	return text
}

func (lx *lexer) run() error {
	src := lx.src
	for lx.pos < len(src) {
		start := lx.pos
		i := lx.findTag(start)
		if i < 0 {
			lx.emit(tData, src[start:], start)
			lx.pos = len(src)
			break
		}
		j := i + 2
		var sign byte
		if j < len(src) && (src[j] == '-' || src[j] == '+') {
			sign = src[j]
			j++
		}
		kind := src[i+1]
		text := src[start:i]
		if kind == '%' {
			if end, ok := lx.rawBegin(j); ok {
				if t := lx.stripText(text, sign, false); t != "" {
					lx.emit(tData, t, start)
				}
				lx.lineStarting = src[end-1] == '\n'
				if err := lx.raw(end); err != nil {
					return err
				}
				continue
			}
		}
		if t := lx.stripText(text, sign, kind == '{'); t != "" {
			lx.emit(tData, t, start)
		}
		lx.lineStarting = false
		switch kind {
		case '#':
			if err := lx.comment(i, j); err != nil {
				return err
			}
		case '{':
			lx.emit(tVariableBegin, src[i:j], i)
			if err := lx.inside(j, false); err != nil {
				return err
			}
		case '%':
			lx.emit(tBlockBegin, src[i:j], i)
			if err := lx.inside(j, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// rawBegin matches the rest of "{% raw %}" after the sign.
func (lx *lexer) rawBegin(p int) (int, bool) {
	p = lx.skipSpace(p)
	if !lx.has(p, "raw") {
		return 0, false
	}
	p = lx.skipSpace(p + 3)
	if lx.has(p, "-%}") {
		return lx.skipSpace(p + 3), true
	}
	if lx.has(p, "%}") {
		return p + 2, true
	}
	return 0, false
}

// raw lexes the body of a raw block up to and including its endraw tag.
func (lx *lexer) raw(p int) error {
	src := lx.src
	if p >= len(src) {
		lx.pos = p
		return nil
	}
	for q := p; ; q++ {
		q0 := lx.findTag(q)
		for q0 >= 0 && src[q0+1] != '%' {
			q0 = lx.findTag(q0 + 1)
		}
		if q0 < 0 {
			return lx.fail(p, "Missing end of raw directive")
		}
		k := q0 + 2
		var sign byte
		if k < len(src) && (src[k] == '-' || src[k] == '+') {
			sign = src[k]
			k++
		}
		k = lx.skipSpace(k)
		if !lx.has(k, "endraw") {
			q = q0
			continue
		}
		k = lx.skipSpace(k + 6)
		end := -1
		switch {
		case lx.has(k, "+%}"):
			end = k + 3
		case lx.has(k, "-%}"):
			end = lx.skipSpace(k + 3)
		case lx.has(k, "%}"):
			end = k + 2
			if lx.trimBlocks && end < len(src) && src[end] == '\n' {
				end++
			}
		}
		if end < 0 {
			q = q0
			continue
		}
		if t := lx.stripText(src[p:q0], sign, false); t != "" {
			lx.emit(tData, t, p)
		}
		lx.lineStarting = src[end-1] == '\n'
		lx.pos = end
		return nil
	}
}

// comment skips a comment that starts at begin; p is after its sign.
func (lx *lexer) comment(begin, p int) error {
	src := lx.src
	if p >= len(src) {
		// Jinja2's failure rule needs a character to match: a comment
		// opened at the very end of the template ends it silently.
		lx.pos = p
		return nil
	}
	for q := p; q < len(src); q++ {
		switch {
		case src[q] == '+' && lx.has(q+1, "#}"):
			lx.pos = q + 3
		case src[q] == '-' && lx.has(q+1, "#}"):
			lx.pos = lx.skipSpace(q + 3)
		case src[q] == '#' && lx.has(q+1, "}"):
			lx.pos = q + 2
			if lx.trimBlocks && lx.pos < len(src) && src[lx.pos] == '\n' {
				lx.pos++
			}
		default:
			continue
		}
		lx.lineStarting = src[lx.pos-1] == '\n'
		return nil
	}
	return lx.fail(begin, "Missing end of comment tag")
}

// inside lexes the tokens of a {{ }} or {% %} tag from p up to its end.
func (lx *lexer) inside(p int, block bool) error {
	src := lx.src
	lx.balancing = lx.balancing[:0]
	for {
		if p >= len(src) {
			lx.pos = p
			return nil
		}
		if len(lx.balancing) == 0 {
			if block {
				switch {
				case src[p] == '+' && lx.has(p+1, "%}"):
					lx.emit(tBlockEnd, "+%}", p)
					lx.pos = p + 3
					lx.lineStarting = false
					return nil
				case src[p] == '-' && lx.has(p+1, "%}"):
					lx.emit(tBlockEnd, "-%}", p)
					lx.pos = lx.skipSpace(p + 3)
					lx.lineStarting = src[lx.pos-1] == '\n'
					return nil
				case lx.has(p, "%}"):
					lx.emit(tBlockEnd, "%}", p)
					lx.pos = p + 2
					if lx.trimBlocks && lx.pos < len(src) && src[lx.pos] == '\n' {
						lx.pos++
					}
					lx.lineStarting = src[lx.pos-1] == '\n'
					return nil
				}
			} else {
				switch {
				case src[p] == '-' && lx.has(p+1, "}}"):
					lx.emit(tVariableEnd, "-}}", p)
					lx.pos = lx.skipSpace(p + 3)
					lx.lineStarting = src[lx.pos-1] == '\n'
					return nil
				case lx.has(p, "}}"):
					lx.emit(tVariableEnd, "}}", p)
					lx.pos = p + 2
					lx.lineStarting = false
					return nil
				}
			}
		}
		if q := lx.skipSpace(p); q > p {
			p = q
			continue
		}
		if q := lx.matchFloat(p); q > p {
			lx.emitNumber(tFloat, p, q)
			p = q
			continue
		}
		if q := lx.matchInteger(p); q > p {
			if err := lx.emitNumber(tInteger, p, q); err != nil {
				return err
			}
			p = q
			continue
		}
		if q := lx.matchName(p); q > p {
			name := src[p:q]
			if r, _ := utf8.DecodeRuneInString(name); !(r == '_' || unicode.IsLetter(r)) {
				return lx.fail(p, "Invalid character in identifier")
			}
			lx.emit(tName, name, p)
			p = q
			continue
		}
		if q := lx.matchString(p); q > p {
			s, err := decodeString(src[p+1 : q-1])
			if err != nil {
				return lx.fail(p, err.Error())
			}
			lx.emit(tString, s, p)
			p = q
			continue
		}
		if q, op := lx.matchOperator(p); q > p {
			if err := lx.balance(op, p); err != nil {
				return err
			}
			lx.emit(operators[op], op, p)
			p = q
			continue
		}
		r, _ := utf8.DecodeRuneInString(src[p:])
		return lx.fail(p, "unexpected char "+reprString(string(r))+" at "+strconv.Itoa(utf8.RuneCountInString(src[:p])))
	}
}

func (lx *lexer) balance(op string, p int) error {
	switch op {
	case "{":
		lx.balancing = append(lx.balancing, '}')
	case "(":
		lx.balancing = append(lx.balancing, ')')
	case "[":
		lx.balancing = append(lx.balancing, ']')
	case "}", ")", "]":
		if len(lx.balancing) == 0 {
			return lx.fail(p, "unexpected "+reprString(op))
		}
		want := lx.balancing[len(lx.balancing)-1]
		lx.balancing = lx.balancing[:len(lx.balancing)-1]
		if want != op[0] {
			return lx.fail(p, "unexpected "+reprString(op)+", expected "+reprString(string(want)))
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits matches (\d+_)*\d+ at p and returns its end, or -1.
func (lx *lexer) digits(p int) int {
	src := lx.src
	if p >= len(src) || !isDigit(src[p]) {
		return -1
	}
	for p < len(src) && isDigit(src[p]) {
		p++
	}
	for p+1 < len(src) && src[p] == '_' && isDigit(src[p+1]) {
		p++
		for p < len(src) && isDigit(src[p]) {
			p++
		}
	}
	return p
}

func (lx *lexer) exponent(p int) int {
	src := lx.src
	if p >= len(src) || (src[p] != 'e' && src[p] != 'E') {
		return -1
	}
	p++
	if p < len(src) && (src[p] == '+' || src[p] == '-') {
		p++
	}
	return lx.digits(p)
}

func (lx *lexer) matchFloat(p int) int {
	if p > 0 && lx.src[p-1] == '.' {
		return p
	}
	q := lx.digits(p)
	if q < 0 {
		return p
	}
	if q < len(lx.src) && lx.src[q] == '.' {
		if f := lx.digits(q + 1); f >= 0 {
			if e := lx.exponent(f); e >= 0 {
				return e
			}
		}
	}
	if e := lx.exponent(q); e >= 0 {
		return e
	}
	if q < len(lx.src) && lx.src[q] == '.' {
		if f := lx.digits(q + 1); f >= 0 {
			return f
		}
	}
	return p
}

func (lx *lexer) matchInteger(p int) int {
	src := lx.src
	if p >= len(src) || !isDigit(src[p]) {
		return p
	}
	radix := func(q int, ok func(byte) bool) int {
		n := 0
		for q < len(src) {
			if src[q] == '_' && q+1 < len(src) && ok(src[q+1]) {
				q += 2
			} else if ok(src[q]) {
				q++
			} else {
				break
			}
			n++
		}
		if n == 0 {
			return -1
		}
		return q
	}
	if src[p] == '0' && p+1 < len(src) {
		var ok func(byte) bool
		switch src[p+1] {
		case 'b', 'B':
			ok = func(c byte) bool { return c == '0' || c == '1' }
		case 'o', 'O':
			ok = func(c byte) bool { return c >= '0' && c <= '7' }
		case 'x', 'X':
			ok = func(c byte) bool {
				return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
			}
		}
		if ok != nil {
			if q := radix(p+2, ok); q > 0 {
				return q
			}
		}
	}
	if src[p] == '0' {
		q := p + 1
		for q < len(src) {
			if src[q] == '0' {
				q++
			} else if src[q] == '_' && q+1 < len(src) && src[q+1] == '0' {
				q += 2
			} else {
				break
			}
		}
		return q
	}
	return radix(p, isDigit)
}

func (lx *lexer) emitNumber(typ string, p, q int) error {
	text := strings.ReplaceAll(lx.src[p:q], "_", "")
	line, col := lx.position(p)
	t := token{typ: typ, val: lx.src[p:q], line: line, col: col, off: p}
	if typ == tFloat {
		f, _ := strconv.ParseFloat(text, 64)
		t.num = f
	} else {
		base := 10
		if len(text) > 1 && text[0] == '0' {
			switch text[1] {
			case 'b', 'B':
				base, text = 2, text[2:]
			case 'o', 'O':
				base, text = 8, text[2:]
			case 'x', 'X':
				base, text = 16, text[2:]
			}
		}
		if i, err := strconv.ParseInt(text, base, 64); err == nil {
			t.num = i
		} else {
			b, ok := new(big.Int).SetString(text, base)
			if !ok {
				return lx.fail(p, "invalid integer "+reprString(lx.src[p:q]))
			}
			t.num = b
		}
	}
	lx.toks = append(lx.toks, t)
	return nil
}

func isNameRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) ||
		unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc, unicode.Nl)
}

func (lx *lexer) matchName(p int) int {
	src := lx.src
	q := p
	for q < len(src) {
		c := src[q]
		if c < utf8.RuneSelf {
			if c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') {
				q++
				continue
			}
			break
		}
		r, n := utf8.DecodeRuneInString(src[q:])
		if !isNameRune(r) {
			break
		}
		q += n
	}
	return q
}

func (lx *lexer) matchString(p int) int {
	src := lx.src
	quote := src[p]
	if quote != '\'' && quote != '"' {
		return p
	}
	for q := p + 1; q < len(src); q++ {
		switch src[q] {
		case '\\':
			q++
		case quote:
			return q + 1
		}
	}
	return p
}

func (lx *lexer) matchOperator(p int) (int, string) {
	src := lx.src
	if p+1 < len(src) {
		if two := src[p : p+2]; two == "//" || two == "**" || two == "==" || two == "!=" || two == ">=" || two == "<=" {
			return p + 2, two
		}
	}
	if _, ok := operators[src[p:p+1]]; ok {
		return p + 1, src[p : p+1]
	}
	return p, ""
}

// decodeString decodes a string literal's body the way Jinja2 does: Python's
// unicode-escape codec over the text with non-ASCII characters
// backslash-escaped first. Unknown escapes keep their backslash.
func decodeString(s string) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", newError(KindSyntax, "\\ at end of string")
		}
		i++
		c = s[i]
		switch c {
		case '\n':
		case '\\':
			b.WriteByte('\\')
		case '\'':
			b.WriteByte('\'')
		case '"':
			b.WriteByte('"')
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := rune(c - '0')
			for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
				i++
				v = v*8 + rune(s[i]-'0')
			}
			b.WriteRune(v)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			hex := s[i+1 : min(i+1+n, len(s))]
			v, err := strconv.ParseUint(hex, 16, 64)
			if len(hex) < n || err != nil {
				return "", newError(KindSyntax, truncatedEscape(c))
			}
			if v > unicode.MaxRune {
				return "", newError(KindSyntax, "illegal Unicode character")
			}
			b.WriteRune(rune(v))
			i += n
		case 'N':
			return "", newError(KindSyntax, "malformed \\N character escape")
		default:
			if c >= utf8.RuneSelf {
				// "\é" is encoded as "\\xe9" before decoding: the
				// backslash survives and the character becomes its escape.
				r, n := utf8.DecodeRuneInString(s[i:])
				b.WriteByte('\\')
				switch {
				case r < 0x100:
					b.WriteString("x" + leftPad(strconv.FormatInt(int64(r), 16), 2))
				case r < 0x10000:
					b.WriteString("u" + leftPad(strconv.FormatInt(int64(r), 16), 4))
				default:
					b.WriteString("U" + leftPad(strconv.FormatInt(int64(r), 16), 8))
				}
				i += n - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func truncatedEscape(c byte) string {
	switch c {
	case 'x':
		return "truncated \\xXX escape"
	case 'u':
		return "truncated \\uXXXX escape"
	}
	return "truncated \\UXXXXXXXX escape"
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
