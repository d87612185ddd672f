package profile

// The statement, one per relation, returns one row; each result column
// has a decoder (a slot) that fills the profile.
//
//	WITH s AS MATERIALIZED (SELECT "a" AS c0, ... FROM rel [WHERE (hash(key) & $1) = 0]),
//	v AS MATERIALIZED (SELECT i, v, count(*) AS n FROM <s unpivoted: (column number, value as text)> WHERE v IS NOT NULL GROUP BY i, v)
//	SELECT f.f0, ..., a.a0, ..., g.g0, ..., t.t0, ...
//	FROM (SELECT count(*) AS f0, count("a") AS f1, min("a") ... FROM rel) f         -- exact, every row
//	CROSS JOIN (SELECT avg(c0), stddev_samp(c0), <quantiles>, <lengths> ... FROM s) a  -- estimated, the sample
//	CROSS JOIN (SELECT count(*) FILTER (WHERE i = 0) AS g0,                           -- distinct values,
//	                   count(*) FILTER (WHERE i = 0 AND n = 1) AS g1, sum(n) ... FROM v) g  -- those seen once
//	CROSS JOIN (SELECT string_agg(<[v, n] as JSON>, ',' ORDER BY n DESC, v) FILTER (WHERE i = 0) AS t0, ...
//	            FROM v WHERE i IN (<the columns with at most K+1 values>)) t              -- their values
//
// The aggregate scan and the sample's filtered scan both run in parallel
// on PostgreSQL (the sample is selected by an equality, which the planner
// takes as selective enough to gather from workers); everything after
// works on the sample alone, grouping all its columns in one pass, since
// each extra pass (pipeline) has a fixed cost that outweighs the work on a
// sample. The values travel as text, only within the statement: the same
// text means the same value for the types profiled. Identifiers are quoted
// by the Dialect; the only value, the sample's hash mask, is a bound
// parameter.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// colPlan is how one column is profiled, and what the statement found.
type colPlan struct {
	out    Column
	fam    datadiff.Family
	q      string // the quoted column name
	minMax bool   // minimum and maximum from the full scan
	// sampled: the column is in the sample, as c<index>.
	sampled bool
	index   int
	values  bool // its values may be listed

	nonNull, trues            int64
	sampleN, sampleD, sample1 int64
	top                       string
}

// statement is the profile query of one relation.
type statement struct {
	outs   []string // the outer select list, one entry per slot
	d      warehouse.Dialect
	rel    warehouse.Relation
	opts   Options
	cols   []*colPlan
	hash   string // the sample predicate's hash expression; "" profiles every row
	args   []any
	key    []string
	rows   int64 // rows, from the full scan
	sample int64 // rows in the sample
	slots  []func(v any) error
}

// plan decides how each column is profiled and whether to sample.
func plan(ctx context.Context, w warehouse.Warehouse, rel warehouse.Relation, cols []warehouse.Column, opts Options) (*statement, error) {
	st := &statement{d: w.Dialect(), rel: rel, opts: opts}
	for _, c := range cols {
		cp := &colPlan{out: Column{Name: c.Name, Type: c.Type}, fam: datadiff.TypeFamily(c.Type), q: st.d.QuoteIdent(c.Name)}
		switch cp.fam {
		case datadiff.FamilyInteger, datadiff.FamilyDecimal, datadiff.FamilyFloat:
			cp.out.Kind, cp.minMax, cp.sampled, cp.values = KindNumber, true, true, true
		case datadiff.FamilyText:
			// Text's minimum and maximum come from the sample: no rule
			// needs them exact, and comparing every string is the dearest
			// part of a scan on DuckDB.
			cp.out.Kind, cp.sampled, cp.values = KindText, true, true
		case datadiff.FamilyBoolean:
			cp.out.Kind = KindBoolean // counted exactly, never sampled
		case datadiff.FamilyDate, datadiff.FamilyTimestamp, datadiff.FamilyTimestampTZ:
			cp.out.Kind, cp.minMax, cp.sampled, cp.values = KindTime, true, true, true
		case datadiff.FamilyUUID:
			// PostgreSQL has no min(uuid); a uuid's range means nothing anyway.
			cp.out.Kind, cp.sampled, cp.values = KindOther, true, true
		case datadiff.FamilyBlob:
			cp.out.Kind, cp.sampled = KindOther, true // distinct only: bytes are not shown
		case datadiff.FamilyNoEquality:
			if st.d.Name() == "duckdb" {
				// DuckDB's json is text underneath, comparable.
				cp.out.Kind, cp.minMax, cp.sampled, cp.values = KindOther, true, true, true
				break
			}
			cp.out.Kind = KindOther
			cp.out.Skipped = fmt.Sprintf("%s values cannot be compared or grouped, so only NULLs are counted", c.Type)
		default:
			// A type dataops does not know: ask the engine whether it can
			// group its values, and order them.
			cp.out.Kind = KindOther
			if err := probe(ctx, w, rel, "count(DISTINCT "+cp.q+")"); err != nil {
				cp.out.Skipped = fmt.Sprintf("%s cannot be aggregated (%s), so only NULLs are counted", c.Type, firstLine(err))
				break
			}
			cp.sampled, cp.values = true, true
			cp.minMax = probe(ctx, w, rel, "min("+cp.q+"), max("+cp.q+")") == nil
		}
		st.cols = append(st.cols, cp)
	}
	n := 0
	for _, cp := range st.cols {
		if cp.sampled {
			cp.index = n
			n++
		}
	}
	if n == 0 {
		return st, nil
	}
	est, err := estimateRows(ctx, w, rel)
	if err != nil {
		return nil, err
	}
	if est > opts.SampleRows {
		st.samplePredicate(cols, sampleFraction(est, opts.SampleRows))
	}
	return st, nil
}

// sampleFraction is the share of rows to sample from about est rows: a
// power of two, 1/2^k, giving between SampleRows/2 and SampleRows rows.
// Rounding makes production and an environment of similar sizes sample
// with the same mask, hence the same rows where their data is the same;
// across a power of two, the smaller sample is part of the larger.
func sampleFraction(est, sampleRows int64) float64 {
	k := math.Ceil(math.Log2(float64(est) / float64(sampleRows)))
	return math.Pow(2, -max(k, 1))
}

// probe asks the engine whether it can compute aggregates, without
// running anything.
func probe(ctx context.Context, w warehouse.Warehouse, rel warehouse.Relation, aggregates string) error {
	_, err := w.Explain(ctx, "SELECT "+aggregates+" FROM "+w.Dialect().QuoteRelation(rel))
	return err
}

func firstLine(err error) string {
	s := err.Error()
	var se *warehouse.SQLError
	if errors.As(err, &se) && se.Message != "" {
		s = se.Message
	}
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// estimateRE finds the top node's row estimate in a plan: PostgreSQL's
// "rows=1234", DuckDB's "~1,234 rows".
var estimateRE = regexp.MustCompile(`(?:rows=|~)([0-9][0-9,]*)`)

// estimateRows asks the planner how many rows the relation has, which
// works for views and for tables never analyzed (PostgreSQL then counts
// their pages). Only when the plan gives no estimate does it count.
func estimateRows(ctx context.Context, w warehouse.Warehouse, rel warehouse.Relation) (int64, error) {
	all := "SELECT * FROM " + w.Dialect().QuoteRelation(rel)
	plan, err := w.Explain(ctx, all)
	if err != nil {
		return 0, fmt.Errorf("estimate rows: %w", err)
	}
	if m := estimateRE.FindStringSubmatch(plan); m != nil {
		if n, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64); err == nil {
			return n, nil
		}
	}
	rows, err := w.Query(ctx, "SELECT count(*) FROM "+w.Dialect().QuoteRelation(rel))
	if err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	return toInt64(rows.Values[0][0])
}

// hashable are the families PostgreSQL can hash into a row hash.
func hashable(f datadiff.Family) bool {
	switch f {
	case datadiff.FamilyInteger, datadiff.FamilyDecimal, datadiff.FamilyFloat, datadiff.FamilyBoolean, datadiff.FamilyText,
		datadiff.FamilyDate, datadiff.FamilyTimestamp, datadiff.FamilyTimestampTZ, datadiff.FamilyUUID, datadiff.FamilyBlob:
		return true
	}
	return false
}

// samplePredicate picks about fraction of the rows by the hash of the
// sample key, or of every (hashable) column without one.
func (st *statement) samplePredicate(cols []warehouse.Column, fraction float64) {
	var key []warehouse.Column
	for _, name := range st.opts.SampleKey {
		c, ok := datadiff.FindColumn(cols, name)
		if !ok || (st.d.Name() != "duckdb" && !hashable(datadiff.TypeFamily(c.Type))) {
			key = nil
			break
		}
		key = append(key, c)
	}
	if len(key) > 0 {
		for _, c := range key {
			st.key = append(st.key, c.Name)
		}
	} else {
		for _, c := range cols {
			if st.d.Name() == "duckdb" || hashable(datadiff.TypeFamily(c.Type)) {
				key = append(key, c)
			}
		}
	}
	quoted := make([]string, len(key))
	for i, c := range key {
		quoted[i] = st.d.QuoteIdent(c.Name)
	}
	// fraction is 1/2^k: keep the rows whose hash has k low zero bits.
	// An equality, which PostgreSQL's planner takes as selective (an
	// inequality it would guess keeps a third of the rows, and then
	// gather them from parallel workers no more).
	mask := uint64(math.Round(1/fraction)) - 1
	if st.d.Name() == "duckdb" {
		st.hash = "(hash(" + strings.Join(quoted, ", ") + ") & CAST(" + st.d.Placeholder(1) + " AS UBIGINT)) = 0"
		st.args = []any{strconv.FormatUint(mask, 10)}
		return
	}
	var hash string
	switch {
	case len(key) == 0:
		// Nothing PostgreSQL can hash: a random sample, the one case
		// where identical data can give different estimates.
		st.hash = "random() < " + st.d.Placeholder(1)
		st.args = []any{fraction}
		return
	case len(key) == 1 && datadiff.TypeFamily(key[0].Type) == datadiff.FamilyInteger:
		hash = "hashint8extended(CAST(" + quoted[0] + " AS bigint), 0)"
	case len(key) == 1 && datadiff.TypeFamily(key[0].Type) == datadiff.FamilyText:
		hash = "hashtextextended(CAST(" + quoted[0] + " AS text), 0)"
	default:
		hash = "hash_record_extended(ROW(" + strings.Join(quoted, ", ") + "), 0)"
	}
	st.hash = "(" + hash + " & " + st.d.Placeholder(1) + ") = 0"
	st.args = []any{int64(mask)}
}

// sql builds the statement and its slots.
func (st *statement) sql() (string, []any) {
	st.slots, st.outs = nil, nil
	d := st.d
	rel := d.QuoteRelation(st.rel)
	f := &selectList{st: st, alias: "f", prefix: "f"}
	st.exact(f)
	a := &selectList{st: st, alias: "a", prefix: "a"}
	g := &selectList{st: st, alias: "g", prefix: "g"}
	t := &selectList{st: st, alias: "t", prefix: "t"}
	var proj, unpivot []string
	for _, cp := range st.cols {
		if !cp.sampled {
			continue
		}
		c := "c" + strconv.Itoa(cp.index)
		proj = append(proj, cp.q+" AS "+c)
		st.estimated(a, cp, c)
		unpivot = append(unpivot, st.groupText(cp, c))
		k := strconv.Itoa(cp.index)
		g.add("count(*) FILTER (WHERE i = "+k+")", intTo(&cp.sampleD))
		g.add("count(*) FILTER (WHERE i = "+k+" AND n = 1)", intTo(&cp.sample1))
		g.add("sum(n) FILTER (WHERE i = "+k+")", intTo(&cp.sampleN))
		if cp.values {
			t.add("string_agg("+st.entry("v", "n")+", ',' ORDER BY n DESC, v) FILTER (WHERE i = "+k+")", stringTo(&cp.top))
		}
	}
	var b strings.Builder
	if len(proj) > 0 {
		a.add("count(*)", intTo(&st.sample))
		where := ""
		if st.hash != "" {
			where = " WHERE " + st.hash
		}
		b.WriteString("WITH s AS MATERIALIZED (SELECT " + strings.Join(proj, ", ") + " FROM " + rel + where + "),\n")
		b.WriteString("v AS MATERIALIZED (SELECT i, v, count(*) AS n FROM " + st.unpivot(unpivot) + " WHERE v IS NOT NULL GROUP BY i, v)\n")
	}
	b.WriteString("SELECT " + strings.Join(st.outs, ", ") + "\nFROM (SELECT " + strings.Join(f.exprs, ", ") + " FROM " + rel + ") f")
	if len(proj) > 0 {
		b.WriteString("\nCROSS JOIN (SELECT " + strings.Join(a.exprs, ", ") + " FROM s) a")
		b.WriteString("\nCROSS JOIN (SELECT " + strings.Join(g.exprs, ", ") + " FROM v) g")
		if len(t.exprs) > 0 {
			// Values are listed only for columns with few: the others'
			// groups are never sorted.
			b.WriteString("\nCROSS JOIN (SELECT " + strings.Join(t.exprs, ", ") + " FROM v WHERE i IN (SELECT i FROM v GROUP BY i HAVING count(*) <= " +
				strconv.Itoa(st.opts.LowCardinality+1) + ")) t")
		}
	}
	return b.String(), st.args
}

// selectList collects one aggregate's select list, and the outer select
// list with a slot for each of its entries.
type selectList struct {
	st     *statement
	alias  string // of the aggregate in the outer FROM
	prefix string // of its columns
	exprs  []string
}

// add adds an aggregate expression, read by set.
func (l *selectList) add(expr string, set func(any) error) {
	name := l.prefix + strconv.Itoa(len(l.exprs))
	l.exprs = append(l.exprs, expr+" AS "+name)
	l.st.outs = append(l.st.outs, l.alias+"."+name)
	l.st.slots = append(l.st.slots, set)
}

func (st *statement) text(expr string) string {
	return "CAST(" + expr + " AS " + datadiff.TypesFor(st.d).Text + ")"
}

func (st *statement) double(expr string) string {
	return "CAST(" + expr + " AS " + datadiff.TypesFor(st.d).Double + ")"
}

// exact adds the aggregates over every row.
func (st *statement) exact(l *selectList) {
	l.add("count(*)", intTo(&st.rows))
	for _, cp := range st.cols {
		l.add("count("+cp.q+")", intTo(&cp.nonNull))
		if cp.fam == datadiff.FamilyBoolean {
			l.add("count(*) FILTER (WHERE "+cp.q+")", intTo(&cp.trues))
		}
		if cp.minMax {
			l.add(st.text("min("+cp.q+")"), valueTo(&cp.out.Min, cp.out.Type))
			l.add(st.text("max("+cp.q+")"), valueTo(&cp.out.Max, cp.out.Type))
		}
	}
}

// estimated adds the aggregates over the sample, whose column c holds
// cp: means, quantiles, text's lengths and range.
func (st *statement) estimated(l *selectList, cp *colPlan, c string) {
	duckdb := st.d.Name() == "duckdb"
	if cp.out.Kind == KindNumber {
		finite := ""
		if cp.fam == datadiff.FamilyFloat || (!duckdb && cp.fam == datadiff.FamilyDecimal) {
			// NaN and infinities have no mean (DuckDB even errs).
			t := datadiff.TypesFor(st.d).Double
			if cp.fam == datadiff.FamilyDecimal {
				t = "numeric"
			}
			finite = " FILTER (WHERE " + c + " > CAST('-Infinity' AS " + t + ") AND " + c + " < CAST('Infinity' AS " + t + "))"
		}
		l.add(st.double("avg("+c+")"+finite), floatTo(&cp.out.Mean))
		l.add(st.double("stddev_samp("+c+")"+finite), floatTo(&cp.out.StdDev))
		for _, q := range []struct {
			fraction string
			out      *any
		}{{"0.05", &cp.out.P5}, {"0.5", &cp.out.P50}, {"0.95", &cp.out.P95}} {
			if duckdb {
				l.add(st.text("quantile_disc("+c+", "+q.fraction+")"), valueTo(q.out, cp.out.Type))
			} else {
				l.add(st.text("percentile_disc("+q.fraction+") WITHIN GROUP (ORDER BY "+c+")"), valueTo(q.out, cp.out.Type))
			}
		}
	}
	if cp.out.Kind == KindText {
		ordered := c
		if !duckdb {
			// PostgreSQL compares text in the byte order of the "C"
			// collation: the same on every server.
			ordered += ` COLLATE "C"`
		}
		l.add(st.text("min("+ordered+")"), valueTo(&cp.out.Min, cp.out.Type))
		l.add(st.text("max("+ordered+")"), valueTo(&cp.out.Max, cp.out.Type))
		cp.out.Length = &Lengths{}
		length := "length(" + c + ")"
		l.add("min("+length+")", intTo(&cp.out.Length.Min))
		l.add(st.double("avg("+length+")"), func(v any) error {
			f, err := toFloat(v)
			if f != nil {
				cp.out.Length.Avg = *f
			}
			return err
		})
		l.add("max("+length+")", intTo(&cp.out.Length.Max))
	}
}

// groupText is a sampled value as text, the form all columns share to be
// grouped at once: equal values have equal text (a float's -0 is made 0,
// and PostgreSQL's numeric drops trailing zeros, which would print apart).
func (st *statement) groupText(cp *colPlan, c string) string {
	switch {
	case cp.fam == datadiff.FamilyFloat:
		c += " + CAST(0 AS " + datadiff.TypesFor(st.d).Double + ")"
	case st.d.Name() != "duckdb" && strings.EqualFold(cp.out.Type, "numeric"):
		// An unconstrained numeric keeps each value's scale: 1.5 = 1.50.
		c = "trim_scale(" + c + ")"
	}
	return st.text(c)
}

// unpivot turns each sampled row into one row (i, v) per column: its
// number among the sampled columns and its value as text.
func (st *statement) unpivot(texts []string) string {
	if st.d.Name() == "duckdb" {
		is := make([]string, len(texts))
		for i := range texts {
			is[i] = strconv.Itoa(i)
		}
		return "(SELECT unnest([" + strings.Join(is, ", ") + "]) AS i, unnest([" + strings.Join(texts, ", ") + "]) AS v FROM s) u"
	}
	rows := make([]string, len(texts))
	for i, t := range texts {
		rows[i] = "(" + strconv.Itoa(i) + ", " + t + ")"
	}
	return "s CROSS JOIN LATERAL (VALUES " + strings.Join(rows, ", ") + ") AS u(i, v)"
}

// entry is the JSON array [value, "count"] of a listed value (text).
func (st *statement) entry(value, count string) string {
	return datadiff.JSONArraySQL(st.d, []string{datadiff.SampleJSONElement(st.d, value, "text"), st.text(count)})
}

// decode fills p from the statement's one result row.
func (st *statement) decode(row []any, p *Profile) error {
	if len(row) != len(st.slots) {
		return fmt.Errorf("%d result columns, want %d", len(row), len(st.slots))
	}
	for i, set := range st.slots {
		if err := set(row[i]); err != nil {
			return fmt.Errorf("result column %d: %w", i+1, err)
		}
	}
	p.Rows, p.Sampled, p.SampleRows, p.SampleKey = st.rows, st.hash != "", st.sample, st.key
	for _, cp := range st.cols {
		if err := st.finish(cp); err != nil {
			return fmt.Errorf("column %q: %w", cp.out.Name, err)
		}
		p.Columns = append(p.Columns, cp.out)
	}
	return nil
}

// finish derives a column's counts from what the statement returned.
func (st *statement) finish(cp *colPlan) error {
	c := &cp.out
	c.Nulls = st.rows - cp.nonNull
	if st.rows > 0 {
		c.NullPercent = 100 * float64(c.Nulls) / float64(st.rows)
	}
	if c.Skipped != "" {
		return nil
	}
	if cp.fam == datadiff.FamilyBoolean {
		falses := cp.nonNull - cp.trues
		for _, vc := range []ValueCount{{true, cp.trues}, {false, falses}} {
			if vc.Count > 0 {
				c.Values = append(c.Values, vc)
				c.Distinct++
			}
		}
		if len(c.Values) == 2 && c.Values[1].Count > c.Values[0].Count {
			c.Values[0], c.Values[1] = c.Values[1], c.Values[0]
		}
		if c.Distinct > 0 {
			c.Min, c.Max = c.Values[0].Value, c.Values[0].Value
			if c.Distinct == 2 {
				c.Min, c.Max = false, true
			}
		}
		return nil
	}
	if !cp.sampled {
		return nil
	}
	c.Estimated = st.hash != ""
	c.Distinct = estimateDistinct(cp.sampleN, cp.sampleD, cp.sample1, cp.nonNull, c.Estimated)
	if c.Length != nil && cp.sampleN == 0 {
		c.Length = nil
	}
	if !cp.values || cp.top == "" {
		return nil
	}
	entries, err := decodeTop(cp.top, c.Type)
	if err != nil {
		return err
	}
	if len(entries) > st.opts.LowCardinality || c.Distinct > int64(st.opts.LowCardinality) {
		return nil
	}
	if c.Estimated {
		// Scale the sample's counts to the relation's rows.
		scale := float64(cp.nonNull) / float64(cp.sampleN)
		for i := range entries {
			entries[i].Count = int64(math.Round(float64(entries[i].Count) * scale))
		}
	}
	c.Values = entries
	return nil
}

// estimateDistinct is the distinct count of a column from its sample: n
// non-NULL sampled values, d of them distinct, f1 seen once, of N non-NULL
// values in the relation. Exact when the sample is the relation; otherwise
// Haas and Stokes' Duj1 estimator, n*d / (n - f1 + f1*n/N), which
// PostgreSQL's ANALYZE uses, bounded by d and N.
func estimateDistinct(n, d, f1, total int64, sampled bool) int64 {
	if !sampled || n == 0 || n >= total {
		return d
	}
	nf, df, f1f, tf := float64(n), float64(d), float64(f1), float64(total)
	est := nf * df / (nf - f1f + f1f*nf/tf)
	est = math.Min(math.Max(est, df), tf)
	return int64(math.Round(est))
}
