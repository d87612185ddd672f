// Package build materializes the selected nodes of a compiled Manifest in
// a warehouse: seeds, then models in dependency order with bounded
// parallelism, each model followed by its tests. A failure stops what
// depends on it, not the rest. A dry run builds nothing: it asks the engine
// for each model's output columns and plan.
//
// Each model is built under a temporary name and swapped in within one
// transaction, so a failed model leaves the previous version (or nothing)
// in place, never half a table.
package build

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Options say what to build where.
type Options struct {
	Manifest  *project.Manifest
	Warehouse warehouse.Warehouse
	// Selection holds the models, seeds and tests to build; selected nodes
	// are built at their relation in the Manifest's target.
	Selection project.Selection
	// Defer, when set, is the production target: a reference to a node that
	// is not selected reads its production relation, so an environment holds
	// only what the pull request builds.
	Defer *project.Target
	// Threads bounds how many nodes build at once (default 4).
	Threads     int
	DryRun      bool
	FullRefresh bool
	// FullRefreshOf rebuilds these incremental models from scratch, as a
	// deploy does for the ones a change modified.
	FullRefreshOf map[string]bool
	// Progress, when set, hears each node start and finish.
	Progress func(Event)
	// KeepPrevious, when set (a production deploy, from StartDeploy), keeps
	// the version of each relation the build replaces, renamed to a
	// <name>__dataops_prev sibling, instead of dropping it, and records
	// every swap in the deploy within the swap's transaction, so Rollback
	// can restore them. Incremental models are merged into a copy that is
	// swapped in. See keep.go.
	KeepPrevious *Deploy
	// Mask hides the values of sensitive columns in failing tests' sample
	// rows. Nil masks what the manifest marks and the default patterns
	// name, with a key of this build's own.
	Mask *mask.Set
}

// Status of one node.
type Status string

const (
	StatusSuccess Status = "success" // model or seed built
	StatusError   Status = "error"   // model or seed failed, or a test could not run
	StatusSkipped Status = "skipped" // not run because something upstream failed
	StatusPass    Status = "pass"    // test found no failing rows
	StatusFail    Status = "fail"    // error-severity test found failing rows
	StatusWarn    Status = "warn"    // warn-severity test found failing rows
)

// Failed reports whether the status fails a build.
func (s Status) Failed() bool { return s == StatusError || s == StatusFail }

// NodeResult is what happened to one node.
type NodeResult struct {
	ID           string             `json:"unique_id"`
	Name         string             `json:"name"`
	Kind         project.NodeKind   `json:"resource_type"`
	Path         string             `json:"path"`
	Materialized string             `json:"materialized"`
	Relation     warehouse.Relation `json:"relation"`
	Status       Status             `json:"status"`
	// Rows in the built table or seed; -1 for views and where not counted.
	Rows     int64         `json:"rows"`
	Duration time.Duration `json:"duration_ns"`
	// Message explains an error or a skip.
	Message string `json:"message,omitempty"`
	// Failure locates an error in the node's source file.
	Failure *Failure `json:"failure,omitempty"`
	// Tests: failing rows, and a few of them.
	Failures int64           `json:"failures,omitempty"`
	Sample   *warehouse.Rows `json:"sample,omitempty"`
	// Dry run: the engine's output columns and plan.
	Columns []warehouse.Column `json:"columns,omitempty"`
	Plan    string             `json:"plan,omitempty"`
}

// Failure is an error at a position of a project file.
type Failure struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
}

func (f *Failure) String() string {
	switch {
	case f.Line > 0 && f.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", f.Path, f.Line, f.Col, f.Message)
	case f.Line > 0:
		return fmt.Sprintf("%s:%d: %s", f.Path, f.Line, f.Message)
	}
	return f.Path + ": " + f.Message
}

// Result is a whole build.
type Result struct {
	Nodes    []NodeResult  `json:"nodes"` // in build order
	Duration time.Duration `json:"duration_ns"`
}

// Failed reports whether any model, seed or error-severity test failed.
func (r *Result) Failed() bool {
	for _, n := range r.Nodes {
		if n.Status.Failed() {
			return true
		}
	}
	return false
}

// Count returns how many nodes ended with each status.
func (r *Result) Count() map[Status]int {
	c := map[Status]int{}
	for _, n := range r.Nodes {
		c[n.Status]++
	}
	return c
}

// Event tells a progress display that a node started or finished.
type Event struct {
	Done   bool
	Index  int // 1-based position in build order
	Total  int
	Result NodeResult // Name, Kind, Materialized always; the rest when Done
}

// Run builds the selection. It returns an error only when the build could
// not start (the warehouse is unreachable, a schema cannot be created);
// failures of nodes are in the Result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Threads <= 0 {
		opts.Threads = 4
	}
	if opts.Mask == nil {
		set := mask.New(config.Default().Mask, opts.Manifest)
		opts.Mask = &set
	}
	b := &builder{opts: opts, m: opts.Manifest, w: opts.Warehouse, d: opts.Warehouse.Dialect()}
	start := time.Now()
	order := b.order()
	if !opts.DryRun {
		if err := b.ensureSchemas(ctx, order); err != nil {
			return nil, err
		}
	}
	if opts.DryRun {
		b.prepareSeeds(order)
	}
	missing, err := b.missingUpstream(ctx, order)
	if err != nil {
		return nil, err
	}
	b.missing = missing
	results := make([]NodeResult, len(order))
	done := make(map[string]chan struct{}, len(order))
	for _, id := range order {
		done[id] = make(chan struct{})
	}
	index := make(map[string]int, len(order))
	for i, id := range order {
		index[id] = i
	}
	waits := b.waits(order)
	sem := make(chan struct{}, opts.Threads)
	var progressMu sync.Mutex
	report := func(e Event) {
		if opts.Progress != nil {
			progressMu.Lock()
			opts.Progress(e)
			progressMu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for i, id := range order {
		wg.Add(1)
		go func(i int, id string) {
			defer wg.Done()
			defer close(done[id])
			n := b.m.Nodes[id]
			res := b.blank(n)
			for _, w := range waits[id] {
				<-done[w]
				if up := results[index[w]]; up.Status.Failed() || up.Status == StatusSkipped {
					res.Status = StatusSkipped
					res.Message = fmt.Sprintf("skipped: upstream %s %s %s", up.Kind, up.Name, statusWord(up.Status))
				}
			}
			if res.Status == "" {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
				}
				if ctx.Err() != nil {
					res.Status, res.Message = StatusSkipped, "skipped: the build was cancelled"
				} else {
					report(Event{Index: i + 1, Total: len(order), Result: res})
					t := time.Now()
					res = b.runNode(ctx, n)
					res.Duration = time.Since(t)
					<-sem
				}
			}
			results[i] = res
			report(Event{Done: true, Index: i + 1, Total: len(order), Result: res})
		}(i, id)
	}
	wg.Wait()
	return &Result{Nodes: results, Duration: time.Since(start)}, nil
}

func statusWord(s Status) string {
	switch s {
	case StatusFail:
		return "failed its test"
	case StatusSkipped:
		return "was skipped"
	}
	return "failed"
}

type builder struct {
	opts    Options
	m       *project.Manifest
	w       warehouse.Warehouse
	d       warehouse.Dialect
	missing map[string]string // node id -> why an upstream relation is missing
	seeds   []*dryRunSeed     // in a dry run, the selected seeds
}

// order lists what to run: selected seeds first (they have no parents,
// and sources often read them), then models and tests, parents first.
func (b *builder) order() []string {
	var out, rest []string
	for _, id := range b.m.IDs(b.opts.Selection) {
		switch b.m.Nodes[id].Kind {
		case project.KindSeed:
			out = append(out, id)
		case project.KindModel:
			rest = append(rest, id)
		case project.KindTest:
			if !b.opts.DryRun {
				rest = append(rest, id)
			}
		}
	}
	return append(out, rest...)
}

// waits lists what each node waits for: its selected parents and, as dbt
// build does, the error-severity tests of those parents, so a model is not
// built on data its upstream tests rejected.
func (b *builder) waits(order []string) map[string][]string {
	inRun := map[string]bool{}
	for _, id := range order {
		inRun[id] = true
	}
	testsOf := map[string][]string{}
	for _, id := range order {
		n := b.m.Nodes[id]
		if n.Kind == project.KindTest && n.Config.Severity != "warn" {
			for _, p := range b.m.Parents(id) {
				testsOf[p] = append(testsOf[p], id)
			}
		}
	}
	// Sources are loaded by something else, but in many projects that
	// something is a seed (raw data loaded with +schema: raw and read
	// through source()): a source a seed of this build loads waits for it.
	waits := map[string][]string{}
	for _, id := range order {
		seen := map[string]bool{}
		add := func(w string) {
			if w != id && inRun[w] && !seen[w] {
				seen[w] = true
				waits[id] = append(waits[id], w)
			}
		}
		for _, p := range b.reads(id, inRun) {
			if pn := b.m.Nodes[p]; pn.Kind == project.KindSource && pn.LoadedBy != "" {
				add(pn.LoadedBy)
			}
			add(p)
			if b.m.Nodes[id].Kind != project.KindTest {
				for _, t := range testsOf[p] {
					// A test that itself reads this node (a relationships
					// test pointing downstream) cannot gate it.
					if !b.dependsOn(t, id) {
						add(t)
					}
				}
			}
		}
	}
	return waits
}

// reads lists the nodes id reads: its parents and, for an ephemeral
// parent outside the run, which is inlined into id, what that reads.
func (b *builder) reads(id string, inRun map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(id string) {
		for _, p := range b.m.Parents(id) {
			if seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
			if pn := b.m.Nodes[p]; pn.Config.Materialized == "ephemeral" && pn.Kind == project.KindModel && !inRun[p] {
				walk(p)
			}
		}
	}
	walk(id)
	return out
}

// dependsOn reports whether node a reads b, directly or through others.
func (b *builder) dependsOn(a, target string) bool {
	seen := map[string]bool{}
	stack := []string{a}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range b.m.Parents(cur) {
			if p == target {
				return true
			}
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return false
}

func (b *builder) blank(n *project.Node) NodeResult {
	mat := n.Config.Materialized
	return NodeResult{ID: n.UniqueID, Name: n.Name, Kind: n.Kind, Path: n.Path, Materialized: mat,
		Relation: toRel(n.Relation), Rows: -1}
}

func toRel(r project.Relation) warehouse.Relation {
	return warehouse.Relation{Schema: r.Schema, Name: r.Name}
}

// resolve reads selected nodes from where this build puts them and, with
// deferral, everything else from production. In a dry run nothing is
// built, so selected models are inlined as CTEs, and selected seeds are
// read from their CSV (dryseed.go).
func (b *builder) resolve(n *project.Node) project.Ref {
	if b.opts.Selection[n.UniqueID] {
		switch {
		case b.opts.DryRun && n.Kind == project.KindModel:
			return project.Ref{Inline: true}
		case b.opts.DryRun && n.Kind == project.KindSeed:
			return project.Ref{Relation: standIn(n)}
		}
		return project.Ref{Relation: n.Relation}
	}
	if b.opts.Defer != nil {
		return project.Ref{Relation: b.m.RelationIn(n, *b.opts.Defer)}
	}
	return project.Ref{Relation: n.Relation}
}

// ensureSchemas creates the schemas selected nodes are built into. A
// pull request's environment schema is created beforehand, with its
// marker, by the environment command or the pipeline; this only covers
// production and plain schemas.
func (b *builder) ensureSchemas(ctx context.Context, order []string) error {
	seen := map[string]bool{}
	for _, id := range order {
		n := b.m.Nodes[id]
		if n.Kind == project.KindTest || n.Config.Materialized == "ephemeral" || seen[n.Relation.Schema] {
			continue
		}
		seen[n.Relation.Schema] = true
		if err := b.w.EnsureSchema(ctx, n.Relation.Schema); err != nil {
			return fmt.Errorf("create schema %q: %w", n.Relation.Schema, err)
		}
	}
	return nil
}

// missingUpstream checks, before building anything, that every relation a
// selected node reads but does not build exists, and says what to do when
// one does not. It asks the catalog once for all of them.
func (b *builder) missingUpstream(ctx context.Context, order []string) (map[string]string, error) {
	type read struct {
		reader, parent string
		via            string // the ephemeral model read through, if any
		rel            project.Relation
	}
	var reads []read
	schemas := map[string]bool{}
	for _, id := range order {
		// An ephemeral parent is inlined into its reader, which so reads
		// what the ephemeral model reads: follow it (once) to those.
		seen := map[string]bool{}
		var walk func(from, via string)
		walk = func(from, via string) {
			for _, p := range b.m.Parents(from) {
				pn := b.m.Nodes[p]
				if pn.Kind == project.KindTest {
					continue
				}
				if pn.Config.Materialized == "ephemeral" {
					if !seen[p] {
						seen[p] = true
						if via == "" {
							walk(p, pn.Name)
						} else {
							walk(p, via)
						}
					}
					continue
				}
				var rel project.Relation
				if seed := b.m.Nodes[pn.LoadedBy]; pn.Kind == project.KindSource && seed != nil {
					// A seeded source is read where its seed is.
					p, pn = seed.UniqueID, seed
				}
				if pn.Kind == project.KindSource {
					rel = pn.Relation
				} else {
					ref := b.resolve(pn)
					if ref.Inline || (b.opts.Selection[p] && (!b.opts.DryRun || pn.Kind == project.KindSeed)) {
						continue
					}
					rel = ref.Relation
				}
				reads = append(reads, read{id, p, via, rel})
				schemas[rel.Schema] = true
			}
		}
		walk(id, "")
	}
	if len(reads) == 0 {
		return nil, nil
	}
	exists, err := b.relationsIn(ctx, schemas)
	if err != nil {
		return nil, err
	}
	missing := map[string]string{}
	for _, r := range reads {
		if exists[r.rel] || exists[lower(r.rel)] || missing[r.reader] != "" {
			continue
		}
		pn, name := b.m.Nodes[r.parent], b.m.Nodes[r.reader].Name
		q := b.d.QuoteRelation(toRel(r.rel))
		through := ""
		if r.via != "" {
			through = " (through ephemeral " + r.via + ")"
		}
		if pn.Kind == project.KindSource {
			missing[r.reader] = fmt.Sprintf("%s reads source %s.%s%s, but %s does not exist: load it first (when a seed provides it, build that seed too)",
				name, pn.SourceName, pn.Name, through, q)
			continue
		}
		where := "the target"
		if b.opts.Defer != nil {
			where = "production"
		}
		missing[r.reader] = fmt.Sprintf("%s reads %s %s%s from %s, but %s does not exist: build production first, or select it too (+%s)",
			name, pn.Kind, pn.Name, through, where, q, name)
	}
	return missing, nil
}

// relationsIn lists the tables and views of the given schemas, by their
// names as stored and lowercased (DuckDB matches names without case).
func (b *builder) relationsIn(ctx context.Context, schemas map[string]bool) (map[project.Relation]bool, error) {
	var args []any
	var marks []string
	for s := range schemas {
		args = append(args, s)
		marks = append(marks, b.d.Placeholder(len(args)))
	}
	rows, err := b.w.Query(ctx, fmt.Sprintf("select table_schema, table_name from information_schema.tables where table_schema in (%s)",
		strings.Join(marks, ", ")), args...)
	if err != nil {
		return nil, fmt.Errorf("list relations: %w", err)
	}
	out := map[project.Relation]bool{}
	for _, r := range rows.Values {
		rel := project.Relation{Schema: fmt.Sprint(r[0]), Name: fmt.Sprint(r[1])}
		out[rel] = true
		out[lower(rel)] = true
	}
	return out, nil
}

func lower(r project.Relation) project.Relation {
	return project.Relation{Schema: strings.ToLower(r.Schema), Name: strings.ToLower(r.Name)}
}

func (b *builder) runNode(ctx context.Context, n *project.Node) NodeResult {
	res := b.blank(n)
	if why := b.missing[n.UniqueID]; why != "" {
		res.Status = StatusError
		res.Message = why
		res.Failure = &Failure{Path: n.Path, Line: n.Line, Message: why}
		return res
	}
	switch {
	case n.Kind == project.KindTest:
		b.runTest(ctx, n, &res)
	case b.opts.DryRun:
		b.dryRun(ctx, n, &res)
	case n.Kind == project.KindSeed:
		b.buildSeed(ctx, n, &res)
	case n.Config.Materialized == "ephemeral":
		res.Status = StatusSuccess
		res.Message = "ephemeral: inlined into the models that use it"
	default:
		b.buildModel(ctx, n, &res)
	}
	return res
}
