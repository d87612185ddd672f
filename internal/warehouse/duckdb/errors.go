package duckdb

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dataops-dev/dataops/internal/warehouse"
	duckdbdriver "github.com/marcboeker/go-duckdb/v2"
	"golang.org/x/text/width"
)

// wrapError turns a DuckDB error into a *warehouse.SQLError.
func wrapError(err error, query string) error {
	var de *duckdbdriver.Error
	if !errors.As(err, &de) {
		return err
	}
	msg, excerpt, _ := strings.Cut(de.Msg, "\n\nLINE ")
	return &warehouse.SQLError{
		Engine:   "duckdb",
		Message:  strings.TrimSpace(msg),
		Position: positionFromExcerpt(query, excerpt),
		Query:    query,
		Err:      err,
	}
}

var excerptRE = regexp.MustCompile(`^(\d+): (.*)\n( *)\^`)

// positionFromExcerpt recovers the character position DuckDB points at.
// The Go driver does not expose DuckDB's error location, only the message:
//
//	LINE 3:  nope_table
//	         ^
//
// DuckDB shortens long lines with "..." on either side and places the caret
// by render width (tabs and other controls 0, East Asian wide characters 2),
// see QueryErrorContext::Format in DuckDB. The excerpt is matched against
// the query line and a position is returned only when the match is
// unambiguous and the caret lands on a character, otherwise 0: a wrong
// position would be worse than none.
func positionFromExcerpt(query, excerpt string) int {
	m := excerptRE.FindStringSubmatch(excerpt)
	if m == nil {
		return 0
	}
	lineNo, _ := strconv.Atoi(m[1])
	text := m[2]
	caret := len(m[3]) - len("LINE "+m[1]+": ")
	if rest, cut := strings.CutPrefix(text, "..."); cut {
		text, caret = rest, caret-3
	}
	text = strings.TrimSuffix(text, "...")
	lineStart, line, ok := duckdbLine(query, lineNo)
	if !ok || caret < 0 || text == "" {
		return 0
	}
	start := strings.Index(line, text)
	if start < 0 || strings.Contains(line[start+1:], text) {
		return 0 // missing or ambiguous
	}
	w := 0
	for i, r := range line[start:] {
		rw := renderWidth(r)
		// Errors point at tokens, and tokens start with a visible character.
		if w == caret && rw > 0 {
			return utf8.RuneCountInString(query[:lineStart+start+i]) + 1
		}
		if w += rw; w > caret {
			return 0
		}
	}
	return 0
}

// duckdbLine returns the byte offset and text of 1-based line n, counting
// lines the way DuckDB does: "\r\n", "\n" and a lone "\r" each end a line.
func duckdbLine(query string, n int) (start int, line string, ok bool) {
	for cur := 1; cur < n; cur++ {
		i := strings.IndexAny(query[start:], "\r\n")
		if i < 0 {
			return 0, "", false
		}
		start += i + 1
		if query[start-1] == '\r' && start < len(query) && query[start] == '\n' {
			start++
		}
	}
	line = query[start:]
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	return start, line, true
}

// renderWidth approximates utf8proc's character width, which DuckDB uses to
// place the caret.
func renderWidth(r rune) int {
	switch {
	case r < 0x20 || r >= 0x7f && r < 0xa0:
		return 0
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}
