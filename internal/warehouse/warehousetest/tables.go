package warehousetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Tables lists the tables and views of a schema, sorted and
// comma-separated: what an environment holds, in one string to compare.
func Tables(t testing.TB, w warehouse.Warehouse, schema string) string {
	t.Helper()
	rows, err := w.Query(context.Background(), "select table_name from information_schema.tables where table_schema = "+w.Dialect().Placeholder(1), schema)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows.Values {
		names = append(names, fmt.Sprint(r[0]))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
