package duckdb_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/duckdb"
)

// openLockedDown opens a fresh DuckDB file as the bot does, for code from
// pull requests, with production data in it.
func openLockedDown(t *testing.T) (w warehouse.Warehouse, dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "warehouse.duckdb")
	w, err := duckdb.OpenWith(ctxT(t), "duckdb://"+path, warehouse.Options{Untrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	must(t, w.Exec(ctxT(t), "create schema prod"))
	must(t, w.Exec(ctxT(t), "create table prod.orders as select range as id from range(100)"))
	return w, dir, path
}

// TestLockedDownDuckDB tries every known way for a model or a hook to
// read or write a file, reach the network, change a setting, or turn on
// what would break the warehouse for every other pull request; each must
// be refused, and afterwards the directory holds the warehouse alone and
// production answers.
func TestLockedDownDuckDB(t *testing.T) {
	w, dir, path := openLockedDown(t)
	ctx := ctxT(t)
	other := filepath.Join(dir, "other")
	// DuckDB's default temp directory, where it would let statements write.
	spill := path + ".tmp"
	must(t, os.Mkdir(spill, 0o755))
	attacks := []string{
		// Files, read and written.
		"COPY prod.orders TO '" + other + ".csv'",
		"COPY prod.orders TO '" + path + "' (FORMAT csv)",
		"COPY prod.orders FROM '/etc/passwd'",
		"select * from read_csv('/etc/passwd')",
		"select * from read_csv_auto('/proc/self/environ')",
		"select * from read_parquet('" + other + ".parquet')",
		"select * from read_json('" + other + ".json')",
		"select * from read_text('/proc/self/environ')",
		"select * from read_blob('" + path + "')",
		"select * from glob('" + dir + "/*')",
		"select * from '/etc/passwd'",
		"select * from sniff_csv('/etc/passwd')",
		"create table prod.stolen as select * from read_text('/proc/self/environ')",
		// The warehouse's own files, which DuckDB lets it read.
		"select * from read_blob('" + path + "')",
		"select * from read_csv('" + path + ".wal', all_varchar = true, header = false)",
		"COPY prod.orders FROM '" + path + "' (FORMAT csv)",
		"/* */ copy prod.orders from '" + path + "'",
		// Its temp directory, which DuckDB lets it write.
		"COPY prod.orders TO '" + spill + "/x.csv'",
		"ATTACH '" + spill + "/a.duckdb' AS a",
		"EXPORT DATABASE '" + spill + "/export'",
		// Other databases, and this one's file again.
		"ATTACH '" + other + ".duckdb' AS o",
		"ATTACH '" + path + "' AS again",
		"ATTACH ':memory:' AS m",
		"EXPORT DATABASE '" + other + "'",
		"IMPORT DATABASE '" + dir + "'",
		// Extensions and the network.
		"INSTALL httpfs",
		"LOAD httpfs",
		"LOAD '" + other + ".duckdb_extension'",
		"INSTALL x FROM '" + dir + "'",
		"select * from read_csv('https://example.com/x.csv')",
		"select * from read_parquet('s3://bucket/x.parquet')",
		"CREATE PERSISTENT SECRET s (TYPE http, BEARER_TOKEN 'x')",
		// Settings: where DuckDB writes (profiling over the warehouse file
		// destroyed production), and the lock itself.
		"SET profiling_output = '" + path + "'",
		"PRAGMA profiling_output = '" + path + "'",
		"SET enable_profiling = 'json'",
		"SET temp_directory = '" + dir + "'",
		"SET extension_directory = '" + dir + "'",
		"SET secret_directory = '" + dir + "'",
		"SET log_query_path = '" + other + ".log'",
		"SET allowed_directories = ['/']",
		"SET allowed_paths = ['/etc/passwd']",
		"SET enable_external_access = true",
		"SET lock_configuration = false",
		"RESET lock_configuration",
		"SET GLOBAL lock_configuration = false",
		"SET memory_limit = '1MB'",
		"SET threads = 1",
		"SET allow_unsigned_extensions = true",
		"SET custom_extension_repository = 'http://example.com'",
		// Logging is global and ignores the lock: with a file it fails
		// every later statement of every pull request; in memory it
		// records them all for anyone to read.
		"CALL enable_logging(storage = 'file', storage_path = '" + dir + "')",
		"CALL enable_logging()",
		"select * from enable_logging(level = 'trace')",
		"CALL system.main.ENABLE_LOGGING()",
		"CALL \"enable_logging\"()",
		"CALL enable_logging /* */ ()",
		"select * from duckdb_logs",
		"CALL truncate_duckdb_logs()",
		// Dynamic SQL, which would hide any of the above from a check.
		"select * from query('select * from enable_' || 'logging()')",
		"select * from \"query\" ('select 1')",
		"select * from query_table('prod.orders')",
		"select * from json_execute_serialized_sql(json_serialize_sql('select 1'))",
		// Several statements in one, as a hook may be written.
		"select 1; SET profiling_output = '" + path + "'",
		"select 1; CALL enable_logging(storage = 'file', storage_path = '" + dir + "')",
	}
	for _, sql := range attacks {
		if err := w.Exec(ctx, sql); err == nil {
			t.Errorf("allowed: %s", sql)
		}
		// The same as a model's body, built into a table.
		if strings.HasPrefix(sql, "select") {
			if err := w.Exec(ctx, "create table prod.m as "+sql); err == nil {
				t.Errorf("allowed in a model: %s", sql)
				_ = w.Exec(ctx, "drop table prod.m")
			}
		}
	}
	// Profiling switched on the one way the lock does not stop writes
	// nothing anywhere.
	_ = w.Exec(ctx, "PRAGMA enable_profiling")
	_, _ = w.Query(ctx, "select count(*) from prod.orders")

	entries, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, name := range names {
		if name != "warehouse.duckdb" && name != "warehouse.duckdb.wal" && name != "warehouse.duckdb.tmp" {
			t.Errorf("a file appeared beside the warehouse: %s (all: %v)", name, names)
		}
	}
	if spilled, err := os.ReadDir(spill); err != nil || len(spilled) != 0 {
		t.Errorf("files in the temp directory: %v %v", spilled, err)
	}
	rows, err := w.Query(ctx, "select count(*) from prod.orders")
	if err != nil || len(rows.Values) != 1 || rows.Values[0][0] != int64(100) {
		t.Fatalf("production after the attempts: %v %v", rows, err)
	}
	// (The check refuses any statement naming the logging function.)
	settings, err := w.Query(ctx, "select name, value from duckdb_settings() where name in ('enable_external_access', 'lock_configuration', 'temp_directory') or name like 'enable_log%' order by name")
	must(t, err)
	var got []string
	for _, r := range settings.Values {
		got = append(got, r[0].(string)+"="+r[1].(string))
	}
	if want := []string{"enable_external_access=false", "enable_logging=0", "lock_configuration=true", "temp_directory="}; !slices.Equal(got, want) {
		t.Errorf("settings %v, want %v", got, want)
	}
}

// TestLockedDownDuckDBStillWorks: what dataops and dbt models do is not
// caught by the lockdown.
func TestLockedDownDuckDBStillWorks(t *testing.T) {
	w, _, _ := openLockedDown(t)
	ctx := ctxT(t)
	for _, sql := range []string{
		"create schema pr_7",
		"create table pr_7.orders_per_month as select date_trunc('month', date '2024-01-15') as month, count(*) as orders from prod.orders group by 1",
		"create or replace view pr_7.v as select id, id * 2 as query_count, 'query' as note, 'x' glob 'x*' as globbed from prod.orders",
		"select json_extract('{\"a\": 1}', '$.a'), regexp_matches('abc', 'b'), strftime(now(), '%Y'), 'copy' as copy_of",
		"select count(*) from pr_7.v where note like '%query%' and query_count > 0",
		"drop schema pr_7 cascade",
	} {
		if err := w.Exec(ctx, sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	if _, err := w.Explain(ctx, "select id from prod.orders"); err != nil {
		t.Errorf("explain: %v", err)
	}
}

// TestLockedDownDSN: the settings the lockdown owns cannot be loosened from
// the DSN; others still can be set.
func TestLockedDownDSN(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.duckdb")
	for _, q := range []string{"enable_external_access=true", "lock_configuration=false", "allowed_directories=/", "temp_directory=/tmp"} {
		_, err := duckdb.OpenWith(ctxT(t), "duckdb://"+path+"?"+q, warehouse.Options{Untrusted: true})
		if err == nil || !strings.Contains(err.Error(), strings.Split(q, "=")[0]) || !strings.Contains(err.Error(), "remove it from the DSN") {
			t.Errorf("%s: err = %v", q, err)
		}
	}
	w, err := duckdb.OpenWith(ctxT(t), "duckdb://"+path+"?threads=2", warehouse.Options{Untrusted: true})
	must(t, err)
	defer w.Close()
	rows, err := w.Query(ctxT(t), "select current_setting('threads')")
	if err != nil || rows.Values[0][0] != int64(2) {
		t.Errorf("threads: %v %v", rows, err)
	}
}

// TestProfilingCannotOverwriteTheWarehouse: the review's finding. A hook
// pointed profiling at the warehouse's own file, whose path it read from
// duckdb_databases(), and the next statements' profiles replaced
// production, every environment and the deploy records.
func TestProfilingCannotOverwriteTheWarehouse(t *testing.T) {
	w, _, path := openLockedDown(t)
	ctx := ctxT(t)
	rows, err := w.Query(ctx, "select path from duckdb_databases() where database_name = current_database()")
	must(t, err)
	file := rows.Values[0][0].(string)
	hook := "SET profiling_output = '" + file + "'; PRAGMA enable_profiling = 'json'; PRAGMA enable_profiling; select count(*) from prod.orders"
	if err := w.Exec(ctx, hook); err == nil {
		t.Error("the hook ran")
	}
	for range 3 {
		_, _ = w.Query(ctx, "select count(*) from prod.orders")
	}
	must(t, w.Close())
	again, err := duckdb.Open(ctx, "duckdb://"+path)
	if err != nil {
		t.Fatalf("the warehouse file no longer opens: %v", err)
	}
	defer again.Close()
	rows, err = again.Query(ctx, "select count(*) from prod.orders")
	if err != nil || rows.Values[0][0] != int64(100) {
		t.Fatalf("production after the hook: %v %v", rows, err)
	}
}
