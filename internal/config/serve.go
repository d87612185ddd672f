package config

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Serve is the webhook bot's configuration (`dataops serve --config
// FILE`). Secrets are never in the file: it names the environment
// variables that hold them.
type Serve struct {
	// Listen is the address to serve on (default ":8080").
	Listen string `yaml:"listen"`
	// Store is the SQLite file of the queue and state (default
	// dataops.db). DATABASE_URL, when set to a postgres:// URL, replaces it
	// so that several replicas share one store.
	Store string `yaml:"store"`
	// Workers is how many jobs this replica runs at once (default 2).
	Workers int `yaml:"workers"`
	// VisibilityTimeout is how long a job stays taken without a heartbeat
	// before another worker may run it (default 1m).
	VisibilityTimeout Duration `yaml:"visibility_timeout"`
	// MaxAttempts bounds the runs of a failing job (default 5).
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBodyBytes bounds a delivery (default 25 MB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// SweepEvery is the time between environment sweeps (default 1h).
	SweepEvery Duration `yaml:"sweep_every"`
	// KeepDeliveries is how long delivery ids are kept to spot redeliveries
	// (default 7d).
	KeepDeliveries Duration `yaml:"keep_deliveries"`
	// Threads bounds parallel model builds per job (default 4).
	Threads int `yaml:"threads"`

	// Warehouse is the default for every repository; Repositories
	// overrides it per repository ("owner/name" on GitHub, "gitlab:group/
	// project" on GitLab).
	Warehouse    ServeWarehouse            `yaml:"warehouse"`
	Repositories map[string]ServeWarehouse `yaml:"repositories"`

	GitHub *ServeGitHub `yaml:"github"`
	GitLab *ServeGitLab `yaml:"gitlab"`

	// Allow lists what the bot serves: GitHub repositories (owner/name) or
	// owners (owner/*), GitLab projects (gitlab:group/project) or groups
	// (gitlab:group/*, subgroups included). Deliveries from anything else
	// are answered and ignored. It is required: an App can be installed on
	// repositories nobody meant the bot to serve, and each would otherwise
	// get the default warehouse.
	Allow Allowlist `yaml:"allow"`
}

// ServeWarehouse names the variable holding a warehouse DSN.
type ServeWarehouse struct {
	DSNEnv string `yaml:"dsn_env"`
}

// ServeGitHub is the GitHub App the bot runs as.
type ServeGitHub struct {
	APIURL string `yaml:"api_url"`
	AppID  int64  `yaml:"app_id"`
	// The App's private key: a .pem file, or a variable holding the PEM.
	PrivateKeyFile string `yaml:"private_key_file"`
	PrivateKeyEnv  string `yaml:"private_key_env"`
	// WebhookSecretEnv holds the App's webhook secret (default
	// DATAOPS_GITHUB_WEBHOOK_SECRET).
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
}

// ServeGitLab is the GitLab access the bot uses.
type ServeGitLab struct {
	APIURL string `yaml:"api_url"`
	// TokenEnv holds a token with the api scope (default
	// DATAOPS_GITLAB_TOKEN).
	TokenEnv string `yaml:"token_env"`
	// WebhookSecretEnv holds the webhook's secret token (default
	// DATAOPS_GITLAB_WEBHOOK_SECRET).
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	// BotUser is the token's username: its notes are never read as
	// commands.
	BotUser string `yaml:"bot_user"`
}

// DefaultServe returns the configuration an empty file means.
func DefaultServe() Serve {
	return Serve{Listen: ":8080", Store: "dataops.db", Workers: 2, VisibilityTimeout: Duration{time.Minute},
		MaxAttempts: 5, MaxBodyBytes: 25 << 20, SweepEvery: Duration{time.Hour}, KeepDeliveries: Duration{7 * 24 * time.Hour},
		Threads: 4, Warehouse: ServeWarehouse{DSNEnv: "DATAOPS_WAREHOUSE_DSN"}}
}

// LoadServe reads and validates the bot's configuration file.
func LoadServe(path string) (Serve, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Serve{}, fmt.Errorf("read the serve configuration: %w", err)
	}
	return ParseServe(path, data)
}

// ParseServe decodes a serve configuration over the defaults.
func ParseServe(path string, data []byte) (Serve, error) {
	s := DefaultServe()
	if err := decodeStrict(path, data, &s, "dataops serve configuration"); err != nil {
		return Serve{}, err
	}
	fail := func(field, format string, args ...any) error {
		line := lineOf(data, field)
		if line == 0 { // a missing field: point at its section
			line = lineOf(data, strings.Split(field, ".")[0])
		}
		return &Error{Path: path, Line: line, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if s.GitHub != nil {
		if s.GitHub.WebhookSecretEnv == "" {
			s.GitHub.WebhookSecretEnv = "DATAOPS_GITHUB_WEBHOOK_SECRET"
		}
		if s.GitHub.AppID <= 0 {
			return Serve{}, fail("github.app_id", "must be the GitHub App's id (a number, on the App's settings page)")
		}
		if (s.GitHub.PrivateKeyFile == "") == (s.GitHub.PrivateKeyEnv == "") {
			return Serve{}, fail("github.private_key_file", "set one of private_key_file (the App's .pem file) or private_key_env (a variable holding it)")
		}
	}
	if s.GitLab != nil {
		if s.GitLab.WebhookSecretEnv == "" {
			s.GitLab.WebhookSecretEnv = "DATAOPS_GITLAB_WEBHOOK_SECRET"
		}
		if s.GitLab.TokenEnv == "" {
			s.GitLab.TokenEnv = "DATAOPS_GITLAB_TOKEN"
		}
	}
	switch {
	case s.GitHub == nil && s.GitLab == nil:
		return Serve{}, fail("github", "configure github: (a GitHub App), gitlab: (a token and webhook secret), or both")
	case s.Workers < 1:
		return Serve{}, fail("workers", "must be at least 1, not %d", s.Workers)
	case s.VisibilityTimeout.Duration < time.Second:
		return Serve{}, fail("visibility_timeout", "must be at least 1s")
	case s.MaxAttempts < 1:
		return Serve{}, fail("max_attempts", "must be at least 1")
	case s.MaxBodyBytes < 1024:
		return Serve{}, fail("max_body_bytes", "must be at least 1024 bytes")
	case s.Warehouse.DSNEnv == "":
		return Serve{}, fail("warehouse.dsn_env", "must name the environment variable holding the warehouse DSN")
	}
	if len(s.Allow) == 0 {
		return Serve{}, fail("allow", "list the repositories this bot serves (owner/name or owner/* on GitHub, gitlab:group/project or gitlab:group/* on GitLab): deliveries from any other repository are ignored")
	}
	for repo, w := range s.Repositories {
		if w.DSNEnv == "" || strings.Contains(w.DSNEnv, "://") {
			return Serve{}, fail(repo, "repositories.%s.dsn_env must name the environment variable holding that repository's warehouse DSN", repo)
		}
		host, path := "github", repo
		if h, p, ok := strings.Cut(repo, ":"); ok {
			host, path = h, p
		}
		if !s.Allowed(host, path) {
			return Serve{}, fail("repositories."+repo, "is not in allow:, so the bot never serves it: add it to allow (or remove this entry)")
		}
	}
	return s, nil
}

// DSNEnv is the variable holding a repository's warehouse DSN.
func (s Serve) DSNEnv(host, repo string) string {
	key := repo
	if host != "github" {
		key = host + ":" + repo
	}
	if w, ok := s.Repositories[key]; ok {
		return w.DSNEnv
	}
	return s.Warehouse.DSNEnv
}

// Allowlist is serve.yml's allow: the repositories the bot serves.
type Allowlist []RepoPattern

// RepoPattern is one entry of allow: a repository or, with Owner, every
// repository below Path.
type RepoPattern struct {
	Host  string // "github" or "gitlab"
	Path  string // owner/name, group/project, or the owner or group
	Owner bool   // written owner/* or group/*
}

func (l *Allowlist) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: allow: must be a list of repositories, like [acme/shop, acme/*, 'gitlab:data/*']", n.Line)
	}
	out := make(Allowlist, 0, len(n.Content))
	for _, item := range n.Content {
		p, ok := parseRepoPattern(item.Value)
		if item.Kind != yaml.ScalarNode || !ok {
			return fmt.Errorf("line %d: %q is not a repository: write owner/name or owner/* (GitHub), gitlab:group/project or gitlab:group/* (GitLab)", item.Line, item.Value)
		}
		out = append(out, p)
	}
	*l = out
	return nil
}

// repoSegment is one part of a repository's path as GitHub and GitLab
// allow it.
var repoSegment = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func parseRepoPattern(s string) (RepoPattern, bool) {
	p := RepoPattern{Host: "github", Path: s}
	if host, path, ok := strings.Cut(s, ":"); ok {
		if host != "github" && host != "gitlab" {
			return p, false
		}
		p.Host, p.Path = host, path
	}
	if rest, ok := strings.CutSuffix(p.Path, "/*"); ok {
		p.Path, p.Owner = rest, true
	}
	parts := strings.Split(p.Path, "/")
	for _, part := range parts {
		if !repoSegment.MatchString(part) || part == "." || part == ".." {
			return p, false
		}
	}
	switch {
	case p.Owner:
		// An owner on GitHub is one name; a GitLab group may be nested.
		return p, p.Host == "gitlab" || len(parts) == 1
	case p.Host == "github":
		return p, len(parts) == 2
	}
	return p, len(parts) >= 2
}

// Allowed reports whether the bot serves repo on host ("github" or
// "gitlab"). Names compare without case, as both hosts resolve them.
func (s Serve) Allowed(host, repo string) bool {
	parts := strings.Split(repo, "/")
	if len(parts) < 2 || (host == "github" && len(parts) != 2) || slices.Contains(parts, "") {
		return false
	}
	for _, p := range s.Allow {
		switch {
		case p.Host != host:
		case !p.Owner && strings.EqualFold(p.Path, repo):
			return true
		case p.Owner && len(repo) > len(p.Path)+1 && strings.EqualFold(repo[:len(p.Path)+1], p.Path+"/"):
			return true
		}
	}
	return false
}
