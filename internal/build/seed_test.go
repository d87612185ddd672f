package build_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// seedCtx bounds one test's database work.
func seedCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// seedEngines runs fn once per engine (DuckDB in memory and in a file,
// PostgreSQL) with a fresh warehouse and schema.
func seedEngines(t *testing.T, fn func(t *testing.T, w warehouse.Warehouse, schema string)) {
	for _, e := range warehousetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			w := e.Open(t)
			fn(t, w, warehousetest.Schema(t, w))
		})
	}
}

// loadSeedTx loads a seed in its own transaction, as the build does.
func loadSeedTx(ctx context.Context, w warehouse.Warehouse, rel warehouse.Relation, csv string, types map[string]string) (int64, error) {
	var n int64
	err := w.InTransaction(ctx, func(tx warehouse.Execer) error {
		var err error
		n, err = build.LoadSeed(ctx, tx, rel, csv, types)
		return err
	})
	return n, err
}

// seedColumnTypes returns the engine's type of each column, with
// PostgreSQL's long spelling of timestamp shortened to the Dialect's.
func seedColumnTypes(t *testing.T, w warehouse.Warehouse, rel warehouse.Relation) ([]string, []string) {
	t.Helper()
	cols, err := w.Columns(seedCtx(t), rel)
	if err != nil {
		t.Fatalf("columns: %v", err)
	}
	var names, types []string
	for _, c := range cols {
		names = append(names, c.Name)
		types = append(types, strings.Replace(c.Type, "timestamp without time zone", "timestamp", 1))
	}
	return names, types
}

// seedRows reads rel ordered by its first column, each value in a canonical
// text form that does not depend on the engine's driver: numbers without
// trailing zeros, dates as 2006-01-02, timestamps with microseconds, NULL.
func seedRows(t *testing.T, w warehouse.Warehouse, rel warehouse.Relation, types []string) [][]string {
	t.Helper()
	rows, err := w.Query(seedCtx(t), "select * from "+w.Dialect().QuoteRelation(rel)+" order by 1")
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	var out [][]string
	for _, r := range rows.Values {
		row := make([]string, len(r))
		for i, v := range r {
			row[i] = seedCanonical(v, types[i])
		}
		out = append(out, row)
	}
	return out
}

func seedCanonical(v any, typ string) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if typ == "date" {
			return v.UTC().Format(time.DateOnly)
		}
		return v.UTC().Format("2006-01-02 15:04:05.999999")
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []byte:
		return string(v)
	}
	s := fmt.Sprint(v) // ints, bools, strings, DuckDB decimals
	if strings.HasPrefix(typ, "numeric") || strings.HasPrefix(typ, "decimal") {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return "not a number: " + s
		}
		s = strings.TrimRight(r.FloatString(20), "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// seedTypeOf is what Columns reports for a portable type.
func seedTypeOf(d warehouse.Dialect, t warehouse.Type) string { return d.Type(t) }

func TestLoadSeed(t *testing.T) {
	const (
		I  = warehouse.TypeInteger
		BI = warehouse.TypeBigint
		N  = warehouse.TypeNumeric
		F  = warehouse.TypeDouble
		B  = warehouse.TypeBoolean
		D  = warehouse.TypeDate
		TS = warehouse.TypeTimestamp
		T  = warehouse.TypeText
	)
	tests := []struct {
		name     string
		csv      string
		types    map[string]string
		rows     int64
		columns  []string
		portable []warehouse.Type // inferred types, when types is nil
		declared []string         // else the engine's types: "a|b" lists each engine's spelling
		want     [][]string
	}{
		{
			name: "inference of each type, and NULLs",
			csv: "id,small,big,amount,ratio,flag,day,at,word\n" +
				"0,,,,,,,,\n" + // NULLs first: the engines must type the parameters from the columns
				"1,42,3000000000,12.50,1e3,true,2024-01-31,2024-01-31 08:00:00,hello\n" +
				"2,-7,-1,-0.5,2.5E-3,FALSE,2024-02-29,2024-02-29T23:59:59.123456,007\n" +
				"3,,,,,,,,\n",
			rows:     4,
			columns:  []string{"id", "small", "big", "amount", "ratio", "flag", "day", "at", "word"},
			portable: []warehouse.Type{I, I, BI, N, F, B, D, TS, T},
			want: [][]string{
				{"0", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
				{"1", "42", "3000000000", "12.5", "1000", "true", "2024-01-31", "2024-01-31 08:00:00", "hello"},
				{"2", "-7", "-1", "-0.5", "0.0025", "false", "2024-02-29", "2024-02-29 23:59:59.123456", "007"},
				{"3", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
			},
		},
		{
			name: "mixed columns widen",
			csv: "id,int_dec,int_exp,date_ts,num_bool,huge,zeros,spaced,all_empty,long_fraction,bad_date\n" +
				"1,1,1,2024-01-01,1,12345678901234567890,007,\" 12\",,0.1234567890123,2024-02-30\n" +
				"2,2.5,1e2,2024-01-01 10:00:00,true,1,8,13,,1,2024-02-28\n",
			rows:     2,
			columns:  []string{"id", "int_dec", "int_exp", "date_ts", "num_bool", "huge", "zeros", "spaced", "all_empty", "long_fraction", "bad_date"},
			portable: []warehouse.Type{I, N, F, TS, T, N, T, T, T, F, T},
			want: [][]string{
				{"1", "1", "1", "2024-01-01 00:00:00", "1", "12345678901234567890", "007", " 12", "NULL", "0.1234567890123", "2024-02-30"},
				{"2", "2.5", "100", "2024-01-01 10:00:00", "true", "1", "8", "13", "NULL", "1", "2024-02-28"},
			},
		},
		{
			name: "column_types override inference",
			csv: "id,amount,at,code,flag,small\n" +
				"1,12.5,2024-01-01,007,yes,5\n" +
				"2,0.125,2024-01-02 03:04:05,42,F,\n",
			types:    map[string]string{"ID": "bigint", "amount": "numeric(12,2)", "at": "timestamp", "code": "varchar", "flag": "boolean", "small": "smallint"},
			rows:     2,
			columns:  []string{"id", "amount", "at", "code", "flag", "small"},
			declared: []string{"bigint", "numeric(12,2)|decimal(12,2)", "timestamp", "varchar|character varying", "boolean", "smallint"},
			want: [][]string{
				{"1", "12.5", "2024-01-01 00:00:00", "007", "true", "5"},
				{"2", "0.13", "2024-01-02 03:04:05", "42", "false", "NULL"}, // numeric(12,2) rounds, as the engine does
			},
		},
		{
			name:     "hostile column names",
			csv:      "\"my col\",\"we\"\"ird\",naïve 名前,Select,a.b,\"x;drop table y\"\n1,2,3,4,5,6\n",
			rows:     1,
			columns:  []string{"my col", `we"ird`, "naïve 名前", "Select", "a.b", "x;drop table y"},
			portable: []warehouse.Type{I, I, I, I, I, I},
			want:     [][]string{{"1", "2", "3", "4", "5", "6"}},
		},
		{
			name: "text round-trips exactly",
			csv: "id,value\n" +
				"1,\"He said \"\"hi\"\"\nthen left\"\n" +
				"2,日本語 ✓ émoji 🎉\n" +
				"3,\"a,b\"\n" +
				"4,\" padded \"\n" +
				"5,'; drop table x; --\n" +
				"6,\\N\n" +
				"7,NULL\n",
			rows:     7,
			columns:  []string{"id", "value"},
			portable: []warehouse.Type{I, T},
			want: [][]string{
				{"1", "He said \"hi\"\nthen left"},
				{"2", "日本語 ✓ émoji 🎉"},
				{"3", "a,b"},
				{"4", " padded "},
				{"5", "'; drop table x; --"},
				{"6", `\N`},
				{"7", "NULL"}, // the text NULL, not a NULL: only empty cells are NULL
			},
		},
		{
			name:     "byte order mark and CRLF",
			csv:      "\ufeffid,name\r\n1,a\r\n2,b\r\n",
			rows:     2,
			columns:  []string{"id", "name"},
			portable: []warehouse.Type{I, T},
			want:     [][]string{{"1", "a"}, {"2", "b"}},
		},
		{
			name:     "header only",
			csv:      "id,name\n",
			rows:     0,
			columns:  []string{"id", "name"},
			portable: []warehouse.Type{T, T},
		},
		{
			name:     "more rows than one batch",
			csv:      "id,sq\n" + seedSquares(1234),
			rows:     1234,
			columns:  []string{"id", "sq"},
			portable: []warehouse.Type{I, I},
		},
	}
	seedEngines(t, func(t *testing.T, w warehouse.Warehouse, schema string) {
		d := w.Dialect()
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rel := warehouse.Relation{Schema: schema, Name: fmt.Sprintf("seed %d \"ü\"", i)}
				n, err := loadSeedTx(seedCtx(t), w, rel, tc.csv, tc.types)
				if err != nil {
					t.Fatalf("LoadSeed: %v", err)
				}
				if n != tc.rows {
					t.Errorf("loaded %d rows, want %d", n, tc.rows)
				}
				names, types := seedColumnTypes(t, w, rel)
				if strings.Join(names, "|") != strings.Join(tc.columns, "|") {
					t.Errorf("columns %q, want %q", names, tc.columns)
				}
				for j, got := range types {
					var want []string
					if tc.types == nil {
						want = []string{seedTypeOf(d, tc.portable[j])}
					} else {
						want = strings.Split(tc.declared[j], "|")
					}
					if !seedContains(want, got) {
						t.Errorf("column %q is %s, want %s", names[j], got, strings.Join(want, " or "))
					}
				}
				got := seedRows(t, w, rel, types)
				if tc.want != nil && fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
					t.Errorf("rows:\n got %q\nwant %q", got, tc.want)
				}
				if int64(len(got)) != tc.rows {
					t.Errorf("read back %d rows, want %d", len(got), tc.rows)
				}
			})
		}
	})
}

func seedContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// seedSquares is n rows of "i,i*i".
func seedSquares(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,%d\n", i, i*i)
	}
	return b.String()
}

// A type dataops does not know is bound as text and cast by the engine.
func TestLoadSeedEngineParsedType(t *testing.T) {
	seedEngines(t, func(t *testing.T, w warehouse.Warehouse, schema string) {
		ctx := seedCtx(t)
		rel := warehouse.Relation{Schema: schema, Name: "ids"}
		const u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
		n, err := loadSeedTx(ctx, w, rel, "n,u\n1,"+u+"\n2,\n", map[string]string{"u": "uuid"})
		if err != nil || n != 2 {
			t.Fatalf("LoadSeed = %d, %v", n, err)
		}
		rows, err := w.Query(ctx, "select cast(u as varchar) from "+w.Dialect().QuoteRelation(rel)+" order by n")
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(rows.Values); got != "[["+u+"] [<nil>]]" {
			t.Errorf("read back %s", got)
		}
	})
}

func TestLoadSeedErrors(t *testing.T) {
	tests := []struct {
		name  string
		csv   string
		types map[string]string
		want  string
	}{
		{name: "empty file", csv: "", want: "seed: the file is empty: its first line must name the columns"},
		{name: "blank lines only", csv: "\n\n", want: "seed: the file is empty"},
		{name: "too many fields", csv: "id,name\n1,a\n2,b,c\n", want: "seed line 3: 3 fields, but the header has 2 fields (quote values that contain commas)"},
		{name: "too few fields", csv: "id,name\n1,a\n\"2\n\"\n", want: "seed line 3: 1 field, but the header has 2 fields"},
		{name: "duplicate column", csv: "id,name,ID\n", want: `seed line 1: duplicate column name "ID": columns 1 and 3`},
		{name: "unnamed column", csv: "id,,name\n", want: "seed line 1: column 2 of the header has no name"},
		{name: "bare quote", csv: "id,name\n1,a\"b\n", want: `seed line 2: column 4: bare " in non-quoted-field (quote the value, and double any " inside it)`},
		{name: "not a bigint", csv: "id,amount\n1,5\n\n2,\"12x\"\n", types: map[string]string{"amount": "bigint"},
			want: `seed row 2 (line 4), column "amount": "12x" is not a bigint (fix the value, or change the column's +column_types)`},
		{name: "out of an integer's range", csv: "id,n\n1,3000000000\n", types: map[string]string{"n": "integer"},
			want: `seed row 1 (line 2), column "n": "3000000000" is not an integer`},
		{name: "not a date", csv: "d\n2024-13-01\n", types: map[string]string{"d": "date"}, want: `column "d": "2024-13-01" is not a date`},
		{name: "not a numeric", csv: "x\n\"1,5\"\n", types: map[string]string{"x": "numeric(10,2)"}, want: `"1,5" is not a numeric(10,2)`},
		{name: "not a boolean", csv: "x\nmaybe\n", types: map[string]string{"x": "bool"}, want: `"maybe" is not a bool`},
		{name: "column_types for a missing column", csv: "id,amount\n1,2\n", types: map[string]string{"amout": "bigint"},
			want: `seed: +column_types names column "amout", which is not in the header (columns: id, amount)`},
		{name: "the engine rejects a value", csv: "id,u\n1,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\n2,not-a-uuid\n", types: map[string]string{"u": "uuid"},
			want: "seed rows 1 to 2 (lines 2 to 3): "},
	}
	seedEngines(t, func(t *testing.T, w warehouse.Warehouse, schema string) {
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ctx := seedCtx(t)
				rel := warehouse.Relation{Schema: schema, Name: fmt.Sprintf("bad_%d", i)}
				n, err := loadSeedTx(ctx, w, rel, tc.csv, tc.types)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("LoadSeed = %d, %v; want an error containing %q", n, err, tc.want)
				}
				if ok, err := w.RelationExists(ctx, rel); err != nil || ok {
					t.Errorf("after the error the table exists=%v (err %v); want nothing left", ok, err)
				}
			})
		}
	})
}

// An error from the engine happens after the table was created and rows
// were inserted; the caller's transaction must take all of it back,
// including what the transaction did before the seed.
func TestLoadSeedFailureLeavesNothing(t *testing.T) {
	seedEngines(t, func(t *testing.T, w warehouse.Warehouse, schema string) {
		ctx := seedCtx(t)
		before := warehouse.Relation{Schema: schema, Name: "created_before"}
		rel := warehouse.Relation{Schema: schema, Name: "people"}
		// 700 good rows (whole batches go in) and then a bad one.
		csv := "id,u\n" + strings.Repeat("1,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\n", 700) + "2,oops\n"
		err := w.InTransaction(ctx, func(tx warehouse.Execer) error {
			if err := tx.Exec(ctx, "create table "+w.Dialect().QuoteRelation(before)+" (x integer)"); err != nil {
				return err
			}
			_, err := build.LoadSeed(ctx, tx, rel, csv, map[string]string{"u": "uuid"})
			return err
		})
		var se *warehouse.SQLError
		// Batches are smaller on DuckDB; either way the last one fails.
		if !errors.As(err, &se) || !regexp.MustCompile(`seed rows [1-9][0-9]+ to 701 \(lines [0-9]+ to 702\): `).MatchString(err.Error()) {
			t.Fatalf("err = %v; want a SQLError naming the last batch", err)
		}
		for _, r := range []warehouse.Relation{before, rel} {
			if ok, err := w.RelationExists(ctx, r); err != nil || ok {
				t.Errorf("%s exists=%v (err %v) after the rollback", r.Name, ok, err)
			}
		}
		// And loading a seed over an existing table is an engine error,
		// not a silent replace: the caller decides what to drop.
		if _, err := loadSeedTx(ctx, w, rel, "a\n1\n", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := loadSeedTx(ctx, w, rel, "a\n1\n", nil); err == nil || !strings.Contains(err.Error(), "create seed table") {
			t.Errorf("second load = %v, want a create table error", err)
		}
	})
}

// seedCSV10k is a 10,000-row seed with one column of each common type.
func seedCSV10k() string {
	var b strings.Builder
	b.WriteString("id,name,amount,ordered_at,shipped,day\n")
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 10_000; i++ {
		at := t0.Add(time.Duration(i) * 37 * time.Minute)
		fmt.Fprintf(&b, "%d,customer %d,%d.%02d,%s,%t,%s\n", i, i%997, i%5000, i%100, at.Format(time.DateTime), i%3 == 0, at.Format(time.DateOnly))
	}
	return b.String()
}

// TestLoadSeed10k loads 10,000 rows on each engine and logs how long it
// took (go test -v -run TestLoadSeed10k); the figure is for reading, not
// asserted. BenchmarkLoadSeed measures it properly.
func TestLoadSeed10k(t *testing.T) {
	csv := seedCSV10k()
	seedEngines(t, func(t *testing.T, w warehouse.Warehouse, schema string) {
		ctx := seedCtx(t)
		rel := warehouse.Relation{Schema: schema, Name: "orders"}
		start := time.Now()
		n, err := loadSeedTx(ctx, w, rel, csv, nil)
		elapsed := time.Since(start)
		if err != nil || n != 10_000 {
			t.Fatalf("LoadSeed = %d, %v", n, err)
		}
		rows, err := w.Query(ctx, "select count(*), sum(id), count(distinct name) from "+w.Dialect().QuoteRelation(rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(rows.Values[0]); got != "[10000 50005000 997]" {
			t.Errorf("count, sum, distinct = %s", got)
		}
		t.Logf("loaded 10,000 rows (%d KB of CSV) in %s", len(csv)/1024, elapsed.Round(time.Millisecond))
	})
}

// BenchmarkLoadSeed loads the 10,000-row seed per iteration, against the
// baseline of the same rows inserted one statement per row:
//
//	go test ./internal/build -run '^$' -bench LoadSeed -benchtime 5x
func BenchmarkLoadSeed(b *testing.B) {
	csv := seedCSV10k()
	for _, e := range []struct {
		name string
		open func(testing.TB) warehouse.Warehouse
	}{{"duckdb", warehousetest.DuckDB}, {"postgres", warehousetest.Postgres}} {
		b.Run(e.name, func(b *testing.B) {
			w := e.open(b)
			schema := warehousetest.Schema(b, w)
			ctx := seedCtx(b)
			runs := 0 // b.N grows between runs of one benchmark: keep names unique
			b.Run("batched", func(b *testing.B) {
				b.SetBytes(int64(len(csv)))
				for i := 0; i < b.N; i++ {
					rel := warehouse.Relation{Schema: schema, Name: fmt.Sprintf("batched_%d", runs)}
					runs++
					if _, err := loadSeedTx(ctx, w, rel, csv, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("row_by_row_baseline", func(b *testing.B) {
				b.SetBytes(int64(len(csv)))
				lines := strings.Split(strings.TrimSpace(csv), "\n")[1:]
				d := w.Dialect()
				for i := 0; i < b.N; i++ {
					rel := d.QuoteRelation(warehouse.Relation{Schema: schema, Name: fmt.Sprintf("rows_%d", runs)})
					runs++
					err := w.InTransaction(ctx, func(tx warehouse.Execer) error {
						if err := tx.Exec(ctx, "create table "+rel+" (id integer, name "+d.Type(warehouse.TypeText)+", amount "+d.Type(warehouse.TypeNumeric)+
							", ordered_at timestamp, shipped boolean, day date)"); err != nil {
							return err
						}
						ins := fmt.Sprintf("insert into %s values (%s, %s, cast(%s as %s), %s, %s, %s)", rel, d.Placeholder(1), d.Placeholder(2),
							d.Placeholder(3), d.Type(warehouse.TypeNumeric), d.Placeholder(4), d.Placeholder(5), d.Placeholder(6))
						for _, l := range lines {
							f := strings.Split(l, ",")
							id, _ := strconv.Atoi(f[0])
							at, _ := time.Parse(time.DateTime, f[3])
							day, _ := time.Parse(time.DateOnly, f[5])
							if err := tx.Exec(ctx, ins, int64(id), f[1], f[2], at, f[4] == "true", day); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
