// Package webhook is the bot's HTTP intake: it verifies each delivery (a
// GitHub signature, a GitLab token), reads which pull request it is about,
// and stores it with its job before answering, so that an answered
// delivery is never lost; a redelivery is answered and not queued again.
// The work itself happens later, in bot.Worker.
//
// Two things happen at intake beyond ARCHITECTURE.md's "verify, parse,
// dedupe": a delivery from a repository the serve configuration does not
// allow is answered and dropped, and a GitHub comment's command that runs
// code is pinned to its pull request's head, read through the code host
// (HeadReader, the bot's scm.Host) before the answer, since what a writer
// approved is the commit they saw, and a job runs later.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/metrics"
	"github.com/dataops-dev/dataops/internal/store"
)

// DefaultMaxBody bounds a delivery's body. GitHub caps payloads at 25 MB;
// the events dataops reads are far smaller.
const DefaultMaxBody = 25 << 20

// Acceptor stores a delivery and its job together (store.Store).
type Acceptor interface {
	Accept(ctx context.Context, d store.Delivery, job store.Job) (duplicate bool, err error)
}

// Intake answers webhook deliveries.
type Intake struct {
	Store Acceptor
	// GitHubSecret is the GitHub App's webhook secret; GitLabToken the
	// GitLab webhook's secret token. An empty one turns its endpoint off
	// (404): there is no unverified intake.
	GitHubSecret []byte
	GitLabToken  []byte
	// GitLabBotUser is the bot's GitLab username, whose notes are ignored.
	GitLabBotUser string
	// MaxBody bounds a body (default DefaultMaxBody).
	MaxBody int64
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Queued, when set, is called after a job is stored (the workers in
	// this process start at once instead of at their next poll).
	Queued func()
	// Allowed tells the repositories the bot serves (serve.yml's allow);
	// deliveries from others are answered and ignored. nil serves all.
	Allowed func(host, repo string) bool
	// Heads reads a pull request's head when a GitHub comment's command
	// arrives: its payload does not say which commit the writer saw, and
	// the command is pinned to it (bot.Event.Pinned). Without it, or when
	// the read fails, the command is queued unpinned and the bot runs no
	// code for it.
	Heads HeadReader
	// PinTimeout bounds that read (default DefaultPinTimeout).
	PinTimeout time.Duration
}

// HeadReader reads the head commit of an event's pull request.
type HeadReader interface {
	Head(ctx context.Context, ev bot.Event) (string, error)
}

// DefaultPinTimeout bounds the read of a pull request's head at intake:
// GitHub waits 10s for an answer, and the delivery must be stored in that
// time too.
const DefaultPinTimeout = 5 * time.Second

// answer is the JSON body of every reply.
type answer struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// delivery is what both hosts' deliveries come down to.
type delivery struct {
	host, id, event string
	body            []byte
	parse           func() (bot.Event, error)
	// verified: the signature or token matched, so the event name (a
	// metric label) is the host's and not anyone's.
	verified bool
}

// GitHub serves POST /webhooks/github.
func (in *Intake) GitHub(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	event := r.Header.Get("X-GitHub-Event")
	d, status, why := in.read(w, r, "github", event, len(in.GitHubSecret) > 0)
	if status == 0 {
		if why = verifyGitHub(r.Header.Get("X-Hub-Signature-256"), d.body, in.GitHubSecret); why != "" {
			status = http.StatusUnauthorized
		}
	}
	if status == 0 {
		d.id = r.Header.Get("X-GitHub-Delivery")
		if d.id == "" {
			status, why = http.StatusBadRequest, "no X-GitHub-Delivery header"
		}
		if event == "ping" {
			d.verified = true
			in.respond(w, d, start, http.StatusOK, metrics.OutcomeIgnored, answer{Status: "pong"})
			return
		}
		d.verified = true
		d.parse = func() (bot.Event, error) { return bot.GitHubEvent(event, d.body, d.id) }
	}
	if status != 0 {
		in.reject(w, d, start, status, why)
		return
	}
	in.accept(w, r, d, start)
}

// verifyGitHub checks X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256
// of the body under the secret. SHA-1 signatures are refused whatever
// header they come in: GitHub signs every delivery with SHA-256, so a SHA-1
// one was not made by GitHub's current signing. It returns why a delivery
// is refused, or "".
func verifyGitHub(header string, body, secret []byte) string {
	if header == "" {
		return "no X-Hub-Signature-256 header: set a webhook secret in the GitHub App"
	}
	digest, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return "the X-Hub-Signature-256 header is not sha256=<hex HMAC>: only SHA-256 signatures are accepted"
	}
	got, err := hex.DecodeString(digest)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return "the X-Hub-Signature-256 signature does not match the body: check the webhook secret"
	}
	return ""
}

// GitLab serves POST /webhooks/gitlab.
func (in *Intake) GitLab(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	event := r.Header.Get("X-Gitlab-Event")
	d, status, why := in.read(w, r, "gitlab", event, len(in.GitLabToken) > 0)
	if status == 0 && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Gitlab-Token")), in.GitLabToken) != 1 {
		status, why = http.StatusUnauthorized, "the X-Gitlab-Token header does not match: check the webhook's secret token"
	}
	if status == 0 {
		d.id = r.Header.Get("X-Gitlab-Event-UUID")
		if d.id == "" {
			// GitLab before 15.x sends no delivery id: the same body is the
			// same event.
			sum := sha256.Sum256(append([]byte(event+"\n"), d.body...))
			d.id = "sha256:" + hex.EncodeToString(sum[:])
		}
		d.verified = true
		d.parse = func() (bot.Event, error) { return bot.GitLabEvent(event, d.body, d.id, in.GitLabBotUser) }
	}
	if status != 0 {
		in.reject(w, d, start, status, why)
		return
	}
	in.accept(w, r, d, start)
}

// read checks the method and reads the body within the limit. status is 0
// when the delivery may go on.
func (in *Intake) read(w http.ResponseWriter, r *http.Request, host, event string, enabled bool) (d delivery, status int, why string) {
	d = delivery{host: host, event: event}
	switch {
	case !enabled:
		return d, http.StatusNotFound, fmt.Sprintf("the %s webhook is not configured on this server", host)
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		return d, http.StatusMethodNotAllowed, "webhooks are POSTed"
	case event == "":
		return d, http.StatusBadRequest, "no event header (X-GitHub-Event or X-Gitlab-Event): is this a webhook delivery?"
	}
	limit := in.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return d, http.StatusBadRequest, fmt.Sprintf("the body is larger than %d bytes", limit)
	case err != nil:
		return d, http.StatusBadRequest, "the body could not be read: " + err.Error()
	}
	d.body = body
	return d, 0, ""
}

// accept parses a verified delivery and stores it with its job.
func (in *Intake) accept(w http.ResponseWriter, r *http.Request, d delivery, start time.Time) {
	ev, err := d.parse()
	var ignored bot.ErrIgnored
	switch {
	case errors.As(err, &ignored):
		in.respond(w, d, start, http.StatusAccepted, metrics.OutcomeIgnored, answer{Status: "ignored", Reason: ignored.Reason})
		return
	case err != nil:
		in.reject(w, d, start, http.StatusBadRequest, err.Error())
		return
	}
	if in.Allowed != nil && !in.Allowed(d.host, ev.Repo) {
		in.logger().Warn("delivery ignored: repository not served", "host", d.host, "repo", ev.Repo, "delivery", d.id, "event", d.event,
			"why", "it is not in allow: of the serve configuration; add it there to serve it")
		in.respond(w, d, start, http.StatusAccepted, metrics.OutcomeIgnored,
			answer{Status: "ignored", Reason: fmt.Sprintf("this bot does not serve %s (allow: in its serve configuration)", ev.Repo)})
		return
	}
	if ev.Kind == bot.Commented {
		// Most comments are conversation: queue only commands, and never a
		// bot's.
		cmd, ok := bot.ParseCommand(ev.Comment.Body)
		if !ok || ev.Comment.Bot {
			in.respond(w, d, start, http.StatusAccepted, metrics.OutcomeIgnored, answer{Status: "ignored", Reason: "a comment without a /dataops command, or by a bot"})
			return
		}
		if ev.Pinned == "" && cmd.RendersCode() {
			ev.Pinned = in.pin(r.Context(), d, ev)
		}
	}
	job := store.Job{Kind: d.host, Event: d.event, Repo: bot.RepoKey(d.host, ev.Repo), PR: ev.PullRequest.Number,
		DeliveryID: d.id, Body: d.body, PinnedHead: ev.Pinned}
	if ev.Kind == bot.Opened || ev.Kind == bot.Synchronized || ev.Kind == bot.Reopened {
		job.HeadSHA = ev.PullRequest.HeadSHA // the pull request's newest head, for superseding
	}
	// The payload goes into the job only: the delivery's row keeps its id
	// for deduplication, and writing the payload twice would double the
	// bytes each answer waits for.
	duplicate, err := in.Store.Accept(r.Context(), store.Delivery{Host: d.host, ID: d.id, Event: d.event}, job)
	switch {
	case err != nil:
		in.logger().Error("store delivery", "host", d.host, "delivery", d.id, "event", d.event, "err", err)
		in.respond(w, d, start, http.StatusServiceUnavailable, metrics.OutcomeError, answer{Status: "error", Reason: "the delivery could not be stored; redeliver it"})
	case duplicate:
		in.respond(w, d, start, http.StatusOK, metrics.OutcomeDuplicate, answer{Status: "duplicate", Reason: "this delivery was received before"})
	default:
		in.respond(w, d, start, http.StatusAccepted, metrics.OutcomeQueued, answer{Status: "queued"})
		if in.Queued != nil {
			in.Queued()
		}
	}
}

// pin reads the head of a command's pull request now, as close to when the
// writer acted as the bot can know it; "" when it cannot.
func (in *Intake) pin(ctx context.Context, d delivery, ev bot.Event) string {
	if in.Heads == nil {
		return ""
	}
	timeout := in.PinTimeout
	if timeout <= 0 {
		timeout = DefaultPinTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	head, err := in.Heads.Head(ctx, ev)
	if err != nil {
		in.logger().Warn("read the pull request's head to pin the command; it will run nothing", "host", d.host, "repo", ev.Repo,
			"pr", ev.PullRequest.Number, "delivery", d.id, "err", err)
		return ""
	}
	return head
}

func (in *Intake) reject(w http.ResponseWriter, d delivery, start time.Time, status int, why string) {
	outcome := metrics.OutcomeBadRequest
	if status == http.StatusUnauthorized {
		outcome = metrics.OutcomeUnauthorized
	}
	in.logger().Warn("delivery refused", "host", d.host, "delivery", d.id, "event", d.event, "status", status, "why", why)
	in.respond(w, d, start, status, outcome, answer{Status: "refused", Reason: why})
}

func (in *Intake) respond(w http.ResponseWriter, d delivery, start time.Time, status int, outcome string, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
	event := d.event
	if !d.verified {
		event = "unverified"
	}
	in.Metrics.Delivery(d.host, event, outcome, time.Since(start))
}

func (in *Intake) logger() *slog.Logger {
	if in.Logger != nil {
		return in.Logger
	}
	return slog.Default()
}
