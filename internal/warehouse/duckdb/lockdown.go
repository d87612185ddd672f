package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// An untrusted DuckDB (warehouse.Options.Untrusted: the bot, whose
// statements come from pull requests, and the Action on a fork's pull
// request) runs inside dataops' process, with its files and its network. It is locked down in layers, each closing
// what the one before leaves open in DuckDB 1.4:
//
//  1. enable_external_access=false: no files (COPY, read_*, glob,
//     ATTACH, EXPORT and IMPORT DATABASE), no network, no extensions
//     beyond those built in.
//  2. Our own settings, before the lock: no temp directory (DuckDB lets
//     any statement write files into it: COPY TO, ATTACH, EXPORT
//     DATABASE; so nothing spills to disk, and a statement needing more
//     than memory_limit fails), no persistent secrets, no extension
//     downloads, no unsigned or community extensions.
//  3. lock_configuration=true: no setting can be changed afterwards by
//     SET, RESET or PRAGMA name=value. Without it, SET profiling_output to
//     the warehouse's own file (its path is in duckdb_databases()) and
//     PRAGMA enable_profiling wrote over production.
//  4. A check of each statement for what the lock lets through:
//     CALL enable_logging(...) changes logging for the whole database,
//     lock or not; with a file it fails every later statement of every
//     pull request (disable_logging included) until the bot restarts, and
//     in memory it records them all for anyone to read. The functions that
//     run SQL from a string (query(), query_table(),
//     json_execute_serialized_sql()) are refused with it, since they would
//     hide it from the check. So are the file readers (read_csv(),
//     read_blob(), glob(), COPY, ...): external access off still lets them
//     read the warehouse's own file and its write-ahead log; and ATTACH,
//     which still attaches in-memory databases for every connection.
//  5. No idle connections are kept, so the pragmas that ignore the lock
//     but last only for their connection (enable_verification,
//     disable_optimizer, enable_profiling, ...) end with the statement
//     that set them, and never reach another pull request's. (Profiling
//     prints to the process's output, as profiling_output stays empty: a
//     session setting cannot be set for connections not yet opened.)
//
// The DSN may not set the settings the lockdown owns.

// lockdownSettings are set at open; lockdownOwned may not come from the DSN.
var (
	lockdownSettings = map[string]string{
		"temp_directory":               "",
		"allow_persistent_secrets":     "false",
		"autoinstall_known_extensions": "false",
		"allow_community_extensions":   "false",
		"allow_unsigned_extensions":    "false",
	}
	lockdownOwned = []string{"enable_external_access", "lock_configuration", "allowed_directories", "allowed_paths", "extension_directory",
		"custom_extension_repository", "autoinstall_extension_repository", "secret_directory"}
)

// lockedDownDSN adds the lockdown's settings to go-duckdb's DSN (path and
// ?settings), refusing a DSN that sets one of them.
func lockedDownDSN(dsn string) (string, error) {
	path, query, _ := strings.Cut(dsn, "?")
	values, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("the DSN's settings (after ?) are not a query string: %w", err)
	}
	for key := range values {
		k := strings.ToLower(key)
		if _, ok := lockdownSettings[k]; ok || slices.Contains(lockdownOwned, k) {
			return "", fmt.Errorf("dataops opens DuckDB locked down for code from pull requests (every one in the bot, a fork's in the Action), and sets %s itself: remove it from the DSN", key)
		}
	}
	for k, v := range lockdownSettings {
		values.Set(k, v)
	}
	return path + "?" + values.Encode(), nil
}

// lockDown turns external access off and locks the configuration, after
// every setting of ours.
func lockDown(ctx context.Context, db *sql.DB) error {
	// External access goes off after the open: DuckDB applies its open
	// settings in no fixed order, and without external access it refuses to
	// change the temp directory.
	for _, stmt := range []string{"SET enable_external_access = false", "SET lock_configuration = true"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("lock DuckDB down (%s): %w", stmt, err)
		}
	}
	db.SetMaxIdleConns(0)
	return nil
}

// refused is what the statement check refuses, and why. Names may be
// quoted and of any case; U&"" escapes do not parse in DuckDB 1.4.
var refused = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`(?i)(?:^|[^a-z0-9_$])"?(enable_logging|disable_logging|truncate_duckdb_logs|duckdb_logs|duckdb_log_contexts)(?:$|[^a-z0-9_$])`),
		"DuckDB's logging is one for the whole warehouse, and ignores its locked configuration: turned on, it would fail or record every other statement, other pull requests' included"},
	{regexp.MustCompile(`(?i)(?:^|[^a-z0-9_$])"?(query|query_table|json_execute_serialized_sql)"?\s*\(`),
		"it runs SQL from a string, which dataops cannot check before it runs"},
	{regexp.MustCompile(`(?i)(?:^|[^a-z0-9_$])"?(read_[a-z0-9_]+|parquet_[a-z0-9_]+|sniff_csv|glob)"?\s*\(`),
		"it reads files, and DuckDB is opened for pull requests' code without file or network access (sources and seeds are tables in the warehouse)"},
	{regexp.MustCompile(`(?is)(?:^|;)\s*(copy|export|import|attach|detach|install|load)\s`),
		"it reads or writes files or other databases, and DuckDB is opened for pull requests' code without file or network access (sources and seeds are tables in the warehouse)"},
}

// comment matches SQL comments, which may stand between a name and its
// "(": the check reads the statement with and without them.
var comment = regexp.MustCompile(`(?s)/\*.*?\*/|--[^\n]*`)

// refuseUnlocked is the statement check of an untrusted DuckDB.
func refuseUnlocked(query string) error {
	for _, text := range []string{query, comment.ReplaceAllString(query, " ")} {
		for _, r := range refused {
			if m := r.re.FindStringSubmatch(text); m != nil {
				return &warehouse.SQLError{Engine: "duckdb", Query: query,
					Message: fmt.Sprintf("%s is not available to a pull request's models and hooks here: %s", strings.ToLower(m[1]), r.why)}
			}
		}
	}
	return nil
}
