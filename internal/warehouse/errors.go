package warehouse

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrRelationNotFound is wrapped by Columns when the relation is missing.
	ErrRelationNotFound = errors.New("relation not found")
	// ErrUnmarkedSchema: the schema exists but dataops did not create it, so
	// dataops will neither adopt nor drop it.
	ErrUnmarkedSchema = errors.New("schema was not created by dataops (it has no dataops environment marker)")
	// ErrEnvironmentConflict: the schema is the environment of another PR.
	ErrEnvironmentConflict = errors.New("schema is the environment of another pull request")
	// ErrNotSelect: dry-run input was not a single SELECT.
	ErrNotSelect = errors.New("expected a single SELECT statement")
	// ErrStatementTimeout is wrapped by the error of a statement stopped at
	// the statement timeout (Options.StatementTimeout).
	ErrStatementTimeout = errors.New("statement timeout")
)

// TimeoutError is the error of a statement stopped after timeout, the
// statement timeout; err is what the engine said.
func TimeoutError(engine string, timeout time.Duration, query string, err error) error {
	return &SQLError{Engine: engine, Query: query, Err: errors.Join(ErrStatementTimeout, err),
		Message: fmt.Sprintf("the statement was stopped after %s, the statement timeout", timeout),
		Hint:    "make it faster, or ask whoever runs dataops to raise its statement timeout (warehouse.statement_timeout in the bot's serve.yml)"}
}

// SQLError is an error reported by the engine for a statement.
type SQLError struct {
	Engine  string // "duckdb" | "postgres"
	Code    string // SQLSTATE on PostgreSQL; empty on DuckDB
	Message string // the engine's message, without position excerpts
	Detail  string
	Hint    string
	// Position is the 1-based character (not byte) offset into Query where
	// the engine located the error, 0 when it did not say.
	Position int
	Query    string
	Err      error // the driver's error
}

func (e *SQLError) Error() string {
	var b strings.Builder
	b.WriteString(e.Engine)
	b.WriteString(": ")
	b.WriteString(e.Message)
	var where []string
	if e.Code != "" {
		where = append(where, "SQLSTATE "+e.Code)
	}
	if line, col := e.LineColumn(); line > 0 {
		where = append(where, fmt.Sprintf("line %d, column %d", line, col))
	}
	if len(where) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(where, ", "))
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Hint != "" {
		b.WriteString(" (hint: " + e.Hint + ")")
	}
	return b.String()
}

func (e *SQLError) Unwrap() error { return e.Err }

// LineColumn converts Position into a 1-based line and column (in
// characters) of Query; 0, 0 when the position is unknown.
func (e *SQLError) LineColumn() (line, col int) {
	return LineColumn(e.Query, e.Position)
}

// LineColumn converts a 1-based character position in s into a 1-based line
// and column; 0, 0 when pos is out of range.
func LineColumn(s string, pos int) (line, col int) {
	if pos <= 0 {
		return 0, 0
	}
	line, col = 1, 1
	n := 0
	for _, r := range s {
		n++
		if n == pos {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	if n+1 == pos { // just past the end: "syntax error at end of input"
		return line, col
	}
	return 0, 0
}

// ConnectError is a failure to open a warehouse. It names the masked DSN, the
// cause, and what to do about it.
type ConnectError struct {
	DSN   string // masked
	Cause string
	Hint  string
	Err   error
}

func (e *ConnectError) Error() string {
	msg := "connect " + e.DSN + ": " + e.Cause
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func (e *ConnectError) Unwrap() error { return e.Err }
