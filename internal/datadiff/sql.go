package datadiff

// SQL-building helpers shared by the diff algorithms: type families, how a
// column pair is compared (NULL-safe, with a numeric tolerance, timestamps at
// a common precision, other retyped columns as text), and how sample values
// travel as JSON text and come back as Go values.
//
// Every function here takes identifiers already quoted by the Dialect, or
// quotes them itself; none pastes a user value into SQL.

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Family is what a column holds, whatever the engine calls its type.
type Family int

const (
	FamilyOther       Family = iota // anything else: arrays, structs, enums, intervals, ...
	FamilyInteger                   // smallint ... bigint, DuckDB's tinyint, hugeint and unsigned types
	FamilyDecimal                   // numeric, decimal(p,s)
	FamilyFloat                     // real, double precision
	FamilyBoolean                   //
	FamilyText                      // text, varchar(n), char(n)
	FamilyDate                      //
	FamilyTimestamp                 // timestamp without time zone, at any precision
	FamilyTimestampTZ               // timestamp with time zone
	FamilyUUID                      //
	FamilyBlob                      // bytea, blob
	// FamilyNoEquality: PostgreSQL types without an equality operator
	// (json, xml, geometric types): compared as their text.
	FamilyNoEquality
)

// Numeric reports whether values of the family are numbers, which
// Options.Tolerance applies to.
func (f Family) Numeric() bool {
	return f == FamilyInteger || f == FamilyDecimal || f == FamilyFloat
}

// TypeFamily classifies a column type as warehouse.Column spells it
// (lowercase; PostgreSQL's format_type or DuckDB's data_type).
func TypeFamily(typ string) Family {
	t := strings.ToLower(strings.TrimSpace(typ))
	if strings.HasSuffix(t, "]") {
		return FamilyOther // arrays and lists
	}
	switch t {
	case "smallint", "integer", "bigint", "int", "int2", "int4", "int8", "tinyint", "hugeint",
		"utinyint", "usmallint", "uinteger", "ubigint", "uhugeint":
		return FamilyInteger
	case "real", "double precision", "double", "float", "float4", "float8":
		return FamilyFloat
	case "boolean", "bool":
		return FamilyBoolean
	case "text", "varchar", "character varying", "character", "char", "bpchar", "name", "string":
		return FamilyText
	case "date":
		return FamilyDate
	case "uuid":
		return FamilyUUID
	case "bytea", "blob":
		return FamilyBlob
	case "timestamptz":
		return FamilyTimestampTZ
	case "json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle", "txid_snapshot", "pg_snapshot":
		return FamilyNoEquality
	}
	switch {
	case strings.HasPrefix(t, "numeric"), strings.HasPrefix(t, "decimal"):
		return FamilyDecimal
	case strings.HasPrefix(t, "character varying("), strings.HasPrefix(t, "varchar("),
		strings.HasPrefix(t, "character("), strings.HasPrefix(t, "char("):
		return FamilyText
	case strings.HasPrefix(t, "timestamp") && strings.HasSuffix(t, "with time zone"):
		return FamilyTimestampTZ
	case strings.HasPrefix(t, "timestamp"):
		return FamilyTimestamp // timestamp, timestamp(3) without time zone, timestamp_ms, ...
	}
	return FamilyOther
}

var timestampPrecisionRE = regexp.MustCompile(`^timestamp\((\d)\)`)

// TimestampPrecision is the number of fractional-second digits a timestamp
// type keeps: PostgreSQL's timestamp(p) (6 without p), DuckDB's
// timestamp_s, timestamp_ms, timestamp and timestamp_ns (0, 3, 6, 9). ok is
// false for other types.
func TimestampPrecision(typ string) (digits int, ok bool) {
	t := strings.ToLower(strings.TrimSpace(typ))
	if f := TypeFamily(t); f != FamilyTimestamp && f != FamilyTimestampTZ {
		return 0, false
	}
	if m := timestampPrecisionRE.FindStringSubmatch(t); m != nil {
		return int(m[1][0] - '0'), true
	}
	switch {
	case strings.HasPrefix(t, "timestamp_s"):
		return 0, true
	case strings.HasPrefix(t, "timestamp_ms"):
		return 3, true
	case strings.HasPrefix(t, "timestamp_ns"):
		return 9, true
	}
	return 6, true
}

// FindColumn finds a column by exact name, then ignoring case (DuckDB
// resolves names case-insensitively; PostgreSQL folds unquoted ones).
func FindColumn(cols []warehouse.Column, name string) (warehouse.Column, bool) {
	for _, c := range cols {
		if c.Name == name {
			return c, true
		}
	}
	for _, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return warehouse.Column{}, false
}

// DiffSchema compares columns by name and type (as each side's engine
// spells it). A missing relation has no columns: every column of the other
// side is then added or removed.
func DiffSchema(base, head []warehouse.Column) SchemaDiff {
	var sd SchemaDiff
	for _, b := range base {
		h, ok := FindColumn(head, b.Name)
		switch {
		case !ok:
			sd.Removed = append(sd.Removed, b)
		case !strings.EqualFold(strings.TrimSpace(b.Type), strings.TrimSpace(h.Type)):
			sd.Retyped = append(sd.Retyped, Retyped{Name: b.Name, BaseType: b.Type, HeadType: h.Type})
		}
	}
	for _, h := range head {
		if _, ok := FindColumn(base, h.Name); !ok {
			sd.Added = append(sd.Added, h)
		}
	}
	return sd
}

// CompareMode is how the two values of a column are compared.
type CompareMode int

const (
	// CompareNative: the engine's own NULL-safe comparison, which also
	// compares across the types of one family (integer with numeric,
	// varchar with text, date with timestamp).
	CompareNative CompareMode = iota
	// CompareTimestamp: timestamps of different precisions, both cast to
	// the coarser type first, as storing into it would: PostgreSQL rounds
	// to the precision; DuckDB rounds to seconds and milliseconds but
	// truncates nanoseconds to microseconds (checked on DuckDB 1.4).
	CompareTimestamp
	// CompareText: the values' text, for columns retyped across families
	// and types without equality (json).
	CompareText
)

// Comparison says how one column is compared between base and head.
type Comparison struct {
	Name       string
	Base, Head warehouse.Column
	Mode       CompareMode
	// CastType is the coarser timestamp type, for CompareTimestamp.
	CastType string
	// Tolerant: both sides are numbers, so Options.Tolerance applies.
	Tolerant bool
}

// NewComparison decides how to compare a column that is base in the base
// relation and head in the head one.
func NewComparison(name string, base, head warehouse.Column) Comparison {
	c := Comparison{Name: name, Base: base, Head: head}
	fb, fh := TypeFamily(base.Type), TypeFamily(head.Type)
	temporal := func(f Family) bool { return f == FamilyDate || f == FamilyTimestamp || f == FamilyTimestampTZ }
	switch {
	case fb == FamilyNoEquality || fh == FamilyNoEquality:
		c.Mode = CompareText
	case fb.Numeric() && fh.Numeric():
		c.Tolerant = true
	case fb == fh && (fb == FamilyTimestamp || fb == FamilyTimestampTZ):
		pb, _ := TimestampPrecision(base.Type)
		ph, _ := TimestampPrecision(head.Type)
		if pb != ph {
			c.Mode = CompareTimestamp
			c.CastType = base.Type
			if ph < pb {
				c.CastType = head.Type
			}
		}
	case temporal(fb) && temporal(fh):
	case fb == fh && fb != FamilyOther:
	case fb == FamilyOther && strings.EqualFold(base.Type, head.Type):
	default:
		c.Mode = CompareText
	}
	return c
}

// SQLTypes are the engine's spellings of the types the comparison
// expressions cast to.
type SQLTypes struct {
	Text, Double, Exact string // Exact holds any integer difference exactly
}

// TypesFor returns the cast types of d's engine.
func TypesFor(d warehouse.Dialect) SQLTypes {
	if d.Name() == "duckdb" {
		return SQLTypes{Text: "VARCHAR", Double: "DOUBLE", Exact: "HUGEINT"}
	}
	return SQLTypes{Text: "text", Double: "double precision", Exact: "numeric"}
}

// Operands returns the SQL expressions a and b (the base and head values)
// converted as Mode says, ready to compare.
func (c Comparison) Operands(d warehouse.Dialect, a, b string) (string, string) {
	switch c.Mode {
	case CompareText:
		t := TypesFor(d).Text
		return "CAST(" + a + " AS " + t + ")", "CAST(" + b + " AS " + t + ")"
	case CompareTimestamp:
		return "CAST(" + a + " AS " + c.CastType + ")", "CAST(" + b + " AS " + c.CastType + ")"
	}
	return a, b
}

// EqualSQL is a = b for a key column: true only when both are non-NULL and
// equal, as a join condition needs.
func (c Comparison) EqualSQL(d warehouse.Dialect, a, b string) string {
	x, y := c.Operands(d, a, b)
	return x + " = " + y
}

// DistinctSQL is a boolean SQL expression, never NULL, that is true when
// the values a and b differ. NULL equals NULL. When tolerance is not empty
// (a SQL expression for the tolerance, e.g. a placeholder) and the column
// is numeric on both sides, values differing by at most the tolerance are
// equal; the subtraction runs only for values that differ, so unchanged
// rows pay nothing for it.
func (c Comparison) DistinctSQL(d warehouse.Dialect, a, b, tolerance string) string {
	x, y := c.Operands(d, a, b)
	distinct := x + " IS DISTINCT FROM " + y
	if tolerance == "" || !c.Tolerant {
		return distinct
	}
	return "(" + distinct + " AND (" + x + " IS NULL OR " + y + " IS NULL OR " + c.absDiff(d, x, y) + " > " + c.toleranceSQL(d, tolerance) + "))"
}

// absDiff is |a - b| in a type that neither overflows nor rounds the
// difference of two decimals or integers.
func (c Comparison) absDiff(d warehouse.Dialect, a, b string) string {
	fb, fh := TypeFamily(c.Base.Type), TypeFamily(c.Head.Type)
	types := TypesFor(d)
	cast := func(x, t string) string { return "CAST(" + x + " AS " + t + ")" }
	switch {
	case fb == FamilyFloat || fh == FamilyFloat || c.huge():
		return "abs(" + cast(a, types.Double) + " - " + cast(b, types.Double) + ")"
	case fb == FamilyDecimal || fh == FamilyDecimal:
		if d.Name() == "duckdb" {
			// DuckDB's decimal arithmetic is exact and widens the type;
			// a cast to DECIMAL would default to (18,3).
			return "abs(" + a + " - " + b + ")"
		}
		return "abs(" + cast(a, types.Exact) + " - " + cast(b, types.Exact) + ")"
	}
	return "abs(" + cast(a, types.Exact) + " - " + cast(b, types.Exact) + ")"
}

func (c Comparison) huge() bool {
	for _, t := range []string{c.Base.Type, c.Head.Type} {
		switch strings.ToLower(t) {
		case "hugeint", "uhugeint":
			return true
		}
	}
	return false
}

func (c Comparison) toleranceSQL(d warehouse.Dialect, tolerance string) string {
	fb, fh := TypeFamily(c.Base.Type), TypeFamily(c.Head.Type)
	types := TypesFor(d)
	if d.Name() == "duckdb" || fb == FamilyFloat || fh == FamilyFloat || c.huge() {
		return "CAST(" + tolerance + " AS " + types.Double + ")"
	}
	return "CAST(" + tolerance + " AS " + types.Exact + ")"
}

// SampleJSONElement converts the SQL expression expr, of type typ, into an
// element for JSONArraySQL, chosen so that DecodeSampleValue gets the value
// back exactly.
//
// On PostgreSQL every element is the value's text (its type's output
// function, as psql shows it): json_build_array and to_json look up how to
// convert each argument's type on every call, which made building samples
// cost microseconds per row, while a cast's output function is looked up
// once per statement. Dates and timestamps are then spelled per DateStyle,
// ISO by default. On DuckDB, integers, booleans and text stay JSON values,
// the rest travel as text (DuckDB's JSON has no NaN and rounds decimals).
func SampleJSONElement(d warehouse.Dialect, expr, typ string) string {
	text := "CAST(" + expr + " AS " + TypesFor(d).Text + ")"
	if d.Name() != "duckdb" {
		return text
	}
	switch TypeFamily(typ) {
	case FamilyInteger:
		if strings.HasPrefix(strings.ToLower(typ), "u") || strings.HasSuffix(strings.ToLower(typ), "hugeint") {
			return text
		}
		return expr
	case FamilyBoolean, FamilyText:
		return expr
	}
	return text
}

// JSONArraySQL is a SQL expression for the JSON array of elems (made by
// SampleJSONElement), as text.
func JSONArraySQL(d warehouse.Dialect, elems []string) string {
	if d.Name() == "duckdb" {
		return "CAST(json_array(" + strings.Join(elems, ", ") + ") AS VARCHAR)"
	}
	return "CAST(array_to_json(ARRAY[" + strings.Join(elems, ", ") + "]) AS text)"
}

// DecodeSampleValue turns an element of a JSON sample array (decoded with
// UseNumber) back into a Go value for a column of type typ, the same types
// the drivers give: int64 for integers (a decimal string beyond int64),
// float64 for floats (NaN and infinities included), the exact decimal text
// for numeric/decimal, bool, string for text, time.Time in UTC for dates
// and timestamps without time zone (with the offset the engine gave for
// timestamptz), and the engine's text for anything else. A value that does
// not parse is kept as the engine's text.
func DecodeSampleValue(v any, typ string) any {
	if v == nil {
		return nil
	}
	s, isString := v.(string)
	switch TypeFamily(typ) {
	case FamilyInteger:
		var text string
		switch x := v.(type) {
		case json.Number:
			text = x.String()
		case string:
			text = x
		}
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
		return text
	case FamilyFloat:
		if n, ok := v.(json.Number); ok {
			s, isString = n.String(), true
		}
		if isString {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f
			}
		}
	case FamilyDecimal:
		if n, ok := v.(json.Number); ok {
			return n.String()
		}
	case FamilyBoolean:
		switch s {
		case "true", "t":
			return true
		case "false", "f":
			return false
		}
	case FamilyDate:
		if isString {
			if t, err := time.Parse("2006-01-02", s); err == nil {
				return t
			}
		}
	case FamilyTimestamp:
		if isString {
			if t, err := time.Parse("2006-01-02T15:04:05.999999999", strings.Replace(s, " ", "T", 1)); err == nil {
				return t
			}
		}
	case FamilyTimestampTZ:
		if isString {
			s = strings.Replace(s, " ", "T", 1)
			for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07"} {
				if t, err := time.Parse(layout, s); err == nil {
					return t
				}
			}
		}
	}
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return v
}

// decodeJSONArray decodes a JSON array of sample values, keeping numbers
// exact.
func decodeJSONArray(text string) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var out []any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode sample %q: %w", text, err)
	}
	return out, nil
}

// CompareSampleKeys orders sample keys: numbers by value, times by time,
// the rest by text; NULL first.
func CompareSampleKeys(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareSampleValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func compareSampleValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	num := func(v any) (float64, bool) {
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, true
		}
		return 0, false
	}
	if x, ok := num(a); ok {
		if y, ok := num(b); ok {
			if xi, ok := a.(int64); ok {
				if yi, ok := b.(int64); ok {
					return cmpOrdered(xi, yi)
				}
			}
			if math.IsNaN(x) || math.IsNaN(y) {
				return cmpOrdered(boolInt(math.IsNaN(x)), boolInt(math.IsNaN(y)))
			}
			return cmpOrdered(x, y)
		}
	}
	if x, ok := a.(time.Time); ok {
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	}
	if x, ok := a.(bool); ok {
		if y, ok := b.(bool); ok {
			return cmpOrdered(boolInt(x), boolInt(y))
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmpOrdered[T int | int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// whereSQL joins conditions with AND, the user's Where (trusted SQL from
// the command line, see Options.Where) in parentheses; "" for none.
func whereSQL(userWhere string, conds ...string) string {
	conds = slices.DeleteFunc(slices.Clone(conds), func(s string) bool { return s == "" })
	if strings.TrimSpace(userWhere) != "" {
		conds = append(conds, "("+userWhere+")")
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// CountValue reads a count (or sum) as the drivers return it; NULL is 0.
func CountValue(v any) (int64, error) { return countValue(v) }

// countValue reads a count (or sum) as the drivers return it.
func countValue(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	case string:
		return strconv.ParseInt(x, 10, 64)
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case fmt.Stringer: // *big.Int from DuckDB's hugeint sums
		return strconv.ParseInt(x.String(), 10, 64)
	}
	return 0, fmt.Errorf("unexpected count %v (%T)", v, v)
}
