package mask_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/warehouse"
	_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestProfileMasks: a run's masks plug into internal/profile, which then
// shows a sensitive column's top values, minimum and maximum as the same
// masks the run's diff samples show.
func TestProfileMasks(t *testing.T) {
	w := warehousetest.DuckDB(t)
	schema := warehousetest.Schema(t, w)
	rel := warehouse.Relation{Schema: schema, Name: "people"}
	if err := w.Exec(context.Background(), "create table "+w.Dialect().QuoteRelation(rel)+
		" as select * from (values (1, 'ann@x.test', 'gold'), (2, 'bob@x.test', 'gold'), (3, 'ann@x.test', 'silver')) t(id, email, tier)"); err != nil {
		t.Fatal(err)
	}
	set := mask.New(config.Mask{Defaults: true})
	cols := set.Node("")
	p, err := profile.Run(context.Background(), w, rel, profile.Options{Sensitive: cols.Sensitive, Mask: cols.Text})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(p)
	if strings.Contains(string(data), "@x.test") || !strings.Contains(string(data), `"gold"`) {
		t.Errorf("profile %s", data)
	}
	email, _ := p.Column("email")
	if !email.Masked || email.Distinct != 2 || email.Min != set.Masker.Mask("ann@x.test") {
		t.Errorf("email %+v", email)
	}
}
