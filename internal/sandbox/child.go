package sandbox

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"runtime/debug"
	"time"

	"github.com/dataops-dev/dataops/internal/project"
)

// The conversation, in gob over the child's stdin and stdout: the parent
// sends a request; the child sends queries, each answered before it goes
// on, then its result.

// request is what the parent sends first.
type request struct {
	Dir    string
	Files  []project.File
	Target project.Target
	// QueryTarget is where compile-time queries read (production).
	QueryTarget *project.Target
	Vars        map[string]any
	// Env is what env_var() reads: the child's own environment is empty.
	Env    map[string]string
	Memory int64
}

// toParent is one message of the child.
type toParent struct {
	Query  *query
	Result *response
}

// query is a compile-time query: SQL, or a relation's columns.
type query struct {
	SQL          string
	Schema, Name string // Columns of this relation when SQL is empty
}

// answer is the parent's answer to a query.
type answer struct {
	Columns []string
	Rows    [][]any
	Cols    []Column
	Found   bool
	Err     string
}

// response is the child's result.
type response struct {
	Manifest    *project.Manifest
	Diagnostics project.Diagnostics
	// Loaded is false when the files were not a project (Diagnostics say
	// why).
	Loaded bool
}

func init() {
	// Values of query rows, beside gob's basic types (and project's).
	gob.Register(time.Time{})
	gob.Register(&big.Int{})
}

// talk sends the request and answers the child's queries until its result
// comes; what it reads is bounded by memory.
func (ch *child) talk(ctx context.Context, in Input, memory int64) (*response, error) {
	enc := gob.NewEncoder(ch.stdin)
	dec := gob.NewDecoder(io.LimitReader(ch.stdout, memory))
	req := request{Dir: in.Dir, Files: in.Files, Target: in.Options.Target, QueryTarget: in.Options.QueryTarget, Vars: in.Options.Vars, Env: in.Env, Memory: memory}
	if err := enc.Encode(req); err != nil {
		return nil, fmt.Errorf("send the request: %w", err)
	}
	for {
		var msg toParent
		if err := dec.Decode(&msg); err != nil {
			return nil, fmt.Errorf("read the child: %w", err)
		}
		if msg.Result != nil {
			return msg.Result, nil
		}
		if msg.Query == nil {
			return nil, errors.New("read the child: an empty message")
		}
		if err := enc.Encode(ask(ctx, in.Warehouse, *msg.Query)); err != nil {
			return nil, fmt.Errorf("answer the child: %w", err)
		}
	}
}

// ask runs a child's query on the job's warehouse.
func ask(ctx context.Context, w Warehouse, q query) answer {
	if w == nil {
		return answer{Err: "no warehouse to query while compiling"}
	}
	var a answer
	var err error
	if q.SQL != "" {
		a.Columns, a.Rows, err = w.Query(ctx, q.SQL)
		for _, row := range a.Rows {
			for i, v := range row {
				row[i] = portable(v)
			}
		}
	} else {
		a.Cols, a.Found, err = w.Columns(ctx, q.Schema, q.Name)
	}
	if err != nil {
		return answer{Err: err.Error()}
	}
	return a
}

// portable is v as gob can send it inside an interface: the values
// database/sql drivers return as they are, big integers and nested lists
// and maps converted, anything else (an engine's own type: a DuckDB
// decimal, interval or UUID) as its text.
func portable(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte, time.Time, *big.Int,
		int, int8, int16, int32, uint8, uint16, uint32, uint64, float32:
		return v
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = portable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = portable(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

// Child runs the compile of the request on stdin when ChildEnv says so, and
// returns the process's exit status; ok is false in any other process.
// Call it first thing in main (or an init): it must run before anything
// else of the program.
func Child() (status int, ok bool) {
	if os.Getenv(ChildEnv) != "compile" {
		return 0, false
	}
	if err := Serve(os.Stdin, os.Stdout, compile); err != nil {
		fmt.Fprintln(os.Stderr, "dataops compile child:", err)
		return 3, true
	}
	return 0, true
}

// CompileFunc loads and compiles files; Serve runs one in the child. Its
// queries go to warehouse, which asks the parent.
type CompileFunc func(dir string, files []project.File, opts project.Options, warehouse Warehouse) (*project.Project, *project.Manifest, project.Diagnostics)

func compile(dir string, files []project.File, opts project.Options, w Warehouse) (*project.Project, *project.Manifest, project.Diagnostics) {
	p, ds := project.LoadFiles(dir, files)
	if p == nil {
		return nil, nil, ds
	}
	if w != nil {
		opts.Warehouse = projectWarehouse{w}
	}
	// The parent's deadline ends this process; the engine's own limits
	// hold within it.
	m, cds := project.Compile(context.Background(), p, opts)
	if m != nil && opts.QueryTarget != nil {
		m.PlaceIn(*opts.QueryTarget)
	}
	return p, m, append(ds, cds...)
}

// projectWarehouse gives the compile the parent's warehouse.
type projectWarehouse struct{ w Warehouse }

func (p projectWarehouse) Query(ctx context.Context, sql string) ([]string, [][]any, error) {
	return p.w.Query(ctx, sql)
}

func (p projectWarehouse) Columns(ctx context.Context, rel project.Relation) ([]project.ColumnInfo, bool, error) {
	cols, found, err := p.w.Columns(ctx, rel.Schema, rel.Name)
	out := make([]project.ColumnInfo, len(cols))
	for i, c := range cols {
		out[i] = project.ColumnInfo{Name: c.Name, Type: c.Type}
	}
	return out, found, err
}

// Serve is the child: it limits itself, reads a request from in, compiles
// with fn (asking its queries over in and out) and writes the result to
// out.
func Serve(in io.Reader, out io.Writer, fn CompileFunc) error {
	dec, enc := gob.NewDecoder(in), gob.NewEncoder(out)
	var req request
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("read the request: %w", err)
	}
	if req.Memory > 0 {
		// A short life: the collector runs only near the soft limit,
		// then the hard one ends the process.
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(req.Memory / 4 * 3)
		if err := limitAddressSpace(req.Memory); err != nil {
			return fmt.Errorf("limit the memory: %w", err)
		}
	}
	debug.SetMaxStack(maxStack)
	env := req.Env
	opts := project.Options{Target: req.Target, QueryTarget: req.QueryTarget, Vars: req.Vars, LookupEnv: func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}}
	p, m, ds := fn(req.Dir, req.Files, opts, &parentWarehouse{enc: enc, dec: dec})
	// A partial manifest crosses too: what compiled is checked, the rest
	// is reported.
	resp := response{Loaded: p != nil, Diagnostics: ds, Manifest: m}
	return enc.Encode(toParent{Result: &resp})
}

// parentWarehouse is the child's Warehouse: each query goes to the parent
// and waits for its answer. The compile asks one query at a time.
type parentWarehouse struct {
	enc *gob.Encoder
	dec *gob.Decoder
}

func (p *parentWarehouse) ask(q query) (answer, error) {
	if err := p.enc.Encode(toParent{Query: &q}); err != nil {
		return answer{}, err
	}
	var a answer
	if err := p.dec.Decode(&a); err != nil {
		return answer{}, err
	}
	if a.Err != "" {
		return answer{}, errors.New(a.Err)
	}
	return a, nil
}

// The context is the parent's: it ends the child when it ends.
func (p *parentWarehouse) Query(_ context.Context, sql string) ([]string, [][]any, error) {
	a, err := p.ask(query{SQL: sql})
	return a.Columns, a.Rows, err
}

func (p *parentWarehouse) Columns(_ context.Context, schema, name string) ([]Column, bool, error) {
	a, err := p.ask(query{Schema: schema, Name: name})
	return a.Cols, a.Found, err
}
