package warehouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Opener opens a warehouse for a DSN whose scheme it was registered for.
type Opener func(ctx context.Context, dsn string, opts Options) (Warehouse, error)

// Options say how a warehouse is opened. The zero value is for code the
// user runs themselves (the CLI, the Action on the repository's own pull
// requests); the bot, which runs pull requests' code, sets both, and the
// Action sets Untrusted for a fork's pull request.
type Options struct {
	// StatementTimeout bounds every statement (0: none). PostgreSQL stops
	// it with statement_timeout; DuckDB is interrupted at the deadline.
	StatementTimeout time.Duration
	// Untrusted: the statements come from pull requests. DuckDB is then
	// opened without access to files, the network and extensions, with its
	// configuration locked, and refuses what would change the warehouse for
	// everyone (see the duckdb package). PostgreSQL needs nothing more: what
	// a role may do is the server's to decide.
	Untrusted bool
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes an engine available to Open under a DSN scheme ("duckdb",
// "postgres"). Engine packages call it from init; registering a scheme twice
// is a programming error and panics.
func Register(scheme string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	scheme = strings.ToLower(scheme)
	if _, dup := registry[scheme]; dup {
		panic("warehouse: scheme registered twice: " + scheme)
	}
	registry[scheme] = open
}

// Schemes lists the registered DSN schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	var s []string
	for k := range registry {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open connects to the warehouse named by dsn and checks that it answers.
func Open(ctx context.Context, dsn string) (Warehouse, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, opts Options) (Warehouse, error) {
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("open warehouse %q: the DSN has no scheme: use %s", MaskDSN(dsn), supported())
	}
	registryMu.RLock()
	open := registry[strings.ToLower(scheme)]
	registryMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("open warehouse %s: unsupported scheme %q: use %s", MaskDSN(dsn), scheme, supported())
	}
	return open(ctx, dsn, opts)
}

func supported() string {
	s := Schemes()
	if len(s) == 0 {
		// Only reachable if the program forgot the engine imports; say so.
		return "a supported scheme (no engine is linked in: import internal/warehouse/duckdb or internal/warehouse/postgres)"
	}
	return "one of " + strings.Join(s, ", ") + " (e.g. duckdb:///path/file.duckdb, duckdb:// for in-memory, postgres://user@host:5432/db)"
}
