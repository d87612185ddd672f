package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the test server's admin connection
)

// The PostgreSQL tests use the server at DATAOPS_TEST_POSTGRES (default
// below), one fresh database per test. They skip loudly when it cannot be
// reached, except under CI, where they fail: a missing database must not
// silently test less. (internal/warehouse/warehousetest does the same, but
// importing it would link DuckDB into this package's tests.)
const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func postgresDSN() string {
	if dsn := os.Getenv("DATAOPS_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return defaultPostgresDSN
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sqliteURL is a fresh SQLite file in the test's temporary directory.
func sqliteURL(t testing.TB) string {
	return "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "dataops.db"))
}

// postgresURL creates a fresh database on the test server, dropped at the
// end of the test, and returns its URL.
func postgresURL(t testing.TB) string {
	t.Helper()
	admin := postgresDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("PostgreSQL test DSN %s: %v", warehouse.MaskDSN(admin), err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("SKIPPING: PostgreSQL not reachable at %s: set DATAOPS_TEST_POSTGRES or start it (%v)", warehouse.MaskDSN(admin), err)
		}
		t.Fatalf("PostgreSQL not reachable at %s (CI is set, so this fails instead of skipping): %v", warehouse.MaskDSN(admin), err)
	}
	name := uniqueName("dataops_store_test_")
	if _, err := db.ExecContext(ctx, "create database "+name); err != nil {
		t.Fatalf("create test database %s: %v (the role needs CREATEDB)", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer db.Close()
		// FORCE ends sessions a test left open (a killed child's).
		if _, err := db.ExecContext(ctx, "drop database if exists "+name+" with (force)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("PostgreSQL test DSN %s: %v", warehouse.MaskDSN(admin), err)
	}
	u.Path = "/" + name
	return u.String()
}

// eachEngine runs fn once on a fresh SQLite file and once on a fresh
// PostgreSQL database.
func eachEngine(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresURL(t)) })
}

// open opens a Store closed at the end of the test.
func open(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	s, err := OpenWith(testContext(t), url, opts)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func delivery(id string) Delivery {
	return Delivery{Host: "github", ID: id, Event: "pull_request", Payload: []byte(`{"action":"synchronize"}`)}
}

func prJob(repo string, pr int, sha string) Job {
	return Job{Kind: "pull_request", Repo: repo, PR: pr, HeadSHA: sha}
}

func mustAccept(t testing.TB, s *Store, d Delivery, j Job) {
	t.Helper()
	dup, err := s.Accept(testContext(t), d, j)
	if err != nil {
		t.Fatalf("Accept(%s): %v", d.ID, err)
	}
	if dup {
		t.Fatalf("Accept(%s): duplicate=true for a new delivery", d.ID)
	}
}

func mustReceive(t testing.TB, s *Store) *Received {
	t.Helper()
	r, err := s.Receive(testContext(t))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if r == nil {
		t.Fatal("Receive: nothing, want a job")
	}
	return r
}

func mustReceiveNothing(t testing.TB, s *Store) {
	t.Helper()
	r, err := s.Receive(testContext(t))
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if r != nil {
		t.Fatalf("Receive: got job %+v (attempt %d), want none", r.Job, r.Attempt)
	}
}

// receiveWithin polls until a job is ready, for jobs that become visible
// after a timeout or backoff.
func receiveWithin(t testing.TB, s *Store, limit time.Duration) *Received {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r, err := s.Receive(testContext(t))
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if r != nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("Receive: nothing within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustStats(t testing.TB, s *Store) Stats {
	t.Helper()
	st, err := s.Stats(testContext(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func countRows(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(testContext(t), s.rebind(query), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url    string
		engine engine
		target string
		err    string
	}{
		{url: "", engine: engineSQLite, target: "dataops.db"},
		{url: "sqlite:///var/lib/dataops/state.db", engine: engineSQLite, target: "/var/lib/dataops/state.db"},
		{url: "sqlite://state.db", engine: engineSQLite, target: "state.db"},
		{url: "sqlite:state.db", engine: engineSQLite, target: "state.db"},
		{url: "/data/dataops.db", engine: engineSQLite, target: "/data/dataops.db"},
		{url: "./dataops.db", engine: engineSQLite, target: "./dataops.db"},
		{url: "postgres://u:p@db:5432/bot?sslmode=disable", engine: enginePostgres, target: "postgres://u:p@db:5432/bot?sslmode=disable"},
		{url: "postgresql://db/bot", engine: enginePostgres, target: "postgresql://db/bot"},
		{url: "sqlite://", err: "names no file"},
		{url: "sqlite:///x.db?mode=ro", err: "options are not supported"},
		{url: "mysql://u:secret@db/bot", err: `unsupported scheme "mysql"`},
		{url: "x.db?cache=shared", err: "may not contain"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			eng, target, err := parseURL(tt.url)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseURL(%q) error = %v, want one containing %q", tt.url, err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tt.url, err)
			}
			if eng != tt.engine || target != filepath.FromSlash(tt.target) {
				t.Errorf("parseURL(%q) = %v %q, want %v %q", tt.url, eng, target, tt.engine, tt.target)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := testContext(t)
	missing := filepath.Join(t.TempDir(), "no", "such", "folder", "dataops.db")
	if _, err := Open(ctx, missing); err == nil || !strings.Contains(err.Error(), "create it first") {
		t.Errorf("Open(%s) error = %v, want one about the missing folder", missing, err)
	}
	_, err := Open(ctx, "postgres://u:secret@127.0.0.1:1/bot?sslmode=disable&connect_timeout=2")
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("Open(unreachable PostgreSQL) error = %v, want a *ConnectError", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestOpenDefaultsToSQLiteFileInWorkingDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := Open(testContext(t), "")
	if err != nil {
		t.Fatalf("Open(\"\"): %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Errorf("Open(\"\") did not create ./%s: %v", DefaultPath, err)
	}
	var mode string
	if err := s.db.QueryRowContext(testContext(t), "pragma journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	var sync, fk int
	if err := s.db.QueryRowContext(testContext(t), "pragma synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d (%v), want 2 (FULL): deliveries must be durable", sync, err)
	}
	if err := s.db.QueryRowContext(testContext(t), "pragma foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d (%v), want 1", fk, err)
	}
}

// Replicas starting together all migrate the same database; each must
// succeed and the schema be created once.
func TestOpenConcurrently(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		const replicas = 6
		var wg sync.WaitGroup
		errs := make(chan error, replicas)
		for range replicas {
			wg.Go(func() {
				s, err := Open(testContext(t), url)
				if err != nil {
					errs <- err
					return
				}
				errs <- s.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Open: %v", err)
			}
		}
		s := open(t, url, Options{})
		if n := countRows(t, s, "select count(*) from dataops_schema_migrations"); n != len(migrations) {
			t.Errorf("%d migrations recorded, want %d", n, len(migrations))
		}
		// And reopening an existing store changes nothing.
		s2 := open(t, url, Options{})
		if n := countRows(t, s2, "select count(*) from dataops_schema_migrations"); n != len(migrations) {
			t.Errorf("after reopening: %d migrations recorded, want %d", n, len(migrations))
		}
	})
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	url := sqliteURL(t)
	s := open(t, url, Options{})
	if _, err := s.db.ExecContext(testContext(t), "insert into dataops_schema_migrations (version, applied_at) values (999, 0)"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(testContext(t), url); err == nil || !strings.Contains(err.Error(), "upgrade dataops") {
		t.Errorf("Open on a newer schema: error = %v, want one asking to upgrade", err)
	}
}
