package github_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/scm"
)

func TestPublishCheckLifecycle(t *testing.T) {
	e := setup(t)
	steps := []struct {
		name      string
		check     scm.Check
		newHost   bool // a restarted process: nothing remembered
		wantOps   []string
		wantState string
	}{
		{
			name:      "starts in progress",
			check:     scm.Check{Name: scm.CheckBuild, Status: scm.StatusInProgress, Title: "Building 3 models"},
			wantOps:   []string{"checks/list-for-ref", "checks/create"},
			wantState: "in_progress/",
		},
		{
			name: "completes the same run",
			check: scm.Check{Name: scm.CheckBuild, Status: scm.StatusCompleted, Conclusion: scm.ConclusionFailure,
				Title: "1 model failed", Summary: "orders failed", Text: "details", DetailsURL: "https://ci.example/1"},
			wantOps:   []string{"checks/update"},
			wantState: "completed/failure",
		},
		{
			name:      "a rerun after a restart finds and replaces the run",
			check:     scm.Check{Name: scm.CheckBuild, Status: scm.StatusInProgress, Title: "Building again"},
			newHost:   true,
			wantOps:   []string{"checks/list-for-ref", "checks/update"},
			wantState: "in_progress/",
		},
		{
			name:      "and completes it",
			check:     scm.Check{Name: scm.CheckBuild, Conclusion: scm.ConclusionSuccess, Title: "3 models built"},
			wantOps:   []string{"checks/update"},
			wantState: "completed/success",
		},
	}
	host := e.host
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.newHost {
				host, _ = newHost(t, e.fake, e.logs)
			}
			before := len(e.fake.Requests())
			err := host.PublishCheck(ctx(t), sha, st.check)
			if err != nil {
				t.Fatalf("PublishCheck: %v", err)
			}
			got := operations(e.fake)[before:]
			if strings.Join(got, " ") != strings.Join(st.wantOps, " ") {
				t.Errorf("requests = %v, want %v", got, st.wantOps)
			}
			runs := e.fake.CheckRuns(repo)
			if len(runs) != 1 {
				t.Fatalf("%d check runs, want 1: %+v", len(runs), runs)
			}
			if s := runs[0].Status + "/" + runs[0].Conclusion; s != st.wantState {
				t.Errorf("run is %s, want %s", s, st.wantState)
			}
			if runs[0].Title != st.check.Title || runs[0].Name != scm.CheckBuild || runs[0].HeadSHA != sha {
				t.Errorf("run = %+v", runs[0])
			}
		})
	}
	if got := e.fake.CheckRuns(repo)[0].DetailsURL; got != "https://ci.example/1" {
		t.Errorf("details URL = %q", got)
	}

	// Another check on the same commit is another run.
	if err := e.host.PublishCheck(ctx(t), sha, scm.Check{Name: scm.CheckCompile, Conclusion: scm.ConclusionSuccess, Title: "ok"}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.CheckRuns(repo)); n != 2 {
		t.Errorf("%d check runs, want 2", n)
	}
}

func annotationsN(n int) []scm.Annotation {
	out := make([]scm.Annotation, n)
	for i := range out {
		out[i] = scm.Annotation{Path: fmt.Sprintf("models/m%03d.sql", i), Line: i % 7, Level: scm.LevelWarning, Message: fmt.Sprintf("problem %d", i)}
	}
	return out
}

func TestPublishCheckAnnotationsInBatches(t *testing.T) {
	tests := []struct {
		name     string
		existing bool // the run exists already: the first batch goes with an update
		n        int
		wantOps  []string
		batches  []int
	}{
		{"120 on a new run", false, 120, []string{"checks/list-for-ref", "checks/create", "checks/update", "checks/update"}, []int{50, 50, 20}},
		{"120 on an existing run", true, 120, []string{"checks/update", "checks/update", "checks/update"}, []int{50, 50, 20}},
		{"exactly 50", false, 50, []string{"checks/list-for-ref", "checks/create"}, []int{50}},
		{"51", false, 51, []string{"checks/list-for-ref", "checks/create", "checks/update"}, []int{50, 1}},
		{"none", false, 0, []string{"checks/list-for-ref", "checks/create"}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			if tt.existing {
				if err := e.host.PublishCheck(ctx(t), sha, scm.Check{Name: scm.CheckCompile, Status: scm.StatusInProgress, Title: "compiling"}); err != nil {
					t.Fatal(err)
				}
			}
			before := len(e.fake.Requests())
			c := scm.Check{Name: scm.CheckCompile, Conclusion: scm.ConclusionFailure, Title: "compile errors", Summary: "summary", Text: "text", Annotations: annotationsN(tt.n)}
			if err := e.host.PublishCheck(ctx(t), sha, c); err != nil {
				t.Fatalf("PublishCheck: %v", err)
			}
			reqs := e.fake.Requests()[before:]
			var ops []string
			var batches []int
			for _, r := range reqs {
				ops = append(ops, r.Operation)
				if r.Operation == "checks/list-for-ref" {
					continue
				}
				out, _ := decodeBody(t, r)["output"].(map[string]any)
				if out["title"] != "compile errors" || out["summary"] != "summary" || out["text"] != "text" {
					t.Errorf("%s: output lacks title, summary or text: %v", r.Operation, out)
				}
				anns, _ := out["annotations"].([]any)
				batches = append(batches, len(anns))
			}
			if fmt.Sprint(ops) != fmt.Sprint(tt.wantOps) || fmt.Sprint(batches) != fmt.Sprint(tt.batches) {
				t.Errorf("requests %v with batches %v, want %v with %v", ops, batches, tt.wantOps, tt.batches)
			}
			runs := e.fake.CheckRuns(repo)
			if len(runs) != 1 {
				t.Fatalf("%d runs, want 1", len(runs))
			}
			run := runs[0]
			if len(run.Annotations) != tt.n || run.Conclusion != "failure" {
				t.Fatalf("run has %d annotations and conclusion %q, want %d and failure", len(run.Annotations), run.Conclusion, tt.n)
			}
			for i, a := range run.Annotations {
				if a.Path != fmt.Sprintf("models/m%03d.sql", i) || a.StartLine < 1 || a.EndLine < a.StartLine || a.Level != "warning" {
					t.Errorf("annotation %d = %+v", i, a)
					break
				}
			}
		})
	}
}

func TestPublishCheckCutsLongOutput(t *testing.T) {
	e := setup(t)
	long := strings.Repeat("| model | rows |\n", 5000) // 85000 bytes
	withFence := "```\n" + strings.Repeat("é", 40000)  // multi-byte, inside a code block
	c := scm.Check{Name: scm.CheckDiff, Conclusion: scm.ConclusionNeutral, Title: "diff", Summary: long, Text: withFence,
		Annotations: []scm.Annotation{{Path: "models/a.sql", Line: 3, Level: "error", Title: strings.Repeat("t", 300), Message: strings.Repeat("m", 70000)}}}
	if err := e.host.PublishCheck(ctx(t), sha, c); err != nil {
		t.Fatal(err) // the fake fails the test on a summary over 65535 characters
	}
	run := e.fake.CheckRuns(repo)[0]
	for name, s := range map[string]string{"summary": run.Summary, "text": run.Text} {
		if len(s) > 65535 || !strings.Contains(s, "Cut to fit GitHub's limit") {
			t.Errorf("%s: %d bytes, ends %q", name, len(s), s[max(0, len(s)-120):])
		}
		if !utf8.ValidString(s) {
			t.Errorf("%s: broken UTF-8", name)
		}
	}
	if !strings.HasSuffix(strings.Split(run.Summary, "\n\n_(Cut")[0], "| model | rows |") {
		t.Errorf("summary not cut at a line break")
	}
	if strings.Count(run.Text, "```")%2 != 0 {
		t.Errorf("text leaves a code block open")
	}
	a := run.Annotations[0]
	if a.Level != "failure" || len([]rune(a.Title)) > 255 || len(a.Message) > 64*1024 {
		t.Errorf("annotation = level %s, title %d, message %d", a.Level, len(a.Title), len(a.Message))
	}
}

func TestPublishCheckRejectsBadChecks(t *testing.T) {
	e := setup(t)
	for _, c := range []scm.Check{
		{Name: "", Status: scm.StatusInProgress},
		{Name: scm.CheckBuild, Status: scm.StatusCompleted},
		{Name: scm.CheckBuild, Status: "running"},
		{Name: scm.CheckBuild, Conclusion: "great"},
	} {
		if err := e.host.PublishCheck(ctx(t), sha, c); err == nil {
			t.Errorf("PublishCheck(%+v) = nil, want an error", c)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests for invalid checks", n)
	}
}

func TestStatusesWhenChecksForbidden(t *testing.T) {
	e := setup(t)
	e.fake.Forbid("checks")
	tests := []struct {
		check           scm.Check
		state, describe string
	}{
		{scm.Check{Name: scm.CheckCompile, Status: scm.StatusInProgress, Title: "Compiling"}, "pending", "Compiling"},
		{scm.Check{Name: scm.CheckCompile, Conclusion: scm.ConclusionSuccess, Title: "13 models compiled", DetailsURL: "https://ci.example/run/1"}, "success", "13 models compiled"},
		{scm.Check{Name: scm.CheckBuild, Conclusion: scm.ConclusionFailure, Title: "1 failed"}, "failure", "1 failed"},
		{scm.Check{Name: scm.CheckDiff, Conclusion: scm.ConclusionNeutral, Title: "no diff"}, "success", "Neutral: no diff"},
		{scm.Check{Name: scm.CheckDryRun, Conclusion: scm.ConclusionSkipped, Title: "nothing to check"}, "success", "Skipped: nothing to check"},
		{scm.Check{Name: scm.CheckGate, Conclusion: scm.ConclusionCancelled, Title: strings.Repeat("long ", 60)}, "error", strings.Repeat("long ", 60)[:139] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.check.Name+"/"+tt.state, func(t *testing.T) {
			tt.check.Annotations = annotationsN(3)
			err := e.host.PublishCheck(ctx(t), sha, tt.check)
			if err != nil {
				t.Fatalf("PublishCheck = %v, want the fallback", err)
			}
			sts := e.fake.Statuses(repo, sha)
			got := sts[len(sts)-1]
			if got.Context != tt.check.Name || got.State != tt.state || got.Description != tt.describe || got.TargetURL != tt.check.DetailsURL {
				t.Errorf("status = %+v, want context %s, state %s, description %q", got, tt.check.Name, tt.state, tt.describe)
			}
		})
	}
	if n := len(e.fake.CheckRuns(repo)); n != 0 {
		t.Errorf("%d check runs", n)
	}
	// One create attempt, then statuses only.
	if n := len(calls(e.fake, "checks/create")); n != 1 {
		t.Errorf("%d attempts to create a check run, want 1", n)
	}
	lines := e.logs.Lines(`checks: write`)
	if len(lines) != 1 {
		t.Fatalf("%d log lines name checks: write, want exactly 1:\n%s", len(lines), e.logs)
	}
	if !strings.Contains(lines[0], "commit statuses instead") {
		t.Errorf("the log line does not say what happens instead: %s", lines[0])
	}
}

func TestNothingPublishedWhenStatusesForbiddenToo(t *testing.T) {
	e := setup(t)
	e.fake.Forbid("checks", "statuses")
	for i := 0; i < 3; i++ {
		if err := e.host.PublishCheck(ctx(t), sha, scm.Check{Name: scm.CheckBuild, Conclusion: scm.ConclusionSuccess, Title: "ok"}); err != nil {
			t.Fatalf("PublishCheck = %v, want it skipped", err)
		}
	}
	if n := len(e.logs.Lines(`statuses: write`)); n != 1 {
		t.Errorf("%d log lines name statuses: write, want 1:\n%s", n, e.logs)
	}
	if n := len(calls(e.fake, "repos/create-commit-status")); n != 1 {
		t.Errorf("%d status attempts, want 1", n)
	}
}

func TestPublishCheckReplacesAForeignRun(t *testing.T) {
	// A run of the same name the token may not update (another app's):
	// the Host creates its own rather than falling back to statuses.
	e := setup(t)
	if err := e.host.PublishCheck(ctx(t), sha, scm.Check{Name: scm.CheckGate, Status: scm.StatusInProgress, Title: "t"}); err != nil {
		t.Fatal(err)
	}
	other, _ := newHost(t, e.fake, e.logs)
	e.fake.FailNext("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 403, nil)
	if err := other.PublishCheck(ctx(t), sha, scm.Check{Name: scm.CheckGate, Conclusion: scm.ConclusionSuccess, Title: "t"}); err != nil {
		t.Fatal(err)
	}
	runs := e.fake.CheckRuns(repo)
	if len(runs) != 2 || runs[1].Conclusion != "success" {
		t.Errorf("runs = %+v", runs)
	}
	if len(e.logs.Lines("checks: write")) != 0 {
		t.Errorf("logged a missing permission")
	}
}
