package datadiff

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// ErrKeyTypeMismatch is wrapped when a key column has types in the two
// warehouses whose values cannot be matched (an integer against a text).
var ErrKeyTypeMismatch = errors.New("key column types do not match between the two warehouses")

// HashDiff compares opts.Base in base with opts.Head in head, which may be
// different engines (PostgreSQL and DuckDB, either way) or the same one,
// without copying either table: it reports exactly what Join (a plain
// comparison) reports, reading only the rows of keys that differ.
//
// Every row gets a canonical text, built in each engine's SQL so that equal
// values give byte-identical texts in both engines: the key fields, then the
// compared fields, each NULL-safe and self-delimiting (text is
// length-prefixed). The md5 of that text, cut to 60 bits, is the row hash.
// The key hash names the row's segment: for keys of integer columns it is
// arithmetic (see intHashPrime: md5 costs about a microsecond a row in
// PostgreSQL), else the md5 of the key fields. Segments by a hash of the key
// rather than by key ranges work for any key type (text, composite), are
// balanced however the keys are spread, and need no min/max query for both
// sides to agree on boundaries.
//
//  1. One aggregate per side counts rows, NULL keys and duplicated keys.
//  2. Pass 1 groups both sides by the top B bits of the key hash, B giving
//     32 to 64 rows per segment, and returns the row count and the sum of
//     the row hashes of each segment: n/64 to n/32 small rows per side.
//     Segments whose count or sum differ hold every difference.
//  3. If those segments hold more than 1,000 rows (and more than 4 per
//     segment and side), pass 2 reads the key hash and row hash of each row
//     in them only (their numbers are a bound array, joined as a hash
//     semi-join) and sums them per key hash in Go, which leaves only the
//     differing keys. Beyond 4 million such rows, passes split the segments
//     in SQL instead, to about one row per segment, until they are few.
//  4. The rows of the last differing segments (in the usual case, exactly
//     the rows of the differing keys) are fetched from both sides and
//     compared in Go on the same canonical texts, so a difference is seen
//     exactly as the checksum saw it, and classified as Join does: NULL and
//     duplicated keys on their side, only in base, only in head, changed
//     (per column), unchanged.
//
// A diff is thus four scans per side (the aggregate, two passes, the
// fetch), and only pass 1 hashes every row; the two sides run at the same
// time. Unchanged rows of the segments that matched are counted, not read:
// their rows with a unique key (both sides must agree on that number; if
// they do not, the relations changed during the diff and HashDiff says so).
// RowsTransferred counts the rows fetched, plus, as for Join, the samples
// read by their own query (duplicated keys; rows of the one relation when
// the other is missing); never segment summaries or row hashes.
//
// The canonical forms are exact, so a checksum never hides a difference:
// integers as digits, decimals as their shortest text (1.50 and 1.5 are
// equal; a scale both sides share is kept as printed), doubles as their IEEE
// bits (±0 equal, every NaN equal, as in SQL), dates as days since 1970,
// timestamps as microseconds since 2000, UUIDs lowercase, blobs as hex, text
// as is, other types as their text. A column whose types differ is first
// converted as Join's comparison converts it (NewComparison): integer with
// decimal as decimals, with a double as doubles; a date with a timestamp as
// a timestamp; timestamps to the coarser precision; other kinds as text.
// With a Tolerance, numeric values are compared exactly in the checksums,
// then with the tolerance on the fetched rows: a segment whose values differ
// only within the tolerance is fetched and then found unchanged. The result
// is exact; the price is transferring those rows.
//
// Across engines, values of types without a canonical form here (interval,
// time, arrays, json, enums) compare as their text, which each engine spells
// its own way; timestamps with time zone convert with each engine's TimeZone
// setting when compared with timestamps without; PostgreSQL's text is hashed
// in the database encoding (UTF-8, as DuckDB's, in practice).
func HashDiff(ctx context.Context, base, head warehouse.Warehouse, opts Options) (*Result, error) {
	res, _, err := hashDiff(ctx, base, head, opts, defaultHashTuning)
	res.maskSamples(opts.Mask)
	return res, err
}

// hashTuning holds the thresholds; tests lower them to exercise every pass
// on small tables.
type hashTuning struct {
	// rowsPerSegment sizes pass 1 (segments get between half that and that
	// many rows). Smaller segments mean more summaries (three numbers each:
	// 16k per side for a million rows at 64) but fewer rows whose hash pass
	// 2 computes and reads per differing key (about 60 instead of 140 at
	// 150, an n/150 sizing). On the benchmark the two were within noise of
	// each other; 64 moves less data.
	rowsPerSegment int64
	// fetchRows: differing segments holding at most this many rows (both
	// sides) are fetched rather than split, since one more scan of a big
	// table costs far more than fetching a thousand rows.
	fetchRows int64
	// fetchAverage: segments this small (rows per segment and side) are
	// fetched, as splitting them cannot save much.
	fetchAverage float64
	// maxPasses bounds the checksum passes.
	maxPasses int
	// rowHashesMax: differing segments holding at most this many rows
	// (both sides) are compared by one hash per row rather than split
	// again in SQL; it bounds the memory those hashes take.
	rowHashesMax int64
}

var defaultHashTuning = hashTuning{rowsPerSegment: 64, fetchRows: 1000, fetchAverage: 4, maxPasses: 4, rowHashesMax: 4_000_000}

// hashReport says how a diff went, for tests and benchmarks.
type hashReport struct {
	Passes    int      // checksum passes (each one scan per side)
	Bits      []int    // segment bits per pass
	Differing []int    // differing segments per pass
	Summaries int64    // segment summaries read, both sides
	Fetched   [2]int64 // rows fetched from base and head
	// Wall time of each step: counting rows and keys, each checksum pass,
	// fetching.
	StatsTime, FetchTime time.Duration
	PassTimes            []time.Duration
}

// md5Bits is how many bits of an md5 the row hashes, and the key hashes of
// keys that are not integers, keep: 15 hex digits, so that the hash is a
// non-negative bigint in both engines.
const md5Bits = 60

// Integer keys are hashed with arithmetic instead of md5, which costs about
// a microsecond per row in PostgreSQL: the key modulo the Mersenne prime
// 2^31-1, times a multiplier, modulo the prime again (a bijection of the
// residues that scatters consecutive ids over the whole range), giving 31
// bits. Products stay under 2^62, so no engine overflows.
const (
	intHashPrime      = 2147483647
	intHashMultiplier = 1103515245
	intHashBits       = 31
)

func hashDiff(ctx context.Context, baseW, headW warehouse.Warehouse, opts Options, tune hashTuning) (*Result, *hashReport, error) {
	res := &Result{
		Algorithm: "hashdiff",
		Key:       opts.Key,
		Base:      Side{Relation: opts.Base},
		Head:      Side{Relation: opts.Head},
	}
	rep := &hashReport{}
	what := fmt.Sprintf("hashdiff %s (%s) with %s (%s)",
		baseW.Dialect().QuoteRelation(opts.Base), baseW.Dialect().Name(),
		headW.Dialect().QuoteRelation(opts.Head), headW.Dialect().Name())
	if math.IsNaN(opts.Tolerance) || math.IsInf(opts.Tolerance, 0) || opts.Tolerance < 0 {
		return res, rep, fmt.Errorf("%s: tolerance must be a number >= 0, not %v", what, opts.Tolerance)
	}
	if opts.Sample == 0 {
		opts.Sample = 5
	}
	opts.Sample = max(opts.Sample, 0)
	base := newHashSide(0, "base", baseW, opts.Base, &res.Base, opts.Where)
	head := newHashSide(1, "head", headW, opts.Head, &res.Head, opts.Where)
	sides := []*hashSide{base, head}

	if err := hashBoth(sides, func(s *hashSide) error { return s.loadColumns(ctx) }); err != nil {
		return res, rep, fmt.Errorf("%s: %w", what, err)
	}
	if !base.out.Exists && !head.out.Exists {
		return res, rep, fmt.Errorf("%s: neither relation exists: %w", what, warehouse.ErrRelationNotFound)
	}
	res.Schema = hashSchemaDiff(base, head)

	if len(opts.Key) == 0 {
		err := hashBoth(sides, func(s *hashSide) error { return s.countRows(ctx) })
		if err != nil {
			return res, rep, fmt.Errorf("%s: %w", what, err)
		}
		return res, rep, fmt.Errorf("%s: %w: only row counts and columns were compared; to compare rows, give the key columns (--key, or unique_key in the model's config)", what, ErrNoKey)
	}
	plan, err := planHashColumns(base, head, opts)
	if err != nil {
		return res, rep, fmt.Errorf("%s: %w", what, err)
	}
	start := time.Now()
	if err := hashBoth(sides, func(s *hashSide) error { return s.loadStats(ctx, plan, opts.Sample) }); err != nil {
		return res, rep, fmt.Errorf("%s: %w", what, err)
	}
	rep.StatsTime = time.Since(start)
	res.RowsTransferred = int64(len(res.Base.DuplicateSample) + len(res.Head.DuplicateSample))
	if !base.out.Exists || !head.out.Exists {
		if err := hashOneSided(ctx, res, base, head, plan, opts.Sample); err != nil {
			return res, rep, fmt.Errorf("%s: %w", what, err)
		}
		return res, rep, nil
	}

	d := &hashRun{res: res, rep: rep, base: base, head: head, plan: plan, tune: tune, opts: opts}
	if err := d.run(ctx); err != nil {
		return res, rep, fmt.Errorf("%s: %w", what, err)
	}
	return res, rep, nil
}

// hashBoth runs fn on each existing side concurrently: the two warehouses
// work at the same time, so a pass takes as long as the slower side.
func hashBoth(sides []*hashSide, fn func(s *hashSide) error) error {
	errs := make([]error, len(sides))
	var wg sync.WaitGroup
	for i, s := range sides {
		if !s.out.Exists && s.columnsLoaded {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(s); err != nil {
				errs[i] = fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// hashSide is one relation and what HashDiff learnt about it.
type hashSide struct {
	i             int    // 0 for base, 1 for head: the index into [2] arrays
	name          string // "base" or "head"
	w             warehouse.Warehouse
	q             hashSQL
	rel           warehouse.Relation
	where         string
	out           *Side
	columnsLoaded bool

	validRows int64 // rows with a non-NULL key
	dupRows   int64 // rows whose key is held by more than one row
}

func newHashSide(i int, name string, w warehouse.Warehouse, rel warehouse.Relation, out *Side, where string) *hashSide {
	return &hashSide{i: i, name: name, w: w, q: newHashSQL(w.Dialect()), rel: rel, where: where, out: out}
}

func (s *hashSide) relSQL() string { return s.q.d.QuoteRelation(s.rel) }

func (s *hashSide) loadColumns(ctx context.Context) error {
	cols, err := s.w.Columns(ctx, s.rel)
	switch {
	case errors.Is(err, warehouse.ErrRelationNotFound):
		s.out.Exists = false
	case err != nil:
		return err
	default:
		s.out.Exists = true
		s.out.Columns = cols
	}
	s.columnsLoaded = true
	return nil
}

func (s *hashSide) countRows(ctx context.Context) error {
	query := "SELECT count(*) FROM " + s.relSQL() + whereSQL(s.where)
	rows, err := s.w.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("count rows: %w", err)
	}
	if s.out.Rows, err = countValue(rows.Values[0][0]); err != nil {
		return fmt.Errorf("count rows: %w", err)
	}
	return nil
}

// hashSchemaDiff is DiffSchema, except that across engines a type counts as
// retyped only when it means something else: PostgreSQL's "double
// precision" is DuckDB's "double".
func hashSchemaDiff(base, head *hashSide) SchemaDiff {
	sd := DiffSchema(base.out.Columns, head.out.Columns)
	if base.q.d.Name() != head.q.d.Name() {
		sd.Retyped = slices.DeleteFunc(sd.Retyped, func(r Retyped) bool { return hashTypeName(r.BaseType) == hashTypeName(r.HeadType) })
	}
	return sd
}

// hashTypeName spells a type the same way for both engines.
func hashTypeName(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	switch t {
	case "int2", "smallint":
		return "smallint"
	case "int4", "int", "integer":
		return "integer"
	case "int8", "bigint":
		return "bigint"
	case "float4", "real", "float":
		return "real"
	case "float8", "double", "double precision":
		return "double"
	case "bool", "boolean":
		return "boolean"
	case "text", "varchar", "character varying", "string":
		return "text"
	case "bytea", "blob":
		return "blob"
	case "timestamp", "timestamp without time zone":
		return "timestamp"
	case "timestamptz", "timestamp with time zone":
		return "timestamptz"
	case "time", "time without time zone":
		return "time"
	}
	if rest, ok := strings.CutPrefix(t, "numeric("); ok {
		return "decimal(" + rest
	}
	if rest, ok := strings.CutPrefix(t, "character varying("); ok {
		return "varchar(" + rest
	}
	if rest, ok := strings.CutPrefix(t, "character("); ok {
		return "char(" + rest
	}
	return t
}

// hashColumn is a key or compared column: its name, its column on each
// side (the zero Column on a missing side), how both sides write it, and the
// type each side casts it to first ("" for none).
type hashColumn struct {
	name     string
	cols     [2]warehouse.Column
	mode     hashMode
	casts    [2]string
	tolerant bool // numeric on both sides: Options.Tolerance applies
}

// operand is the column's value on side i as its canonical text reads it.
func (c hashColumn) operand(i int, expr string) string {
	if c.casts[i] == "" {
		return expr
	}
	return "CAST(" + expr + " AS " + c.casts[i] + ")"
}

// hashColumns is what to compare.
type hashColumns struct {
	keys, cols []hashColumn
	// intKeys: every key column is an integer of at most 64 bits on both
	// sides, so the key hash is arithmetic, of keyBits = 31 bits; else it
	// is the md5 of the key text, keyBits = 60.
	intKeys bool
	keyBits int
}

func planHashColumns(base, head *hashSide, opts Options) (*hashColumns, error) {
	p := &hashColumns{}
	sides := [2]*hashSide{base, head}
	// find resolves a column on both sides; a missing relation takes the
	// other side's column, so that one code path serves both cases.
	find := func(name, what string) ([2]warehouse.Column, error) {
		var found [2]warehouse.Column
		for i, s := range sides {
			if !s.out.Exists {
				continue
			}
			c, ok := FindColumn(s.out.Columns, name)
			if !ok {
				return found, fmt.Errorf("%s %q is not in %s %s (its columns: %s)", what, name, s.name, s.relSQL(), hashColumnList(s.out.Columns))
			}
			found[i] = c
		}
		if !base.out.Exists {
			found[0] = found[1]
		}
		if !head.out.Exists {
			found[1] = found[0]
		}
		return found, nil
	}
	sameEngine := base.q.d.Name() == head.q.d.Name() || !base.out.Exists || !head.out.Exists
	p.intKeys = true
	for _, k := range opts.Key {
		cols, err := find(k, "key column")
		if err != nil {
			return nil, err
		}
		bt, ht := cols[0].Type, cols[1].Type
		// Within one engine Join matches such keys by their text, and so
		// does HashDiff; across engines they are a mistake to point out.
		if !sameEngine && !hashKeyTypesMatch(TypeFamily(bt), TypeFamily(ht)) {
			return nil, fmt.Errorf("%w: key column %q is %s in base %s (%s) but %s in head %s (%s); rows can only be matched on keys of the same kind: cast the column in a model (e.g. CAST(%s AS %s)) or compare with --key on columns whose types match",
				ErrKeyTypeMismatch, k, bt, base.relSQL(), base.q.d.Name(), ht, head.relSQL(), head.q.d.Name(), k, bt)
		}
		p.keys = append(p.keys, newHashColumn(k, cols, sameEngine, base.q, head.q))
		for _, t := range []string{bt, ht} {
			t = strings.ToLower(t)
			if TypeFamily(t) != FamilyInteger || t == "hugeint" || t == "uhugeint" || t == "ubigint" {
				p.intKeys = false
			}
		}
	}
	p.keyBits = md5Bits
	if p.intKeys {
		p.keyBits = intHashBits
	}

	names := opts.Columns
	if len(names) == 0 {
		// Every column both sides have (one side's, when the other is
		// missing), in base order.
		first, other := base, head
		if !base.out.Exists {
			first, other = head, base
		}
		for _, c := range first.out.Columns {
			if _, ok := FindColumn(other.out.Columns, c.Name); ok || !other.out.Exists {
				names = append(names, c.Name)
			}
		}
	}
	isKey := func(name string) bool {
		return slices.ContainsFunc(p.keys, func(k hashColumn) bool {
			return strings.EqualFold(k.cols[0].Name, name) || strings.EqualFold(k.cols[1].Name, name)
		})
	}
	for _, name := range names {
		if isKey(name) {
			continue // the key is compared by matching rows
		}
		cols, err := find(name, "column to compare")
		if err != nil {
			return nil, err
		}
		p.cols = append(p.cols, newHashColumn(name, cols, sameEngine, base.q, head.q))
	}
	return p, nil
}

func hashColumnList(cols []warehouse.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// newHashColumn decides how a column is written on both sides so that its
// canonical texts are equal exactly when Join's comparison (NewComparison)
// finds the values equal.
func newHashColumn(name string, cols [2]warehouse.Column, sameEngine bool, bq, hq hashSQL) hashColumn {
	c := hashColumn{name: name, cols: cols}
	jc := NewComparison(name, cols[0], cols[1])
	c.tolerant = jc.Tolerant
	fb, fh := TypeFamily(cols[0].Type), TypeFamily(cols[1].Type)
	temporal := func(f Family) bool { return f == FamilyDate || f == FamilyTimestamp || f == FamilyTimestampTZ }
	switch {
	case jc.Mode == CompareText:
		c.mode = modeText
	case jc.Mode == CompareTimestamp:
		// Both to the coarser precision, as Join compares them.
		c.mode = modeTimestamp
		if fb == FamilyTimestampTZ {
			c.mode = modeTimestampTZ
		}
		if sameEngine {
			c.casts = [2]string{jc.CastType, jc.CastType}
			break
		}
		pb, _ := TimestampPrecision(cols[0].Type)
		ph, _ := TimestampPrecision(cols[1].Type)
		c.casts = [2]string{bq.timestampType(min(pb, ph), fb == FamilyTimestampTZ), hq.timestampType(min(pb, ph), fb == FamilyTimestampTZ)}
	case fb.Numeric() && fh.Numeric():
		switch {
		case fb == FamilyFloat || fh == FamilyFloat:
			c.mode = modeFloat
		case fb == FamilyInteger && fh == FamilyInteger:
			c.mode = modeInteger
		case fb == FamilyDecimal && fh == FamilyDecimal && hashDecimalScale(cols[0].Type) >= 0 &&
			hashDecimalScale(cols[0].Type) == hashDecimalScale(cols[1].Type):
			c.mode = modeDecimalFixed // both engines print every value with that scale
		default:
			c.mode = modeDecimal
		}
	case fb != fh && temporal(fb) && temporal(fh):
		// Join compares a date with a timestamp as the timestamp of its
		// midnight, and a timestamp with a timestamptz in the time zone.
		tz := fb == FamilyTimestampTZ || fh == FamilyTimestampTZ
		c.mode = modeTimestamp
		if tz {
			c.mode = modeTimestampTZ
		}
		c.casts = [2]string{bq.timestampType(6, tz), hq.timestampType(6, tz)}
	case fb == fh:
		c.mode = map[Family]hashMode{
			FamilyInteger: modeInteger, FamilyBoolean: modeBoolean, FamilyDate: modeDate,
			FamilyTimestamp: modeTimestamp, FamilyTimestampTZ: modeTimestampTZ, FamilyUUID: modeUUID, FamilyBlob: modeBlob,
		}[fb] // modeText for text and the rest
		if p, _ := TimestampPrecision(cols[0].Type); p > 6 {
			c.mode = modeText // nanoseconds (DuckDB only): the text keeps them
		}
	default:
		c.mode = modeText
	}
	return c
}

// hashKeyTypesMatch: key columns must be of one kind on both sides to match
// rows (integers and decimals mix: 5 and 5.00 are the same key).
func hashKeyTypesMatch(b, h Family) bool {
	exact := func(f Family) bool { return f == FamilyInteger || f == FamilyDecimal }
	return b == h || exact(b) && exact(h)
}

// loadStats counts rows, NULL keys and duplicated keys in one aggregate,
// and samples duplicated keys.
func (s *hashSide) loadStats(ctx context.Context, p *hashColumns, sample int) error {
	keys := s.quotedKeys(p)
	var isNull []string
	for _, k := range keys {
		isNull = append(isNull, k+" IS NULL")
	}
	big := s.q.bigint
	query := "SELECT " +
		"CAST(coalesce(sum(n), 0) AS " + big + "), " +
		"CAST(coalesce(sum(CASE WHEN nk THEN n END), 0) AS " + big + "), " +
		"count(CASE WHEN NOT nk AND n > 1 THEN 1 END), " +
		"CAST(coalesce(sum(CASE WHEN NOT nk AND n > 1 THEN n END), 0) AS " + big + ") " +
		"FROM (SELECT count(*) AS n, " + strings.Join(isNull, " OR ") + " AS nk FROM " + s.relSQL() + whereSQL(s.where) +
		" GROUP BY " + strings.Join(keys, ", ") + ") g"
	rows, err := s.w.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("count rows and keys: %w", err)
	}
	var v [4]int64
	for i := range v {
		if v[i], err = countValue(rows.Values[0][i]); err != nil {
			return fmt.Errorf("count rows and keys: %w", err)
		}
	}
	s.out.Rows, s.out.NullKeys, s.out.DuplicateKeys, s.dupRows = v[0], v[1], v[2], v[3]
	s.validRows = v[0] - v[1]
	if s.out.DuplicateKeys == 0 || sample <= 0 {
		return nil
	}
	query = "SELECT " + s.sampleJSON(p.keys, keys) + " FROM " + s.relSQL() + whereSQL(s.where, s.notNullKeys(keys)) +
		" GROUP BY " + strings.Join(keys, ", ") + " HAVING count(*) > 1 ORDER BY " + strings.Join(keys, ", ") +
		" LIMIT " + s.q.d.Placeholder(1)
	rows, err = s.w.Query(ctx, query, sample)
	if err != nil {
		return fmt.Errorf("sample duplicated keys: %w", err)
	}
	for _, r := range rows.Values {
		vals, err := s.decodeSample(r[0], p.keys)
		if err != nil {
			return err
		}
		s.out.DuplicateSample = append(s.out.DuplicateSample, vals)
	}
	return nil
}

// sampleJSON is one JSON array of the values of cols (as exprs on this
// side), the way Join carries sample values: every value comes back with
// the same Go type whatever the engine (see DecodeSampleValue).
func (s *hashSide) sampleJSON(cols []hashColumn, exprs []string) string {
	elems := make([]string, len(cols))
	for j, c := range cols {
		elems[j] = SampleJSONElement(s.q.d, exprs[j], c.cols[s.i].Type)
	}
	return JSONArraySQL(s.q.d, elems)
}

// decodeSample decodes a sampleJSON array of the given columns' values.
func (s *hashSide) decodeSample(v any, cols ...[]hashColumn) ([]any, error) {
	text, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("sample values: unexpected %T", v)
	}
	vals, err := decodeJSONArray(text)
	if err != nil {
		return nil, err
	}
	var all []hashColumn
	for _, c := range cols {
		all = append(all, c...)
	}
	if len(vals) != len(all) {
		return nil, fmt.Errorf("sample values: %d values for %d columns", len(vals), len(all))
	}
	for j, c := range all {
		vals[j] = DecodeSampleValue(vals[j], c.cols[s.i].Type)
	}
	return vals, nil
}

func (s *hashSide) quotedKeys(p *hashColumns) []string {
	out := make([]string, len(p.keys))
	for j, k := range p.keys {
		out[j] = s.q.d.QuoteIdent(k.cols[s.i].Name)
	}
	return out
}

func (s *hashSide) notNullKeys(keys []string) string {
	conds := make([]string, len(keys))
	for j, k := range keys {
		conds[j] = k + " IS NOT NULL"
	}
	return strings.Join(conds, " AND ")
}

// hashOneSided fills res when one relation is missing: every row of the
// other one with a valid key is only in it.
func hashOneSided(ctx context.Context, res *Result, base, head *hashSide, p *hashColumns, sample int) error {
	s := base
	if !base.out.Exists {
		s = head
	}
	only := s.validRows - s.dupRows
	for _, c := range p.cols {
		res.Columns = append(res.Columns, ColumnDiff{Name: c.name, MatchPercent: 100})
	}
	var samples []Row
	if sample > 0 && only > 0 {
		keys := s.quotedKeys(p)
		cols := make([]string, len(p.cols))
		for j, c := range p.cols {
			cols[j] = s.q.d.QuoteIdent(c.cols[s.i].Name)
		}
		inner := "SELECT " + s.sampleJSON(append(slices.Clone(p.keys), p.cols...), append(slices.Clone(keys), cols...)) + " AS v, " +
			strings.Join(keys, ", ") + ", count(*) OVER (PARTITION BY " + strings.Join(keys, ", ") + ") AS dataops_n FROM " +
			s.relSQL() + whereSQL(s.where, s.notNullKeys(keys))
		query := "SELECT v FROM (" + inner + ") t WHERE dataops_n = 1 ORDER BY " + strings.Join(keys, ", ") + " LIMIT " + s.q.d.Placeholder(1)
		rows, err := s.w.Query(ctx, query, sample)
		if err != nil {
			return fmt.Errorf("%s: sample rows: %w", s.name, err)
		}
		res.RowsTransferred += int64(len(rows.Values))
		for _, r := range rows.Values {
			vals, err := s.decodeSample(r[0], p.keys, p.cols)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			samples = append(samples, p.sampleRow(vals))
		}
	}
	if s == base {
		res.OnlyInBase, res.Samples.OnlyInBase = only, samples
	} else {
		res.OnlyInHead, res.Samples.OnlyInHead = only, samples
	}
	return nil
}

// sampleRow splits sample values into the key and the compared columns.
func (p *hashColumns) sampleRow(vals []any) Row {
	row := Row{Key: vals[:len(p.keys)], Values: make(map[string]any, len(p.cols))}
	for j, c := range p.cols {
		row.Values[c.name] = vals[len(p.keys)+j]
	}
	return row
}

// hashSeg is a segment summary: its rows and the sum of their row hashes
// (as decimal text: the sum of 60-bit values outgrows a bigint).
type hashSeg struct {
	rows int64
	sum  string
}

// hashRun is a diff of two existing relations.
type hashRun struct {
	res        *Result
	rep        *hashReport
	base, head *hashSide
	plan       *hashColumns
	tune       hashTuning
	opts       Options
}

func (d *hashRun) run(ctx context.Context) error {
	sides := []*hashSide{d.base, d.head}
	n := max(d.base.validRows, d.head.validRows)
	bitsNow := min(hashInitialBits(n, d.tune.rowsPerSegment), d.plan.keyBits)
	var parents []int64
	parentBits := -1
	var prevRows int64
	var expect [2]int64 // rows in the parent segments, then in those to fetch
	var fetch []int64
	for pass := 1; ; pass++ {
		// A pass at full key-hash width reads one hash per row and sums in
		// Go: at under a row per segment, grouping in SQL saves nothing and
		// costs PostgreSQL a hash aggregate that spills to disk.
		perRow := parentBits >= 0 && bitsNow == d.plan.keyBits
		var sums [2]map[int64]hashSeg
		start := time.Now()
		err := hashBoth(sides, func(s *hashSide) error {
			var err error
			if perRow {
				sums[s.i], err = s.rowHashes(ctx, d.plan, parentBits, parents, expect[s.i])
			} else {
				sums[s.i], err = s.summaries(ctx, d.plan, bitsNow, parentBits, parents)
			}
			return err
		})
		if err != nil {
			return err
		}
		differing, rowsB, rowsH := hashDiffering(sums[0], sums[1])
		d.rep.Passes++
		d.rep.PassTimes = append(d.rep.PassTimes, time.Since(start))
		d.rep.Bits = append(d.rep.Bits, bitsNow)
		d.rep.Differing = append(d.rep.Differing, len(differing))
		d.rep.Summaries += int64(len(sums[0]) + len(sums[1]))
		if len(differing) == 0 {
			break
		}
		rows := rowsB + rowsH
		expect = [2]int64{rowsB, rowsH}
		avg := float64(rows) / float64(2*len(differing))
		stalled := prevRows > 0 && rows*2 > prevRows // splitting stopped paying (duplicated keys, dense changes)
		if rows <= d.tune.fetchRows || avg <= d.tune.fetchAverage || bitsNow >= d.plan.keyBits || pass >= d.tune.maxPasses || stalled {
			fetch = differing
			break
		}
		next := d.plan.keyBits // one hash per row: the next pass finds the differing keys themselves
		if rows > d.tune.rowHashesMax {
			// Too many rows to hold their hashes: split each differing
			// segment into about two segments per row, in SQL.
			next = min(bitsNow+bits.Len64(uint64(math.Ceil(avg)))+1, d.plan.keyBits)
		}
		parents, parentBits, bitsNow, prevRows = differing, bitsNow, next, rows
	}

	var fetched [2]map[string][]*hashFetchedRow
	start := time.Now()
	if len(fetch) > 0 {
		err := hashBoth(sides, func(s *hashSide) error {
			var err error
			fetched[s.i], d.rep.Fetched[s.i], err = s.fetch(ctx, d.plan, bitsNow, fetch, expect[s.i])
			return err
		})
		if err != nil {
			return err
		}
	}
	d.rep.FetchTime = time.Since(start)
	d.res.RowsTransferred += d.rep.Fetched[0] + d.rep.Fetched[1]
	return d.compare(fetched)
}

// hashInitialBits gives segments of about perSegment rows.
func hashInitialBits(n, perSegment int64) int {
	segs := (n + max(perSegment, 1) - 1) / max(perSegment, 1)
	if segs <= 1 {
		return 0
	}
	return bits.Len64(uint64(segs - 1))
}

// hashDiffering lists the segments whose summaries differ, sorted, with the
// rows they hold on each side.
func hashDiffering(b, h map[int64]hashSeg) (segs []int64, rowsB, rowsH int64) {
	for seg, sb := range b {
		if sh, ok := h[seg]; !ok || sh != sb {
			segs = append(segs, seg)
			rowsB += sb.rows
			rowsH += sh.rows
		}
	}
	for seg, sh := range h {
		if _, ok := b[seg]; !ok {
			segs = append(segs, seg)
			rowsH += sh.rows
		}
	}
	slices.Sort(segs)
	return segs, rowsB, rowsH
}

// rowSource is the innermost query: the key text, and the key and compared
// columns as k0.. and c0.. (so that the relation's own column names never
// clash with ours), of the rows with a non-NULL key.
func (s *hashSide) rowSource(p *hashColumns) string {
	keys := s.quotedKeys(p)
	operands := make([]string, len(keys))
	for j, k := range keys {
		operands[j] = p.keys[j].operand(s.i, k)
	}
	sel := []string{s.q.fields(operands, p.keys) + " AS kt"}
	for j, k := range keys {
		sel = append(sel, k+" AS k"+strconv.Itoa(j))
	}
	for j, c := range p.cols {
		sel = append(sel, s.q.d.QuoteIdent(c.cols[s.i].Name)+" AS c"+strconv.Itoa(j))
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM " + s.relSQL() + whereSQL(s.where, s.notNullKeys(keys))
}

// hashedSource adds the key hash hk to rowSource. No OFFSET 0 fence to keep
// the engines from computing hk twice (in a filter and in the select list):
// a LIMIT or OFFSET makes both engines read the relation on one thread, and
// hk is computed twice only for the few rows that pass the filter.
func (s *hashSide) hashedSource(p *hashColumns) string {
	keys := make([]string, len(p.keys))
	for j := range p.keys {
		keys[j] = "k" + strconv.Itoa(j)
	}
	cols := append([]string{p.keyHash(s.q, keys, "kt") + " AS hk", "kt"}, keys...)
	for j := range p.cols {
		cols = append(cols, "c"+strconv.Itoa(j))
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM (" + s.rowSource(p) + ") r"
}

// keyHash is the key hash of the (non-NULL) key columns keys whose key text
// is kt: a non-negative bigint of keyBits bits, the same in both engines.
func (p *hashColumns) keyHash(q hashSQL, keys []string, kt string) string {
	if !p.intKeys {
		return q.hash60(kt)
	}
	prime, mult := strconv.Itoa(intHashPrime), strconv.Itoa(intHashMultiplier)
	h := ""
	for _, k := range keys {
		r := "((" + q.cast(k, q.bigint) + " % " + prime + " + " + prime + ") % " + prime + ")"
		if h == "" {
			h = "(" + r + " * " + mult + " % " + prime + ")"
		} else {
			h = "((" + h + " + " + r + ") * " + mult + " % " + prime + ")"
		}
	}
	return h
}

// colFields is the concatenated fields of the compared columns c0.. of
// rowSource.
func (s *hashSide) colFields(p *hashColumns) []string {
	out := make([]string, len(p.cols))
	for j, c := range p.cols {
		out[j] = s.q.field(c.operand(s.i, "c"+strconv.Itoa(j)), c.mode)
	}
	return out
}

// rowHashExpr is the row hash over the columns of rowSource (and so of
// hashedSource): the key text and the compared fields.
func (s *hashSide) rowHashExpr(p *hashColumns) string {
	return s.q.hash60(strings.Join(append([]string{"kt"}, s.colFields(p)...), " || "))
}

// summaries groups the rows by the top bitsNow bits of their key hash,
// restricted to the given parent segments of parentBits bits (all when
// parentBits < 0).
func (s *hashSide) summaries(ctx context.Context, p *hashColumns, bitsNow, parentBits int, parents []int64) (map[int64]hashSeg, error) {
	ph := s.q.d.Placeholder
	args := []any{p.keyBits - bitsNow}
	filter := ""
	if parentBits >= 0 {
		filter = " WHERE " + s.q.inSegments("hk", ph(2), ph(3))
		args = append(args, p.keyBits-parentBits, parents)
	}
	query := "SELECT seg, count(*), CAST(sum(rh) AS " + s.q.text + ") FROM (" +
		"SELECT hk >> CAST(" + ph(1) + " AS INTEGER) AS seg, " + s.rowHashExpr(p) + " AS rh FROM (" + s.hashedSource(p) + ") s" + filter +
		") t GROUP BY seg"
	// There are never more segments than rows.
	rows, err := s.w.QueryLimit(ctx, int(s.validRows)+1, query, args...)
	if err != nil {
		return nil, fmt.Errorf("checksum segments: %w", err)
	}
	if rows.Truncated {
		return nil, fmt.Errorf("checksum segments: more segments than the %d rows counted before: the relation changed during the diff; run it again", s.validRows)
	}
	out := make(map[int64]hashSeg, len(rows.Values))
	for _, r := range rows.Values {
		seg, err1 := countValue(r[0])
		n, err2 := countValue(r[1])
		sum, ok := r[2].(string)
		if err := errors.Join(err1, err2); err != nil || !ok {
			return nil, fmt.Errorf("checksum segments: unexpected row %v", r)
		}
		out[seg] = hashSeg{rows: n, sum: sum}
	}
	return out, nil
}

// rowHashes reads the key hash and row hash of every row in the given
// segments and sums them per key hash, as summaries at full key-hash width.
// Sums wrap at 64 bits: they are only compared with sums made the same way.
func (s *hashSide) rowHashes(ctx context.Context, p *hashColumns, parentBits int, parents []int64, expect int64) (map[int64]hashSeg, error) {
	if expect == 0 {
		return nil, nil // nothing there: spare the scan
	}
	ph := s.q.d.Placeholder
	query := "SELECT hk, " + s.rowHashExpr(p) + " FROM (" + s.hashedSource(p) + ") s WHERE " + s.q.inSegments("hk", ph(1), ph(2))
	rows, err := s.w.QueryLimit(ctx, int(expect)+1, query, p.keyBits-parentBits, parents)
	if err != nil {
		return nil, fmt.Errorf("row hashes: %w", err)
	}
	if int64(len(rows.Values)) != expect {
		return nil, fmt.Errorf("row hashes: read %d rows where the checksums counted %d: the relation changed during the diff; run it again", len(rows.Values), expect)
	}
	sums := make(map[int64]uint64, len(rows.Values))
	counts := make(map[int64]int64, len(rows.Values))
	for _, r := range rows.Values {
		hk, err1 := countValue(r[0])
		rh, err2 := countValue(r[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("row hashes: %w", err)
		}
		sums[hk] += uint64(rh)
		counts[hk]++
	}
	out := make(map[int64]hashSeg, len(sums))
	for hk, sum := range sums {
		out[hk] = hashSeg{rows: counts[hk], sum: strconv.FormatUint(sum, 10)}
	}
	return out, nil
}

// checksum is one aggregate of the row hashes over the whole relation: the
// baseline a diff is measured against, and a test of cross-engine equality.
func (s *hashSide) checksum(ctx context.Context, p *hashColumns) (rows int64, sum string, err error) {
	query := "SELECT count(*), CAST(coalesce(sum(" + s.rowHashExpr(p) + "), 0) AS " + s.q.text + ") FROM (" + s.rowSource(p) + ") s"
	r, err := s.w.Query(ctx, query)
	if err != nil {
		return 0, "", fmt.Errorf("checksum: %w", err)
	}
	if rows, err = countValue(r.Values[0][0]); err != nil {
		return 0, "", fmt.Errorf("checksum: %w", err)
	}
	sum, _ = r.Values[0][1].(string)
	return rows, sum, nil
}

// hashFetchedRow is a fetched row: the canonical fields of the compared
// columns, and the sample values of the key and compared columns.
type hashFetchedRow struct {
	fields []string
	values []any // key values, then compared values
}

// fetch reads the rows of the given segments, by key text.
func (s *hashSide) fetch(ctx context.Context, p *hashColumns, bitsNow int, segs []int64, expect int64) (map[string][]*hashFetchedRow, int64, error) {
	if expect == 0 {
		return nil, 0, nil // nothing there: spare the scan
	}
	ph := s.q.d.Placeholder
	var exprs []string
	for j := range p.keys {
		exprs = append(exprs, "k"+strconv.Itoa(j))
	}
	for j := range p.cols {
		exprs = append(exprs, "c"+strconv.Itoa(j))
	}
	sel := append([]string{"kt", s.sampleJSON(append(slices.Clone(p.keys), p.cols...), exprs)}, s.colFields(p)...)
	query := "SELECT " + strings.Join(sel, ", ") + " FROM (" + s.hashedSource(p) + ") s WHERE " + s.q.inSegments("hk", ph(1), ph(2))
	rows, err := s.w.QueryLimit(ctx, int(expect)+1, query, p.keyBits-bitsNow, segs)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch rows of differing segments: %w", err)
	}
	if int64(len(rows.Values)) != expect {
		return nil, 0, fmt.Errorf("fetch rows of differing segments: read %d rows where the checksums counted %d: the relation changed during the diff; run it again", len(rows.Values), expect)
	}
	out := make(map[string][]*hashFetchedRow)
	for _, r := range rows.Values {
		kt, ok := r[0].(string)
		if !ok {
			return nil, 0, fmt.Errorf("fetch rows: unexpected key text %T", r[0])
		}
		row := &hashFetchedRow{fields: make([]string, len(p.cols))}
		if row.values, err = s.decodeSample(r[1], p.keys, p.cols); err != nil {
			return nil, 0, fmt.Errorf("fetch rows: %w", err)
		}
		for j := range p.cols {
			if row.fields[j], ok = r[2+j].(string); !ok {
				return nil, 0, fmt.Errorf("fetch rows: unexpected field %T", r[2+j])
			}
		}
		out[kt] = append(out[kt], row)
	}
	return out, int64(len(rows.Values)), nil
}

// compare classifies the fetched rows as Join does and counts the unchanged
// rows of the segments that matched.
func (d *hashRun) compare(fetched [2]map[string][]*hashFetchedRow) error {
	p, res := d.plan, d.res
	changedCols := make([]int64, len(p.cols))
	var onlyBase, onlyHead []*hashFetchedRow
	var changed []ChangedRow
	var unchanged int64
	var fetchedDup [2]int64
	for i := range fetched {
		for _, rows := range fetched[i] {
			if len(rows) > 1 {
				fetchedDup[i] += int64(len(rows))
			}
		}
	}
	// A key duplicated on one side leaves that side only: the other side's
	// single row with it is only in its side.
	for kt, brows := range fetched[0] {
		if len(brows) != 1 {
			continue
		}
		hrows := fetched[1][kt]
		if len(hrows) != 1 {
			onlyBase = append(onlyBase, brows[0])
			continue
		}
		b, h := brows[0], hrows[0]
		var c *ChangedRow
		for j, col := range p.cols {
			if col.mode.equal(b.fields[j], h.fields[j], col.tolerant, d.opts.Tolerance) {
				continue
			}
			changedCols[j]++
			if c == nil {
				c = &ChangedRow{Key: b.values[:len(p.keys)], Changes: map[string][2]any{}}
			}
			c.Changes[col.name] = [2]any{b.values[len(p.keys)+j], h.values[len(p.keys)+j]}
		}
		if c == nil {
			unchanged++
		} else {
			changed = append(changed, *c)
		}
	}
	for kt, hrows := range fetched[1] {
		if len(hrows) == 1 && len(fetched[0][kt]) != 1 {
			onlyHead = append(onlyHead, hrows[0])
		}
	}

	// Matched segments hold the same rows on both sides: their rows with a
	// unique key are unchanged.
	var matched [2]int64
	for i, s := range []*hashSide{d.base, d.head} {
		matched[i] = (s.validRows - d.rep.Fetched[i]) - (s.dupRows - fetchedDup[i])
	}
	if matched[0] != matched[1] {
		return fmt.Errorf("the relations changed during the diff (the segments that matched hold %d unique keys in base but %d in head): run it again", matched[0], matched[1])
	}

	res.OnlyInBase, res.OnlyInHead = int64(len(onlyBase)), int64(len(onlyHead))
	res.Changed, res.Unchanged = int64(len(changed)), unchanged+matched[0]
	both := res.Changed + res.Unchanged
	for j, c := range p.cols {
		cd := ColumnDiff{Name: c.name, Changed: changedCols[j], MatchPercent: 100}
		if both > 0 {
			cd.MatchPercent = 100 * float64(both-changedCols[j]) / float64(both)
		}
		res.Columns = append(res.Columns, cd)
	}

	// Samples: the first rows of each kind in key order.
	sample := d.opts.Sample
	nk := len(p.keys)
	byKey := func(a, b *hashFetchedRow) int { return CompareSampleKeys(a.values[:nk], b.values[:nk]) }
	slices.SortFunc(onlyBase, byKey)
	slices.SortFunc(onlyHead, byKey)
	slices.SortFunc(changed, func(a, b ChangedRow) int { return CompareSampleKeys(a.Key, b.Key) })
	for _, r := range onlyBase[:min(sample, len(onlyBase))] {
		res.Samples.OnlyInBase = append(res.Samples.OnlyInBase, p.sampleRow(r.values))
	}
	for _, r := range onlyHead[:min(sample, len(onlyHead))] {
		res.Samples.OnlyInHead = append(res.Samples.OnlyInHead, p.sampleRow(r.values))
	}
	res.Samples.Changed = changed[:min(sample, len(changed))]
	return nil
}

// hashMode is the canonical text form of a column pair.
type hashMode int

const (
	modeText         hashMode = iota // CAST(c AS text), length-prefixed
	modeInteger                      // decimal digits
	modeDecimal                      // shortest decimal text: 1.50 -> 1.5
	modeDecimalFixed                 // the text of a decimal whose scale both sides share: 1.50
	modeFloat                        // the IEEE 754 bits of the double in hex; 0 for ±0, nan for NaN
	modeBoolean                      // 1 or 0
	modeDate                         // days since 1970-01-01
	modeTimestamp                    // microseconds since 2000-01-01 as 16 hex digits (two's complement)
	modeTimestampTZ                  // the same, for timestamps with time zone
	modeUUID                         // lowercase, hyphenated
	modeBlob                         // lowercase hex
)

// hashDecimalScale reads the scale of numeric(p,s) or decimal(p,s); -1 when
// the type does not fix it (PostgreSQL's plain numeric).
func hashDecimalScale(t string) int {
	_, args, ok := strings.Cut(strings.ToLower(t), "(")
	if !ok {
		return -1
	}
	args = strings.TrimSuffix(strings.TrimSpace(args), ")")
	_, scale, ok := strings.Cut(args, ",")
	if !ok {
		return 0 // numeric(p) is numeric(p,0)
	}
	n, err := strconv.Atoi(strings.TrimSpace(scale))
	if err != nil {
		return -1
	}
	return n
}

// prefixed modes may contain any character, so their field is
// length-prefixed; the others never contain the ';' that ends their field.
func (m hashMode) prefixed() bool { return m == modeText }

const hashNull = "~" // a field for NULL: no canonical text starts with it unprefixed

// value extracts the canonical text from a field; ok is false for NULL.
func (m hashMode) value(field string) (string, bool) {
	if field == hashNull || field == hashNull+";" {
		return "", false
	}
	if m.prefixed() {
		_, v, _ := strings.Cut(field, ":")
		return v, true
	}
	return strings.TrimSuffix(field, ";"), true
}

// equal compares two fields, numbers within tolerance when tolerant.
func (m hashMode) equal(a, b string, tolerant bool, tolerance float64) bool {
	if a == b {
		return true
	}
	if !tolerant || tolerance <= 0 {
		return false
	}
	va, okA := m.value(a)
	vb, okB := m.value(b)
	if !okA || !okB {
		return false
	}
	if m == modeFloat {
		x, ok1 := hashParseFloatCanon(va)
		y, ok2 := hashParseFloatCanon(vb)
		return ok1 && ok2 && math.Abs(x-y) <= tolerance
	}
	x, ok1 := new(big.Rat).SetString(va)
	y, ok2 := new(big.Rat).SetString(vb)
	if !ok1 || !ok2 {
		return false
	}
	diff, _ := new(big.Rat).Sub(x, y).Float64()
	return math.Abs(diff) <= tolerance
}

// hashParseFloatCanon reads modeFloat's text back into the double.
func hashParseFloatCanon(s string) (float64, bool) {
	switch s {
	case "0":
		return 0, true
	case "nan":
		return math.NaN(), true
	}
	b, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) != 16 {
		return 0, false
	}
	return math.Float64frombits(b), true
}

// hashSQL writes the canonical texts and hashes in one engine's SQL.
type hashSQL struct {
	d      warehouse.Dialect
	duck   bool
	text   string // the text type
	bigint string
	double string
}

func newHashSQL(d warehouse.Dialect) hashSQL {
	if d.Name() == "duckdb" {
		return hashSQL{d: d, duck: true, text: "VARCHAR", bigint: "BIGINT", double: "DOUBLE"}
	}
	return hashSQL{d: d, text: "text", bigint: "bigint", double: "double precision"}
}

func (q hashSQL) cast(expr, typ string) string { return "CAST(" + expr + " AS " + typ + ")" }

// hash60 is the first 60 bits of the md5 of a text, as a non-negative
// bigint: 15 hex digits read as an integer.
func (q hashSQL) hash60(text string) string {
	if q.duck {
		return "CAST('0x' || substr(md5(" + text + "), 1, 15) AS BIGINT)"
	}
	return "CAST(CAST('x' || substr(md5(" + text + "), 1, 15) AS bit(60)) AS bigint)"
}

// inSegments restricts to key hashes whose top bits (shifted right by the
// shift parameter) are in the bound array of segment numbers. A semi-join
// on the unnested array is a hash join in both engines, where IN (list) or
// = ANY would scan the list for every row.
func (q hashSQL) inSegments(hk, shift, segs string) string {
	return "(" + hk + " >> CAST(" + shift + " AS INTEGER)) IN (SELECT unnest(CAST(" + segs + " AS " + q.bigint + "[])))"
}

func (q hashSQL) byteLength(expr string) string {
	if q.duck {
		return "strlen(" + expr + ")"
	}
	return "octet_length(" + expr + ")"
}

// fields is the concatenation of the fields of cols, whose values (with
// any cast already applied) are exprs.
func (q hashSQL) fields(exprs []string, cols []hashColumn) string {
	parts := make([]string, len(exprs))
	for j, e := range exprs {
		parts[j] = q.field(e, cols[j].mode)
	}
	return strings.Join(parts, " || ")
}

// timestampType is this engine's timestamp type with digits of fractional
// seconds ("" when it has none such), with or without time zone.
func (q hashSQL) timestampType(digits int, tz bool) string {
	if !q.duck {
		if tz {
			return "timestamp(" + strconv.Itoa(digits) + ") with time zone"
		}
		return "timestamp(" + strconv.Itoa(digits) + ") without time zone"
	}
	if tz {
		if digits == 6 {
			return "TIMESTAMPTZ"
		}
		return ""
	}
	return map[int]string{0: "TIMESTAMP_S", 3: "TIMESTAMP_MS", 6: "TIMESTAMP", 9: "TIMESTAMP_NS"}[digits]
}

// field is a column's canonical text made safe to concatenate: never NULL,
// and no two different sequences of fields concatenate to the same text.
func (q hashSQL) field(col string, m hashMode) string {
	c := q.canonical(col, m)
	if m.prefixed() {
		return "coalesce(" + q.cast(q.byteLength(c), q.text) + " || ':' || " + c + ", '" + hashNull + "')"
	}
	return "coalesce(" + c + ", '" + hashNull + "') || ';'"
}

// canonical is the column's text in mode m, NULL for NULL. Every branch
// yields the same bytes in both engines for the same value.
func (q hashSQL) canonical(col string, m hashMode) string {
	t := q.text
	switch m {
	case modeInteger:
		return q.cast(col, t)
	case modeDecimalFixed:
		return q.cast(col, t)
	case modeDecimal:
		// Both engines print a decimal with its type's scale; dropping
		// trailing zeros makes 1.50, 1.5 and 1.500000000 one text.
		s := q.cast(col, t)
		return "CASE WHEN strpos(" + s + ", '.') > 0 THEN rtrim(rtrim(" + s + ", '0'), '.') ELSE " + s + " END"
	case modeFloat:
		return q.floatCanonical(q.cast(col, q.double))
	case modeBoolean:
		return "CASE WHEN " + col + " THEN '1' WHEN NOT " + col + " THEN '0' END"
	case modeDate:
		return "CASE WHEN isfinite(" + col + ") THEN " + q.cast("("+col+" - DATE '1970-01-01')", t) + " ELSE " + q.cast(col, t) + " END"
	case modeTimestamp, modeTimestampTZ:
		// PostgreSQL stores microseconds since 2000-01-01 and sends them
		// as 8 bytes (infinity as the extreme int64s): hex of that is much
		// cheaper than extract(epoch), which computes in numeric.
		if !q.duck {
			send := "timestamp_send"
			if m == modeTimestampTZ {
				send = "timestamptz_send"
			}
			return "encode(" + send + "(" + col + "), 'hex')"
		}
		return "CASE WHEN " + col + " IS NULL THEN NULL" +
			" WHEN isfinite(" + col + ") THEN printf('%016x', epoch_us(" + col + ") - 946684800000000)" +
			" WHEN " + q.cast(col, t) + " LIKE '-%' THEN '8000000000000000' ELSE '7fffffffffffffff' END"
	case modeUUID:
		return "lower(" + q.cast(col, t) + ")"
	case modeBlob:
		if q.duck {
			return "lower(hex(" + col + "))"
		}
		return "encode(" + col + ", 'hex')"
	}
	return q.cast(col, t)
}

// floatCanonical writes a double exactly, without depending on how the
// engine prints floats (PostgreSQL's extra_float_digits, DuckDB's format):
// its IEEE 754 bits as 16 hex digits, with 0 for both zeros and nan for
// every NaN, as both engines hold those equal. PostgreSQL sends the bits
// (float8send); DuckDB has no such function, so they are computed: the
// binary exponent e from log2 (which may be one off near a power of two,
// corrected below), the 53-bit mantissa |x| / 2^e * 2^52 (dividing by a
// power of two is exact), subnormals as |x| / 2^-1074, and the sign bit.
// Each subexpression appears as few times as possible: DuckDB evaluates
// every copy.
func (q hashSQL) floatCanonical(x string) string {
	d := q.double
	if !q.duck {
		return "CASE WHEN " + x + " = 0 THEN '0' WHEN " + x + " = " + q.cast("'NaN'", d) + " THEN 'nan' ELSE encode(float8send(" + x + "), 'hex') END"
	}
	const p52, p51, p53 = "4503599627370496", "2251799813685248", "9007199254740992"
	a := "abs(" + x + ")"
	e0 := "least(greatest(floor(log2(" + a + ")), -1022), 1023)"
	m0 := "(" + a + " / power(" + q.cast("2", d) + ", " + e0 + "))"
	// With e0 right, m0 is in [1, 2); one off, in [0.5, 1) or [2, 4):
	// fold the correction into the bits, each branch exact.
	normal := q.cast(e0+" + 1022", q.bigint) + " * " + p52 + " + CASE" +
		" WHEN " + m0 + " >= 2 THEN " + p52 + " + " + q.cast(m0+" * "+p51, q.bigint) +
		" WHEN " + m0 + " < 1 THEN " + q.cast(m0+" * "+p53, q.bigint) + " - " + p52 +
		" ELSE " + q.cast(m0+" * "+p52, q.bigint) + " END"
	subnormal := q.cast(a+" / power("+q.cast("2", d)+", -1074)", q.bigint)
	pos := "CASE WHEN " + a + " < " + q.cast("'2.2250738585072014e-308'", d) + " THEN " + subnormal + " ELSE " + normal + " END"
	bitsExpr := pos + " + CASE WHEN " + x + " < 0 THEN " + q.cast("-9223372036854775807", q.bigint) + " - 1 ELSE 0 END"
	return "CASE WHEN " + x + " IS NULL THEN NULL" +
		" WHEN " + x + " = 0 THEN '0'" +
		" WHEN isnan(" + x + ") THEN 'nan'" +
		" WHEN " + x + " = " + q.cast("'Infinity'", d) + " THEN '7ff0000000000000'" +
		" WHEN " + x + " = " + q.cast("'-Infinity'", d) + " THEN 'fff0000000000000'" +
		" ELSE printf('%016x', " + bitsExpr + ") END"
}
