package postgres

import (
	"context"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// The catalog is read from pg_catalog rather than information_schema for two
// reasons: information_schema hides relations the role has no privilege on
// (a missing grant would look like a missing table), and its data_type drops
// type modifiers ("numeric" for numeric(10,2)). format_type names types the
// same way OutputColumns does, so dry-run can compare the two.

// relkinds: table, view, materialized view, partitioned table, foreign table.
const relkinds = "('r','v','m','p','f')"

func (w *Warehouse) Columns(ctx context.Context, r warehouse.Relation) ([]warehouse.Column, error) {
	const query = `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ` + relkinds + `
		  AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`
	rows, err := w.DB.QueryContext(ctx, query, r.Schema, r.Name)
	if err != nil {
		return nil, relError("columns of", r, w.WrapError(err, query))
	}
	defer rows.Close()
	var cols []warehouse.Column
	for rows.Next() {
		var c warehouse.Column
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, relError("columns of", r, w.WrapError(err, query))
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, relError("columns of", r, w.WrapError(err, query))
	}
	if len(cols) == 0 {
		// PostgreSQL allows tables without columns; tell them apart.
		ok, err := w.RelationExists(ctx, r)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, relError("columns of", r, warehouse.ErrRelationNotFound)
		}
	}
	return cols, nil
}

func (w *Warehouse) RelationExists(ctx context.Context, r warehouse.Relation) (bool, error) {
	const query = `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ` + relkinds + `)`
	var ok bool
	if err := w.DB.QueryRowContext(ctx, query, r.Schema, r.Name).Scan(&ok); err != nil {
		return false, relError("relation exists", r, w.WrapError(err, query))
	}
	return ok, nil
}
