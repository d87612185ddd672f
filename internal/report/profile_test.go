package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/golden"

	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func fp(x float64) *float64 { return &x }

func ordersProfile(schema string, rows int64, edit func(cols []profile.Column)) *profile.Profile {
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	cols := []profile.Column{
		{Name: "order_id", Type: "integer", Kind: profile.KindNumber, Distinct: rows, Min: int64(1), Max: rows, Mean: fp(250.5), StdDev: fp(144.5),
			P5: int64(25), P50: int64(250), P95: int64(475)},
		{Name: "status", Type: "varchar", Kind: profile.KindText, Distinct: 3, Min: "completed", Max: "returned",
			Length: &profile.Lengths{Min: 6, Avg: 8.4, Max: 9},
			Values: []profile.ValueCount{{Value: "completed", Count: 400}, {Value: "placed", Count: 70}, {Value: "returned", Count: 30}}},
		{Name: "amount", Type: "decimal(12,2)", Kind: profile.KindNumber, Distinct: 431, Min: "0.50", Max: "120.00", Mean: fp(35.21), StdDev: fp(10.1),
			P5: "12.00", P50: "33.50", P95: "60.00"},
		{Name: "ordered_at", Type: "date", Kind: profile.KindTime, Distinct: 90, Min: day(1), Max: day(30)},
		{Name: "email", Type: "varchar", Kind: profile.KindText, Distinct: 480, Min: "#3f2a91", Max: "#ffe012", Masked: true,
			Length: &profile.Lengths{Min: 11, Avg: 19.2, Max: 31}},
		{Name: "payload", Type: "json", Kind: profile.KindOther, Skipped: "json values cannot be compared or grouped, so only NULLs are counted"},
		{Name: "note", Type: "text", Kind: profile.KindText, Nulls: 500, NullPercent: 100},
	}
	if edit != nil {
		edit(cols)
	}
	return &profile.Profile{Relation: warehouse.Relation{Schema: schema, Name: "fct_orders"}, Exists: true, Rows: rows, Columns: cols}
}

// profileDiffs are the profile diffs of three models: one with changed and
// flagged columns, one without a key (only counted by the data diff), and
// a new one.
func profileDiffs(t *testing.T) []report.ModelDiff {
	base := ordersProfile("main", 500, nil)
	head := ordersProfile("pr_42", 498, func(cols []profile.Column) {
		cols[1].Values = append(cols[1].Values[:2:2], profile.ValueCount{Value: "returned", Count: 23}, profile.ValueCount{Value: "<lost>", Count: 5})
		cols[1].Distinct = 4
		cols[2].Max, cols[2].Mean, cols[2].StdDev, cols[2].P95 = "9999.00", fp(80.3), fp(300), "61.00"
		cols[6].Nulls, cols[6].NullPercent = 498, 100
		cols[6].Nulls = 498
	})
	orders, err := profile.Compare("fct_orders", base, head, profile.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}

	daily := func(schema string, rows int64, mean float64, sampled bool) *profile.Profile {
		p := &profile.Profile{Relation: warehouse.Relation{Schema: schema, Name: "daily_revenue"}, Exists: true, Rows: rows,
			Columns: []profile.Column{
				{Name: "day", Type: "date", Kind: profile.KindTime, Distinct: rows, Min: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Max: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), Estimated: sampled},
				{Name: "revenue", Type: "double", Kind: profile.KindNumber, Nulls: 12, NullPercent: 100 * 12 / float64(rows), Distinct: rows - 40, Estimated: sampled,
					Min: 0.0, Max: 98765.4321, Mean: fp(mean), StdDev: fp(1200), P5: 10.5, P50: 850.25, P95: 4000.0},
			}}
		if sampled {
			p.Sampled, p.SampleRows = true, 29_874
		}
		return p
	}
	revenue, err := profile.Compare("daily_revenue", daily("main", 1_827_000, 900, true), daily("pr_42", 1_827_000, 4100, true), profile.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	newModel, err := profile.Compare("orders_per_day", &profile.Profile{Relation: warehouse.Relation{Schema: "main", Name: "orders_per_day"}},
		&profile.Profile{Relation: warehouse.Relation{Schema: "pr_42", Name: "orders_per_day"}, Exists: true, Rows: 3,
			Columns: []profile.Column{{Name: "orders", Type: "bigint", Kind: profile.KindNumber, Distinct: 3, Min: int64(1), Max: int64(9), Mean: fp(4), StdDev: fp(3.6),
				P5: int64(1), P50: int64(2), P95: int64(9), Values: []profile.ValueCount{{Value: int64(1), Count: 1}, {Value: int64(2), Count: 1}, {Value: int64(9), Count: 1}}}}},
		profile.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	side := func(schema, name string, rows int64, exists bool) datadiff.Side {
		return datadiff.Side{Relation: warehouse.Relation{Schema: schema, Name: name}, Exists: exists, Rows: rows}
	}
	return []report.ModelDiff{
		{Model: "fct_orders", Path: "models/marts/fct_orders.sql", Key: []string{"order_id"}, Profile: orders,
			Result: &datadiff.Result{Key: []string{"order_id"}, Base: side("main", "fct_orders", 500, true), Head: side("pr_42", "fct_orders", 498, true), OnlyInBase: 2, Changed: 30, Unchanged: 468,
				Columns: []datadiff.ColumnDiff{{Name: "amount", Changed: 30, MatchPercent: 93.98}}}},
		{Model: "daily_revenue", Path: "models/marts/daily_revenue.sql", Profile: revenue,
			Error:  "no key, so rows were only counted: declare one with config(unique_key='id') in models/marts/daily_revenue.sql, or a unique test on a column",
			Result: &datadiff.Result{Base: side("main", "daily_revenue", 1_827_000, true), Head: side("pr_42", "daily_revenue", 1_827_000, true)}},
		{Model: "orders_per_day", Path: "models/marts/orders_per_day.sql", Profile: newModel,
			Result: &datadiff.Result{Key: []string{"order_date"}, Base: side("main", "orders_per_day", 0, false), Head: side("pr_42", "orders_per_day", 3, true), OnlyInHead: 3}},
		{Model: "customers", Path: "models/marts/customers.sql", ProfileError: `dataops.yml:12: profile.columns: model customers has no column "emial" (its columns: customer_id, email)`,
			Result: &datadiff.Result{Key: []string{"customer_id"}, Base: side("main", "customers", 10, true), Head: side("pr_42", "customers", 10, true), Unchanged: 10}},
	}
}

// TestProfileComment: the comment shows each model's changed and flagged
// columns with the rest folded, and the check text shows every column.
func TestProfileComment(t *testing.T) {
	diffs := profileDiffs(t)
	diffCheck := checks.Diff(diffs, nil, config.FailOn{Profile: []string{"new_value"}})
	if diffCheck.Conclusion != checks.Failure || !strings.Contains(diffCheck.Summary, "profile flag new_value on `status`: new value: <lost> (5 rows)") {
		t.Errorf("diff check %+v", diffCheck)
	}
	in := report.Input{Project: "shop", Environment: "pr_42", HeadSHA: sha, Base: "main", Diffs: diffs,
		Checks: stages(diffCheck, checks.Gate([]checks.Result{diffCheck}))}
	comment := report.Comment(in)
	golden.Check(t, "profile.md", []byte(comment))
	golden.Check(t, "profile-check.md", []byte(diffCheck.Details))
	for _, want := range []string{"&lt;lost&gt;", "<details><summary>3 columns unchanged</summary>", "≈ estimated: production from 29,874 sampled rows (by the hash of whole rows)"} {
		if !strings.Contains(comment, want) {
			t.Errorf("the comment lacks %q", want)
		}
	}
	if strings.Contains(comment, "<lost>") {
		t.Error("a value from the data opened a tag in the comment")
	}
	// The check text lists every column of every profile, none folded.
	if strings.Contains(diffCheck.Details, "<details>") || strings.Count(diffCheck.Details, "`payload`") != 1 {
		t.Errorf("the check text folds columns:\n%s", diffCheck.Details)
	}
	// A comment too long for GitHub keeps the profile flags.
	short := report.Comment(report.Input{Diffs: append(diffs, hugeDiffs()...), Checks: stages(diffCheck), FullDetails: "See the check."})
	if !strings.Contains(short, "⚠️ **new_value** `status`") || len([]rune(short)) > report.MaxComment {
		t.Errorf("shortened comment lost the flags or is too long (%d)", len([]rune(short)))
	}
}

func hugeDiffs() []report.ModelDiff {
	var out []report.ModelDiff
	for i := 0; i < 300; i++ {
		base := ordersProfile("main", 500, nil)
		head := ordersProfile("pr_42", 500, func(cols []profile.Column) {
			for j := range cols {
				cols[j].Distinct++
			}
		})
		d, _ := profile.Compare("m", base, head, profile.Rules{})
		out = append(out, report.ModelDiff{Model: strings.Repeat("m", 40) + string(rune('a'+i%26)), Profile: d})
	}
	return out
}
