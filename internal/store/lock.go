package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Locks are leases: a row naming its owner and when it expires. They
// serialise work that must not overlap across workers and replicas: one job
// per pull request ("pr:acme/shop#7"), one production deploy per repository
// ("deploy:acme/shop"). A lease rather than a database session lock, because
// a job outlives any one transaction or connection, and because a holder
// that crashed must not block the key forever: its lease ends after ttl.
// A holder working longer calls Refresh well within ttl.
//
// Expiry is judged by the clocks of the processes using the store, as
// goqite's visibility timeouts are: replicas need synchronised clocks (NTP),
// and ttls far longer than their skew.

// ErrNotHeld is returned by Refresh and Unlock when owner does not hold the
// lock: it was never taken, or it expired and another owner took it.
var ErrNotHeld = errors.New("lock not held by this owner")

// Lock takes the lock key for owner for ttl, and reports whether it did. It
// succeeds when the key is free, when the previous lease expired, or when
// owner already holds it (then it renews the lease, like Refresh). Owners
// must be unique per holder, e.g. the replica's host name and process id
// and the job's message id.
func (s *Store) Lock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if key == "" || owner == "" || ttl <= 0 {
		return false, fmt.Errorf("lock %q: key, owner and a positive ttl are required", key)
	}
	now := time.Now()
	res, err := s.db.ExecContext(ctx, s.rebind(`insert into dataops_locks (key, owner, expires_at) values (?, ?, ?)
on conflict (key) do update set owner = excluded.owner, expires_at = excluded.expires_at
where dataops_locks.expires_at <= ? or dataops_locks.owner = excluded.owner`),
		key, owner, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("lock %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lock %q: %w", key, err)
	}
	return n == 1, nil
}

// Refresh extends owner's lease on key to ttl from now. It also revives an
// expired lease nobody else took in the meantime.
func (s *Store) Refresh(ctx context.Context, key, owner string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("refresh lock %q: the ttl must be positive, not %s", key, ttl)
	}
	res, err := s.db.ExecContext(ctx, s.rebind("update dataops_locks set expires_at = ? where key = ? and owner = ?"),
		time.Now().Add(ttl).UnixMilli(), key, owner)
	if err != nil {
		return fmt.Errorf("refresh lock %q: %w", key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("refresh lock %q: %w", key, err)
	} else if n == 0 {
		return fmt.Errorf("refresh lock %q for %s: %w", key, owner, ErrNotHeld)
	}
	return nil
}

// Unlock releases owner's lock on key. Only the owner can: for anyone else
// it returns ErrNotHeld and changes nothing.
func (s *Store) Unlock(ctx context.Context, key, owner string) error {
	res, err := s.db.ExecContext(ctx, s.rebind("delete from dataops_locks where key = ? and owner = ?"), key, owner)
	if err != nil {
		return fmt.Errorf("unlock %q: %w", key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("unlock %q: %w", key, err)
	} else if n == 0 {
		return fmt.Errorf("unlock %q for %s: %w", key, owner, ErrNotHeld)
	}
	return nil
}
