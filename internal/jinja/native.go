package jinja

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// LiteralEval is Python's ast.literal_eval over a whole string, as Jinja2's
// native rendering applies it: strings, numbers, None/True/False, and
// lists, tuples and dicts of them. Leading whitespace is an error, as it is
// for Python's parser. Sets, bytes and complex numbers, which templates
// have no type for, are errors too.
func LiteralEval(s string) (Value, error) {
	p := &litParser{src: s}
	if s == "" || s[0] == ' ' || s[0] == '\t' || s[0] == '\f' {
		return nil, errNotLiteral
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skip(0)
	if p.pos < len(p.src) {
		return nil, errNotLiteral
	}
	return v, nil
}

var errNotLiteral = errors.New("not a Python literal")

type litParser struct {
	src string
	pos int
}

// skip passes whitespace and comments; newlines only inside brackets.
func (p *litParser) skip(depth int) {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			p.pos++
		case c == '\\' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '\n':
			p.pos += 2
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case c == '\n' || c == '\r':
			if depth == 0 && strings.TrimLeft(p.src[p.pos:], " \t\r\n\f") != "" {
				return
			}
			p.pos++
		default:
			return
		}
	}
}

func (p *litParser) value(depth int) (Value, error) {
	if depth > 100 {
		return nil, errNotLiteral
	}
	p.skip(depth)
	if p.pos >= len(p.src) {
		return nil, errNotLiteral
	}
	c := p.src[p.pos]
	switch {
	case c == '+' || c == '-':
		p.pos++
		p.skip(depth)
		v, err := p.number()
		if err != nil {
			return nil, err
		}
		if c == '-' {
			switch x := v.(type) {
			case int64:
				if x == -1<<63 {
					return new(big.Int).Neg(big.NewInt(x)), nil
				}
				return -x, nil
			case *big.Int:
				return normBig(new(big.Int).Neg(x)), nil
			case float64:
				return -x, nil
			}
		}
		return v, nil
	case c >= '0' && c <= '9' || c == '.' && p.pos+1 < len(p.src) && isDigit(p.src[p.pos+1]):
		return p.number()
	case c == '[':
		p.pos++
		items, _, err := p.sequence(']', depth+1)
		if err != nil {
			return nil, err
		}
		return &List{Items: items}, nil
	case c == '(':
		p.pos++
		items, trailing, err := p.sequence(')', depth+1)
		if err != nil {
			return nil, err
		}
		if len(items) == 1 && !trailing {
			return items[0], nil
		}
		return Tuple(items), nil
	case c == '{':
		return p.dict(depth + 1)
	}
	if v, ok, err := p.stringLit(depth); ok || err != nil {
		return v, err
	}
	start := p.pos
	for p.pos < len(p.src) && (isDigit(p.src[p.pos]) || p.src[p.pos] == '_' || p.src[p.pos] >= 'a' && p.src[p.pos] <= 'z' || p.src[p.pos] >= 'A' && p.src[p.pos] <= 'Z') {
		p.pos++
	}
	switch p.src[start:p.pos] {
	case "None":
		return nil, nil
	case "True":
		return true, nil
	case "False":
		return false, nil
	}
	return nil, errNotLiteral
}

func (p *litParser) number() (Value, error) {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if isDigit(c) || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			p.pos++
			continue
		}
		if (c == '+' || c == '-') && p.pos > start && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E') && !strings.ContainsAny(p.src[start:p.pos], "xX") {
			p.pos++
			continue
		}
		break
	}
	text := p.src[start:p.pos]
	if text == "" || strings.ContainsAny(text, "jJ") {
		return nil, errNotLiteral
	}
	if strings.Contains(text, "__") || strings.HasSuffix(text, "_") {
		return nil, errNotLiteral
	}
	lower := strings.ToLower(text)
	if strings.HasPrefix(lower, "0x") || strings.HasPrefix(lower, "0o") || strings.HasPrefix(lower, "0b") {
		v, err := pyIntString(text, 0)
		if err != nil {
			return nil, errNotLiteral
		}
		return v, nil
	}
	if strings.ContainsAny(text, ".eE") {
		clean := strings.ReplaceAll(text, "_", "")
		f, err := strconv.ParseFloat(clean, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return nil, errNotLiteral
			}
		}
		return f, nil
	}
	if len(text) > 1 && text[0] == '0' && strings.Trim(text, "0_") != "" {
		return nil, errNotLiteral
	}
	v, err := pyIntString(text, 10)
	if err != nil {
		return nil, errNotLiteral
	}
	return v, nil
}

func (p *litParser) sequence(end byte, depth int) ([]Value, bool, error) {
	var items []Value
	trailing := false
	for {
		p.skip(depth)
		if p.pos < len(p.src) && p.src[p.pos] == end {
			p.pos++
			return items, trailing, nil
		}
		v, err := p.value(depth)
		if err != nil {
			return nil, false, err
		}
		items = append(items, v)
		trailing = false
		p.skip(depth)
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			trailing = true
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == end {
			p.pos++
			return items, trailing, nil
		}
		return nil, false, errNotLiteral
	}
}

func (p *litParser) dict(depth int) (Value, error) {
	p.pos++
	d := &Dict{}
	for {
		p.skip(depth)
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		k, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.skip(depth)
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, errNotLiteral
		}
		p.pos++
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		if err := d.set(k, v); err != nil {
			return nil, errNotLiteral
		}
		p.skip(depth)
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		return nil, errNotLiteral
	}
}

// stringLit reads one or more adjacent string literals.
func (p *litParser) stringLit(depth int) (Value, bool, error) {
	var b strings.Builder
	found := false
	for {
		save := p.pos
		if found {
			p.skip(depth)
		}
		q := p.pos
		raw := false
		for q < len(p.src) && q-p.pos < 2 && strings.IndexByte("rRuUbBfF", p.src[q]) >= 0 {
			switch p.src[q] {
			case 'r', 'R':
				raw = true
			case 'b', 'B', 'f', 'F':
				return nil, false, errNotLiteral
			}
			q++
		}
		if q >= len(p.src) || (p.src[q] != '\'' && p.src[q] != '"') {
			p.pos = save
			if !found {
				return nil, false, nil
			}
			return b.String(), true, nil
		}
		quote := p.src[q : q+1]
		if strings.HasPrefix(p.src[q:], quote+quote+quote) {
			quote = quote + quote + quote
		}
		body := q + len(quote)
		end := -1
		for i := body; i < len(p.src); i++ {
			if p.src[i] == '\\' {
				i++
				continue
			}
			if len(quote) == 1 && p.src[i] == '\n' {
				return nil, false, errNotLiteral
			}
			if strings.HasPrefix(p.src[i:], quote) {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, false, errNotLiteral
		}
		text := p.src[body:end]
		if raw {
			b.WriteString(text)
		} else {
			s, err := decodePyString(text)
			if err != nil {
				return nil, false, errNotLiteral
			}
			b.WriteString(s)
		}
		p.pos = end + len(quote)
		found = true
	}
}

// decodePyString decodes the escapes of a Python string literal in source.
func decodePyString(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] >= utf8.RuneSelf {
			b.WriteByte('\\')
			continue
		}
		j := i + 2
		switch s[i+1] {
		case 'x':
			j = i + 4
		case 'u':
			j = i + 6
		case 'U':
			j = i + 10
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j = i + 2
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
		}
		if j > len(s) {
			return "", errNotLiteral
		}
		d, err := decodeString(s[i:j])
		if err != nil {
			return "", err
		}
		b.WriteString(d)
		i = j - 1
	}
	return b.String(), nil
}
