// Package sqlbase is the database/sql code shared by the DuckDB and
// PostgreSQL warehouses: statements, small results, transactions and the
// environment lifecycle. Engine packages embed Base and add what differs
// (catalog queries, dry-run, marker storage, error translation).
package sqlbase

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Base implements the engine-neutral part of warehouse.Warehouse.
type Base struct {
	DB *sql.DB
	D  warehouse.Dialect
	// WrapError turns a driver error for query into a *warehouse.SQLError
	// (or returns it unchanged when it is not an engine error).
	WrapError func(err error, query string) error
	Markers   MarkerStore
	// Timeout, when set, is each statement's deadline: its context ends
	// then, which stops it (the engine packages set it from
	// warehouse.Options.StatementTimeout).
	Timeout time.Duration
	// Check, when set, refuses a statement before it runs.
	Check func(query string) error
}

// Deadline bounds ctx by Timeout, for statements the engine packages run
// themselves (catalog queries, dry runs).
func (b *Base) Deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, b.Timeout)
}

// Statement prepares one statement: Check, then a context bounded by
// Timeout. done turns the statement's error into the one to report, naming
// the timeout when that stopped it, and releases the context.
func (b *Base) Statement(ctx context.Context, query string) (stmtCtx context.Context, done func(err error) error, err error) {
	if b.Check != nil {
		if err := b.Check(query); err != nil {
			return nil, nil, err
		}
	}
	if b.Timeout <= 0 {
		return ctx, func(err error) error {
			if err != nil {
				return b.WrapError(err, query)
			}
			return nil
		}, nil
	}
	stmtCtx, cancel := b.Deadline(ctx)
	return stmtCtx, func(err error) error {
		defer cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() == nil && errors.Is(stmtCtx.Err(), context.DeadlineExceeded):
			return warehouse.TimeoutError(b.D.Name(), b.Timeout, query, err)
		}
		return b.WrapError(err, query)
	}, nil
}

func (b *Base) Dialect() warehouse.Dialect { return b.D }

func (b *Base) Close() error { return b.DB.Close() }

func (b *Base) Exec(ctx context.Context, query string, args ...any) error {
	return b.exec(ctx, b.DB, query, args...)
}

func (b *Base) Query(ctx context.Context, query string, args ...any) (*warehouse.Rows, error) {
	return b.query(ctx, b.DB, warehouse.DefaultRowLimit, query, args...)
}

func (b *Base) QueryLimit(ctx context.Context, limit int, query string, args ...any) (*warehouse.Rows, error) {
	return b.query(ctx, b.DB, limit, query, args...)
}

func (b *Base) exec(ctx context.Context, q Querier, query string, args ...any) error {
	ctx, done, err := b.Statement(ctx, query)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, query, args...)
	return done(err)
}

func (b *Base) query(ctx context.Context, q Querier, limit int, query string, args ...any) (*warehouse.Rows, error) {
	ctx, done, err := b.Statement(ctx, query)
	if err != nil {
		return nil, err
	}
	out, err := b.read(ctx, q, limit, query, args...)
	return out, done(err)
}

// read runs a query and reads at most limit rows. Its errors are the
// driver's; the caller wraps them.
func (b *Base) read(ctx context.Context, q Querier, limit int, query string, args ...any) (*warehouse.Rows, error) {
	if limit <= 0 {
		limit = warehouse.DefaultRowLimit
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := &warehouse.Rows{Columns: cols}
	for rows.Next() {
		if len(out.Values) == limit {
			out.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		// Scanning into *any copies []byte, so values outlive the rows.
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out.Values = append(out.Values, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// InTransaction runs fn in a transaction on one connection.
func (b *Base) InTransaction(ctx context.Context, fn func(tx warehouse.Execer) error) error {
	return b.inTx(ctx, func(tx *sql.Tx) error { return fn(&txExecer{b: b, tx: tx}) })
}

func (b *Base) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := b.DB.BeginTx(ctx, nil)
	if err != nil {
		return b.WrapError(err, "BEGIN")
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
			return
		}
		if cErr := tx.Commit(); cErr != nil {
			err = fmt.Errorf("commit: %w", b.WrapError(cErr, "COMMIT"))
		}
	}()
	return fn(tx)
}

type txExecer struct {
	b  *Base
	tx *sql.Tx
}

func (t *txExecer) Dialect() warehouse.Dialect { return t.b.D }

func (t *txExecer) Exec(ctx context.Context, query string, args ...any) error {
	return t.b.exec(ctx, t.tx, query, args...)
}

func (t *txExecer) Query(ctx context.Context, query string, args ...any) (*warehouse.Rows, error) {
	return t.b.query(ctx, t.tx, warehouse.DefaultRowLimit, query, args...)
}

func (t *txExecer) QueryLimit(ctx context.Context, limit int, query string, args ...any) (*warehouse.Rows, error) {
	return t.b.query(ctx, t.tx, limit, query, args...)
}

// EnsureSchema creates a schema without a marker if it is missing.
func (b *Base) EnsureSchema(ctx context.Context, schema string) error {
	if err := warehouse.ValidateIdentifier(b.D, "schema", schema); err != nil {
		return fmt.Errorf("ensure schema: %w", err)
	}
	if err := b.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+b.D.QuoteIdent(schema)); err != nil {
		return fmt.Errorf("ensure schema %s: %w", b.D.QuoteIdent(schema), err)
	}
	return nil
}
