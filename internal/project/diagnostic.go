package project

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/suggest"
)

// Diagnostic is one problem found while loading or compiling a project. It
// points at the source file the user edits, never at rendered SQL.
type Diagnostic struct {
	Path    string `json:"path"` // relative to the project directory
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// Config marks problems in dbt_project.yml or profiles.yml: the project
	// cannot be understood at all, so the command exits with a usage status.
	Config bool `json:"config,omitempty"`
	// Warning marks what dbt warns about and still runs (properties for a
	// model that does not exist, keys dbt ignores): reported, never failing.
	Warning bool `json:"warning,omitempty"`
	// Node is the unique id of the node this problem keeps from compiling,
	// when there is one: a pull request is blamed only for its own nodes.
	Node string `json:"node,omitempty"`
}

func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Path)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
		if d.Col > 0 {
			fmt.Fprintf(&b, ":%d", d.Col)
		}
	}
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	if d.Hint != "" {
		b.WriteString(" (")
		b.WriteString(d.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Diagnostics is every problem of one run; it is an error when non-empty so a
// caller that only cares about success can treat it as one.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems that are not warnings.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if !d.Warning {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns the warnings.
func (ds Diagnostics) Warnings() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Warning {
			out = append(out, d)
		}
	}
	return out
}

// HasConfigErrors reports whether any problem is in the project's own
// configuration rather than in a model.
func (ds Diagnostics) HasConfigErrors() bool {
	for _, d := range ds {
		if d.Config && !d.Warning {
			return true
		}
	}
	return false
}

// Sort orders problems by file and position so output is stable across runs
// even though models compile in parallel.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Message < b.Message
	})
}

// closest returns up to three candidates nearest to name by edit distance,
// for "did you mean" hints.
func closest(name string, candidates []string) []string {
	type scored struct {
		s string
		d int
	}
	limit := len(name)/3 + 1
	var found []scored
	for _, c := range candidates {
		if diff := utf8.RuneCountInString(c) - utf8.RuneCountInString(name); diff > limit || -diff > limit {
			continue // the distance is at least the difference in length
		}
		if d := suggest.Distance(name, c); d <= limit {
			found = append(found, scored{c, d})
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].d != found[j].d {
			return found[i].d < found[j].d
		}
		return found[i].s < found[j].s
	})
	// Only the nearest are worth reading: a hint listing a far name next
	// to the obvious one hides it.
	var out []string
	for i := 0; i < len(found) && i < 3 && found[i].d == found[0].d; i++ {
		out = append(out, found[i].s)
	}
	return out
}

func didYouMean(name string, candidates []string) string {
	c := closest(name, candidates)
	if len(c) == 0 {
		return ""
	}
	return "did you mean " + quoteList(c) + "?"
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	switch len(q) {
	case 1:
		return q[0]
	case 2:
		return q[0] + " or " + q[1]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
