package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/metrics"
	"github.com/dataops-dev/dataops/internal/sandbox"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/web"
	"github.com/dataops-dev/dataops/webhook"
)

func init() {
	commands["serve"] = command{
		summary: "Run the webhook bot: a GitHub App and GitLab webhook receiver that queues events durably and runs the checks and commands.",
		usage:   "serve --config FILE [--listen ADDR]",
		run:     runServe,
	}
}

func runServe(args []string, out, errOut io.Writer) int {
	fs := newFlags("serve", commands["serve"], errOut)
	configPath := fs.String("config", "", "the bot's configuration file (YAML; see README.md, \"The webhook bot\")")
	listen := fs.String("listen", "", "address to listen on, overriding listen: in the file (e.g. :8080 or 127.0.0.1:0)")
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	if *configPath == "" {
		return usageError(errOut, "serve", "--config is required")
	}
	cfg, err := config.LoadServe(*configPath)
	if err != nil {
		fmt.Fprintf(errOut, "dataops serve: %v\n", err)
		return exitUsage
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	logger := slog.New(slog.NewJSONHandler(errOut, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := newServer(ctx, cfg, os.Getenv, logger)
	if err != nil {
		fmt.Fprintf(errOut, "dataops serve: %v\n", err)
		return exitUsage
	}
	defer srv.Close()
	if err := srv.Serve(ctx, out); err != nil {
		fmt.Fprintf(errOut, "dataops serve: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// server is a running bot: intake, workers, sweeper, on one store.
type server struct {
	cfg      config.Serve
	logger   *slog.Logger
	store    *store.Store
	metrics  *metrics.Metrics
	connect  *bot.Connect
	guard    *bot.HostGuard
	sandbox  *sandbox.Compiler // nil until the workers start, or with compile.in_process
	intake   *webhook.Intake
	wake     chan struct{}
	listener net.Listener
	ready    chan struct{}
	getenv   func(string) string
	// pages are the web pages (web: in the configuration), or nil.
	pages *web.Server
}

// newServer checks the configuration's secrets and opens the store: the
// bot refuses to start without a webhook secret, so that no delivery is
// ever taken unverified.
func newServer(ctx context.Context, cfg config.Serve, getenv func(string) string, logger *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, logger: logger, wake: make(chan struct{}, 1), ready: make(chan struct{}), getenv: getenv}
	s.guard = &bot.HostGuard{MaxWorkers: cfg.HostWorkers, Failures: cfg.HostFailures, Pause: cfg.HostPause.Duration}
	s.connect = &bot.Connect{Logger: logger, Guard: s.guard, StatementTimeout: cfg.Warehouse.StatementTimeout.Duration, DSN: func(host, repo, purpose string) (string, error) {
		// The intake queues nothing for other repositories; a job queued
		// before allow: changed must not reach a warehouse either.
		if !cfg.Allowed(host, repo) {
			return "", fmt.Errorf("this bot does not serve %s: it is not in allow: of the serve configuration", repo)
		}
		name := cfg.DSNEnv(host, repo, purpose)
		dsn := getenv(name)
		if dsn == "" {
			return "", fmt.Errorf("no warehouse for %s's %s: set %s to its DSN (or map the repository under repositories: in the serve configuration)", repo, purpose, name)
		}
		return dsn, nil
	}}
	s.intake = &webhook.Intake{MaxBody: cfg.MaxBodyBytes, Logger: logger, Queued: s.signal, Allowed: cfg.Allowed,
		Heads: pullRequestHeads{s.connect}}
	if gh := cfg.GitHub; gh != nil {
		secret := getenv(gh.WebhookSecretEnv)
		if secret == "" {
			return nil, fmt.Errorf("github: %s is not set: the bot does not start without the GitHub App's webhook secret (set it in the App's settings and in %s)", gh.WebhookSecretEnv, gh.WebhookSecretEnv)
		}
		key, err := privateKey(gh, getenv)
		if err != nil {
			return nil, err
		}
		// Parse the key now: a bad key should stop the start, not every job.
		if _, err := ghinstallation.NewAppsTransport(http.DefaultTransport, gh.AppID, key); err != nil {
			return nil, fmt.Errorf("github: the App's private key is not a PEM-encoded RSA key (the .pem file GitHub generates): %v", err)
		}
		s.intake.GitHubSecret = []byte(secret)
		s.connect.GitHub = &bot.GitHubApp{BaseURL: gh.APIURL, AppID: gh.AppID, PrivateKey: key, RequestTimeout: gh.RequestTimeout.Duration}
	}
	if gl := cfg.GitLab; gl != nil {
		secret := getenv(gl.WebhookSecretEnv)
		if secret == "" {
			return nil, fmt.Errorf("gitlab: %s is not set: the bot does not start without the webhook's secret token (set it on the GitLab webhook and in %s)", gl.WebhookSecretEnv, gl.WebhookSecretEnv)
		}
		token := getenv(gl.TokenEnv)
		if token == "" {
			return nil, fmt.Errorf("gitlab: %s is not set: give the bot a GitLab token with the api scope", gl.TokenEnv)
		}
		s.intake.GitLabToken = []byte(secret)
		s.intake.GitLabBotUser = gl.BotUser
		s.connect.GitLab = &bot.GitLabAccess{BaseURL: gl.APIURL, Token: token, RequestTimeout: gl.RequestTimeout.Duration}
	}
	url := cfg.Store
	if u := getenv("DATABASE_URL"); u != "" {
		url = u
	}
	// The secrets are read: the image's bot leaves root here (serve_user.go).
	if err := runAsDataUser(getenv, logger); err != nil {
		return nil, err
	}
	if err := checkStoreFolder(url); err != nil {
		return nil, err
	}
	st, err := store.OpenWith(ctx, url, store.Options{VisibilityTimeout: cfg.VisibilityTimeout.Duration, MaxAttempts: cfg.MaxAttempts})
	if err != nil {
		return nil, err
	}
	s.store = st
	s.metrics = metrics.New(func(ctx context.Context) (metrics.QueueStats, error) {
		st, err := s.store.Stats(ctx)
		return metrics.QueueStats{Queued: st.Queued, Delayed: st.Delayed, Running: st.Running, Dead: st.Dead, OldestQueuedAge: st.OldestQueuedAge}, err
	})
	s.intake.Store, s.intake.Metrics, s.connect.Metrics = st, s.metrics, s.metrics
	if cfg.Web != nil {
		if s.pages, err = newPages(cfg, getenv, st, s.signal, logger); err != nil {
			st.Close()
			return nil, err
		}
	}
	return s, nil
}

// newPages checks the web pages' secrets (a misconfigured sign-in stops
// the start, naming the field) and makes them.
func newPages(cfg config.Serve, getenv func(string) string, st *store.Store, wake func(), logger *slog.Logger) (*web.Server, error) {
	key := getenv(cfg.Web.SessionKeyEnv)
	if key == "" {
		return nil, fmt.Errorf("web.session_key_env: %s is not set: put a random secret of at least %d bytes in it (e.g. openssl rand -base64 48), the same on every replica", cfg.Web.SessionKeyEnv, web.MinSessionKey)
	}
	if len(key) < web.MinSessionKey {
		return nil, fmt.Errorf("web.session_key_env: %s holds %d bytes; it needs at least %d (e.g. openssl rand -base64 48)", cfg.Web.SessionKeyEnv, len(key), web.MinSessionKey)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var hosts []web.Host
	if gh := cfg.GitHub; gh != nil && gh.ClientID != "" {
		secret := getenv(gh.ClientSecretEnv)
		if secret == "" {
			return nil, fmt.Errorf("github.client_secret_env: %s is not set: put the GitHub App's client secret in it (the App's settings, \"Client secrets\"), or remove github.client_id to turn sign-in with GitHub off", gh.ClientSecretEnv)
		}
		hosts = append(hosts, web.GitHubHost(gh.WebURL, gh.APIURL, gh.ClientID, secret, client))
	}
	if gl := cfg.GitLab; gl != nil && gl.ApplicationID != "" {
		secret := getenv(gl.ApplicationSecretEnv)
		if secret == "" {
			return nil, fmt.Errorf("gitlab.application_secret_env: %s is not set: put the GitLab OAuth application's secret in it, or remove gitlab.application_id to turn sign-in with GitLab off", gl.ApplicationSecretEnv)
		}
		hosts = append(hosts, web.GitLabHost(gl.WebURL, gl.APIURL, gl.ApplicationID, secret, client))
	}
	return web.New(web.Config{Store: st, PublicURL: cfg.PublicURL, SessionKey: []byte(key), SessionTTL: cfg.Web.SessionTTL.Duration,
		AccessCache: cfg.Web.AccessCache.Duration, Hosts: hosts, Wake: wake, Logger: logger})
}

// pullRequestHeads reads a pull request's head for the intake, through
// the bot's client of its repository.
type pullRequestHeads struct{ connect *bot.Connect }

func (p pullRequestHeads) Head(ctx context.Context, ev bot.Event) (string, error) {
	h, err := p.connect.Host(ctx, ev.Host, ev.Repo, ev.InstallationID)
	if err != nil {
		return "", err
	}
	pr, err := h.PullRequest(ctx, ev.PullRequest.Number)
	if err != nil {
		return "", err
	}
	return pr.HeadSHA, nil
}

func privateKey(gh *config.ServeGitHub, getenv func(string) string) ([]byte, error) {
	if gh.PrivateKeyEnv != "" {
		key := getenv(gh.PrivateKeyEnv)
		if key == "" {
			return nil, fmt.Errorf("github: %s (private_key_env) is not set: put the App's private key (PEM) in it", gh.PrivateKeyEnv)
		}
		return []byte(key), nil
	}
	key, err := os.ReadFile(gh.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("github: read the App's private key (private_key_file): %w", err)
	}
	return key, nil
}

// signal wakes one idle worker; a full channel means one is waking anyway.
func (s *server) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// handler routes the bot's endpoints.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/github", s.intake.GitHub)
	mux.HandleFunc("/webhooks/gitlab", s.intake.GitLab)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		select {
		case <-s.ready:
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if _, err := s.store.Stats(ctx); err != nil {
			http.Error(w, "the store does not answer: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/metrics", s.metrics.Handler())
	if s.pages != nil {
		// Everything else is a page, behind sign-in.
		mux.Handle("/", s.pages.Handler())
	}
	return mux
}

// Serve listens, runs the workers and the sweeper, and returns when ctx
// ends, after the intake has answered the deliveries in flight.
func (s *server) Serve(ctx context.Context, out io.Writer) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	s.listener = l
	httpSrv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	owner := ""
	for i := range s.cfg.Workers {
		// One Worker each: a worker's id owns its locks, so two workers of
		// one process never share a pull request's lock.
		w := &bot.Worker{Store: s.store, Connections: s.connect, Logger: s.logger, Metrics: s.metrics,
			GitLabBotUser: s.intake.GitLabBotUser, Threads: s.cfg.Threads, Lease: s.cfg.VisibilityTimeout.Duration, Wake: s.wake,
			JobTimeout: s.cfg.JobTimeout.Duration, Guard: s.guard, Compiler: s.compiler()}
		if s.pages != nil {
			w.RunURL = func(repo, id string) string { return web.RunURL(s.cfg.PublicURL, repo, id) }
		}
		if i == 0 {
			owner = w.ID()
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(workCtx) }()
	}
	sweeper := &bot.Sweeper{Store: s.store, Connections: s.connect, Logger: s.logger, Every: s.cfg.SweepEvery.Duration,
		KeepDeliveries: s.cfg.KeepDeliveries.Duration, KeepRuns: s.cfg.KeepRuns.Duration, Owner: owner}
	wg.Add(1)
	go func() { defer wg.Done(); sweeper.Run(workCtx) }()

	wg.Add(1)
	go func() { defer wg.Done(); s.checkPrivileges(workCtx) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(l) }()
	close(s.ready)
	s.logger.Info("dataops serve listening", "addr", l.Addr().String(), "workers", s.cfg.Workers,
		"github", s.cfg.GitHub != nil, "gitlab", s.cfg.GitLab != nil)
	fmt.Fprintf(out, "dataops serve: listening on http://%s (webhooks at /webhooks/github and /webhooks/gitlab)\n", l.Addr())
	if s.pages != nil {
		fmt.Fprintf(out, "dataops serve: web pages at %s\n", s.cfg.PublicURL)
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(shutdownCtx)
	// Running jobs stop here; the queue gives them to a worker again once
	// their visibility timeout ends.
	stopWork()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// compiler is how the workers compile a pull request's project: in a
// child process of this binary, unless compile.in_process says otherwise.
func (s *server) compiler() bot.Compiler {
	if s.cfg.Compile.InProcess {
		return nil
	}
	if s.sandbox == nil {
		s.sandbox = &sandbox.Compiler{Memory: int64(s.cfg.Compile.MemoryMB) << 20, Timeout: s.cfg.Compile.Timeout.Duration}
	}
	return bot.ChildCompiler{Sandbox: s.sandbox}
}

// checkPrivileges warns, once at start, of each checks role that can write
// more than its environments: production, above all. A pull request's
// models run as that role before anyone approved them.
func (s *server) checkPrivileges(ctx context.Context) {
	names := map[string]bool{s.cfg.Warehouse.Env(config.PurposeChecks): true}
	for _, w := range s.cfg.Repositories {
		names[w.Env(config.PurposeChecks)] = true
	}
	for name := range names {
		dsn := s.getenv(name)
		if dsn == "" {
			continue // the jobs that need it say so
		}
		checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		w, err := s.connect.Open(checkCtx, dsn)
		var what []string
		if err == nil {
			what, err = bot.WritableBeyondEnvironments(checkCtx, w)
		}
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Warn("could not tell what the checks' warehouse role can write", "dsn_env", name, "err", err)
		case len(what) > 0:
			s.logger.Warn("the checks' warehouse role can write beyond its environments, production included: a pull request's models could change it before anyone approved them. "+
				"Give the checks a least-privilege role (checks_dsn_env; README, \"A least-privilege role for the checks\")",
				"dsn_env", name, "can_write", what)
		default:
			s.logger.Info("the checks' warehouse role writes only its environments", "dsn_env", name)
		}
	}
}

// Close releases the store and the warehouses.
func (s *server) Close() {
	if s.sandbox != nil {
		s.sandbox.Close()
	}
	_ = s.connect.Close()
	if err := s.store.Close(); err != nil && !strings.Contains(err.Error(), "closed") {
		s.logger.Warn("close the store", "err", err)
	}
}
