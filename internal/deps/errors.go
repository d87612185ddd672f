package deps

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem the user fixes in their files: it names the file and
// line (or the package) and says what to do. Config problems (a malformed
// packages.yml, a version range nothing satisfies, a revision that does not
// exist) are the user's to fix; others (a hub that does not answer, a disk
// that is full) may pass on a retry.
type Error struct {
	File    string // packages.yml, dependencies.yml, package-lock.yml, or a package's own file
	Line    int
	Package string // the package the problem is about, when there is one
	Message string
	Hint    string
	Config  bool
	Err     error // the cause, for errors.Is/As
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Package != "" {
		b.WriteString(e.Package)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString("\n  ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsConfig reports whether err is a problem in the user's files (exit
// status 2) rather than one of the network or the disk (exit status 1).
func IsConfig(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Config
}

// configError makes a user-fixable error at a position.
func configError(at Origin, pkg, hint, format string, args ...any) *Error {
	return &Error{File: at.File, Line: at.Line, Package: pkg, Message: fmt.Sprintf(format, args...), Hint: hint, Config: true}
}

// Origin says where a package requirement came from: a line of the
// project's packages file, or another package that requires it.
type Origin struct {
	File string
	Line int
	// By names the package whose requirement this is ("" for the project).
	By string
}

func (o Origin) String() string {
	if o.By != "" {
		return "required by " + o.By
	}
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return o.File
}
