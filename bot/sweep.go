package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/store"
)

// Sweeper drops the environments the close event did not: those of pull
// requests closed while the bot was down or whose delivery was lost, and
// those unused for longer than environments.ttl. It also forgets old
// deliveries. Every replica runs one; a lock lets one sweep at a time.
type Sweeper struct {
	Store       *store.Store
	Connections Connections
	Logger      *slog.Logger
	// Every is the time between sweeps (default 1 hour).
	Every time.Duration
	// KeepDeliveries is how long delivery ids are remembered for
	// deduplication (default 7 days; GitHub redelivers for 3).
	KeepDeliveries time.Duration
	// KeepRuns is how long runs and their reports are kept for the web
	// pages (default 90 days).
	KeepRuns time.Duration
	// Owner names this replica in the lock.
	Owner string
	// Now is the clock (tests move it); nil is time.Now.
	Now func() time.Time
}

// DefaultKeepRuns is how long runs are kept when serve.yml does not say.
const DefaultKeepRuns = 90 * 24 * time.Hour

// Run sweeps at once and then every Every, until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = time.Hour
	}
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (s *Sweeper) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Sweep runs one sweep, unless another replica is sweeping, and returns
// the environments it dropped.
func (s *Sweeper) Sweep(ctx context.Context) ([]store.Environment, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ok, err := s.Store.Lock(ctx, "sweep", s.Owner, 10*time.Minute)
	if err != nil || !ok {
		return nil, err
	}
	defer func() { _ = s.Store.Unlock(context.WithoutCancel(ctx), "sweep", s.Owner) }()

	keep := s.KeepDeliveries
	if keep <= 0 {
		keep = 7 * 24 * time.Hour
	}
	if n, err := s.Store.PruneDeliveries(ctx, now().Add(-keep)); err != nil {
		s.logger().Warn("forget old deliveries", "err", err)
	} else if n > 0 {
		s.logger().Info("forgot old deliveries", "count", n)
	}

	keepRuns := s.KeepRuns
	if keepRuns <= 0 {
		keepRuns = DefaultKeepRuns
	}
	if n, err := s.Store.PruneRuns(ctx, now().Add(-keepRuns)); err != nil {
		s.logger().Warn("forget old runs", "err", err)
	} else if n > 0 {
		s.logger().Info("forgot old runs", "count", n)
	}

	envs, err := s.Store.Environments(ctx)
	if err != nil {
		return nil, err
	}
	var dropped []store.Environment
	var firstErr error
	for _, e := range envs {
		why, err := s.reason(ctx, e, now())
		if err == nil && why != "" {
			err = s.drop(ctx, e)
		}
		if err != nil {
			s.logger().Warn("sweep environment", "environment", e.Name, "repo", e.Repo, "pr", e.PR, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if why != "" {
			s.logger().Info("environment swept", "environment", e.Name, "repo", e.Repo, "pr", e.PR, "why", why)
			dropped = append(dropped, e)
		}
	}
	return dropped, firstErr
}

// reason says why an environment should go, or "" when it stays.
func (s *Sweeper) reason(ctx context.Context, e store.Environment, now time.Time) (string, error) {
	if e.Expired(now) {
		return fmt.Sprintf("unused for %s (environments.ttl %s)", now.Sub(e.UsedAt).Round(time.Minute), e.TTL), nil
	}
	hostName, repo := splitRepoKey(e.Repo)
	host, err := s.Connections.Host(ctx, hostName, repo, e.InstallationID)
	if err != nil {
		return "", err
	}
	pr, err := host.PullRequest(ctx, e.PR)
	if err != nil {
		return "", err
	}
	if pr.State != "open" {
		return "the pull request is " + pr.State, nil
	}
	return "", nil
}

func (s *Sweeper) drop(ctx context.Context, e store.Environment) error {
	hostName, repo := splitRepoKey(e.Repo)
	w, err := s.Connections.Warehouse(ctx, hostName, repo, config.PurposeChecks)
	if err != nil {
		return err
	}
	// DropEnvironment drops only a schema marked as dataops' own.
	if err := w.DropEnvironment(ctx, e.Name); err != nil {
		return err
	}
	return s.Store.ForgetEnvironment(ctx, e.Repo, e.PR)
}
