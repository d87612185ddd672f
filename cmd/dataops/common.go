package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// loadConfig reads dataops.yml: a missing file at the default path means
// the defaults, but a --config naming a missing file is a mistake.
func loadConfig(fs *flag.FlagSet, cmd, path string, errOut io.Writer) (config.Config, bool) {
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	if explicit {
		if _, err := os.Stat(path); err != nil {
			usageError(errOut, cmd, "--config: %v", err)
			return config.Config{}, false
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(errOut, "dataops %s: %v\n", cmd, err)
		return config.Config{}, false
	}
	return cfg, true
}

// openWarehouse connects to the DSN from the flag, or from the environment
// variable the configuration names. It returns the DSN for masking, and on
// failure a nil warehouse and the exit code: a DSN no engine handles is a
// usage error, an unreachable server a failure. The DSN is never printed
// unmasked.
func openWarehouse(ctx context.Context, cmd, flagDSN string, cfg config.Config, errOut io.Writer) (warehouse.Warehouse, string, int) {
	dsn := flagDSN
	if dsn == "" {
		dsn = os.Getenv(cfg.Warehouse.DSNEnv)
	}
	if dsn == "" {
		return nil, "", usageError(errOut, cmd, "no warehouse: pass --warehouse DSN or set %s (for example duckdb:///tmp/dataops.duckdb)", cfg.Warehouse.DSNEnv)
	}
	w, err := warehouse.Open(ctx, dsn)
	if err != nil {
		fmt.Fprintf(errOut, "dataops %s: %s\n", cmd, scrubSecret(err.Error(), dsn))
		var ce *warehouse.ConnectError
		if errors.As(err, &ce) {
			return nil, dsn, exitFailure
		}
		return nil, dsn, exitUsage
	}
	return w, dsn, exitOK
}

// currentUser names who creates an environment: the CI user when there is one.
func currentUser() string {
	for _, v := range []string{"GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER"} {
		if s := os.Getenv(v); s != "" {
			return s
		}
	}
	return ""
}

// printJSON prints v indented, for scripts.
func printJSON(out io.Writer, v any) {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// scrubSecret masks the DSN's password wherever it appears in msg, both as
// written in the DSN and percent-decoded.
func scrubSecret(msg, dsn string) string {
	if masked := warehouse.MaskDSN(dsn); masked != dsn {
		msg = strings.ReplaceAll(msg, dsn, masked)
	}
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return msg
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return msg
	}
	_, raw, hasPW := strings.Cut(rest[:at], ":")
	if !hasPW {
		return msg
	}
	secrets := []string{raw}
	if dec, err := url.PathUnescape(raw); err == nil {
		secrets = append(secrets, dec)
	}
	for _, pw := range secrets {
		if len(pw) >= 4 { // a shorter one would mask unrelated text
			msg = strings.ReplaceAll(msg, pw, "***")
		}
	}
	return msg
}
