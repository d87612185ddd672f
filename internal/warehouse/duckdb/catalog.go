package duckdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Names compare case-insensitively: DuckDB resolves "Orders" and orders to
// the same table even when quoted, so a lookup must too.

func (w *Warehouse) Columns(ctx context.Context, r warehouse.Relation) ([]warehouse.Column, error) {
	const query = `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_catalog = current_database() AND lower(table_schema) = lower($1) AND lower(table_name) = lower($2)
		ORDER BY ordinal_position`
	rel := w.D.QuoteRelation(r)
	ctx, cancel := w.Deadline(ctx)
	defer cancel()
	rows, err := w.DB.QueryContext(ctx, query, r.Schema, r.Name)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", rel, w.WrapError(err, query))
	}
	defer rows.Close()
	var cols []warehouse.Column
	for rows.Next() {
		var c warehouse.Column
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", rel, w.WrapError(err, query))
		}
		c.Type = strings.ToLower(c.Type)
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", rel, w.WrapError(err, query))
	}
	if len(cols) == 0 { // DuckDB tables always have a column
		return nil, fmt.Errorf("columns of %s: %w", rel, warehouse.ErrRelationNotFound)
	}
	return cols, nil
}

func (w *Warehouse) RelationExists(ctx context.Context, r warehouse.Relation) (bool, error) {
	const query = `SELECT count(*) FROM information_schema.tables
		WHERE table_catalog = current_database() AND lower(table_schema) = lower($1) AND lower(table_name) = lower($2)`
	var n int
	ctx, cancel := w.Deadline(ctx)
	defer cancel()
	if err := w.DB.QueryRowContext(ctx, query, r.Schema, r.Name).Scan(&n); err != nil {
		return false, fmt.Errorf("relation %s exists: %w", w.D.QuoteRelation(r), w.WrapError(err, query))
	}
	return n > 0, nil
}
