package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"maragu.dev/goqite"
)

// The queue as the web pages show it, and the one thing they change in it:
// a dead letter sent back to the queue by a person allowed to.

// Queued job states.
const (
	JobQueued    = "queued"    // ready to run (new, or a retry now due)
	JobRetrying  = "retrying"  // waiting for its backoff after a failed attempt
	JobPostponed = "postponed" // waiting for its pull request's or repository's lock
	JobRunning   = "running"   // held by a worker
)

// QueuedJob is one job in the queue.
type QueuedJob struct {
	ID string
	// Job is the job without its payload.
	Job   Job
	State string
	// Attempt is the attempt running, or the next one.
	Attempt   int
	LastError string
	Created   time.Time
	// Due is when a waiting job becomes ready, or when a running job's
	// lease ends.
	Due time.Time
}

// Jobs lists up to limit jobs in the queue, oldest first.
func (s *Store) Jobs(ctx context.Context, limit int) ([]QueuedJob, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind("select id, body, timeout, received, created from goqite where queue = ? order by created, id limit ?"), queueName, limit)
	if err != nil {
		return nil, fmt.Errorf("list the queue: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	var out []QueuedJob
	for rows.Next() {
		var (
			j                QueuedJob
			body             []byte
			timeout, created any
			received         int
		)
		if err := rows.Scan(&j.ID, &body, &timeout, &received, &created); err != nil {
			return nil, fmt.Errorf("list the queue: %w", err)
		}
		if j.Due, err = parseGoqiteTime(timeout); err != nil {
			return nil, fmt.Errorf("list the queue: %w", err)
		}
		if j.Created, err = parseGoqiteTime(created); err != nil {
			return nil, fmt.Errorf("list the queue: %w", err)
		}
		var env envelope
		if err := json.Unmarshal(body, &env); err != nil {
			j.LastError = "undecodable job: " + err.Error()
		}
		j.Job, j.LastError = env.Job, env.LastError
		j.Job.Body = nil
		// As Receive counts: every receive of this message is an attempt.
		j.Attempt = env.Failures + received + 1
		switch {
		case !j.Due.After(now):
			j.State = JobQueued
		case received > 0:
			j.State, j.Attempt = JobRunning, env.Failures+received
		case env.Failures > 0:
			j.State = JobRetrying
		default:
			j.State = JobPostponed
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the queue: %w", err)
	}
	return out, nil
}

// DeadLetter reads one dead-lettered job.
func (s *Store) DeadLetter(ctx context.Context, id string) (DeadLetter, error) {
	var (
		dl   DeadLetter
		body []byte
		died int64
	)
	err := s.db.QueryRowContext(ctx, s.rebind("select id, envelope, attempts, last_error, died_at from dataops_dead where id = ?"), id).
		Scan(&dl.ID, &body, &dl.Attempts, &dl.LastError, &died)
	if errors.Is(err, sql.ErrNoRows) {
		return DeadLetter{}, ErrNotFound
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("read dead letter %s: %w", id, err)
	}
	var env envelope
	_ = json.Unmarshal(body, &env) // an undecodable job reads as an empty Job; RetryDead refuses it
	dl.Job, dl.DiedAt = env.Job, time.UnixMilli(died)
	return dl, nil
}

// RetryDead sends a dead-lettered job back to the queue with a fresh budget
// of attempts; its last error stays with it until the next attempt ends.
// It returns the job; ErrNotFound when there is no such dead letter (it
// was retried already).
func (s *Store) RetryDead(ctx context.Context, id string) (Job, error) {
	var job Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		q := "select envelope, last_error from dataops_dead where id = ?"
		if s.engine == enginePostgres {
			q += " for update"
		}
		var (
			body    []byte
			lastErr string
		)
		err := tx.QueryRowContext(ctx, s.rebind(q), id).Scan(&body, &lastErr)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var env envelope
		if err := json.Unmarshal(body, &env); err != nil || env.Job.Kind == "" {
			return fmt.Errorf("the job cannot be read, so it cannot run again (%s)", lastErr)
		}
		if _, err := tx.ExecContext(ctx, s.rebind("delete from dataops_dead where id = ?"), id); err != nil {
			return err
		}
		fresh, err := json.Marshal(envelope{Job: env.Job, LastError: lastErr})
		if err != nil {
			return err
		}
		job = env.Job
		return s.queue.SendTx(ctx, tx, goqite.Message{Body: fresh})
	})
	if err != nil {
		return Job{}, fmt.Errorf("retry dead letter %s: %w", id, err)
	}
	return job, nil
}
