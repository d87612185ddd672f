package datadiff

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// maskSetup: customers keyed by their email, with a nickname the test
// marks sensitive and a score that is not. Row a@x stays, b@x changes its
// nickname and score, c@x is removed, d@x added; e@x and f@x share a key
// on the head side.
var maskSetup = []string{
	"create table {s}.base (email varchar, nick varchar, score integer)",
	"create table {s}.head (email varchar, nick varchar, score integer)",
	"insert into {s}.base values ('a@x.test', 'ann', 1), ('b@x.test', 'bob', 2), ('c@x.test', 'cy', 3)",
	"insert into {s}.head values ('a@x.test', 'ann', 1), ('b@x.test', 'bobby', 5), ('d@x.test', 'di', 4), ('e@x.test', 'eve', 6), ('e@x.test', 'eve', 7)",
}

var maskSecrets = []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "bob", "bobby", "cy", "di", "eve"}

// TestDiffMasksSamples: every sample of a sensitive column, keys
// included, is a mask; the counts are those of the real values; equal
// values give equal masks; the rest is shown as it is.
func TestDiffMasksSamples(t *testing.T) {
	check := func(t *testing.T, res *Result, k *mask.Masker) {
		t.Helper()
		if got := countsOf(res); got != (counts{onlyBase: 1, onlyHead: 1, changed: 1, unchanged: 1}) {
			t.Errorf("counts %+v", got)
		}
		if res.Head.DuplicateKeys != 1 {
			t.Errorf("duplicate keys %d", res.Head.DuplicateKeys)
		}
		data, _ := json.Marshal(res)
		for _, s := range maskSecrets {
			if strings.Contains(string(data), `"`+s+`"`) {
				t.Errorf("the result shows %q: %s", s, data)
			}
		}
		if len(res.Samples.Changed) != 1 {
			t.Fatalf("changed samples %+v", res.Samples.Changed)
		}
		ch := res.Samples.Changed[0]
		if ch.Key[0] != k.Mask("b@x.test") || ch.Changes["nick"] != [2]any{k.Mask("bob"), k.Mask("bobby")} {
			t.Errorf("changed sample %+v", ch)
		}
		if score := ch.Changes["score"]; fmt.Sprint(score[0]) != "2" || fmt.Sprint(score[1]) != "5" {
			t.Errorf("a column that is not sensitive is masked: %v", score)
		}
		if len(res.Samples.OnlyInBase) != 1 || res.Samples.OnlyInBase[0].Key[0] != k.Mask("c@x.test") {
			t.Errorf("removed sample %+v", res.Samples.OnlyInBase)
		}
		if len(res.Head.DuplicateSample) != 1 || res.Head.DuplicateSample[0][0] != k.Mask("e@x.test") {
			t.Errorf("duplicate sample %+v", res.Head.DuplicateSample)
		}
	}
	policy := mask.NewPolicy(configMask())
	sensitive := func(col string) bool { return col == "nick" || policy.Named(col) }
	for _, e := range joinEngines {
		t.Run("join/"+e.name, func(t *testing.T) {
			w := e.open(t)
			base, head := maskTables(t, w)
			k := mask.NewMasker()
			res, err := Join(testContext(t), w, Options{Base: base, Head: head, Key: []string{"email"}, Mask: mask.NewColumns(sensitive, k)})
			if err != nil {
				t.Fatal(err)
			}
			check(t, res, k)
		})
	}
	t.Run("hashdiff/postgres-duckdb", func(t *testing.T) {
		pg, du := warehousetest.Postgres(t), warehousetest.DuckDB(t)
		base, _ := maskTables(t, pg)
		_, head := maskTables(t, du)
		k := mask.NewMasker()
		res, err := HashDiff(testContext(t), pg, du, Options{Base: base, Head: head, Key: []string{"email"}, Mask: mask.NewColumns(sensitive, k)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, res, k)
	})
	t.Run("no mask given: the default patterns", func(t *testing.T) {
		w := warehousetest.DuckDB(t)
		base, head := maskTables(t, w)
		res, err := Join(testContext(t), w, Options{Base: base, Head: head, Key: []string{"email"}})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(res.Samples)
		if strings.Contains(string(data), "@x.test") || !strings.Contains(string(data), `"bobby"`) {
			t.Errorf("samples %s", data)
		}
	})
}

func maskTables(t *testing.T, w warehouse.Warehouse) (base, head warehouse.Relation) {
	t.Helper()
	schema := warehousetest.Schema(t, w)
	for _, stmt := range maskSetup {
		if err := w.Exec(testContext(t), strings.ReplaceAll(stmt, "{s}", w.Dialect().QuoteIdent(schema))); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return warehouse.Relation{Schema: schema, Name: "base"}, warehouse.Relation{Schema: schema, Name: "head"}
}

func configMask() config.Mask { return config.Mask{Defaults: true} }
