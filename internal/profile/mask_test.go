package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestSensitiveColumns: the values of sensitive columns never appear in a
// profile, its JSON or its flags; counts stay real and the rules still
// judge the real values.
func TestSensitiveColumns(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			schema := warehousetest.Schema(t, w)
			d := w.Dialect()
			mk := func(name, extra string) warehouse.Relation {
				rel := warehouse.Relation{Schema: schema, Name: name}
				q := "CREATE TABLE " + d.QuoteRelation(rel) + " AS SELECT i AS id, 'user' || CAST(i AS text) || '@example.com' AS email," +
					" CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'silver' END AS tier, CAST(1000 + i AS integer) AS salary FROM generate_series(1, 30) g(i)" + extra
				if err := w.Exec(testContext(t), q); err != nil {
					t.Fatal(err)
				}
				return rel
			}
			base := mk("base", "")
			head := mk("head", " UNION ALL SELECT 31, 'boss@secret.example', 'platinum', 99999")
			sensitive := func(c string) bool { return c != "id" }
			mask := func(v any) string {
				h := sha256.Sum256([]byte("key:" + fmt.Sprint(v)))
				return "#" + hex.EncodeToString(h[:3])
			}
			opts := Options{Sensitive: sensitive, Mask: mask}
			pb, err := Run(testContext(t), w, base, opts)
			if err != nil {
				t.Fatal(err)
			}
			ph, err := Run(testContext(t), w, head, opts)
			if err != nil {
				t.Fatal(err)
			}
			diff, err := Compare("head", pb, ph, DefaultRules())
			if err != nil {
				t.Fatal(err)
			}
			out := jsonText(t, diff)
			for _, secret := range []string{"@example.com", "boss@secret", "gold", "silver", "platinum", "99999", "1001", "1030"} {
				if strings.Contains(out, secret) {
					t.Errorf("%q leaked:\n%s", secret, out)
				}
			}
			tier, _ := ph.Column("tier")
			if !tier.Masked || tier.Distinct != 3 || len(tier.Values) != 3 || tier.Values[0].Count != 20 || tier.Values[0].Value != mask("silver") || tier.Mean != nil {
				t.Errorf("tier %+v", tier)
			}
			salary, _ := ph.Column("salary")
			if salary.Max != mask(int64(99999)) || salary.Mean != nil || salary.Nulls != 0 {
				t.Errorf("salary %+v", salary)
			}
			want := map[string]string{
				"tier":   "new value: " + mask("platinum") + " (1 row)",
				"salary": "maximum " + mask(int64(99999)) + " is above production's " + mask(int64(1030)),
			}
			for _, fl := range diff.Flags {
				if w, ok := want[fl.Column]; ok && fl.Message == w {
					delete(want, fl.Column)
				}
			}
			if len(want) > 0 {
				t.Errorf("flags %+v lack %v", diff.Flags, want)
			}
		})
	}
}
