package duckdb

import (
	"context"
	"database/sql"

	"github.com/dataops-dev/dataops/internal/warehouse/internal/sqlbase"
)

// DuckDB 1.4 cannot COMMENT ON SCHEMA, so markers live in a registry table,
// dataops_meta.environments. It has no primary key on purpose: DuckDB checks
// unique constraints eagerly and rejects deleting and re-inserting one key in
// a single transaction.
//
// A registry row outlives a schema dropped by hand. So that such a stale row
// can never make dataops adopt (and later drop) a same-named schema someone
// creates afterwards, each environment schema also holds a sentinel sequence
// created with it; a schema is ours only with both the sentinel and the row.
// A sequence is the lightest catalog object: it is not a table, so it does
// not show up among the environment's relations, and CASCADE drops it.
const (
	metaSchema = "dataops_meta"
	metaTable  = "environments"
	sentinel   = "dataops_environment"
)

// registry is the sqlbase.MarkerStore for DuckDB. Schema names compare
// case-insensitively because DuckDB resolves identifiers that way.
type registry struct{ w *sqlbase.Base }

func (r registry) table() string {
	return r.w.D.QuoteIdent(metaSchema) + "." + r.w.D.QuoteIdent(metaTable)
}

// Lock is a no-op: a DuckDB file has one writing process, and concurrent
// transactions in it fail with a conflict error rather than interleave.
func (registry) Lock(context.Context, *sql.Tx, string) error { return nil }

func (r registry) tableExists(ctx context.Context, q sqlbase.Querier) (bool, error) {
	const query = `SELECT count(*) FROM information_schema.tables
		WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2`
	var n int
	if err := q.QueryRowContext(ctx, query, metaSchema, metaTable).Scan(&n); err != nil {
		return false, r.w.WrapError(err, query)
	}
	return n > 0, nil
}

func (r registry) Read(ctx context.Context, tx *sql.Tx, schema string) (string, bool, error) {
	const exists = `SELECT count(*) FROM information_schema.schemata
		WHERE catalog_name = current_database() AND lower(schema_name) = lower($1)`
	var n int
	if err := tx.QueryRowContext(ctx, exists, schema).Scan(&n); err != nil {
		return "", false, r.w.WrapError(err, exists)
	}
	if n == 0 {
		return "", false, nil
	}
	const hasSentinel = `SELECT count(*) FROM duckdb_sequences()
		WHERE database_name = current_database() AND lower(schema_name) = lower($1) AND sequence_name = $2`
	if err := tx.QueryRowContext(ctx, hasSentinel, schema, sentinel).Scan(&n); err != nil {
		return "", false, r.w.WrapError(err, hasSentinel)
	}
	if n == 0 {
		return "", true, nil
	}
	ok, err := r.tableExists(ctx, tx)
	if err != nil || !ok {
		return "", true, err
	}
	query := "SELECT marker FROM " + r.table() + " WHERE lower(schema_name) = lower($1)"
	var text string
	switch err := tx.QueryRowContext(ctx, query, schema).Scan(&text); err {
	case nil, sql.ErrNoRows:
		return text, true, nil
	default:
		return "", true, r.w.WrapError(err, query)
	}
}

func (r registry) Write(ctx context.Context, tx *sql.Tx, schema, text string) error {
	for _, stmt := range []string{
		"CREATE SCHEMA IF NOT EXISTS " + r.w.D.QuoteIdent(metaSchema),
		"CREATE TABLE IF NOT EXISTS " + r.table() + " (schema_name VARCHAR NOT NULL, marker VARCHAR NOT NULL)",
		"CREATE SEQUENCE IF NOT EXISTS " + r.w.D.QuoteIdent(schema) + "." + r.w.D.QuoteIdent(sentinel),
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return r.w.WrapError(err, stmt)
		}
	}
	if err := r.Forget(ctx, tx, schema); err != nil {
		return err
	}
	insert := "INSERT INTO " + r.table() + " (schema_name, marker) VALUES ($1, $2)"
	if _, err := tx.ExecContext(ctx, insert, schema, text); err != nil {
		return r.w.WrapError(err, insert)
	}
	return nil
}

func (r registry) Forget(ctx context.Context, tx *sql.Tx, schema string) error {
	ok, err := r.tableExists(ctx, tx)
	if err != nil || !ok {
		return err
	}
	del := "DELETE FROM " + r.table() + " WHERE lower(schema_name) = lower($1)"
	if _, err := tx.ExecContext(ctx, del, schema); err != nil {
		return r.w.WrapError(err, del)
	}
	return nil
}

func (r registry) List(ctx context.Context, q sqlbase.Querier) (map[string]string, error) {
	ok, err := r.tableExists(ctx, q)
	if err != nil || !ok {
		return nil, err
	}
	// The join with the sentinels drops entries whose schema was dropped by hand.
	query := "SELECT s.schema_name, e.marker FROM " + r.table() + ` e
		JOIN duckdb_sequences() s
		  ON s.database_name = current_database() AND lower(s.schema_name) = lower(e.schema_name) AND s.sequence_name = $1`
	rows, err := q.QueryContext(ctx, query, sentinel)
	if err != nil {
		return nil, r.w.WrapError(err, query)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var schema, text string
		if err := rows.Scan(&schema, &text); err != nil {
			return nil, r.w.WrapError(err, query)
		}
		out[schema] = text
	}
	if err := rows.Err(); err != nil {
		return nil, r.w.WrapError(err, query)
	}
	return out, nil
}
