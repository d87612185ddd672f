package duckdb

import (
	"context"
	"fmt"
)

// SchemaSize sums the rows of the schema's tables as DuckDB estimates them;
// DuckDB does not tell bytes per schema.
func (w *Warehouse) SchemaSize(ctx context.Context, schema string) (rows, bytes int64, err error) {
	const query = `SELECT coalesce(sum(estimated_size), 0)::BIGINT FROM duckdb_tables() WHERE schema_name = $1 AND database_name = current_database()`
	if err := w.DB.QueryRowContext(ctx, query, schema).Scan(&rows); err != nil {
		return -1, -1, fmt.Errorf("size of schema %s: %w", Dialect{}.QuoteIdent(schema), w.WrapError(err, query))
	}
	return rows, -1, nil
}
