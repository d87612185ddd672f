package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/metrics"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Connections gives the worker each repository's code host and warehouse.
type Connections interface {
	// Host returns the host of a repository: "github" or "gitlab", the
	// repository's path, and for GitHub the App installation to act as.
	Host(ctx context.Context, host, repo string, installationID int64) (scm.Host, error)
	// Warehouse returns the warehouse of a repository for a purpose
	// (config.PurposeChecks or config.PurposeDeploy), opened once and
	// shared; the worker does not close it.
	Warehouse(ctx context.Context, host, repo, purpose string) (warehouse.Warehouse, error)
}

// Worker takes jobs from the store's queue and runs them: one at a time
// per pull request, superseding a job for an older head, one deploy at a
// time per repository. Several workers, in one process or in several
// replicas sharing a PostgreSQL store, may run together.
type Worker struct {
	Store       *store.Store
	Connections Connections
	Logger      *slog.Logger
	Metrics     *metrics.Metrics
	// GitLabBotUser is the bot's own GitLab username, whose notes it
	// ignores.
	GitLabBotUser string
	// Threads bounds parallel model builds per job (default 4).
	Threads int
	// Lease is how long a job and its pull request's lock stay held
	// without a heartbeat; the worker renews them every third of it. It
	// should equal the store's visibility timeout. Default 1 minute.
	Lease time.Duration
	// Poll is how often an idle worker looks for jobs (default 1s); Wake
	// makes it look at once (the intake in the same process signals it).
	Poll time.Duration
	Wake <-chan struct{}
	// JobTimeout is a job's deadline (default 30 minutes).
	JobTimeout time.Duration
	// Guard bounds the workers one code host holds, and pauses a host that
	// keeps failing; nil bounds nothing. The workers of a process and its
	// Connect share one.
	Guard *HostGuard
	// Compiler compiles pull requests' projects (ChildCompiler); nil
	// compiles in this process.
	Compiler Compiler
	// RunURL, when set, makes the address of a run's web page (serve.yml
	// public_url), which the comment and the checks link to.
	RunURL func(repo, runID string) string

	idOnce sync.Once
	id     string

	// configs caches dataops.yml by repository and base commit: a commit
	// never changes, and reading it means downloading the commit's archive.
	configMu sync.Mutex
	configs  map[string]config.Config
}

// maxCachedConfigs bounds the cache; it is emptied when full.
const maxCachedConfigs = 256

// ID names the worker in locks: host, process and a random part.
func (w *Worker) ID() string {
	w.idOnce.Do(func() {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		w.id = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	})
	return w.id
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return time.Minute
}

// Run works jobs until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	for ctx.Err() == nil {
		worked, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.logger().Error("queue", "err", err)
		}
		if worked {
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.Wake:
		case <-time.After(poll):
		}
	}
}

// RunOnce runs the next job, if one is ready; worked says whether it did.
func (w *Worker) RunOnce(ctx context.Context) (worked bool, err error) {
	r, err := w.Store.Receive(ctx)
	if err != nil || r == nil {
		return false, err
	}
	start := time.Now()
	result, err := w.work(ctx, r)
	w.Metrics.Job(r.Job.Kind, result, time.Since(start))
	if ctx.Err() != nil {
		// Shutting down: the job is left to its visibility timeout, and
		// runs again in this or another replica.
		return true, nil
	}
	return true, err
}

// Job results, for the metrics.
const (
	resultDone       = "done"
	resultRetried    = "retried"
	resultPostponed  = "postponed"
	resultSuperseded = "superseded"
	resultFailed     = "failed"
)

// errSuperseded cancels a run whose pull request got a newer head.
var errSuperseded = errors.New("superseded by a newer push")

func (w *Worker) work(ctx context.Context, r *store.Received) (string, error) {
	job := r.Job
	// The handler and the pipeline add the repository, pull request and
	// delivery to their lines themselves.
	base := w.logger().With("job", r.ID, "kind", job.Kind, "event", job.Event, "attempt", r.Attempt)
	log := base.With("repo", job.Repo, "pr", job.PR, "delivery", job.DeliveryID)
	ev, err := w.event(job)
	if err != nil {
		// The intake parsed it before storing it: only a newer dataops
		// could have stored what this one cannot read.
		log.Error("job cannot be read; dropped", "err", err)
		return resultFailed, w.Store.Done(ctx, r)
	}
	ev.DeliveryID = job.DeliveryID
	if ev.Pinned == "" {
		ev.Pinned = job.PinnedHead // read at intake
	}
	if r.Dead != "" {
		// The store dead-lettered it as it came: it killed its workers.
		log.Error("job dead-lettered", "reason", r.Dead)
		w.conclude(ctx, ev, r, fmt.Sprintf("dataops stopped running this %s event: %s", job.Event, publicReason(errors.New(r.Dead))), log)
		return resultFailed, nil
	}

	// A code host that is paused, or busy with its share of the workers,
	// does not take another one: its jobs wait, without using attempts,
	// and the other host's jobs run.
	release, wait, ok := w.Guard.Acquire(job.Kind)
	if !ok {
		log.Debug("code host paused or at host_workers: job postponed", "host", job.Kind, "wait", wait)
		return resultPostponed, w.Store.Postpone(ctx, r, wait)
	}
	defer release()

	// One job at a time per pull request.
	lockKey := "pr:" + job.Repo + "#" + strconv.Itoa(job.PR)
	if job.PR > 0 {
		ok, err := w.Store.Lock(ctx, lockKey, w.ID(), w.lease())
		if err != nil {
			return resultRetried, w.Store.Retry(ctx, r, err)
		}
		if !ok {
			log.Debug("pull request busy: job postponed")
			return resultPostponed, w.Store.Postpone(ctx, r, time.Second)
		}
		defer func() {
			if err := w.Store.Unlock(context.WithoutCancel(ctx), lockKey, w.ID()); err != nil && !errors.Is(err, store.ErrNotHeld) {
				log.Warn("unlock the pull request", "err", err)
			}
		}()
	}
	if w.superseded(ctx, job, ev) {
		log.Info("superseded by a newer push before it started")
		w.cancelChecks(ctx, job, ev, log)
		return resultSuperseded, w.Store.Done(ctx, r)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobCtx, cancelJob := context.WithTimeoutCause(runCtx, w.jobTimeout(), fmt.Errorf("%w (%s)", errJobDeadline, w.jobTimeout()))
	defer cancelJob()
	stop := w.heartbeat(runCtx, cancel, r, lockKey, job, ev, log)
	err = w.handle(jobCtx, &ev, job, r, base)
	stop()
	cause := context.Cause(runCtx)
	switch {
	case errors.Is(cause, errSuperseded):
		log.Info("superseded by a newer push while running")
		w.cancelChecks(ctx, job, ev, log)
		return resultSuperseded, w.done(ctx, r)
	case errors.Is(cause, store.ErrLost):
		log.Warn("job lost to another worker (its lease expired); leaving it to that worker")
		return resultFailed, nil
	case ctx.Err() != nil:
		// Stopping: the job goes back to the queue at once, which is
		// neither a crash nor a failed attempt.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if rerr := w.Store.Release(rctx, r); rerr != nil && !errors.Is(rerr, store.ErrLost) {
			log.Warn("hand the job back while stopping (it runs again after its visibility timeout)", "err", rerr)
		}
		return resultPostponed, ctx.Err()
	case errors.Is(err, ErrDeployBusy):
		log.Info("a deploy of this repository is running: command postponed")
		return resultPostponed, w.Store.Postpone(ctx, r, 5*time.Second)
	case errors.Is(cause, ErrHostPaused) || errors.Is(err, ErrHostPaused):
		until, _ := w.Guard.Paused(job.Kind)
		log.Warn("the code host failed repeatedly and is paused: job postponed", "host", job.Kind, "until", until)
		return resultPostponed, w.Store.Postpone(ctx, r, max(time.Until(until), time.Second))
	case err != nil && errors.Is(context.Cause(jobCtx), errJobDeadline):
		err = fmt.Errorf("%w: %w", context.Cause(jobCtx), err)
	}
	switch {
	case err == nil:
		log.Info("job done")
		return resultDone, w.done(ctx, r)
	case isPermanent(err):
		log.Error("job failed for a reason no retry mends; not retried", "err", err)
		w.conclude(ctx, ev, r, publicReason(err), log)
		return resultFailed, w.Store.Fail(ctx, r, err.Error())
	case w.Store.LastAttempt(r):
		log.Error("job failed on its last attempt; dead-lettered", "err", err)
		w.conclude(ctx, ev, r, fmt.Sprintf("dataops gave up on this %s event after %d attempts: %s", job.Event, r.Attempt, publicReason(err)), log)
		return resultFailed, w.Store.Retry(ctx, r, err)
	}
	log.Warn("job failed; it will be retried", "err", err)
	var we *WarehouseError
	if errors.As(err, &we) {
		// A warehouse is often only briefly away; say so meanwhile (the
		// error masks the DSN's password).
		w.tell(ctx, ev, fmt.Sprintf("⚠️ dataops could not reach the warehouse, and will try again: %s", publicReason(err)), log)
	}
	if rerr := w.Store.Retry(ctx, r, err); rerr != nil {
		return resultRetried, rerr
	}
	return resultRetried, nil
}

// errJobDeadline ends a job that ran longer than job_timeout.
var errJobDeadline = errors.New("the job did not end within job_timeout")

func (w *Worker) jobTimeout() time.Duration {
	if w.JobTimeout > 0 {
		return w.JobTimeout
	}
	return 30 * time.Minute
}

// conclude tells the pull request that its event will not be handled:
// why (reason, markdown without host URLs or credentials), in the reply
// comment; 😕 on a command; and a gate on the head, so that branch
// protection never waits for a check that will not come.
func (w *Worker) conclude(ctx context.Context, ev Event, r *store.Received, reason string, log *slog.Logger) {
	if ev.PullRequest.Number == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	host, err := w.Connections.Host(ctx, ev.Host, ev.Repo, ev.InstallationID)
	if err != nil {
		log.Warn("cannot tell the pull request", "err", err)
		return
	}
	msg := "❌ " + reason
	if !strings.Contains(reason, "/dataops rerun") {
		msg += "\n\nComment `/dataops rerun` to try again."
	}
	if err := host.UpsertComment(ctx, ev.PullRequest.Number, ReplyMarker, ReplyMarker+"\n"+msg+"\n"); err != nil {
		log.Warn("say why the job ended", "err", err)
	}
	if ev.Kind == Commented && ev.Comment != nil {
		if err := host.React(ctx, ev.PullRequest.Number, ev.Comment.ID, scm.ReactionConfused); err != nil {
			log.Warn("react to the command", "err", err)
		}
	}
	w.endWithGate(ctx, host, ev, r.Job, reason, log)
}

// endWithGate publishes a failed gate on the head, with reason, unless
// the job did not run the checks and the checks' own gate stands for the
// head. A job that ran the checks also ends its other stages, which an
// earlier attempt may have left in progress.
func (w *Worker) endWithGate(ctx context.Context, host scm.Host, ev Event, job store.Job, reason string, log *slog.Logger) {
	if ev.Kind == Closed {
		return
	}
	sha := ev.PullRequest.HeadSHA
	if sha == "" {
		sha = job.HeadSHA
	}
	if sha == "" {
		pr, err := host.PullRequest(ctx, ev.PullRequest.Number)
		if err != nil {
			log.Warn("cannot publish the gate: the pull request's head is unknown", "err", err)
			return
		}
		sha = pr.HeadSHA
	}
	checksJob := runsChecks(ev) || ev.Kind == Rerun
	if cmd, ok := commandOf(ev); ok {
		checksJob = cmd.Verb == VerbRerun || cmd.Verb == VerbDiff
	}
	if !checksJob {
		if saved, _, err := w.Store.Results(ctx, job.Repo, ev.PullRequest.Number); err == nil && saved == sha {
			return
		}
	}
	for _, name := range checks.Stages {
		c := scm.Check{Name: name, Status: scm.StatusCompleted, Conclusion: scm.ConclusionSkipped, Title: "dataops could not run", Summary: reason}
		if name == scm.CheckGate {
			c.Conclusion = scm.ConclusionFailure
		} else if !checksJob {
			continue
		}
		if err := host.PublishCheck(ctx, sha, c); err != nil {
			log.Warn("publish check", "check", name, "err", err)
		}
	}
}

// commandOf is the command of a comment event.
func commandOf(ev Event) (Command, bool) {
	if ev.Kind != Commented || ev.Comment == nil {
		return Command{}, false
	}
	return ParseCommand(ev.Comment.Body)
}

// tell says msg in the pull request's reply comment.
func (w *Worker) tell(ctx context.Context, ev Event, msg string, log *slog.Logger) {
	if ev.PullRequest.Number == 0 {
		return
	}
	host, err := w.Connections.Host(ctx, ev.Host, ev.Repo, ev.InstallationID)
	if err == nil {
		err = host.UpsertComment(ctx, ev.PullRequest.Number, ReplyMarker, ReplyMarker+"\n"+msg+"\n")
	}
	if err != nil {
		log.Warn("tell the pull request", "err", err)
	}
}

func (w *Worker) done(ctx context.Context, r *store.Received) error {
	if err := w.Store.Done(ctx, r); err != nil && !errors.Is(err, store.ErrLost) {
		return err
	}
	return nil
}

// event reads a job's event.
func (w *Worker) event(job store.Job) (Event, error) {
	switch job.Kind {
	case "github":
		return GitHubEvent(job.Event, job.Body, job.DeliveryID)
	case "gitlab":
		return GitLabEvent(job.Event, job.Body, job.DeliveryID, w.GitLabBotUser)
	}
	return Event{}, fmt.Errorf("unknown job kind %q", job.Kind)
}

// runsChecks tells the events whose job is the checks of one head.
func runsChecks(ev Event) bool {
	return ev.Kind == Opened || ev.Kind == Synchronized || ev.Kind == Reopened
}

// superseded reports whether a newer head of the pull request was pushed
// after this job's.
func (w *Worker) superseded(ctx context.Context, job store.Job, ev Event) bool {
	if !runsChecks(ev) || job.HeadSHA == "" {
		return false
	}
	latest, err := w.Store.LatestHead(ctx, job.Repo, job.PR)
	return err == nil && latest != "" && latest != job.HeadSHA
}

// cancelChecks ends the old head's checks as cancelled.
func (w *Worker) cancelChecks(ctx context.Context, job store.Job, ev Event, log *slog.Logger) {
	host, err := w.Connections.Host(ctx, ev.Host, ev.Repo, ev.InstallationID)
	if err != nil {
		log.Warn("cancel the superseded checks", "err", err)
		return
	}
	latest, _ := w.Store.LatestHead(ctx, job.Repo, job.PR)
	for _, name := range checks.Stages {
		c := scm.Check{Name: name, Status: scm.StatusCompleted, Conclusion: scm.ConclusionCancelled,
			Title: "Superseded", Summary: fmt.Sprintf("A newer push (%s) replaced %s; its checks run instead.", short(latest), short(job.HeadSHA))}
		if err := host.PublishCheck(ctx, job.HeadSHA, c); err != nil {
			log.Warn("cancel the superseded check", "check", name, "err", err)
		}
	}
}

// heartbeat renews the job and the pull request's lock while the job
// runs, and cancels the run when a newer head arrives or the job is lost.
func (w *Worker) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, r *store.Received, lockKey string, job store.Job, ev Event, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		renew := time.NewTicker(w.lease() / 3)
		defer renew.Stop()
		check := time.NewTicker(min(time.Second, w.lease()/3))
		defer check.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-check.C:
				if w.superseded(ctx, job, ev) {
					cancel(errSuperseded)
					return
				}
				if _, paused := w.Guard.Paused(job.Kind); paused {
					cancel(ErrHostPaused)
					return
				}
			case <-renew.C:
				err := w.Store.Extend(ctx, r, w.lease())
				if err == nil && job.PR > 0 {
					err = w.Store.Refresh(ctx, lockKey, w.ID(), w.lease())
				}
				if errors.Is(err, store.ErrLost) || errors.Is(err, store.ErrNotHeld) {
					cancel(store.ErrLost)
					return
				}
				if err != nil && ctx.Err() == nil {
					log.Warn("renew the job's lease", "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// handle runs one event with the repository's host, warehouse and
// configuration (dataops.yml as on the base branch: a pull request cannot
// change the rules it is checked by). It fills in ev's pull request.
func (w *Worker) handle(ctx context.Context, ev *Event, job store.Job, r *store.Received, log *slog.Logger) error {
	h, err := w.Connections.Host(ctx, ev.Host, ev.Repo, ev.InstallationID)
	if err != nil {
		return err
	}
	host := &cachedArchives{Host: h}
	if ev.PullRequest.Number > 0 && (ev.PullRequest.BaseSHA == "" || ev.PullRequest.HeadSHA == "") {
		pr, err := host.PullRequest(ctx, ev.PullRequest.Number)
		if err != nil {
			return err
		}
		keep := ev.PullRequest
		ev.PullRequest = *pr
		if keep.HeadSHA != "" {
			ev.PullRequest.HeadSHA = keep.HeadSHA
		}
	}
	cfg, err := w.repoConfig(ctx, host, job.Repo, ev.PullRequest.BaseSHA)
	if err != nil {
		return err
	}
	rec := newRunRecorder(w.Store, log, job, *ev, r.Attempt)
	runURL := ""
	if w.RunURL != nil {
		runURL = w.RunURL(job.Repo, rec.run.ID)
	}
	handler := &Handler{Host: host, Config: cfg, Logger: log, Attempt: r.Attempt, RequirePin: true,
		// Opened only once the fork and permission checks have passed.
		Warehouses: func(ctx context.Context, purpose string) (warehouse.Warehouse, error) {
			return w.Connections.Warehouse(ctx, ev.Host, ev.Repo, purpose)
		},
		State: &storeState{s: w.Store, repo: job.Repo, owner: w.ID(), lease: w.lease(), installation: ev.InstallationID, ttl: cfg.Environments.TTL.Duration},
		Pipeline: func(ev Event) *Pipeline {
			sources := &PackageSources{Sources: ArchiveSources{Host: host, Project: cfg.Project}, LookupEnv: DBTEnvOnly, Logger: log}
			return &Pipeline{Host: host, Config: cfg, Sources: sources,
				Logger: log, Threads: w.Threads, Commands: Commands(true), StageDone: w.Metrics.Stage, LookupEnv: DBTEnvOnly,
				FullDetails: "Each check's details hold the full report.", RetryTransient: true, Compiler: w.Compiler, Recorder: rec, RunURL: runURL}
		}}
	_, err = handler.Handle(ctx, *ev)
	rec.finish(context.WithoutCancel(ctx), err, context.Cause(ctx))
	return err
}

// repoConfig is readConfig, cached.
func (w *Worker) repoConfig(ctx context.Context, host scm.Host, repo, sha string) (config.Config, error) {
	key := repo + "@" + sha
	w.configMu.Lock()
	cfg, ok := w.configs[key]
	w.configMu.Unlock()
	if ok {
		return cfg, nil
	}
	cfg, err := readConfig(ctx, host, sha)
	if err != nil {
		return cfg, err
	}
	w.configMu.Lock()
	if w.configs == nil || len(w.configs) >= maxCachedConfigs {
		w.configs = map[string]config.Config{}
	}
	w.configs[key] = cfg
	w.configMu.Unlock()
	return cfg, nil
}

// readConfig reads dataops.yml at the repository's root at sha; a
// repository without one gets the defaults. A file that is not valid is a
// permanent error: the base must change first.
func readConfig(ctx context.Context, host scm.Host, sha string) (config.Config, error) {
	files, err := ArchiveSources{Host: host}.Files(ctx, sha)
	if err != nil {
		return config.Config{}, sourcesError("base", sha, err)
	}
	for _, f := range files {
		if f.Path == config.FileName {
			cfg, err := config.Parse(config.FileName, []byte(f.Content))
			if err != nil {
				return cfg, permanent(err, fmt.Sprintf("dataops.yml on the base branch (%s) is not valid, so nothing ran:\n\n```\n%v\n```", short(sha), err))
			}
			return cfg, nil
		}
	}
	return config.Default(), nil
}

// cachedArchives downloads each commit's archive once per job: the
// configuration and the sources come from the same base archive.
type cachedArchives struct {
	scm.Host
	mu   sync.Mutex
	data map[string][]byte
}

func (c *cachedArchives) Archive(ctx context.Context, sha string) (io.ReadCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.data[sha]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	rc, err := c.Host.Archive(ctx, sha)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxArchive))
	if err != nil {
		return nil, err
	}
	if c.data == nil {
		c.data = map[string][]byte{}
	}
	c.data[sha] = b
	return io.NopCloser(bytes.NewReader(b)), nil
}

// storeState is a repository's State in the store.
type storeState struct {
	s            *store.Store
	repo         string
	owner        string
	lease        time.Duration
	installation int64
	ttl          time.Duration
}

func (st *storeState) SaveResults(ctx context.Context, pr int, sha string, results []byte) error {
	return st.s.SaveResults(ctx, st.repo, pr, sha, results)
}

func (st *storeState) Results(ctx context.Context, pr int) (string, []byte, error) {
	return st.s.Results(ctx, st.repo, pr)
}

func (st *storeState) GateChanged(ctx context.Context, pr int, headSHA, conclusion string) error {
	return st.s.GateChanged(ctx, st.repo, pr, headSHA, conclusion)
}

// LockDeploy takes the repository's deploy lock and keeps renewing it
// until unlocked, however long the deploy takes.
func (st *storeState) LockDeploy(ctx context.Context) (func(), bool, error) {
	key := "deploy:" + st.repo
	ok, err := st.s.Lock(ctx, key, st.owner, st.lease)
	if err != nil || !ok {
		return nil, ok, err
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(st.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = st.s.Refresh(ctx, key, st.owner, st.lease)
			}
		}
	}()
	return func() {
		close(done)
		_ = st.s.Unlock(context.WithoutCancel(ctx), key, st.owner)
	}, true, nil
}

func (st *storeState) EnvironmentUsed(ctx context.Context, pr int, name string) error {
	return st.s.TouchEnvironment(ctx, store.Environment{Repo: st.repo, PR: pr, Name: name, InstallationID: st.installation, TTL: st.ttl})
}

func (st *storeState) EnvironmentDropped(ctx context.Context, pr int) error {
	return st.s.ForgetEnvironment(ctx, st.repo, pr)
}

// RepoKey is how the store keys a repository: host and path, since the
// same path can exist on GitHub and on GitLab.
func RepoKey(host, repo string) string { return host + ":" + repo }

// splitRepoKey undoes RepoKey.
func splitRepoKey(key string) (host, repo string) {
	host, repo, _ = strings.Cut(key, ":")
	return host, repo
}

// Approvers and TeamMember pass through to the host when it can tell
// approvals (embedding the interface alone would hide them).
func (c *cachedArchives) Approvers(ctx context.Context, number int) ([]string, error) {
	rv, ok := c.Host.(reviewer)
	if !ok {
		return nil, errors.New("this code host cannot tell approvals")
	}
	return rv.Approvers(ctx, number)
}

func (c *cachedArchives) TeamMember(ctx context.Context, team, user string) (bool, error) {
	rv, ok := c.Host.(reviewer)
	if !ok {
		return false, errors.New("this code host cannot tell team membership")
	}
	return rv.TeamMember(ctx, team, user)
}
