package config

import (
	"strings"
	"testing"
)

func TestParseProfile(t *testing.T) {
	testParse(t, []parseCase{
		{name: "defaults", yml: "project: .\n", check: func(t *testing.T, c Config) {
			p := c.Profile
			if !p.Enabled || p.SampleRows != 30_000 || p.LowCardinality != 20 || p.Rules.RowCount != 10 || p.Rules.NullShare != 5 ||
				p.Rules.DistinctCount != 20 || p.Rules.MeanShift != 1 || !p.Rules.OutOfRange || !p.Rules.NewValue || len(c.Diff.FailOn.Profile) != 0 {
				t.Errorf("defaults %+v", p)
			}
		}},
		{name: "rules merge with the defaults", yml: "profile:\n  sample_rows: 20000\n  rules:\n    row_count: 2.5\n    new_value: false\n", check: func(t *testing.T, c Config) {
			r := c.Profile.Rules
			if c.Profile.SampleRows != 20000 || r.RowCount != 2.5 || r.NewValue || !r.OutOfRange || r.MeanShift != 1 {
				t.Errorf("rules %+v", c.Profile)
			}
		}},
		{name: "column rules keep their line", yml: "profile:\n  columns:\n    - model: orders\n      column: amount\n      ignore: [out_of_range]\n      mean_shift: 3\n    - {model: orders, column: status, null_share: 0}\n", check: func(t *testing.T, c Config) {
			cs := c.Profile.Columns
			if len(cs) != 2 || cs[0].Line != 3 || cs[1].Line != 7 || *cs[0].MeanShift != 3 || cs[0].Ignore[0] != "out_of_range" || *cs[1].NullShare != 0 || cs[1].MeanShift != nil {
				t.Errorf("columns %+v", cs)
			}
		}},
		{name: "fail_on names flags", yml: "diff:\n  fail_on:\n    profile: [row_count, new_value]\n", check: func(t *testing.T, c Config) {
			if got := strings.Join(c.Diff.FailOn.Profile, ","); got != "row_count,new_value" {
				t.Errorf("fail_on.profile = %s", got)
			}
		}},
		{name: "fail_on unknown flag", yml: "diff:\n  fail_on:\n    profile:\n      - row_count\n      - nul_share\n", wantErr: `dataops.yml:5: diff.fail_on.profile: unknown profile flag "nul_share": the flags are row_count, null_share, distinct_count, mean_shift, out_of_range, new_value`},
		{name: "fail_on a rule turned off", yml: "profile:\n  rules:\n    mean_shift: 0\ndiff:\n  fail_on:\n    profile: [mean_shift]\n", wantErr: "dataops.yml:6: diff.fail_on.profile: names mean_shift, but profile.rules.mean_shift turns that rule off"},
		{name: "fail_on with the profile off", yml: "profile:\n  enabled: false\ndiff:\n  fail_on:\n    profile: [row_count]\n", wantErr: "dataops.yml:5: diff.fail_on.profile: names row_count, but profile.enabled is false"},
		{name: "ignore unknown flag", yml: "profile:\n  columns:\n    - model: orders\n      column: amount\n      ignore: [out_of_range, typo]\n", wantErr: `dataops.yml:5: profile.columns[0].ignore: unknown profile flag "typo"`},
		{name: "column rule without a column", yml: "profile:\n  columns:\n    - model: orders\n      ignore: [new_value]\n", wantErr: "dataops.yml:3: profile.columns[0]: needs both model and column"},
		{name: "unknown key in a column rule", yml: "profile:\n  columns:\n    - model: orders\n      column: a\n      mean_shfit: 2\n", wantErr: `dataops.yml:5: profile.columns: "mean_shfit" is not a key of a column rule: the keys are model, column, ignore, null_share, distinct_count, mean_shift`},
		{name: "unknown flag in the rules", yml: "profile:\n  rules:\n    row_count: 5\n    nul_share: 3\n", wantErr: `dataops.yml:4: profile.rules: unknown profile flag "nul_share": the flags are row_count, null_share, distinct_count, mean_shift, out_of_range, new_value`},
		{name: "unknown flag in a flow mapping", yml: "profile: {rules: {new_values: false}}\n", wantErr: `dataops.yml:1: profile.rules: unknown profile flag "new_values"`},
		{name: "unknown flag in ignore, second entry", yml: "profile:\n  columns:\n    - {model: a, column: b}\n    - model: orders\n      column: amount\n      ignore:\n        - new_value\n        - outofrange\n", wantErr: `dataops.yml:8: profile.columns[1].ignore: unknown profile flag "outofrange"`},
		{name: "negative threshold", yml: "profile:\n  rules:\n    distinct_count: -1\n", wantErr: "dataops.yml:3: profile.rules.distinct_count: must not be negative (0 turns the rule off)"},
		{name: "null share over 100 points", yml: "profile:\n  columns:\n    - model: m\n      column: c\n      null_share: 150\n", wantErr: "dataops.yml:5: profile.columns[0].null_share: must be at most 100"},
		{name: "tiny sample", yml: "profile:\n  sample_rows: 10\n", wantErr: "dataops.yml:2: profile.sample_rows: must be between 1000 and 10000000"},
		{name: "low cardinality zero", yml: "profile:\n  low_cardinality: 0\n", wantErr: "dataops.yml:2: profile.low_cardinality: must be between 1 and 1000"},
		{name: "a flag list that is not a list", yml: "diff:\n  fail_on:\n    profile: row_count\n", wantErr: "dataops.yml:3"},
	})
}
