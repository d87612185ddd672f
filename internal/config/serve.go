package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
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
		Threads: 4, Warehouse: ServeWarehouse{DSNEnv: "DATAOPS_WAREHOUSE_DSN"}, KeepRuns: Duration{90 * 24 * time.Hour}}
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
	case s.Warehouse.DSNEnv == "":
		return Serve{}, fail("warehouse.dsn_env", "must name the environment variable holding the warehouse DSN")
	case s.KeepRuns.Duration < time.Hour:
		return Serve{}, fail("keep_runs", "must be at least 1h, not %s", s.KeepRuns.Duration)
	}
	for repo, w := range s.Repositories {
		if w.DSNEnv == "" || strings.Contains(w.DSNEnv, "://") {
			return Serve{}, fail(repo, "repositories.%s.dsn_env must name the environment variable holding that repository's warehouse DSN", repo)
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
