package postgres_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/postgres"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// closedPort returns a port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestOpenUnreachable(t *testing.T) {
	dsn := "postgres://postgres:s3cret@127.0.0.1:" + strconv.Itoa(closedPort(t)) + "/test?sslmode=disable"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := warehouse.Open(ctx, dsn)
	var ce *warehouse.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v (%T), want *warehouse.ConnectError", err, err)
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{
		"connect postgres://postgres:***@127.0.0.1:",
		"connection refused",
		"is the server running and reachable? check the host and port",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("message leaks the password: %q", msg)
	}
}

func TestOpenInvalidDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret@host:notaport/db")
	var ce *warehouse.ConnectError
	if !errors.As(err, &ce) || ce.Cause != "invalid DSN" {
		t.Fatalf("error = %v, want an invalid DSN ConnectError", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("message leaks the password: %q", err)
	}
}

// withURL rewrites the test DSN; these tests need a URL-style DSN.
func withURL(t *testing.T, edit func(u *url.URL)) string {
	u, err := url.Parse(warehousetest.PostgresDSN())
	if err != nil || u.Scheme == "" {
		t.Skip("DATAOPS_TEST_POSTGRES is not a URL")
	}
	edit(u)
	return u.String()
}

func TestOpenRejected(t *testing.T) {
	warehousetest.OpenPostgresOrSkip(t, warehousetest.PostgresDSN()).Close()
	tests := []struct {
		name  string
		edit  func(u *url.URL)
		wants []string
	}{
		{"unknown role", func(u *url.URL) { u.User = url.UserPassword("dataops_no_such_role", "s3cret") },
			[]string{`role "dataops_no_such_role" does not exist`, "check the user name", ":***@"}},
		{"unknown database", func(u *url.URL) { u.Path = "/dataops_no_such_db" },
			[]string{`database "dataops_no_such_db" does not exist`, "create the database or fix its name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := postgres.Open(ctx, withURL(t, tt.edit))
			var ce *warehouse.ConnectError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want *warehouse.ConnectError", err)
			}
			t.Log(err)
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("message leaks the password: %q", err)
			}
		})
	}
}

func TestMarkerIsSchemaComment(t *testing.T) {
	w := warehousetest.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const env = "pr_7"
	t.Cleanup(func() { w.DropEnvironment(context.Background(), env) })
	m := warehouse.EnvironmentMarker{PR: 7, HeadSHA: "abc", Owner: `o'brien "x" \`}
	if err := w.CreateEnvironment(ctx, env, m); err != nil {
		t.Fatal(err)
	}
	rows, err := w.Query(ctx, "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1", env)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := rows.Values[0][0].(string)
	got, ok := warehouse.DecodeMarker(text)
	if !ok || got.PR != 7 || got.Owner != m.Owner {
		t.Errorf("schema comment = %q, decoded %+v", text, got)
	}

	// A human comment that merely looks like a marker does not make a schema ours.
	const fake = "fake_env"
	warehousetest.DropSchemaAtCleanup(t, w, fake)
	if err := w.EnsureSchema(ctx, fake); err != nil {
		t.Fatal(err)
	}
	if err := w.Exec(ctx, `COMMENT ON SCHEMA fake_env IS 'dataops:env not json'`); err != nil {
		t.Fatal(err)
	}
	if err := w.DropEnvironment(ctx, fake); !errors.Is(err, warehouse.ErrUnmarkedSchema) {
		t.Errorf("DropEnvironment(fake) = %v, want ErrUnmarkedSchema", err)
	}
}

func TestSQLErrorDetails(t *testing.T) {
	w := warehousetest.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := w.Exec(ctx, "SELECT 1 FROM nope")
	var se *warehouse.SQLError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want *warehouse.SQLError", err)
	}
	if se.Code != "42P01" || se.Position != 15 || se.Engine != "postgres" {
		t.Errorf("SQLError = %+v", se)
	}
	if want := `postgres: relation "nope" does not exist (SQLSTATE 42P01, line 1, column 15)`; se.Error() != want {
		t.Errorf("Error() = %q, want %q", se.Error(), want)
	}
}

// TestQueryAfterColumnsChange: the same query text after its relation was
// replaced with other columns works, as it must for a tool that rebuilds
// relations (a cached prepared statement would fail with "cached plan must
// not change result type").
func TestQueryAfterColumnsChange(t *testing.T) {
	w := warehousetest.Postgres(t)
	ctx := context.Background()
	schema := warehousetest.Schema(t, w)
	rel := w.Dialect().QuoteIdent(schema) + ".t"
	query := "select * from " + rel
	for i, ddl := range []string{
		"create table " + rel + " as select 1 as a",
		"drop table " + rel + "; create table " + rel + " as select 1 as a, 'x' as b",
		"drop table " + rel + "; create table " + rel + " as select 'y' as b",
	} {
		for _, stmt := range strings.Split(ddl, "; ") {
			if err := w.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 { // more than one pooled connection's worth
			rows, err := w.Query(ctx, query)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if len(rows.Columns) != []int{1, 2, 1}[i] {
				t.Fatalf("step %d: columns %v", i, rows.Columns)
			}
		}
	}
}
