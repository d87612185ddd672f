package jinja

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"unicode/utf8"
)

// Python's json.dumps(sort_keys=True) for tojson, and pprint.pformat.

func (r *renderer) writeJSON(b *strings.Builder, v Value, indent, level int, seen []any) error {
	if len(seen) > maxCompareDepth {
		return newError(KindRecursion, "maximum recursion depth exceeded while encoding a JSON object")
	}
	if err := r.charge(16); err != nil {
		return err
	}
	newline := func(l int) {
		if indent >= 0 {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", indent*l))
		}
	}
	itemSep := ", "
	if indent >= 0 {
		itemSep = ","
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *big.Int:
		t, err := bigText(x)
		if err != nil {
			return err
		}
		b.WriteString(t)
	case int64, int:
		b.WriteString(pyStr(x))
	case float64:
		b.WriteString(jsonFloat(x))
	case string:
		if err := r.charge(int64(len(x))); err != nil {
			return err
		}
		writeJSONString(b, x)
	case Markup:
		if err := r.charge(int64(len(x))); err != nil {
			return err
		}
		writeJSONString(b, string(x))
	case *List, Tuple, *groupTuple:
		var items []Value
		switch y := x.(type) {
		case *List:
			for _, s := range seen {
				if s == any(y) {
					return newError(KindValue, "Circular reference detected")
				}
			}
			seen = append(seen, y)
			items = y.Items
		case Tuple:
			items = y
		case *groupTuple:
			items = y.tuple()
		}
		if len(items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteString(itemSep)
			}
			newline(level + 1)
			if err := r.writeJSON(b, it, indent, level+1, seen); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte(']')
	case *Dict:
		for _, s := range seen {
			if s == any(x) {
				return newError(KindValue, "Circular reference detected")
			}
		}
		seen = append(seen, x)
		if x.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		idx := make([]int, x.Len())
		for i := range idx {
			idx[i] = i
		}
		var sortErr error
		sort.SliceStable(idx, func(i, j int) bool {
			ok, err := r.order("lt", x.keys[idx[i]], x.keys[idx[j]])
			if err != nil && sortErr == nil {
				sortErr = err
			}
			return ok
		})
		if sortErr != nil {
			return sortErr
		}
		b.WriteByte('{')
		for n, i := range idx {
			k := x.keys[i]
			var ks string
			switch kk := k.(type) {
			case string:
				ks = kk
			case Markup:
				ks = string(kk)
			case float64:
				ks = jsonFloat(kk)
			case bool, nil:
				ks = map[Value]string{true: "true", false: "false", nil: "null"}[kk]
			case int64, *big.Int:
				ks = pyStr(kk)
			default:
				return typeErrorf("keys must be str, int, float, bool or None, not %s", typeName(k))
			}
			if n > 0 {
				b.WriteString(itemSep)
			}
			newline(level + 1)
			writeJSONString(b, ks)
			b.WriteString(": ")
			if err := r.writeJSON(b, x.vals[i], indent, level+1, seen); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte('}')
	default:
		return typeErrorf("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

func jsonFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	return floatRepr(f)
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case r < 0x7f || r == 0x7f:
				b.WriteRune(r)
			case r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				fmt.Fprintf(b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
}

// pformat is pprint.pformat(v) with its defaults: width 80, dicts sorted.
func pformat(v Value) string {
	var b strings.Builder
	pp := &pprinter{width: 80}
	pp.format(&b, v, 0, 0, 1)
	return b.String()
}

type pprinter struct{ width int }

// safeRepr is pprint's repr: dicts sorted by key.
func (pp *pprinter) safeRepr(v Value, depth int) string {
	if depth > maxCompareDepth {
		return "..."
	}
	switch x := v.(type) {
	case *Dict:
		var b strings.Builder
		b.WriteByte('{')
		for i, k := range sortedKeysSafe(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pp.safeRepr(x.keys[k], depth+1))
			b.WriteString(": ")
			b.WriteString(pp.safeRepr(x.vals[k], depth+1))
		}
		b.WriteByte('}')
		return b.String()
	case *List:
		parts := make([]string, len(x.Items))
		for i, it := range x.Items {
			parts[i] = pp.safeRepr(it, depth+1)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = pp.safeRepr(it, depth+1)
		}
		if len(x) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return repr(v)
}

func sortedKeysSafe(d *Dict) []int {
	idx := make([]int, d.Len())
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := d.keys[idx[i]], d.keys[idx[j]]
		c, err := compareValues(a, b, 0)
		if err != nil {
			ta, tb := typeName(a), typeName(b)
			if ta != tb {
				return ta < tb
			}
			return false
		}
		return c < 0
	})
	return idx
}

func (pp *pprinter) format(b *strings.Builder, v Value, indent, allowance, level int) {
	rep := pp.safeRepr(v, 0)
	maxWidth := pp.width - indent - allowance
	if len([]rune(rep)) <= maxWidth {
		b.WriteString(rep)
		return
	}
	switch x := v.(type) {
	case *List:
		b.WriteByte('[')
		pp.formatItems(b, x.Items, indent, allowance+1, level)
		b.WriteByte(']')
	case Tuple:
		end := ")"
		if len(x) == 1 {
			end = ",)"
		}
		b.WriteByte('(')
		pp.formatItems(b, x, indent, allowance+len(end), level)
		b.WriteString(end)
	case *Dict:
		b.WriteByte('{')
		ind := indent + 1
		keys := sortedKeysSafe(x)
		for n, i := range keys {
			last := n == len(keys)-1
			kr := pp.safeRepr(x.keys[i], 0)
			b.WriteString(kr)
			b.WriteString(": ")
			al := 1
			if last {
				al = allowance + 1
			}
			pp.format(b, x.vals[i], ind+utf8.RuneCountInString(kr)+2, al, level+1)
			if !last {
				b.WriteString(",\n" + strings.Repeat(" ", ind))
			}
		}
		b.WriteByte('}')
	case string:
		pp.formatString(b, x, indent, allowance, level)
	default:
		b.WriteString(rep)
	}
}

func (pp *pprinter) formatItems(b *strings.Builder, items []Value, indent, allowance, level int) {
	indent++
	for i, it := range items {
		if i > 0 {
			b.WriteString(",\n" + strings.Repeat(" ", indent))
		}
		al := 1
		if i == len(items)-1 {
			al = allowance
		}
		pp.format(b, it, indent, al, level+1)
	}
}

func (pp *pprinter) formatString(b *strings.Builder, s string, indent, allowance, level int) {
	if s == "" {
		b.WriteString(repr(s))
		return
	}
	lines := splitLines(s, true)
	if level == 1 {
		indent++
		allowance++
	}
	maxWidth1 := pp.width - indent
	maxWidth := maxWidth1
	var chunks []string
	rlen := func(x string) int { return utf8.RuneCountInString(x) }
	for i, line := range lines {
		rep := reprString(line)
		if i == len(lines)-1 {
			maxWidth1 -= allowance
		}
		if rlen(rep) <= maxWidth1 {
			chunks = append(chunks, rep)
			continue
		}
		parts := splitNonSpaceSpace(line)
		maxWidth2 := maxWidth
		current := ""
		for j, part := range parts {
			cand := current + part
			if j == len(parts)-1 && i == len(lines)-1 {
				maxWidth2 -= allowance
			}
			if rlen(reprString(cand)) > maxWidth2 {
				if current != "" {
					chunks = append(chunks, reprString(current))
				}
				current = part
			} else {
				current = cand
			}
		}
		if current != "" {
			chunks = append(chunks, reprString(current))
		}
	}
	if len(chunks) == 1 {
		b.WriteString(repr(s))
		return
	}
	if level == 1 {
		b.WriteByte('(')
	}
	for i, c := range chunks {
		if i > 0 {
			b.WriteString("\n" + strings.Repeat(" ", indent))
		}
		b.WriteString(c)
	}
	if level == 1 {
		b.WriteByte(')')
	}
}

// splitNonSpaceSpace is re.findall(r'\S*\s*', s) without the final empty match.
func splitNonSpaceSpace(s string) []string {
	var out []string
	rs := []rune(s)
	i := 0
	for i < len(rs) {
		j := i
		for j < len(rs) && !isPySpace(rs[j]) {
			j++
		}
		for j < len(rs) && isPySpace(rs[j]) {
			j++
		}
		out = append(out, string(rs[i:j]))
		i = j
	}
	return out
}
