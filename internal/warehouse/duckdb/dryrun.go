package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/warehouse"
	duckdbdriver "github.com/marcboeker/go-duckdb/v2"
)

// checkSelect makes sure query is exactly one SELECT before it is wrapped in
// EXPLAIN or DESCRIBE. This matters: the driver's context-aware prepare and
// query paths execute every statement but the last, so "select 1; drop ..."
// would run the drop. The plain driver Prepare refuses more than one
// statement and, for one, only parses and binds. Binder errors surface here
// with positions relative to the caller's SQL, not the wrapped text.
func (w *Warehouse) checkSelect(ctx context.Context, conn *sql.Conn, query string) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdbdriver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		st, err := c.Prepare(query)
		if err != nil {
			var de *duckdbdriver.Error
			if !errors.As(err, &de) && strings.Contains(err.Error(), "multi-statement") {
				return fmt.Errorf("%w, got several", warehouse.ErrNotSelect)
			}
			return w.WrapError(err, query)
		}
		defer st.Close()
		typ, err := st.(*duckdbdriver.Stmt).StatementType()
		if err != nil {
			return err
		}
		if typ != duckdbdriver.STATEMENT_TYPE_SELECT {
			return fmt.Errorf("%w, got another kind of statement", warehouse.ErrNotSelect)
		}
		return ctx.Err()
	})
}

func (w *Warehouse) dryRun(ctx context.Context, what, selectSQL string, fn func(context.Context, *sql.Conn) error) error {
	ctx, cancel := w.Deadline(ctx)
	defer cancel()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, w.WrapError(err, selectSQL))
	}
	defer conn.Close()
	if err := w.checkSelect(ctx, conn, selectSQL); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := fn(ctx, conn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Explain returns DuckDB's physical plan. EXPLAIN without ANALYZE plans only.
func (w *Warehouse) Explain(ctx context.Context, selectSQL string) (string, error) {
	var plan strings.Builder
	err := w.dryRun(ctx, "explain", selectSQL, func(ctx context.Context, conn *sql.Conn) error {
		query := "EXPLAIN " + selectSQL
		rows, err := conn.QueryContext(ctx, query)
		if err != nil {
			return w.WrapError(err, query)
		}
		defer rows.Close()
		for rows.Next() {
			var key, value string
			if err := rows.Scan(&key, &value); err != nil {
				return err
			}
			plan.WriteString(value)
		}
		return rows.Err()
	})
	return plan.String(), err
}

// OutputColumns uses DESCRIBE <query>, which binds the query and reports its
// result types without executing it.
func (w *Warehouse) OutputColumns(ctx context.Context, selectSQL string) ([]warehouse.Column, error) {
	var cols []warehouse.Column
	err := w.dryRun(ctx, "output columns", selectSQL, func(ctx context.Context, conn *sql.Conn) error {
		query := "DESCRIBE " + selectSQL
		rows, err := conn.QueryContext(ctx, query)
		if err != nil {
			return w.WrapError(err, query)
		}
		defer rows.Close()
		for rows.Next() {
			var name, typ string
			var null, key, def, extra sql.NullString
			if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
				return err
			}
			cols = append(cols, warehouse.Column{Name: name, Type: strings.ToLower(typ)})
		}
		return rows.Err()
	})
	return cols, err
}
