package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/sandbox"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// ChildCompiler compiles a pull request's project in a child process with
// resource limits (internal/sandbox), so that a template that gets past
// the engine's own limits and kills its process (a stack overflow, out of
// memory, a bug) costs its job a failed compile check, and the bot and its
// other jobs go on. The child's env_var() reads DBTEnv; its compile-time
// queries run here, on the job's warehouse, read-only.
type ChildCompiler struct {
	Sandbox *sandbox.Compiler
}

// errCompileContained marks a compile the child process did not survive.
var errCompileContained = errors.New("the compile's child process ended without an answer")

func (c ChildCompiler) Compile(ctx context.Context, dir string, files []project.File, opts project.Options, w warehouse.Warehouse) (*project.Manifest, project.Diagnostics, error) {
	in := sandbox.Input{Dir: dir, Files: files, Options: opts, Env: DBTEnv()}
	if w != nil {
		in.Warehouse = compileQueries{w}
	}
	m, ds, err := c.Sandbox.Compile(ctx, in)
	var crash *sandbox.CrashError
	switch {
	case err == nil:
		return m, ds, nil
	case ctx.Err() != nil:
		// The job ended (a newer push, the bot stopping, its deadline):
		// nothing to blame on the project.
		return nil, nil, fmt.Errorf("compile: %w", context.Cause(ctx))
	case errors.As(err, &crash):
		// The same files kill the child again: not worth a retry.
		return nil, nil, permanent(fmt.Errorf("%w: %w", errCompileContained, err), crash.Reason)
	}
	return nil, nil, err
}

// compileQueries answers a child's compile-time queries: read-only where
// the engine can enforce it (PostgreSQL), since reading is all a compile
// should do.
type compileQueries struct{ w warehouse.Warehouse }

func (c compileQueries) Query(ctx context.Context, sql string) ([]string, [][]any, error) {
	var rows *warehouse.Rows
	run := func(x warehouse.Execer) error {
		var err error
		rows, err = x.Query(ctx, sql)
		return err
	}
	var err error
	if c.w.Dialect().Name() == "postgres" {
		err = c.w.InTransaction(ctx, func(tx warehouse.Execer) error {
			if err := tx.Exec(ctx, "set transaction read only"); err != nil {
				return err
			}
			return run(tx)
		})
	} else {
		err = run(c.w)
	}
	if err != nil {
		return nil, nil, err
	}
	return rows.Columns, rows.Values, nil
}

func (c compileQueries) Columns(ctx context.Context, schema, name string) ([]sandbox.Column, bool, error) {
	cols, err := c.w.Columns(ctx, warehouse.Relation{Schema: schema, Name: name})
	if errors.Is(err, warehouse.ErrRelationNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]sandbox.Column, len(cols))
	for i, col := range cols {
		out[i] = sandbox.Column{Name: col.Name, Type: col.Type}
	}
	return out, true, nil
}
