// Package sandbox compiles a project in a child process with resource
// limits: the bot's containment of a pull request's templates. The template
// engine has limits of its own (a deadline, a call depth, an output size, a
// memory ceiling); the child process is what remains when something gets
// past them: a Go fatal error (a stack overflow, running out of memory, a
// bug) ends the child, and the job that asked gets an error saying so,
// while the bot and its other jobs go on.
//
// The child is the same binary, run again (re-exec) with ChildEnv set: the
// program calls Child early in main (or in an init) and exits with its
// status. It gets the project's files and the compile options on stdin,
// and writes the Manifest, or the diagnostics, on stdout. It sets its own
// address-space limit (RLIMIT_AS) and a smaller stack limit before reading
// anything from the request, and its environment holds only what the
// project may read through env_var(): not the bot's secrets. The parent
// kills it when the job's context ends.
//
// The child has no warehouse: a template's compile-time query (run_query,
// a relation's columns) travels to the parent, which runs it on the job's
// warehouse with the job's context, and its answer travels back (child.go).
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/project"
)

// ChildEnv, set to "compile" in a process's environment, makes Child run
// the compile of a request read on stdin.
const ChildEnv = "DATAOPS_SANDBOX"

// memoryEnv gives the child its memory bound when it starts, so that it
// limits itself before it reads anything, the request included.
const memoryEnv = "DATAOPS_SANDBOX_MEMORY"

// Defaults.
const (
	DefaultMemory  = 2 << 30
	DefaultTimeout = 5 * time.Minute
	// maxStack bounds each goroutine's stack in the child: a runaway
	// recursion ends sooner than at Go's 1 GB, and before its discarded
	// smaller stacks (half as much again) bring the collector, which then
	// scans the deep one over and over. The engine's call depth (200) keeps
	// real templates far below it.
	maxStack = 64 << 20
	// maxStderr is how much of the child's dying words are kept.
	maxStderr = 64 << 10
)

// Compiler compiles projects in child processes.
type Compiler struct {
	// Path is the binary to run as the child; its Child must be reached
	// when ChildEnv is set. Empty means this process's executable.
	Path string
	// Args are passed to it (a test binary needs -test.run=^$).
	Args []string
	// Memory bounds the child's address space, in bytes (default 2 GiB).
	Memory int64
	// Timeout bounds one compile (default 5 minutes); the context's
	// deadline, when sooner, wins.
	Timeout time.Duration

	mu       sync.Mutex
	spares   []*child
	starting int
	closed   bool
}

// spareChildren is how many children wait ahead: a pull request's checks
// compile two revisions back to back.
const spareChildren = 2

// CrashError is a child that did not end with an answer: it was killed
// (the deadline), ran out of memory, or died of a fatal error.
type CrashError struct {
	Reason string
}

func (e *CrashError) Error() string { return e.Reason }

// Input is one compile: the files of the project in Dir and its options.
// Functions cannot cross to the child: env_var() there reads Env (not
// Options.LookupEnv), and the queries of its templates come back to
// Options.Warehouse, here.
type Input struct {
	Dir     string
	Files   []project.File
	Options project.Options
	// Env is what the project's env_var() reads.
	Env map[string]string
}

// Compile loads the input's files as a project and compiles it, in a child
// process. A nil Manifest with Diagnostics is a project that does not
// compile; an error is a child that could not answer (*CrashError), or
// could not be started.
//
// The child was started ahead, waiting for its request, and another one
// starts as this one takes over: starting the binary is off the job's path.
func (c *Compiler) Compile(ctx context.Context, in Input) (*project.Manifest, project.Diagnostics, error) {
	memory, timeout := c.memory(), c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ch, err := c.take()
	if err != nil {
		return nil, nil, fmt.Errorf("compile in a child process: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	talked := make(chan error, 1)
	var resp *response
	go func() {
		var err error
		resp, err = ch.talk(ctx, in, memory)
		talked <- err
	}()
	var talkErr error
	select {
	case talkErr = <-talked:
	case <-ctx.Done():
		_ = ch.cmd.Process.Kill()
		talkErr = <-talked
	}
	ch.stdin.Close()
	waitErr := ch.cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, nil, &CrashError{Reason: crashReason(ctx, ctx.Err(), ch.stderr.String(), timeout, memory)}
	case resp == nil && waitErr != nil:
		return nil, nil, &CrashError{Reason: crashReason(ctx, waitErr, ch.stderr.String(), timeout, memory)}
	case resp == nil:
		return nil, nil, fmt.Errorf("compile in a child process: %w", talkErr)
	case !resp.Loaded:
		return nil, resp.Diagnostics, nil
	}
	return resp.Manifest, resp.Diagnostics, nil
}

func (c *Compiler) memory() int64 {
	if c.Memory > 0 {
		return c.Memory
	}
	return DefaultMemory
}

// child is a started child process, waiting for its request.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr *headBuffer
}

// start starts a child.
func (c *Compiler) start() (*child, error) {
	path := c.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		path = exe
	}
	cmd := exec.Command(path, c.Args...)
	// Nothing of the parent's environment: the child reads env_var()
	// from the request. GOTRACEBACK=none keeps a fatal error's message
	// short; GOMAXPROCS keeps one compile from taking every core.
	cmd.Env = []string{ChildEnv + "=compile", memoryEnv + "=" + strconv.FormatInt(c.memory(), 10), "GOTRACEBACK=none", "GOMAXPROCS=2"}
	ch := &child{cmd: cmd, stderr: &headBuffer{max: maxStderr}}
	var err error
	if ch.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if ch.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	cmd.Stderr = ch.stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return ch, nil
}

// take returns a spare child (or a new one) and starts spares up to
// spareChildren.
func (c *Compiler) take() (*child, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("the compiler is closed")
	}
	var ch *child
	if n := len(c.spares); n > 0 {
		ch, c.spares = c.spares[n-1], c.spares[:n-1]
	}
	more := spareChildren - len(c.spares) - c.starting
	c.starting += max(more, 0)
	c.mu.Unlock()
	for range more {
		go c.startSpare()
	}
	if ch != nil {
		return ch, nil
	}
	return c.start()
}

// startSpare starts a child to wait for the next compile.
func (c *Compiler) startSpare() {
	next, err := c.start()
	c.mu.Lock()
	c.starting--
	keep := err == nil && !c.closed && len(c.spares) < spareChildren
	if keep {
		c.spares = append(c.spares, next)
	}
	c.mu.Unlock()
	if err == nil && !keep {
		next.discard()
	}
	// A failed start: the next Compile starts its own, and says why.
}

// discard ends a child that got no request: with its stdin closed it
// reads nothing and exits.
func (ch *child) discard() {
	ch.stdin.Close()
	_ = ch.cmd.Wait()
}

// Close ends the spare children; Compile fails afterwards.
func (c *Compiler) Close() {
	c.mu.Lock()
	spares := c.spares
	c.spares, c.closed = nil, true
	c.mu.Unlock()
	for _, ch := range spares {
		ch.discard()
	}
}

// crashReason says why a child ended without an answer, for the compile
// check: what happened, not the child's stack.
func crashReason(ctx context.Context, err error, stderr string, timeout time.Duration, memory int64) string {
	if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) && !errors.Is(context.Cause(ctx), context.Canceled) {
		return "compiling the project was stopped: " + context.Cause(ctx).Error()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("compiling the project took longer than %s and was stopped", timeout)
	}
	if ctx.Err() != nil {
		return "compiling the project was cancelled"
	}
	msg := firstFatal(stderr)
	switch {
	case strings.Contains(msg, "stack exceeds") || strings.Contains(msg, "stack overflow"):
		return "compiling the project overflowed the stack (a macro or template that calls itself without end?): " + msg
	case strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate memory"):
		return fmt.Sprintf("compiling the project used more than its %d MiB of memory: %s", memory>>20, msg)
	case msg != "":
		return "compiling the project crashed: " + msg
	}
	return "compiling the project crashed: " + err.Error()
}

// firstFatal finds the runtime's one-line reason in a dying process's
// stderr ("fatal error: ...", "runtime: ...", "panic: ...").
func firstFatal(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		for _, p := range []string{"fatal error: ", "runtime: ", "panic: "} {
			if strings.HasPrefix(line, p) {
				if len(line) > 300 {
					line = line[:300]
				}
				return line
			}
		}
	}
	return ""
}

// headBuffer keeps the first max bytes written (a fatal error's reason
// comes first).
type headBuffer struct {
	buf bytes.Buffer
	max int
}

func (t *headBuffer) Write(p []byte) (int, error) {
	if room := t.max - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (t *headBuffer) String() string { return t.buf.String() }
