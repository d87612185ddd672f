package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/store"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Recorder keeps what a pipeline does, as it does it, for the bot's web
// pages: each check as it is published (so that a running job's page
// follows its stages), the whole report before the comment that links to
// it is posted, the environment's size, and each deploy and rollback. The
// Action and the CLI have none.
type Recorder interface {
	Check(ctx context.Context, c scm.Check)
	Report(ctx context.Context, doc *report.Document)
	EnvironmentSize(ctx context.Context, name string, rows, bytes int64)
	Deploy(ctx context.Context, note DeployNote)
}

// DeployNote is what a deploy or rollback did.
type DeployNote struct {
	Action  string // "deploy" or "rollback"
	PR      int
	HeadSHA string
	Target  string // the production schema
	// Deploy is the deploy's record (nil when it failed before starting);
	// Rollback what a rollback did.
	Deploy   *build.Deploy
	Rollback *build.RollbackResult
	// Failed: something did not go as asked (Message says what).
	Failed bool
	// Message is what the pull request was told, in markdown.
	Message string
}

// environmentSize is how big an environment is after a build: what the
// engine tells, else the rows the build wrote (-1 when unknown).
func environmentSize(ctx context.Context, w warehouse.Warehouse, env string, res *build.Result) (rows, bytes int64) {
	rows, bytes = -1, -1
	if s, ok := w.(warehouse.Sizer); ok {
		if r, b, err := s.SchemaSize(ctx, env); err == nil {
			rows, bytes = r, b
		}
	}
	if rows < 0 && res != nil {
		rows = 0
		for _, n := range res.Nodes {
			if n.Status == build.StatusSuccess && n.Materialized != "view" && n.Materialized != "ephemeral" {
				rows += n.Rows
			}
		}
	}
	return rows, bytes
}

// runRecorder is the bot's Recorder for one job: it writes into the store.
// A job that never publishes a check (a command answered, an environment
// dropped) records no run.
type runRecorder struct {
	store *store.Store
	log   *slog.Logger
	run   store.Run

	mu      sync.Mutex
	started bool
	// size waits for the job's end: the environment is recorded (by the
	// handler) only after the pipeline returns.
	size *[2]int64
}

// newRunRecorder prepares the record of a job's run; its id is known at
// once, for the links to its page.
func newRunRecorder(s *store.Store, log *slog.Logger, job store.Job, ev Event, attempt int) *runRecorder {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	trigger, actor := eventTrigger(ev, job)
	return &runRecorder{store: s, log: log, run: store.Run{ID: hex.EncodeToString(b), Repo: job.Repo, PR: ev.PullRequest.Number,
		Title: ev.PullRequest.Title, HeadSHA: ev.PullRequest.HeadSHA, Trigger: trigger, Actor: actor, DeliveryID: job.DeliveryID, Attempt: attempt}}
}

// eventTrigger says what started a job and who: the command and its
// author for a comment, the webhook's sender otherwise (the pull
// request's author when the payload names none).
func eventTrigger(ev Event, job store.Job) (trigger, actor string) {
	actor = payloadSender(job.Body)
	switch ev.Kind {
	case Commented:
		trigger = "comment"
		if ev.Comment != nil {
			actor = ev.Comment.Author
			if cmd, ok := ParseCommand(ev.Comment.Body); ok {
				trigger = strings.TrimSpace("/dataops " + string(cmd.Verb) + " " + strings.Join(cmd.Args, " "))
			}
		}
	case Synchronized:
		trigger = "push"
	case Rerun:
		trigger = "re-run requested"
	case Reviewed:
		trigger = "review"
	case Closed:
		trigger = "closed"
		if ev.Merged {
			trigger = "merged"
		}
	default:
		trigger = string(ev.Kind)
	}
	if actor == "" {
		actor = ev.PullRequest.Author
	}
	return trigger, actor
}

// payloadSender reads who caused a webhook: GitHub's sender, GitLab's user.
func payloadSender(body []byte) string {
	var p struct {
		Sender struct {
			Login string `json:"login"`
		} `json:"sender"`
		User struct {
			Username string `json:"username"`
		} `json:"user"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	if p.Sender.Login != "" {
		return p.Sender.Login
	}
	return p.User.Username
}

func (r *runRecorder) warn(what string, err error) {
	if err != nil {
		r.log.Warn(what+" for the web pages", "run", r.run.ID, "err", err)
	}
}

func (r *runRecorder) Check(ctx context.Context, c scm.Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	i := stageIndex(r.run.Stages, c.Name)
	if i < 0 {
		r.run.Stages = append(r.run.Stages, store.Stage{Name: c.Name})
		i = len(r.run.Stages) - 1
	}
	st := &r.run.Stages[i]
	st.Status, st.Conclusion, st.Title = c.Status, c.Conclusion, c.Title
	switch c.Status {
	case scm.StatusInProgress:
		st.StartedAt = now
	case scm.StatusCompleted:
		if st.StartedAt.IsZero() {
			st.StartedAt = now
		}
		st.FinishedAt = now
	}
	if c.Name == scm.CheckGate && c.Status == scm.StatusCompleted {
		r.run.Gate = c.Conclusion
	}
	if !r.started {
		r.started = true
		r.warn("record the run", r.store.StartRun(ctx, r.run))
		return
	}
	r.warn("record the run's stages", r.store.UpdateRun(ctx, r.run.ID, r.run.Stages, r.run.Gate))
}

func stageIndex(stages []store.Stage, name string) int {
	for i, s := range stages {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func (r *runRecorder) Report(ctx context.Context, doc *report.Document) {
	data, err := json.Marshal(doc)
	if err != nil {
		r.warn("encode the report", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warn("record the report", r.store.SaveRunReport(ctx, r.run.ID, data))
}

func (r *runRecorder) EnvironmentSize(_ context.Context, _ string, rows, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.size = &[2]int64{rows, bytes}
}

func (r *runRecorder) Deploy(ctx context.Context, note DeployNote) {
	rec := store.DeployRecord{Repo: r.run.Repo, Action: note.Action, PR: note.PR, HeadSHA: note.HeadSHA, Target: note.Target,
		Actor: r.run.Actor, Message: note.Message, Outcome: "succeeded"}
	changed := 0
	switch {
	case note.Deploy != nil:
		rec.ID = fmt.Sprintf("%d:%s", note.Deploy.ID, note.Action)
		rec.HeadSHA = note.Deploy.HeadSHA
		for _, s := range note.Deploy.Relations {
			rec.Relations = append(rec.Relations, store.DeployRelation{Relation: s.Relation.Schema + "." + s.Relation.Name, Kind: s.Kind,
				Previous: s.Previous, State: string(s.State)})
			if s.State == build.RelationDeployed {
				changed++
			}
		}
	case note.Rollback != nil && note.Rollback.Deploy != nil:
		dep := note.Rollback.Deploy
		rec.ID = fmt.Sprintf("%d:%s", dep.ID, note.Action)
		rec.PR, rec.HeadSHA = dep.PR, dep.HeadSHA
		for _, x := range note.Rollback.Relations {
			rec.Relations = append(rec.Relations, store.DeployRelation{Relation: x.Relation.Schema + "." + x.Relation.Name,
				Previous: x.Previous, State: x.Action, Error: x.Error})
			if x.Action != "failed" {
				changed++
			}
		}
	default:
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		rec.ID = hex.EncodeToString(b) + ":" + note.Action
	}
	switch {
	case note.Failed && changed > 0:
		rec.Outcome = "partial"
	case note.Failed:
		rec.Outcome = "failed"
	}
	r.warn("record the "+note.Action, r.store.RecordDeploy(ctx, rec))
}

// finish records how the job's run ended: cause is why its context ended,
// if it did.
func (r *runRecorder) finish(ctx context.Context, err, cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		return
	}
	status, errText := store.RunCompleted, ""
	switch {
	case errors.Is(cause, errSuperseded):
		status = store.RunSuperseded
	case cause != nil && err != nil:
		status, errText = store.RunInterrupted, cause.Error()
	case err != nil:
		status, errText = store.RunFailed, err.Error()
	}
	if status != store.RunCompleted {
		// Stages that did not end will not: say so.
		for i := range r.run.Stages {
			if st := &r.run.Stages[i]; st.Status != scm.StatusCompleted {
				st.Status, st.Conclusion = scm.StatusCompleted, scm.ConclusionCancelled
			}
		}
	}
	r.warn("record the end of the run", r.store.FinishRun(ctx, r.run.ID, status, r.run.Gate, errText, r.run.Stages, nil))
	if r.size != nil && status == store.RunCompleted {
		r.warn("record the environment's size", r.store.RecordEnvironmentSize(ctx, r.run.Repo, r.run.PR, r.run.HeadSHA, r.size[0], r.size[1]))
	}
}

// gateRecorder is a State that keeps the gate evaluated again after a
// review, for the web pages (the bot's storeState).
type gateRecorder interface {
	GateChanged(ctx context.Context, pr int, headSHA, conclusion string) error
}
