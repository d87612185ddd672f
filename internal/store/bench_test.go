package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchPayload is the size of a typical GitHub pull_request delivery.
var benchPayload = []byte(strings.Repeat("x", 16<<10))

// reportLatency reports the 50th and 99th percentiles of latencies, in
// milliseconds, and the throughput.
func reportLatency(b *testing.B, latencies []time.Duration, elapsed time.Duration) {
	slices.Sort(latencies)
	b.ReportMetric(float64(percentile(latencies, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "accepts/s")
}

// BenchmarkAccept measures Accept on a durable SQLite file (WAL,
// synchronous=FULL) with senders working in parallel, each sending its next
// delivery when the previous one was answered, like webhook senders with a
// connection each.
func BenchmarkAccept(b *testing.B) {
	for _, senders := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			s := open(b, sqliteURL(b), Options{})
			ctx := testContext(b)
			var (
				mu        sync.Mutex
				latencies = make([]time.Duration, 0, b.N)
				next      atomic.Int64
				wg        sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			for range senders {
				wg.Go(func() {
					local := make([]time.Duration, 0, b.N/senders+1)
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							break
						}
						id := fmt.Sprint("d-", n)
						if n%10 == 0 { // 10% redeliveries
							id = fmt.Sprint("d-", n-5)
						}
						d := Delivery{Host: "github", ID: id, Event: "pull_request", Payload: benchPayload}
						t0 := time.Now()
						if _, err := s.Accept(ctx, d, Job{Kind: "pull_request", Repo: "acme/shop", PR: int(n % 100), HeadSHA: id}); err != nil {
							b.Error(err)
							return
						}
						local = append(local, time.Since(t0))
					}
					mu.Lock()
					latencies = append(latencies, local...)
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			reportLatency(b, latencies, elapsed)
		})
	}
}

// BenchmarkAcceptBurst sends 2,000 deliveries (10% redeliveries) at once, all
// 2,000 in flight together, to a durable SQLite file, and checks that none
// is lost and no redelivery is queued.
func BenchmarkAcceptBurst(b *testing.B) {
	var latencies []time.Duration
	var elapsed time.Duration
	for i := range b.N {
		b.StopTimer()
		// A folder per iteration, removed at once: each holds ~40MB.
		dir, err := os.MkdirTemp(b.TempDir(), "burst")
		if err != nil {
			b.Fatal(err)
		}
		s, err := Open(testContext(b), filepath.Join(dir, "dataops.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res := burst(testContext(b), s, 2000, fmt.Sprint("burst", i))
		elapsed += time.Since(start)
		b.StopTimer()
		if len(res.errs) > 0 {
			b.Fatal(res.errs[0])
		}
		dups := 0
		for _, n := range res.duplicates {
			dups += n
		}
		if st := mustStats(b, s); st.Queued != 1800 || dups != 200 {
			b.Fatalf("queued %d, duplicates %d; want 1800 and 200", st.Queued, dups)
		}
		latencies = append(latencies, res.latencies...)
		s.Close()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	reportLatency(b, latencies, elapsed)
}
