package datadiff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Join compares opts.Base with opts.Head, two relations in the warehouse w,
// by key, in one SQL statement: a full outer join on the key whose rows are
// folded into aggregates, so that only counts and a few sample rows leave
// the warehouse. Its cost is one join of the two relations plus one count
// scan of each.
//
// The statement computes, in one snapshot:
//
//   - per side, its rows and the rows with a NULL in a key column (a plain
//     scan each, about a tenth of the join's cost);
//   - over the join: matched rows, rows only in base and
//     only in head, and for matched rows, per compared column, how many
//     differ (NULL-safe, Options.Tolerance for numbers, timestamps at the
//     coarser precision, other retyped columns as text: see
//     NewComparison), and how many differ in any column;
//   - the number of distinct keys among the unmatched rows of each side;
//   - samples: for each category, Sample rows spread over the category
//     (percentile_disc at evenly spaced fractions of its rows ordered by
//     their JSON text, which starts with the key: exactly min(Sample, rows)
//     distinct rows), the JSON built only for the rows in the category.
//
// Duplicated keys are found without counting distinct keys over all rows:
// a key held by m rows in base and n rows in head gives m*n join rows, so
// the matched join rows equal the matched rows of base (its rows less its
// NULL keys and unmatched rows) only when no matched key is duplicated in
// head, and the other way round; duplicates among unmatched keys show as
// fewer distinct keys than rows. Only when a side has duplicated keys does
// Join run more statements: one per such side to count and sample its
// duplicated keys, and the comparison again without the rows whose key is
// duplicated on their side. Such rows, and rows with a NULL key, are never
// matched: they are counted on their Side (NullKeys, DuplicateKeys), and a
// single row on the other side with that key counts as only in that side.
//
// A relation missing on one side is not an error: the other side's rows are
// all only in it. Without a key Join returns the row counts and schema diff
// with an error wrapping ErrNoKey.
//
// opts.Where is SQL from the user (the command line or the project's
// configuration), trusted like the models themselves: it is pasted into
// the statements as a predicate on each relation. Identifiers are quoted
// by the warehouse's Dialect and the tolerance is a bound parameter.
func Join(ctx context.Context, w warehouse.Warehouse, opts Options) (*Result, error) {
	res, err := join(ctx, w, opts)
	res.maskSamples(opts.Mask)
	return res, err
}

func join(ctx context.Context, w warehouse.Warehouse, opts Options) (*Result, error) {
	d := w.Dialect()
	res := &Result{
		Algorithm: "join",
		Key:       opts.Key,
		Base:      Side{Relation: opts.Base},
		Head:      Side{Relation: opts.Head},
	}
	what := "join diff " + d.QuoteRelation(opts.Base) + " with " + d.QuoteRelation(opts.Head)
	if math.IsNaN(opts.Tolerance) || math.IsInf(opts.Tolerance, 0) || opts.Tolerance < 0 {
		return res, fmt.Errorf("%s: tolerance must be a number >= 0, not %v", what, opts.Tolerance)
	}
	if opts.Sample == 0 {
		opts.Sample = 5
	}
	opts.Sample = max(opts.Sample, 0)

	j := &joinRun{w: w, d: d, opts: opts, res: res}
	j.base = &joinSide{name: "base", rel: opts.Base, out: &res.Base}
	j.head = &joinSide{name: "head", rel: opts.Head, out: &res.Head}
	if err := j.loadColumns(ctx); err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	res.Schema = DiffSchema(res.Base.Columns, res.Head.Columns)
	if len(opts.Key) == 0 {
		if err := j.countRows(ctx); err != nil {
			return res, fmt.Errorf("%s: %w", what, err)
		}
		return res, fmt.Errorf("%s: %w: only row counts and columns were compared; to compare rows, set unique_key in the model's config or add a unique test on a column", what, ErrNoKey)
	}
	if err := j.plan(); err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	if err := j.run(ctx); err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	return res, nil
}

// joinSide is one relation and what Join learnt about it.
type joinSide struct {
	name    string // "base" or "head"
	rel     warehouse.Relation
	out     *Side
	keyCols []warehouse.Column
	cols    []warehouse.Column // the compared columns, in Comparison order
	// duplicates: the side has duplicated keys; its statements leave out
	// their rows.
	duplicates bool
}

type joinRun struct {
	w          warehouse.Warehouse
	d          warehouse.Dialect
	opts       Options
	res        *Result
	base, head *joinSide
	keys       []Comparison
	cols       []Comparison
}

func (j *joinRun) sides() []*joinSide { return []*joinSide{j.base, j.head} }

func (j *joinRun) loadColumns(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range j.sides() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cols, err := j.w.Columns(ctx, s.rel)
			switch {
			case errors.Is(err, warehouse.ErrRelationNotFound):
			case err != nil:
				errs[i] = fmt.Errorf("%s: %w", s.name, err)
			default:
				s.out.Exists, s.out.Columns = true, cols
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !j.base.out.Exists && !j.head.out.Exists {
		return fmt.Errorf("neither %s nor %s exists: %w", j.d.QuoteRelation(j.base.rel), j.d.QuoteRelation(j.head.rel), warehouse.ErrRelationNotFound)
	}
	return nil
}

// countRows fills Side.Rows when there is no key to compare by.
func (j *joinRun) countRows(ctx context.Context) error {
	var sel []string
	var sides []*joinSide
	for _, s := range j.sides() {
		if s.out.Exists {
			sel = append(sel, "(SELECT count(*) FROM "+j.d.QuoteRelation(s.rel)+whereSQL(j.opts.Where)+")")
			sides = append(sides, s)
		}
	}
	rows, err := j.w.Query(ctx, "SELECT "+strings.Join(sel, ", "))
	if err != nil {
		return fmt.Errorf("count rows: %w", err)
	}
	for i, s := range sides {
		if s.out.Rows, err = countValue(rows.Values[0][i]); err != nil {
			return fmt.Errorf("count rows: %w", err)
		}
	}
	return nil
}

// plan resolves the key and compared columns on each side and how each is
// compared.
func (j *joinRun) plan() error {
	columnNames := func(cols []warehouse.Column) string {
		var names []string
		for _, c := range cols {
			names = append(names, strconv.Quote(c.Name))
		}
		return strings.Join(names, ", ")
	}
	for _, s := range j.sides() {
		if !s.out.Exists {
			continue
		}
		for _, k := range j.opts.Key {
			c, ok := FindColumn(s.out.Columns, k)
			if !ok {
				return fmt.Errorf("key column %q is not in %s %s (its columns: %s)", k, s.name, j.d.QuoteRelation(s.rel), columnNames(s.out.Columns))
			}
			s.keyCols = append(s.keyCols, c)
		}
	}
	// A missing side takes the other side's columns: its (empty) rows are
	// selected from the other relation, with the same types.
	first, other := j.base, j.head
	if !first.out.Exists {
		first, other = j.head, j.base
	}
	if !other.out.Exists {
		other.keyCols = first.keyCols
	}
	for i := range j.opts.Key {
		j.keys = append(j.keys, NewComparison(j.opts.Key[i], j.base.keyCols[i], j.head.keyCols[i]))
	}

	isKey := func(name string) bool {
		return slices.ContainsFunc(first.keyCols, func(c warehouse.Column) bool { return strings.EqualFold(c.Name, name) })
	}
	names := slices.Clone(j.opts.Columns)
	if len(names) == 0 {
		// every column both sides have (one side's, when the other is
		// missing), in base order
		for _, c := range first.out.Columns {
			if _, ok := FindColumn(other.out.Columns, c.Name); ok || !other.out.Exists {
				names = append(names, c.Name)
			}
		}
	}
	for _, name := range names {
		if isKey(name) {
			continue
		}
		var found [2]warehouse.Column
		for i, s := range j.sides() {
			if !s.out.Exists {
				continue
			}
			c, ok := FindColumn(s.out.Columns, name)
			if !ok {
				return fmt.Errorf("column %q to compare is not in %s %s (its columns: %s)", name, s.name, j.d.QuoteRelation(s.rel), columnNames(s.out.Columns))
			}
			found[i] = c
		}
		if !j.base.out.Exists {
			found[0] = found[1]
		}
		if !j.head.out.Exists {
			found[1] = found[0]
		}
		j.base.cols = append(j.base.cols, found[0])
		j.head.cols = append(j.head.cols, found[1])
		j.cols = append(j.cols, NewComparison(found[0].Name, found[0], found[1]))
	}
	return nil
}

// source is the SQL of one side's rows, as a derived table with columns
// k0.. (the key) and c0.. (the compared columns): the relation filtered by
// Where and, when the side has duplicated keys, without their rows. A
// missing side is the other side's select with no rows, so that its
// columns have the same types.
func (j *joinRun) source(s *joinSide) string {
	if !s.out.Exists {
		other := j.base
		if s == j.base {
			other = j.head
		}
		return "(SELECT * FROM " + j.source(other) + " other WHERE 1 = 0)"
	}
	rel := j.d.QuoteRelation(s.rel)
	var sel []string
	for i, c := range s.keyCols {
		sel = append(sel, j.d.QuoteIdent(c.Name)+" AS k"+strconv.Itoa(i))
	}
	for i, c := range s.cols {
		sel = append(sel, j.d.QuoteIdent(c.Name)+" AS c"+strconv.Itoa(i))
	}
	exclude := ""
	if s.duplicates {
		// The anti-join refers to the relation by its name, not an alias,
		// since the user's Where may too.
		var on []string
		for _, c := range s.keyCols {
			q := j.d.QuoteIdent(c.Name)
			on = append(on, "dup."+q+" = "+rel+"."+q)
		}
		exclude = "NOT EXISTS (SELECT 1 FROM (" + j.duplicatedKeysSQL(s) + ") dup WHERE " + strings.Join(on, " AND ") + ")"
	}
	return "(SELECT " + strings.Join(sel, ", ") + " FROM " + rel + whereSQL(j.opts.Where, exclude) + ")"
}

// duplicatedKeysSQL selects the key values held by more than one row of s,
// named as the key columns.
func (j *joinRun) duplicatedKeysSQL(s *joinSide) string {
	var keys, notNull []string
	for _, c := range s.keyCols {
		q := j.d.QuoteIdent(c.Name)
		keys = append(keys, q)
		notNull = append(notNull, q+" IS NOT NULL")
	}
	return "SELECT " + strings.Join(keys, ", ") + " FROM " + j.d.QuoteRelation(s.rel) +
		whereSQL(j.opts.Where, strings.Join(notNull, " AND ")) +
		" GROUP BY " + strings.Join(keys, ", ") + " HAVING count(*) > 1"
}

// countSQL counts a side's rows and its rows with a NULL key.
func (j *joinRun) countSQL(s *joinSide) string {
	if !s.out.Exists {
		return "(SELECT 0 AS n, 0 AS nk)"
	}
	var isNull []string
	for _, c := range s.keyCols {
		isNull = append(isNull, j.d.QuoteIdent(c.Name)+" IS NULL")
	}
	return "(SELECT count(*) AS n, count(*) FILTER (WHERE " + strings.Join(isNull, " OR ") + ") AS nk FROM " +
		j.d.QuoteRelation(s.rel) + whereSQL(j.opts.Where) + ")"
}

// joinCounts is what the comparison statement returns.
type joinCounts struct {
	rows, nullKeys   [2]int64   // per side
	matched          int64      // matched join rows: sum over matched keys of base rows * head rows
	only, onlyKeys   [2]int64   // unmatched rows with a non-NULL key, and their distinct keys
	changed          int64      // matched join rows differing in any compared column
	columns          []int64    // matched join rows differing in each compared column
	samples          [3][][]any // per category, the rows' values as decoded JSON
	samplesRequested bool
}

// Sample categories, in the statement's order.
const (
	sampleOnlyBase = iota
	sampleOnlyHead
	sampleChanged
)

// compareSQL is the comparison, one aggregate over the join, and its
// arguments.
func (j *joinRun) compareSQL() (string, []any) {
	d := j.d
	var args []any
	tolerance := ""
	if j.opts.Tolerance > 0 && slices.ContainsFunc(j.cols, func(c Comparison) bool { return c.Tolerant }) {
		// Bound as text and cast where used, so that PostgreSQL deduces one
		// type for the parameter whether it becomes numeric or double.
		args = append(args, strconv.FormatFloat(j.opts.Tolerance, 'g', -1, 64))
		tolerance = "CAST(" + d.Placeholder(len(args)) + " AS " + TypesFor(d).Text + ")"
	}
	nk := len(j.keys)
	ks := func(prefix string) []string {
		out := make([]string, nk)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i)
		}
		return out
	}
	notNull := func(cols []string) string {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = c + " IS NOT NULL"
		}
		return strings.Join(parts, " AND ")
	}

	// The join, projecting per-row flags once: the aggregates above read
	// them as plain columns. On PostgreSQL, OFFSET 0 keeps the planner from
	// pulling the subquery up and evaluating each comparison once per
	// aggregate (DuckDB is left without it: a LIMIT or OFFSET constrains
	// its parallel plans).
	var on, proj []string
	for i, k := range j.keys {
		on = append(on, k.EqualSQL(d, "a.k"+strconv.Itoa(i), "b.k"+strconv.Itoa(i)))
	}
	proj = append(proj,
		"a.k0 IS NOT NULL AND b.k0 IS NOT NULL AS m",
		"b.k0 IS NULL AND "+notNull(ks("a.k"))+" AS oa",
		"a.k0 IS NULL AND "+notNull(ks("b.k"))+" AS ob")
	for i, c := range j.cols {
		n := strconv.Itoa(i)
		proj = append(proj, c.DistinctSQL(d, "a.c"+n, "b.c"+n, tolerance)+" AS d"+n)
	}
	for i := range nk {
		n := strconv.Itoa(i)
		proj = append(proj, "a.k"+n+" AS ak"+n, "b.k"+n+" AS bk"+n)
	}
	if j.opts.Sample > 0 {
		for i := range j.cols {
			n := strconv.Itoa(i)
			proj = append(proj, "a.c"+n+" AS ac"+n, "b.c"+n+" AS bc"+n)
		}
	}
	joined := "SELECT " + strings.Join(proj, ", ") + " FROM " + j.source(j.base) + " a FULL OUTER JOIN " +
		j.source(j.head) + " b ON " + strings.Join(on, " AND ")
	if d.Name() == "postgres" {
		joined += " OFFSET 0"
	}

	rowOf := func(cols []string) string {
		if len(cols) == 1 {
			return cols[0]
		}
		return "row(" + strings.Join(cols, ", ") + ")"
	}
	aggs := []string{
		"count(*) FILTER (WHERE m)",
		"count(*) FILTER (WHERE oa)",
		"count(*) FILTER (WHERE ob)",
		"count(DISTINCT " + rowOf(ks("ak")) + ") FILTER (WHERE oa)",
		"count(DISTINCT " + rowOf(ks("bk")) + ") FILTER (WHERE ob)",
	}
	var anyChanged []string
	for i := range j.cols {
		n := strconv.Itoa(i)
		aggs = append(aggs, "count(*) FILTER (WHERE m AND d"+n+")")
		anyChanged = append(anyChanged, "d"+n)
	}
	changed := "false"
	if len(anyChanged) > 0 {
		changed = "(" + strings.Join(anyChanged, " OR ") + ")"
		aggs = append(aggs, "count(*) FILTER (WHERE m AND "+changed+")")
	}
	if j.opts.Sample > 0 {
		aggs = append(aggs,
			j.sampleAgg(j.sampleElems("a", j.base), "oa"),
			j.sampleAgg(j.sampleElems("b", j.head), "ob"),
			j.sampleAgg(j.changedElems(), "m AND "+changed))
	}
	return "SELECT " + strings.Join(aggs, ", ") + " FROM (" + joined + ") j", args
}

// sampleElems are the values of a sample row of side s ("a" or "b"): its
// key, then its compared values.
func (j *joinRun) sampleElems(alias string, s *joinSide) []string {
	var elems []string
	for i, c := range s.keyCols {
		elems = append(elems, j.sampleElem(alias+"k"+strconv.Itoa(i), c.Type))
	}
	for i, c := range s.cols {
		elems = append(elems, j.sampleElem(alias+"c"+strconv.Itoa(i), c.Type))
	}
	return elems
}

// changedElems are the values of a changed sample row: its key, then for
// each compared column the base and head values when they differ, else two
// NULLs (a difference always has a non-NULL side). Carrying only the
// differing values keeps the cost low when most rows change in one column.
func (j *joinRun) changedElems() []string {
	var elems []string
	for i, c := range j.base.keyCols {
		elems = append(elems, j.sampleElem("ak"+strconv.Itoa(i), c.Type))
	}
	for i := range j.cols {
		n := strconv.Itoa(i)
		elems = append(elems,
			"CASE WHEN d"+n+" THEN "+j.sampleElem("ac"+n, j.base.cols[i].Type)+" END",
			"CASE WHEN d"+n+" THEN "+j.sampleElem("bc"+n, j.head.cols[i].Type)+" END")
	}
	return elems
}

// sampleElem is a sample value as the sample aggregate carries it: an
// element of a JSON array (see SampleJSONElement).
func (j *joinRun) sampleElem(expr, typ string) string {
	return SampleJSONElement(j.d, expr, typ)
}

// sampleAgg picks Sample rows of a category, spread over it in the order
// of their JSON text, which starts with the key: percentile_disc at
// fractions (i-0.5)/Sample, i = 1..Sample, which hit min(Sample, rows)
// distinct rows (and some twice when there are fewer rows than samples).
// Only the rows in the category are turned into JSON and sorted (spilling
// to disk if there are many), never all rows: PostgreSQL evaluates FILTER
// before the aggregate's argument; DuckDB computes arguments for every row
// before filtering, except inside a CASE.
//
// (Sorting PostgreSQL records instead, and turning only the chosen ones
// into JSON, measured slower: a record costs little to build but much to
// compare, while text in the "C" collation sorts on abbreviated keys.)
func (j *joinRun) sampleAgg(elems []string, filter string) string {
	fractions := make([]string, j.opts.Sample)
	for i := range fractions {
		fractions[i] = strconv.FormatFloat((float64(i)+0.5)/float64(j.opts.Sample), 'g', -1, 64)
	}
	text := JSONArraySQL(j.d, elems)
	if j.d.Name() == "duckdb" {
		return "percentile_disc([" + strings.Join(fractions, ", ") + "]) WITHIN GROUP (ORDER BY CASE WHEN " + filter + " THEN " +
			text + " END) FILTER (WHERE " + filter + ")"
	}
	return "CAST(array_to_json(percentile_disc(CAST(ARRAY[" + strings.Join(fractions, ", ") + "] AS double precision[])) WITHIN GROUP (ORDER BY " +
		text + " COLLATE \"C\") FILTER (WHERE " + filter + ")) AS text)"
}

// compare runs the comparison; with counts, the side counts too, in the
// same snapshot.
func (j *joinRun) compare(ctx context.Context, counts bool) (*joinCounts, error) {
	query, args := j.compareSQL()
	if counts {
		// The counts are scans of their own; in the same statement, so in
		// the same snapshot as the join. (Run on a second connection in an
		// exported snapshot, to use a core the single-process join leaves
		// idle, they slowed the join down by more than they took.)
		query = "SELECT ca.n, ca.nk, cb.n, cb.nk, m.* FROM " + j.countSQL(j.base) + " ca, " + j.countSQL(j.head) + " cb, (" + query + ") m"
	}
	v, err := j.queryRow(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if !counts {
		v = append([]any{nil, nil, nil, nil}, v...)
	}
	var c joinCounts
	next := 0
	count := func() int64 {
		if err != nil || next >= len(v) {
			if err == nil {
				err = fmt.Errorf("compare: %d result columns, want more", len(v))
			}
			return 0
		}
		n, e := countValue(v[next])
		next++
		if e != nil {
			err = fmt.Errorf("compare: column %d: %w", next, e)
		}
		return n
	}
	c.rows[0], c.nullKeys[0], c.rows[1], c.nullKeys[1] = count(), count(), count(), count()
	c.matched, c.only[0], c.only[1], c.onlyKeys[0], c.onlyKeys[1] = count(), count(), count(), count(), count()
	c.columns = make([]int64, len(j.cols))
	for i := range j.cols {
		c.columns[i] = count()
	}
	if len(j.cols) > 0 {
		c.changed = count()
	}
	if err != nil {
		return nil, err
	}
	if j.opts.Sample > 0 {
		c.samplesRequested = true
		for i := range c.samples {
			if next >= len(v) {
				return nil, fmt.Errorf("compare: %d result columns, want more", len(v))
			}
			if c.samples[i], err = sampleRows(v[next]); err != nil {
				return nil, fmt.Errorf("compare: samples: %w", err)
			}
			next++
		}
	}
	return &c, nil
}

// queryRow runs a query that returns one row.
func (j *joinRun) queryRow(ctx context.Context, query string, args []any) ([]any, error) {
	rows, err := j.w.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	if len(rows.Values) != 1 {
		return nil, fmt.Errorf("%d result rows, want 1", len(rows.Values))
	}
	return rows.Values[0], nil
}

// sampleRows decodes the samples of a category, NULL when it is empty: a
// JSON array of JSON texts from PostgreSQL, a list of them from DuckDB. A
// category with fewer rows than samples gives some rows more than once,
// next to each other.
func sampleRows(v any) ([][]any, error) {
	var texts []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return sampleRows(string(x))
	case string:
		if err := json.Unmarshal([]byte(x), &texts); err != nil {
			return nil, fmt.Errorf("decode samples: %w", err)
		}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("unexpected sample %v (%T)", e, e)
			}
			texts = append(texts, s)
		}
	default:
		return nil, fmt.Errorf("unexpected samples %v (%T)", v, v)
	}
	var out [][]any
	for _, text := range slices.Compact(texts) {
		vals, err := decodeJSONArray(text)
		if err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, nil
}

func (j *joinRun) run(ctx context.Context) error {
	c, err := j.compare(ctx, true)
	if err != nil {
		return err
	}
	for i, s := range j.sides() {
		s.out.Rows, s.out.NullKeys = c.rows[i], c.nullKeys[i]
	}
	// Matched rows of each side, from its own count: with no duplicated
	// keys they equal the matched join rows.
	matchedRows := [2]int64{c.rows[0] - c.nullKeys[0] - c.only[0], c.rows[1] - c.nullKeys[1] - c.only[1]}
	if c.matched < matchedRows[0] || c.matched < matchedRows[1] {
		return fmt.Errorf("the relations changed while they were compared (%d matched rows in the join, but %d in base and %d in head): run the diff again", c.matched, matchedRows[0], matchedRows[1])
	}
	j.base.duplicates = c.matched > matchedRows[1] || c.onlyKeys[0] < c.only[0]
	j.head.duplicates = c.matched > matchedRows[0] || c.onlyKeys[1] < c.only[1]
	if j.base.duplicates || j.head.duplicates {
		for _, s := range j.sides() {
			if s.duplicates {
				if err := j.duplicatedKeys(ctx, s); err != nil {
					return err
				}
			}
		}
		// Again, without the rows whose key is duplicated on their side.
		again, err := j.compare(ctx, false)
		if err != nil {
			return err
		}
		again.rows, again.nullKeys = c.rows, c.nullKeys
		c = again
	}
	return j.fill(c)
}

// duplicatedKeys counts and samples the duplicated keys of s.
func (j *joinRun) duplicatedKeys(ctx context.Context, s *joinSide) error {
	var elems, order []string
	for _, c := range s.keyCols {
		q := j.d.QuoteIdent(c.Name)
		elems = append(elems, SampleJSONElement(j.d, "dup."+q, c.Type))
		order = append(order, "dup."+q)
	}
	// The sample is the smallest keys; the window count rides along so
	// that one statement gives both.
	query := "SELECT " + JSONArraySQL(j.d, elems) + ", count(*) OVER () FROM (" + j.duplicatedKeysSQL(s) + ") dup ORDER BY " +
		strings.Join(order, ", ") + " LIMIT " + strconv.Itoa(max(j.opts.Sample, 1))
	rows, err := j.w.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: duplicated keys: %w", s.name, err)
	}
	for i, r := range rows.Values {
		if i == 0 {
			if s.out.DuplicateKeys, err = countValue(r[1]); err != nil {
				return fmt.Errorf("%s: duplicated keys: %w", s.name, err)
			}
		}
		if i >= j.opts.Sample {
			break
		}
		text, _ := r[0].(string)
		vals, err := decodeJSONArray(text)
		if err != nil || len(vals) != len(s.keyCols) {
			return fmt.Errorf("%s: duplicated keys: bad sample %q: %v", s.name, text, err)
		}
		for k, c := range s.keyCols {
			vals[k] = DecodeSampleValue(vals[k], c.Type)
		}
		s.out.DuplicateSample = append(s.out.DuplicateSample, vals)
		j.res.RowsTransferred++
	}
	return nil
}

// fill sets the per-key counts and samples from a comparison without
// duplicated keys.
func (j *joinRun) fill(c *joinCounts) error {
	res := j.res
	res.OnlyInBase, res.OnlyInHead = c.only[0], c.only[1]
	res.Changed, res.Unchanged = c.changed, c.matched-c.changed
	res.Columns = nil
	for i, col := range j.cols {
		cd := ColumnDiff{Name: col.Name, Changed: c.columns[i], MatchPercent: 100}
		if c.matched > 0 {
			cd.MatchPercent = 100 * float64(c.matched-c.columns[i]) / float64(c.matched)
		}
		res.Columns = append(res.Columns, cd)
	}
	if !c.samplesRequested {
		return nil
	}
	nk := len(j.keys)
	for cat, sides := range [][]*joinSide{{j.base}, {j.head}} {
		s := sides[0]
		var out []Row
		for _, vals := range c.samples[cat] {
			if len(vals) != nk+len(s.cols) {
				return fmt.Errorf("bad sample %v: want %d values", vals, nk+len(s.cols))
			}
			row := Row{Key: make([]any, nk), Values: make(map[string]any, len(s.cols))}
			for i, kc := range s.keyCols {
				row.Key[i] = DecodeSampleValue(vals[i], kc.Type)
			}
			for i, col := range j.cols {
				row.Values[col.Name] = DecodeSampleValue(vals[nk+i], s.cols[i].Type)
			}
			out = append(out, row)
		}
		slices.SortFunc(out, func(a, b Row) int { return CompareSampleKeys(a.Key, b.Key) })
		res.RowsTransferred += int64(len(out))
		if cat == sampleOnlyBase {
			res.Samples.OnlyInBase = out
		} else {
			res.Samples.OnlyInHead = out
		}
	}
	for _, vals := range c.samples[sampleChanged] {
		if len(vals) != nk+2*len(j.cols) {
			return fmt.Errorf("bad sample %v: want %d values", vals, nk+2*len(j.cols))
		}
		row := ChangedRow{Key: make([]any, nk), Changes: map[string][2]any{}}
		for i, kc := range j.base.keyCols {
			row.Key[i] = DecodeSampleValue(vals[i], kc.Type)
		}
		for i, col := range j.cols {
			b, h := vals[nk+2*i], vals[nk+2*i+1]
			if b == nil && h == nil {
				continue // not this column
			}
			row.Changes[col.Name] = [2]any{DecodeSampleValue(b, j.base.cols[i].Type), DecodeSampleValue(h, j.head.cols[i].Type)}
		}
		res.Samples.Changed = append(res.Samples.Changed, row)
	}
	slices.SortFunc(res.Samples.Changed, func(a, b ChangedRow) int { return CompareSampleKeys(a.Key, b.Key) })
	res.RowsTransferred += int64(len(res.Samples.Changed))
	return nil
}
