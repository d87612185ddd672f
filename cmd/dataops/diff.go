package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func init() {
	commands["diff"] = command{
		summary: "Compare the data of two relations by key, or of each model of an environment with production.",
		usage: "diff --warehouse DSN --base REL --head REL [--key COL[,COL]] [--columns C,...] [--where SQL] [--sample N] [--tolerance X] [--head-warehouse DSN] [--json]\n" +
			"       dataops diff --project DIR --env NAME [--warehouse DSN] [--defer-to SCHEMA] [MODEL ...] [--json]",
		run: runDiff,
	}
}

// modelDiff is one diff of a --project run, for --json.
type modelDiff struct {
	Model        string           `json:"model"`
	Result       *datadiff.Result `json:"result,omitempty"`
	Error        string           `json:"error,omitempty"`
	Profile      *profile.Diff    `json:"profile,omitempty"`
	ProfileError string           `json:"profile_error,omitempty"`
}

func runDiff(args []string, out, errOut io.Writer) int {
	fs := newFlags("diff", commands["diff"], errOut)
	dsn := fs.String("warehouse", "", "warehouse DSN (default: $DATAOPS_WAREHOUSE_DSN, or the variable dataops.yml names)")
	headDSN := fs.String("head-warehouse", "", "a second warehouse holding --head: compares across engines by checksum bisection")
	baseRel := fs.String("base", "", "base relation, schema.name")
	headRel := fs.String("head", "", "head relation, schema.name")
	key := fs.String("key", "", "key columns, comma-separated (with --project: from the model's unique_key or unique test)")
	columns := fs.String("columns", "", "columns to compare, comma-separated (default: all but the key)")
	where := fs.String("where", "", "SQL condition applied to both sides")
	sample := fs.Int("sample", 5, "sample rows to show per category")
	tolerance := fs.Float64("tolerance", 0, "numeric values differing by at most this much are equal")
	dir := fs.String("project", "", "diff the models of an environment against production")
	env := fs.String("env", "", "with --project: the environment whose models to diff")
	deferTo := fs.String("defer-to", "", "with --project: the production schema (default: production.schema in dataops.yml)")
	cfgPath := fs.String("config", config.FileName, "dataops.yml")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	if *sample < 0 || *tolerance < 0 {
		return usageError(errOut, "diff", "--sample and --tolerance cannot be negative")
	}
	project := *dir != ""
	switch {
	case project && *env == "":
		return usageError(errOut, "diff", "--project needs --env: the environment to compare with production")
	case !project && (*baseRel == "" || *headRel == ""):
		return usageError(errOut, "diff", "give --base and --head relations (schema.name), or --project DIR --env NAME")
	case !project && fs.NArg() > 0:
		return usageError(errOut, "diff", "unexpected argument %q (model names go with --project)", fs.Arg(0))
	}
	cfg, ok := loadConfig(fs, "diff", *cfgPath, errOut)
	if !ok {
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w, _, code := openWarehouse(ctx, "diff", *dsn, cfg, errOut)
	if w == nil {
		return code
	}
	defer w.Close()
	// Two relations named on the command line are no nodes: their columns
	// are masked by name (mask: in dataops.yml).
	opts := datadiff.Options{Key: splitList(*key), Columns: splitList(*columns), Where: *where, Sample: *sample, Tolerance: *tolerance,
		Mask: mask.New(cfg.Mask).Node("")}
	if project {
		return diffProject(ctx, w, cfg, *cfgPath, *dir, *env, *deferTo, fs.Args(), opts, *asJSON, out, errOut)
	}
	var err error
	if opts.Base, opts.Head, err = parseRelations(*baseRel, *headRel); err != nil {
		return usageError(errOut, "diff", "%v", err)
	}
	var res *datadiff.Result
	if *headDSN != "" {
		hw, _, code := openWarehouse(ctx, "diff", *headDSN, cfg, errOut)
		if hw == nil {
			return code
		}
		defer hw.Close()
		res, err = datadiff.HashDiff(ctx, w, hw, opts)
	} else {
		res, err = datadiff.Join(ctx, w, opts)
	}
	if res == nil {
		fmt.Fprintf(errOut, "dataops diff: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		printJSON(out, res)
	} else {
		printDiff(out, "", res)
	}
	if err != nil {
		// No key: counts and schema were compared; say how to do better.
		fmt.Fprintf(errOut, "dataops diff: %v\n", err)
	}
	return exitOK
}

// diffProject compares every model the environment holds (or the named
// ones) with its production relation.
func diffProject(ctx context.Context, w warehouse.Warehouse, cfg config.Config, cfgPath, dir, env, deferTo string, models []string,
	opts datadiff.Options, asJSON bool, out, errOut io.Writer) int {
	p, ds := project.Load(dir)
	if p == nil {
		printDiagnostics(errOut, dir, ds)
		return exitUsage
	}
	m, ds := project.Compile(ctx, p, project.Options{Target: project.Target{Name: env, Schema: env, Type: w.Dialect().Name()},
		Warehouse: build.CompileWarehouse(w)})
	if ds = ds.Errors(); len(ds) > 0 {
		printDiagnostics(errOut, dir, ds)
		return exitFailure
	}
	prod := productionTarget(cfg, deferTo, w.Dialect().Name())
	rules := profile.RulesFrom(cfg.Profile, cfgPath)
	if err := rules.CheckModels(func(name string) bool { n, ok := m.Lookup(name); return ok && n.Kind == project.KindModel }); err != nil {
		fmt.Fprintf(errOut, "dataops diff: %v\n", err)
		return exitUsage
	}
	nodes, err := modelsToDiff(ctx, w, m, env, models)
	if err != nil {
		return usageError(errOut, "diff", "%v", err)
	}
	if len(nodes) == 0 {
		fmt.Fprintf(out, "Environment %q holds no models of %s: nothing to compare.\n", env, m.Project)
		return exitOK
	}
	var results []modelDiff
	failed := false
	masks := mask.New(cfg.Mask, m)
	for _, n := range nodes {
		o := opts
		o.Mask = masks.Node(n.UniqueID)
		prodRel := m.RelationIn(n, prod)
		o.Base = warehouse.Relation{Schema: prodRel.Schema, Name: prodRel.Name}
		o.Head = warehouse.Relation{Schema: n.Relation.Schema, Name: n.Relation.Name}
		if len(o.Key) == 0 {
			o.Key = m.Key(n)
		}
		res, err := datadiff.Join(ctx, w, o)
		d := modelDiff{Model: n.Name, Result: res}
		if err != nil {
			d.Error = err.Error()
			if errors.Is(err, datadiff.ErrNoKey) {
				d.Error = fmt.Sprintf("%s has no key, so rows were only counted: declare one with config(unique_key='id') in %s, or a unique test on a column in its properties YAML", n.Name, n.Path)
			}
			failed = failed || res == nil
		}
		if cfg.Profile.Enabled {
			popts := profile.OptionsFrom(cfg.Profile)
			popts.SampleKey = o.Key
			cols := masks.Node(n.UniqueID)
			popts.Sensitive, popts.Mask = cols.Sensitive, cols.Text
			d.Profile, err = profile.Model(ctx, w, n.Name, o.Base, o.Head, popts, rules)
			var ce *config.Error
			if errors.As(err, &ce) {
				// A rule naming a column the model lacks: the
				// configuration's error, as for an unknown model above.
				fmt.Fprintf(errOut, "dataops diff: %v\n", err)
				return exitUsage
			}
			if err != nil {
				d.ProfileError = err.Error()
				failed = true
			}
		}
		results = append(results, d)
	}
	if asJSON {
		printJSON(out, results)
	} else {
		for i, d := range results {
			if i > 0 {
				fmt.Fprintln(out)
			}
			if d.Result != nil {
				printDiff(out, d.Model, d.Result)
			}
			if d.Error != "" {
				fmt.Fprintf(out, "%s: %s\n", d.Model, d.Error)
			}
			if d.Profile != nil {
				printProfile(out, "", d.Profile)
			}
			if d.ProfileError != "" {
				fmt.Fprintf(out, "%s: profile: %s\n", d.Model, d.ProfileError)
			}
		}
	}
	if failed {
		return exitFailure
	}
	return exitOK
}

// modelsToDiff picks the named models, or else those built in the
// environment.
func modelsToDiff(ctx context.Context, w warehouse.Warehouse, m *project.Manifest, env string, names []string) ([]*project.Node, error) {
	var out []*project.Node
	if len(names) > 0 {
		for _, name := range names {
			n, ok := m.Lookup(name)
			if !ok || n.Kind != project.KindModel {
				return nil, fmt.Errorf("no model %q in %s", name, m.Project)
			}
			out = append(out, n)
		}
		return out, nil
	}
	for _, id := range m.Order() {
		n := m.Nodes[id]
		if n.Kind != project.KindModel || n.Config.Materialized == "ephemeral" {
			continue
		}
		exists, err := w.RelationExists(ctx, warehouse.Relation{Schema: env, Name: n.Relation.Name})
		if err != nil {
			return nil, err
		}
		if exists {
			out = append(out, n)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseRelations reads the --base and --head relations.
func parseRelations(base, head string) (warehouse.Relation, warehouse.Relation, error) {
	b, err := parseRelation(base)
	if err != nil {
		return b, b, fmt.Errorf("--base: %w", err)
	}
	h, err := parseRelation(head)
	if err != nil {
		return b, h, fmt.Errorf("--head: %w", err)
	}
	return b, h, nil
}

// parseRelation reads schema.name, each part optionally "quoted".
func parseRelation(s string) (warehouse.Relation, error) {
	var parts []string
	cur, quoted := strings.Builder{}, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
		case c == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if quoted || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return warehouse.Relation{}, fmt.Errorf("%q is not schema.name", s)
	}
	return warehouse.Relation{Schema: parts[0], Name: parts[1]}, nil
}

// printDiff writes a diff for a person.
func printDiff(w io.Writer, title string, r *datadiff.Result) {
	rel := func(s datadiff.Side) string {
		q := `"` + s.Relation.Schema + `"."` + s.Relation.Name + `"`
		if !s.Exists {
			return q + " (missing)"
		}
		return fmt.Sprintf("%s: %d rows", q, s.Rows)
	}
	if title != "" {
		fmt.Fprintf(w, "== %s\n", title)
	}
	fmt.Fprintf(w, "base %s\nhead %s\n", rel(r.Base), rel(r.Head))
	if len(r.Key) > 0 {
		fmt.Fprintf(w, "key  %s\n", strings.Join(r.Key, ", "))
	}
	switch {
	case !r.Base.Exists:
		fmt.Fprintln(w, "The relation is new: every head row is added.")
	case !r.Head.Exists:
		fmt.Fprintln(w, "The relation was removed: every base row is gone.")
	}
	for _, c := range r.Schema.Added {
		fmt.Fprintf(w, "column added:   %s %s\n", c.Name, c.Type)
	}
	for _, c := range r.Schema.Removed {
		fmt.Fprintf(w, "column removed: %s %s\n", c.Name, c.Type)
	}
	for _, c := range r.Schema.Retyped {
		fmt.Fprintf(w, "column retyped: %s %s -> %s\n", c.Name, c.BaseType, c.HeadType)
	}
	for _, s := range []struct {
		name string
		side datadiff.Side
	}{{"base", r.Base}, {"head", r.Head}} {
		if s.side.NullKeys > 0 {
			fmt.Fprintf(w, "%s: %d rows with a NULL key, not compared\n", s.name, s.side.NullKeys)
		}
		if s.side.DuplicateKeys > 0 {
			fmt.Fprintf(w, "%s: %d duplicated keys, not compared (for example %s)\n", s.name, s.side.DuplicateKeys, formatKeys(s.side.DuplicateSample))
		}
	}
	if len(r.Key) == 0 {
		return
	}
	fmt.Fprintf(w, "rows: %d only in base, %d only in head, %d changed, %d unchanged\n", r.OnlyInBase, r.OnlyInHead, r.Changed, r.Unchanged)
	if len(r.Columns) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "COLUMN\tCHANGED\tMATCH")
		for _, c := range r.Columns {
			fmt.Fprintf(tw, "%s\t%d\t%.2f%%\n", c.Name, c.Changed, c.MatchPercent)
		}
		tw.Flush()
	}
	printRows := func(label string, rows []datadiff.Row) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", label)
		for _, row := range rows {
			var vals []string
			for _, k := range sortedNames(row.Values) {
				vals = append(vals, k+"="+report.Value(row.Values[k]))
			}
			fmt.Fprintf(w, "  %s  %s\n", formatKey(row.Key), strings.Join(vals, " "))
		}
	}
	printRows("only in base", r.Samples.OnlyInBase)
	printRows("only in head", r.Samples.OnlyInHead)
	if len(r.Samples.Changed) > 0 {
		fmt.Fprintln(w, "changed (base -> head):")
		for _, row := range r.Samples.Changed {
			var vals []string
			for _, k := range sortedNames(row.Changes) {
				vals = append(vals, fmt.Sprintf("%s: %s -> %s", k, report.Value(row.Changes[k][0]), report.Value(row.Changes[k][1])))
			}
			fmt.Fprintf(w, "  %s  %s\n", formatKey(row.Key), strings.Join(vals, ", "))
		}
	}
	if r.Algorithm == "hashdiff" {
		fmt.Fprintf(w, "rows transferred: %d\n", r.RowsTransferred)
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func formatKey(key []any) string {
	parts := make([]string, len(key))
	for i, v := range key {
		parts[i] = report.Value(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func formatKeys(keys [][]any) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = formatKey(k)
	}
	return strings.Join(parts, " ")
}
