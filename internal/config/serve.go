package config

import (
	"fmt"
	"net/url"
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
	// PublicURL is where people reach this server
	// (https://dataops.example.com): the comment and the checks link to
	// each run's page there, and sign-in comes back to it. Empty: no links.
	PublicURL string `yaml:"public_url"`
	// KeepRuns is how long each run and its report are kept for the web
	// pages (default 90d); the sweep forgets older ones.
	KeepRuns Duration `yaml:"keep_runs"`
	// Web serves the bot's pages, behind sign-in with GitHub or GitLab
	// (github.client_id, gitlab.application_id); nil serves only the
	// webhooks, /healthz, /readyz and /metrics.
	Web *ServeWeb `yaml:"web"`

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

	// Deadlines and isolation between code hosts: a job, or a host that
	// keeps failing, does not hold every worker.

	// JobTimeout is a job's deadline (default 30m): a job still running
	// then is stopped and retried.
	JobTimeout Duration `yaml:"job_timeout"`
	// HostWorkers bounds the workers busy with one code host (GitHub or
	// GitLab) at once; a job of a host at its bound waits in the queue
	// (default: with both hosts configured workers - 1, at least 1, so the
	// other host always has one; with one, every worker).
	HostWorkers int `yaml:"host_workers"`
	// HostFailures consecutive failed requests (network errors, timeouts,
	// 5xx) pause a code host (default 5): its jobs wait, without using
	// attempts, until HostPause has passed and one request finds it back.
	HostFailures int      `yaml:"host_failures"`
	HostPause    Duration `yaml:"host_pause"`
	// Compile contains the loading and compiling of a pull request's
	// project.
	Compile ServeCompile `yaml:"compile"`
}

// ServeWeb configures the web pages.
type ServeWeb struct {
	// SessionKeyEnv holds the secret that signs and seals sessions: at
	// least 32 bytes, the same on every replica (default
	// DATAOPS_SESSION_KEY). Changing it signs everybody out.
	SessionKeyEnv string `yaml:"session_key_env"`
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL Duration `yaml:"session_ttl"`
	// AccessCache is how long a host's answer about a person's access to
	// a repository is reused (default 5m).
	AccessCache Duration `yaml:"access_cache"`
}

// ServeCompile bounds the compile of a pull request's project, which runs
// in a child process so that even a fatal error there costs one job.
type ServeCompile struct {
	// InProcess compiles in the bot's own process instead (default
	// false): no child to start, and no containment beyond the template
	// engine's limits.
	InProcess bool `yaml:"in_process"`
	// MemoryMB bounds the child's memory (default 2048).
	MemoryMB int `yaml:"memory_mb"`
	// Timeout bounds one compile (default 5m).
	Timeout Duration `yaml:"timeout"`
}

// ServeWarehouse names the variables holding a warehouse's DSNs. The
// checks (and the environments they create, drop and sweep) and the
// deploys (and rollbacks) can use separate credentials, so that a pull
// request's models run as a role that cannot write production; DSNEnv is
// the fallback of both.
type ServeWarehouse struct {
	DSNEnv       string `yaml:"dsn_env"`
	ChecksDSNEnv string `yaml:"checks_dsn_env"`
	DeployDSNEnv string `yaml:"deploy_dsn_env"`

	// StatementTimeout bounds every statement the bot runs in a warehouse
	// (default 30m): PostgreSQL's statement_timeout, a deadline that
	// interrupts DuckDB. Set under warehouse: only, for every repository.
	StatementTimeout Duration `yaml:"statement_timeout"`
}

// DefaultStatementTimeout is warehouse.statement_timeout's default.
const DefaultStatementTimeout = 30 * time.Minute

// Warehouse purposes, each with its own credentials.
const (
	PurposeChecks = "checks"
	PurposeDeploy = "deploy"
)

// Env is the variable holding the DSN for purpose (PurposeChecks or
// PurposeDeploy).
func (w ServeWarehouse) Env(purpose string) string {
	switch {
	case purpose == PurposeChecks && w.ChecksDSNEnv != "":
		return w.ChecksDSNEnv
	case purpose == PurposeDeploy && w.DeployDSNEnv != "":
		return w.DeployDSNEnv
	}
	return w.DSNEnv
}

// ServeGitHub is the GitHub App the bot runs as.
type ServeGitHub struct {
	APIURL string `yaml:"api_url"`
	AppID  int64  `yaml:"app_id"`
	// RequestTimeout bounds each API request, retries included (default 30s).
	RequestTimeout Duration `yaml:"request_timeout"`
	// The App's private key: a .pem file, or a variable holding the PEM.
	PrivateKeyFile string `yaml:"private_key_file"`
	PrivateKeyEnv  string `yaml:"private_key_env"`
	// WebhookSecretEnv holds the App's webhook secret (default
	// DATAOPS_GITHUB_WEBHOOK_SECRET).
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	// Sign-in to the web pages with GitHub: the App's client id (on its
	// settings page) and the variable holding its client secret (default
	// DATAOPS_GITHUB_CLIENT_SECRET). WebURL is GitHub's own address, where
	// people sign in (default https://github.com, or api_url's server for
	// GitHub Enterprise Server).
	ClientID        string `yaml:"client_id"`
	ClientSecretEnv string `yaml:"client_secret_env"`
	WebURL          string `yaml:"web_url"`
}

// ServeGitLab is the GitLab access the bot uses.
type ServeGitLab struct {
	APIURL string `yaml:"api_url"`
	// RequestTimeout bounds each API request, retries included (default 30s).
	RequestTimeout Duration `yaml:"request_timeout"`
	// TokenEnv holds a token with the api scope (default
	// DATAOPS_GITLAB_TOKEN).
	TokenEnv string `yaml:"token_env"`
	// WebhookSecretEnv holds the webhook's secret token (default
	// DATAOPS_GITLAB_WEBHOOK_SECRET).
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	// BotUser is the token's username: its notes are never read as
	// commands.
	BotUser string `yaml:"bot_user"`
	// Sign-in to the web pages with GitLab: an OAuth application's id and
	// the variable holding its secret (default
	// DATAOPS_GITLAB_APPLICATION_SECRET). WebURL is GitLab's address
	// (default api_url without /api/v4, or https://gitlab.com).
	ApplicationID        string `yaml:"application_id"`
	ApplicationSecretEnv string `yaml:"application_secret_env"`
	WebURL               string `yaml:"web_url"`
}

// DefaultServe returns the configuration an empty file means.
func DefaultServe() Serve {
	return Serve{Listen: ":8080", Store: "dataops.db", Workers: 2, VisibilityTimeout: Duration{time.Minute},
		MaxAttempts: 5, MaxBodyBytes: 25 << 20, SweepEvery: Duration{time.Hour}, KeepDeliveries: Duration{7 * 24 * time.Hour},
		Threads: 4, Warehouse: ServeWarehouse{DSNEnv: "DATAOPS_WAREHOUSE_DSN", StatementTimeout: Duration{DefaultStatementTimeout}},
		JobTimeout: Duration{30 * time.Minute}, HostFailures: 5, HostPause: Duration{30 * time.Second},
		Compile: ServeCompile{MemoryMB: 2048, Timeout: Duration{5 * time.Minute}}, KeepRuns: Duration{90 * 24 * time.Hour}}
}

// DefaultRequestTimeout bounds a code host's API request when serve.yml
// does not.
const DefaultRequestTimeout = 30 * time.Second

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
		if s.GitHub.RequestTimeout.Duration == 0 {
			s.GitHub.RequestTimeout.Duration = DefaultRequestTimeout
		}
		if s.GitHub.AppID <= 0 {
			return Serve{}, fail("github.app_id", "must be the GitHub App's id (a number, on the App's settings page)")
		}
		if (s.GitHub.PrivateKeyFile == "") == (s.GitHub.PrivateKeyEnv == "") {
			return Serve{}, fail("github.private_key_file", "set one of private_key_file (the App's .pem file) or private_key_env (a variable holding it)")
		}
		if s.GitHub.ClientSecretEnv == "" {
			s.GitHub.ClientSecretEnv = "DATAOPS_GITHUB_CLIENT_SECRET"
		}
		if s.GitHub.WebURL == "" {
			s.GitHub.WebURL = githubWebURL(s.GitHub.APIURL)
		}
		if err := checkURL(s.GitHub.WebURL); err != nil {
			return Serve{}, fail("github.web_url", "%v", err)
		}
	}
	if s.GitLab != nil {
		if s.GitLab.WebhookSecretEnv == "" {
			s.GitLab.WebhookSecretEnv = "DATAOPS_GITLAB_WEBHOOK_SECRET"
		}
		if s.GitLab.RequestTimeout.Duration == 0 {
			s.GitLab.RequestTimeout.Duration = DefaultRequestTimeout
		}
		if s.GitLab.TokenEnv == "" {
			s.GitLab.TokenEnv = "DATAOPS_GITLAB_TOKEN"
		}
		if s.GitLab.ApplicationSecretEnv == "" {
			s.GitLab.ApplicationSecretEnv = "DATAOPS_GITLAB_APPLICATION_SECRET"
		}
		if s.GitLab.WebURL == "" {
			s.GitLab.WebURL = gitlabWebURL(s.GitLab.APIURL)
		}
		if err := checkURL(s.GitLab.WebURL); err != nil {
			return Serve{}, fail("gitlab.web_url", "%v", err)
		}
	}
	if s.PublicURL != "" {
		if err := checkURL(s.PublicURL); err != nil {
			return Serve{}, fail("public_url", "%v", err)
		}
		s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	}
	if w := s.Web; w != nil {
		if w.SessionKeyEnv == "" {
			w.SessionKeyEnv = "DATAOPS_SESSION_KEY"
		}
		if w.SessionTTL.Duration == 0 {
			w.SessionTTL.Duration = 12 * time.Hour
		}
		if w.AccessCache.Duration == 0 {
			w.AccessCache.Duration = 5 * time.Minute
		}
		switch {
		case s.PublicURL == "":
			return Serve{}, &Error{Path: path, Line: lineOf(data, "web"), Field: "public_url",
				Message: "web: needs public_url, the address people reach this server at: sign-in with GitHub or GitLab comes back to it"}
		case (s.GitHub == nil || s.GitHub.ClientID == "") && (s.GitLab == nil || s.GitLab.ApplicationID == ""):
			return Serve{}, fail("web", "nobody could sign in: set github.client_id (the GitHub App's client id) or gitlab.application_id (a GitLab OAuth application's id)")
		case w.SessionTTL.Duration < time.Minute:
			return Serve{}, fail("web.session_ttl", "must be at least 1m")
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
	case s.KeepRuns.Duration < time.Hour:
		return Serve{}, fail("keep_runs", "must be at least 1h, not %s", s.KeepRuns.Duration)
	case s.JobTimeout.Duration < time.Second:
		return Serve{}, fail("job_timeout", "must be at least 1s (a job's deadline: the checks of one pull request, 30m by default)")
	case s.HostWorkers < 0:
		return Serve{}, fail("host_workers", "must be at least 1, or 0 for the default")
	case s.HostFailures < 1:
		return Serve{}, fail("host_failures", "must be at least 1")
	case s.HostPause.Duration < time.Second:
		return Serve{}, fail("host_pause", "must be at least 1s")
	case s.Compile.MemoryMB < 64:
		return Serve{}, fail("compile.memory_mb", "must be at least 64 (MiB)")
	case s.Compile.Timeout.Duration < time.Second:
		return Serve{}, fail("compile.timeout", "must be at least 1s")
	case s.GitHub != nil && s.GitHub.RequestTimeout.Duration < 100*time.Millisecond:
		return Serve{}, fail("github.request_timeout", "must be at least 100ms")
	case s.GitLab != nil && s.GitLab.RequestTimeout.Duration < 100*time.Millisecond:
		return Serve{}, fail("gitlab.request_timeout", "must be at least 100ms")
	}
	if s.HostWorkers == 0 {
		s.HostWorkers = s.Workers
		if s.GitHub != nil && s.GitLab != nil {
			s.HostWorkers = max(1, s.Workers-1)
		}
	}
	if err := s.Warehouse.check("warehouse", fail); err != nil {
		return Serve{}, err
	}
	if s.Warehouse.StatementTimeout.Duration < time.Second {
		return Serve{}, fail("warehouse.statement_timeout", "must be at least 1s (every statement's deadline, %s by default)", DefaultStatementTimeout)
	}
	if len(s.Allow) == 0 {
		return Serve{}, fail("allow", "list the repositories this bot serves (owner/name or owner/* on GitHub, gitlab:group/project or gitlab:group/* on GitLab): deliveries from any other repository are ignored")
	}
	for repo, w := range s.Repositories {
		atRepo := func(field, format string, args ...any) error {
			// The repository's own line: its name may hold dots.
			return &Error{Path: path, Line: lineOf(data, repo), Field: field, Message: fmt.Sprintf(format, args...)}
		}
		if err := w.check("repositories."+repo, atRepo); err != nil {
			return Serve{}, err
		}
		if w.StatementTimeout.Duration != 0 {
			return Serve{}, atRepo("repositories."+repo+".statement_timeout", "set statement_timeout once, under warehouse: (it applies to every repository)")
		}
		host, path := "github", repo
		if h, p, ok := strings.Cut(repo, ":"); ok {
			host, path = h, p
		}
		if !s.Allowed(host, path) {
			return Serve{}, atRepo("repositories."+repo, "is not in allow:, so the bot never serves it: add it to allow (or remove this entry)")
		}
	}
	return s, nil
}

// check says what is missing: a variable for the checks and one for the
// deploys, never a DSN itself.
func (w ServeWarehouse) check(field string, fail func(field, format string, args ...any) error) error {
	for _, f := range []struct{ key, value string }{{"dsn_env", w.DSNEnv}, {"checks_dsn_env", w.ChecksDSNEnv}, {"deploy_dsn_env", w.DeployDSNEnv}} {
		if strings.Contains(f.value, "://") || strings.ContainsAny(f.value, " =") {
			return fail(field+"."+f.key, "must name the environment variable holding the DSN, not the DSN itself")
		}
	}
	for _, purpose := range []string{PurposeChecks, PurposeDeploy} {
		if w.Env(purpose) == "" {
			return fail(field+".dsn_env", "must name the environment variable holding the warehouse DSN (or set both checks_dsn_env and deploy_dsn_env)")
		}
	}
	return nil
}

// WarehouseOf returns a repository's warehouse variables: its entry
// under repositories, or the default warehouse.
func (s Serve) WarehouseOf(host, repo string) ServeWarehouse {
	key := repo
	if host != "github" {
		key = host + ":" + repo
	}
	if w, ok := s.Repositories[key]; ok {
		return w
	}
	return s.Warehouse
}

// DSNEnv is the variable holding the DSN of a repository's warehouse for
// purpose (PurposeChecks or PurposeDeploy).
func (s Serve) DSNEnv(host, repo, purpose string) string {
	return s.WarehouseOf(host, repo).Env(purpose)
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

// checkURL accepts an absolute http(s) URL without a query or fragment.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an http(s) address such as https://dataops.example.com", raw)
	}
	return nil
}

// githubWebURL is where people sign in to the GitHub whose API is at
// apiURL: github.com for api.github.com, the server itself for GitHub
// Enterprise Server (https://ghe.example.com/api/v3/).
func githubWebURL(apiURL string) string {
	u, err := url.Parse(apiURL)
	if apiURL == "" || err != nil || u.Host == "api.github.com" {
		return "https://github.com"
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3")
	return strings.TrimRight(u.String(), "/")
}

// gitlabWebURL is the GitLab whose API is at apiURL (…/api/v4).
func gitlabWebURL(apiURL string) string {
	if apiURL == "" {
		return "https://gitlab.com"
	}
	return strings.TrimSuffix(strings.TrimSuffix(apiURL, "/"), "/api/v4")
}
