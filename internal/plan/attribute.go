package plan

import "github.com/dataops-dev/dataops/internal/project"

// Attribution sorts a head revision's compile problems by whose they are.
type Attribution struct {
	// Introduced are errors the pull request brought: in nodes it added or
	// changed, or new since the base.
	Introduced project.Diagnostics
	// Existing are errors the base revision already had, in nodes the pull
	// request left alone: listed, not blamed on it.
	Existing project.Diagnostics
	// Warnings of the head revision (dbt would run with them).
	Warnings project.Diagnostics
}

// Attribute compares the problems of compiling base and head. A head
// error is existing when the base has an error with the same file and
// message, and the node it belongs to (if any) has the same source in
// both; lines are not compared, since edits elsewhere in a file move them.
// base may be nil when the base revision could not be loaded at all: then
// every error is the pull request's.
func Attribute(base, head *project.Manifest, baseDs, headDs project.Diagnostics) Attribution {
	type key struct{ path, msg string }
	before := map[key]bool{}
	for _, d := range baseDs.Errors() {
		before[key{d.Path, d.Message}] = true
	}
	var a Attribution
	a.Warnings = headDs.Warnings()
	for _, d := range headDs.Errors() {
		if before[key{d.Path, d.Message}] && unchanged(base, head, d.Node) {
			a.Existing = append(a.Existing, d)
		} else {
			a.Introduced = append(a.Introduced, d)
		}
	}
	return a
}

// unchanged reports whether node id failed in both revisions from the same
// source; a problem that names no node only needs the same message.
func unchanged(base, head *project.Manifest, id string) bool {
	if id == "" {
		return true
	}
	if base == nil || head == nil {
		return false
	}
	b, h := base.Skipped[id], head.Skipped[id]
	return b != nil && h != nil && b.Checksum == h.Checksum
}
