package deps

import (
	"os"
	"testing"
	"time"
)

// Retries wait a millisecond in tests, which assert what is retried, not
// how long it waits.
func TestMain(m *testing.M) {
	retryDelay = time.Millisecond
	os.Exit(m.Run())
}
