// Package plan compares the base and head revisions of a project and says
// what a pull request changes: which nodes are added, removed, modified
// (and why), changed only in whitespace or comments, or impacted
// downstream; and, with a warehouse, whether each change breaks the
// model's columns or grain and whether downstream models use what broke.
// The nodes to build, state:modified+ in dbt's terms, follow from it.
package plan

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/dataops-dev/dataops/internal/project"
)

// Status of a node in a plan.
type Status string

const (
	Added    Status = "added"
	Removed  Status = "removed"
	Modified Status = "modified"
	// Cosmetic: only whitespace or comments changed; nothing to rebuild.
	Cosmetic Status = "cosmetic"
	// Impacted: unchanged, but downstream of a change, so rebuilt.
	Impacted Status = "impacted"
)

// statusOrder is the order changes are listed in.
var statusOrder = map[Status]int{Modified: 0, Added: 1, Removed: 2, Cosmetic: 3, Impacted: 4}

// NodeChange is one node the pull request touches.
type NodeChange struct {
	ID           string           `json:"unique_id"`
	Name         string           `json:"name"`
	Kind         project.NodeKind `json:"resource_type"`
	Path         string           `json:"path"`
	Materialized string           `json:"materialized,omitempty"`
	Status       Status           `json:"status"`
	// Reasons a node is modified: "sql", "config: <keys>", "macro <name>",
	// "var <name>", "data" (seeds), "definition" (sources).
	Reasons []string `json:"reasons,omitempty"`
	// Upstream names the changed nodes an impacted node is downstream of.
	Upstream []string `json:"upstream,omitempty"`
	// Impact is filled by Assess when a warehouse is given.
	Impact *Impact `json:"impact,omitempty"`
}

// Plan is what a pull request changes.
type Plan struct {
	Project string       `json:"project"`
	Base    string       `json:"base"`
	Head    string       `json:"head"`
	Changes []NodeChange `json:"changes"`
	// Build lists the models and seeds to build, parents first:
	// state:modified+ (modified and added nodes and everything downstream).
	Build []string `json:"build"`
	// NoBase: the base has no project yet (the pull request adds it), so
	// everything is added. NoHead: the head has none any more (the pull
	// request removes it), so everything is removed.
	NoBase bool `json:"no_base,omitempty"`
	NoHead bool `json:"no_head,omitempty"`
}

// Diff compares two compiled revisions of a project.
func Diff(base, head *project.Manifest) *Plan {
	p := &Plan{Project: head.Project}
	changed := map[string]bool{} // ids that need a rebuild by themselves
	for _, id := range head.Order() {
		h := head.Nodes[id]
		b, existed := base.Nodes[id]
		if !existed && base.Skipped[id] != nil {
			// It did not compile on the base: whatever it is now is new.
			p.Changes = append(p.Changes, change(h, Modified, []string{"compiles now"}))
			changed[id] = true
			continue
		}
		if !existed {
			p.Changes = append(p.Changes, change(h, Added, nil))
			changed[id] = true
			continue
		}
		reasons, cosmetic := compare(base, head, b, h)
		switch {
		case len(reasons) > 0:
			p.Changes = append(p.Changes, change(h, Modified, reasons))
			changed[id] = true
		case cosmetic:
			p.Changes = append(p.Changes, change(h, Cosmetic, nil))
		}
	}
	for _, id := range base.Order() {
		// A node the head could not compile is reported by the compile
		// check, not as removed.
		if _, still := head.Nodes[id]; !still && head.Skipped[id] == nil {
			p.Changes = append(p.Changes, change(base.Nodes[id], Removed, nil))
		}
	}
	// Impacted: downstream of a change in the head graph.
	impacted := map[string][]string{}
	for _, id := range head.Order() {
		if changed[id] {
			continue
		}
		var ups []string
		for _, parent := range head.Parents(id) {
			if changed[parent] {
				ups = append(ups, head.Nodes[parent].Name)
			}
			ups = append(ups, impacted[parent]...)
		}
		if len(ups) > 0 {
			impacted[id] = dedupe(ups)
			n := head.Nodes[id]
			if n.Kind == project.KindTest || n.Kind == project.KindSource {
				continue // tests go with their models; a source a seed loads goes with the seed
			}
			c := change(n, Impacted, nil)
			c.Upstream = impacted[id]
			p.Changes = append(p.Changes, c)
		}
	}
	for _, id := range head.Order() {
		n := head.Nodes[id]
		if (changed[id] || len(impacted[id]) > 0) && (n.Kind == project.KindModel || n.Kind == project.KindSeed) {
			p.Build = append(p.Build, id)
		}
	}
	sort.SliceStable(p.Changes, func(i, j int) bool {
		a, b := p.Changes[i], p.Changes[j]
		if statusOrder[a.Status] != statusOrder[b.Status] {
			return statusOrder[a.Status] < statusOrder[b.Status]
		}
		if (a.Kind == project.KindTest) != (b.Kind == project.KindTest) {
			return b.Kind == project.KindTest
		}
		return a.Path+a.Name < b.Path+b.Name
	})
	return p
}

func change(n *project.Node, s Status, reasons []string) NodeChange {
	c := NodeChange{ID: n.UniqueID, Name: n.Name, Kind: n.Kind, Path: n.Path, Status: s, Reasons: reasons}
	if n.Kind == project.KindModel {
		c.Materialized = n.Config.Materialized
	}
	return c
}

// compare says why node h differs from b, or that only its whitespace and
// comments did.
func compare(base, head *project.Manifest, b, h *project.Node) (reasons []string, cosmetic bool) {
	if b.RawSQL != h.RawSQL {
		// An edit inside {{ config(...) }} is a config change, reported
		// from the resolved configs below, not a change of the SQL.
		if normalize(withoutConfig(b.RawSQL)) != normalize(withoutConfig(h.RawSQL)) {
			switch h.Kind {
			case project.KindSeed:
				reasons = append(reasons, "data")
			default:
				reasons = append(reasons, "sql")
			}
		} else {
			cosmetic = true
		}
	}
	if keys := configDiff(b.Config, h.Config); len(keys) > 0 {
		reasons = append(reasons, "config: "+strings.Join(keys, ", "))
	}
	if h.Kind == project.KindSource && b.Relation != h.Relation {
		reasons = append(reasons, "definition")
	}
	for _, name := range h.DependsOn.Macros {
		bm, hadIt := base.Macros[name]
		if !hadIt || bm.Checksum != head.Macros[name].Checksum {
			reasons = append(reasons, "macro "+name)
		}
	}
	for _, name := range h.DependsOn.Vars {
		if !sameJSON(base.Vars[name], head.Vars[name]) {
			reasons = append(reasons, "var "+name)
		}
	}
	return reasons, cosmetic && len(reasons) == 0
}

var configCallRE = regexp.MustCompile(`(?s)\{\{-?\s*config\(.*?\)\s*-?\}\}`)

func withoutConfig(sql string) string { return configCallRE.ReplaceAllString(sql, "") }

// configDiff lists the config keys whose values differ.
func configDiff(a, b project.Config) []string {
	var am, bm map[string]any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	json.Unmarshal(ja, &am)
	json.Unmarshal(jb, &bm)
	keys := map[string]bool{}
	for k := range am {
		keys[k] = true
	}
	for k := range bm {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if !sameJSON(am[k], bm[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// Rebuild reports whether a pull request needs any building.
func (p *Plan) Rebuild() bool { return len(p.Build) > 0 }

// Selection returns what to build in the head manifest: the plan's nodes
// and the tests on them.
func (p *Plan) Selection(head *project.Manifest) project.Selection {
	s := project.Selection{}
	for _, id := range p.Build {
		s[id] = true
	}
	for _, c := range p.Changes {
		if c.Kind == project.KindTest && (c.Status == Added || c.Status == Modified) {
			s[c.ID] = true
		}
	}
	return head.WithTests(s)
}

// Selectors gives the plan to dbt selection syntax as state:modified
// (added or modified, not cosmetic), state:new and state:impacted, so
// `--select state:modified+` means what it means in dbt.
func (p *Plan) Selectors() map[string]project.SelectorMethod {
	return map[string]project.SelectorMethod{
		"state": func(m *project.Manifest, value string) (project.Selection, error) {
			want := map[string][]Status{"modified": {Added, Modified}, "new": {Added}, "impacted": {Impacted}}[value]
			if want == nil {
				return nil, fmt.Errorf("unknown state %q: use state:modified, state:new or state:impacted", value)
			}
			s := project.Selection{}
			for _, c := range p.Changes {
				for _, st := range want {
					if c.Status == st && m.Nodes[c.ID] != nil {
						s[c.ID] = true
					}
				}
			}
			return s, nil
		},
	}
}

// Count returns how many nodes have each status.
func (p *Plan) Count() map[Status]int {
	out := map[Status]int{}
	for _, c := range p.Changes {
		out[c.Status]++
	}
	return out
}
