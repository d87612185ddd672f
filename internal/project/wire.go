package project

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"time"
)

// A Manifest crosses a process boundary whole: the bot compiles a pull
// request's project in a child process with resource limits
// (internal/sandbox), so that even a fatal error there costs one job, and
// gets the Manifest back. MarshalBinary and UnmarshalBinary carry what the
// exported fields do not (each node's rendered SQL and hooks); the graph
// is rebuilt from the nodes. A field added to Manifest or Node must be
// added here too: TestManifestWire compares every field, unexported ones
// included.

// wireManifest is a Manifest as gob sends it.
type wireManifest struct {
	Project  string
	Target   Target
	Nodes    map[string]wireNode
	Macros   map[string]MacroInfo
	Vars     map[string]any
	Disabled []string
}

type wireNode struct {
	Node                Node
	Rendered            string
	RenderedIncremental string
	PreHooks, PostHooks []string
}

func init() {
	// The dynamic values of vars, test arguments and config: what YAML
	// and the template engine make.
	gob.Register(map[string]any{})
	gob.Register([]any{})
	gob.Register(time.Time{})
}

// MarshalBinary encodes the Manifest for UnmarshalBinary.
func (m *Manifest) MarshalBinary() ([]byte, error) {
	w := wireManifest{Project: m.Project, Target: m.Target, Nodes: make(map[string]wireNode, len(m.Nodes)),
		Macros: m.Macros, Vars: m.Vars, Disabled: m.Disabled}
	for id, n := range m.Nodes {
		w.Nodes[id] = wireNode{Node: *n, Rendered: n.rendered, RenderedIncremental: n.renderedIncremental,
			PreHooks: n.preHooks, PostHooks: n.postHooks}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(w); err != nil {
		return nil, fmt.Errorf("encode the manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (m *Manifest) UnmarshalBinary(data []byte) error {
	var w wireManifest
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&w); err != nil {
		return fmt.Errorf("decode the manifest: %w", err)
	}
	*m = Manifest{Project: w.Project, Target: w.Target, Nodes: make(map[string]*Node, len(w.Nodes)),
		Macros: w.Macros, Vars: w.Vars, Disabled: w.Disabled}
	for id, wn := range w.Nodes {
		n := wn.Node
		n.rendered, n.renderedIncremental, n.preHooks, n.postHooks = wn.Rendered, wn.RenderedIncremental, wn.PreHooks, wn.PostHooks
		m.Nodes[id] = &n
	}
	if ds := m.buildGraph(); len(ds) > 0 {
		return fmt.Errorf("decode the manifest: %s", ds[0])
	}
	return nil
}
