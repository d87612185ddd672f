package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Suffixes of the names a model is built under before the swap.
const (
	tmpSuffix    = "__dataops_tmp"
	backupSuffix = "__dataops_old"
	incrSuffix   = "__dataops_incr"
)

func (b *builder) buildModel(ctx context.Context, n *project.Node, res *NodeResult) {
	rel := toRel(n.Relation)
	kind := n.Config.Materialized
	sql, lineMap := b.m.SQLFor(n, false, b.resolve)
	incremental := false
	if kind == "incremental" {
		exists, err := b.w.RelationExists(ctx, rel)
		if err != nil {
			b.fail(n, res, err, "", nil)
			return
		}
		if exists && !b.opts.FullRefresh && !b.opts.FullRefreshOf[n.UniqueID] {
			incremental = true
			sql, lineMap = b.m.SQLFor(n, true, b.resolve)
		}
	}
	pre, post := b.m.Hooks(n, b.resolve)
	err := b.w.InTransaction(ctx, func(tx warehouse.Execer) error {
		for _, h := range pre {
			if err := tx.Exec(ctx, h); err != nil {
				return hookError{"pre_hook", h, err}
			}
		}
		var err error
		switch {
		case incremental && b.opts.KeepPrevious != nil:
			err = b.mergeCopy(ctx, tx, n, rel, sql)
		case incremental:
			err = b.mergeIncremental(ctx, tx, n, rel, sql)
		case kind == "view":
			err = b.replace(ctx, tx, rel, "view", sql)
		default: // table, and incremental on its first build
			err = b.replace(ctx, tx, rel, "table", sql)
		}
		if err != nil {
			return err
		}
		for _, h := range post {
			if err := tx.Exec(ctx, h); err != nil {
				return hookError{"post_hook", h, err}
			}
		}
		return nil
	})
	if err != nil {
		b.fail(n, res, err, sql, lineMap)
		return
	}
	res.Status = StatusSuccess
	if incremental {
		res.Materialized = "incremental (merge)"
		if len(n.Config.UniqueKey) == 0 {
			res.Materialized = "incremental (append)"
		}
	}
	if kind != "view" {
		res.Rows = b.count(ctx, rel)
	}
}

type hookError struct {
	which, sql string
	err        error
}

func (e hookError) Error() string { return fmt.Sprintf("%s %q: %v", e.which, e.sql, e.err) }
func (e hookError) Unwrap() error { return e.err }

// replace builds sql as a view or table under a temporary name and swaps
// it in for rel, in the caller's transaction.
func (b *builder) replace(ctx context.Context, tx warehouse.Execer, rel warehouse.Relation, kind, sql string) error {
	tmp := b.sibling(rel, tmpSuffix)
	backup := b.sibling(rel, backupSuffix)
	// One catalog lookup for all three names: on DuckDB each costs
	// milliseconds in a large schema.
	kinds, err := relationKinds(ctx, tx, rel.Schema, rel.Name, tmp.Name, backup.Name)
	if err != nil {
		return err
	}
	// Leftovers from a run killed between statements on an engine that did
	// not roll its DDL back; clear them.
	for _, r := range []warehouse.Relation{tmp, backup} {
		if k := kinds[r.Name]; k != "" {
			if err := tx.Exec(ctx, fmt.Sprintf("drop %s %s cascade", k, b.d.QuoteRelation(r))); err != nil {
				return err
			}
		}
	}
	if err := tx.Exec(ctx, fmt.Sprintf("create %s %s as ", kind, b.d.QuoteRelation(tmp))+sql); err != nil {
		return err
	}
	if b.opts.KeepPrevious != nil {
		return b.keepSwap(ctx, tx, rel, tmp, kind)
	}
	old := kinds[rel.Name]
	if old != "" {
		if err := tx.Exec(ctx, fmt.Sprintf("alter %s %s rename to %s", old, b.d.QuoteRelation(rel), b.d.QuoteIdent(backup.Name))); err != nil {
			return err
		}
	}
	if err := tx.Exec(ctx, fmt.Sprintf("alter %s %s rename to %s", kind, b.d.QuoteRelation(tmp), b.d.QuoteIdent(rel.Name))); err != nil {
		return err
	}
	if old != "" {
		// CASCADE drops views built on the old version (PostgreSQL tracks
		// them); they are downstream and rebuilt later in this run when
		// selected, as dbt does.
		if err := tx.Exec(ctx, fmt.Sprintf("drop %s %s cascade", old, b.d.QuoteRelation(backup))); err != nil {
			return err
		}
	}
	return nil
}

// mergeIncremental applies an incremental model's new rows: with a unique
// key, rows whose key is already present are replaced (delete, then
// insert, which both engines run the same way); without one they are
// appended.
func (b *builder) mergeIncremental(ctx context.Context, tx warehouse.Execer, n *project.Node, rel warehouse.Relation, sql string) error {
	return b.mergeInto(ctx, tx, n, rel, rel, sql)
}

// mergeInto merges the model's new rows into the table into: rel itself,
// or a copy of it when a deploy keeps the previous version (mergeCopy).
func (b *builder) mergeInto(ctx context.Context, tx warehouse.Execer, n *project.Node, rel, into warehouse.Relation, sql string) error {
	staged := b.sibling(rel, incrSuffix)
	if err := b.dropIfExists(ctx, tx, staged); err != nil {
		return err
	}
	if err := tx.Exec(ctx, fmt.Sprintf("create table %s as ", b.d.QuoteRelation(staged))+sql); err != nil {
		return err
	}
	cols, err := columnNames(ctx, tx, into)
	if err != nil {
		return err
	}
	newCols, err := columnNames(ctx, tx, staged)
	if err != nil {
		return err
	}
	if added, removed := columnChanges(cols, newCols); len(added)+len(removed) > 0 {
		return fmt.Errorf("%s's columns changed (added: %s; removed: %s), and an incremental model keeps the rows it has: rebuild it in full with dataops build --select %s --full-refresh",
			n.Name, listOrNone(added), listOrNone(removed), n.Name)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = b.d.QuoteIdent(c)
	}
	if len(n.Config.UniqueKey) > 0 {
		var match []string
		for _, k := range n.Config.UniqueKey {
			qk := b.d.QuoteIdent(k)
			match = append(match, fmt.Sprintf("s.%s = t.%s", qk, qk))
		}
		del := fmt.Sprintf("delete from %s as t where exists (select 1 from %s as s where %s)",
			b.d.QuoteRelation(into), b.d.QuoteRelation(staged), strings.Join(match, " and "))
		if err := tx.Exec(ctx, del); err != nil {
			return err
		}
	}
	list := strings.Join(quoted, ", ")
	ins := fmt.Sprintf("insert into %s (%s) select %s from %s", b.d.QuoteRelation(into), list, list, b.d.QuoteRelation(staged))
	if err := tx.Exec(ctx, ins); err != nil {
		return fmt.Errorf("%w (if the model's columns changed, rebuild it with --full-refresh)", err)
	}
	return tx.Exec(ctx, "drop table "+b.d.QuoteRelation(staged))
}

// columnChanges compares column names, ignoring case.
func columnChanges(old, new []string) (added, removed []string) {
	has := func(list []string, name string) bool {
		for _, c := range list {
			if strings.EqualFold(c, name) {
				return true
			}
		}
		return false
	}
	for _, c := range new {
		if !has(old, c) {
			added = append(added, c)
		}
	}
	for _, c := range old {
		if !has(new, c) {
			removed = append(removed, c)
		}
	}
	return added, removed
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func (b *builder) buildSeed(ctx context.Context, n *project.Node, res *NodeResult) {
	rel := toRel(n.Relation)
	var rows int64
	err := b.w.InTransaction(ctx, func(tx warehouse.Execer) error {
		tmp := b.sibling(rel, tmpSuffix)
		if err := b.dropIfExists(ctx, tx, tmp); err != nil {
			return err
		}
		var err error
		rows, err = LoadSeed(ctx, tx, tmp, n.RawSQL, n.Config.ColumnTypes)
		if err != nil {
			return err
		}
		if b.opts.KeepPrevious != nil {
			return b.keepSwap(ctx, tx, rel, tmp, "table")
		}
		if err := b.dropIfExists(ctx, tx, rel); err != nil {
			return err
		}
		return tx.Exec(ctx, fmt.Sprintf("alter table %s rename to %s", b.d.QuoteRelation(tmp), b.d.QuoteIdent(rel.Name)))
	})
	if err != nil {
		b.fail(n, res, err, "", nil)
		return
	}
	res.Status = StatusSuccess
	res.Rows = rows
}

// sibling names a relation beside rel, cut to the engine's identifier limit.
func (b *builder) sibling(rel warehouse.Relation, suffix string) warehouse.Relation {
	name := rel.Name
	if max := b.d.MaxIdentifierLength() - len(suffix); len(name) > max {
		name = name[:max]
		for !utf8.ValidString(name) {
			name = name[:len(name)-1]
		}
	}
	return warehouse.Relation{Schema: rel.Schema, Name: name + suffix}
}

func (b *builder) dropIfExists(ctx context.Context, tx warehouse.Execer, rel warehouse.Relation) error {
	kinds, err := relationKinds(ctx, tx, rel.Schema, rel.Name)
	if err != nil || kinds[rel.Name] == "" {
		return err
	}
	return tx.Exec(ctx, fmt.Sprintf("drop %s %s cascade", kinds[rel.Name], b.d.QuoteRelation(rel)))
}

// relationKinds maps each of the names that exists in schema to "table" or
// "view".
func relationKinds(ctx context.Context, ex warehouse.Execer, schema string, names ...string) (map[string]string, error) {
	d := ex.Dialect()
	args := []any{schema}
	marks := make([]string, len(names))
	for i, n := range names {
		args = append(args, n)
		marks[i] = d.Placeholder(i + 2)
	}
	rows, err := ex.Query(ctx, fmt.Sprintf("select table_name, table_type from information_schema.tables where table_schema = %s and table_name in (%s)",
		d.Placeholder(1), strings.Join(marks, ", ")), args...)
	if err != nil {
		return nil, fmt.Errorf("look up %s in schema %s: %w", strings.Join(names, ", "), d.QuoteIdent(schema), err)
	}
	kinds := map[string]string{}
	for _, r := range rows.Values {
		kind := "table"
		if strings.Contains(strings.ToUpper(fmt.Sprint(r[1])), "VIEW") {
			kind = "view"
		}
		kinds[fmt.Sprint(r[0])] = kind
	}
	return kinds, nil
}

func columnNames(ctx context.Context, ex warehouse.Execer, rel warehouse.Relation) ([]string, error) {
	d := ex.Dialect()
	rows, err := ex.Query(ctx, fmt.Sprintf("select column_name from information_schema.columns where table_schema = %s and table_name = %s order by ordinal_position",
		d.Placeholder(1), d.Placeholder(2)), rel.Schema, rel.Name)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", d.QuoteRelation(rel), err)
	}
	out := make([]string, len(rows.Values))
	for i, r := range rows.Values {
		out[i] = fmt.Sprint(r[0])
	}
	return out, nil
}

func (b *builder) count(ctx context.Context, rel warehouse.Relation) int64 {
	rows, err := b.w.Query(ctx, "select count(*) from "+b.d.QuoteRelation(rel))
	if err != nil || len(rows.Values) == 0 {
		return -1
	}
	return toInt64(rows.Values[0][0])
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	}
	var n int64
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

// fail records an error, locating it in the node's source file when the
// engine said where in the SQL it happened.
func (b *builder) fail(n *project.Node, res *NodeResult, err error, sql string, lineMap []int) {
	res.Status = StatusError
	f := &Failure{Path: n.Path, Line: n.Line, Message: err.Error()}
	var seedErr *SeedError
	if errors.As(err, &seedErr) && seedErr.Line > 0 {
		f.Line = seedErr.Line
	}
	var se *warehouse.SQLError
	if errors.As(err, &se) {
		// DuckDB appends "Did you mean ..." guesses from the whole
		// catalog, usually a system table; the first line says it all.
		f.Message, _, _ = strings.Cut(se.Message, "\n")
		if se.Hint != "" {
			f.Message += " (hint: " + se.Hint + ")"
		}
		if line, col, ok := locate(se, sql, lineMap, n.RawSQL); ok {
			f.Line, f.Col = line, col
		}
		var he hookError
		if errors.As(err, &he) {
			f.Message = he.which + ": " + f.Message
		}
	}
	f.Message = b.opts.Mask.Message(f.Message)
	res.Failure = f
	res.Message = f.String()
}

// locate maps an engine's error position, which is relative to the
// statement it ran, to a line (and, where the line was copied verbatim,
// a column) of the template the user wrote.
func locate(se *warehouse.SQLError, sql string, lineMap []int, source string) (int, int, bool) {
	if se.Position <= 0 || sql == "" {
		return 0, 0, false
	}
	start := strings.Index(se.Query, sql)
	if start < 0 {
		return 0, 0, false
	}
	// Position counts characters; convert the statement's prefix too.
	pos := se.Position - utf8.RuneCountInString(se.Query[:start])
	line, col := warehouse.LineColumn(sql, pos)
	if line == 0 || line > len(lineMap) {
		return 0, 0, false
	}
	src := lineMap[line-1]
	for i := line - 1; src == 0 && i >= 0; i-- {
		src = lineMap[i]
	}
	if src == 0 {
		return 0, 0, false
	}
	compiledLine := strings.Split(sql, "\n")[line-1]
	sourceLines := strings.Split(source, "\n")
	if lineMap[line-1] == src && src <= len(sourceLines) && sourceLines[src-1] == compiledLine {
		return src, col, true
	}
	return src, 0, true
}
