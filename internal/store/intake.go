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

// Delivery is one webhook delivery as received.
type Delivery struct {
	Host       string // "github", "gitlab", or a host name: delivery ids are unique per host
	ID         string // X-GitHub-Delivery, X-Gitlab-Event-UUID
	Event      string // X-GitHub-Event, X-Gitlab-Event
	Payload    []byte
	ReceivedAt time.Time // zero means now
}

// Job is the work a delivery asks for, as the queue carries it.
type Job struct {
	Kind       string `json:"kind"`            // what made it: "github", "gitlab", "sweep", ...
	Event      string `json:"event,omitempty"` // the delivery's event name, to parse Body
	Repo       string `json:"repo,omitempty"`
	PR         int    `json:"pr,omitempty"`
	HeadSHA    string `json:"head_sha,omitempty"`
	DeliveryID string `json:"delivery_id,omitempty"`
	// PinnedHead is, for a command, the pull request's head when it was
	// given (bot.Event.Pinned), read at intake when the payload lacks it.
	PinnedHead string `json:"pinned_head,omitempty"`
	// Body is the delivery's payload, JSON: kept as it is in the queue's
	// message (a []byte would be base64, a third bigger).
	Body json.RawMessage `json:"body,omitempty"`
}

// envelope is a goqite message body: the job plus what the store tracks
// across attempts, kept in the message itself so that it moves with it.
type envelope struct {
	Job Job `json:"job"`
	// Failures counts the attempts that ended: by Retry, or interrupted (a
	// crash or an expired visibility timeout) and then retried.
	Failures  int    `json:"failures,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Crashes counts the attempts that started and never ended (their
	// worker died), carried across retries and postponements.
	Crashes int `json:"crashes,omitempty"`
}

// Accept records a delivery and enqueues its job in one transaction, so that
// neither exists without the other. A delivery whose (Host, ID) was accepted
// before is a redelivery: Accept returns duplicate=true and enqueues nothing.
// When Accept returns nil the delivery is on disk (SQLite: flushed; the HTTP
// answer may be sent). When it returns an error the outcome is unknown (the
// context may have ended while its group was being committed): answer with
// an error, and the sender's redelivery will be deduplicated if it was
// stored after all.
//
// A job with a PR and a HeadSHA also records that sha as the pull request's
// newest head (see LatestHead).
func (s *Store) Accept(ctx context.Context, d Delivery, job Job) (duplicate bool, err error) {
	if d.Host == "" || d.ID == "" {
		return false, fmt.Errorf("accept delivery: host and delivery id are required (got host %q, id %q)", d.Host, d.ID)
	}
	if job.Kind == "" {
		return false, fmt.Errorf("accept delivery %s: the job has no kind", d.ID)
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = time.Now()
	}
	if d.Payload == nil {
		d.Payload = []byte{} // the column is not null
	}
	if job.DeliveryID == "" {
		job.DeliveryID = d.ID
	}
	body, err := json.Marshal(envelope{Job: job})
	if err != nil {
		return false, fmt.Errorf("accept delivery %s: encode job: %w", d.ID, err)
	}
	req := &acceptRequest{ctx: ctx, d: d, job: job, body: body}
	if s.engine == enginePostgres {
		err = s.inTx(ctx, func(tx *sql.Tx) error { return s.acceptTx(ctx, tx, req) })
	} else {
		err = s.acceptGrouped(ctx, req)
	}
	if err != nil {
		return false, fmt.Errorf("accept delivery %s/%s: %w", d.Host, d.ID, err)
	}
	return req.duplicate, nil
}

type acceptRequest struct {
	ctx       context.Context
	d         Delivery
	job       Job
	body      []byte
	duplicate bool
	done      chan error
}

const (
	insertDeliverySQL = `insert into dataops_deliveries (host, id, event, payload, received_at)
values (?, ?, ?, ?, ?) on conflict (host, id) do nothing`
	// Deliveries can arrive out of order; the newest by receipt wins.
	upsertHeadSQL = `insert into dataops_heads (repo, pr, head_sha, seen_at) values (?, ?, ?, ?)
on conflict (repo, pr) do update set head_sha = excluded.head_sha, seen_at = excluded.seen_at
where excluded.seen_at >= dataops_heads.seen_at`
)

// acceptStatements are Accept's own statements, prepared once on SQLite's
// single connection: preparing costs as much as running them. (pgx caches
// prepared statements per connection by itself.)
type acceptStatements struct {
	insertDelivery, upsertHead *sql.Stmt
}

func (s *Store) prepareAcceptStatements(ctx context.Context) error {
	var err error
	if s.stmts.insertDelivery, err = s.db.PrepareContext(ctx, insertDeliverySQL); err != nil {
		return err
	}
	s.stmts.upsertHead, err = s.db.PrepareContext(ctx, upsertHeadSQL)
	return err
}

// exec runs stmt in tx when it was prepared, else query.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, query string, args ...any) (sql.Result, error) {
	if stmt != nil {
		return tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.rebind(query), args...)
}

// acceptTx does one Accept's writes in tx.
func (s *Store) acceptTx(ctx context.Context, tx *sql.Tx, r *acceptRequest) error {
	r.duplicate = false // the group may run again
	res, err := s.exec(ctx, tx, s.stmts.insertDelivery, insertDeliverySQL,
		r.d.Host, r.d.ID, r.d.Event, r.d.Payload, r.d.ReceivedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	if n == 0 {
		r.duplicate = true
		return nil
	}
	if err := s.queue.SendTx(ctx, tx, goqite.Message{Body: r.body}); err != nil {
		return fmt.Errorf("enqueue job: %w", err)
	}
	if r.job.PR > 0 && r.job.HeadSHA != "" && r.job.Repo != "" {
		if _, err := s.exec(ctx, tx, s.stmts.upsertHead, upsertHeadSQL,
			r.job.Repo, r.job.PR, r.job.HeadSHA, r.d.ReceivedAt.UnixMilli()); err != nil {
			return fmt.Errorf("record head sha: %w", err)
		}
	}
	return nil
}

// acceptGrouped hands r to the committer and waits for its group's commit.
func (s *Store) acceptGrouped(ctx context.Context, r *acceptRequest) error {
	r.done = make(chan error, 1)
	select {
	case s.accepts <- r:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxGroup bounds how many Accepts share a commit, so one group's
// transaction stays short.
const maxGroup = 256

// groupTimeout bounds one group's transaction; the group serves many callers,
// so it cannot run under any one caller's context.
const groupTimeout = 30 * time.Second

// commitAccepts is SQLite's group commit. Each durable commit costs a disk
// flush, and SQLite has one writer, so Accepts committed one by one would
// queue behind each other's flushes: with a few hundred webhooks arriving at
// once the last would wait a second or more. Instead, the Accepts that
// arrive while a group commits form the next group, and every member gets
// its answer after one flush. There is no added wait: a lone Accept commits
// at once. One member's failure rolls back only its own writes (see
// commitGroup), so each Accept stays atomic on its own.
func (s *Store) commitAccepts() {
	defer s.committer.Done()
	group := make([]*acceptRequest, 0, maxGroup)
	for {
		group = group[:0]
		select {
		case r := <-s.accepts:
			group = append(group, r)
		case <-s.quit:
			return
		}
	gather:
		for len(group) < maxGroup {
			select {
			case r := <-s.accepts:
				group = append(group, r)
			default:
				break gather
			}
		}
		s.commitGroup(group)
	}
}

func (s *Store) commitGroup(group []*acceptRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // its caller has gone; store nothing for it
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// Members rarely fail, so the group first runs without savepoints,
	// which cost as much as a member's own writes; when one fails, the
	// group runs again with a savepoint around each member.
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range live {
			if err := s.acceptTx(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(live) > 1 {
		s.commitGroupEach(ctx, live)
		return
	}
	for _, r := range live {
		r.done <- err
	}
}

// commitGroupEach commits group with a savepoint around each member, so that
// a failing member rolls back only its own writes.
func (s *Store) commitGroupEach(ctx context.Context, group []*acceptRequest) {
	errs := make([]error, len(group))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, r := range group {
			if _, err := tx.ExecContext(ctx, "savepoint accept"); err != nil {
				return err
			}
			if errs[i] = s.acceptTx(ctx, tx, r); errs[i] != nil {
				if _, err := tx.ExecContext(ctx, "rollback to savepoint accept"); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "release savepoint accept"); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range group {
		if errs[i] == nil {
			errs[i] = err
		}
		r.done <- errs[i]
	}
}

// LatestHead returns the newest head sha Accept recorded for a pull request
// (by the time its delivery was received), or "" when it saw none. A worker
// compares it with its job's sha to tell a superseded job.
func (s *Store) LatestHead(ctx context.Context, repo string, pr int) (string, error) {
	var sha string
	err := s.db.QueryRowContext(ctx, s.rebind("select head_sha from dataops_heads where repo = ? and pr = ?"), repo, pr).Scan(&sha)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("latest head of %s#%d: %w", repo, pr, err)
	}
	return sha, nil
}

// PruneDeliveries forgets deliveries received before the given time, and
// returns how many. A redelivery of a forgotten delivery runs again, so keep
// them longer than a sender redelivers (GitHub lets a user redeliver for 3
// days).
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind("delete from dataops_deliveries where received_at < ?"), before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return res.RowsAffected()
}
