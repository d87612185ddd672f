package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// divergedRepo is a git repository made from examples/shop where main
// moved on with mainEdits after branch card-amount was made; production is
// built from main's tip in a new DuckDB file it returns the DSN of, and the
// work tree is left on card-amount with the pull request's change
// committed. It returns the branch point, main's tip and the head.
func divergedRepo(t *testing.T, mainEdits, prEdits projecttest.Edits) (dir, dsn string, shas [3]string) {
	t.Helper()
	return divergedRepoIn(t, "duckdb://"+filepath.Join(t.TempDir(), "wh.duckdb"), nil, mainEdits, prEdits)
}

// divergedRepoIn is divergedRepo with production in the warehouse at dsn,
// and baseEdits made before anything else.
func divergedRepoIn(t *testing.T, dsn string, baseEdits, mainEdits, prEdits projecttest.Edits) (dir, _ string, shas [3]string) {
	t.Helper()
	dir = copyDir(t, "../../examples/shop")
	baseEdits.Apply(t, dir)
	shas[0] = projecttest.Commit(t, dir, "base")
	projecttest.Git(t, dir, "branch", "-M", "main")
	shas[1] = shas[0]
	if mainEdits != nil {
		mainEdits.Apply(t, dir)
		shas[1] = projecttest.Commit(t, dir, "main moves on")
	}
	if code, out, errOut := runCLI("build", "--project", dir, "--warehouse", dsn, "--target", "prod"); code != exitOK {
		t.Fatalf("production build: %d\n%s\n%s", code, out, errOut)
	}
	projecttest.Git(t, dir, "checkout", "-q", "-b", "card-amount", shas[0])
	projecttest.CardAmount.Apply(t, dir)
	prEdits.Apply(t, dir)
	shas[2] = projecttest.Commit(t, dir, "head")
	return dir, dsn, shas
}

func relationsIn(t *testing.T, dsn, schema string) string {
	t.Helper()
	w, err := warehouse.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return warehousetest.Tables(t, w, schema)
}

func columnsIn(t *testing.T, dsn, schema, name string) string {
	t.Helper()
	w, err := warehouse.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cols, err := w.Columns(context.Background(), warehouse.Relation{Schema: schema, Name: name})
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

// TestCheckOnlyTheChange: dataops check --base main merges the branch
// (the work tree) into main, as a code host's test merge does, and
// compares that with main's tip, so main's later change to product_sales
// is not the branch's, in the plan, the environment or the diffs; with
// --compare merge-base it compares the branch with its merge base, as git
// diff main...HEAD does. The headline names the commits; the command
// prints progress lines, not log records.
func TestCheckOnlyTheChange(t *testing.T) {
	for _, tc := range []struct {
		name    string
		compare string
		prEdits projecttest.Edits
	}{
		{name: "branch changes Y"},
		{name: "branch also changes X", prEdits: projecttest.AlsoEditsX},
		{name: "merge base, branch changes Y", compare: "merge-base"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, dsn, shas := divergedRepo(t, projecttest.MainMovesOn, tc.prEdits)
			// An uncommitted edit is part of the change.
			os.WriteFile(filepath.Join(dir, "models/marts/orders_per_month.sql"),
				[]byte("select cast(date_trunc('month', ordered_at) as date) as month, count(*) as order_count\nfrom {{ ref('fct_orders') }}\ngroup by 1\n"), 0o644)
			outDir := t.TempDir()
			args := []string{"check", "--project", dir, "--base", "main", "--warehouse", dsn, "--env", "pr_7", "--out", outDir}
			if tc.compare != "" {
				args = append(args, "--compare", tc.compare)
			}
			code, out, errOut := runCLI(args...)
			if code != exitOK {
				t.Fatalf("check: exit %d\n%s\n%s", code, out, errOut)
			}
			report := out
			if data, err := os.ReadFile(filepath.Join(outDir, "checks", "dataops-diff.json")); err == nil {
				report += string(data)
			}
			projecttest.CheckOnlyItsChange(t, report, relationsIn(t, dsn, "pr_7"), tc.prEdits != nil)
			if cols := columnsIn(t, dsn, "pr_7", "orders_per_month"); cols != "month,order_count" {
				t.Errorf("the uncommitted edit was not built: orders_per_month has %s", cols)
			}
			workTree := "the work tree (on " + shas[2][:7] + ")"
			headline, progress := "`shop`: "+workTree+" merged into `main` (merge ", "dataops check: compared the merge "
			tail := " compared with `main` at " + shas[1][:7]
			if tc.compare == "merge-base" {
				headline = "`shop`: " + workTree + " compared with its merge base " + shas[0][:7] + " with `main`"
				progress, tail = "dataops check: compared "+workTree+" with "+shas[0][:7]+", its merge base with main", ""
			}
			if !strings.Contains(out, headline) || !strings.Contains(out, tail) {
				t.Errorf("the headline does not name the commits %q ... %q:\n%s", headline, tail, out)
			}
			if !strings.Contains(errOut, progress) || !strings.Contains(errOut, "dataops check: build success (") {
				t.Errorf("progress lines:\n%s", errOut)
			}
			for _, record := range []string{"level=", "msg=", `"level"`} {
				if strings.Contains(errOut, record) {
					t.Errorf("dataops check writes log records:\n%s", errOut)
				}
			}
			if status := projecttest.Git(t, dir, "status", "--porcelain"); string(status) != " M models/marts/orders_per_month.sql\n" {
				t.Errorf("dataops check changed the repository: git status\n%s", status)
			}
		})
	}
	t.Run("tip of main", func(t *testing.T) {
		dir, dsn, shas := divergedRepo(t, projecttest.MainMovesOn, nil)
		code, out, errOut := runCLI("check", "--project", dir, "--base", "main", "--compare", "tip", "--warehouse", dsn, "--env", "pr_8")
		if code != exitOK {
			t.Fatalf("check: exit %d\n%s\n%s", code, out, errOut)
		}
		// Against main's tip the branch undoes main's column: that is
		// what --compare tip asks for.
		if !strings.Contains(out, "compared with `main` at "+shas[1][:7]) || !strings.Contains(out, "product_sales") {
			t.Errorf("comment:\n%s", out)
		}
	})
	t.Run("no shared history", func(t *testing.T) {
		dir, dsn, _ := divergedRepo(t, nil, nil)
		projecttest.Git(t, dir, "checkout", "-q", "--orphan", "lonely")
		projecttest.Commit(t, dir, "unrelated")
		code, _, errOut := runCLI("check", "--project", dir, "--base", "main", "--warehouse", dsn)
		if code != exitUsage || !strings.Contains(errOut, "share no history") || !strings.Contains(errOut, "--compare tip") {
			t.Errorf("exit %d\n%s", code, errOut)
		}
	})
	t.Run("bad --compare", func(t *testing.T) {
		code, _, errOut := runCLI("check", "--compare", "sideways", "--warehouse", "duckdb://")
		if code != exitUsage || !strings.Contains(errOut, `--compare "sideways": use merge, merge-base or tip`) {
			t.Errorf("exit %d\n%s", code, errOut)
		}
	})
}
