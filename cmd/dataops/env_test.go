package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// envStep is one command of a scripted session and what it must print.
type envStep struct {
	name   string
	args   []string
	code   int
	stdout []string // each must appear
	stderr []string
	absent string // must appear in neither
}

func envRunSteps(t *testing.T, steps []envStep) {
	t.Helper()
	for _, s := range steps {
		code, stdout, stderr := runCLI(s.args...)
		if code != s.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, stdout, stderr)
		}
		for _, want := range s.stdout {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, want, stdout)
			}
		}
		for _, want := range s.stderr {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", s.name, want, stderr)
			}
		}
		if s.absent != "" && strings.Contains(stdout+stderr, s.absent) {
			t.Errorf("%s: output holds %q:\nstdout: %s\nstderr: %s", s.name, s.absent, stdout, stderr)
		}
		if t.Failed() {
			return // later steps depend on this one
		}
	}
}

// envConfig writes a dataops.yml and returns its path.
func envConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dataops.yml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func envCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// envSetup prepares the warehouse behind dsn before the commands run:
// a plain schema dataops did not create, and an environment created eight
// days ago. DuckDB lets one process hold a file, so the connection is
// closed before the command opens it.
func envSetup(t *testing.T, w warehouse.Warehouse) {
	t.Helper()
	ctx := envCtx(t)
	if err := w.EnsureSchema(ctx, "pr_99"); err != nil {
		t.Fatal(err)
	}
	old := warehouse.EnvironmentMarker{PR: 5, HeadSHA: "5555555555", Owner: "ghost", CreatedAt: time.Now().Add(-8 * 24 * time.Hour)}
	if err := w.CreateEnvironment(ctx, "pr_5", old); err != nil {
		t.Fatal(err)
	}
}

// envSession is the same session on every engine: create, create again,
// list, drop, drop again, and the refusals.
func envSession(t *testing.T, dsn string, schemaExists func(string) bool) {
	t.Setenv("GITHUB_ACTOR", "octocat")
	cfg := envConfig(t, "environments:\n  ttl: 7d\n")
	wh := []string{"--warehouse", dsn, "--config", cfg}
	a := func(args ...string) []string { return append(args, wh...) }
	envRunSteps(t, []envStep{
		{name: "create", args: a("env", "create", "--pr", "12", "--sha", "abcdef0123456789"), code: exitOK,
			stdout: []string{`Created environment "pr_12" (PR #12)`}},
		{name: "create again, same sha", args: a("env", "create", "--pr", "12", "--sha", "abcdef0123456789"), code: exitOK,
			stdout: []string{`Environment "pr_12" already exists (PR #12); its head sha is unchanged`}},
		{name: "create again, new sha", args: a("env", "create", "--pr", "12", "--sha", "fedcba9876543210"), code: exitOK,
			stdout: []string{`Environment "pr_12" already exists (PR #12); updated its head sha`}},
		{name: "create again without --sha keeps it", args: a("env", "create", "--name", "pr_12", "--json"), code: exitOK,
			stdout: []string{`"action": "unchanged"`, `"head_sha": "fedcba9876543210"`, `"pr": 12`}},
		{name: "list", args: a("env", "list"), code: exitOK,
			stdout: []string{"SCHEMA  PR  HEAD SHA  OWNER    AGE\n", "pr_12   12  fedcba9   octocat  ", // age 0s or 1s
				"pr_5    5   5555555   ghost    8d (expired)\n", "2 environments; 1 expired (older than environments.ttl, 7d)"}},
	})
	if t.Failed() {
		return
	}

	code, stdout, stderr := runCLI(a("env", "list", "--json")...)
	var items []envListItem
	if err := json.Unmarshal([]byte(stdout), &items); code != exitOK || err != nil {
		t.Fatalf("list --json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	if len(items) != 2 || items[0].Schema != "pr_12" || items[0].PR != 12 || items[0].HeadSHA != "fedcba9876543210" ||
		items[0].Owner != "octocat" || items[0].Expired || items[1].Schema != "pr_5" || !items[1].Expired || items[1].AgeSeconds < 8*24*3600 {
		t.Errorf("list --json = %+v", items)
	}

	envRunSteps(t, []envStep{
		{name: "drop", args: a("env", "drop", "--pr", "12"), code: exitOK, stdout: []string{`Dropped environment "pr_12" (PR #12)`}},
		{name: "drop again", args: a("env", "drop", "--pr", "12"), code: exitOK,
			stdout: []string{`Environment "pr_12" does not exist; nothing to drop`}},
		{name: "drop by name for the wrong PR", args: a("env", "drop", "--name", "pr_5", "--pr", "6"), code: exitFailure,
			stderr: []string{`environment "pr_5" belongs to PR #5, not #6`}},
		{name: "drop by name", args: a("env", "drop", "--name", "pr_5", "--json"), code: exitOK,
			stdout: []string{`"schema": "pr_5"`, `"action": "dropped"`}},
		{name: "list, empty", args: a("env", "list"), code: exitOK, stdout: []string{"No environments."}},
		{name: "list --json, empty", args: a("env", "list", "--json"), code: exitOK, stdout: []string{"[]"}},
		{name: "create over an unmarked schema", args: a("env", "create", "--pr", "99"), code: exitFailure,
			stderr: []string{`schema "pr_99" exists, but dataops did not create it`, "will not use it as an environment"}},
		{name: "drop an unmarked schema", args: a("env", "drop", "--pr", "99"), code: exitFailure,
			stderr: []string{`schema "pr_99" exists, but dataops did not create it`, "so dataops will not drop it"}},
		{name: "another PR's name", args: a("env", "create", "--name", "pr_12b", "--pr", "1"), code: exitOK},
		{name: "conflict", args: a("env", "create", "--name", "pr_12b", "--pr", "2"), code: exitFailure,
			stderr: []string{"belongs to PR #1, not #2"}},
	})
	if !schemaExists("pr_99") {
		t.Error("the unmarked schema pr_99 was dropped")
	}
	if schemaExists("pr_12") {
		t.Error("pr_12 still exists after drop")
	}
}

func TestEnvCommandDuckDB(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	envSetup(t, w)
	w.Close()
	envSession(t, dsn, func(schema string) bool {
		ctx := envCtx(t)
		w, err := warehouse.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		rows, err := w.Query(ctx, "select count(*) from information_schema.schemata where schema_name = $1", schema)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(rows.Values[0][0]) != "0"
	})
}

func TestEnvCommandPostgres(t *testing.T) {
	w, dsn := warehousetest.PostgresDatabase(t)
	envSetup(t, w)
	envSession(t, dsn, func(schema string) bool {
		rows, err := w.Query(envCtx(t), "select count(*) from pg_namespace where nspname = $1", schema)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(rows.Values[0][0]) != "0"
	})
}

// The name comes from dataops.yml's template and prefix, cut to the
// engine's limit, and the DSN from the variable the file names.
func TestEnvNameAndDSNFromConfig(t *testing.T) {
	dsn := "duckdb://" + filepath.ToSlash(filepath.Join(t.TempDir(), "env.duckdb"))
	t.Setenv("MY_WAREHOUSE", dsn)
	t.Setenv("DATAOPS_WAREHOUSE_DSN", "")
	cfg := envConfig(t, "warehouse:\n  dsn_env: MY_WAREHOUSE\nenvironments:\n  name: preview_{number}\n  prefix: CI-\n")
	long := strings.Repeat("x", 300)
	envRunSteps(t, []envStep{
		{name: "template and prefix", args: []string{"env", "create", "--pr", "7", "--config", cfg}, code: exitOK,
			stdout: []string{`Created environment "ci_preview_7" (PR #7)`}},
		{name: "listed", args: []string{"env", "list", "--config", cfg}, code: exitOK, stdout: []string{"ci_preview_7"}},
		{name: "name too long", args: []string{"env", "create", "--name", long, "--config", cfg}, code: exitUsage,
			stderr: []string{"--name: environment name", "over the duckdb limit of 255"}},
		{name: "the default variable is not read when the file names another",
			args: []string{"env", "list"}, code: exitUsage,
			stderr: []string{"no warehouse: pass --warehouse DSN or set DATAOPS_WAREHOUSE_DSN"}},
	})
	t.Setenv("DATAOPS_WAREHOUSE_DSN", dsn)
	envRunSteps(t, []envStep{
		{name: "DATAOPS_WAREHOUSE_DSN by default", args: []string{"env", "list"}, code: exitOK, stdout: []string{"ci_preview_7"}},
	})
}

// envClosedPort returns a local TCP port nothing listens on.
func envClosedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestEnvCommandErrors(t *testing.T) {
	t.Setenv("DATAOPS_WAREHOUSE_DSN", "")
	duck := "duckdb://" + filepath.ToSlash(filepath.Join(t.TempDir(), "e.duckdb"))
	badConfig := envConfig(t, "environments:\n  name: pr_{number}\n  nmae: x\n")
	unreachable := fmt.Sprintf("postgres://alice:s3cret-pw@127.0.0.1:%d/db?sslmode=disable", envClosedPort(t))
	envRunSteps(t, []envStep{
		{name: "help", args: []string{"env", "--help"}, code: exitOK,
			stdout: []string{"Usage: dataops env create|drop|list [--warehouse DSN]", "-pr int", "Subcommands:"}},
		{name: "help for a subcommand", args: []string{"env", "create", "--help"}, code: exitOK, stdout: []string{"Usage: dataops env create|drop|list"}},
		{name: "dataops help env", args: []string{"help", "env"}, code: exitOK, stdout: []string{"Usage: dataops env"}},
		{name: "listed in dataops help", args: []string{"help"}, code: exitOK, stdout: []string{"env        Create, drop or list"}},
		{name: "no subcommand", args: []string{"env"}, code: exitUsage, stderr: []string{"missing subcommand: create, drop or list"}},
		{name: "flags first", args: []string{"env", "--pr", "3", "create"}, code: exitUsage, stderr: []string{"the subcommand comes first"}},
		{name: "unknown subcommand", args: []string{"env", "delete", "--pr", "3"}, code: exitUsage, stderr: []string{`unknown subcommand "delete"`}},
		{name: "stray argument", args: []string{"env", "create", "--pr", "3", "extra"}, code: exitUsage, stderr: []string{`unexpected argument "extra"`}},
		{name: "unknown flag", args: []string{"env", "create", "--pr", "3", "--shaa", "x"}, code: exitUsage, stderr: []string{"flag provided but not defined: -shaa"}},
		{name: "no name", args: []string{"env", "create", "--warehouse", duck}, code: exitUsage, stderr: []string{"which environment? pass --pr N"}},
		{name: "negative PR", args: []string{"env", "drop", "--pr", "-1", "--warehouse", duck}, code: exitUsage, stderr: []string{"--pr must be a pull request number"}},
		{name: "list takes no name", args: []string{"env", "list", "--pr", "3", "--warehouse", duck}, code: exitUsage, stderr: []string{"do not apply to list"}},
		{name: "drop takes no sha", args: []string{"env", "drop", "--pr", "3", "--sha", "abc", "--warehouse", duck}, code: exitUsage, stderr: []string{"--sha applies to create only"}},
		{name: "no warehouse", args: []string{"env", "list"}, code: exitUsage,
			stderr: []string{"no warehouse: pass --warehouse DSN or set DATAOPS_WAREHOUSE_DSN"}},
		{name: "config error", args: []string{"env", "list", "--warehouse", duck, "--config", badConfig}, code: exitUsage,
			stderr: []string{badConfig + ":3: field nmae"}},
		{name: "missing --config file", args: []string{"env", "list", "--warehouse", duck, "--config", filepath.Join(t.TempDir(), "nope.yml")}, code: exitUsage,
			stderr: []string{"--config: stat", "no such file"}},
		{name: "unsupported scheme", args: []string{"env", "list", "--warehouse", "mysql://alice:s3cret-pw@db/x"}, code: exitUsage,
			stderr: []string{`unsupported scheme "mysql"`, "mysql://alice:***@db/x"}, absent: "s3cret-pw"},
		{name: "no scheme", args: []string{"env", "list", "--warehouse", "/tmp/x.duckdb"}, code: exitUsage,
			stderr: []string{"the DSN has no scheme"}},
		{name: "unreachable PostgreSQL", args: []string{"env", "create", "--pr", "1", "--warehouse", unreachable}, code: exitFailure,
			stderr: []string{"connection refused", "postgres://alice:***@127.0.0.1:"}, absent: "s3cret-pw"},
		{name: "DuckDB in a missing folder", args: []string{"env", "list", "--warehouse", "duckdb:///nonexistent-dir/x/y.duckdb"}, code: exitFailure,
			stderr: []string{"connect duckdb:///nonexistent-dir/x/y.duckdb"}},
	})
}

func TestEnvAge(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {45 * time.Second, "45s"}, {12 * time.Minute, "12m"}, {3*time.Hour + 59*time.Minute, "3h"},
		{47 * time.Hour, "47h"}, {50 * time.Hour, "2d"}, {8 * 24 * time.Hour, "8d"},
	} {
		if got := envAge(tc.d); got != tc.want {
			t.Errorf("envAge(%s) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

func TestEnvScrub(t *testing.T) {
	dsn := "postgres://alice:p%40ss:word@db:5432/x"
	got := scrubSecret("failed for p@ss:word and p%40ss:word in "+dsn, dsn)
	if strings.Contains(got, "ss:word") {
		t.Errorf("envScrub left the password: %s", got)
	}
}
