package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SaveResults records the checks' results of a pull request's head (an
// encoded list, opaque here), replacing the previous head's.
func (s *Store) SaveResults(ctx context.Context, repo string, pr int, headSHA string, results []byte) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`insert into dataops_results (repo, pr, head_sha, results, updated_at) values (?, ?, ?, ?, ?)
on conflict (repo, pr) do update set head_sha = excluded.head_sha, results = excluded.results, updated_at = excluded.updated_at`),
		repo, pr, headSHA, results, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("save the results of %s#%d: %w", repo, pr, err)
	}
	return nil
}

// Results returns the last results SaveResults recorded for a pull request
// and the head they are for; nil and "" when there are none.
func (s *Store) Results(ctx context.Context, repo string, pr int) (headSHA string, results []byte, err error) {
	err = s.db.QueryRowContext(ctx, s.rebind("select head_sha, results from dataops_results where repo = ? and pr = ?"), repo, pr).Scan(&headSHA, &results)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read the results of %s#%d: %w", repo, pr, err)
	}
	return headSHA, results, nil
}

// Environment is a pull request's environment the bot made, as the sweep
// needs it.
type Environment struct {
	Repo string // as the worker keys it: host and repository
	PR   int
	Name string
	// InstallationID is the GitHub App installation to ask about the pull
	// request (0 on GitLab).
	InstallationID int64
	TTL            time.Duration
	UsedAt         time.Time
	// CreatedAt is the first use the store saw.
	CreatedAt time.Time
	// HeadSHA is the head last built in it, and Rows and Bytes its size
	// then, where the engine tells (-1 when it does not); see
	// RecordEnvironmentSize.
	HeadSHA     string
	Rows, Bytes int64
}

// Expired reports whether the environment outlived its TTL at now (a TTL of
// zero never expires).
func (e Environment) Expired(now time.Time) bool {
	return e.TTL > 0 && now.Sub(e.UsedAt) > e.TTL
}

// TouchEnvironment records that an environment was created or used now.
func (s *Store) TouchEnvironment(ctx context.Context, e Environment) error {
	now := time.Now().UnixMilli()
	_, err := s.db.ExecContext(ctx, s.rebind(`insert into dataops_environments (repo, pr, name, installation_id, ttl_ms, used_at, created_at) values (?, ?, ?, ?, ?, ?, ?)
on conflict (repo, pr) do update set name = excluded.name, installation_id = excluded.installation_id, ttl_ms = excluded.ttl_ms, used_at = excluded.used_at`),
		e.Repo, e.PR, e.Name, e.InstallationID, e.TTL.Milliseconds(), now, now)
	if err != nil {
		return fmt.Errorf("record environment %s: %w", e.Name, err)
	}
	return nil
}

// RecordEnvironmentSize notes the head an environment was last built from
// and its size then (rows and bytes, -1 for what the engine does not tell).
// An environment not recorded (dropped meanwhile) is left alone.
func (s *Store) RecordEnvironmentSize(ctx context.Context, repo string, pr int, headSHA string, rows, bytes int64) error {
	_, err := s.db.ExecContext(ctx, s.rebind("update dataops_environments set head_sha = ?, size_rows = ?, size_bytes = ? where repo = ? and pr = ?"),
		headSHA, rows, bytes, repo, pr)
	if err != nil {
		return fmt.Errorf("record the size of the environment of %s#%d: %w", repo, pr, err)
	}
	return nil
}

// ForgetEnvironment removes the record of a dropped environment.
func (s *Store) ForgetEnvironment(ctx context.Context, repo string, pr int) error {
	if _, err := s.db.ExecContext(ctx, s.rebind("delete from dataops_environments where repo = ? and pr = ?"), repo, pr); err != nil {
		return fmt.Errorf("forget the environment of %s#%d: %w", repo, pr, err)
	}
	return nil
}

// Environments lists the recorded environments, oldest use first.
func (s *Store) Environments(ctx context.Context) ([]Environment, error) {
	rows, err := s.db.QueryContext(ctx, "select repo, pr, name, installation_id, ttl_ms, used_at, created_at, head_sha, size_rows, size_bytes from dataops_environments order by used_at")
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	defer rows.Close()
	var out []Environment
	for rows.Next() {
		var e Environment
		var ttl, used, created int64
		if err := rows.Scan(&e.Repo, &e.PR, &e.Name, &e.InstallationID, &ttl, &used, &created, &e.HeadSHA, &e.Rows, &e.Bytes); err != nil {
			return nil, fmt.Errorf("list environments: %w", err)
		}
		e.TTL, e.UsedAt = time.Duration(ttl)*time.Millisecond, time.UnixMilli(used)
		if created == 0 { // recorded before the store kept it
			created = used
		}
		e.CreatedAt = time.UnixMilli(created)
		out = append(out, e)
	}
	return out, rows.Err()
}
