package postgres

import (
	"context"
	"database/sql"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/internal/sqlbase"
)

// comments is the sqlbase.MarkerStore for PostgreSQL: the marker is the
// schema's comment, so it goes away with the schema and needs no table.
type comments struct{ w *sqlbase.Base }

// lockNamespace keeps dataops' advisory locks apart from the application's
// ('data' in ASCII).
const lockNamespace = 0x64617461

// Lock takes a transaction-scoped advisory lock on the schema name, so two
// workers creating or dropping one environment do not race between the
// marker check and the DDL.
func (c comments) Lock(ctx context.Context, tx *sql.Tx, schema string) error {
	const query = "SELECT pg_advisory_xact_lock($1, hashtext($2))"
	if _, err := tx.ExecContext(ctx, query, lockNamespace, schema); err != nil {
		return c.w.WrapError(err, query)
	}
	return nil
}

func (c comments) Read(ctx context.Context, tx *sql.Tx, schema string) (string, bool, error) {
	const query = "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1"
	var text sql.NullString
	switch err := tx.QueryRowContext(ctx, query, schema).Scan(&text); err {
	case nil:
		return text.String, true, nil
	case sql.ErrNoRows:
		return "", false, nil
	default:
		return "", false, c.w.WrapError(err, query)
	}
}

// Write sets the schema comment. COMMENT takes no bind parameters, so the
// server quotes the value: the text still travels as a parameter and never
// through client-side string escaping.
func (c comments) Write(ctx context.Context, tx *sql.Tx, schema, text string) error {
	const quote = "SELECT quote_literal($1::text)"
	var literal string
	if err := tx.QueryRowContext(ctx, quote, text).Scan(&literal); err != nil {
		return c.w.WrapError(err, quote)
	}
	stmt := "COMMENT ON SCHEMA " + c.w.D.QuoteIdent(schema) + " IS " + literal
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return c.w.WrapError(err, stmt)
	}
	return nil
}

// Forget is a no-op: the comment was dropped with the schema.
func (comments) Forget(context.Context, *sql.Tx, string) error { return nil }

func (c comments) List(ctx context.Context, q sqlbase.Querier) (map[string]string, error) {
	const query = `SELECT n.nspname, d.description
		FROM pg_namespace n
		JOIN pg_description d ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0
		WHERE left(d.description, length($1)) = $1`
	rows, err := q.QueryContext(ctx, query, warehouse.MarkerPrefix)
	if err != nil {
		return nil, c.w.WrapError(err, query)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var schema, text string
		if err := rows.Scan(&schema, &text); err != nil {
			return nil, c.w.WrapError(err, query)
		}
		out[schema] = text
	}
	if err := rows.Err(); err != nil {
		return nil, c.w.WrapError(err, query)
	}
	return out, nil
}
