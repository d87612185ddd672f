package checks

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

func TestBuildStage(t *testing.T) {
	tests := []struct {
		name        string
		nodes       []build.NodeResult
		conclusion  Conclusion
		annotations []string // path:line level
	}{
		{"all built", []build.NodeResult{{Name: "a", Kind: project.KindModel, Status: build.StatusSuccess}}, Success, nil},
		{"model error at its line", []build.NodeResult{{Name: "a", Kind: project.KindModel, Path: "models/a.sql", Status: build.StatusError,
			Failure: &build.Failure{Path: "models/a.sql", Line: 7, Message: "no such column"}}}, Failure, []string{"dbt/models/a.sql:7 failure"}},
		{"warn test annotates, passes", []build.NodeResult{{Name: "t", Kind: project.KindTest, Path: "models/s.yml", Status: build.StatusWarn,
			Failure: &build.Failure{Path: "models/s.yml", Line: 12, Message: "3 failing rows"}}}, Success, []string{"dbt/models/s.yml:12 warning"}},
		{"failing test fails", []build.NodeResult{{Name: "t", Kind: project.KindTest, Path: "models/s.yml", Status: build.StatusFail,
			Failure: &build.Failure{Path: "models/s.yml", Line: 12, Message: "3 failing rows"}}}, Failure, []string{"dbt/models/s.yml:12 failure"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Build("dbt", &build.Result{Nodes: tc.nodes})
			if r.Conclusion != tc.conclusion || r.Name != scm.CheckBuild {
				t.Errorf("conclusion %s, want %s", r.Conclusion, tc.conclusion)
			}
			var got []string
			for _, a := range r.Annotations {
				got = append(got, a.Path+":"+strconv.Itoa(a.Line)+" "+a.Level)
			}
			if strings.Join(got, ",") != strings.Join(tc.annotations, ",") {
				t.Errorf("annotations %v, want %v", got, tc.annotations)
			}
		})
	}
}

func TestDiffStage(t *testing.T) {
	changed := &datadiff.Result{Base: datadiff.Side{Exists: true, Rows: 100}, Head: datadiff.Side{Exists: true, Rows: 98},
		OnlyInBase: 2, Changed: 10, Unchanged: 88}
	same := &datadiff.Result{Base: datadiff.Side{Exists: true, Rows: 5}, Head: datadiff.Side{Exists: true, Rows: 5}, Unchanged: 5}
	keyless := &datadiff.Result{Base: datadiff.Side{Exists: true, Rows: 10}, Head: datadiff.Side{Exists: true, Rows: 20}}
	flagged := &profile.Diff{Flags: []profile.Flag{{Flag: "row_count", Message: "rows 10 → 20 (+100.0%, limit 10%)"},
		{Flag: "new_value", Column: "status", Message: "new value: lost (3 rows)"}}}
	breakingPlan := &plan.Plan{Changes: []plan.NodeChange{{Name: "a", Status: plan.Modified, Impact: &plan.Impact{Kind: "breaking"}}}}
	tests := []struct {
		name       string
		diffs      []report.ModelDiff
		p          *plan.Plan
		rules      config.FailOn
		conclusion Conclusion
		title      string
	}{
		{"nothing changed", []report.ModelDiff{{Model: "a", Result: same}}, nil, config.FailOn{}, Success, "No data changed in 1 model"},
		{"changes inform by default", []report.ModelDiff{{Model: "a", Result: changed}}, breakingPlan, config.FailOn{}, Neutral, "1 model of 1 compared changed data"},
		{"removed rows fail when asked", []report.ModelDiff{{Model: "a", Result: changed}}, nil, config.FailOn{RemovedRows: true}, Failure, "a removes 2 rows"},
		{"breaking change fails when asked", []report.ModelDiff{{Model: "a", Result: changed}}, breakingPlan, config.FailOn{BreakingChange: true}, Failure, "a has a breaking change"},
		{"changed share over the limit", []report.ModelDiff{{Model: "a", Result: changed}}, nil, config.FailOn{ChangedPercent: 5}, Failure, "a changes 10.2% of its rows (limit 5%)"},
		{"changed share under the limit", []report.ModelDiff{{Model: "a", Result: changed}}, nil, config.FailOn{ChangedPercent: 20}, Neutral, "1 model of 1 compared changed data"},
		{"a diff that could not run fails", []report.ModelDiff{{Model: "a", Error: "relation missing on both sides"}}, nil, config.FailOn{}, Failure, "a: the diff failed: relation missing on both sides"},
		{"a profile flag informs", []report.ModelDiff{{Model: "a", Result: same, Profile: flagged}}, nil, config.FailOn{}, Neutral, "1 model of 1 compared changed data; 2 profile flags"},
		{"a profile flag fail_on names fails", []report.ModelDiff{{Model: "a", Result: same, Profile: flagged}}, nil, config.FailOn{Profile: []string{"new_value"}}, Failure,
			"a: profile flag new_value on status: new value: lost (3 rows)"},
		{"fail_on names another flag", []report.ModelDiff{{Model: "a", Result: same, Profile: flagged}}, nil, config.FailOn{Profile: []string{"out_of_range"}}, Neutral, "1 model of 1 compared changed data; 2 profile flags"},
		{"a keyless model's flag fails too", []report.ModelDiff{{Model: "a", Result: keyless, Error: "no key", Profile: flagged}}, nil, config.FailOn{Profile: []string{"row_count", "new_value"}}, Failure,
			"a: profile flag row_count: rows 10 → 20 (+100.0%, limit 10%) (and 1 more)"},
		{"a profile that could not run fails", []report.ModelDiff{{Model: "a", Result: same, ProfileError: "dataops.yml:4: profile.columns: model a has no column \"x\""}}, nil, config.FailOn{}, Failure,
			"a: the profile failed: dataops.yml:4: profile.columns: model a has no column \"x\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Diff(tc.diffs, tc.p, tc.rules)
			if r.Conclusion != tc.conclusion || r.Title != tc.title {
				t.Errorf("%s %q, want %s %q", r.Conclusion, r.Title, tc.conclusion, tc.title)
			}
		})
	}
}

// TestDiffStageAnnotations: a diff or profile that could not run is
// annotated at the model's file, unless a profile rule of dataops.yml is
// the cause: then at the rule's line, where it is fixed.
func TestDiffStageAnnotations(t *testing.T) {
	same := &datadiff.Result{Base: datadiff.Side{Exists: true, Rows: 5}, Head: datadiff.Side{Exists: true, Rows: 5}, Unchanged: 5}
	tests := []struct {
		name string
		diff report.ModelDiff
		want scm.Annotation
	}{
		{"the diff failed", report.ModelDiff{Model: "a", Path: "models/a.sql", Error: "boom"},
			scm.Annotation{Path: "models/a.sql", Level: scm.LevelFailure, Title: "diff failed", Message: "boom"}},
		{"the profile failed", report.ModelDiff{Model: "a", Path: "models/a.sql", Result: same, ProfileError: "timeout"},
			scm.Annotation{Path: "models/a.sql", Level: scm.LevelFailure, Title: "profile failed", Message: "timeout"}},
		{"a profile rule is wrong", report.ModelDiff{Model: "a", Path: "models/a.sql", Result: same,
			ProfileError: `dataops.yml:4: profile.columns: model a has no column "x"`, ProfileErrorPath: "dataops.yml", ProfileErrorLine: 4},
			scm.Annotation{Path: "dataops.yml", Line: 4, Level: scm.LevelFailure, Title: "profile rule",
				Message: `dataops.yml:4: profile.columns: model a has no column "x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Diff([]report.ModelDiff{tc.diff}, nil, config.FailOn{})
			if r.Conclusion != Failure || len(r.Annotations) != 1 || r.Annotations[0] != tc.want {
				t.Errorf("%s %+v, want failure [%+v]", r.Conclusion, r.Annotations, tc.want)
			}
		})
	}
}

func TestDryRunStage(t *testing.T) {
	seed := func(status build.Status) build.NodeResult {
		n := build.NodeResult{Name: "codes", Kind: project.KindSeed, Path: "seeds/codes.csv", Status: status, Columns: make([]warehouse.Column, 2)}
		if status == build.StatusError {
			n.Columns, n.Failure = nil, &build.Failure{Path: "seeds/codes.csv", Line: 3, Message: "seed line 3: 2 fields, but the header has 3 fields"}
		}
		return n
	}
	model := func(status build.Status) build.NodeResult {
		n := build.NodeResult{Name: "x", Kind: project.KindModel, Path: "models/x.sql", Status: status, Columns: make([]warehouse.Column, 3)}
		if status == build.StatusError {
			n.Columns, n.Failure = nil, &build.Failure{Path: "models/x.sql", Line: 2, Message: "no column y"}
		}
		return n
	}
	for _, tc := range []struct {
		name        string
		nodes       []build.NodeResult
		conclusion  Conclusion
		title       string
		annotations string
	}{
		{"passes", []build.NodeResult{seed(build.StatusSuccess), model(build.StatusSuccess)}, Success, "1 model checked by the engine", ""},
		{"a model fails", []build.NodeResult{seed(build.StatusSuccess), model(build.StatusError)}, Failure, "1 model rejected by the engine", "analytics/models/x.sql:2 dry-run error"},
		{"a seed fails", []build.NodeResult{seed(build.StatusError), model(build.StatusSkipped)}, Failure, "1 seed rejected by the dry run", "analytics/seeds/codes.csv:3 seed error"},
		{"both fail", []build.NodeResult{seed(build.StatusError), model(build.StatusError)}, Failure, "1 seed and 1 model rejected by the dry run",
			"analytics/seeds/codes.csv:3 seed error, analytics/models/x.sql:2 dry-run error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := DryRun("analytics", &build.Result{Nodes: tc.nodes}, nil)
			var got []string
			for _, a := range r.Annotations {
				got = append(got, a.Path+":"+strconv.Itoa(a.Line)+" "+a.Title)
			}
			if r.Conclusion != tc.conclusion || r.Title != tc.title || strings.Join(got, ", ") != tc.annotations {
				t.Errorf("%s %q %v, want %s %q %s", r.Conclusion, r.Title, got, tc.conclusion, tc.title, tc.annotations)
			}
			if want := "| `codes` (seed) | " + string(tc.nodes[0].Status) + " | " + strconv.Itoa(len(tc.nodes[0].Columns)) + " |"; !strings.Contains(r.Details, want) {
				t.Errorf("details lack %q:\n%s", want, r.Details)
			}
		})
	}
}

func TestGate(t *testing.T) {
	pass := Result{Name: scm.CheckBuild, Conclusion: Success}
	skipped := Skip(scm.CheckDiff, "nothing changed")
	fail := Result{Name: scm.CheckDryRun, Conclusion: Failure, Title: "1 model rejected by the engine"}
	if g := Gate([]Result{pass, skipped}); g.Conclusion != Success {
		t.Errorf("gate with passing and skipped stages: %+v", g)
	}
	g := Gate([]Result{pass, fail})
	if g.Conclusion != Failure || !strings.Contains(g.Summary, "`dataops/dry-run`: 1 model rejected by the engine") {
		t.Errorf("gate with a failure: %+v", g)
	}
}

func TestCompileStage(t *testing.T) {
	r := Compile(".", nil, plan.Attribution{Introduced: project.Diagnostics{{Path: "models/a.sql", Line: 2, Col: 3, Message: "boom", Hint: "fix it"}}})
	if r.Conclusion != Failure || r.Title != "1 compile error" || r.Annotations[0].Path != "models/a.sql" || r.Annotations[0].Message != "boom (fix it)" {
		t.Errorf("%+v", r)
	}
	if c := r.Check(); c.Status != scm.StatusCompleted || c.Conclusion != "failure" || len(c.Annotations) != 1 {
		t.Errorf("as a check: %+v", c)
	}
}

func TestGateApprovals(t *testing.T) {
	pass := Result{Name: scm.CheckBuild, Conclusion: Success}
	fail := Result{Name: scm.CheckDryRun, Conclusion: Failure, Title: "1 model rejected by the engine"}
	for _, c := range []struct {
		name       string
		stages     []Result
		approvals  Approvals
		conclusion Conclusion
		title      string
		summary    string
	}{
		{"none required", []Result{pass}, Approvals{}, Success, "Ready to merge", "Every dataops check passed."},
		{"enough", []Result{pass}, Approvals{Required: 1, Approvers: []string{"ana"}}, Success, "Ready to merge", "Approved by ana."},
		{"from teams", []Result{pass}, Approvals{Required: 2, Teams: []string{"acme/data"}, Approvers: []string{"ana", "bo"}}, Success, "Ready to merge", "Approved from members of acme/data by ana, bo."},
		{"missing", []Result{pass}, Approvals{Required: 2, Approvers: []string{"ana"}}, Failure, "Waiting for approvals", "- 1 of 2 approvals"},
		{"missing from teams", []Result{pass}, Approvals{Required: 1, Teams: []string{"acme/data"}}, Failure, "Waiting for approvals", "- 0 of 1 approval from members of acme/data"},
		{"unreadable", []Result{pass}, Approvals{Required: 1, Err: errors.New("403 Forbidden")}, Failure, "Waiting for approvals", "approvals could not be read: 403 Forbidden"},
		{"checks and approvals", []Result{pass, fail}, Approvals{Required: 1}, Failure, "Blocked by 2 checks", "`dataops/dry-run`: 1 model rejected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := GateWith(c.stages, c.approvals)
			if g.Conclusion != c.conclusion || g.Title != c.title || !strings.Contains(g.Summary, c.summary) {
				t.Errorf("got %s %q %q; want %s %q containing %q", g.Conclusion, g.Title, g.Summary, c.conclusion, c.title, c.summary)
			}
		})
	}
}
