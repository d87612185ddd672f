// Package metrics holds the bot's Prometheus metrics (`dataops serve`
// exposes them on /metrics): deliveries by event and outcome, the queue's
// depth and age, job and stage durations, and calls to the code hosts'
// APIs with the rate limit they report.
//
// One Metrics value is made per server and handed to the parts that count;
// a nil *Metrics counts nothing, so that tests and the Action need none.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Delivery outcomes, the values of the deliveries' outcome label.
const (
	OutcomeQueued       = "queued"       // stored and queued
	OutcomeDuplicate    = "duplicate"    // a redelivery: acknowledged, not queued again
	OutcomeIgnored      = "ignored"      // an event dataops does not act on: acknowledged
	OutcomeUnauthorized = "unauthorized" // bad or missing signature or token: 401
	OutcomeBadRequest   = "bad_request"  // oversized, malformed, or missing headers: 400
	OutcomeError        = "error"        // could not be stored: 503, the sender retries
)

// QueueStats is what the queue gauges read on each scrape.
type QueueStats struct {
	Queued, Delayed, Running, Dead int
	OldestQueuedAge                time.Duration
}

// Metrics are the bot's metrics in their own registry.
type Metrics struct {
	registry *prometheus.Registry

	deliveries     *prometheus.CounterVec
	jobs           *prometheus.HistogramVec
	stages         *prometheus.HistogramVec
	apiCalls       *prometheus.CounterVec
	rateRemaining  *prometheus.GaugeVec
	intakeDuration prometheus.Histogram
}

// New registers the metrics. stats, when not nil, is read on each scrape
// for the queue gauges (an error leaves them out of that scrape).
func New(stats func(context.Context) (QueueStats, error)) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataops_webhook_deliveries_total",
		Help: "Webhook deliveries received, by host, event and outcome (queued, duplicate, ignored, unauthorized, bad_request, error).",
	}, []string{"host", "event", "outcome"})
	m.intakeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "dataops_webhook_response_seconds",
		Help:    "Time from a delivery's arrival to its answer, storing included.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.jobs = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dataops_job_duration_seconds",
		Help:    "Time a worker spent on a job, by event kind and result (done, retried, superseded, postponed, failed).",
		Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10),
	}, []string{"kind", "result"})
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dataops_stage_duration_seconds",
		Help:    "Time a pipeline stage took, by stage and conclusion.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10),
	}, []string{"stage", "conclusion"})
	m.apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dataops_api_calls_total",
		Help: "Requests to the code hosts' APIs, by host and HTTP status code (\"error\" when no answer came).",
	}, []string{"host", "code"})
	m.rateRemaining = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dataops_api_rate_limit_remaining",
		Help: "Requests left in the current rate-limit window, as the host last reported it.",
	}, []string{"host"})
	m.registry.MustRegister(m.deliveries, m.intakeDuration, m.jobs, m.stages, m.apiCalls, m.rateRemaining,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.registry.MustRegister(&queueCollector{stats: stats})
	}
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Delivery counts one delivery and the time taken to answer it.
func (m *Metrics) Delivery(host, event, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	if event == "" {
		event = "unknown"
	}
	m.deliveries.WithLabelValues(host, event, outcome).Inc()
	m.intakeDuration.Observe(took.Seconds())
}

// Job records a job's time.
func (m *Metrics) Job(kind, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.jobs.WithLabelValues(kind, result).Observe(took.Seconds())
}

// Stage records a pipeline stage's time.
func (m *Metrics) Stage(stage, conclusion string, took time.Duration) {
	if m == nil {
		return
	}
	m.stages.WithLabelValues(stage, conclusion).Observe(took.Seconds())
}

// Transport counts the requests through next to a host's API and keeps
// the rate limit each answer reports (GitHub: X-RateLimit-Remaining,
// GitLab: RateLimit-Remaining). A nil Metrics returns next.
func (m *Metrics) Transport(host string, next http.RoundTripper) http.RoundTripper {
	if m == nil {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{m: m, host: host, next: next}
}

type transport struct {
	m    *Metrics
	host string
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.m.apiCalls.WithLabelValues(t.host, "error").Inc()
		return resp, err
	}
	t.m.apiCalls.WithLabelValues(t.host, strconv.Itoa(resp.StatusCode)).Inc()
	for _, h := range []string{"X-RateLimit-Remaining", "RateLimit-Remaining"} {
		if v := resp.Header.Get(h); v != "" {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				t.m.rateRemaining.WithLabelValues(t.host).Set(n)
			}
			break
		}
	}
	return resp, nil
}

// queueCollector reads the queue when scraped, so the gauges are never
// stale and the store is not polled between scrapes.
type queueCollector struct {
	stats func(context.Context) (QueueStats, error)
}

var (
	queueJobsDesc = prometheus.NewDesc("dataops_queue_jobs", "Jobs in the queue, by state (queued: ready to run; delayed: waiting for a retry; running; dead: out of attempts).", []string{"state"}, nil)
	queueAgeDesc  = prometheus.NewDesc("dataops_queue_oldest_age_seconds", "How long the longest-waiting ready job has waited.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueJobsDesc
	ch <- queueAgeDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueJobsDesc, err)
		return
	}
	for state, n := range map[string]int{"queued": s.Queued, "delayed": s.Delayed, "running": s.Running, "dead": s.Dead} {
		ch <- prometheus.MustNewConstMetric(queueJobsDesc, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, s.OldestQueuedAge.Seconds())
}
