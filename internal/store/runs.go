package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Runs are what the bot's web pages show of the checks: each run of a pull
// request's checks, its stages as they start and end, and, once it ends,
// its whole report (encoded by the caller; opaque here). The report holds
// only masked samples: the pipeline masks sensitive values before anything
// leaves the warehouse, and the store keeps what it is given.

// ErrNotFound is returned when a run or a dead letter does not exist (or
// no longer does: the sweep prunes old runs).
var ErrNotFound = errors.New("not found")

// Run statuses.
const (
	RunRunning   = "running"
	RunCompleted = "completed" // the checks ran to their gate
	// RunFailed: the job failed before the gate with an error; the queue
	// may run it again, as a new run.
	RunFailed     = "failed"
	RunSuperseded = "superseded" // a newer push replaced the head
	// RunInterrupted: its worker stopped or died; the queue runs the job
	// again, as a new run.
	RunInterrupted = "interrupted"
)

// Stage is one check of a run as it was last published.
type Stage struct {
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion,omitempty"`
	Title      string    `json:"title,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Run is one run of a pull request's checks.
type Run struct {
	ID   string
	Repo string // as the worker keys it: host and repository
	PR   int
	// Title is the pull request's title when the run started.
	Title   string
	HeadSHA string
	// Trigger says what started the run ("opened", "push", "/dataops
	// rerun", ...) and Actor who (a login; empty when the host did not
	// say).
	Trigger    string
	Actor      string
	DeliveryID string
	Attempt    int
	Status     string
	// Gate is the gate's conclusion, once the gate ran.
	Gate   string
	Error  string
	Stages []Stage

	StartedAt, UpdatedAt time.Time
	FinishedAt           time.Time // zero while running
	HasReport            bool
}

const (
	runColumnsNoReport = "id, repo, pr, title, head_sha, trigger, actor, delivery_id, attempt, status, gate, error, stages, started_at, updated_at, finished_at"
	runColumns         = runColumnsNoReport + ", report is not null"
)

// scanRun reads the runColumns of a row, then into extra the columns
// after them.
func scanRun(row interface{ Scan(...any) error }, extra ...any) (Run, error) {
	var (
		r                        Run
		stages                   string
		started, updated, finish int64
	)
	err := row.Scan(append([]any{&r.ID, &r.Repo, &r.PR, &r.Title, &r.HeadSHA, &r.Trigger, &r.Actor, &r.DeliveryID, &r.Attempt, &r.Status, &r.Gate, &r.Error,
		&stages, &started, &updated, &finish, &r.HasReport}, extra...)...)
	if err != nil {
		return Run{}, err
	}
	if err := json.Unmarshal([]byte(stages), &r.Stages); err != nil {
		return Run{}, fmt.Errorf("run %s: its stages cannot be read: %w", r.ID, err)
	}
	r.StartedAt, r.UpdatedAt = time.UnixMilli(started), time.UnixMilli(updated)
	if finish > 0 {
		r.FinishedAt = time.UnixMilli(finish)
	}
	return r, nil
}

func encodeStages(stages []Stage) (string, error) {
	if stages == nil {
		stages = []Stage{}
	}
	b, err := json.Marshal(stages)
	return string(b), err
}

// StartRun records a run that starts now. Any other run of the same pull
// request still marked running is marked interrupted: the worker runs one
// job per pull request at a time, so such a run's worker died or stopped.
func (s *Store) StartRun(ctx context.Context, r Run) error {
	if r.ID == "" || r.Repo == "" {
		return fmt.Errorf("start run: the id and the repository are required")
	}
	stages, err := encodeStages(r.Stages)
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	now := time.Now()
	if r.StartedAt.IsZero() {
		r.StartedAt = now
	}
	if r.Status == "" {
		r.Status = RunRunning
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind("update dataops_runs set status = ?, updated_at = ?, finished_at = ? where repo = ? and pr = ? and status = ?"),
			RunInterrupted, now.UnixMilli(), now.UnixMilli(), r.Repo, r.PR, RunRunning); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`insert into dataops_runs (id, repo, pr, title, head_sha, trigger, actor, delivery_id, attempt, status, gate, error, stages, started_at, updated_at, finished_at)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`),
			r.ID, r.Repo, r.PR, r.Title, r.HeadSHA, r.Trigger, r.Actor, r.DeliveryID, r.Attempt, r.Status, r.Gate, r.Error, stages,
			r.StartedAt.UnixMilli(), now.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("start run %s of %s#%d: %w", r.ID, r.Repo, r.PR, err)
	}
	return nil
}

// UpdateRun records a running run's stages and gate as they are now.
func (s *Store) UpdateRun(ctx context.Context, id string, stages []Stage, gate string) error {
	enc, err := encodeStages(stages)
	if err != nil {
		return fmt.Errorf("update run %s: %w", id, err)
	}
	if _, err := s.db.ExecContext(ctx, s.rebind("update dataops_runs set stages = ?, gate = ?, updated_at = ? where id = ?"),
		enc, gate, time.Now().UnixMilli(), id); err != nil {
		return fmt.Errorf("update run %s: %w", id, err)
	}
	return nil
}

// SaveRunReport records a run's report (before the comment linking to it
// is posted; the run may still be running).
func (s *Store) SaveRunReport(ctx context.Context, id string, report []byte) error {
	if _, err := s.db.ExecContext(ctx, s.rebind("update dataops_runs set report = ?, updated_at = ? where id = ?"), report, time.Now().UnixMilli(), id); err != nil {
		return fmt.Errorf("save the report of run %s: %w", id, err)
	}
	return nil
}

// maxRunError bounds the error a run keeps.
const maxRunError = 4000

// FinishRun records how a run ended, with its stages, gate, error (for a
// failed run) and report (nil keeps the one SaveRunReport saved).
func (s *Store) FinishRun(ctx context.Context, id, status, gate, errText string, stages []Stage, report []byte) error {
	enc, err := encodeStages(stages)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	if len(errText) > maxRunError {
		errText = strings.ToValidUTF8(errText[:maxRunError], "") + "…"
	}
	now := time.Now().UnixMilli()
	if _, err := s.db.ExecContext(ctx, s.rebind("update dataops_runs set status = ?, gate = ?, error = ?, stages = ?, report = coalesce(?, report), updated_at = ?, finished_at = ? where id = ?"),
		status, gate, errText, enc, report, now, now, id); err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	return nil
}

// GateChanged records a gate evaluated again (after a review) on the
// latest run of a pull request's head, if there is one.
func (s *Store) GateChanged(ctx context.Context, repo string, pr int, headSHA, gate string) error {
	r, err := s.latestRun(ctx, repo, pr, headSHA)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for i := range r.Stages {
		if r.Stages[i].Name == gateStage {
			r.Stages[i].Conclusion = gate
		}
	}
	return s.UpdateRun(ctx, r.ID, r.Stages, gate)
}

// gateStage is the gate check's name (scm.CheckGate, not imported here).
const gateStage = "dataops/gate"

func (s *Store) latestRun(ctx context.Context, repo string, pr int, headSHA string) (Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, s.rebind("select "+runColumns+" from dataops_runs where repo = ? and pr = ? and head_sha = ? order by started_at desc, id desc limit 1"),
		repo, pr, headSHA))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("read the latest run of %s#%d: %w", repo, pr, err)
	}
	return r, nil
}

// Run reads one run, without its report.
func (s *Store) Run(ctx context.Context, id string) (Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, s.rebind("select "+runColumns+" from dataops_runs where id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("read run %s: %w", id, err)
	}
	return r, nil
}

// RunReport returns a run's report as FinishRun stored it; nil when the run
// has none (it is running, or failed before its report).
func (s *Store) RunReport(ctx context.Context, id string) ([]byte, error) {
	var report []byte
	err := s.db.QueryRowContext(ctx, s.rebind("select report from dataops_runs where id = ?"), id).Scan(&report)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read the report of run %s: %w", id, err)
	}
	return report, nil
}

// PullRequestRuns lists up to limit runs of a pull request, newest first.
func (s *Store) PullRequestRuns(ctx context.Context, repo string, pr, limit int) ([]Run, error) {
	return s.runs(ctx, "select "+runColumns+" from dataops_runs where repo = ? and pr = ? order by started_at desc, id desc limit ?", repo, pr, limit)
}

func (s *Store) runs(ctx context.Context, query string, args ...any) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// PullRequestSummary is a pull request as the repository's page lists it:
// its latest run (whose Gate is the pull request's latest gate) and how
// many runs the store keeps.
type PullRequestSummary struct {
	PR     int
	Latest Run
	Runs   int
}

// PullRequests lists the pull requests of a repository that have runs,
// the most recently run first.
func (s *Store) PullRequests(ctx context.Context, repo string) ([]PullRequestSummary, error) {
	// The report stays out of the window's rows: it can be megabytes.
	rows, err := s.db.QueryContext(ctx, s.rebind(`select `+runColumnsNoReport+`, has_report, n from (
  select `+runColumnsNoReport+`, report is not null as has_report,
    row_number() over (partition by pr order by started_at desc, id desc) as k, count(*) over (partition by pr) as n
  from dataops_runs where repo = ?
) latest where k = 1 order by started_at desc, pr desc`), repo)
	if err != nil {
		return nil, fmt.Errorf("list the pull requests of %s: %w", repo, err)
	}
	defer rows.Close()
	var out []PullRequestSummary
	for rows.Next() {
		var p PullRequestSummary
		if p.Latest, err = scanRun(rows, &p.Runs); err != nil {
			return nil, fmt.Errorf("list the pull requests of %s: %w", repo, err)
		}
		p.PR = p.Latest.PR
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the pull requests of %s: %w", repo, err)
	}
	return out, nil
}

// RepositorySummary is a repository the bot has worked for.
type RepositorySummary struct {
	Repo         string
	PullRequests int // with runs kept
	Environments int
	LastActivity time.Time
}

// Repositories lists every repository with runs, environments or deploys
// in the store, the most recently active first.
func (s *Store) Repositories(ctx context.Context) ([]RepositorySummary, error) {
	rows, err := s.db.QueryContext(ctx, `select repo, sum(pulls), sum(envs), max(at) from (
  select repo, count(distinct pr) as pulls, 0 as envs, max(started_at) as at from dataops_runs group by repo
  union all
  select repo, 0, count(*), max(used_at) from dataops_environments group by repo
  union all
  select repo, 0, 0, max(at) from dataops_deploys group by repo
) a group by repo order by max(at) desc, repo`)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	defer rows.Close()
	var out []RepositorySummary
	for rows.Next() {
		var (
			r  RepositorySummary
			at int64
		)
		if err := rows.Scan(&r.Repo, &r.PullRequests, &r.Environments, &at); err != nil {
			return nil, fmt.Errorf("list repositories: %w", err)
		}
		r.LastActivity = time.UnixMilli(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	return out, nil
}

// PruneRuns forgets the runs that started before before and are not
// running, and the deploy records older than before except each
// repository's latest (what a rollback would undo). It returns how many
// runs it removed.
func (s *Store) PruneRuns(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind("delete from dataops_runs where started_at < ? and status <> ?"), before.UnixMilli(), RunRunning)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, s.rebind(`delete from dataops_deploys where at < ? and at < (select max(at) from dataops_deploys newest where newest.repo = dataops_deploys.repo)`),
			before.UnixMilli())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune old runs: %w", err)
	}
	return n, nil
}
