// Package warehouse is the only place in dataops that talks to a database.
//
// It defines the Warehouse interface, the Dialect that quotes identifiers,
// and the engine-neutral pieces: environment markers, environment names cut
// to the engine's identifier limit, DSN masking and the error types.
//
// Engines live in subpackages: duckdb (github.com/marcboeker/go-duckdb/v2,
// the embedded default) and postgres (github.com/jackc/pgx/v5). They share a
// database/sql implementation in internal/sqlbase.
//
// # Choosing an engine
//
// Open dispatches on the DSN scheme through a registry: each engine package
// calls Register from its init function. The registry avoids an import
// cycle (the engines import this package for the interface) and keeps cgo
// DuckDB out of binaries that do not want it. A program that opens
// warehouses imports the engines it supports for their side effect:
//
//	import (
//		_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
//		_ "github.com/dataops-dev/dataops/internal/warehouse/postgres"
//	)
//
// DSNs: duckdb:///abs/path/file.duckdb, duckdb://relative/file.duckdb,
// duckdb:// (in memory), postgres://user:pass@host:5432/db?sslmode=disable
// (postgresql:// too).
//
// # Environments
//
// A branch environment is a schema carrying a marker (EnvironmentMarker: PR,
// head sha, owner, creation time). The marker is what lets dataops drop
// schemas safely: DropEnvironment refuses any schema without it, and
// CreateEnvironment refuses to adopt an existing schema without it.
// PostgreSQL keeps the marker in the schema comment (COMMENT ON SCHEMA), so
// it lives and dies with the schema. DuckDB 1.4 cannot comment on schemas
// ("Adding comments to schemas is not implemented"), so DuckDB keeps the same
// marker text in a registry table dataops_meta.environments, plus a sentinel
// sequence dataops_environment inside each environment schema so that a
// registry row left by a schema dropped by hand never vouches for a schema
// someone re-creates under that name.
//
// # Code from pull requests
//
// OpenWith takes Options: a statement timeout (PostgreSQL's
// statement_timeout; a deadline that interrupts DuckDB) and Untrusted, for
// the bot, which runs pull requests' models and hooks. An untrusted DuckDB
// runs without access to files, the network or extensions, with its
// configuration locked and a check of each statement for what DuckDB 1.4
// lets past the lock (see the duckdb package's lockdown.go).
//
// # Safety rules
//
// Identifiers are always quoted through the Dialect; values are always bind
// parameters. Every call takes a context. Errors from the engine come back as
// *SQLError (with the character position when the engine gives one), and
// failures to connect as *ConnectError naming the masked DSN and what to do.
package warehouse
