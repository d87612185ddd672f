package warehouse_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestStatementTimeout: a statement running past the statement timeout is
// stopped, with a message that says so, on either engine, in a transaction
// too; the warehouse goes on answering.
func TestStatementTimeout(t *testing.T) {
	for _, c := range []struct {
		name string
		dsn  func(t *testing.T) string
		long string // runs for far longer than the timeout
	}{
		{"duckdb", func(t *testing.T) string {
			w, dsn := warehousetest.DuckDBFile(t)
			must(t, w.Close()) // one process opens a DuckDB file once
			return dsn
		}, "select sum(a.range * b.range) from range(100000000) a, range(100000000) b"},
		{"postgres", func(t *testing.T) string {
			_, dsn := warehousetest.PostgresDatabase(t)
			return dsn
		}, "select 1 as slept from pg_sleep(60)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := warehouse.OpenWith(ctxT(t), c.dsn(t), warehouse.Options{StatementTimeout: time.Second, Untrusted: true})
			must(t, err)
			defer w.Close()
			ctx := ctxT(t)
			for name, run := range map[string]func() error{
				"exec":  func() error { return w.Exec(ctx, "create table slow as "+c.long) },
				"query": func() error { _, err := w.Query(ctx, c.long); return err },
				"transaction": func() error {
					return w.InTransaction(ctx, func(tx warehouse.Execer) error { return tx.Exec(ctx, "create table slow as "+c.long) })
				},
			} {
				err := run()
				if !errors.Is(err, warehouse.ErrStatementTimeout) || !strings.Contains(err.Error(), "stopped after 1s, the statement timeout") {
					t.Errorf("%s: err = %v, want the statement stopped at the timeout", name, err)
				}
			}
			if rows, err := w.Query(ctx, "select 1"); err != nil || len(rows.Values) != 1 {
				t.Errorf("after the timeouts: %v %v", rows, err)
			}
		})
	}
}
