package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/warehouse"
	// The engines register their DSN schemes; these imports link both into
	// the binary for every command.
	_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	_ "github.com/dataops-dev/dataops/internal/warehouse/postgres"
)

func init() {
	commands["env"] = command{
		summary: "Create, drop or list pull-request environments: schemas dataops creates and marks as its own.",
		usage:   "env create|drop|list [--warehouse DSN] [--pr N] [--name NAME] [--sha SHA] [--config FILE] [--json]",
		run:     runEnv,
	}
}

// envTimeout bounds one env command: dropping a big schema can take a while,
// but a hung connection must not hang CI forever.
const envTimeout = 10 * time.Minute

const envHelp = `
Subcommands:
  create   create the environment, or record a new head sha on it (idempotent)
  drop     drop the environment and everything in it (idempotent); a schema
           dataops did not create is never dropped
  list     list the environments with their PR, head sha, owner and age;
           those older than environments.ttl in dataops.yml are marked expired

The name is --name, or else environments.name in dataops.yml filled in with
--pr (default pr_{number}). Example:

  dataops env create --warehouse duckdb:///tmp/dev.duckdb --pr 12 --sha "$GITHUB_SHA"
`

// envResult is what create and drop print with --json.
type envResult struct {
	Schema  string `json:"schema"`
	PR      int    `json:"pr,omitempty"`
	HeadSHA string `json:"head_sha,omitempty"`
	// Action is created, updated or unchanged (create); dropped or missing (drop).
	Action string `json:"action"`
}

// envListItem is one environment in `env list --json`.
type envListItem struct {
	Schema     string    `json:"schema"`
	PR         int       `json:"pr"`
	HeadSHA    string    `json:"head_sha"`
	Owner      string    `json:"owner"`
	CreatedAt  time.Time `json:"created_at"`
	AgeSeconds int64     `json:"age_seconds"`
	Expired    bool      `json:"expired"`
}

func runEnv(args []string, out, errOut io.Writer) int {
	if len(args) == 0 {
		return usageError(errOut, "env", "missing subcommand: create, drop or list")
	}
	sub := args[0]
	switch sub {
	case "create", "drop", "list":
	case "-h", "-help", "--help", "help":
		envFlagSet(out).Usage()
		return exitOK
	default:
		if strings.HasPrefix(sub, "-") {
			return usageError(errOut, "env", "the subcommand comes first: dataops env create|drop|list [flags]")
		}
		return usageError(errOut, "env", "unknown subcommand %q: use create, drop or list", sub)
	}

	f := envFlagSet(errOut)
	if code, stop := parseFlags(f.FlagSet, args[1:], out); stop {
		return code
	}
	if f.NArg() > 0 {
		return usageError(errOut, "env", "unexpected argument %q", f.Arg(0))
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case *f.pr < 0:
		return usageError(errOut, "env", "--pr must be a pull request number, not %d", *f.pr)
	case sub == "list" && (set["name"] || set["pr"] || set["sha"]):
		return usageError(errOut, "env", "--name, --pr and --sha do not apply to list")
	case sub == "drop" && set["sha"]:
		return usageError(errOut, "env", "--sha applies to create only")
	case sub != "list" && *f.name == "" && *f.pr == 0:
		return usageError(errOut, "env", "which environment? pass --pr N (named by environments.name in %s) or --name NAME", *f.config)
	}
	cfg, ok := loadConfig(f.FlagSet, "env", *f.config, errOut)
	if !ok {
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, envTimeout)
	defer cancel()
	w, dsn, code := openWarehouse(ctx, "env", *f.warehouse, cfg, errOut)
	if w == nil {
		return code
	}
	defer w.Close()
	// fail prints an error with any password in the DSN masked: the engines
	// never put it in their messages, and this makes sure of it.
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(errOut, "dataops env: %s\n", scrubSecret(fmt.Sprintf(format, args...), dsn))
		return code
	}

	if sub == "list" {
		return envList(ctx, w, cfg, *f.json, out, fail)
	}
	name := *f.name
	if name == "" {
		name = warehouse.EnvironmentName(cfg.Environments.Name, *f.pr, cfg.Environments.Prefix, w.Dialect())
	}
	if err := warehouse.ValidateIdentifier(w.Dialect(), "environment", name); err != nil {
		return usageError(errOut, "env", "--name: %v", err)
	}
	envs, err := w.ListEnvironments(ctx)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	var old *warehouse.Environment
	for i := range envs {
		if envs[i].Schema == name {
			old = &envs[i]
		}
	}
	var res envResult
	var msg string
	if sub == "create" {
		res, msg, err = envCreate(ctx, w, name, *f.pr, *f.sha, old)
	} else {
		res, msg, err = envDrop(ctx, w, name, *f.pr, old)
	}
	switch {
	case errors.Is(err, warehouse.ErrUnmarkedSchema):
		verb := "use it as an environment"
		if sub == "drop" {
			verb = "drop it"
		}
		return fail(exitFailure, "schema %q exists, but dataops did not create it (it has no dataops environment marker), so dataops will not %s; "+
			"pick another --name or environments.name, or drop the schema by hand if it is really unused", name, verb)
	case err != nil:
		return fail(exitFailure, "%v", err)
	}
	if *f.json {
		printJSON(out, res)
	} else {
		fmt.Fprintln(out, msg)
	}
	return exitOK
}

func envCreate(ctx context.Context, w warehouse.Warehouse, name string, pr int, sha string, old *warehouse.Environment) (envResult, string, error) {
	m := warehouse.EnvironmentMarker{PR: pr, HeadSHA: sha, Owner: currentUser(), CreatedAt: time.Now().UTC()}
	if old != nil {
		// --name alone refers to the environment as it is: keep its PR and,
		// without --sha, its head.
		if pr == 0 {
			m.PR = old.Marker.PR
		}
		if sha == "" {
			m.HeadSHA = old.Marker.HeadSHA
		}
	}
	if err := w.CreateEnvironment(ctx, name, m); err != nil {
		return envResult{}, "", err
	}
	res := envResult{Schema: name, PR: m.PR, HeadSHA: m.HeadSHA, Action: "created"}
	switch {
	case old == nil:
		return res, fmt.Sprintf("Created environment %q%s", name, envPR(m.PR)), nil
	case old.Marker.HeadSHA != m.HeadSHA:
		res.Action = "updated"
		return res, fmt.Sprintf("Environment %q already exists%s; updated its head sha", name, envPR(m.PR)), nil
	}
	res.Action = "unchanged"
	return res, fmt.Sprintf("Environment %q already exists%s; its head sha is unchanged", name, envPR(m.PR)), nil
}

func envDrop(ctx context.Context, w warehouse.Warehouse, name string, pr int, old *warehouse.Environment) (envResult, string, error) {
	if old != nil && pr != 0 && old.Marker.PR != pr {
		return envResult{}, "", fmt.Errorf("environment %q belongs to PR #%d, not #%d; not dropping it", name, old.Marker.PR, pr)
	}
	if err := w.DropEnvironment(ctx, name); err != nil {
		return envResult{}, "", err
	}
	if old == nil {
		return envResult{Schema: name, Action: "missing"}, fmt.Sprintf("Environment %q does not exist; nothing to drop", name), nil
	}
	return envResult{Schema: name, PR: old.Marker.PR, HeadSHA: old.Marker.HeadSHA, Action: "dropped"},
		fmt.Sprintf("Dropped environment %q%s", name, envPR(old.Marker.PR)), nil
}

func envList(ctx context.Context, w warehouse.Warehouse, cfg config.Config, asJSON bool, out io.Writer, fail func(int, string, ...any) int) int {
	envs, err := w.ListEnvironments(ctx)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	now := time.Now()
	ttl := cfg.Environments.TTL.Duration
	expired := func(e warehouse.Environment) bool { return ttl > 0 && e.Age(now) > ttl }
	if asJSON {
		items := make([]envListItem, 0, len(envs))
		for _, e := range envs {
			items = append(items, envListItem{Schema: e.Schema, PR: e.Marker.PR, HeadSHA: e.Marker.HeadSHA, Owner: e.Marker.Owner,
				CreatedAt: e.Marker.CreatedAt.UTC(), AgeSeconds: int64(e.Age(now).Seconds()), Expired: expired(e)})
		}
		printJSON(out, items)
		return exitOK
	}
	if len(envs) == 0 {
		fmt.Fprintln(out, "No environments.")
		return exitOK
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEMA\tPR\tHEAD SHA\tOWNER\tAGE")
	nExpired := 0
	for _, e := range envs {
		age := envAge(e.Age(now))
		if expired(e) {
			age += " (expired)"
			nExpired++
		}
		pr := "-"
		if e.Marker.PR != 0 {
			pr = fmt.Sprint(e.Marker.PR)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Schema, pr, envDash(envShortSHA(e.Marker.HeadSHA)), envDash(e.Marker.Owner), age)
	}
	tw.Flush()
	summary := plural(len(envs), "environment")
	switch {
	case ttl <= 0:
	case nExpired > 0:
		summary += fmt.Sprintf("; %d expired (older than environments.ttl, %s): drop them with `dataops env drop --name SCHEMA`", nExpired, envAge(ttl))
	default:
		summary += fmt.Sprintf("; none expired (environments.ttl is %s)", envAge(ttl))
	}
	fmt.Fprintln(out, summary+".")
	return exitOK
}

// envFlags are the flags every env subcommand takes.
type envFlags struct {
	*flag.FlagSet
	warehouse, name, sha, config *string
	pr                           *int
	json                         *bool
}

func envFlagSet(errOut io.Writer) envFlags {
	fs := newFlags("env", commands["env"], errOut)
	base := fs.Usage
	fs.Usage = func() { base(); fmt.Fprint(fs.Output(), envHelp) }
	return envFlags{
		FlagSet: fs,
		warehouse: fs.String("warehouse", "", "warehouse DSN: duckdb:///path/file.duckdb or postgres://user@host:5432/db "+
			"(default: the environment variable warehouse.dsn_env in dataops.yml names, DATAOPS_WAREHOUSE_DSN unless set)"),
		pr:     fs.Int("pr", 0, "pull request number: names the environment through environments.name, and is recorded on it"),
		name:   fs.String("name", "", "the environment's schema, instead of the name made from --pr"),
		sha:    fs.String("sha", "", "head commit sha to record on the environment (create)"),
		config: fs.String("config", config.FileName, "dataops.yml to read (a missing default file means the defaults)"),
		json:   fs.Bool("json", false, "print JSON for scripts: an object for create and drop, an array for list"),
	}
}

func envPR(pr int) string {
	if pr == 0 {
		return ""
	}
	return fmt.Sprintf(" (PR #%d)", pr)
}

func envShortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func envDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// envAge shows a duration the way people say it: 45s, 12m, 3h, 2d.
func envAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
