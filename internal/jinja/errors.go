package jinja

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds are named after the Python exception Jinja2 raises in the same
// situation, so that a failure can be compared with Jinja2's.
const (
	KindSyntax          = "TemplateSyntaxError"
	KindAssertion       = "TemplateAssertionError"
	KindUndefined       = "UndefinedError"
	KindRuntime         = "TemplateRuntimeError"
	KindNotFound        = "TemplateNotFound"
	KindFilterArgument  = "FilterArgumentError"
	KindSecurity        = "SecurityError"
	KindType            = "TypeError"
	KindValue           = "ValueError"
	KindKey             = "KeyError"
	KindIndex           = "IndexError"
	KindAttribute       = "AttributeError"
	KindZeroDivision    = "ZeroDivisionError"
	KindOverflow        = "OverflowError"
	KindRecursion       = "RecursionError"
	KindAssertionFailed = "AssertionError"
	// KindLimit is ours: a render exceeded one of Limits, or its context was
	// cancelled or passed its deadline (then Err is the context's error).
	KindLimit = "LimitError"
	// KindHost is an error returned by a host function that is not an *Error.
	KindHost = "Error"
)

// Position is a place in a template: its name, 1-based line and column
// (columns count characters, not bytes).
type Position struct {
	Name string
	Line int
	Col  int
}

func (p Position) String() string {
	name := p.Name
	if name == "" {
		name = "<template>"
	}
	if p.Line == 0 {
		return name
	}
	return fmt.Sprintf("%s:%d:%d", name, p.Line, p.Col)
}

// Frame is one step of the call chain an error passed through: a macro
// called (or a template included) at Call, defined at Def.
type Frame struct {
	Name string   // "macro foo", "include 'x.sql'", "caller"...
	Def  Position // where the macro or template starts
	Call Position // where it was called from
}

// Error is every error the engine returns: what went wrong (Kind, Msg), where
// (Pos) and through which macro calls and includes (Stack, innermost first).
type Error struct {
	Kind  string
	Msg   string
	Pos   Position
	Stack []Frame
	// Limit names the limit that was exceeded (Kind == KindLimit).
	Limit string
	// Err is the cause: a host function's error or the context's error.
	Err error
	// positioned is set once Pos is final, so outer nodes do not move it.
	positioned bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Kind != KindHost {
		b.WriteString(e.Kind)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	for _, f := range e.Stack {
		fmt.Fprintf(&b, "\n  in %s (%s), called from %s", f.Name, f.Def, f.Call)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func newError(kind, msg string) *Error { return &Error{Kind: kind, Msg: msg} }

func errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func typeErrorf(format string, args ...any) *Error { return errorf(KindType, format, args...) }

// asError turns any error into an *Error, keeping a host error as the cause.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindHost, Msg: err.Error(), Err: err}
}

// at gives err the position p unless an inner node already did.
func at(err error, p Position) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*returnSignal); ok {
		return err
	}
	e := asError(err)
	if !e.positioned {
		e.Pos = p
		e.positioned = true
	}
	return e
}

// Limit names, for Error.Limit.
const (
	LimitDeadline  = "deadline"
	LimitCallDepth = "call depth"
	LimitNesting   = "nesting"
	LimitOutput    = "output size"
	LimitMemory    = "memory"
)

func limitError(limit, msg string) *Error {
	return &Error{Kind: KindLimit, Limit: limit, Msg: msg}
}
