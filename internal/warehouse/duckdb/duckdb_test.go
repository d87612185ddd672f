package duckdb_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// DuckDB shortens long lines in its error excerpt with "..."; the position
// must still point at the right character, or be 0 when it cannot be known.
func TestErrorPositionInLongLines(t *testing.T) {
	w := warehousetest.DuckDB(t)
	ctx := ctxT(t)
	pad := strings.Repeat("1 + ", 40)
	tests := []struct {
		name, query, at string
	}{
		{"cut on the right", "select 1, nope_col, " + pad + "1", "nope_col"},
		{"cut on the left", "select " + pad + " nope_col", "nope_col"},
		{"cut on both sides", "select " + pad + " nope_col, " + pad + "1", "nope_col"},
		{"second line cut", "select 1,\n" + pad + " nope_col from range(1)", "nope_col"},
		{"tabs before", "select\t\tnope_col", "nope_col"},
		{"tabs and cut", "select\t" + pad + "\tnope_col", "nope_col"},
		{"wide characters before", "select '漢字テスト', nope_col", "nope_col"},
		{"emoji before", "select '🦆🦆', nope_col", "nope_col"},
		{"combining mark before", "select 'e\u0301', nope_col", "nope_col"},
		{"crlf lines", "select 1,\r\n  2 from\r\n nope_table", "nope_table"},
		{"lone cr", "select 1,\r nope_col", "nope_col"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.Exec(ctx, tt.query)
			var se *warehouse.SQLError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want *SQLError", err)
			}
			want := utf8.RuneCountInString(tt.query[:strings.Index(tt.query, tt.at)]) + 1
			if se.Position != want {
				t.Errorf("position = %d, want %d; DuckDB said:\n%s", se.Position, want, se.Err)
			}
			if strings.Contains(se.Message, "LINE ") {
				t.Errorf("message keeps the excerpt: %q", se.Message)
			}
		})
	}
}

func TestFileEnvironmentsSurviveReopen(t *testing.T) {
	ctx := ctxT(t)
	dsn := "duckdb://" + filepath.ToSlash(filepath.Join(t.TempDir(), "envs.duckdb"))
	w, err := duckdb.Open(ctx, dsn)
	must(t, err)
	must(t, w.CreateEnvironment(ctx, "pr_5", warehouse.EnvironmentMarker{PR: 5, HeadSHA: "abc", Owner: "bob"}))
	must(t, w.Close())

	w, err = duckdb.Open(ctx, dsn)
	must(t, err)
	defer w.Close()
	envs, err := w.ListEnvironments(ctx)
	must(t, err)
	if len(envs) != 1 || envs[0].Schema != "pr_5" || envs[0].Marker.Owner != "bob" {
		t.Fatalf("after reopen: %+v", envs)
	}
	must(t, w.DropEnvironment(ctx, "pr_5"))
}

// A registry row left behind by a schema dropped by hand must not make
// dataops adopt, list or drop a same-named schema created later by someone
// else.
func TestStaleRegistryRowAdoptsNothing(t *testing.T) {
	w := warehousetest.DuckDB(t)
	ctx := ctxT(t)
	must(t, w.CreateEnvironment(ctx, "pr_9", warehouse.EnvironmentMarker{PR: 9}))
	must(t, w.Exec(ctx, `DROP SCHEMA "pr_9" CASCADE`)) // by hand, behind dataops' back
	must(t, w.Exec(ctx, `CREATE SCHEMA "pr_9"`))
	must(t, w.Exec(ctx, `CREATE TABLE "pr_9"."theirs" (id integer)`))

	envs, err := w.ListEnvironments(ctx)
	must(t, err)
	if len(envs) != 0 {
		t.Errorf("ListEnvironments = %+v, want none", envs)
	}
	if err := w.DropEnvironment(ctx, "pr_9"); !errors.Is(err, warehouse.ErrUnmarkedSchema) {
		t.Errorf("DropEnvironment = %v, want ErrUnmarkedSchema", err)
	}
	if ok, _ := w.RelationExists(ctx, warehouse.Relation{Schema: "pr_9", Name: "theirs"}); !ok {
		t.Error("their table is gone")
	}
}

// DuckDB resolves identifiers case-insensitively even when quoted; catalog
// lookups follow it so Columns finds what a query would find.
func TestCaseInsensitiveLookup(t *testing.T) {
	w := warehousetest.DuckDB(t)
	ctx := ctxT(t)
	must(t, w.Exec(ctx, `CREATE TABLE main."Orders" ("Id" integer)`))
	cols, err := w.Columns(ctx, warehouse.Relation{Schema: "MAIN", Name: "orders"})
	must(t, err)
	if len(cols) != 1 || cols[0].Name != "Id" {
		t.Errorf("Columns = %+v", cols)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"missing directory", "duckdb://" + filepath.ToSlash(filepath.Join(t.TempDir(), "no", "such", "dir", "x.duckdb")), "cannot open the database file: check that the directory exists"},
		{"wrong scheme", "postgres://x", "must start with duckdb://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := duckdb.Open(ctxT(t), tt.dsn)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			t.Log(err)
		})
	}
}
