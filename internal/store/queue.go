package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"maragu.dev/goqite"
)

// Received is a job taken from the queue by one worker. It stays invisible to
// other workers for the visibility timeout (Options.VisibilityTimeout), which
// Extend renews; Done, Retry or Postpone end it.
type Received struct {
	Job Job
	ID  string // the queue message id
	// Attempt is 1 for the first run of the job, and counts every earlier
	// attempt, including those a crash interrupted.
	Attempt int
	// LastError is the error the previous attempt ended with, if any.
	LastError string
	// Crashes counts the earlier attempts that started and never ended:
	// their worker died (SIGKILL, a fatal error such as running out of
	// memory or stack) or stopped renewing the job.
	Crashes int
	// Dead, when set, says why Receive dead-lettered the job instead of
	// handing it out (too many crashes or interruptions): it is no longer
	// in the queue, and the worker only tells its pull request.
	Dead string

	received int // goqite's receive count when this worker got the job: its claim
	failures int
}

// ErrLost is returned by Extend, Done, Retry and Postpone when the worker no
// longer holds the job: its visibility timeout expired and another worker
// received it, or another worker already finished it. The worker should stop
// working on it; whoever holds it now reports it.
var ErrLost = errors.New("job no longer held by this worker (its visibility timeout expired, or it was finished)")

// Receive takes the next job, or returns nil, nil when none is ready. A job
// interrupted MaxAttempts times, or whose worker died MaxCrashes times, is
// dead-lettered here instead of being run again, and returned with Dead
// saying why.
func (s *Store) Receive(ctx context.Context) (*Received, error) {
	var got *Received
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.engine == enginePostgres {
			// goqite v0.4.0's receive (update ... where id = (select ...
			// limit 1)) has no "for update skip locked": at read committed,
			// two replicas could both take the head of the queue, and at
			// serializable they fail with serialization errors under load.
			// Receivers therefore take turns through an advisory lock held
			// for this short transaction; workers run for minutes, so the
			// queue is never the bottleneck.
			if _, err := tx.ExecContext(ctx, "select pg_advisory_xact_lock($1)", receiveLockKey); err != nil {
				return err
			}
		}
		for {
			m, err := s.queue.ReceiveTx(ctx, tx)
			if err != nil || m == nil {
				return err
			}
			var received int
			if err := tx.QueryRowContext(ctx, s.rebind("select received from goqite where queue = ? and id = ?"), queueName, string(m.ID)).Scan(&received); err != nil {
				return fmt.Errorf("read receive count: %w", err)
			}
			var env envelope
			if err := json.Unmarshal(m.Body, &env); err != nil {
				// Nobody to tell: the job names no pull request.
				if err := s.deadLetterTx(ctx, tx, string(m.ID), m.Body, received, "undecodable job: "+err.Error()); err != nil {
					return err
				}
				continue
			}
			attempt := env.Failures + received
			// An attempt is started by a receive and ended by Done, Retry,
			// Postpone, Release or Fail, each of which replaces the message:
			// every receive of this message before this one never ended.
			crashes := env.Crashes + received - 1
			if crashes >= s.opts.MaxCrashes {
				reason := fmt.Sprintf("its worker died %d times while running it (killed, or a fatal error such as running out of memory or stack): not run again", crashes)
				if env.LastError != "" {
					reason += "; last error: " + env.LastError
				}
				got = &Received{Job: env.Job, ID: string(m.ID), Attempt: attempt - 1, LastError: env.LastError, Crashes: crashes, Dead: reason}
				return s.deadLetterTx(ctx, tx, string(m.ID), m.Body, attempt-1, reason)
			}
			if attempt > s.opts.MaxAttempts {
				reason := fmt.Sprintf("interrupted %d times (crash or visibility timeout)", received-1)
				if env.LastError != "" {
					reason += "; last error: " + env.LastError
				}
				got = &Received{Job: env.Job, ID: string(m.ID), Attempt: attempt - 1, LastError: env.LastError, Crashes: crashes, Dead: reason}
				return s.deadLetterTx(ctx, tx, string(m.ID), m.Body, attempt-1, reason)
			}
			got = &Received{Job: env.Job, ID: string(m.ID), Attempt: attempt, LastError: env.LastError, Crashes: crashes,
				received: received, failures: env.Failures}
			return nil
		}
	})
	if err != nil {
		return nil, fmt.Errorf("receive job: %w", err)
	}
	return got, nil
}

// claim checks, in tx, that r is still this worker's: the message exists and
// nobody received it since. On PostgreSQL it also locks the row until the
// transaction ends, so that no receive slips in between the check and the
// change.
func (s *Store) claim(ctx context.Context, tx *sql.Tx, r *Received) error {
	q := "select received from goqite where queue = ? and id = ?"
	if s.engine == enginePostgres {
		q += " for update"
	}
	var received int
	err := tx.QueryRowContext(ctx, s.rebind(q), queueName, r.ID).Scan(&received)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && received != r.received) {
		return ErrLost
	}
	return err
}

// Extend keeps the job invisible to other workers for d from now. Call it
// well within the visibility timeout while working (e.g. every third of it).
func (s *Store) Extend(ctx context.Context, r *Received, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("extend job %s: the duration must be positive, not %s", r.ID, d)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claim(ctx, tx, r); err != nil {
			return err
		}
		return s.queue.ExtendTx(ctx, tx, goqite.ID(r.ID), d)
	})
	if err != nil {
		return fmt.Errorf("extend job %s: %w", r.ID, err)
	}
	return nil
}

// Done removes a finished job from the queue (whatever its outcome for the
// pull request: failed checks are a finished job, not a failed one).
func (s *Store) Done(ctx context.Context, r *Received) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claim(ctx, tx, r); err != nil {
			return err
		}
		return s.queue.DeleteTx(ctx, tx, goqite.ID(r.ID))
	})
	if err != nil {
		return fmt.Errorf("complete job %s: %w", r.ID, err)
	}
	return nil
}

// Retry ends an attempt that failed with cause (a transient error: the
// host's API or the warehouse unreachable) and queues the job again after a
// backoff that doubles with each attempt. The job that used its last attempt
// is dead-lettered instead. The job's message id changes.
func (s *Store) Retry(ctx context.Context, r *Received, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claim(ctx, tx, r); err != nil {
			return err
		}
		env := envelope{Job: r.Job, Failures: r.Attempt, LastError: msg, Crashes: r.Crashes}
		body, err := json.Marshal(env)
		if err != nil {
			return err
		}
		if r.Attempt >= s.opts.MaxAttempts {
			return s.deadLetterTx(ctx, tx, r.ID, body, r.Attempt, msg)
		}
		return s.requeueTx(ctx, tx, r.ID, body, s.backoff(r.Attempt))
	})
	if err != nil {
		return fmt.Errorf("retry job %s: %w", r.ID, err)
	}
	return nil
}

// Postpone puts a job that could not start back in the queue for delay,
// without counting the attempt: e.g. another worker holds its pull request's
// lock. The job's message id changes.
func (s *Store) Postpone(ctx context.Context, r *Received, delay time.Duration) error {
	if delay < 0 {
		delay = 0
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claim(ctx, tx, r); err != nil {
			return err
		}
		// Earlier interruptions stay counted; this receive does not.
		env := envelope{Job: r.Job, Failures: r.Attempt - 1, LastError: r.LastError, Crashes: r.Crashes}
		body, err := json.Marshal(env)
		if err != nil {
			return err
		}
		return s.requeueTx(ctx, tx, r.ID, body, delay)
	})
	if err != nil {
		return fmt.Errorf("postpone job %s: %w", r.ID, err)
	}
	return nil
}

// Release hands a job back at once, without counting the attempt: the
// worker is stopping (SIGTERM) in the middle of it. Left to its visibility
// timeout instead, the attempt would count as a crash.
func (s *Store) Release(ctx context.Context, r *Received) error {
	return s.Postpone(ctx, r, 0)
}

// Fail ends a job that cannot succeed, whatever it is retried: a
// permanent error (a commit that does not exist, an event without an
// installation, a bad configuration). It is dead-lettered at once with
// reason, for an operator to read.
func (s *Store) Fail(ctx context.Context, r *Received, reason string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.claim(ctx, tx, r); err != nil {
			return err
		}
		env := envelope{Job: r.Job, Failures: r.Attempt, LastError: reason, Crashes: r.Crashes}
		body, err := json.Marshal(env)
		if err != nil {
			return err
		}
		return s.deadLetterTx(ctx, tx, r.ID, body, r.Attempt, "permanent: "+reason)
	})
	if err != nil {
		return fmt.Errorf("fail job %s: %w", r.ID, err)
	}
	return nil
}

// requeueTx replaces message id by a fresh one with body, visible after
// delay. A fresh message rather than goqite's Extend, because goqite counts
// receives per message: the fresh one starts at zero, so the count keeps
// meaning "interruptions of this attempt", and Stats can tell a job waiting
// for its retry (never received) from one running.
func (s *Store) requeueTx(ctx context.Context, tx *sql.Tx, id string, body []byte, delay time.Duration) error {
	if err := s.queue.DeleteTx(ctx, tx, goqite.ID(id)); err != nil {
		return err
	}
	return s.queue.SendTx(ctx, tx, goqite.Message{Body: body, Delay: delay})
}

// backoff is the delay before the attempt after the given one.
func (s *Store) backoff(attempt int) time.Duration {
	d := s.opts.RetryBackoff
	for i := 1; i < attempt && d < s.opts.MaxRetryBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opts.MaxRetryBackoff)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// deadLetterTx moves message id out of the queue into dataops_dead.
func (s *Store) deadLetterTx(ctx context.Context, tx *sql.Tx, id string, body []byte, attempts int, reason string) error {
	if err := s.queue.DeleteTx(ctx, tx, goqite.ID(id)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.rebind(`insert into dataops_dead (id, envelope, attempts, last_error, died_at) values (?, ?, ?, ?, ?)
on conflict (id) do nothing`), id, body, attempts, reason, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("dead-letter job %s: %w", id, err)
	}
	return nil
}

// DeadLetter is a job that used all its attempts. It is kept for an
// operator to read; nothing runs it again.
type DeadLetter struct {
	ID        string
	Job       Job
	Attempts  int
	LastError string
	DiedAt    time.Time
}

// DeadLetters returns up to limit dead-lettered jobs, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind("select id, envelope, attempts, last_error, died_at from dataops_dead order by died_at desc, id limit ?"), limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var (
			dl   DeadLetter
			body []byte
			died int64
		)
		if err := rows.Scan(&dl.ID, &body, &dl.Attempts, &dl.LastError, &died); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		var env envelope
		_ = json.Unmarshal(body, &env) // an undecodable job is listed with its reason and an empty Job
		dl.Job = env.Job
		dl.DiedAt = time.UnixMilli(died)
		out = append(out, dl)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Stats is the queue at one moment, for metrics and health checks.
type Stats struct {
	Queued  int // ready to run now (new, or interrupted and due again)
	Delayed int // waiting for a retry's backoff or a postponement to end
	Running int // held by a worker (or by one that crashed, until its visibility timeout ends)
	Dead    int // dead-lettered
	// OldestQueuedAge is how long the longest-waiting ready job has been
	// ready: the queue's lag behind its workers. Zero when none is ready.
	OldestQueuedAge time.Duration
}

// Stats counts the queue's jobs by state.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	now := time.Now()
	t := s.goqiteTime(now)
	var (
		st     Stats
		oldest any
	)
	err := s.db.QueryRowContext(ctx, s.rebind(`select
  count(case when timeout <= ? then 1 end),
  count(case when timeout > ? and received = 0 then 1 end),
  count(case when timeout > ? and received > 0 then 1 end),
  min(case when timeout <= ? then timeout end)
from goqite where queue = ?`), t, t, t, t, queueName).Scan(&st.Queued, &st.Delayed, &st.Running, &oldest)
	if err != nil {
		return Stats{}, fmt.Errorf("queue stats: %w", err)
	}
	if oldest != nil {
		ready, err := parseGoqiteTime(oldest)
		if err != nil {
			return Stats{}, fmt.Errorf("queue stats: %w", err)
		}
		st.OldestQueuedAge = max(now.Sub(ready), 0)
	}
	if err := s.db.QueryRowContext(ctx, "select count(*) from dataops_dead").Scan(&st.Dead); err != nil {
		return Stats{}, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}

// LastAttempt reports whether r is the job's last attempt: a Retry now
// dead-letters it.
func (s *Store) LastAttempt(r *Received) bool { return r.Attempt >= s.opts.MaxAttempts }
