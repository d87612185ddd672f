package profile

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func prof(rows int64, cols ...Column) *Profile {
	return &Profile{Relation: warehouse.Relation{Schema: "s", Name: "t"}, Exists: true, Rows: rows, Columns: cols}
}

func f(x float64) *float64 { return &x }

// num is a number column of a 1000-row relation.
func num(name string, nulls int64, minV, maxV any, mean, sd float64) Column {
	return Column{Name: name, Type: "integer", Kind: KindNumber, Nulls: nulls, NullPercent: float64(nulls) / 10, Distinct: 100,
		Min: minV, Max: maxV, Mean: f(mean), StdDev: f(sd)}
}

func text(name string, values ...ValueCount) Column {
	c := Column{Name: name, Type: "text", Kind: KindText, Distinct: int64(len(values)), Values: values}
	if values == nil {
		c.Distinct = 50
	}
	return c
}

func vc(v any, n int64) ValueCount { return ValueCount{Value: v, Count: n} }

func TestCompareRules(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	with := func(c Column, edit func(*Column)) Column { edit(&c); return c }
	defaults := DefaultRules()
	tests := []struct {
		name       string
		base, head *Profile
		rules      *Rules   // nil: the defaults
		want       []string // "flag column: message fragment"
	}{
		{name: "nothing changed", base: prof(1000, num("a", 0, int64(1), int64(9), 5, 2)), head: prof(1000, num("a", 0, int64(1), int64(9), 5, 2))},
		{name: "rows down 15%", base: prof(1000), head: prof(850), want: []string{"row_count: rows 1,000 → 850 (-15.0%, limit 10%)"}},
		{name: "rows down 5%", base: prof(1000), head: prof(950)},
		{name: "rows up exactly at the limit", base: prof(1000), head: prof(1100)},
		{name: "rows from none", base: prof(0), head: prof(10), want: []string{"row_count: rows 0 → 10 (from none, limit 10%)"}},
		{name: "row rule off", base: prof(1000), head: prof(10), rules: &Rules{}},
		{name: "more NULLs", base: prof(1000, num("a", 0, int64(1), int64(9), 5, 2)), head: prof(1000, num("a", 75, int64(1), int64(9), 5, 2)),
			want: []string{"null_share a: NULLs 0% → 7.5% (+7.5 points, limit 5)"}},
		{name: "a few more NULLs", base: prof(1000, num("a", 50, int64(1), int64(9), 5, 2)), head: prof(1000, num("a", 80, int64(1), int64(9), 5, 2))},
		{name: "fewer NULLs", base: prof(1000, num("a", 500, int64(1), int64(9), 5, 2)), head: prof(1000, num("a", 0, int64(1), int64(9), 5, 2))},
		{name: "a column's own null share", base: prof(1000, num("a", 0, int64(1), int64(9), 5, 2)), head: prof(1000, num("a", 75, int64(1), int64(9), 5, 2)),
			rules: ptr(withColumn(defaults, config.ColumnRules{Model: "m", Column: "a", NullShare: ptr(float64(10))}))},
		{name: "another model's rule", base: prof(1000, num("a", 0, int64(1), int64(9), 5, 2)), head: prof(1000, num("a", 75, int64(1), int64(9), 5, 2)),
			rules: ptr(withColumn(defaults, config.ColumnRules{Model: "other", Column: "zz", NullShare: ptr(float64(10))})), want: []string{"null_share a:"}},
		{name: "ignored", base: prof(1000, num("a", 0, int64(1), int64(9), 5, 2)), head: prof(1000, num("a", 75, int64(1), int64(90), 5, 2)),
			rules: ptr(withColumn(defaults, config.ColumnRules{Model: "m", Column: "A", Ignore: []string{"null_share", "out_of_range"}}))},
		{name: "distinct down 30%", base: prof(1000, num("a", 0, int64(1), int64(9), 5, 2)),
			head: prof(1000, with(num("a", 0, int64(1), int64(9), 5, 2), func(c *Column) { c.Distinct, c.Estimated = 70, true })),
			want: []string{"distinct_count a: distinct values 100 → ≈70 (-30.0%, limit 20%)"}},
		{name: "distinct down 10%", base: prof(1000, num("a", 0, int64(1), int64(9), 5, 2)),
			head: prof(1000, with(num("a", 0, int64(1), int64(9), 5, 2), func(c *Column) { c.Distinct = 90 }))},
		{name: "mean moved 1.5 sd", base: prof(1000, num("a", 0, int64(1), int64(20), 10, 2)), head: prof(1000, num("a", 0, int64(1), int64(20), 13, 2)),
			want: []string{"mean_shift a: mean 10 → 13: moved by 1.5 standard deviations (limit 1)"}},
		{name: "mean moved 0.5 sd", base: prof(1000, num("a", 0, int64(1), int64(20), 10, 2)), head: prof(1000, num("a", 0, int64(1), int64(20), 11, 2))},
		{name: "a constant that changed", base: prof(1000, num("a", 0, int64(3), int64(3), 3, 0)), head: prof(1000, num("a", 0, int64(3), int64(3), 3.5, 0)),
			want: []string{"mean_shift a: mean 3 → 3.5: production's values are all equal"}},
		{name: "a constant summed in another order", base: prof(1000, num("a", 0, 0.1, 0.1, 0.1, 0)), head: prof(1000, num("a", 0, 0.1, 0.1, 0.1+1e-17, 1e-18))},
		{name: "a column's own mean shift", base: prof(1000, num("a", 0, int64(1), int64(20), 10, 2)), head: prof(1000, num("a", 0, int64(1), int64(20), 13, 2)),
			rules: ptr(withColumn(defaults, config.ColumnRules{Model: "m", Column: "a", MeanShift: ptr(float64(2))}))},
		{name: "above the maximum", base: prof(1000, num("a", 0, int64(1), int64(120), 10, 50)), head: prof(1000, num("a", 0, int64(1), int64(9999), 10, 50)),
			want: []string{"out_of_range a: maximum 9999 is above production's 120"}},
		{name: "below the minimum", base: prof(1000, num("a", 0, int64(1), int64(120), 10, 50)), head: prof(1000, num("a", 0, int64(-5), int64(120), 10, 50)),
			want: []string{"out_of_range a: minimum -5 is below production's 1"}},
		{name: "decimals by value", base: prof(1000, num("a", 0, "1.50", "120.50", 10, 50)), head: prof(1000, num("a", 0, "1.5", "99.00", 10, 50))},
		{name: "decimal above", base: prof(1000, num("a", 0, "1.50", "120.50", 10, 50)), head: prof(1000, num("a", 0, "1.50", "120.51", 10, 50)),
			want: []string{"out_of_range a: maximum 120.51 is above production's 120.50"}},
		{name: "NaN appears", base: prof(1000, num("a", 0, 0.5, 3.5, 1, 1)), head: prof(1000, num("a", 0, 0.5, nanF(), 1, 1)),
			want: []string{"out_of_range a: maximum NaN is above production's 3.5"}},
		{name: "a later date", base: prof(1000, Column{Name: "d", Kind: KindTime, Type: "date", Min: day(1), Max: day(5)}),
			head: prof(1000, Column{Name: "d", Kind: KindTime, Type: "date", Min: day(1), Max: day(9)}),
			want: []string{"out_of_range d: maximum 2024-01-09 is above production's 2024-01-05"}},
		{name: "text has no range", base: prof(1000, Column{Name: "s", Kind: KindText, Type: "text", Min: "a", Max: "b"}),
			head: prof(1000, Column{Name: "s", Kind: KindText, Type: "text", Min: "a", Max: "z"})},
		{name: "a new status", base: prof(1000, text("status", vc("completed", 900), vc("returned", 100))),
			head: prof(1000, text("status", vc("completed", 890), vc("returned", 100), vc("lost", 10))),
			want: []string{"new_value status: new value: lost (10 rows)"}},
		{name: "a status gone", base: prof(1000, text("status", vc("completed", 900), vc("returned", 100))), head: prof(1000, text("status", vc("completed", 1000)))},
		{name: "many values in production", base: prof(1000, text("name")), head: prof(1000, text("name", vc("x", 1000))),
			want: []string{"distinct_count name: distinct values 50 → 1 (-98.0%, limit 20%)"}},
		{name: "many values here", base: prof(1000, text("status", vc("a", 500), vc("b", 500))), head: prof(1000, text("status")),
			want: []string{"new_value status: 50 distinct values where production has 2"}},
		{name: "true appears", base: prof(1000, Column{Name: "ok", Kind: KindBoolean, Type: "boolean", Distinct: 1, Values: []ValueCount{vc(false, 1000)}}),
			head: prof(1000, Column{Name: "ok", Kind: KindBoolean, Type: "boolean", Distinct: 2, Values: []ValueCount{vc(false, 999), vc(true, 1)}}),
			want: []string{"new_value ok: new value: true (1 row)"}},
		{name: "integer and decimal values alike", base: prof(1000, Column{Name: "n", Kind: KindNumber, Type: "integer", Distinct: 2, Values: []ValueCount{vc(int64(1), 5), vc(int64(2), 5)}}),
			head: prof(1000, Column{Name: "n", Kind: KindNumber, Type: "numeric(4,2)", Distinct: 2, Values: []ValueCount{vc("1.00", 5), vc("2.00", 5)}})},
		{name: "new model", base: &Profile{}, head: prof(10, num("a", 0, int64(1), int64(9), 5, 2))},
		{name: "column added", base: prof(1000), head: prof(1000, num("a", 1000, nil, nil, 0, 0))},
		{name: "skipped column", base: prof(1000, Column{Name: "j", Kind: KindOther, Skipped: "json"}), head: prof(1000, Column{Name: "j", Kind: KindOther, Nulls: 1000, NullPercent: 100, Skipped: "json"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules := defaults
			if tc.rules != nil {
				rules = *tc.rules
			}
			d, err := Compare("m", tc.base, tc.head, rules)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, fl := range d.Flags {
				s := fl.Flag
				if fl.Column != "" {
					s += " " + fl.Column
				}
				got = append(got, s+": "+fl.Message)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("flags %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("flag %q, want %q", got[i], tc.want[i])
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func withColumn(r Rules, cr config.ColumnRules) Rules {
	r.Columns = append(r.Columns, cr)
	return r
}

func nanF() float64 { var z float64; return z / z }

func TestCompareChanged(t *testing.T) {
	base := prof(1000, num("same", 0, int64(1), int64(9), 5, 2), num("nulls", 0, int64(1), int64(9), 5, 2), num("mean", 0, int64(1), int64(9), 5, 2),
		text("status", vc("a", 600), vc("b", 400)), num("gone", 0, int64(1), int64(2), 1, 1))
	head := prof(1000, num("same", 0, int64(1), int64(9), 5+1e-13, 2), num("nulls", 1, int64(1), int64(9), 5, 2), num("mean", 0, int64(1), int64(9), 5.01, 2),
		text("status", vc("a", 599), vc("b", 401)), num("new", 0, int64(1), int64(2), 1, 1))
	d, err := Compare("m", base, head, DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Changed, ","); got != "nulls,mean,status,gone,new" {
		t.Errorf("changed %s", got)
	}
	var names []string
	for _, p := range d.Pairs() {
		names = append(names, p.Name)
		if (p.Name == "gone") != (p.Head == nil) || (p.Name == "new") != (p.Base == nil) {
			t.Errorf("pair %+v", p)
		}
	}
	if got := strings.Join(names, ","); got != "same,nulls,mean,status,gone,new" {
		t.Errorf("pairs %s", got)
	}
}

// TestCompareUnknownColumn: a column rule naming a column the model does
// not have is a configuration error naming its line.
func TestCompareUnknownColumn(t *testing.T) {
	cfg, err := config.Parse("dataops.yml", []byte("profile:\n  columns:\n    - model: m\n      column: amount\n    - model: m\n      column: amuont\n      ignore: [new_value]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rules := RulesFrom(cfg.Profile, "ci/dataops.yml")
	_, err = Compare("m", prof(10, num("amount", 0, int64(1), int64(2), 1, 1)), prof(10, num("amount", 0, int64(1), int64(2), 1, 1)), rules)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Line != 5 || err.Error() != `ci/dataops.yml:5: profile.columns: model m has no column "amuont" (its columns: amount)` {
		t.Fatalf("error %v", err)
	}
	// Another model's rules are not checked against this one.
	if _, err := Compare("other", prof(10), prof(10), rules); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownModels(t *testing.T) {
	cfg, err := config.Parse("dataops.yml", []byte("profile:\n  columns:\n    - model: orders\n      column: a\n    - model: ordres\n      column: b\n"))
	if err != nil {
		t.Fatal(err)
	}
	rules := RulesFrom(cfg.Profile, "dataops.yml")
	models := func(names ...string) func(string) bool {
		return func(m string) bool { return slices.Contains(names, m) }
	}
	if err := rules.CheckModels(models("orders", "customers")); err == nil || err.Error() != `dataops.yml:5: profile.columns: no model "ordres" in the project` {
		t.Fatalf("error %v", err)
	}
	if err := rules.CheckModels(models("orders", "ordres")); err != nil {
		t.Fatal(err)
	}
}

// TestKeyHasNoRange: new keys beyond production's are expected, so the
// key is not held to production's range.
func TestKeyHasNoRange(t *testing.T) {
	base, head := prof(10, num("id", 0, int64(1), int64(10), 5, 3)), prof(11, num("id", 0, int64(1), int64(11), 5.5, 3))
	d, err := Compare("m", base, head, DefaultRules())
	if err != nil || len(d.Flags) != 1 || d.Flags[0].Flag != "out_of_range" {
		t.Fatalf("without a key: %+v %v", d, err)
	}
	head.Key = []string{"ID"}
	if d, err = Compare("m", base, head, DefaultRules()); err != nil || len(d.Flags) != 0 {
		t.Fatalf("with a key: %+v %v", d.Flags, err)
	}
}
