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
// included. Two do not cross: a generic test's macro call (testCall, used
// only while compiling) and the project's own generate_*_name macros
// (namer), which stay in the child; in their place the child sends where
// each node goes in the targets named by PlaceIn, usually production.

// wireManifest is a Manifest as gob sends it.
type wireManifest struct {
	Project  string
	Target   Target
	Nodes    map[string]wireNode
	Macros   map[string]MacroInfo
	Vars     map[string]any
	Disabled []string
	Skipped  map[string]*Skipped
	// Placed is where each node goes in other targets, by target.
	Placed map[Target]map[string]Relation
}

type wireNode struct {
	Node                Node
	Rendered            string
	RenderedIncremental string
	PreHooks, PostHooks []string
	FQN                 []string
	RefIDs              map[string]string
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
		Macros: m.Macros, Vars: m.Vars, Disabled: m.Disabled, Skipped: m.Skipped}
	for id, n := range m.Nodes {
		wn := *n
		wn.testCall = nil
		w.Nodes[id] = wireNode{Node: wn, Rendered: n.rendered, RenderedIncremental: n.renderedIncremental,
			PreHooks: n.preHooks, PostHooks: n.postHooks, FQN: n.fqn, RefIDs: n.refIDs}
	}
	if len(m.placeIn) > 0 {
		w.Placed = map[Target]map[string]Relation{}
		for _, t := range m.placeIn {
			rels := make(map[string]Relation, len(m.Nodes))
			for id, n := range m.Nodes {
				rels[id] = m.RelationIn(n, t)
			}
			w.Placed[t] = rels
		}
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
		Macros: w.Macros, Vars: w.Vars, Disabled: w.Disabled, Skipped: w.Skipped}
	for id, wn := range w.Nodes {
		n := wn.Node
		n.rendered, n.renderedIncremental, n.preHooks, n.postHooks = wn.Rendered, wn.RenderedIncremental, wn.PreHooks, wn.PostHooks
		n.fqn, n.refIDs = wn.FQN, wn.RefIDs
		m.Nodes[id] = &n
	}
	if len(w.Placed) > 0 {
		placed := w.Placed
		m.namer = func(n *Node, t Target) Relation {
			if rel, ok := placed[t][n.UniqueID]; ok {
				return rel
			}
			return defaultRelation(n, t)
		}
	}
	if ds := m.buildGraph(); len(ds) > 0 {
		return fmt.Errorf("decode the manifest: %s", ds[0])
	}
	return nil
}

// PlaceIn asks MarshalBinary to send where every node goes in targets
// other than the compile's: the project's generate_*_name macros that
// decide it do not cross the process boundary.
func (m *Manifest) PlaceIn(targets ...Target) { m.placeIn = append(m.placeIn, targets...) }
