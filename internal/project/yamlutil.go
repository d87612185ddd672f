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
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return f, &Diagnostic{Path: path, Line: root.Line, Col: root.Column,
			Message: "expected a mapping of keys at the top of the file"}
	}
	f.root = root
	return f, nil
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

// checkKeys reports keys of a mapping that dbt does not define for it, with
// the closest known key as a hint.
func checkKeys(path string, m *yaml.Node, what string, known []string) []Diagnostic {
	var ds []Diagnostic
	for _, kv := range pairs(m) {
		if !contains(known, kv[0].Value) {
			ds = append(ds, Diagnostic{Path: path, Line: kv[0].Line, Col: kv[0].Column,
				Message: fmt.Sprintf("unknown key %q in %s", kv[0].Value, what),
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
