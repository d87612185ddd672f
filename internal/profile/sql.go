package profile

// The statement, one per relation, returns one row; each result column
// has a decoder (a slot) that fills the profile. What it computes is the
// same on both engines: the exact statistics over every row, the estimated
// ones over the sample (the whole relation, or the rows whose key's hash
// ends in k zero bits), and per column the distinct values of the sample
// with their counts, summed up (distinct, seen once, the most frequent)
// without leaving the warehouse. How differs, because what is cheap
// differs:
//
// DuckDB: one aggregate over the rows, the sampled ones flagged by s,
// distinct values in a histogram per column (see duckdbSQL).
//
//	SELECT t.x0, ..., cardinality(t.x9), ... FROM (SELECT count(*) AS x0, count(c0) AS x1, min(c0) ...,
//	       avg(CASE WHEN s THEN c0 END) ..., histogram(CASE WHEN s THEN c0 END) AS x9 ...
//	  FROM (SELECT "a" AS c0, ..., (hash(key) & $1) = 0 AS s FROM rel) r) t
//
// PostgreSQL: two aggregates, each scanned in parallel, the sample's
// values in arrays grouped by lateral subqueries (see postgresSQL).
//
//	SELECT f.f0, ..., a.a0, ..., g0.d, g0.f, g0.n, t0.t, ...
//	FROM (SELECT count(*) AS f0, count("a") AS f1, min("a") ... FROM rel) f
//	CROSS JOIN (SELECT avg("a") ..., array_agg("a") AS a9, ... FROM rel WHERE (hash(key) & $1) = 0) a
//	CROSS JOIN LATERAL (SELECT count(*) AS d, count(*) FILTER (WHERE n = 1) AS f, sum(n) AS n
//	                    FROM (SELECT count(*) AS n FROM unnest(a.a9) AS u(v) WHERE v IS NOT NULL GROUP BY v) x) g0
//	CROSS JOIN LATERAL (SELECT string_agg(<[v, n] as JSON>, ',' ORDER BY n DESC, v) AS t
//	                    FROM (SELECT v, count(*) AS n FROM unnest(a.a9) AS u(v) WHERE v IS NOT NULL AND g0.d <= K GROUP BY v) y) t0 ...
//
// Identifiers are quoted by the Dialect; the only value, the sample's hash
// mask, is a bound parameter.

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
	// sampled: the column's values are collected from the sample; index
	// numbers the sampled columns.
	sampled  bool
	index    int
	position int  // among all columns
	values   bool // its values may be listed

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
		cp := &colPlan{out: Column{Name: c.Name, Type: c.Type}, fam: datadiff.TypeFamily(c.Type), q: st.d.QuoteIdent(c.Name), position: len(st.cols)}
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
	st.slots = nil
	if st.d.Name() == "duckdb" {
		return st.duckdbSQL(), st.args
	}
	return st.postgresSQL(), st.args
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

// hidden adds an aggregate expression the outer select uses but does not
// return, and returns how to refer to it.
func (l *selectList) hidden(expr string) string {
	name := l.prefix + strconv.Itoa(len(l.exprs))
	l.exprs = append(l.exprs, expr+" AS "+name)
	return l.alias + "." + name
}

// out adds an outer select expression, read by set.
func (st *statement) out(expr string, set func(any) error) {
	st.outs = append(st.outs, expr)
	st.slots = append(st.slots, set)
}

func (st *statement) text(expr string) string {
	return "CAST(" + expr + " AS " + datadiff.TypesFor(st.d).Text + ")"
}

func (st *statement) double(expr string) string {
	return "CAST(" + expr + " AS " + datadiff.TypesFor(st.d).Double + ")"
}

// exact adds the aggregates over every row; ref names a column.
func (st *statement) exact(l *selectList, ref func(*colPlan) string) {
	l.add("count(*)", intTo(&st.rows))
	for _, cp := range st.cols {
		c := ref(cp)
		l.add("count("+c+")", intTo(&cp.nonNull))
		if cp.fam == datadiff.FamilyBoolean {
			l.add("count(*) FILTER (WHERE "+c+")", intTo(&cp.trues))
		}
		if cp.minMax {
			l.add(st.text("min("+c+")"), valueTo(&cp.out.Min, cp.out.Type))
			l.add(st.text("max("+c+")"), valueTo(&cp.out.Max, cp.out.Type))
		}
	}
}

// estimated adds the aggregates over the sample: means, quantiles and
// lengths. value(cp, cond) is the column's value in a sampled row where
// cond (SQL, or "") holds, and NULL elsewhere.
func (st *statement) estimated(l *selectList, cp *colPlan, value func(cp *colPlan, cond string) string) {
	c := value(cp, "")
	if cp.out.Kind == KindNumber {
		finite := c
		if cp.fam == datadiff.FamilyFloat || (st.d.Name() != "duckdb" && cp.fam == datadiff.FamilyDecimal) {
			// NaN and infinities have no mean (DuckDB even errs).
			t := datadiff.TypesFor(st.d).Double
			if cp.fam == datadiff.FamilyDecimal {
				t = "numeric"
			}
			q := st.d.QuoteIdent(cp.out.Name)
			if st.d.Name() == "duckdb" {
				q = "c" + strconv.Itoa(cp.index)
			}
			finite = value(cp, q+" > CAST('-Infinity' AS "+t+") AND "+q+" < CAST('Infinity' AS "+t+")")
		}
		l.add(st.double("avg("+finite+")"), floatTo(&cp.out.Mean))
		l.add(st.double("stddev_samp("+finite+")"), floatTo(&cp.out.StdDev))
		for _, q := range []struct {
			fraction string
			out      *any
		}{{"0.05", &cp.out.P5}, {"0.5", &cp.out.P50}, {"0.95", &cp.out.P95}} {
			if st.d.Name() == "duckdb" {
				l.add(st.text("quantile_disc("+c+", "+q.fraction+")"), valueTo(q.out, cp.out.Type))
			} else {
				l.add(st.text("percentile_disc("+q.fraction+") WITHIN GROUP (ORDER BY "+c+")"), valueTo(q.out, cp.out.Type))
			}
		}
	}
	if cp.out.Kind == KindText {
		ordered := c
		if st.d.Name() != "duckdb" {
			// PostgreSQL compares text in the byte order of the "C"
			// collation: the same on every server, and cheaper.
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

// entry is the JSON array [value, "count"] of a listed value.
func (st *statement) entry(value, valueType, count string) string {
	return datadiff.JSONArraySQL(st.d, []string{datadiff.SampleJSONElement(st.d, value, valueType), st.text(count)})
}

// duckdbSQL is one aggregate over the rows: the exact statistics over
// all of them, the estimated ones over the sampled rows only (a CASE or a
// FILTER on the flag s), the distinct values of each column in a
// histogram of the sampled values, summed up by the outer select. One
// pass, one pipeline: DuckDB's fixed cost per pipeline dwarfs the work on
// a sample.
func (st *statement) duckdbSQL() string {
	t := &selectList{st: st, alias: "t", prefix: "x"}
	ref := func(cp *colPlan) string { return "c" + strconv.Itoa(cp.position) }
	st.exact(t, ref)
	sampled := func(cp *colPlan, cond string) string {
		switch {
		case st.hash == "" && cond == "":
			return ref(cp)
		case st.hash == "":
			return "CASE WHEN " + cond + " THEN " + ref(cp) + " END"
		case cond == "":
			return "CASE WHEN s THEN " + ref(cp) + " END"
		}
		return "CASE WHEN s AND " + cond + " THEN " + ref(cp) + " END"
	}
	sample := ""
	if st.hash != "" {
		sample = " FILTER (WHERE s)"
	}
	anySampled := false
	for _, cp := range st.cols {
		if !cp.sampled {
			continue
		}
		anySampled = true
		st.estimated(t, cp, sampled)
		// DuckDB's histogram takes NaN, 0 and -0 for one value: count the
		// NaNs apart, and add 0 to turn -0 into 0.
		v, valueType, nans := sampled(cp, ""), cp.out.Type, ""
		if cp.fam == datadiff.FamilyFloat {
			v, valueType = sampled(cp, "NOT isnan("+ref(cp)+")"), "double"
			v = "CAST(" + v + " AS DOUBLE) + CAST(0 AS DOUBLE)"
			isNaN := "isnan(" + ref(cp) + ")"
			if st.hash != "" {
				isNaN = "s AND " + isNaN
			}
			nans = t.hidden("count(*) FILTER (WHERE " + isNaN + ")")
		}
		h := t.hidden("histogram(" + v + ")")
		counts := "map_values(" + h + ")"
		d := "coalesce(cardinality(" + h + "), 0)"
		f1 := "coalesce(len(list_filter(" + counts + ", lambda x: x = 1)), 0)"
		n := "coalesce(list_sum(" + counts + "), 0)"
		entries := "list_transform(map_entries(" + h + "), lambda e: {'n': -CAST(e.value AS BIGINT), 'v': e.key})"
		if nans != "" {
			d += " + CASE WHEN " + nans + " > 0 THEN 1 ELSE 0 END"
			f1 += " + CASE WHEN " + nans + " = 1 THEN 1 ELSE 0 END"
			n += " + " + nans
			entries = "list_concat(" + entries + ", list_filter([{'n': -" + nans + ", 'v': CAST('NaN' AS DOUBLE)}], lambda e: e.n < 0))"
		}
		st.out(d, intTo(&cp.sampleD))
		st.out(f1, intTo(&cp.sample1))
		st.out(n, intTo(&cp.sampleN))
		if cp.values {
			k := strconv.Itoa(st.opts.LowCardinality + 1)
			st.out("CASE WHEN "+d+" <= "+k+" THEN array_to_string(list_transform(list_sort("+entries+"), lambda e: "+
				st.entry("e.v", valueType, "-e.n")+"), ',') END", stringTo(&cp.top))
		}
	}
	if anySampled {
		t.add("count(*)"+sample, intTo(&st.sample))
	}
	proj := make([]string, len(st.cols))
	for _, cp := range st.cols {
		proj[cp.position] = cp.q + " AS " + ref(cp)
	}
	if st.hash != "" {
		proj = append(proj, st.hash+" AS s")
	}
	return "SELECT " + strings.Join(st.outs, ", ") + "\nFROM (SELECT " + strings.Join(t.exprs, ", ") +
		"\n  FROM (SELECT " + strings.Join(proj, ", ") + " FROM " + st.d.QuoteRelation(st.rel) + ") r) t"
}

// postgresSQL is two aggregates that PostgreSQL runs in parallel: the
// exact statistics over every row (partial aggregates in the workers),
// and the estimated ones over the sample, filtered in the workers so that
// only the sampled rows reach the aggregate collecting them in lists;
// lateral subqueries group each list.
func (st *statement) postgresSQL() string {
	rel := st.d.QuoteRelation(st.rel)
	f := &selectList{st: st, alias: "f", prefix: "f"}
	st.exact(f, func(cp *colPlan) string { return cp.q })
	a := &selectList{st: st, alias: "a", prefix: "a"}
	var laterals []string
	for _, cp := range st.cols {
		if !cp.sampled {
			continue
		}
		st.estimated(a, cp, func(cp *colPlan, cond string) string {
			if cond == "" {
				return cp.q
			}
			return "CASE WHEN " + cond + " THEN " + cp.q + " END"
		})
		c, valueType := cp.q, cp.out.Type
		if strings.HasSuffix(cp.out.Type, "]") {
			// array_agg of arrays makes one array of more dimensions,
			// which unnest flattens: collect their text instead.
			c, valueType = st.text(c), "text"
		}
		list := a.hidden("array_agg(" + c + ")")
		values := "unnest(" + list + ") AS u(v)"
		g := "g" + strconv.Itoa(cp.index)
		laterals = append(laterals, "(SELECT count(*) AS d, count(*) FILTER (WHERE n = 1) AS f, sum(n) AS n FROM (SELECT count(*) AS n FROM "+
			values+" WHERE v IS NOT NULL GROUP BY v) x) "+g)
		st.out(g+".d", intTo(&cp.sampleD))
		st.out(g+".f", intTo(&cp.sample1))
		st.out(g+".n", intTo(&cp.sampleN))
		if cp.values {
			// The most frequent values, grouped again only for a column
			// with few: a one-time filter skips the others.
			k := strconv.Itoa(st.opts.LowCardinality + 1)
			top := "t" + strconv.Itoa(cp.index)
			laterals = append(laterals, "(SELECT string_agg("+st.entry("v", valueType, "n")+", ',' ORDER BY n DESC, v) AS t FROM (SELECT v, count(*) AS n FROM "+
				values+" WHERE v IS NOT NULL AND "+g+".d <= "+k+" GROUP BY v) y) "+top)
			st.out(top+".t", stringTo(&cp.top))
		}
	}
	var b strings.Builder
	if len(laterals) > 0 {
		a.add("count(*)", intTo(&st.sample))
	}
	b.WriteString("SELECT " + strings.Join(st.outs, ", ") + "\nFROM (SELECT " + strings.Join(f.exprs, ", ") + " FROM " + rel + ") f")
	if len(laterals) > 0 {
		where := ""
		if st.hash != "" {
			where = " WHERE " + st.hash
		}
		b.WriteString("\nCROSS JOIN (SELECT " + strings.Join(a.exprs, ", ") + " FROM " + rel + where + ") a")
		for _, l := range laterals {
			b.WriteString("\nCROSS JOIN LATERAL " + l)
		}
	}
	return b.String()
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
