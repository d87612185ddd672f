package deps

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"gopkg.in/yaml.v3"
)

// dbt reads packages.yml with PyYAML (YAML 1.1) and hashes the packages as
// Python's json.dumps prints them, so package-lock.yml's sha1_hash matches
// dbt's only if values are typed and printed the way Python does: "1.0" is a
// float, "yes" a bool, "1.0.0" a string. These helpers reproduce that.

// Python-typed values: nil, bool, int64, float64, string, []any, map[string]any.

var (
	yaml11Int   = regexp.MustCompile(`^[-+]?(?:0|[1-9][0-9_]*)$`)
	yaml11Float = regexp.MustCompile(`^[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?$|^\.[0-9_]+(?:[eE][-+][0-9]+)?$`)
	yaml11Inf   = regexp.MustCompile(`^[-+]?\.(?:inf|Inf|INF)$`)
	yaml11NaN   = regexp.MustCompile(`^\.(?:nan|NaN|NAN)$`)
	// Integers in other bases and sexagesimal, and timestamps: PyYAML reads
	// them as numbers and dates, so they are quoted when written.
	yaml11OtherInt = regexp.MustCompile(`^[-+]?0b[0-1_]+$|^[-+]?0[0-7_]+$|^[-+]?0x[0-9a-fA-F_]+$|^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$`)
	yaml11Time     = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$`)
)

// pyScalar types a plain YAML scalar as PyYAML's safe loader does.
func pyScalar(n *yaml.Node) any {
	s := n.Value
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return s
	}
	if n.Style&yaml.TaggedStyle != 0 && n.Tag == "!!str" {
		return s
	}
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil
	case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true
	case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false
	}
	if yaml11Int.MatchString(s) {
		if i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64); err == nil {
			return i
		}
		return s
	}
	if yaml11Float.MatchString(s) {
		if f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
			return f
		}
		return s
	}
	if yaml11OtherInt.MatchString(s) {
		if i, ok := parseOtherInt(s); ok {
			return i
		}
		return s
	}
	if yaml11Inf.MatchString(s) {
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if yaml11NaN.MatchString(s) {
		return math.NaN()
	}
	return s
}

// parseOtherInt reads YAML 1.1's binary, octal, hex and base-60 integers.
func parseOtherInt(s string) (int64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	var n int64
	var err error
	switch {
	case strings.HasPrefix(s, "0b"):
		n, err = strconv.ParseInt(s[2:], 2, 64)
	case strings.HasPrefix(s, "0x"):
		n, err = strconv.ParseInt(s[2:], 16, 64)
	case strings.Contains(s, ":"):
		for _, part := range strings.Split(s, ":") {
			d, perr := strconv.ParseInt(part, 10, 64)
			if perr != nil || n > math.MaxInt64/60 {
				return 0, false
			}
			n = n*60 + d
		}
	default:
		n, err = strconv.ParseInt(s, 8, 64)
	}
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// maxNodes bounds the values one entry expands to: aliases can make a
// few lines of YAML stand for billions of values.
const maxNodes = 100000

// pyValue converts a node to Python-typed values, following aliases and
// merge keys.
func pyValue(n *yaml.Node) (any, error) {
	budget := maxNodes
	return pyValueIn(n, 0, &budget)
}

func pyValueIn(n *yaml.Node, depth int, budget *int) (any, error) {
	*budget--
	if depth > 64 || *budget < 0 {
		return nil, fmt.Errorf("line %d: too deeply nested or too many aliases", n.Line)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return pyValueIn(n.Alias, depth+1, budget)
	case yaml.ScalarNode:
		return pyScalar(n), nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := pyValueIn(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		pairs, err := mappingPairsIn(n, 0, budget)
		if err != nil {
			return nil, err
		}
		for _, kv := range pairs {
			v, err := pyValueIn(kv[1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[kv[0].Value] = v
		}
		return out, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return pyValueIn(n.Content[0], depth+1, budget)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// mappingPairs lists a mapping's key/value pairs with "<<" merge keys
// expanded (explicit keys win over merged ones, as in YAML).
func mappingPairs(m *yaml.Node) [][2]*yaml.Node {
	budget := maxNodes
	pairs, _ := mappingPairsIn(m, 0, &budget)
	return pairs
}

func mappingPairsIn(m *yaml.Node, depth int, budget *int) ([][2]*yaml.Node, error) {
	if depth > 16 {
		return nil, fmt.Errorf("line %d: merge keys nested too deeply", m.Line)
	}
	var out, merged [][2]*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		*budget--
		if *budget < 0 {
			return nil, fmt.Errorf("line %d: too many merged keys", m.Line)
		}
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 {
			for v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, src := range srcs {
				for src.Kind == yaml.AliasNode {
					src = src.Alias
				}
				if src.Kind == yaml.MappingNode && src != m {
					more, err := mappingPairsIn(src, depth+1, budget)
					if err != nil {
						return nil, err
					}
					merged = append(merged, more...)
				}
			}
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	for _, kv := range merged {
		if !hasKey(out, kv[0].Value) {
			out = append(out, kv)
		}
	}
	return out, nil
}

func hasKey(pairs [][2]*yaml.Node, key string) bool {
	for _, kv := range pairs {
		if kv[0].Value == key {
			return true
		}
	}
	return false
}

// pyJSON prints v as Python's json.dumps(v, sort_keys=True) does.
func pyJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(x))
		}
	case string:
		pyJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyJSON(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyJSONString(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // Python sorts str keys by code point, as Go does by bytes for UTF-8
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			pyJSONString(b, k)
			b.WriteString(": ")
			pyJSON(b, x[k])
		}
		b.WriteByte('}')
	default:
		pyJSONString(b, fmt.Sprint(x))
	}
}

// pyJSONString escapes as json.dumps with ensure_ascii=True.
func pyJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r > 0x7f && r < 0x10000):
			fmt.Fprintf(b, `\u%04x`, r)
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// pyFloat prints a float as Python's repr does: the shortest digits that
// read back the same, fixed notation between 1e-4 and 1e16, else exponent.
func pyFloat(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	if exp >= 0 {
		if len(digits) <= exp+1 {
			return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
		}
		return sign + digits[:exp+1] + "." + digits[exp+1:]
	}
	return sign + "0." + strings.Repeat("0", -exp-1) + digits
}

// pyStr prints a value as Python's str() does; dbt turns numbers in
// revision and version fields into strings this way.
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return "nan"
		case math.IsInf(x, 1):
			return "inf"
		case math.IsInf(x, -1):
			return "-inf"
		}
		return pyFloat(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// readsAsString reports whether PyYAML reads s, written plain, as the
// string s (not a number, bool, null or date).
func readsAsString(s string) bool {
	if yaml11Time.MatchString(s) {
		return false
	}
	_, isStr := pyScalar(&yaml.Node{Kind: yaml.ScalarNode, Value: s}).(string)
	return isStr
}
