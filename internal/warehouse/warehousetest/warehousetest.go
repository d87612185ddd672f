// Package warehousetest opens real, throwaway warehouses for tests: a fresh
// DuckDB (in memory or in a temporary file) or a fresh PostgreSQL database.
// Everything a helper creates is removed when the test ends.
//
// PostgreSQL is found at DATAOPS_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it cannot be
// reached the tests are skipped with a loud message, except when the CI
// environment variable is set: there a missing database must fail the build
// rather than silently test less.
package warehousetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	"github.com/dataops-dev/dataops/internal/warehouse/postgres"
)

// DefaultPostgresDSN is used when DATAOPS_TEST_POSTGRES is not set.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// setupTimeout bounds connecting and creating the test database.
const setupTimeout = 30 * time.Second

// PostgresDSN is the server the PostgreSQL tests use.
func PostgresDSN() string {
	if dsn := os.Getenv("DATAOPS_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultPostgresDSN
}

// UniqueName returns prefix followed by 12 random hex digits: a valid,
// lowercase identifier when prefix is one.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return prefix + hex.EncodeToString(b)
}

// DuckDB opens a fresh in-memory DuckDB, closed at the end of the test.
func DuckDB(t testing.TB) warehouse.Warehouse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	w, err := duckdb.Open(ctx, "duckdb://")
	if err != nil {
		t.Fatalf("open in-memory DuckDB: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// DuckDBFile opens a fresh DuckDB file in a temporary directory and returns
// it with its DSN (to reopen it or hand it to a command).
func DuckDBFile(t testing.TB) (warehouse.Warehouse, string) {
	t.Helper()
	dsn := "duckdb://" + filepath.ToSlash(filepath.Join(t.TempDir(), "test.duckdb"))
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	w, err := duckdb.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open DuckDB file: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w, dsn
}

// Postgres connects to a fresh, uniquely named database on the test server;
// see PostgresDatabase.
func Postgres(t testing.TB) warehouse.Warehouse {
	t.Helper()
	w, _ := PostgresDatabase(t)
	return w
}

// PostgresDatabase creates a fresh database on the test server, connects to
// it, and drops it at the end of the test. A database per test (rather than
// a schema) isolates what tests see in catalogs, e.g. ListEnvironments.
// It skips the test when the server cannot be reached, or fails it when CI is
// set.
func PostgresDatabase(t testing.TB) (warehouse.Warehouse, string) {
	t.Helper()
	adminDSN := PostgresDSN()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin := OpenPostgresOrSkip(t, adminDSN)
	defer admin.Close()

	name := UniqueName("dataops_test_")
	if err := admin.Exec(ctx, "CREATE DATABASE "+admin.Dialect().QuoteIdent(name)); err != nil {
		t.Fatalf("create test database %s on %s: %v (the role needs CREATEDB)", name, warehouse.MaskDSN(adminDSN), err)
	}
	t.Cleanup(func() { dropDatabase(t, adminDSN, name) })

	dsn, err := withDatabase(adminDSN, name)
	if err != nil {
		t.Fatalf("test database DSN: %v", err)
	}
	w, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to test database: %v", err)
	}
	t.Cleanup(func() { w.Close() }) // runs before the drop: cleanups are LIFO
	return w, dsn
}

// OpenPostgresOrSkip opens dsn, or skips (fails under CI) the test when the
// server cannot be reached. The caller closes the warehouse.
func OpenPostgresOrSkip(t testing.TB, dsn string) warehouse.Warehouse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	w, err := postgres.Open(ctx, dsn)
	if err == nil {
		return w
	}
	var ce *warehouse.ConnectError
	if errors.As(err, &ce) && os.Getenv("CI") == "" {
		t.Skipf("SKIPPING: PostgreSQL not reachable at %s: set DATAOPS_TEST_POSTGRES or start it (%v)", warehouse.MaskDSN(dsn), err)
	}
	t.Fatalf("PostgreSQL not reachable at %s (CI is set, so this fails instead of skipping): %v", warehouse.MaskDSN(dsn), err)
	return nil
}

func dropDatabase(t testing.TB, adminDSN, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin, err := postgres.Open(ctx, adminDSN)
	if err != nil {
		t.Errorf("drop test database %s: %v", name, err)
		return
	}
	defer admin.Close()
	// FORCE ends sessions a failed test may have leaked (PostgreSQL 13+).
	if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+admin.Dialect().QuoteIdent(name)+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database %s: %v", name, err)
	}
}

// withDatabase points a PostgreSQL DSN (URL or key=value) at another database.
func withDatabase(dsn, db string) (string, error) {
	if !strings.Contains(dsn, "://") {
		return dsn + " dbname=" + db, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("cannot parse " + warehouse.MaskDSN(dsn))
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String(), nil
}

// Schema creates a uniquely named plain schema and drops it at the end of
// the test.
func Schema(t testing.TB, w warehouse.Warehouse) string {
	t.Helper()
	name := UniqueName("test_")
	DropSchemaAtCleanup(t, w, name)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := w.EnsureSchema(ctx, name); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	return name
}

// DropSchemaAtCleanup drops schema (with CASCADE, without any marker check)
// when the test ends. Only for schemas the test itself created.
func DropSchemaAtCleanup(t testing.TB, w warehouse.Warehouse, schema string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := w.Exec(ctx, "DROP SCHEMA IF EXISTS "+w.Dialect().QuoteIdent(schema)+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
}

// Engine is one way to get a warehouse for engine-neutral tests.
type Engine struct {
	Name string
	Open func(t testing.TB) warehouse.Warehouse
}

// Engines lists DuckDB in memory, DuckDB in a file, and PostgreSQL, for
// tests that must pass on all of them.
func Engines() []Engine {
	return []Engine{
		{"duckdb-memory", DuckDB},
		{"duckdb-file", func(t testing.TB) warehouse.Warehouse { w, _ := DuckDBFile(t); return w }},
		{"postgres", Postgres},
	}
}
