package action

import (
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// TestActionPartialCompile: the base branch has a model that does not
// compile (and one that depends on it), pushed after production was built.
// A pull request that leaves them alone passes the compile check, which
// lists that error as the base's and the two models as skipped with the
// reason, and the rest of the checks run on what compiled. A pull request
// that breaks a model of its own fails the check with an annotation at
// that model's line, and only that one.
func TestActionPartialCompile(t *testing.T) {
	broken := projecttest.Edits{
		"models/marts/fct_orders.sql": {"    from {{ ref('stg_orders') }}", "    from {{ ref('stg_order') }}"}}
	for _, tc := range []struct {
		name       string
		prEdits    projecttest.Edits
		code       int
		conclusion string
	}{
		{name: "the pull request leaves the broken model alone", code: ExitOK, conclusion: "success"},
		{name: "the pull request breaks a model", prEdits: broken, code: ExitFailed, conclusion: "failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, dsn := warehousetest.DuckDBFile(t)
			f := newDivergedFixture(t, w, dsn, nil, nil, tc.prEdits)
			f.git(t, "checkout", "-q", "main")
			projecttest.Edits{
				"models/legacy.sql":       {"", "select *\nfrom {{ ref('dropped_long_ago') }}\n"},
				"models/legacy_child.sql": {"", "select * from {{ ref('legacy') }}\n"},
			}.Apply(t, f.dir)
			f.mainSHA = f.commit(t, "main gains a model that does not compile")
			f.openPullRequest(t)

			code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, log)
			}
			var compile *githubtest.CheckRun
			for _, run := range f.gh.CheckRuns(repoName) {
				if run.HeadSHA == f.headSHA && run.Name == "dataops/compile" {
					compile = &run
				}
			}
			if compile == nil {
				t.Fatal("no compile check run")
			}
			report := compile.Summary + "\n" + compile.Text
			for _, want := range []string{
				"1 compile error the base revision already had (not this pull request's):\n\n- `models/legacy.sql:2:9: ref to unknown model \"dropped_long_ago\"`",
				"- `legacy` (models/legacy.sql): ref to unknown model \"dropped_long_ago\"",
				"- `legacy_child` (models/legacy_child.sql): depends on legacy, which did not compile",
			} {
				if !strings.Contains(report, want) {
					t.Errorf("the compile check lacks %q:\n%s", want, report)
				}
			}
			if compile.Conclusion != tc.conclusion {
				t.Errorf("compile check %s, want %s: %s", compile.Conclusion, tc.conclusion, compile.Title)
			}
			comments := f.gh.Comments(repoName, 7)
			if len(comments) != 1 {
				t.Fatalf("%d comments", len(comments))
			}
			body := comments[0].Body
			if tc.prEdits == nil {
				if len(compile.Annotations) != 0 {
					t.Errorf("an error the base had is annotated on the pull request: %+v", compile.Annotations)
				}
				if !strings.Contains(compile.Title, "1 error the base already had") || !strings.Contains(body, "1 error the base already had") ||
					!strings.Contains(body, "- `legacy` (models/legacy.sql): ref to unknown model \"dropped_long_ago\"") {
					t.Errorf("the check's title and the comment do not say the base had an error: %q\n%s", compile.Title, body)
				}
				if got := relations(t, w, "pr_7"); !strings.Contains(got, "orders_per_month") || strings.Contains(got, "legacy") {
					t.Errorf("the pull request's models were not built from what compiled: %s", got)
				}
				return
			}
			want := githubtest.Annotation{Path: "models/marts/fct_orders.sql", StartLine: 12, EndLine: 12, Level: "failure", Title: "compile error",
				Message: "ref to unknown model \"stg_order\" (did you mean 'stg_orders'?)"}
			if len(compile.Annotations) != 1 || compile.Annotations[0] != want {
				t.Errorf("annotations %+v, want only %+v", compile.Annotations, want)
			}
			if !strings.Contains(report, "This pull request brings 1 compile error:\n\n- `models/marts/fct_orders.sql:12:13: ref to unknown model \"stg_order\"") {
				t.Errorf("the compile check does not name the pull request's error:\n%s", report)
			}
			if !strings.Contains(body, "models/marts/fct_orders.sql:12") {
				t.Errorf("the comment does not say where the pull request's compile error is:\n%s", body)
			}
		})
	}
}
