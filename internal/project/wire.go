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
// gets the Manifest back. MarshalFor and UnmarshalBinary carry what the
// exported fields do not (each node's rendered SQL, hooks, fqn and
// resolved references); the graph is rebuilt from the nodes.
//
// Two things stay behind. A test's macro call is the compile's own
// business. The namer is a function (the project's generate_schema_name
// and friends, rendered on demand): MarshalFor renders it in the child
// for the targets the caller will ask for (production, for deferral and
// diffs), and the decoded manifest answers RelationIn for those from the
// table, for its own target from the nodes, and for any other with dbt's
// default naming.
//
// A field added to Manifest or Node must be added here too:
// TestManifestWire compares every field, unexported ones included.

// wireManifest is a Manifest as gob sends it.
type wireManifest struct {
	Project  string
	Target   Target
	Nodes    map[string]wireNode
	Macros   map[string]MacroInfo
	Vars     map[string]any
	Disabled []string
	Skipped  map[string]*Skipped
	// Named is where the namer placed each node, per target asked for.
	Named []wireNamed
}

type wireNode struct {
	Node                Node
	Rendered            string
	RenderedIncremental string
	PreHooks, PostHooks []string
	FQN                 []string
	RefIDs              map[string]string
}

type wireNamed struct {
	Target    Target
	Relations map[string]Relation
}

func init() {
	// The dynamic values of vars, test arguments and config: what YAML
	// and the template engine make.
	gob.Register(map[string]any{})
	gob.Register([]any{})
	gob.Register(time.Time{})
}

// MarshalBinary encodes the Manifest for UnmarshalBinary, without the
// namer's placements (MarshalFor).
func (m *Manifest) MarshalBinary() ([]byte, error) { return m.MarshalFor() }

// MarshalFor encodes the Manifest with where each node lives for each of
// targets as the project's naming macros place it.
func (m *Manifest) MarshalFor(targets ...Target) ([]byte, error) {
	w := wireManifest{Project: m.Project, Target: m.Target, Nodes: make(map[string]wireNode, len(m.Nodes)),
		Macros: m.Macros, Vars: m.Vars, Disabled: m.Disabled, Skipped: m.Skipped}
	for id, n := range m.Nodes {
		w.Nodes[id] = wireNode{Node: *n, Rendered: n.rendered, RenderedIncremental: n.renderedIncremental,
			PreHooks: n.preHooks, PostHooks: n.postHooks, FQN: n.fqn, RefIDs: n.refIDs}
	}
	if m.namer != nil {
		for _, t := range targets {
			named := wireNamed{Target: t, Relations: make(map[string]Relation, len(m.Nodes))}
			for id, n := range m.Nodes {
				named.Relations[id] = m.namer(n, t)
			}
			w.Named = append(w.Named, named)
		}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(w); err != nil {
		return nil, fmt.Errorf("encode the manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary decodes what MarshalFor encoded.
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
	if len(w.Named) > 0 {
		named := w.Named
		m.namer = func(n *Node, t Target) Relation {
			for _, nm := range named {
				if rel, ok := nm.Relations[n.UniqueID]; ok && nm.Target == t {
					return rel
				}
			}
			return defaultRelation(n, t)
		}
	}
	m.buildGraph()
	return nil
}
