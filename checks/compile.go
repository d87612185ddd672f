package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/scm"
)

// maxListed bounds the problems and skipped models a summary lists; the
// check's text holds the rest.
const maxListed = 30

// Compile reports the compile of a pull request's head. dir is the
// project's folder relative to the repository root, so annotations point
// at files in the pull request. The check fails only for the errors the
// pull request brought (a.Introduced); errors its base already had are
// listed as existing, and the models they keep from building are listed as
// skipped with the reason, while the rest of the checks go on with what
// compiled. head is nil when the project could not be loaded at all.
func Compile(dir string, head *project.Manifest, a plan.Attribution) Result {
	r := Result{Name: scm.CheckCompile}
	for _, d := range a.Introduced {
		msg := d.Message
		if d.Hint != "" {
			msg += " (" + d.Hint + ")"
		}
		r.Annotations = append(r.Annotations, scm.Annotation{Path: repoPath(dir, d.Path), Line: d.Line,
			Level: scm.LevelFailure, Title: "compile error", Message: msg})
	}
	var summary, details []string
	list := func(heading string, lines []string) {
		if len(lines) == 0 {
			return
		}
		shown := lines
		if len(shown) > maxListed {
			shown = append(append([]string(nil), shown[:maxListed]...), fmt.Sprintf("- and %d more (see the details)", len(lines)-maxListed))
		}
		summary = append(summary, heading+"\n\n"+strings.Join(shown, "\n"))
		details = append(details, heading+"\n\n"+strings.Join(lines, "\n"))
	}
	skipped := skippedModels(head)
	if len(a.Introduced) > 0 || head == nil {
		r.Conclusion = Failure
		r.Title = plural(len(a.Introduced), "compile error")
		list("This pull request brings "+plural(len(a.Introduced), "compile error")+":", diagnosticLines(dir, a.Introduced))
	} else {
		s := head.Stats()
		r.Conclusion = Success
		r.Title = "Compiled " + s.String()
		summary = append(summary, fmt.Sprintf("Compiled `%s`: %s.", head.Project, s))
		details = append(details, summary[0])
	}
	if len(a.Existing) > 0 {
		if r.Conclusion == Success {
			r.Title += fmt.Sprintf("; %s the base already had", plural(len(a.Existing), "error"))
		}
		list(fmt.Sprintf("%s the base revision already had (not this pull request's):", plural(len(a.Existing), "compile error")),
			diagnosticLines(dir, a.Existing))
	}
	list(fmt.Sprintf("%s not checked further (they did not compile, or depend on one that did not):", plural(len(skipped), "model")), skipped)
	if len(a.Warnings) > 0 {
		lines := diagnosticLines(dir, a.Warnings)
		details = append(details, fmt.Sprintf("%s (dbt runs with them):\n\n%s", plural(len(lines), "warning"), strings.Join(lines, "\n")))
		summary = append(summary, plural(len(lines), "warning")+", listed in the details.")
	}
	r.Summary = strings.Join(summary, "\n\n")
	if len(details) > 1 || len(a.Warnings) > 0 {
		r.Details = strings.Join(details, "\n\n")
	}
	return r
}

func diagnosticLines(dir string, ds project.Diagnostics) []string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		d.Path = repoPath(dir, d.Path)
		lines[i] = "- `" + d.String() + "`"
	}
	return lines
}

// skippedModels lists the models of a partial compile that cannot be
// checked, each with its reason.
func skippedModels(m *project.Manifest) []string {
	if m == nil {
		return nil
	}
	var lines []string
	for _, s := range m.Skipped {
		if s.Kind == project.KindModel {
			lines = append(lines, fmt.Sprintf("- `%s` (%s): %s", s.Name, s.Path, s.Reason))
		}
	}
	sort.Strings(lines)
	return lines
}
