package postgres

import (
	"context"
	"fmt"
)

// SchemaSize sums the bytes of the schema's relations (with their indexes
// and TOAST) and the rows its statistics estimate; rows are -1 while a
// table was never analyzed (reltuples -1, PostgreSQL 14 and later).
func (w *Warehouse) SchemaSize(ctx context.Context, schema string) (rows, bytes int64, err error) {
	const query = `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint,
		CASE WHEN bool_or(c.reltuples < 0) THEN -1 ELSE coalesce(sum(c.reltuples), 0)::bigint END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'm', 'p')`
	if err := w.DB.QueryRowContext(ctx, query, schema).Scan(&bytes, &rows); err != nil {
		return -1, -1, fmt.Errorf("size of schema %s: %w", Dialect{}.QuoteIdent(schema), w.WrapError(err, query))
	}
	return rows, bytes, nil
}
