package config

import (
	"strings"
	"testing"
	"time"
)

// parseCase is one dataops.yml and what Parse must make of it: an error
// containing wantErr, or a Config that check accepts.
type parseCase struct {
	name    string
	yml     string
	wantErr string
	check   func(t *testing.T, c Config)
}

func TestParse(t *testing.T) {
	testParse(t, []parseCase{
		{name: "empty file gives defaults", yml: "", check: func(t *testing.T, c Config) {
			if c.Environments.Name != "pr_{number}" || c.Production.Schema != "main" || c.Environments.TTL.Duration != 7*24*time.Hour {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "fields", yml: "project: dbt\nproduction:\n  schema: analytics\nenvironments:\n  name: ci_{number}\n  prefix: acme_\n  ttl: 3d\n", check: func(t *testing.T, c Config) {
			if c.Project != "dbt" || c.Production.Schema != "analytics" || c.EnvironmentName(42) != "acme_ci_42" || c.Environments.TTL.Duration != 72*time.Hour {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "diff rules", yml: "diff:\n  sample: 3\n  fail_on:\n    removed_rows: true\n    changed_percent: 2.5\n", check: func(t *testing.T, c Config) {
			if c.Diff.Sample != 3 || !c.Diff.FailOn.RemovedRows || c.Diff.FailOn.BreakingChange || c.Diff.FailOn.ChangedPercent != 2.5 {
				t.Errorf("diff = %+v", c.Diff)
			}
		}},
		{name: "bad percentage", yml: "diff:\n  fail_on:\n    changed_percent: 120\n", wantErr: "dataops.yml:3: diff.fail_on.changed_percent: must be a percentage"},
		{name: "checks, gate, commands, deploy", yml: "checks:\n  diff: false\ngate:\n  approvals: 1\n  teams: [data-eng]\ncommands:\n  allowed: [help, rerun]\ndeploy:\n  on_merge: true\n", check: func(t *testing.T, c Config) {
			if c.Checks.Diff || !c.Checks.Build || c.Gate.Approvals != 1 || c.Gate.Teams[0] != "data-eng" || !c.CommandAllowed("rerun") || c.CommandAllowed("deploy") || !c.Deploy.OnMerge {
				t.Errorf("%+v", c)
			}
		}},
		{name: "unknown command", yml: "commands:\n  allowed: [rerun, nuke]\n", wantErr: `dataops.yml:2: commands.allowed: unknown command "nuke"`},
		{name: "diff without build", yml: "checks:\n  build: false\n", wantErr: "checks.diff: the diff compares what the build built"},
		{name: "unknown field", yml: "production:\n  shema: x\n", wantErr: `dataops.yml:2: field shema is not a field of Production`},
		{name: "bad duration", yml: "environments:\n  ttl: soon\n", wantErr: `dataops.yml:2`},
		{name: "template without number", yml: "environments:\n  name: shared\n", wantErr: `dataops.yml:2: environments.name: "shared" must contain {number}`},
		{name: "a DSN where its variable belongs", yml: "warehouse:\n  dsn_env: postgres://u:p@h/db\n", wantErr: `warehouse.dsn_env: looks like a DSN`},
		{name: "mask", yml: "mask:\n  defaults: false\n  columns: ['*salary*', iban]\n  except:\n    - email_domain\n", check: func(t *testing.T, c Config) {
			if c.Mask.Defaults || len(c.Mask.Columns) != 2 || c.Mask.Except[0] != "email_domain" {
				t.Errorf("mask = %+v", c.Mask)
			}
		}},
		{name: "mask defaults on", yml: "", check: func(t *testing.T, c Config) {
			if !c.Mask.Defaults {
				t.Errorf("mask = %+v", c.Mask)
			}
		}},
		{name: "bad mask pattern", yml: "project: .\nmask:\n  except:\n    - ok\n    - 'bad[name'\n", wantErr: `dataops.yml:5: mask.except: "bad[name" is not a column name pattern`},
		{name: "mask typo", yml: "mask:\n  colums: [a]\n", wantErr: `dataops.yml:2: field colums is not a field of Mask`},
		{name: "not a mapping", yml: "- a\n", wantErr: "dataops.yml:1"},
	})
}

func testParse(t *testing.T, tests []parseCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("dataops.yml", []byte(tc.yml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadMissingFileIsDefault(t *testing.T) {
	c, err := Load(t.TempDir() + "/dataops.yml")
	if err != nil || c.Environments.Name != "pr_{number}" {
		t.Fatalf("%v %+v", err, c)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("environments:\n  name: pr_{number}\n  ttl: 2d\n")
	f.Add("production: [1]\n")
	f.Add("profile:\n  columns:\n    - {model: m, column: c, ignore: [new_value]}\ndiff:\n  fail_on:\n    profile: [row_count]\n")
	f.Add("profile:\n  columns: [[1]]\n  rules: {mean_shift: .5}\n")
	f.Fuzz(func(t *testing.T, yml string) {
		c, err := Parse("dataops.yml", []byte(yml))
		if err == nil && !strings.Contains(c.Environments.Name, "{number}") {
			t.Fatalf("accepted a template without {number}: %q", c.Environments.Name)
		}
	})
}
