package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// seedRepo is a git repository of examples/shop whose main is built as
// production in the warehouse at dsn; the work tree is left on branch pr
// with edits committed. An edit of two empty strings stands for
// country_codes.csv with one more column (withColumn).
func seedRepo(t *testing.T, dsn string, edits projecttest.Edits) string {
	t.Helper()
	expanded := projecttest.Edits{}
	for path, e := range edits {
		if e == [2]string{} {
			e[1] = withColumn(t)
		}
		expanded[path] = e
	}
	edits = expanded
	dir := copyDir(t, "../../examples/shop")
	projecttest.Commit(t, dir, "base")
	projecttest.Git(t, dir, "branch", "-M", "main")
	if code, out, errOut := runCLI("build", "--project", dir, "--warehouse", dsn, "--target", "prod"); code != exitOK {
		t.Fatalf("production build: %d\n%s\n%s", code, out, errOut)
	}
	projecttest.Git(t, dir, "checkout", "-q", "-b", "pr")
	edits.Apply(t, dir)
	projecttest.Commit(t, dir, "head")
	return dir
}

// withColumn is examples/shop's country_codes.csv with one more column.
func withColumn(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/shop/seeds/country_codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	lines[0] += ",subregion"
	for i := 1; i < len(lines); i++ {
		lines[i] += ",sub " + lines[i][:2]
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestCheckPullRequestSeeds: a pull request that adds or changes a seed is
// dry-run against the seed as the pull request has it, not production's:
// a new seed and a model reading it pass every stage, a seed that drops a
// column a model reads fails the dry run on that model, and a seed whose
// CSV is broken fails the dry run on the seed's line. Production is never
// written, on DuckDB and PostgreSQL.
func TestCheckPullRequestSeeds(t *testing.T) {
	cases := []struct {
		name  string
		edits projecttest.Edits
		code  int
		out   []string
		dry   []string // in the dry run's check
		// impact: a model's row in the comment names this (the column
		// the engine rejected, in each engine's words)
		impact [2]string
	}{
		{name: "adds a seed and a model reading it", code: exitOK,
			edits: projecttest.Edits{
				"seeds/new_seed.csv":      {"", "code,label,since\n1,one,2024-01-31\n2,two,\n"},
				"models/marts/x.sql":      {"", "select code + 1 as next_code, label, since + 1 as day_after\nfrom {{ ref('new_seed') }}\n"},
				"models/marts/x_uses.sql": {"", "select next_code from {{ ref('x') }} where day_after > date '2024-01-01'\n"},
			},
			out: []string{"dataops/dry-run  success     2 models checked by the engine",
				"dataops/build    success     3 built, 0 failed, 0 skipped", "Profile: 2 rows, 3 columns; new, nothing in production to compare with.",
				"| 🟢 | `x` | added | **non-breaking**: new model |", "| 🟢 | `x_uses` | added | **non-breaking**: new model |"},
			dry: []string{"| `new_seed` (seed) | success | 3 |", "| `x` | success | 3 |", "| `x_uses` | success | 1 |"}},
		{name: "adds a column to a seed and reads it", code: exitOK,
			edits: projecttest.Edits{
				"seeds/country_codes.csv":        {}, // withColumn
				"models/marts/dim_customers.sql": {"        region\n    from", "        region,\n        subregion\n    from"},
			},
			out: []string{"dataops/dry-run  success", "dataops/build    success"},
			dry: []string{"| `country_codes` (seed) | success | 4 |", "| `dim_customers` | success | 15 |"}},
		{name: "renames a seed column a model reads", code: exitFailure,
			edits: projecttest.Edits{"seeds/country_codes.csv": {"country_code,country_name,region\n", "country_code,country_name,area\n"}},
			out: []string{"dataops/dry-run  failure     1 model rejected by the engine", "models/marts/dim_customers.sql:19: failure: ",
				"dataops/build    skipped     Skipped: the dry run failed"},
			dry: []string{"| `country_codes` (seed) | success | 3 |", "| `dim_customers` | error | 0 |"}},
		{name: "changes a model and renames a seed column it reads", code: exitFailure,
			edits: projecttest.Edits{
				"seeds/country_codes.csv":        {"country_code,country_name,region\n", "country_code,country_name,area\n"},
				"models/marts/dim_customers.sql": {"        region\n    from", "        region,\n        1 as one\n    from"},
			},
			// judged by the dry run's failure, not again by the engine
			// against production's seed, which still has the column
			out: []string{"dataops/dry-run  failure     1 model rejected by the engine",
				"| `dim_customers` | modified: sql | **unknown**: the dry run failed: "},
			dry:    []string{"| `dim_customers` | error | 0 |"},
			impact: [2]string{"| `dim_customers` |", `"region"`}},
		{name: "breaks a seed's CSV", code: exitFailure,
			edits: projecttest.Edits{"seeds/country_codes.csv": {"\nCA,Canada,North America\n", "\nCA,Canada\n"}},
			out: []string{"dataops/dry-run  failure     1 seed rejected by the dry run", "seeds/country_codes.csv:3: failure: seed line 3: 2 fields, but the header has 3",
				"dataops/build    skipped"},
			dry: []string{"| `country_codes` (seed) | error | 0 |", "| `dim_customers` | skipped | 0 |"}},
	}
	for _, e := range engineDSNs {
		t.Run(e.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					dsn := e.dsn(t)
					dir := seedRepo(t, dsn, tc.edits)
					prodBefore := relationsIn(t, dsn, "main") + " " + relationsIn(t, dsn, "raw")
					outDir := t.TempDir()
					code, out, errOut := runCLI("check", "--project", dir, "--base", "main", "--warehouse", dsn, "--env", "pr_5", "--out", outDir)
					if code != tc.code {
						t.Errorf("exit %d, want %d\n%s\n%s", code, tc.code, out, errOut)
					}
					for _, want := range tc.out {
						if !strings.Contains(out, want) {
							t.Errorf("the output lacks %q:\n%s", want, out)
						}
					}
					if tc.impact[0] != "" {
						row := ""
						for _, l := range strings.Split(out, "\n") {
							if strings.HasPrefix(l, "| 🟠 "+tc.impact[0]) {
								row = l
							}
						}
						if !strings.Contains(row, tc.impact[1]) {
							t.Errorf("the impact of %s does not name %s: %q", tc.impact[0], tc.impact[1], row)
						}
					}
					dry := string(mustRead(t, filepath.Join(outDir, "checks", "dataops-dry-run.json")))
					for _, want := range tc.dry {
						if !strings.Contains(dry, want) {
							t.Errorf("the dry run's check lacks %q:\n%s", want, dry)
						}
					}
					if strings.Contains(out, "build production first") {
						t.Errorf("the check reads a seed of the pull request from production:\n%s", out)
					}
					if prod := relationsIn(t, dsn, "main") + " " + relationsIn(t, dsn, "raw"); prod != prodBefore {
						t.Errorf("production changed: %s, was %s", prod, prodBefore)
					}
				})
			}
		})
	}
}
