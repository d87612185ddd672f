// Package postgres is the PostgreSQL warehouse (github.com/jackc/pgx/v5
// through its database/sql driver). Importing it registers the "postgres"
// and "postgresql" DSN schemes.
package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/internal/sqlbase"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func init() {
	open := func(ctx context.Context, dsn string, opts warehouse.Options) (warehouse.Warehouse, error) {
		return OpenWith(ctx, dsn, opts)
	}
	warehouse.Register("postgres", open)
	warehouse.Register("postgresql", open)
}

// Dialect is PostgreSQL's dialect.
type Dialect struct{}

func (Dialect) Name() string               { return "postgres" }
func (Dialect) QuoteIdent(s string) string { return warehouse.QuoteIdentANSI(s) }
func (Dialect) Placeholder(n int) string   { return "$" + strconv.Itoa(n) }
func (d Dialect) QuoteRelation(r warehouse.Relation) string {
	return d.QuoteIdent(r.Schema) + "." + d.QuoteIdent(r.Name)
}

// MaxIdentifierLength is NAMEDATALEN-1; longer names are silently truncated
// by the server, so dataops refuses them instead.
func (Dialect) MaxIdentifierLength() int { return 63 }

func (Dialect) Type(t warehouse.Type) string {
	if t == warehouse.TypeDouble {
		return "double precision"
	}
	return string(t)
}

// Warehouse is a PostgreSQL database.
type Warehouse struct {
	sqlbase.Base
}

var _ warehouse.Warehouse = (*Warehouse)(nil)

// defaultConnectTimeout bounds each connection attempt when the DSN does not
// set connect_timeout, so an unroutable host fails in seconds, not minutes.
const defaultConnectTimeout = 10 * time.Second

// Open connects to PostgreSQL and checks the server answers and accepts the
// credentials.
func Open(ctx context.Context, dsn string) (*Warehouse, error) {
	return OpenWith(ctx, dsn, warehouse.Options{})
}

// statementGrace is how long after the server's statement_timeout the
// client gives up on a statement itself: the server's own error says more,
// and the client's deadline is for a server that no longer answers.
const statementGrace = 10 * time.Second

// OpenWith is Open with options. A statement timeout becomes the session's
// statement_timeout (unless the DSN sets one), so the server stops every
// statement at it, those of a transaction included.
func OpenWith(ctx context.Context, dsn string, opts warehouse.Options) (*Warehouse, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &warehouse.ConnectError{
			DSN:   warehouse.MaskDSN(dsn),
			Cause: "invalid DSN",
			Hint:  "use postgres://user:password@host:5432/dbname?sslmode=disable",
			Err:   err,
		}
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if !strings.Contains(dsn, "default_query_exec_mode") {
		// dataops replaces relations all the time (builds, swaps, deploys):
		// a statement prepared and cached per connection would fail with
		// "cached plan must not change result type" once its relation's
		// columns change. Describing each statement anew costs a round
		// trip and is always right.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	}
	timeout := opts.StatementTimeout
	if _, set := cfg.RuntimeParams["statement_timeout"]; !set && timeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, connectError(dsn, cfg, err)
	}
	w := &Warehouse{}
	w.Base = sqlbase.Base{DB: db, D: Dialect{}, WrapError: wrapError, Markers: comments{w: &w.Base}}
	if timeout > 0 {
		w.WrapError = func(err error, query string) error {
			if isStatementTimeout(err) {
				return warehouse.TimeoutError("postgres", timeout, query, err)
			}
			return wrapError(err, query)
		}
		w.Timeout = timeout + statementGrace
	}
	return w, nil
}

func relError(what string, r warehouse.Relation, err error) error {
	return fmt.Errorf("%s %s: %w", what, Dialect{}.QuoteRelation(r), err)
}
