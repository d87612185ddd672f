package github

import (
	"context"
	"time"
)

// SetSleep replaces how h waits between retries (and for a test merge), so that tests can record
// the waits instead of sitting through them.
func SetSleep(h *Host, sleep func(ctx context.Context, d time.Duration) error) {
	h.retry.sleep = sleep
}
