package report

import (
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/profile"
)

// Profile diffs as markdown: a line for the relation (rows, the sample),
// one table of columns, the flags under it. The comment's table lists only
// the columns that changed or were flagged, and folds the others in
// <details>; the full report lists every column.

// profileView is how much of a profile diff to show.
type profileView int

const (
	profileCompact   profileView = iota // changed and flagged columns; the rest folded
	profileFull                         // every column
	profileFlagsOnly                    // the row line and the flags, for a shortened comment
)

// profileMarkdown renders one model's profile diff.
func profileMarkdown(d *profile.Diff, view profileView) string {
	if d == nil || d.Head == nil {
		return ""
	}
	blocks := []string{cell(d.Headline())}
	var shown, folded []profile.Pair
	for _, p := range d.Pairs() {
		if view == profileFull || p.Changed || len(p.Flags) > 0 {
			shown = append(shown, p)
		} else {
			folded = append(folded, p)
		}
	}
	if view != profileFlagsOnly && len(shown) > 0 {
		blocks = append(blocks, profileTable(shown))
	}
	if len(d.Flags) > 0 {
		var lines []string
		for _, f := range d.Flags {
			where := ""
			if f.Column != "" {
				where = " `" + cell(f.Column) + "`"
			}
			lines = append(lines, fmt.Sprintf("- ⚠️ **%s**%s: %s", f.Flag, where, cell(f.Message)))
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	if view == profileCompact && len(folded) > 0 {
		blocks = append(blocks, fmt.Sprintf("<details><summary>%s unchanged</summary>\n\n%s\n\n</details>", plural(len(folded), "column"), profileTable(folded)))
	}
	if note := d.SampleNote(); note != "" {
		blocks = append(blocks, "<sub>"+cell(note)+"</sub>")
	}
	return strings.Join(blocks, "\n\n")
}

// profileTable has one row per column: each statistic as "production →
// here" when it changed, once when it did not.
func profileTable(pairs []profile.Pair) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(profile.ColumnHeader, " | ") + " |\n|---|---|---:|---:|---|---|---|\n")
	for _, p := range pairs {
		cells := p.Cells()
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		cells[0] = "`" + cells[0] + "`"
		if len(p.Flags) > 0 {
			cells[0] = "⚠️ " + cells[0]
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
