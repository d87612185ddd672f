package build

import (
	"context"
	"errors"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// CompileWarehouse gives a project's compile-time queries (run_query,
// statement blocks, adapter.get_columns_in_relation) a warehouse. Queries
// run read-only where the engine can enforce it (PostgreSQL); reading is
// all a compile should do.
func CompileWarehouse(w warehouse.Warehouse) project.Warehouse { return compileWarehouse{w} }

type compileWarehouse struct{ w warehouse.Warehouse }

func (c compileWarehouse) Query(ctx context.Context, sql string) ([]string, [][]any, error) {
	var rows *warehouse.Rows
	run := func(x warehouse.Execer) error {
		var err error
		rows, err = x.Query(ctx, sql)
		return err
	}
	var err error
	if c.w.Dialect().Name() == "postgres" {
		err = c.w.InTransaction(ctx, func(tx warehouse.Execer) error {
			if err := tx.Exec(ctx, "set transaction read only"); err != nil {
				return err
			}
			return run(tx)
		})
	} else {
		err = run(c.w)
	}
	if err != nil {
		return nil, nil, err
	}
	return rows.Columns, rows.Values, nil
}

func (c compileWarehouse) Columns(ctx context.Context, rel project.Relation) ([]project.ColumnInfo, bool, error) {
	cols, err := c.w.Columns(ctx, warehouse.Relation{Schema: rel.Schema, Name: rel.Name})
	if errors.Is(err, warehouse.ErrRelationNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]project.ColumnInfo, len(cols))
	for i, col := range cols {
		out[i] = project.ColumnInfo{Name: col.Name, Type: col.Type}
	}
	return out, true, nil
}
