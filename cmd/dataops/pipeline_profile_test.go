package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm"
)

// TestPipelineProfileRules: the diff stage profiles each built model and
// applies dataops.yml's profile rules, failing on the flags fail_on names
// and on a rule naming a model the project lacks (with its line).
func TestPipelineProfileRules(t *testing.T) {
	tests := []struct {
		name       string
		yml        string
		conclusion checks.Conclusion
		title      string
		comment    []string
		// noProfile: fct_orders' profile cannot run, so the check's text
		// lacks its columns.
		noProfile bool
		// annotation: where the check's failure annotation points (a rule's
		// line in dataops.yml), "" for none.
		annotation string
	}{
		{"defaults inform", "", checks.Neutral, "5 models of 6 compared changed data",
			[]string{"Profile (production → here): 500 rows, 3 columns of 17 changed."}, false, ""},
		{"a flag fail_on names fails", "profile:\n  rules:\n    distinct_count: 1\ndiff:\n  fail_on:\n    profile: [distinct_count]\n", checks.Failure,
			"fct_orders: profile flag distinct_count on net_revenue: distinct values 273 → 280 (+2.6%, limit 1%)",
			[]string{"- ⚠️ **distinct_count** `net_revenue`: distinct values 273 → 280 (+2.6%, limit 1%)"}, false, ""},
		{"a rule for an unknown model", "profile:\n  columns:\n    - model: fct_ordres\n      column: net_revenue\n", checks.Failure,
			`the profile failed: dataops.yml:3: profile.columns: no model "fct_ordres" in the project`, nil, false, "dataops.yml:3"},
		{"a rule for a column the model lacks", "profile:\n  columns:\n    - model: fct_orders\n      column: net_revenue\n    - model: fct_orders\n      column: net_revenu\n      ignore: [mean_shift]\n", checks.Failure,
			`dataops.yml:5: profile.columns: model fct_orders has no column "net_revenu"`, nil, true, "dataops.yml:5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d, err := setUpDemo(ctx, t.TempDir(), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer d.w.Close()
			cfg, err := config.Parse(config.FileName, []byte(tc.yml))
			if err != nil {
				t.Fatal(err)
			}
			p := d.pipeline(slog.New(slog.NewTextHandler(io.Discard, nil)))
			p.Config = cfg
			out, err := p.Run(ctx, d.event)
			if err != nil {
				t.Fatal(err)
			}
			var diff checks.Result
			for _, r := range out.Results {
				if r.Name == scm.CheckDiff {
					diff = r
				}
			}
			if diff.Conclusion != tc.conclusion || !strings.Contains(diff.Title+" "+diff.Summary, tc.title) {
				t.Errorf("diff check %s %q\n%s, want %s %q", diff.Conclusion, diff.Title, diff.Summary, tc.conclusion, tc.title)
			}
			for _, want := range tc.comment {
				if !strings.Contains(out.Comment, want) {
					t.Errorf("the comment lacks %q", want)
				}
			}
			// A wrong rule is dataops.yml's to fix: annotated at its line,
			// not at the model's file.
			var at []string
			for _, a := range diff.Annotations {
				at = append(at, fmt.Sprintf("%s:%d", a.Path, a.Line))
			}
			if want := tc.annotation; (want == "" && len(at) > 0) || (want != "" && strings.Join(at, ",") != want) {
				t.Errorf("annotations at %v, want %q", at, want)
			}
			if !tc.noProfile && !strings.Contains(diff.Details, "`order_id` | integer") {
				t.Error("the diff check's text lacks the unchanged columns of the profile")
			}
		})
	}
}
