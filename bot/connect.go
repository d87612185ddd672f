package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/metrics"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/gitlab"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// GitHubApp is how the bot signs in to GitHub: as an App installation.
type GitHubApp struct {
	BaseURL    string // API base, for GitHub Enterprise Server
	AppID      int64
	PrivateKey []byte // PEM
	// RequestTimeout bounds each request (each attempt); 0 is Connect's
	// Timeout.
	RequestTimeout time.Duration
}

// GitLabAccess is how the bot signs in to GitLab: a token with the api
// scope (a group or project access token, or a bot user's).
type GitLabAccess struct {
	BaseURL string // https://gitlab.example.com/api/v4
	Token   string
	// RequestTimeout bounds each request (each attempt); 0 is Connect's
	// Timeout.
	RequestTimeout time.Duration
}

// Connect opens and caches the hosts and warehouses the bot works with:
// one host client per repository (per installation on GitHub), one
// warehouse per DSN.
type Connect struct {
	GitHub *GitHubApp
	GitLab *GitLabAccess
	// DSN returns the warehouse DSN of a repository for a purpose:
	// config.PurposeChecks (the checks and their environments) or
	// config.PurposeDeploy (deploy and rollback).
	DSN     func(host, repo, purpose string) (string, error)
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Timeout bounds each API request, each attempt of a retried one
	// (default 60s), unless the host's own RequestTimeout says otherwise.
	Timeout time.Duration
	// Guard pauses a code host that keeps failing; nil never pauses.
	Guard *HostGuard
	// StatementTimeout bounds every statement in a warehouse (0: none).
	StatementTimeout time.Duration

	mu         sync.Mutex
	hosts      map[string]scm.Host
	warehouses map[string]warehouse.Warehouse
}

// Host returns the cached client of a repository.
func (c *Connect) Host(ctx context.Context, host, repo string, installationID int64) (scm.Host, error) {
	key := fmt.Sprintf("%s:%s:%d", host, repo, installationID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[key]; ok {
		return h, nil
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	client := func(own time.Duration) *http.Client {
		if own > 0 {
			timeout = own
		}
		// The timeout is the guard's, per attempt: a client's Timeout
		// would look to the guard like the job's own context ending.
		return &http.Client{Transport: c.Guard.Transport(host, timeout, c.Metrics.Transport(host, http.DefaultTransport))}
	}
	var h scm.Host
	var err error
	switch host {
	case "github":
		if c.GitHub == nil {
			return nil, permanent(fmt.Errorf("a GitHub event for %s, but the bot has no GitHub App configured (github: in the serve config)", repo), "")
		}
		if installationID == 0 {
			return nil, permanent(fmt.Errorf("the GitHub event for %s has no installation: is the webhook the GitHub App's?", repo), "")
		}
		owner, name, _ := strings.Cut(repo, "/")
		h, err = github.New(github.Options{BaseURL: c.GitHub.BaseURL, Owner: owner, Repo: name, AppID: c.GitHub.AppID,
			InstallationID: installationID, PrivateKey: c.GitHub.PrivateKey, HTTPClient: client(c.GitHub.RequestTimeout), Logger: c.Logger})
	case "gitlab":
		if c.GitLab == nil {
			return nil, permanent(fmt.Errorf("a GitLab event for %s, but the bot has no GitLab token configured (gitlab: in the serve config)", repo), "")
		}
		h, err = gitlab.New(gitlab.Options{BaseURL: c.GitLab.BaseURL, Project: repo, Token: c.GitLab.Token, HTTPClient: client(c.GitLab.RequestTimeout), Logger: c.Logger})
	default:
		return nil, permanent(fmt.Errorf("unknown code host %q", host), "")
	}
	if err != nil {
		return nil, permanent(err, "") // the options are wrong: a retry makes the same
	}
	if c.hosts == nil {
		c.hosts = map[string]scm.Host{}
	}
	c.hosts[key] = h
	return h, nil
}

// Warehouse returns the repository's warehouse for purpose, opened once
// per DSN. An error opening it is a WarehouseError.
func (c *Connect) Warehouse(ctx context.Context, host, repo, purpose string) (warehouse.Warehouse, error) {
	dsn, err := c.DSN(host, repo, purpose)
	if err != nil {
		return nil, permanent(err, "")
	}
	return c.Open(ctx, dsn)
}

// Open returns the warehouse of dsn, opened once and shared.
func (c *Connect) Open(ctx context.Context, dsn string) (warehouse.Warehouse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.warehouses[dsn]; ok {
		return w, nil
	}
	// Models, hooks and seeds come from pull requests: DuckDB is locked
	// down for them (no files, network or settings), and every statement
	// has a deadline.
	w, err := warehouse.OpenWith(ctx, dsn, warehouse.Options{Untrusted: true, StatementTimeout: c.StatementTimeout})
	if err != nil {
		return nil, &WarehouseError{Err: err}
	}
	if c.warehouses == nil {
		c.warehouses = map[string]warehouse.Warehouse{}
	}
	c.warehouses[dsn] = w
	return w, nil
}

// WarehouseError is a warehouse that could not be opened (its message
// masks the DSN's password): often only briefly away, so the job is
// retried, and the pull request is told.
type WarehouseError struct{ Err error }

func (e *WarehouseError) Error() string { return e.Err.Error() }
func (e *WarehouseError) Unwrap() error { return e.Err }

// Close closes the warehouses.
func (c *Connect) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for dsn, w := range c.warehouses {
		if err := w.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.warehouses, dsn)
	}
	return first
}
