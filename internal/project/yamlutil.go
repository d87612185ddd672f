package project

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlFile is a parsed YAML document kept as nodes, so every problem found
// later can point at its line.
type yamlFile struct {
	path string
	root *yaml.Node // the document's top mapping; nil for an empty file
}

func parseYAML(path string, data []byte) (yamlFile, *Diagnostic) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return yamlFile{}, yamlError(path, err)
	}
	f := yamlFile{path: path}
	if len(doc.Content) == 0 {
		return f, nil
	}
	root, err := expandAliases(doc.Content[0])
	if err != nil {
		return yamlFile{}, &Diagnostic{Path: path, Line: doc.Content[0].Line, Message: err.Error(),
			Hint: "use fewer nested aliases (*name) or write the values out"}
	}
	if root.Kind != yaml.MappingNode {
		return f, &Diagnostic{Path: path, Line: root.Line, Col: root.Column,
			Message: "expected a mapping of keys at the top of the file"}
	}
	f.root = root
	return f, nil
}

// maxYAMLValues bounds what a file may expand to through aliases, so a
// few lines of nested aliases (a "billion laughs") cannot make every later
// walk over the file take forever.
const maxYAMLValues = 2_000_000

// expandAliases resolves anchors, aliases and << merge keys as dbt's YAML
// loader does, so the rest of the code sees plain mappings. Nodes keep
// their positions: a value that came through an alias points at the
// anchor, which is where it is written. Expanded nodes are shared, not
// copied; a file whose expansion would exceed maxYAMLValues is refused.
func expandAliases(root *yaml.Node) (*yaml.Node, error) {
	x := aliasExpander{done: map[*yaml.Node]*yaml.Node{}, size: map[*yaml.Node]int{}}
	out := x.expand(root, 0)
	if x.err != nil {
		return nil, x.err
	}
	if x.sizeOf(out) > maxYAMLValues {
		return nil, fmt.Errorf("the file expands to more than %d values through its aliases", maxYAMLValues)
	}
	return out, nil
}

type aliasExpander struct {
	done map[*yaml.Node]*yaml.Node
	size map[*yaml.Node]int
	err  error
}

func (x *aliasExpander) expand(n *yaml.Node, depth int) *yaml.Node {
	if n == nil || x.err != nil {
		return n
	}
	if depth > 10_000 {
		x.err = fmt.Errorf("values nested more than 10000 deep")
		return n
	}
	if out, ok := x.done[n]; ok {
		return out
	}
	var out *yaml.Node
	switch n.Kind {
	case yaml.AliasNode:
		// Mark the alias first: an anchor cannot contain its own alias in
		// valid YAML, but a cycle must not recurse forever.
		x.done[n] = n
		out = x.expand(n.Alias, depth+1)
	case yaml.MappingNode:
		out = x.mapping(n, depth)
	case yaml.SequenceNode, yaml.DocumentNode:
		c := *n
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			c.Content[i] = x.expand(child, depth+1)
		}
		out = &c
	default:
		out = n
	}
	x.done[n] = out
	return out
}

// mapping expands a mapping's values and its << merge keys: keys written
// in the mapping win over merged ones, and of several merged mappings the
// first wins, as in YAML's merge key specification.
func (x *aliasExpander) mapping(n *yaml.Node, depth int) *yaml.Node {
	c := *n
	c.Content = nil
	own := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMergeKey(n.Content[i]) {
			own[n.Content[i].Value] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], x.expand(n.Content[i+1], depth+1)
		if !isMergeKey(k) {
			c.Content = append(c.Content, k, v)
			continue
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			if src.Kind != yaml.MappingNode {
				x.err = fmt.Errorf("line %d: a << merge key takes a mapping or a list of mappings", k.Line)
				return &c
			}
			for j := 0; j+1 < len(src.Content); j += 2 {
				key := src.Content[j].Value
				if own[key] {
					continue
				}
				own[key] = true
				c.Content = append(c.Content, src.Content[j], src.Content[j+1])
			}
		}
	}
	return &c
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0
}

// sizeOf counts the values a node stands for once expanded, with shared
// nodes counted each time they are used.
func (x *aliasExpander) sizeOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	if s, ok := x.size[n]; ok {
		return s
	}
	x.size[n] = 1 // a cycle counts once
	total := 1
	for _, c := range n.Content {
		total += x.sizeOf(c)
		if total > maxYAMLValues {
			break
		}
	}
	x.size[n] = total
	return total
}

// yamlError turns yaml.v3's "yaml: line 3: ..." into a positioned diagnostic.
func yamlError(path string, err error) *Diagnostic {
	msg := err.Error()
	line := 0
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if n, after, found := strings.Cut(rest, ":"); found {
			fmt.Sscanf(n, "%d", &line)
			msg = strings.TrimSpace(after)
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d := &Diagnostic{Path: path, Line: line, Message: "invalid YAML: " + msg}
	// yaml.v3 reports where the enclosing block starts, not the bad line.
	if strings.Contains(msg, "did not find expected") {
		d.Message = "invalid YAML in the block starting here: " + msg
		d.Hint = "check the indentation of the lines below; YAML needs spaces, not tabs, and list items under a key need a dash"
	}
	return d
}

// pairs iterates a mapping node's key/value pairs.
func pairs(m *yaml.Node) [][2]*yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, [2]*yaml.Node{m.Content[i], m.Content[i+1]})
	}
	return out
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for _, kv := range pairs(m) {
		if kv[0].Value == key {
			return kv[1]
		}
	}
	return nil
}

// plain converts a node into plain Go values (maps, slices, scalars).
func plain(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// normalize makes nested maps map[string]any, which is what config and the
// template engine expect.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = normalize(x)
		}
		return out
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	}
	return v
}

// checkKeys warns of keys of a mapping that dbt does not define for it,
// with the closest known key as a hint. dbt ignores such keys (since 1.10
// with a deprecation warning), so a project valid for dbt stays valid.
func checkKeys(path string, m *yaml.Node, what string, known []string) []Diagnostic {
	var ds []Diagnostic
	for _, kv := range pairs(m) {
		if !contains(known, kv[0].Value) {
			ds = append(ds, Diagnostic{Path: path, Line: kv[0].Line, Col: kv[0].Column, Warning: true,
				Message: fmt.Sprintf("unknown key %q in %s is ignored", kv[0].Value, what),
				Hint:    didYouMean(kv[0].Value, known)})
		}
	}
	return ds
}

func at(path string, n *yaml.Node, format string, args ...any) Diagnostic {
	d := Diagnostic{Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		d.Line, d.Col = n.Line, n.Column
	}
	return d
}
