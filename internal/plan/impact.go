package plan

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Impact classifies a changed model's effect on its output.
type Impact struct {
	// Kind is "breaking" (a column removed, renamed or retyped, or the grain
	// changed), "non-breaking" (columns only added, or none changed), or
	// "unknown" (the engine could not tell, or production lacks the model).
	Kind    string             `json:"kind"`
	Why     string             `json:"why,omitempty"`
	Added   []warehouse.Column `json:"added,omitempty"`
	Removed []warehouse.Column `json:"removed,omitempty"`
	Renamed []Rename           `json:"renamed,omitempty"`
	Retyped []Retype           `json:"retyped,omitempty"`
	// GrainChanged: the unique key differs, so a row means something else.
	GrainChanged bool `json:"grain_changed,omitempty"`
	// Downstream tells, for each model reading this one, whether it uses a
	// removed, renamed or retyped column.
	Downstream []Usage `json:"downstream,omitempty"`
}

type Rename struct{ From, To string }

type Retype struct{ Name, From, To string }

// Usage says whether a downstream model uses affected columns: "yes" with
// the columns, "no", or "unknown" when its SQL selects * from this model
// or could not be read.
type Usage struct {
	Model   string   `json:"model"`
	Uses    string   `json:"uses"`
	Columns []string `json:"columns,omitempty"`
}

// Columner is the part of a warehouse Assess needs.
type Columner interface {
	Columns(ctx context.Context, r warehouse.Relation) ([]warehouse.Column, error)
	OutputColumns(ctx context.Context, selectSQL string) ([]warehouse.Column, error)
}

// Assess compares, for each added or modified model, the columns the head
// SQL produces (asked of the engine, without building anything) with the
// columns of its production relation, and fills each change's Impact.
// Models the plan builds are inlined into the head SQL, everything else is
// read from production (prod).
func (p *Plan) Assess(ctx context.Context, w Columner, base, head *project.Manifest, prod project.Target) {
	p.AssessWith(ctx, w, base, head, prod, nil)
}

// AssessWith is Assess with the head columns of some models already known,
// by unique id: a dry run's, which reads the seeds the change adds or
// modifies from their files where Assess would read production's. Those
// are not asked of the engine again.
func (p *Plan) AssessWith(ctx context.Context, w Columner, base, head *project.Manifest, prod project.Target, known map[string][]warehouse.Column) {
	p.assess(ctx, w, base, head, prod, known, nil)
}

// AssessDryRun is AssessWith with what a dry run of the plan (res, nil
// when there was none) found: the columns of the models it checked, and
// for those it rejected or skipped, its reason. Those are "unknown"
// because the dry run failed, not asked of the engine again: against
// production's relations the engine would judge SQL the change does not
// run (production's seed may still have a column the change drops), or
// fail for a reason of production's.
func (p *Plan) AssessDryRun(ctx context.Context, w Columner, base, head *project.Manifest, prod project.Target, res *build.Result) {
	if res == nil {
		p.Assess(ctx, w, base, head, prod)
		return
	}
	known := map[string][]warehouse.Column{}
	failed := map[string]string{}
	for _, n := range res.Nodes {
		if n.Kind != project.KindModel {
			continue
		}
		switch {
		case n.Status == build.StatusSuccess && n.Columns != nil:
			known[n.ID] = n.Columns
		case n.Status == build.StatusError || n.Status == build.StatusSkipped:
			why, _, _ := strings.Cut(strings.TrimPrefix(n.Message, "skipped: "), "\n")
			failed[n.ID] = why
		}
	}
	p.assess(ctx, w, base, head, prod, known, failed)
}

func (p *Plan) assess(ctx context.Context, w Columner, base, head *project.Manifest, prod project.Target, known map[string][]warehouse.Column, failed map[string]string) {
	building := map[string]bool{}
	for _, id := range p.Build {
		building[id] = true
	}
	resolve := func(n *project.Node) project.Ref {
		if building[n.UniqueID] && n.Kind == project.KindModel {
			return project.Ref{Inline: true}
		}
		return project.Ref{Relation: head.RelationIn(n, prod)}
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		n := head.Nodes[c.ID]
		if n == nil || n.Kind != project.KindModel || (c.Status != Added && c.Status != Modified) {
			continue
		}
		if why, ok := failed[n.UniqueID]; ok {
			c.Impact = &Impact{Kind: "unknown", Why: "the dry run failed: " + why}
			continue
		}
		if n.Config.Materialized == "ephemeral" {
			c.Impact = &Impact{Kind: "unknown", Why: "ephemeral: judged in the models that use it"}
			continue
		}
		c.Impact = assessOne(ctx, w, base, head, n, resolve, prod, known[n.UniqueID])
	}
}

func assessOne(ctx context.Context, w Columner, base, head *project.Manifest, n *project.Node, resolve project.Resolver, prod project.Target, after []warehouse.Column) *Impact {
	if after == nil {
		sql, _ := head.SQLFor(n, false, resolve)
		var err error
		if after, err = w.OutputColumns(ctx, sql); err != nil {
			return &Impact{Kind: "unknown", Why: "the engine could not check the new SQL: " + firstLine(err.Error())}
		}
	}
	rel := head.RelationIn(n, prod)
	before, err := w.Columns(ctx, warehouse.Relation{Schema: rel.Schema, Name: rel.Name})
	if errors.Is(err, warehouse.ErrRelationNotFound) {
		if _, existed := base.Nodes[n.UniqueID]; !existed {
			return &Impact{Kind: "non-breaking", Why: "new model", Added: after}
		}
		return &Impact{Kind: "unknown", Why: fmt.Sprintf("%s is not in production to compare with", quote(rel))}
	}
	if err != nil {
		return &Impact{Kind: "unknown", Why: firstLine(err.Error())}
	}
	im := compareColumns(before, after)
	if b, ok := base.Nodes[n.UniqueID]; ok && strings.Join(b.Config.UniqueKey, ",") != strings.Join(n.Config.UniqueKey, ",") {
		im.GrainChanged = true
	}
	switch {
	case len(im.Removed)+len(im.Renamed)+len(im.Retyped) > 0 || im.GrainChanged:
		im.Kind = "breaking"
		im.Downstream = downstreamUsage(head, n, im)
	default:
		im.Kind = "non-breaking"
	}
	return im
}

// compareColumns matches columns by name, ignoring case; one removed and
// one added column of the same type are taken as a rename.
func compareColumns(before, after []warehouse.Column) *Impact {
	im := &Impact{}
	old := map[string]warehouse.Column{}
	for _, c := range before {
		old[strings.ToLower(c.Name)] = c
	}
	seen := map[string]bool{}
	for _, c := range after {
		key := strings.ToLower(c.Name)
		prev, ok := old[key]
		switch {
		case !ok:
			im.Added = append(im.Added, c)
		case normType(prev.Type) != normType(c.Type):
			im.Retyped = append(im.Retyped, Retype{Name: c.Name, From: prev.Type, To: c.Type})
		}
		seen[key] = true
	}
	for _, c := range before {
		if !seen[strings.ToLower(c.Name)] {
			im.Removed = append(im.Removed, c)
		}
	}
	if len(im.Removed) == 1 && len(im.Added) == 1 && normType(im.Removed[0].Type) == normType(im.Added[0].Type) {
		im.Renamed = []Rename{{From: im.Removed[0].Name, To: im.Added[0].Name}}
		im.Removed, im.Added = nil, nil
	}
	return im
}

func normType(t string) string { return strings.ReplaceAll(strings.ToLower(t), " ", "") }

var (
	identRE = regexp.MustCompile(`"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*`)
	starRE  = regexp.MustCompile(`(?i)(\bselect\s+(distinct\s+)?\*|\.\*)`)
)

// downstreamUsage reads each direct child's compiled SQL for the columns a
// breaking change affects. It is a reading of identifiers, not a full SQL
// resolver: a column of the same name from another table counts as used,
// which errs on the side of telling.
func downstreamUsage(head *project.Manifest, n *project.Node, im *Impact) []Usage {
	affected := map[string]string{}
	for _, c := range im.Removed {
		affected[strings.ToLower(c.Name)] = c.Name
	}
	for _, r := range im.Renamed {
		affected[strings.ToLower(r.From)] = r.From
	}
	for _, r := range im.Retyped {
		affected[strings.ToLower(r.Name)] = r.Name
	}
	var out []Usage
	for _, id := range head.Children(n.UniqueID) {
		child := head.Nodes[id]
		if child.Kind != project.KindModel {
			continue
		}
		u := Usage{Model: child.Name, Uses: "no"}
		if len(affected) == 0 {
			u.Uses = "unknown" // only the grain changed: any use may be affected
		}
		found := map[string]bool{}
		for _, tok := range identRE.FindAllString(child.CompiledSQL, -1) {
			tok = strings.ToLower(strings.ReplaceAll(strings.Trim(tok, `"`), `""`, `"`))
			if name, ok := affected[tok]; ok {
				found[name] = true
			}
		}
		if len(found) > 0 {
			u.Uses = "yes"
			for name := range found {
				u.Columns = append(u.Columns, name)
			}
			sort.Strings(u.Columns)
		} else if len(affected) > 0 && starRE.MatchString(child.CompiledSQL) {
			u.Uses = "unknown"
		}
		out = append(out, u)
	}
	return out
}

func quote(r project.Relation) string { return `"` + r.Schema + `"."` + r.Name + `"` }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
