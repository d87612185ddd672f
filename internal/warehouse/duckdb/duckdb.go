// Package duckdb is the embedded DuckDB warehouse (github.com/marcboeker/go-duckdb/v2).
//
// DSNs: duckdb:// (in memory, private to this process), duckdb:///abs/file.duckdb,
// duckdb://relative/file.duckdb; a ?query is passed to DuckDB as config
// (e.g. ?access_mode=READ_ONLY). Importing the package registers "duckdb".
package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/internal/sqlbase"
	duckdbdriver "github.com/marcboeker/go-duckdb/v2"
)

func init() {
	warehouse.Register("duckdb", func(ctx context.Context, dsn string, opts warehouse.Options) (warehouse.Warehouse, error) {
		return OpenWith(ctx, dsn, opts)
	})
}

// Dialect is DuckDB's dialect.
type Dialect struct{}

func (Dialect) Name() string               { return "duckdb" }
func (Dialect) QuoteIdent(s string) string { return warehouse.QuoteIdentANSI(s) }
func (Dialect) Placeholder(n int) string   { return "$" + strconv.Itoa(n) }
func (d Dialect) QuoteRelation(r warehouse.Relation) string {
	return d.QuoteIdent(r.Schema) + "." + d.QuoteIdent(r.Name)
}

// MaxIdentifierLength: DuckDB has no limit; 255 keeps names usable as file
// names and in other engines' tooling.
func (Dialect) MaxIdentifierLength() int { return 255 }

func (Dialect) Type(t warehouse.Type) string {
	switch t {
	case warehouse.TypeNumeric:
		// Plain DECIMAL is DECIMAL(18,3) in DuckDB, which would silently
		// round; 38 digits with 9 after the point holds what PostgreSQL's
		// unconstrained numeric usually holds in practice.
		return "decimal(38,9)"
	case warehouse.TypeText:
		return "varchar"
	}
	return string(t)
}

// Warehouse is a DuckDB database.
type Warehouse struct {
	sqlbase.Base
}

var _ warehouse.Warehouse = (*Warehouse)(nil)

// Open opens (creating if needed) the DuckDB database named by dsn.
func Open(ctx context.Context, dsn string) (*Warehouse, error) {
	return OpenWith(ctx, dsn, warehouse.Options{})
}

// OpenWith is Open with options: with Untrusted, the database is locked
// down for statements from pull requests (see lockdown.go).
func OpenWith(ctx context.Context, dsn string, opts warehouse.Options) (*Warehouse, error) {
	const scheme = "duckdb://"
	if len(dsn) < len(scheme) || !strings.EqualFold(dsn[:len(scheme)], scheme) {
		return nil, fmt.Errorf("open duckdb %s: the DSN must start with duckdb://", warehouse.MaskDSN(dsn))
	}
	// What follows the scheme is go-duckdb's own DSN: a path ("" or
	// ":memory:" for in-memory) and an optional ?query of DuckDB settings.
	driverDSN := dsn[len(scheme):]
	if opts.Untrusted {
		var err error
		if driverDSN, err = lockedDownDSN(driverDSN); err != nil {
			return nil, fmt.Errorf("open duckdb %s: %w", warehouse.MaskDSN(dsn), err)
		}
	}
	connector, err := duckdbdriver.NewConnector(driverDSN, nil)
	if err != nil {
		return nil, connectError(dsn, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, connectError(dsn, err)
	}
	w := &Warehouse{}
	w.Base = sqlbase.Base{DB: db, D: Dialect{}, WrapError: wrapError, Markers: registry{w: &w.Base}, Timeout: opts.StatementTimeout}
	if opts.Untrusted {
		if err := lockDown(ctx, db); err != nil {
			db.Close()
			return nil, connectError(dsn, err)
		}
		w.Check = refuseUnlocked
	}
	return w, nil
}

func connectError(dsn string, err error) error {
	e := &warehouse.ConnectError{DSN: warehouse.MaskDSN(dsn), Err: err}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Could not set lock"):
		e.Cause = "the database file is locked by another process"
		e.Hint = "DuckDB allows one process to write a file: stop the other program using it, or use a copy"
	case strings.Contains(msg, "No such file or directory") || strings.Contains(msg, "Cannot open"):
		e.Cause = "cannot open the database file"
		e.Hint = "check that the directory exists and is writable"
	default:
		e.Cause = strings.ReplaceAll(msg, "\n", " ")
		e.Hint = "check the path and options in the DSN"
	}
	return e
}
