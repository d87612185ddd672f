package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// profileTables makes main.orders and pr_9.orders in a DuckDB file: the
// pull request's has a fifth more rows, a new status and an amount far
// above production's.
func profileTables(t *testing.T) string {
	w, dsn := warehousetest.DuckDBFile(t)
	for _, stmt := range []string{
		"CREATE SCHEMA pr_9",
		"CREATE TABLE main.orders AS SELECT i AS id, CASE WHEN i % 4 = 0 THEN 'returned' ELSE 'completed' END AS status, CAST(i AS DECIMAL(10,2)) AS amount FROM range(1, 101) t(i)",
		"CREATE TABLE pr_9.orders AS SELECT * FROM main.orders UNION ALL SELECT i, 'lost', 5000 FROM range(101, 121) t(i)",
	} {
		if err := w.Exec(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return dsn
}

func TestProfileCommand(t *testing.T) {
	dsn := profileTables(t)
	dir := t.TempDir()
	failOn := filepath.Join(dir, "fail.yml")
	writeFile(t, failOn, "diff:\n  fail_on:\n    profile: [new_value]\n")
	unknownColumn := filepath.Join(dir, "column.yml")
	writeFile(t, unknownColumn, "profile:\n  columns:\n    - model: orders\n      column: amuont\n      ignore: [out_of_range]\n")
	ignore := filepath.Join(dir, "ignore.yml")
	writeFile(t, ignore, "profile:\n  columns:\n    - model: orders\n      column: status\n      ignore: [new_value]\ndiff:\n  fail_on:\n    profile: [new_value]\n")
	badFlag := filepath.Join(dir, "flag.yml")
	writeFile(t, badFlag, "diff:\n  fail_on:\n    profile: [new_values]\n")
	base := []string{"profile", "--warehouse", dsn, "--base", "main.orders", "--head", "pr_9.orders", "--key", "id"}

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"flags inform", base, exitOK, []string{"Profile (production → here): 100 → 120 rows", "flag row_count: rows 100 → 120 (+20.0%, limit 10%)",
			"flag new_value status: new value: lost (20 rows)", "flag out_of_range amount: maximum 5000.00 is above production's 100.00",
			"“completed” (75) · “returned” (25) → “completed” (75) · “returned” (25) · “lost” (20)"}, ""},
		{"fail_on fails", append(base, "--config", failOn), exitFailure, []string{"flag new_value status"}, "1 flag that diff.fail_on.profile in " + failOn + " names: new_value (status)"},
		{"an ignored flag does not fail", append(base, "--config", ignore), exitOK, []string{"flag out_of_range amount"}, ""},
		{"a rule for a column the model lacks", append(base, "--config", unknownColumn), exitUsage, nil, unknownColumnError(unknownColumn)},
		{"another model's rules", append(base, "--config", unknownColumn, "--model", "customers"), exitOK, []string{"flag row_count"}, ""},
		{"an unknown flag", append(base, "--config", badFlag), exitUsage, nil, badFlag + `:3: diff.fail_on.profile: unknown profile flag "new_values"`},
		{"no head", []string{"profile", "--warehouse", dsn, "--base", "main.orders"}, exitUsage, nil, "give --base and --head"},
		{"a relation without schema", []string{"profile", "--warehouse", dsn, "--base", "orders", "--head", "pr_9.orders"}, exitUsage, nil, `"orders" is not schema.name`},
		{"neither exists", []string{"profile", "--warehouse", dsn, "--base", "main.nope", "--head", "pr_9.nope"}, exitFailure, nil, "neither main.nope nor pr_9.nope exists"},
		{"help", []string{"profile", "--help"}, exitOK, []string{"Usage: dataops profile --warehouse DSN --base REL --head REL"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q\n%s", code, tc.code, errOut, tc.stderr, out)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}

	code, out, errOut := runCLI(append(base, "--json")...)
	if code != exitOK {
		t.Fatalf("--json: %d %s", code, errOut)
	}
	var d profile.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var flags []string
	for _, f := range d.Flags {
		flags = append(flags, f.Flag+" "+f.Column)
	}
	if d.Base.Rows != 100 || d.Head.Rows != 120 || strings.Join(flags, ",") != "row_count ,new_value status,mean_shift amount,out_of_range amount" {
		t.Errorf("json %+v flags %v", d, flags)
	}
}

func unknownColumnError(path string) string {
	return path + `:3: profile.columns: model orders has no column "amuont" (its columns: id, status, amount)`
}

// TestProfileCommandMasks: two relations named on the command line have no
// project to mark their columns; mask:'s patterns (here the default for
// email) keep their values out of the output all the same.
func TestProfileCommandMasks(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	for _, stmt := range []string{
		"CREATE SCHEMA pr_9",
		"CREATE TABLE main.people AS SELECT 1 AS id, 'ann@people.test' AS email UNION ALL SELECT 2, 'bob@people.test'",
		"CREATE TABLE pr_9.people AS SELECT * FROM main.people UNION ALL SELECT 3, 'cy@people.test'",
	} {
		if err := w.Exec(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	for _, json := range []bool{false, true} {
		args := []string{"profile", "--warehouse", dsn, "--base", "main.people", "--head", "pr_9.people", "--key", "id"}
		if json {
			args = append(args, "--json")
		}
		code, out, errOut := runCLI(args...)
		if code == exitUsage || !strings.Contains(out, "email") {
			t.Fatalf("exit %d: %s\n%s", code, errOut, out)
		}
		for _, email := range []string{"ann@people.test", "bob@people.test", "cy@people.test"} {
			if strings.Contains(out+errOut, email) {
				t.Errorf("the output (json %v) holds %s:\n%s", json, email, out)
			}
		}
	}
}
