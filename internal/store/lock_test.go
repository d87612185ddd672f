package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLocks(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		other := open(t, url, Options{}) // another replica
		ctx := testContext(t)
		const key = "pr:acme/shop#7"
		lock := func(s *Store, owner string, ttl time.Duration) bool {
			t.Helper()
			ok, err := s.Lock(ctx, key, owner, ttl)
			if err != nil {
				t.Fatalf("Lock(%s): %v", owner, err)
			}
			return ok
		}

		if !lock(s, "a", time.Minute) {
			t.Fatal("a could not take a free lock")
		}
		if lock(other, "b", time.Minute) {
			t.Fatal("b took a lock a holds")
		}
		if !lock(s, "a", time.Minute) {
			t.Error("a could not take again the lock it holds")
		}
		if ok, err := s.Lock(ctx, "deploy:acme/shop", "b", time.Minute); err != nil || !ok {
			t.Errorf("another key is independent: Lock = %v, %v", ok, err)
		}

		// Only the owner refreshes or unlocks.
		if err := other.Refresh(ctx, key, "b", time.Minute); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Refresh by b: %v, want ErrNotHeld", err)
		}
		if err := other.Unlock(ctx, key, "b"); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Unlock by b: %v, want ErrNotHeld", err)
		}
		if lock(other, "b", time.Minute) {
			t.Fatal("b took the lock after its failed Unlock")
		}

		// A lease expires unless refreshed.
		const ttl = 300 * time.Millisecond
		if err := s.Refresh(ctx, key, "a", ttl); err != nil {
			t.Fatalf("Refresh by a: %v", err)
		}
		time.Sleep(ttl / 2)
		if err := s.Refresh(ctx, key, "a", ttl); err != nil {
			t.Fatalf("Refresh by a: %v", err)
		}
		time.Sleep(ttl / 2)
		if lock(other, "b", time.Minute) {
			t.Fatal("b took a lock a refreshed")
		}
		time.Sleep(ttl + 50*time.Millisecond)
		if !lock(other, "b", time.Minute) {
			t.Fatal("b could not take an expired lock")
		}
		// The expired holder has lost it for good.
		if err := s.Refresh(ctx, key, "a", time.Minute); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Refresh by the expired a: %v, want ErrNotHeld", err)
		}
		if err := s.Unlock(ctx, key, "a"); !errors.Is(err, ErrNotHeld) {
			t.Errorf("Unlock by the expired a: %v, want ErrNotHeld", err)
		}
		if err := other.Unlock(ctx, key, "b"); err != nil {
			t.Fatalf("Unlock by b: %v", err)
		}
		if !lock(s, "c", time.Minute) {
			t.Error("c could not take an unlocked lock")
		}

		if _, err := s.Lock(ctx, key, "", time.Minute); err == nil {
			t.Error("Lock without an owner succeeded")
		}
		if _, err := s.Lock(ctx, key, "a", 0); err == nil {
			t.Error("Lock without a ttl succeeded")
		}
	})
}

// Many workers on two replicas racing for one lock: exactly one wins.
func TestLockContention(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		stores := []*Store{open(t, url, Options{}), open(t, url, Options{})}
		ctx := testContext(t)
		var (
			winners atomic.Int32
			wg      sync.WaitGroup
		)
		for i := range 20 {
			wg.Go(func() {
				ok, err := stores[i%2].Lock(ctx, "deploy:acme/shop", fmt.Sprint("worker-", i), time.Minute)
				if err != nil {
					t.Errorf("Lock: %v", err)
				}
				if ok {
					winners.Add(1)
				}
			})
		}
		wg.Wait()
		if n := winners.Load(); n != 1 {
			t.Errorf("%d workers hold the lock, want 1", n)
		}
	})
}
