package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/sandbox"
)

// ChildCompiler compiles a pull request's project in a child process with
// resource limits (internal/sandbox), so that a template that gets past
// the engine's own limits and kills its process (a stack overflow, out of
// memory, a bug) costs its job a failed compile check, and the bot and its
// other jobs go on. The child's env_var() reads DBTEnv; its compile-time
// queries come back to opts.Warehouse, here.
type ChildCompiler struct {
	Sandbox *sandbox.Compiler
}

// errCompileContained marks a compile the child process did not survive.
var errCompileContained = errors.New("the compile's child process ended without an answer")

func (c ChildCompiler) Compile(ctx context.Context, dir string, files []project.File, opts project.Options) (*project.Manifest, project.Diagnostics, error) {
	m, ds, err := c.Sandbox.Compile(ctx, sandbox.Input{Dir: dir, Files: files, Options: opts, Env: DBTEnv()})
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
