package duckdb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/duckdb"
)

// BenchmarkLockedDownStatement is the cost of the lockdown per statement
// (the check, a connection per statement), against the same statement on
// a DuckDB opened for the user's own code as the baseline.
func BenchmarkLockedDownStatement(b *testing.B) {
	for _, c := range []struct {
		name string
		opts warehouse.Options
	}{{"trusted", warehouse.Options{}}, {"untrusted", warehouse.Options{Untrusted: true}}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			w, err := duckdb.OpenWith(ctx, "duckdb://"+filepath.Join(b.TempDir(), "w.duckdb"), c.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			if err := w.Exec(ctx, "create table t as select range as id from range(1000)"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := w.Query(ctx, "select count(*) from t where id % 7 = 3"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
