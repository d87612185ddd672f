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
	"strconv"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/jinja"
	"github.com/dataops-dev/dataops/internal/project"
)

// The conversation, in gob over the child's stdin and stdout: the parent
// sends a request; the child sends queries, each answered before it goes
// on, then its result.

// request is what the parent sends first: the compile's options but for
// its functions.
type request struct {
	Dir          string
	Files        []project.File
	Target       project.Target
	Vars         map[string]any
	Limits       jinja.Limits
	QueryTarget  *project.Target
	RunStartedAt time.Time
	InvocationID string
	// Queries: the parent has a warehouse for the templates' queries.
	Queries bool
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
	Cols    []project.ColumnInfo
	Found   bool
	Err     string
}

// response is the child's result.
type response struct {
	// Manifest carries where its nodes go in the query target (PlaceIn):
	// where the pipeline defers to and diffs against.
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
	o := in.Options
	req := request{Dir: in.Dir, Files: in.Files, Target: o.Target, Vars: o.Vars, Limits: o.Limits, QueryTarget: o.QueryTarget,
		RunStartedAt: o.RunStartedAt, InvocationID: o.InvocationID, Queries: o.Warehouse != nil, Env: in.Env, Memory: memory}
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
		if err := enc.Encode(ask(ctx, o.Warehouse, *msg.Query)); err != nil {
			return nil, fmt.Errorf("answer the child: %w", err)
		}
	}
}

// ask runs a child's query on the job's warehouse.
func ask(ctx context.Context, w project.Warehouse, q query) answer {
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
		a.Cols, a.Found, err = w.Columns(ctx, project.Relation{Schema: q.Schema, Name: q.Name})
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

// CompileFunc loads and compiles files; Serve runs one in the child, with
// opts.Warehouse asking the parent.
type CompileFunc func(dir string, files []project.File, opts project.Options) (*project.Project, *project.Manifest, project.Diagnostics)

func compile(dir string, files []project.File, opts project.Options) (*project.Project, *project.Manifest, project.Diagnostics) {
	p, ds := project.LoadFiles(dir, files)
	if p == nil {
		return nil, nil, ds
	}
	// The parent's context bounds the child: it kills it when it ends.
	m, cds := project.Compile(context.Background(), p, opts)
	return p, m, append(ds, cds...)
}

// Serve is the child: it limits itself, reads a request from in, compiles
// with fn (asking its queries over in and out) and writes the result to
// out.
func Serve(in io.Reader, out io.Writer, fn CompileFunc) error {
	// The bound from the environment (the parent's start) applies before
	// the request is read; a request's own, after.
	memory, _ := strconv.ParseInt(os.Getenv(memoryEnv), 10, 64)
	if memory > 0 {
		if err := limitMemory(memory); err != nil {
			return err
		}
	}
	debug.SetMaxStack(maxStack)
	dec, enc := gob.NewDecoder(in), gob.NewEncoder(out)
	var req request
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("read the request: %w", err)
	}
	if memory <= 0 && req.Memory > 0 {
		if err := limitMemory(req.Memory); err != nil {
			return err
		}
	}
	env := req.Env
	opts := project.Options{Target: req.Target, Vars: req.Vars, Limits: req.Limits, QueryTarget: req.QueryTarget,
		RunStartedAt: req.RunStartedAt, InvocationID: req.InvocationID,
		LookupEnv: func(name string) (string, bool) {
			v, ok := env[name]
			return v, ok
		}}
	if req.Queries {
		opts.Warehouse = &parentWarehouse{enc: enc, dec: dec}
	}
	p, m, ds := fn(req.Dir, req.Files, opts)
	// A manifest may come with diagnostics (what compiled, beside what did
	// not): both go back as they are.
	if m != nil && req.QueryTarget != nil {
		m.PlaceIn(*req.QueryTarget)
	}
	return enc.Encode(toParent{Result: &response{Loaded: p != nil, Manifest: m, Diagnostics: ds}})
}

// limitMemory bounds the child. A short life: the collector runs only
// near the soft limit, then the hard one ends the process.
func limitMemory(memory int64) error {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(memory / 4 * 3)
	if err := limitAddressSpace(memory); err != nil {
		return fmt.Errorf("limit the memory: %w", err)
	}
	return nil
}

// parentWarehouse is the child's Warehouse: each query goes to the parent
// and waits for its answer. The compile renders nodes in parallel; their
// queries take turns on the one pipe, as the parent answers in order.
type parentWarehouse struct {
	mu  sync.Mutex
	enc *gob.Encoder
	dec *gob.Decoder
}

func (p *parentWarehouse) ask(q query) (answer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
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

func (p *parentWarehouse) Columns(_ context.Context, rel project.Relation) ([]project.ColumnInfo, bool, error) {
	a, err := p.ask(query{Schema: rel.Schema, Name: rel.Name})
	return a.Cols, a.Found, err
}
