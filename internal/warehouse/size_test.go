package warehouse_test

import (
	"fmt"
	"testing"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestSchemaSize: each engine tells the size of a schema it knows: the
// rows of its tables (PostgreSQL once analyzed), and on PostgreSQL the
// bytes; an empty schema is empty, and a view adds no rows.
func TestSchemaSize(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w warehouse.Warehouse) {
		ctx := ctxT(t)
		sizer, ok := w.(warehouse.Sizer)
		if !ok {
			t.Fatalf("%T does not tell sizes", w)
		}
		d := w.Dialect()
		schema := "size_test"
		warehousetest.DropSchemaAtCleanup(t, w, schema)
		must(t, w.EnsureSchema(ctx, schema))
		rows, bytes, err := sizer.SchemaSize(ctx, schema)
		if err != nil || rows != 0 || (bytes != 0 && bytes != -1) {
			t.Fatalf("empty schema: %d rows, %d bytes, %v", rows, bytes, err)
		}
		a, b := d.QuoteRelation(warehouse.Relation{Schema: schema, Name: "a"}), d.QuoteRelation(warehouse.Relation{Schema: schema, Name: "b"})
		must(t, w.Exec(ctx, fmt.Sprintf("create table %s as select * from generate_series(1, 1000) as t(x)", a)))
		must(t, w.Exec(ctx, fmt.Sprintf("create table %s as select * from generate_series(1, 234) as t(x)", b)))
		must(t, w.Exec(ctx, fmt.Sprintf("create view %s as select * from %s", d.QuoteRelation(warehouse.Relation{Schema: schema, Name: "v"}), a)))
		if d.Name() == "postgres" {
			must(t, w.Exec(ctx, fmt.Sprintf("analyze %s", a)))
			must(t, w.Exec(ctx, fmt.Sprintf("analyze %s", b)))
		}
		rows, bytes, err = sizer.SchemaSize(ctx, schema)
		if err != nil || rows != 1234 {
			t.Fatalf("two tables: %d rows, %d bytes, %v", rows, bytes, err)
		}
		switch d.Name() {
		case "postgres":
			if bytes < 2*8192 {
				t.Errorf("%d bytes for two tables", bytes)
			}
		default:
			if bytes != -1 {
				t.Errorf("DuckDB told %d bytes", bytes)
			}
		}
	})
}
