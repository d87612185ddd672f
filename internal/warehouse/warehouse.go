package warehouse

import (
	"context"
	"time"
)

// Relation names a table or view. Both parts are raw identifiers, never
// pre-quoted: quoting is the Dialect's job.
type Relation struct{ Schema, Name string }

// Column is a column name and its type as the engine names it, lowercased
// (PostgreSQL: format_type, e.g. "numeric(10,2)"; DuckDB: e.g. "decimal(10,2)").
type Column struct{ Name, Type string }

// Dialect knows how one engine spells identifiers and parameters.
type Dialect interface {
	Name() string // "duckdb" | "postgres"
	QuoteIdent(s string) string
	QuoteRelation(r Relation) string
	Placeholder(n int) string // 1-based
	MaxIdentifierLength() int // in bytes
	// Type returns the engine's name for a portable column type, for tables
	// dataops creates itself (seeds, bookkeeping).
	Type(t Type) string
}

// Type is a portable column type.
type Type string

const (
	TypeInteger   Type = "integer"   // 32-bit
	TypeBigint    Type = "bigint"    // 64-bit
	TypeDouble    Type = "double"    // float8
	TypeNumeric   Type = "numeric"   // exact decimal with room for the usual money and ratio values
	TypeText      Type = "text"      // unbounded string
	TypeBoolean   Type = "boolean"   //
	TypeDate      Type = "date"      //
	TypeTimestamp Type = "timestamp" // without time zone
)

// Rows is a small, fully read result.
type Rows struct {
	Columns []string
	Values  [][]any // values as the driver returns them; []byte is copied
	// Truncated is true when the result had more rows than the limit.
	Truncated bool
}

// DefaultRowLimit caps Query. Results are held in memory; use QueryLimit or
// a LIMIT in the SQL for anything bigger.
const DefaultRowLimit = 10_000

// Execer runs statements; both a Warehouse and a transaction are Execers.
type Execer interface {
	Dialect() Dialect
	Exec(ctx context.Context, sql string, args ...any) error
	// Query reads at most DefaultRowLimit rows.
	Query(ctx context.Context, sql string, args ...any) (*Rows, error)
	// QueryLimit reads at most limit rows (limit <= 0 means DefaultRowLimit).
	QueryLimit(ctx context.Context, limit int, sql string, args ...any) (*Rows, error)
}

// EnvironmentMarker says who created a branch environment and for what.
type EnvironmentMarker struct {
	PR        int
	HeadSHA   string
	Owner     string
	CreatedAt time.Time
}

// Environment is a schema created by CreateEnvironment.
type Environment struct {
	Schema string
	Marker EnvironmentMarker
}

// Age is how long ago the environment was created.
func (e Environment) Age(now time.Time) time.Duration { return now.Sub(e.Marker.CreatedAt) }

// Warehouse is one database connection pool.
type Warehouse interface {
	Execer

	// Columns lists a relation's columns in order; the error wraps
	// ErrRelationNotFound when it does not exist.
	Columns(ctx context.Context, r Relation) ([]Column, error)
	RelationExists(ctx context.Context, r Relation) (bool, error)

	// Explain returns the engine's plan for a single SELECT without running it.
	Explain(ctx context.Context, selectSQL string) (string, error)
	// OutputColumns returns the columns a single SELECT would produce, as the
	// engine types them, without running it.
	OutputColumns(ctx context.Context, selectSQL string) ([]Column, error)

	// CreateEnvironment creates schema with marker m. It is idempotent: an
	// existing schema with a marker for the same PR is kept (its head sha and
	// owner are updated, its creation time kept). It refuses a schema without
	// a marker (ErrUnmarkedSchema) or marked for another PR
	// (ErrEnvironmentConflict).
	CreateEnvironment(ctx context.Context, schema string, m EnvironmentMarker) error
	// DropEnvironment drops schema and everything in it, only if it carries
	// a marker (else ErrUnmarkedSchema). A missing schema is not an error.
	DropEnvironment(ctx context.Context, schema string) error
	// ListEnvironments returns the marked schemas, sorted by name.
	ListEnvironments(ctx context.Context) ([]Environment, error)
	// EnsureSchema creates a plain schema (production, raw) if missing. It
	// never marks it, so it can never be dropped as an environment.
	EnsureSchema(ctx context.Context, schema string) error

	// InTransaction runs fn in one transaction, committed when fn returns
	// nil and rolled back otherwise. DDL is transactional on both engines,
	// so this is how to swap relations atomically.
	InTransaction(ctx context.Context, fn func(tx Execer) error) error

	Close() error
}
