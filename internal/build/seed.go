package build

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// seedBatchRows is how many rows one INSERT carries at most.
const seedBatchRows = 500

// seedBatchSize is how many rows one INSERT carries for a seed of ncols
// columns. Each statement is a round trip, so bigger is better, up to two
// limits. PostgreSQL's protocol counts parameters in 16 bits (65,535).
// go-duckdb v2 binds in time quadratic in a statement's parameters (for
// each one it scans all the arguments for its ordinal and its name), and
// DuckDB runs in process, so there small statements win: 10,000 rows of 6
// columns load in about 1 s at 300 parameters per statement and 4.4 s at
// 3,000 (TestLoadSeed10k).
func seedBatchSize(d warehouse.Dialect, ncols int) int {
	params := 65535
	if d.Name() == "duckdb" {
		params = 300
	}
	return min(seedBatchRows, max(1, params/ncols))
}

// Bounds of the portable numeric type: DuckDB's is decimal(38,9).
const (
	seedNumericScale     = 9
	seedNumericIntDigits = 38 - seedNumericScale
)

// SeedError is a problem in a seed's content. The caller prefixes the path.
type SeedError struct {
	Line   int    // 1-based line of the CSV the problem is on; 0 when none
	Row    int    // 1-based data row (the header is row 0); 0 when not about a row
	Column string // the column, when the problem is one value or header cell
	Msg    string
}

func (e *SeedError) Error() string {
	var loc string
	switch {
	case e.Row > 0 && e.Column != "":
		loc = fmt.Sprintf("seed row %d (line %d), column %q", e.Row, e.Line, e.Column)
	case e.Row > 0:
		loc = fmt.Sprintf("seed row %d (line %d)", e.Row, e.Line)
	case e.Line > 0:
		loc = fmt.Sprintf("seed line %d", e.Line)
	default:
		loc = "seed"
	}
	return loc + ": " + e.Msg
}

// seedKind is how a column's values are checked, converted and bound.
type seedKind int

const (
	seedNone      seedKind = iota // no value seen yet
	seedInteger                   // int64
	seedBigint                    // int64
	seedNumeric                   // string, cast by the engine: exact
	seedDouble                    // string, cast by the engine
	seedBoolean                   // bool
	seedDate                      // time.Time
	seedTimestamp                 // time.Time
	seedText                      // string
	seedOther                     // +column_types the engine parses: string, cast
)

func (k seedKind) portable() warehouse.Type {
	switch k {
	case seedInteger:
		return warehouse.TypeInteger
	case seedBigint:
		return warehouse.TypeBigint
	case seedNumeric:
		return warehouse.TypeNumeric
	case seedDouble:
		return warehouse.TypeDouble
	case seedBoolean:
		return warehouse.TypeBoolean
	case seedDate:
		return warehouse.TypeDate
	case seedTimestamp:
		return warehouse.TypeTimestamp
	}
	return warehouse.TypeText
}

// castBound says whether a value of this kind is bound as a string and cast
// in SQL. Exact decimals must travel as text: a float64 would round them.
// The cast also gives DuckDB's binder the parameter's type up front.
func (k seedKind) castBound() bool {
	return k == seedNumeric || k == seedDouble || k == seedOther
}

var (
	seedIntRE       = regexp.MustCompile(`^[+-]?(0|[1-9][0-9]*)$`)
	seedDecimalRE   = regexp.MustCompile(`^[+-]?(0|[1-9][0-9]*)\.([0-9]+)$`)
	seedExponentRE  = regexp.MustCompile(`^[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?[eE][+-]?[0-9]+$`)
	seedDateRE      = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	seedTimestampRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$`)
	// A declared number may have leading zeros and a bare point: the
	// column's type says it is a number.
	seedNumberRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
)

// classifySeedValue returns the narrowest kind a non-empty value fits.
func classifySeedValue(v string) seedKind {
	switch {
	case strings.EqualFold(v, "true") || strings.EqualFold(v, "false"):
		return seedBoolean
	case seedIntRE.MatchString(v):
		if _, err := strconv.ParseInt(v, 10, 32); err == nil {
			return seedInteger
		}
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return seedBigint
		}
		if len(strings.TrimLeft(v, "+-")) <= seedNumericIntDigits {
			return seedNumeric
		}
		return seedDouble
	case seedDecimalRE.MatchString(v):
		m := seedDecimalRE.FindStringSubmatch(v)
		if len(m[1]) <= seedNumericIntDigits && len(m[2]) <= seedNumericScale {
			return seedNumeric
		}
		return seedDouble
	case seedExponentRE.MatchString(v):
		if _, err := strconv.ParseFloat(v, 64); err == nil { // not out of range
			return seedDouble
		}
	case seedDateRE.MatchString(v):
		if _, err := time.Parse(time.DateOnly, v); err == nil {
			return seedDate
		}
	case seedTimestampRE.MatchString(v):
		if _, err := parseSeedTimestamp(v); err == nil {
			return seedTimestamp
		}
	}
	return seedText
}

// widenSeedKind merges the kinds of two values of one column.
func widenSeedKind(a, b seedKind) seedKind {
	switch {
	case a == seedNone || a == b:
		return b
	case b == seedNone:
		return a
	case a <= seedDouble && b <= seedDouble: // integer < bigint < numeric < double
		return max(a, b)
	case (a == seedDate || a == seedTimestamp) && (b == seedDate || b == seedTimestamp):
		return seedTimestamp
	}
	return seedText
}

// declaredSeedKind maps a +column_types type to how its values are checked
// and bound. Types dataops does not know (timestamptz, uuid, json, ...) are
// bound as text and cast by the engine.
func declaredSeedKind(sqlType string) seedKind {
	t := strings.ToLower(strings.Join(strings.Fields(sqlType), " "))
	if strings.HasSuffix(t, "]") { // arrays
		return seedOther
	}
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i] + " " + t[strings.LastIndexByte(t, ')')+1:])
		t = strings.Join(strings.Fields(t), " ")
	}
	switch t {
	case "tinyint", "int1", "smallint", "int2", "short", "integer", "int", "int4", "signed", "bigint", "int8", "long":
		return seedBigint
	case "numeric", "decimal", "dec":
		return seedNumeric
	case "double", "double precision", "float", "float4", "float8", "real":
		return seedDouble
	case "boolean", "bool":
		return seedBoolean
	case "date":
		return seedDate
	case "timestamp", "datetime", "timestamp without time zone":
		return seedTimestamp
	case "text", "varchar", "character varying", "char", "character", "bpchar", "string", "nvarchar":
		return seedText
	}
	return seedOther
}

// seedTimestampLayouts accept both separators; fractions are optional in
// Go's parser when the layout has ".999999999".
var seedTimestampLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

func parseSeedTimestamp(v string) (time.Time, error) {
	var err error
	for _, layout := range seedTimestampLayouts {
		var t time.Time
		if t, err = time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// convertSeedValue turns a non-empty cell into the Go value bound for kind;
// ok is false when the value does not fit.
func convertSeedValue(k seedKind, bits int, v string) (any, bool) {
	switch k {
	case seedInteger, seedBigint:
		n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, bits)
		return n, err == nil
	case seedNumeric, seedDouble:
		return v, seedNumberRE.MatchString(v)
	case seedBoolean:
		switch strings.ToLower(v) {
		case "true", "t", "yes", "y", "1":
			return true, true
		case "false", "f", "no", "n", "0":
			return false, true
		}
		return nil, false
	case seedDate:
		t, err := time.Parse(time.DateOnly, v)
		return t, err == nil
	case seedTimestamp:
		if t, err := time.Parse(time.DateOnly, v); err == nil { // midnight
			return t, true
		}
		t, err := parseSeedTimestamp(v)
		return t, err == nil
	}
	return v, true
}

type seedColumn struct {
	name     string
	sqlType  string
	kind     seedKind
	declared bool // from +column_types
	bits     int  // for integers: the range checked before loading
}

// seedIntBits is the size of a declared integer type, so that a value out
// of its range is reported with its row rather than by the engine for a
// whole batch.
func seedIntBits(sqlType string) int {
	switch strings.ToLower(strings.TrimSpace(sqlType)) {
	case "tinyint", "int1":
		return 8
	case "smallint", "int2", "short":
		return 16
	case "integer", "int", "int4", "signed":
		return 32
	}
	return 64
}

// LoadSeed creates rel as a table typed from the CSV and loads its rows,
// inside ex (the caller passes a transaction so a failure leaves nothing
// behind). It returns the number of rows loaded.
//
// The header names the columns (a UTF-8 byte order mark is dropped). A
// column's type is the one columnTypes gives it (keys match column names
// exactly, else ignoring case), used verbatim as SQL, or else the narrowest
// type every non-empty value of the column fits:
//
//	42, -7                  integer (fits 32 bits), else bigint, else numeric
//	12.50, -0.5             numeric (exact; up to 29 digits before the point and 9 after, else double)
//	1e6, 2.5E-3             double (an exponent means a float was written)
//	true, FALSE             boolean (case-insensitive; not t/f, yes/no or 0/1)
//	2024-01-31              date
//	2024-01-31 08:00:00     timestamp (a T may separate; up to 6 fractional digits; no zone offset)
//	anything else           text
//
// Mixed columns widen: integers with decimals are numeric, numbers with an
// exponent anywhere are double, dates with timestamps are timestamps; any
// other mixture is text. Empty cells are NULL and do not count; a column
// with no value at all is text. Values are not trimmed: " 12" is text.
//
// Numbers with a leading zero ("007", "01.5") are text, and so is the
// column holding them: they are ids, zip codes and phone numbers whose
// zeros matter. dbt's agate-based inference reads "007" as the number 7;
// to get a number, set +column_types for the column.
//
// Inference does not depend on the engine, so a seed gets the same types on
// DuckDB and PostgreSQL (the numeric bounds are DuckDB's decimal(38,9)).
//
// A columnTypes key that is not a column is an error, because a misspelt
// one would otherwise be silently ignored. Every value is a bind parameter.
// The whole file is read and every value checked before anything is
// created, so a bad value never leaves a half-loaded table even outside a
// transaction. Such errors are *SeedError, naming the line and, for a
// value, its row and column; an error from the engine names the rows of the
// statement that failed and wraps the *warehouse.SQLError. rel must not
// exist yet: the caller decides what to replace.
func LoadSeed(ctx context.Context, ex warehouse.Execer, rel warehouse.Relation, csvContent string, columnTypes map[string]string) (int64, error) {
	d := ex.Dialect()
	if err := warehouse.ValidateIdentifier(d, "seed schema", rel.Schema); err != nil {
		return 0, err
	}
	if err := warehouse.ValidateIdentifier(d, "seed table", rel.Name); err != nil {
		return 0, err
	}
	cols, records, lines, err := readSeed(csvContent, d)
	if err != nil {
		return 0, err
	}
	if err := typeSeedColumns(cols, records, columnTypes, d); err != nil {
		return 0, err
	}
	values, err := convertSeedRows(cols, records, lines)
	if err != nil {
		return 0, err
	}

	defs := make([]string, len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = d.QuoteIdent(c.name)
		defs[i] = names[i] + " " + c.sqlType
	}
	if err := ex.Exec(ctx, fmt.Sprintf("create table %s (%s)", d.QuoteRelation(rel), strings.Join(defs, ", "))); err != nil {
		return 0, fmt.Errorf("create seed table %s: %w", d.QuoteRelation(rel), err)
	}

	batch := seedBatchSize(d, len(cols))
	insert := "insert into " + d.QuoteRelation(rel) + " (" + strings.Join(names, ", ") + ") values "
	var loaded int64
	for start := 0; start < len(values); start += batch {
		if err := ctx.Err(); err != nil {
			return loaded, err
		}
		end := min(start+batch, len(values))
		sql, args := seedInsert(insert, cols, values[start:end], d)
		if err := ex.Exec(ctx, sql, args...); err != nil {
			// The engine does not say which row; name the batch.
			return loaded, fmt.Errorf("seed rows %d to %d (lines %d to %d): %w", start+1, end, lines[start], lines[end-1], err)
		}
		loaded += int64(end - start)
	}
	return loaded, nil
}

// readSeed parses the CSV: the header's columns, the records, and the line
// each record starts on.
func readSeed(content string, d warehouse.Dialect) ([]seedColumn, [][]string, []int, error) {
	content = strings.TrimPrefix(content, "\ufeff")
	r := csv.NewReader(strings.NewReader(content))
	r.FieldsPerRecord = -1 // checked below, to say how many fields were expected
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, nil, &SeedError{Msg: "the file is empty: its first line must name the columns, e.g. id,name"}
	}
	if err != nil {
		return nil, nil, nil, seedCSVError(err)
	}
	headerLine, _ := r.FieldPos(0)
	cols := make([]seedColumn, len(header))
	seen := make(map[string]int, len(header))
	for i, name := range header {
		if name == "" {
			return nil, nil, nil, &SeedError{Line: headerLine, Msg: fmt.Sprintf("column %d of the header has no name", i+1)}
		}
		if err := warehouse.ValidateIdentifier(d, "column", name); err != nil {
			return nil, nil, nil, &SeedError{Line: headerLine, Msg: err.Error()}
		}
		// DuckDB compares even quoted names ignoring case, so "ID" and "id"
		// cannot both be columns there; refuse them on every engine alike.
		key := strings.ToLower(name)
		if j, dup := seen[key]; dup {
			return nil, nil, nil, &SeedError{Line: headerLine,
				Msg: fmt.Sprintf("duplicate column name %q: columns %d and %d (names are compared ignoring case); rename one", name, j+1, i+1)}
		}
		seen[key] = i
		cols[i] = seedColumn{name: name}
	}
	var records [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, nil, seedCSVError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(cols) {
			hint := "quote values that contain commas"
			if len(rec) < len(cols) {
				hint = "leave a field empty for a NULL, but keep its comma"
			}
			return nil, nil, nil, &SeedError{Line: line,
				Msg: fmt.Sprintf("%s, but the header has %s (%s)", seedFields(len(rec)), seedFields(len(cols)), hint)}
		}
		records = append(records, rec)
		lines = append(lines, line)
	}
	return cols, records, lines, nil
}

func seedFields(n int) string {
	if n == 1 {
		return "1 field"
	}
	return strconv.Itoa(n) + " fields"
}

func seedCSVError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &SeedError{Line: pe.Line, Msg: fmt.Sprintf("column %d: %v (quote the value, and double any \" inside it)", pe.Column, pe.Err)}
	}
	return &SeedError{Msg: err.Error()}
}

// typeSeedColumns sets each column's SQL type and kind.
func typeSeedColumns(cols []seedColumn, records [][]string, columnTypes map[string]string, d warehouse.Dialect) error {
	for name, typ := range columnTypes {
		i := seedColumnIndex(cols, name)
		if i < 0 {
			known := make([]string, len(cols))
			for j, c := range cols {
				known[j] = c.name
			}
			return &SeedError{Msg: fmt.Sprintf("+column_types names column %q, which is not in the header (columns: %s)", name, strings.Join(known, ", "))}
		}
		if strings.TrimSpace(typ) == "" {
			return &SeedError{Column: cols[i].name, Msg: fmt.Sprintf("+column_types gives column %q an empty type", cols[i].name)}
		}
		typ = strings.TrimSpace(typ)
		cols[i] = seedColumn{name: cols[i].name, sqlType: typ, kind: declaredSeedKind(typ), declared: true, bits: seedIntBits(typ)}
	}
	for i := range cols {
		if cols[i].declared {
			continue
		}
		k := seedNone
		for _, rec := range records {
			if v := rec[i]; v != "" {
				if k = widenSeedKind(k, classifySeedValue(v)); k == seedText {
					break
				}
			}
		}
		if k == seedNone {
			k = seedText
		}
		cols[i].kind = k
		cols[i].sqlType = d.Type(k.portable())
		cols[i].bits = 64
	}
	return nil
}

// seedColumnIndex finds a +column_types key among the columns: exactly,
// else ignoring case (the keys are often typed in lower case).
func seedColumnIndex(cols []seedColumn, name string) int {
	for i, c := range cols {
		if c.name == name {
			return i
		}
	}
	for i, c := range cols {
		if strings.EqualFold(c.name, name) {
			return i
		}
	}
	return -1
}

// convertSeedRows converts every cell to the value bound for its column:
// nil for an empty cell.
func convertSeedRows(cols []seedColumn, records [][]string, lines []int) ([][]any, error) {
	out := make([][]any, len(records))
	for r, rec := range records {
		row := make([]any, len(cols))
		for i, v := range rec {
			if v == "" {
				continue
			}
			val, ok := convertSeedValue(cols[i].kind, cols[i].bits, v)
			if !ok {
				return nil, &SeedError{Row: r + 1, Line: lines[r], Column: cols[i].name,
					Msg: fmt.Sprintf("%q is not %s (fix the value, or change the column's +column_types)", v, seedArticle(cols[i].sqlType))}
			}
			row[i] = val
		}
		out[r] = row
	}
	return out, nil
}

// seedInsert builds one multi-row INSERT and its arguments.
func seedInsert(prefix string, cols []seedColumn, rows [][]any, d warehouse.Dialect) (string, []any) {
	var b strings.Builder
	b.WriteString(prefix)
	args := make([]any, 0, len(rows)*len(cols))
	for r, row := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			p := d.Placeholder(len(args))
			if cols[i].kind.castBound() {
				p = "cast(" + p + " as " + cols[i].sqlType + ")"
			}
			b.WriteString(p)
		}
		b.WriteByte(')')
	}
	return b.String(), args
}

// seedArticle puts "a" or "an" before a type name.
func seedArticle(typ string) string {
	if typ != "" && strings.ContainsRune("aeiouAEIOU", rune(typ[0])) {
		return "an " + typ
	}
	return "a " + typ
}
