package deps

import (
	"compress/gzip"
	"io"
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

// ExtractTarGz exposes the extractor to the benchmarks.
func ExtractTarGz(r io.Reader, dest string, l Limits) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	return (&budget{limits: l}).newWriter(dest, "bench").extractTar(zr, true)
}
