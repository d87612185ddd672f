package datadiff

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// joinEngines are the warehouses Join is tested on.
var joinEngines = []struct {
	name string
	open func(testing.TB) warehouse.Warehouse
}{
	{"duckdb", warehousetest.DuckDB},
	{"postgres", warehousetest.Postgres},
}

// joinCase sets up two relations with SQL and checks a Join of them.
type joinCase struct {
	name string
	// setup runs in order; in each statement {s} is the quoted test schema
	// and {ts3} the engine's millisecond timestamp type.
	setup []string
	// opts gets Base and Head (when empty) as {s}.base and {s}.head.
	opts  Options
	check func(t *testing.T, res *Result, err error)
}

func TestJoin(t *testing.T) {
	for _, e := range joinEngines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			for _, c := range joinCases {
				t.Run(c.name, func(t *testing.T) {
					schema := warehousetest.Schema(t, w)
					d := w.Dialect()
					ts3 := "timestamp(3)"
					if d.Name() == "duckdb" {
						ts3 = "timestamp_ms"
					}
					for _, stmt := range c.setup {
						stmt = strings.NewReplacer("{s}", d.QuoteIdent(schema), "{ts3}", ts3).Replace(stmt)
						if err := w.Exec(testContext(t), stmt); err != nil {
							t.Fatalf("%s: %v", stmt, err)
						}
					}
					opts := c.opts
					if opts.Base.Name == "" {
						opts.Base = warehouse.Relation{Schema: schema, Name: "base"}
					} else {
						opts.Base.Schema = schema
					}
					if opts.Head.Name == "" {
						opts.Head = warehouse.Relation{Schema: schema, Name: "head"}
					} else {
						opts.Head.Schema = schema
					}
					res, err := Join(testContext(t), w, opts)
					if res == nil {
						t.Fatalf("nil result (error %v)", err)
					}
					c.check(t, res, err)
				})
			}
		})
	}
}

// counts is the per-key part of a Result, to compare in one go.
type counts struct{ onlyBase, onlyHead, changed, unchanged int64 }

func countsOf(r *Result) counts { return counts{r.OnlyInBase, r.OnlyInHead, r.Changed, r.Unchanged} }

func wantCounts(t *testing.T, res *Result, err error, want counts) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if got := countsOf(res); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
}

// columnChanges maps column names to their Changed counts.
func columnChanges(res *Result) map[string]int64 {
	m := map[string]int64{}
	for _, c := range res.Columns {
		m[c.Name] = c.Changed
	}
	return m
}

func wantColumns(t *testing.T, res *Result, want map[string]int64) {
	t.Helper()
	got := columnChanges(res)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changed per column %v, want %v", got, want)
	}
}

var joinCases = []joinCase{
	{
		name: "identical",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a', 1.5), (2, 'b', NULL), (3, NULL, 2.5)) t(id, name, amount)",
			"CREATE TABLE {s}.head AS SELECT * FROM {s}.base",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{0, 0, 0, 3})
			if !res.Identical() || res.Base.Rows != 3 || res.Head.Rows != 3 || res.Algorithm != "join" {
				t.Errorf("not identical: %+v", res)
			}
			wantColumns(t, res, map[string]int64{"name": 0, "amount": 0})
			for _, c := range res.Columns {
				if c.MatchPercent != 100 {
					t.Errorf("%s: match %v%%", c.Name, c.MatchPercent)
				}
			}
			if s := res.Samples; len(s.OnlyInBase)+len(s.OnlyInHead)+len(s.Changed) != 0 || res.RowsTransferred != 0 {
				t.Errorf("samples %+v, rows transferred %d", s, res.RowsTransferred)
			}
		},
	},
	{
		name: "only in base, only in head, changed, with samples side by side",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30), (4, 'd', 40)) t(id, name, qty)",
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (2, 'b', 20), (3, 'C', 30), (4, 'd', 41), (5, 'e', 50), (6, 'f', 60)) t(id, name, qty)",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{1, 2, 2, 1})
			wantColumns(t, res, map[string]int64{"name": 1, "qty": 1})
			if got := res.Columns[0].MatchPercent; math.Abs(got-100*2.0/3) > 1e-9 {
				t.Errorf("name matches %v%%, want 66.67%%", got)
			}
			s := res.Samples
			if fmt.Sprint(s.OnlyInBase) != "[{[1] map[name:a qty:10]}]" {
				t.Errorf("only in base %v", s.OnlyInBase)
			}
			if fmt.Sprint(s.OnlyInHead) != "[{[5] map[name:e qty:50]} {[6] map[name:f qty:60]}]" {
				t.Errorf("only in head %v", s.OnlyInHead)
			}
			if fmt.Sprint(s.Changed) != "[{[3] map[name:[c C]]} {[4] map[qty:[40 41]]}]" {
				t.Errorf("changed %v", s.Changed)
			}
			if res.RowsTransferred != 5 {
				t.Errorf("rows transferred %d, want 5", res.RowsTransferred)
			}
		},
	},
	{
		name: "NULL-safe comparison",
		setup: []string{
			"CREATE TABLE {s}.base (id integer, v integer, s text)",
			"INSERT INTO {s}.base VALUES (1, NULL, NULL), (2, NULL, 'x'), (3, 5, NULL), (4, 5, 'x')",
			"CREATE TABLE {s}.head (id integer, v integer, s text)",
			"INSERT INTO {s}.head VALUES (1, NULL, NULL), (2, 7, NULL), (3, NULL, ''), (4, 5, 'x')",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{0, 0, 2, 2})
			wantColumns(t, res, map[string]int64{"v": 2, "s": 2})
			if fmt.Sprint(res.Samples.Changed) != "[{[2] map[s:[x <nil>] v:[<nil> 7]]} {[3] map[s:[<nil> ] v:[5 <nil>]]}]" {
				t.Errorf("changed %v", res.Samples.Changed)
			}
		},
	},
	{
		name: "tolerance",
		setup: []string{
			"CREATE TABLE {s}.base (id integer, f float8, n numeric(12,2), i bigint, s text)",
			"INSERT INTO {s}.base VALUES (1, 1.0, 1.00, 10, 'a'), (2, 1.0, 1.00, 10, 'a'), (3, NULL, NULL, NULL, 'a'), (4, 'NaN', 5.00, 10, 'a'), (5, 'Infinity', 5.00, 9223372036854775807, 'a')",
			"CREATE TABLE {s}.head (id integer, f float8, n numeric(12,2), i bigint, s text)",
			"INSERT INTO {s}.head VALUES (1, 1.005, 1.01, 11, 'a'), (2, 1.02, 1.02, 12, 'b'), (3, 0, 0.00, 0, 'a'), (4, 'NaN', 5.01, 10, 'a'), (5, 'Infinity', 5.00, -9223372036854775808, 'a')",
		},
		opts: Options{Key: []string{"id"}, Tolerance: 0.01},
		check: func(t *testing.T, res *Result, err error) {
			// 1: only the bigint differs by more than 0.01; 2: all; 3: NULL
			// against 0; 4: NaN equals NaN, 0.01 is within; 5: the bigints
			// differ by 2^64-1 (no overflow)
			wantCounts(t, res, err, counts{0, 0, 4, 1})
			wantColumns(t, res, map[string]int64{"f": 2, "n": 2, "i": 4, "s": 1})
		},
	},
	{
		name: "tolerance on integers",
		setup: []string{
			"CREATE TABLE {s}.base (id integer, i integer, f float8)",
			"INSERT INTO {s}.base VALUES (1, 10, 0.5), (2, 10, 0.5), (3, 2147483647, 0.5)",
			"CREATE TABLE {s}.head (id integer, i integer, f float8)",
			"INSERT INTO {s}.head VALUES (1, 12, 2.5), (2, 13, 2.51), (3, -2147483648, 0.5)",
		},
		opts: Options{Key: []string{"id"}, Tolerance: 2},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{0, 0, 2, 1})
			wantColumns(t, res, map[string]int64{"i": 2, "f": 1})
		},
	},
	{
		name: "timestamps at the coarser precision",
		setup: []string{
			"CREATE TABLE {s}.base (id integer, ts timestamp)",
			"INSERT INTO {s}.base VALUES (1, TIMESTAMP '2024-01-02 03:04:05.123456'), (2, TIMESTAMP '2024-01-02 03:04:05.5'), (3, NULL), (4, TIMESTAMP '2024-01-02 03:04:05.1')",
			"CREATE TABLE {s}.head (id integer, ts {ts3})",
			// what a model writing into the coarser column produces, then one real change
			"INSERT INTO {s}.head SELECT id, CASE WHEN id = 4 THEN CAST(TIMESTAMP '2024-01-02 03:04:06.1' AS {ts3}) ELSE CAST(ts AS {ts3}) END FROM {s}.base",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{0, 0, 1, 3})
			if len(res.Schema.Retyped) != 1 || res.Schema.Retyped[0].Name != "ts" {
				t.Errorf("retyped %+v", res.Schema.Retyped)
			}
			ch := res.Samples.Changed
			if len(ch) != 1 {
				t.Fatalf("changed %v", ch)
			}
			pair := ch[0].Changes["ts"]
			b, _ := pair[0].(time.Time)
			h, _ := pair[1].(time.Time)
			if !b.Equal(time.Date(2024, 1, 2, 3, 4, 5, 100_000_000, time.UTC)) || !h.Equal(time.Date(2024, 1, 2, 3, 4, 6, 100_000_000, time.UTC)) {
				t.Errorf("changed ts %#v", pair)
			}
		},
	},
	{
		name: "retyped, added and removed columns",
		setup: []string{
			"CREATE TABLE {s}.base (id integer, a integer, b integer, c numeric(12,2), d integer, gone text)",
			"INSERT INTO {s}.base VALUES (1, 1, 7, 1.50, 1, 'x'), (2, 2, 8, 2.25, 2, 'y'), (3, 3, 9, 3.10, 3, 'z')",
			"CREATE TABLE {s}.head (id bigint, a bigint, b text, c float8, d boolean, fresh text)",
			"INSERT INTO {s}.head VALUES (1, 1, '7', 1.5, true, 'new'), (2, 2, '08', 2.25, false, 'new'), (3, 4, '9', 3.1, true, 'new')",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			// a: same family, compared as numbers; b: as text ('08' <> '8');
			// c: as numbers; d: integer against boolean, as text.
			wantCounts(t, res, err, counts{0, 0, 3, 0})
			wantColumns(t, res, map[string]int64{"a": 1, "b": 1, "c": 0, "d": 3})
			var retyped []string
			for _, r := range res.Schema.Retyped {
				retyped = append(retyped, r.Name)
			}
			if strings.Join(retyped, ",") != "id,a,b,c,d" {
				t.Errorf("retyped %v", retyped)
			}
			if len(res.Schema.Added) != 1 || res.Schema.Added[0].Name != "fresh" || len(res.Schema.Removed) != 1 || res.Schema.Removed[0].Name != "gone" {
				t.Errorf("added %v, removed %v", res.Schema.Added, res.Schema.Removed)
			}
		},
	},
	{
		name: "base missing",
		setup: []string{
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (2, 'b2'), (NULL, 'n')) t(id, name)",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{0, 1, 0, 0})
			if res.Base.Exists || !res.Head.Exists || res.Head.Rows != 4 || res.Head.NullKeys != 1 || res.Head.DuplicateKeys != 1 {
				t.Errorf("base %+v, head %+v", res.Base, res.Head)
			}
			if fmt.Sprint(res.Samples.OnlyInHead) != "[{[1] map[name:a]}]" || fmt.Sprint(res.Head.DuplicateSample) != "[[2]]" {
				t.Errorf("samples %+v, duplicated %v", res.Samples, res.Head.DuplicateSample)
			}
			if len(res.Schema.Added) != 2 {
				t.Errorf("schema %+v", res.Schema)
			}
		},
	},
	{
		name: "head missing",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, name)",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{2, 0, 0, 0})
			if !res.Base.Exists || res.Head.Exists || res.Base.Rows != 2 || len(res.Samples.OnlyInBase) != 2 {
				t.Errorf("%+v", res)
			}
			wantColumns(t, res, map[string]int64{"name": 0})
		},
	},
	{
		name:  "both missing",
		opts:  Options{Key: []string{"id"}},
		setup: nil,
		check: func(t *testing.T, res *Result, err error) {
			if !errors.Is(err, warehouse.ErrRelationNotFound) || !strings.Contains(err.Error(), "neither") {
				t.Errorf("error %v", err)
			}
		},
	},
	{
		name: "no key: counts and schema, then ErrNoKey",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, name)",
			"CREATE TABLE {s}.head AS SELECT id, name, 1 AS extra FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) t(id, name)",
		},
		check: func(t *testing.T, res *Result, err error) {
			if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "set unique_key in the model's config or add a unique test on a column") {
				t.Fatalf("error %v", err)
			}
			if res.Base.Rows != 2 || res.Head.Rows != 3 || len(res.Schema.Added) != 1 || res.Schema.Added[0].Name != "extra" {
				t.Errorf("partial result %+v", res)
			}
		},
	},
	{
		name: "key column missing",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a')) t(id, name)",
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (1, 'a')) t(order_id, name)",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			if err == nil || !strings.Contains(err.Error(), `key column "id" is not in head`) || !strings.Contains(err.Error(), `"order_id"`) {
				t.Errorf("error %v", err)
			}
		},
	},
	{
		name: "compared column missing",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a', 2)) t(id, name, qty)",
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (1, 'b', 2)) t(id, name, amount)",
		},
		opts: Options{Key: []string{"id"}, Columns: []string{"qty"}},
		check: func(t *testing.T, res *Result, err error) {
			if err == nil || !strings.Contains(err.Error(), `column "qty" to compare is not in head`) {
				t.Errorf("error %v", err)
			}
		},
	},
	{
		name: "only the columns asked for",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a', 2)) t(id, name, qty)",
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (1, 'b', 2)) t(id, name, qty)",
		},
		opts: Options{Key: []string{"id"}, Columns: []string{"id", "qty"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{0, 0, 0, 1})
			wantColumns(t, res, map[string]int64{"qty": 0})
		},
	},
	{
		name: "NULL and duplicated keys are reported, not joined",
		setup: []string{
			"CREATE TABLE {s}.base (id integer, code text, v integer)",
			// (1,a) twice in base; (2,b) twice in base, once in head; (3,c) once in
			// base, twice in head; NULL keys on both sides; (9,z) only in base, twice.
			"INSERT INTO {s}.base VALUES (1, 'a', 1), (1, 'a', 1), (2, 'b', 2), (2, 'b', 3), (3, 'c', 3), (4, 'd', 4), (5, 'e', 5), (NULL, 'n', 0), (6, NULL, 0), (9, 'z', 1), (9, 'z', 2)",
			"CREATE TABLE {s}.head (id integer, code text, v integer)",
			"INSERT INTO {s}.head VALUES (1, 'a', 1), (1, 'a', 1), (2, 'b', 2), (3, 'c', 3), (3, 'c', 3), (4, 'd', 40), (5, 'e', 5), (NULL, NULL, 0), (7, 'g', 7)",
		},
		opts: Options{Key: []string{"id", "code"}},
		check: func(t *testing.T, res *Result, err error) {
			// valid base: (3,c) (4,d) (5,e); valid head: (2,b) (4,d) (5,e) (7,g)
			wantCounts(t, res, err, counts{1, 2, 1, 1})
			b, h := res.Base, res.Head
			if b.Rows != 11 || b.NullKeys != 2 || b.DuplicateKeys != 3 || h.Rows != 9 || h.NullKeys != 1 || h.DuplicateKeys != 2 {
				t.Errorf("base %+v, head %+v", b, h)
			}
			if fmt.Sprint(b.DuplicateSample) != "[[1 a] [2 b] [9 z]]" || fmt.Sprint(h.DuplicateSample) != "[[1 a] [3 c]]" {
				t.Errorf("duplicated keys: base %v, head %v", b.DuplicateSample, h.DuplicateSample)
			}
			if fmt.Sprint(res.Samples.OnlyInBase) != "[{[3 c] map[v:3]}]" || fmt.Sprint(res.Samples.OnlyInHead) != "[{[2 b] map[v:2]} {[7 g] map[v:7]}]" {
				t.Errorf("samples %+v", res.Samples)
			}
			if res.Identical() {
				t.Error("identical")
			}
		},
	},
	{
		name: "duplicated keys only among matched rows",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) t(id, name)",
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (2, 'b'), (3, 'c')) t(id, name)",
		},
		opts: Options{Key: []string{"id"}},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{1, 0, 0, 2})
			if res.Base.DuplicateKeys != 0 || res.Head.DuplicateKeys != 1 || fmt.Sprint(res.Head.DuplicateSample) != "[[2]]" {
				t.Errorf("base %+v, head %+v", res.Base, res.Head)
			}
		},
	},
	{
		name: "where applies to both sides",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'eu', 1), (2, 'us', 2), (3, 'eu', 3)) t(id, region, v)",
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (1, 'eu', 1), (2, 'us', 20), (4, 'us', 4)) t(id, region, v)",
		},
		opts: Options{Key: []string{"id"}, Where: "region = 'eu'"},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{1, 0, 0, 1})
			if res.Base.Rows != 2 || res.Head.Rows != 1 {
				t.Errorf("rows %d, %d", res.Base.Rows, res.Head.Rows)
			}
		},
	},
	{
		name: "hostile identifiers",
		setup: []string{
			`CREATE TABLE {s}."base ""q"" 1" ("Id ""k""" integer, "x; DROP TABLE y; --" text, "naïve ✓ col" integer, "a.b" integer)`,
			`INSERT INTO {s}."base ""q"" 1" VALUES (1, 'a', 1, 1), (2, 'b', 2, 2)`,
			`CREATE TABLE {s}."head.table" ("Id ""k""" integer, "x; DROP TABLE y; --" text, "naïve ✓ col" integer, "a.b" integer)`,
			`INSERT INTO {s}."head.table" VALUES (1, 'a', 10, 1), (3, 'c', 3, 3)`,
		},
		opts: Options{
			Base: warehouse.Relation{Name: `base "q" 1`}, Head: warehouse.Relation{Name: "head.table"},
			Key: []string{`Id "k"`}, Where: `"a.b" > 0`,
		},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{1, 1, 1, 0})
			wantColumns(t, res, map[string]int64{"x; DROP TABLE y; --": 0, "naïve ✓ col": 1, "a.b": 0})
			if fmt.Sprint(res.Samples.Changed) != "[{[1] map[naïve ✓ col:[1 10]]}]" {
				t.Errorf("changed %v", res.Samples.Changed)
			}
		},
	},
	{
		name: "no samples",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(id, name)",
			"CREATE TABLE {s}.head AS SELECT * FROM (VALUES (1, 'x'), (3, 'c')) t(id, name)",
		},
		opts: Options{Key: []string{"id"}, Sample: -1},
		check: func(t *testing.T, res *Result, err error) {
			wantCounts(t, res, err, counts{1, 1, 1, 0})
			if s := res.Samples; len(s.OnlyInBase)+len(s.OnlyInHead)+len(s.Changed) != 0 || res.RowsTransferred != 0 {
				t.Errorf("samples %+v", s)
			}
		},
	},
	{
		name: "bad tolerance",
		setup: []string{
			"CREATE TABLE {s}.base AS SELECT 1 AS id",
			"CREATE TABLE {s}.head AS SELECT 1 AS id",
		},
		opts: Options{Key: []string{"id"}, Tolerance: -1},
		check: func(t *testing.T, res *Result, err error) {
			if err == nil || !strings.Contains(err.Error(), "tolerance") {
				t.Errorf("error %v", err)
			}
		},
	},
}

// TestJoinExactColumnCountsAcrossKeyRange: many changed rows spread over
// the whole key range, each column changed in its own pattern, and the
// per-column counts are exact (datafold's joindiff split PostgreSQL tables
// into key segments and got these wrong).
func TestJoinExactColumnCountsAcrossKeyRange(t *testing.T) {
	const n = 30000
	for _, e := range joinEngines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			schema := warehousetest.Schema(t, w)
			s := w.Dialect().QuoteIdent(schema)
			for _, stmt := range []string{
				"CREATE TABLE " + s + ".base AS SELECT i AS id, i % 97 AS a, CAST(i AS text) AS b, CAST(i AS float8) / 7 AS c, i % 2 = 0 AS d FROM generate_series(1, " + fmt.Sprint(n) + ") t(i)",
				"CREATE TABLE " + s + ".head AS SELECT id, CASE WHEN id % 3 = 0 THEN a + 1 ELSE a END AS a, " +
					"CASE WHEN id % 5 = 0 THEN b || 'x' WHEN id % 7 = 0 THEN NULL ELSE b END AS b, " +
					"CASE WHEN id % 11 = 0 THEN c * 2 ELSE c END AS c, CASE WHEN id > 29000 THEN NOT d ELSE d END AS d FROM " + s + ".base",
			} {
				if err := w.Exec(testContext(t), stmt); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Join(testContext(t), w, Options{
				Base: warehouse.Relation{Schema: schema, Name: "base"}, Head: warehouse.Relation{Schema: schema, Name: "head"},
				Key: []string{"id"},
			})
			if err != nil {
				t.Fatal(err)
			}
			var want struct{ a, b, c, d, any int64 }
			for i := 1; i <= n; i++ {
				ch := false
				if i%3 == 0 {
					want.a++
					ch = true
				}
				if i%5 == 0 || i%7 == 0 {
					want.b++
					ch = true
				}
				if i%11 == 0 {
					want.c++
					ch = true
				}
				if i > 29000 {
					want.d++
					ch = true
				}
				if ch {
					want.any++
				}
			}
			wantCounts(t, res, nil, counts{0, 0, want.any, n - want.any})
			wantColumns(t, res, map[string]int64{"a": want.a, "b": want.b, "c": want.c, "d": want.d})
			if len(res.Samples.Changed) != 5 {
				t.Errorf("%d changed samples", len(res.Samples.Changed))
			}
		})
	}
}

func TestTypeFamilyAndPrecision(t *testing.T) {
	for _, c := range []struct {
		typ    string
		family Family
		prec   int
	}{
		{"integer", FamilyInteger, -1}, {"hugeint", FamilyInteger, -1}, {"numeric(12,2)", FamilyDecimal, -1}, {"decimal(38,9)", FamilyDecimal, -1},
		{"double precision", FamilyFloat, -1}, {"character varying(10)", FamilyText, -1}, {"json", FamilyNoEquality, -1},
		{"timestamp without time zone", FamilyTimestamp, 6}, {"timestamp(3) without time zone", FamilyTimestamp, 3},
		{"timestamp(0) with time zone", FamilyTimestampTZ, 0}, {"timestamp_ms", FamilyTimestamp, 3}, {"timestamp_ns", FamilyTimestamp, 9},
		{"timestamp_s", FamilyTimestamp, 0}, {"timestamp with time zone", FamilyTimestampTZ, 6}, {"integer[]", FamilyOther, -1},
	} {
		if f := TypeFamily(c.typ); f != c.family {
			t.Errorf("TypeFamily(%q) = %v, want %v", c.typ, f, c.family)
		}
		p, ok := TimestampPrecision(c.typ)
		if !ok {
			p = -1
		}
		if p != c.prec {
			t.Errorf("TimestampPrecision(%q) = %d, want %d", c.typ, p, c.prec)
		}
	}
}
