// Package checks holds the stages of a pull request's checks: compile,
// dry-run, build (models and tests), diff and gate. Each turns what its
// stage found into a Result: a conclusion, a title and summary people read,
// the full detail, and annotations on the files at fault.
package checks

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
)

// Conclusion of a stage, as code hosts name it.
type Conclusion string

const (
	Success   Conclusion = scm.ConclusionSuccess
	Failure   Conclusion = scm.ConclusionFailure
	Neutral   Conclusion = scm.ConclusionNeutral
	Skipped   Conclusion = scm.ConclusionSkipped
	Cancelled Conclusion = scm.ConclusionCancelled
)

// Result is one stage's outcome.
type Result struct {
	Name        string           `json:"name"` // one of the scm.Check* names
	Conclusion  Conclusion       `json:"conclusion"`
	Title       string           `json:"title"`
	Summary     string           `json:"summary"`
	Details     string           `json:"details,omitempty"`
	Annotations []scm.Annotation `json:"annotations,omitempty"`
}

// Check is the Result as a completed check for a code host.
func (r Result) Check() scm.Check {
	return scm.Check{Name: r.Name, Status: scm.StatusCompleted, Conclusion: string(r.Conclusion), Title: r.Title,
		Summary: r.Summary, Text: r.Details, Annotations: r.Annotations}
}

// Failed reports whether the stage stops what comes after it.
func (r Result) Failed() bool { return r.Conclusion == Failure || r.Conclusion == Cancelled }

// Stages in the order they run.
var Stages = []string{scm.CheckCompile, scm.CheckDryRun, scm.CheckBuild, scm.CheckDiff, scm.CheckGate}

// Skip is a stage that did not run, and why.
func Skip(name, why string) Result {
	return Result{Name: name, Conclusion: Skipped, Title: "Skipped: " + why, Summary: "Skipped: " + why + "."}
}

// DryRun reports the engine's check of each changed model, with the schema
// changes the plan found. The seeds the models read are checked too: their
// files are read and typed as the build would load them.
func DryRun(dir string, res *build.Result, p *plan.Plan) Result {
	r := Result{Name: scm.CheckDryRun}
	failed, failedSeeds, models := 0, 0, 0
	var rows []string
	for _, n := range res.Nodes {
		name := "`" + n.Name + "`"
		switch n.Kind {
		case project.KindModel:
			models++
			if n.Status.Failed() {
				failed++
				r.Annotations = append(r.Annotations, failureAnnotation(dir, n, "dry-run error"))
			}
		case project.KindSeed:
			name += " (seed)"
			if n.Status.Failed() {
				failedSeeds++
				r.Annotations = append(r.Annotations, failureAnnotation(dir, n, "seed error"))
			}
		default:
			continue
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %d |", name, n.Status, len(n.Columns)))
	}
	breaking := 0
	if p != nil {
		for _, c := range p.Changes {
			if c.Impact != nil && c.Impact.Kind == "breaking" {
				breaking++
			}
		}
	}
	switch {
	case failedSeeds > 0 && failed > 0:
		r.Conclusion = Failure
		r.Title = fmt.Sprintf("%s and %s rejected by the dry run", plural(failedSeeds, "seed"), plural(failed, "model"))
	case failedSeeds > 0:
		r.Conclusion = Failure
		r.Title = fmt.Sprintf("%s rejected by the dry run", plural(failedSeeds, "seed"))
	case failed > 0:
		r.Conclusion = Failure
		r.Title = fmt.Sprintf("%s rejected by the engine", plural(failed, "model"))
	default:
		r.Conclusion = Success
		r.Title = fmt.Sprintf("%s checked by the engine", plural(models, "model"))
		if breaking > 0 {
			r.Title += fmt.Sprintf("; %s", plural(breaking, "breaking change"))
		}
	}
	r.Summary = r.Title + "."
	if len(rows) > 0 {
		r.Details = "| model | status | columns |\n|---|---|---:|\n" + strings.Join(rows, "\n")
	}
	return r
}

// Build reports models built and tests run in the environment.
func Build(dir string, res *build.Result) Result {
	r := Result{Name: scm.CheckBuild}
	c := res.Count()
	var rows []string
	for _, n := range res.Nodes {
		switch {
		case n.Status.Failed():
			r.Annotations = append(r.Annotations, failureAnnotation(dir, n, string(n.Kind)+" "+string(n.Status)))
		case n.Status == build.StatusWarn:
			a := failureAnnotation(dir, n, "test warning")
			a.Level = scm.LevelWarning
			r.Annotations = append(r.Annotations, a)
		}
		if n.Kind != project.KindTest || n.Status != build.StatusPass {
			rows = append(rows, fmt.Sprintf("| `%s` | %s | %s | %s |", n.Name, n.Materialized, rowCount(n), n.Status))
		}
	}
	r.Title = fmt.Sprintf("%d built, %d failed, %d skipped; tests: %d passed, %d failed, %d warned",
		c[build.StatusSuccess], c[build.StatusError], c[build.StatusSkipped], c[build.StatusPass], c[build.StatusFail], c[build.StatusWarn])
	r.Conclusion = Success
	if res.Failed() {
		r.Conclusion = Failure
	}
	r.Summary = r.Title + "."
	r.Details = "| node | materialization | rows | status |\n|---|---|---:|---|\n" + strings.Join(rows, "\n")
	return r
}

// Diff reports the data diffs and profile diffs. By default it informs
// (neutral when data changed or a profile rule flagged something, success
// when nothing did); the rules in dataops.yml (fail_on, including the
// profile flags it names) can make findings fail it, and a diff or profile
// that could not run always does.
func Diff(diffs []report.ModelDiff, p *plan.Plan, rules config.FailOn) Result {
	r := Result{Name: scm.CheckDiff, Conclusion: Success}
	changed := 0
	var reasons []string
	breaking := map[string]bool{}
	if p != nil {
		for _, c := range p.Changes {
			if c.Impact != nil && c.Impact.Kind == "breaking" {
				breaking[c.Name] = true
			}
		}
	}
	flags := 0
	for _, d := range diffs {
		if d.ProfileError != "" {
			reasons = append(reasons, fmt.Sprintf("`%s`: the profile failed: %s", d.Model, d.ProfileError))
			a := scm.Annotation{Path: d.Path, Level: scm.LevelFailure, Title: "profile failed", Message: d.ProfileError}
			if d.ProfileErrorPath != "" {
				// A wrong rule is fixed in dataops.yml, not in the model.
				a = scm.Annotation{Path: d.ProfileErrorPath, Line: d.ProfileErrorLine, Level: scm.LevelFailure, Title: "profile rule", Message: d.ProfileError}
			}
			r.Annotations = append(r.Annotations, a)
		}
		if d.Profile != nil {
			flags += len(d.Profile.Flags)
			for _, f := range d.Profile.Flags {
				if slices.Contains(rules.Profile, f.Flag) {
					reasons = append(reasons, fmt.Sprintf("`%s`: %s", d.Model, profileFlagText(f)))
				}
			}
		}
		res := d.Result
		if res == nil {
			reasons = append(reasons, fmt.Sprintf("`%s`: the diff failed: %s", d.Model, d.Error))
			r.Annotations = append(r.Annotations, scm.Annotation{Path: d.Path, Level: scm.LevelFailure, Title: "diff failed", Message: d.Error})
			continue
		}
		if !res.Identical() || d.Profile != nil && len(d.Profile.Flags) > 0 {
			changed++
		}
		if rules.RemovedRows && res.OnlyInBase > 0 {
			reasons = append(reasons, fmt.Sprintf("`%s` removes %d rows", d.Model, res.OnlyInBase))
		}
		if rules.BreakingChange && (breaking[d.Model] || len(res.Schema.Removed)+len(res.Schema.Retyped) > 0) {
			reasons = append(reasons, fmt.Sprintf("`%s` has a breaking change", d.Model))
		}
		if matched := res.Changed + res.Unchanged; rules.ChangedPercent > 0 && matched > 0 {
			if pct := 100 * float64(res.Changed) / float64(matched); pct > rules.ChangedPercent {
				reasons = append(reasons, fmt.Sprintf("`%s` changes %.1f%% of its rows (limit %g%%)", d.Model, pct, rules.ChangedPercent))
			}
		}
	}
	switch {
	case len(reasons) > 0:
		r.Conclusion = Failure
		r.Title = strings.ReplaceAll(reasons[0], "`", "")
		if len(reasons) > 1 {
			r.Title += fmt.Sprintf(" (and %d more)", len(reasons)-1)
		}
	case changed > 0:
		r.Conclusion = Neutral
		r.Title = fmt.Sprintf("%s of %d compared changed data", plural(changed, "model"), len(diffs))
		if flags > 0 {
			r.Title += fmt.Sprintf("; %s", plural(flags, "profile flag"))
		}
	case len(diffs) == 0:
		r.Title = "No models to compare"
	default:
		r.Title = fmt.Sprintf("No data changed in %s", plural(len(diffs), "model"))
	}
	r.Summary = r.Title + "."
	if len(reasons) > 0 {
		r.Summary += "\n\n- " + strings.Join(reasons, "\n- ")
	}
	r.Details = report.Full(report.Input{Diffs: diffs})
	return r
}

// profileFlagText names a flag and its column for a reason line.
func profileFlagText(f profile.Flag) string {
	if f.Column == "" {
		return fmt.Sprintf("profile flag %s: %s", f.Flag, f.Message)
	}
	return fmt.Sprintf("profile flag %s on `%s`: %s", f.Flag, f.Column, f.Message)
}

// Gate passes only when every earlier stage passed: it is the check branch
// protection requires.
func Gate(stages []Result) Result {
	return GateWith(stages, Approvals{})
}

// Approvals is what the gate needs of the pull request's reviews.
type Approvals struct {
	// Required approvals (gate.approvals in dataops.yml); 0 needs none.
	Required int
	// Teams, when set, are the teams whose members' approvals count.
	Teams []string
	// Approvers are the people whose approvals count.
	Approvers []string
	// Err is why the approvals could not be read; the gate then blocks.
	Err error
}

// GateWith is the merge gate: every stage passed and the approvals are in.
func GateWith(stages []Result, a Approvals) Result {
	r := Result{Name: scm.CheckGate}
	var blockers []string
	for _, s := range stages {
		if s.Name == scm.CheckGate {
			continue
		}
		if s.Failed() {
			blockers = append(blockers, fmt.Sprintf("`%s`: %s", s.Name, s.Title))
		}
	}
	from := ""
	if len(a.Teams) > 0 {
		from = " from members of " + strings.Join(a.Teams, ", ")
	}
	switch {
	case a.Required == 0:
	case a.Err != nil:
		blockers = append(blockers, fmt.Sprintf("approvals could not be read: %v", a.Err))
	case len(a.Approvers) < a.Required:
		blockers = append(blockers, fmt.Sprintf("%d of %s%s", len(a.Approvers), plural(a.Required, "approval"), from))
	}
	if len(blockers) > 0 {
		r.Conclusion = Failure
		r.Title = fmt.Sprintf("Blocked by %s", plural(len(blockers), "check"))
		if len(blockers) == 1 && a.Required > 0 && (a.Err != nil || len(a.Approvers) < a.Required) {
			r.Title = "Waiting for approvals"
		}
		r.Summary = "Merging is blocked until these pass:\n\n- " + strings.Join(blockers, "\n- ")
		return r
	}
	r.Conclusion = Success
	r.Title = "Ready to merge"
	r.Summary = "Every dataops check passed."
	if a.Required > 0 {
		r.Summary += fmt.Sprintf(" Approved%s by %s.", from, strings.Join(a.Approvers, ", "))
	}
	return r
}

func failureAnnotation(dir string, n build.NodeResult, title string) scm.Annotation {
	a := scm.Annotation{Path: repoPath(dir, n.Path), Level: scm.LevelFailure, Title: title, Message: n.Message}
	if n.Failure != nil {
		a.Path = repoPath(dir, n.Failure.Path)
		a.Line = n.Failure.Line
		a.Message = n.Failure.Message
	}
	if n.Sample != nil && len(n.Sample.Values) > 0 {
		vals := make([]string, len(n.Sample.Values[0]))
		for i, v := range n.Sample.Values[0] {
			vals[i] = report.Value(v)
		}
		a.Message += " (e.g. " + strings.Join(vals, ", ") + ")"
	}
	return a
}

func repoPath(dir, p string) string {
	if dir == "" || dir == "." {
		return p
	}
	return path.Join(dir, p)
}

func rowCount(n build.NodeResult) string {
	switch {
	case n.Kind == project.KindTest && n.Failures > 0:
		return fmt.Sprintf("%d failing", n.Failures)
	case n.Rows >= 0:
		return fmt.Sprint(n.Rows)
	}
	return "-"
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
