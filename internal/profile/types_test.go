package profile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestTypes: every column type either gets its statistics or is listed as
// skipped with the reason (its NULLs still counted); none fails the
// profile.
func TestTypes(t *testing.T) {
	tests := []struct {
		engine string
		open   func(testing.TB) warehouse.Warehouse
		setup  []string
		// want maps a column to its kind, or to "skipped: <part of the reason>"
		want map[string]string
	}{
		{"postgres", warehousetest.Postgres, []string{
			"CREATE TYPE %s.mood AS ENUM ('sad', 'ok', 'happy')",
			// Composite types: one the engine can group but not order, one
			// it can do neither with (a json field has no equality).
			"CREATE TYPE %s.pair AS (a int, b text)",
			"CREATE TYPE %s.doc AS (a int, b json)",
			`CREATE TABLE %s.t AS SELECT CAST('{"a": 1}' AS json) AS j, ARRAY[CAST('{"a": 1}' AS json)] AS ja,
				CAST(ROW(1, 'x') AS %[1]s.pair) AS pr, CAST(ROW(1, '{}') AS %[1]s.doc) AS dc, int4range(1, 3) AS rg, CAST('{"a": 1}' AS jsonb) AS jb, CAST('<a/>' AS xml) AS x,
				point(1, 2) AS p, ARRAY[1, 2] AS arr, INTERVAL '1 day' AS iv, CAST('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' AS uuid) AS u,
				CAST('\x0102' AS bytea) AS b, CAST(12.5 AS money) AS m, CAST('10.0.0.1' AS inet) AS ip, CAST('ok' AS %[1]s.mood) AS mood,
				CAST(1.5 AS numeric) AS n, CAST(1.5 AS real) AS r, CAST(3 AS smallint) AS si, CAST('ab' AS char(3)) AS ch,
				CAST('abc' AS varchar(10)) AS vc, CAST('2024-01-01 10:00+02' AS timestamptz) AS tz, CAST('nm' AS name) AS nm
				FROM generate_series(1, 3)`,
		}, map[string]string{
			"j": "skipped: json values cannot be compared", "jb": "other",
			"ja": "skipped: json[] cannot be aggregated (could not identify an equality operator", "pr": "other",
			"dc": "skipped: %s.doc cannot be aggregated (could not identify an equality operator", "rg": "other", "x": "skipped: xml values", "p": "skipped: point values",
			"arr": "other", "iv": "other", "u": "other", "b": "other", "m": "other", "ip": "other", "mood": "other",
			"n": "number", "r": "number", "si": "number", "ch": "text", "vc": "text", "tz": "time", "nm": "text",
		}},
		{"duckdb", warehousetest.DuckDB, []string{
			"CREATE TYPE %s.mood AS ENUM ('sad', 'ok', 'happy')",
			`CREATE TABLE %s.t AS SELECT [1, 2] AS arr, {'a': 1} AS st, MAP {'k': 1} AS mp, INTERVAL 1 DAY AS iv, uuid() AS u,
				CAST('\x01' AS blob) AS b, CAST('ok' AS %[1]s.mood) AS mood, CAST(1 AS hugeint) AS hi, CAST(1 AS utinyint) AS ut,
				CAST('2024-01-01 10:00:00+02' AS timestamptz) AS tz, TIME '10:00' AS tm, CAST('{"a":1}' AS json) AS j, CAST(1.5 AS float) AS fl
				FROM range(3)`,
		}, map[string]string{
			"arr": "other", "st": "other", "iv": "other", "u": "other", "b": "other", "mood": "other", "hi": "number", "ut": "number",
			"tz": "time", "tm": "other", "fl": "number", "j": "other", "mp": "other",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.engine, func(t *testing.T) {
			w := tc.open(t)
			schema := warehousetest.Schema(t, w)
			q := w.Dialect().QuoteIdent(schema)
			// A row of NULLs: a skipped column still counts them.
			setup := append(tc.setup, "INSERT INTO %s.t DEFAULT VALUES")
			for _, stmt := range setup {
				if err := w.Exec(testContext(t), sprintf(stmt, q)); err != nil {
					t.Fatal(err)
				}
			}
			p, err := Run(testContext(t), w, warehouse.Relation{Schema: schema, Name: "t"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Columns {
				want, ok := tc.want[c.Name]
				if !ok {
					t.Errorf("column %s (%s) not in the test", c.Name, c.Type)
					continue
				}
				want = strings.ReplaceAll(want, "%s", schema) // a type of the test's schema
				got := string(c.Kind)
				if c.Skipped != "" {
					got = "skipped: " + c.Skipped
				}
				if !strings.HasPrefix(got, want) {
					t.Errorf("column %s (%s): %s, want %s", c.Name, c.Type, got, want)
				}
				if c.Nulls != 1 || p.Rows != 4 {
					t.Errorf("column %s: %d NULLs in %d rows", c.Name, c.Nulls, p.Rows)
				}
				if c.Skipped == "" && c.Distinct != 1 && c.Name != "u" {
					t.Errorf("column %s (%s): distinct %d, want 1", c.Name, c.Type, c.Distinct)
				}
			}
			if _, err := json.Marshal(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func sprintf(format, q string) string {
	return strings.ReplaceAll(strings.ReplaceAll(format, "%[1]s", q), "%s", q)
}

// TestMissingRelation: a relation that does not exist is a profile that
// says so, not an error.
func TestMissingRelation(t *testing.T) {
	w := warehousetest.DuckDB(t)
	p, err := Run(testContext(t), w, warehouse.Relation{Schema: "main", Name: "nope"}, Options{})
	if err != nil || p.Exists || p.Columns != nil {
		t.Fatalf("%+v %v", p, err)
	}
}
