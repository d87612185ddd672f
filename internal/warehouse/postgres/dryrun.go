package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// describe prepares query as the unnamed statement and returns its result
// fields. Preparing parses, analyzes and plans nothing is executed, and the
// extended protocol refuses several statements in one string, so this is
// also the gate that keeps "select 1; drop ..." out of EXPLAIN.
func (w *Warehouse) describe(ctx context.Context, conn *sql.Conn, query string) (fields []pgconn.FieldDescription, pc *pgx.Conn, err error) {
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pc = sc.Conn()
		sd, err := pc.PgConn().Prepare(ctx, "", query, nil)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "42601" && strings.Contains(pe.Message, "multiple commands") {
				return fmt.Errorf("%w, got several", warehouse.ErrNotSelect)
			}
			return w.WrapError(err, query)
		}
		if len(sd.Fields) == 0 {
			return fmt.Errorf("%w, got a statement that returns no rows", warehouse.ErrNotSelect)
		}
		fields = sd.Fields
		return nil
	})
	return fields, pc, err
}

func (w *Warehouse) Explain(ctx context.Context, selectSQL string) (string, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("explain: %w", w.WrapError(err, selectSQL))
	}
	defer conn.Close()
	if _, _, err := w.describe(ctx, conn, selectSQL); err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	query := "EXPLAIN " + selectSQL
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return "", fmt.Errorf("explain: %w", w.WrapError(err, query))
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", fmt.Errorf("explain: %w", err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("explain: %w", w.WrapError(err, query))
	}
	return strings.Join(lines, "\n") + "\n", nil
}

// OutputColumns describes the statement and names each result type with
// format_type, which includes modifiers such as numeric(10,2).
func (w *Warehouse) OutputColumns(ctx context.Context, selectSQL string) ([]warehouse.Column, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("output columns: %w", w.WrapError(err, selectSQL))
	}
	defer conn.Close()
	fields, _, err := w.describe(ctx, conn, selectSQL)
	if err != nil {
		return nil, fmt.Errorf("output columns: %w", err)
	}
	oids := make([]uint32, len(fields))
	mods := make([]int32, len(fields))
	for i, f := range fields {
		oids[i], mods[i] = f.DataTypeOID, f.TypeModifier
	}
	const query = `SELECT format_type(t.oid, t.mod)
		FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS t(oid, mod, i) ORDER BY t.i`
	rows, err := conn.QueryContext(ctx, query, oids, mods)
	if err != nil {
		return nil, fmt.Errorf("output columns: %w", w.WrapError(err, query))
	}
	defer rows.Close()
	cols := make([]warehouse.Column, 0, len(fields))
	for i := 0; rows.Next(); i++ {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			return nil, fmt.Errorf("output columns: %w", err)
		}
		cols = append(cols, warehouse.Column{Name: fields[i].Name, Type: strings.ToLower(typ)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("output columns: %w", w.WrapError(err, query))
	}
	return cols, nil
}
