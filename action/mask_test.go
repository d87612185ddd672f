package action

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

var maskEngines = []struct {
	name string
	open func(t *testing.T) (warehouse.Warehouse, string)
}{
	{"duckdb", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.DuckDBFile(t) }},
	{"postgres", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.PostgresDatabase(t) }},
}

// filesUnder reads every file below dir, by path.
func filesUnder(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			out[p] = string(data)
		}
		return nil
	})
	return out
}

// TestActionMasksSensitiveValues: the sensitive pull request of
// projecttest.SensitiveChange, run by the GitHub Action and by the GitLab
// CI job on DuckDB and PostgreSQL. Nothing they print (the log, with its
// annotations), write (outputs, step summary, report file, Code Quality
// and JUnit reports) or send (comment, check runs, notes, statuses) holds
// any of its emails; the outputs show masks instead.
func TestActionMasksSensitiveValues(t *testing.T) {
	values := projecttest.SensitiveValues(t)
	for _, e := range maskEngines {
		t.Run("github/"+e.name, func(t *testing.T) {
			w, dsn := e.open(t)
			f := newDivergedFixture(t, w, dsn, projecttest.SensitiveBase, nil, projecttest.SensitiveChange)
			code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, log)
			}
			if !strings.Contains(log, "unique test on contacts.contact: 1 failing rows (e.g. "+mask.Prefix) {
				t.Errorf("the failing test's annotation is not in the log, masked:\n%s", log)
			}
			projecttest.CheckNoSensitiveValue(t, values, "the Action's log", log)
			files := filesUnder(t, f.runnerTemp)
			if summary := files[filepath.Join(f.runnerTemp, "summary")]; !strings.Contains(summary, "| `email` | "+mask.Prefix) {
				t.Errorf("the step summary does not show masked emails:\n%s", summary)
			}
			for path, content := range files {
				projecttest.CheckNoSensitiveValue(t, values, path, content)
			}
			for _, r := range f.gh.Requests() {
				projecttest.CheckNoSensitiveValue(t, values, r.Method+" "+r.Path, string(r.Body))
			}
		})
		t.Run("gitlab/"+e.name, func(t *testing.T) {
			w, dsn := e.open(t)
			f := newDivergedFixture(t, w, dsn, projecttest.SensitiveBase, nil, projecttest.SensitiveChange)
			gl := gitlabtest.NewServer(t)
			project := gl.Project()
			gl.SetArchive(f.mainSHA, f.git(t, "archive", "--format=tar.gz", "--prefix=shop/", f.mainSHA))
			gl.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, Title: "contacts", State: "opened", SourceBranch: "card-amount", TargetBranch: "main",
				SourceProjectID: project.ID, TargetProjectID: project.ID, SHA: f.headSHA, BaseSHA: f.baseSHA})
			env := f.gitlabJobEnv(gl, project.ID, "octocat", dsn)
			var out bytes.Buffer
			if code := Run(context.Background(), environ(env), &out); code != ExitOK {
				t.Fatalf("exit %d\n%s", code, out.String())
			}
			projecttest.CheckNoSensitiveValue(t, values, "the job's log", out.String())
			cq, err := os.ReadFile(filepath.Join(f.dir, CodeQualityFile))
			if err != nil || !strings.Contains(string(cq), "1 failing rows (e.g. "+mask.Prefix) {
				t.Errorf("the Code Quality report does not hold the masked failing test: %v\n%s", err, cq)
			}
			junit, _ := os.ReadFile(filepath.Join(f.dir, JUnitFile))
			projecttest.CheckNoSensitiveValue(t, values, CodeQualityFile, string(cq))
			projecttest.CheckNoSensitiveValue(t, values, JUnitFile, string(junit))
			for _, n := range gl.Notes(7) {
				projecttest.CheckNoSensitiveValue(t, values, "a note", n.Body)
			}
			for _, r := range gl.Requests() {
				projecttest.CheckNoSensitiveValue(t, values, r.Method+" "+r.Path, string(r.Body))
			}
		})
	}
}
