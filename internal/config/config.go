// Package config reads dataops.yml: where the project is, which warehouse
// and production schema to use, and how pull-request environments are
// named and kept. Decoding is strict: an unknown or misspelt field is an
// error naming its line, because a silently ignored setting is worse than a
// failed run. An empty or missing file gives working defaults for DuckDB.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	pathpkg "path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the configuration file dataops looks for in a repository.
const FileName = "dataops.yml"

// Config is dataops.yml.
type Config struct {
	// Project is the folder holding dbt_project.yml, relative to the
	// repository root.
	Project      string       `yaml:"project"`
	Warehouse    Warehouse    `yaml:"warehouse"`
	Production   Production   `yaml:"production"`
	Environments Environments `yaml:"environments"`
	Diff         Diff         `yaml:"diff"`
	Profile      Profile      `yaml:"profile"`
	Checks       Checks       `yaml:"checks"`
	Gate         Gate         `yaml:"gate"`
	Commands     Commands     `yaml:"commands"`
	Deploy       Deploy       `yaml:"deploy"`
	Mask         Mask         `yaml:"mask"`
}

// Mask says which columns hold sensitive values. Their values never leave
// the warehouse: every sample dataops shows (diff rows, failing test rows)
// carries a keyed hash of such a value instead. Columns the project marks
// (meta: {sensitive: true} or a pii tag) are sensitive whatever this says.
type Mask struct {
	// Defaults turns on the built-in name patterns (email, phone, ssn,
	// password, token, iban, card number...: see internal/mask).
	Defaults bool `yaml:"defaults"`
	// Columns are more name patterns: case-insensitive globs (* and ?)
	// matched against whole column names.
	Columns []string `yaml:"columns"`
	// Except are name patterns the patterns above must not mask (a column
	// the project marks stays masked).
	Except []string `yaml:"except"`
}

// Checks turns stages off; compile and the gate always run.
type Checks struct {
	DryRun bool `yaml:"dry_run"`
	Build  bool `yaml:"build"`
	Diff   bool `yaml:"diff"`
}

// Gate says what merging needs besides passing checks.
type Gate struct {
	// Approvals: how many approving reviews (0: none).
	Approvals int `yaml:"approvals"`
	// Teams: an approval must come from a member of one of these.
	Teams []string `yaml:"teams"`
}

// Commands lists the comment commands people may use.
type Commands struct {
	Allowed []string `yaml:"allowed"`
}

// Deploy configures production deploys.
type Deploy struct {
	// OnMerge deploys a merged pull request's change to production.
	OnMerge bool `yaml:"on_merge"`
}

// AllCommands are the comment commands dataops knows.
var AllCommands = []string{"help", "plan", "diff", "rerun", "deploy", "rollback", "teardown"}

// CommandAllowed reports whether a comment command may be used.
func (c Config) CommandAllowed(verb string) bool {
	for _, a := range c.Commands.Allowed {
		if a == verb {
			return true
		}
	}
	return false
}

// Diff configures the data diff and which of its findings fail the
// dataops/diff check. By default a diff informs (neutral) and only errors
// fail it.
type Diff struct {
	// Sample rows shown per category.
	Sample int `yaml:"sample"`
	// Tolerance: numeric values differing by at most this much are equal.
	Tolerance float64 `yaml:"tolerance"`
	// FailOn lists what fails the check.
	FailOn FailOn `yaml:"fail_on"`
}

// FailOn are the diff outcomes that fail the dataops/diff check.
type FailOn struct {
	// RemovedRows: any row of production missing from the environment.
	RemovedRows bool `yaml:"removed_rows"`
	// BreakingChange: a column removed, renamed or retyped, or the grain
	// changed.
	BreakingChange bool `yaml:"breaking_change"`
	// ChangedPercent: more than this percentage of a model's matched rows
	// changed (0 = never).
	ChangedPercent float64 `yaml:"changed_percent"`
	// Profile names the profile flags (ProfileFlags) that fail the check.
	Profile []string `yaml:"profile"`
}

// Warehouse names where the DSN comes from. The DSN itself holds
// credentials, so it is read from the environment, never from this file.
type Warehouse struct {
	DSNEnv string `yaml:"dsn_env"`
}

// Production is where the production build lives.
type Production struct {
	// Target names the profiles.yml output used for production builds.
	Target string `yaml:"target"`
	Schema string `yaml:"schema"`
}

// Environments configures pull-request environments.
type Environments struct {
	// Name is a template: {number} is the pull request number.
	Name   string   `yaml:"name"`
	Prefix string   `yaml:"prefix"`
	TTL    Duration `yaml:"ttl"`
}

// Duration is a time.Duration written as "72h", "30m" or "7d".
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(days)
		if err != nil || v < 0 {
			return fmt.Errorf("line %d: %q is not a duration: write it like 72h, 30m or 7d", n.Line, s)
		}
		d.Duration = time.Duration(v) * 24 * time.Hour
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration: write it like 72h, 30m or 7d", n.Line, s)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Default returns the configuration an empty file means.
func Default() Config {
	return Config{
		Project:      ".",
		Warehouse:    Warehouse{DSNEnv: "DATAOPS_WAREHOUSE_DSN"},
		Production:   Production{Target: "prod", Schema: "main"},
		Environments: Environments{Name: "pr_{number}", TTL: Duration{7 * 24 * time.Hour}},
		Diff:         Diff{Sample: 5},
		Profile:      DefaultProfile(),
		Checks:       Checks{DryRun: true, Build: true, Diff: true},
		Commands:     Commands{Allowed: append([]string(nil), AllCommands...)},
		Mask:         Mask{Defaults: true},
	}
}

// Error is a problem in the file, with the line it is on.
type Error struct {
	Path    string
	Line    int
	Field   string
	Message string
}

func (e *Error) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.Path, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", loc, e.Message)
}

// Load reads path; a missing file gives the defaults.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, data)
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// unknownKeyRE is yaml.v3's message for a key no field takes.
var unknownKeyRE = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)

// Parse decodes a dataops.yml over the defaults and validates it.
func Parse(path string, data []byte) (Config, error) {
	cfg := Default()
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, nil
	}
	if err := decodeStrict(path, data, &cfg, "dataops.yml"); err != nil {
		return Config{}, err
	}
	cfg.locateProfile(data)
	return cfg, cfg.validate(path, data)
}

// decodeStrict decodes YAML into v, refusing unknown fields, with errors
// that name the file's line; doc names the reference to read.
func decodeStrict(path string, data []byte, v any, doc string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	e := &Error{Path: path, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		e.Message = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(e.Message); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Message = m[2]
	}
	if m := unknownKeyRE.FindStringSubmatch(e.Message); m != nil {
		if msg, field, ok := unknownProfileKey(m[1], m[2]); ok {
			e.Message, e.Field = msg, field
			return e
		}
	}
	if strings.Contains(e.Message, "not found in type") {
		e.Message = strings.Replace(e.Message, "not found in type config.", "is not a field of ", 1)
		e.Message += ": see the " + doc + " reference in README.md"
	}
	return e
}

func (c Config) validate(path string, data []byte) error {
	fail := func(field, format string, args ...any) error {
		return &Error{Path: path, Line: lineOf(data, field), Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if !strings.Contains(c.Environments.Name, "{number}") {
		return fail("environments.name", "%q must contain {number}, so each pull request gets its own environment", c.Environments.Name)
	}
	if c.Diff.Sample < 0 || c.Diff.Sample > 100 {
		return fail("diff.sample", "must be between 0 and 100, not %d", c.Diff.Sample)
	}
	if c.Diff.Tolerance < 0 {
		return fail("diff.tolerance", "must not be negative")
	}
	if p := c.Diff.FailOn.ChangedPercent; p < 0 || p > 100 {
		return fail("diff.fail_on.changed_percent", "must be a percentage between 0 and 100, not %g", p)
	}
	if err := c.validateProfile(path, data); err != nil {
		return err
	}
	if c.Gate.Approvals < 0 {
		return fail("gate.approvals", "must not be negative")
	}
	for _, a := range c.Commands.Allowed {
		known := false
		for _, k := range AllCommands {
			known = known || a == k
		}
		if !known {
			return fail("commands.allowed", "unknown command %q: the commands are %s", a, strings.Join(AllCommands, ", "))
		}
	}
	if !c.Checks.Build && c.Checks.Diff {
		return fail("checks.diff", "the diff compares what the build built: turn checks.build on, or checks.diff off")
	}
	if c.Production.Schema == "" {
		return fail("production.schema", "must not be empty")
	}
	if c.Warehouse.DSNEnv == "" {
		return fail("warehouse.dsn_env", "must name the environment variable holding the warehouse DSN")
	}
	if strings.Contains(c.Warehouse.DSNEnv, "://") {
		return fail("warehouse.dsn_env", "looks like a DSN; put the DSN in an environment variable (a secret) and name that variable here")
	}
	for _, list := range []struct {
		field    string
		patterns []string
	}{{"mask.columns", c.Mask.Columns}, {"mask.except", c.Mask.Except}} {
		for _, p := range list.patterns {
			if _, err := pathpkg.Match(p, ""); err != nil || strings.TrimSpace(p) == "" {
				return &Error{Path: path, Line: lineOfItem(data, list.field, p), Field: list.field,
					Message: fmt.Sprintf("%q is not a column name pattern: write a name, with * for any characters and ? for one (e.g. *email*)", p)}
			}
		}
	}
	return nil
}

// lineOfItem finds the line of item in the list under a dotted field.
func lineOfItem(data []byte, field, item string) int {
	from := lineOf(data, field)
	if from == 0 {
		return 0
	}
	for i, l := range strings.Split(string(data), "\n")[from-1:] {
		if strings.Contains(l, item) {
			return from + i
		}
	}
	return from
}

// lineOf finds the line of the last key of a dotted field, for messages
// about values that decoded but do not make sense.
func lineOf(data []byte, field string) int {
	parts := strings.Split(field, ".")
	key := parts[len(parts)-1] + ":"
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), key) {
			return i + 1
		}
	}
	return 0
}

// EnvironmentName fills the name template for a pull request; the
// warehouse later cuts it to the engine's identifier limit.
func (c Config) EnvironmentName(number int) string {
	return c.Environments.Prefix + strings.ReplaceAll(c.Environments.Name, "{number}", strconv.Itoa(number))
}
