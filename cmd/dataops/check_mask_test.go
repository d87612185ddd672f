package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestCheckMasksSensitiveValues: the sensitive pull request of
// projecttest.SensitiveChange checked with dataops check on DuckDB and
// PostgreSQL, then built and diffed with --json: nothing on stdout or
// stderr, and no file --out writes, holds any of its emails.
func TestCheckMasksSensitiveValues(t *testing.T) {
	values := projecttest.SensitiveValues(t)
	for _, e := range engineDSNs {
		t.Run(e.name, func(t *testing.T) {
			dir, dsn, _ := divergedRepoIn(t, e.dsn(t), projecttest.SensitiveBase, nil, projecttest.SensitiveChange)
			outDir := t.TempDir()
			var outputs []string
			code, out, errOut := runCLI("check", "--project", dir, "--base", "main", "--warehouse", dsn, "--env", "pr_7", "--out", outDir)
			if code != exitOK {
				t.Fatalf("check: exit %d\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(out, "unique test on contacts.contact: 1 failing rows (e.g. "+mask.Prefix) || !strings.Contains(out, "| `email` | "+mask.Prefix) {
				t.Errorf("the check's output does not show the masked samples:\n%s", out)
			}
			outputs = append(outputs, out, errOut)
			for _, args := range [][]string{
				{"build", "--project", dir, "--warehouse", dsn, "--env", "pr_7", "--select", "contacts+ stg_customers+", "--json"},
				{"diff", "--project", dir, "--warehouse", dsn, "--env", "pr_7", "--json"},
				{"diff", "--warehouse", dsn, "--base", "main.stg_customers", "--head", "pr_7.stg_customers", "--key", "customer_id", "--json"},
			} {
				_, out, errOut := runCLI(args...)
				if !strings.Contains(out, mask.Prefix) {
					t.Errorf("dataops %s shows no mask:\n%s\n%s", strings.Join(args, " "), out, errOut)
				}
				outputs = append(outputs, out, errOut)
			}
			for _, o := range outputs {
				projecttest.CheckNoSensitiveValue(t, values, "an output", o)
			}
			filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					data, _ := os.ReadFile(p)
					projecttest.CheckNoSensitiveValue(t, values, p, string(data))
				}
				return nil
			})
		})
	}
}

// engineDSNs are the warehouses the CLI's tests run on: a DuckDB file and a
// PostgreSQL database of the test's own.
var engineDSNs = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"duckdb", func(t *testing.T) string { return "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb") }},
	{"postgres", func(t *testing.T) string {
		w, dsn := warehousetest.PostgresDatabase(t)
		t.Cleanup(func() { w.Close() })
		return dsn
	}},
}
