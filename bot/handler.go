package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// ReplyMarker finds dataops' one reply to commands, kept apart from the
// report so that answering a command never hides the checks.
const ReplyMarker = "<!-- dataops:reply -->"

// ErrDeployBusy is returned when a deploy or rollback must wait for another
// one of the same repository: the pull request has been told, and the bot
// runs the command again later.
var ErrDeployBusy = errors.New("another deploy of this repository is running")

// State is what the bot keeps between events of a repository; the Action,
// which lives for one event, has none.
type State interface {
	// SaveResults and Results keep the checks' results of a pull request's
	// head, so that a review can re-evaluate the gate and a deploy can
	// require it, without running the checks again.
	SaveResults(ctx context.Context, pr int, headSHA string, results []byte) error
	Results(ctx context.Context, pr int) (headSHA string, results []byte, err error)
	// LockDeploy takes the repository's deploy lock; ok is false while
	// another deploy holds it. unlock releases it.
	LockDeploy(ctx context.Context) (unlock func(), ok bool, err error)
	// EnvironmentUsed and EnvironmentDropped keep the list the sweep reads.
	EnvironmentUsed(ctx context.Context, pr int, name string) error
	EnvironmentDropped(ctx context.Context, pr int) error
}

// Handler answers the events of one repository: it runs the checks,
// answers comment commands, drops environments, deploys. The Action and
// the bot share it, so that a command means the same in both.
type Handler struct {
	Host      scm.Host
	Warehouse warehouse.Warehouse
	Config    config.Config
	Logger    *slog.Logger
	// Pipeline makes the pipeline for an event: its sources differ (the
	// Action's checkout, the bot's archives).
	Pipeline func(ev Event) *Pipeline
	// State is the bot's; nil in the Action, where deploy, rollback and
	// re-evaluation on reviews are not available.
	State State
	// Warehouses, when set, opens the warehouse for a purpose
	// (config.PurposeChecks: the checks and their environments;
	// config.PurposeDeploy: deploy and rollback), each with its own
	// credentials, and only once the fork and permission checks have
	// passed: nothing from a stranger reaches a warehouse, not even its
	// connection errors. Unset, Warehouse serves every purpose.
	Warehouses func(ctx context.Context, purpose string) (warehouse.Warehouse, error)
	// Attempt is the bot's attempt at this event, 1 for the first; the
	// bot retries errors and reacts to a command once, on its first
	// attempt, and once when the job ends. 0 in the Action, which does not
	// retry.
	Attempt int
	// RequirePin: a command or re-run runs code only with the head it was
	// given for (Event.Pinned); the bot's. See pin.go.
	RequirePin bool
}

// warehouse returns the warehouse for purpose; call it only after the
// fork and permission checks.
func (h *Handler) warehouse(ctx context.Context, purpose string) (warehouse.Warehouse, error) {
	if h.Warehouses == nil {
		return h.Warehouse, nil
	}
	return h.Warehouses(ctx, purpose)
}

// pipeline makes the event's pipeline on the warehouse for purpose.
func (h *Handler) pipeline(ctx context.Context, ev Event, purpose string) (*Pipeline, error) {
	w, err := h.warehouse(ctx, purpose)
	if err != nil {
		return nil, err
	}
	p := h.Pipeline(ev)
	p.Warehouse = w
	return p, nil
}

// Commands lists the commands at the end of the report: all of them in
// the bot, those without deploy and rollback in the Action.
func Commands(withState bool) []report.Command {
	var out []report.Command
	for _, v := range verbs {
		if !withState && (v.verb == VerbDeploy || v.verb == VerbRollback) {
			continue
		}
		out = append(out, report.Command{Command: v.usage, What: v.what})
	}
	return out
}

// Handle answers one event. It returns the pipeline's outcome when the
// checks ran, nil otherwise (a command answered, an environment dropped).
func (h *Handler) Handle(ctx context.Context, ev Event) (*Outcome, error) {
	switch ev.Kind {
	case Commented:
		return h.command(ctx, ev)
	case Reviewed:
		if h.State == nil {
			return h.reviewedWithoutState(ctx, ev)
		}
		return nil, h.regate(ctx, ev)
	case Closed:
		return nil, h.closed(ctx, ev)
	case Rerun:
		// Only people with write access can re-run checks on GitHub, so a
		// re-run is trusted even on a fork's pull request.
		pr, err := h.Host.PullRequest(ctx, ev.PullRequest.Number)
		if err != nil {
			return nil, err
		}
		ev.PullRequest = *pr
		if why := unpinned(ev, h.RequirePin); why != "" {
			return nil, h.refuseRerun(ctx, ev, why)
		}
		return h.run(ctx, ev, "")
	}
	if ev.PullRequest.Fork {
		return nil, h.holdFork(ctx, ev)
	}
	return h.run(ctx, ev, "")
}

func (h *Handler) log(ev Event) *slog.Logger {
	l := h.Logger
	if l == nil {
		l = slog.Default()
	}
	return l.With("repo", ev.Repo, "pr", ev.PullRequest.Number, "delivery", ev.DeliveryID)
}

// run runs the checks and keeps their results. selection, when not
// empty, replaces the plan's (models a /dataops diff names).
func (h *Handler) run(ctx context.Context, ev Event, selection string) (*Outcome, error) {
	p, err := h.pipeline(ctx, ev, config.PurposeChecks)
	if err != nil {
		return nil, err
	}
	if selection != "" {
		p.Select = selection
	}
	o, err := p.Run(ctx, ev)
	if err != nil || h.State == nil || o == nil {
		return o, err
	}
	if o.Plan != nil && o.Plan.Rebuild() {
		if err := h.State.EnvironmentUsed(ctx, ev.PullRequest.Number, o.Environment); err != nil {
			h.log(ev).Warn("record the environment for the sweep", "err", err)
		}
	}
	data, err := json.Marshal(o.Results)
	if err != nil {
		return o, fmt.Errorf("encode the results: %w", err)
	}
	return o, h.State.SaveResults(ctx, ev.PullRequest.Number, ev.PullRequest.HeadSHA, data)
}

// holdFork runs nothing for a fork's pull request: its code could read the
// warehouse's credentials or data. Someone with write access reviews it
// and comments /dataops rerun.
func (h *Handler) holdFork(ctx context.Context, ev Event) error {
	const why = "This pull request comes from a fork. Its models run only after someone with write access has read the change and commented `/dataops rerun`."
	for _, name := range checks.Stages {
		c := scm.Check{Name: name, Status: scm.StatusCompleted, Conclusion: scm.ConclusionSkipped, Title: "Waiting for a maintainer", Summary: why}
		if name == scm.CheckGate {
			c.Conclusion = scm.ConclusionFailure
		}
		if err := h.Host.PublishCheck(ctx, ev.PullRequest.HeadSHA, c); err != nil {
			h.log(ev).Warn("publish check", "check", name, "err", err)
		}
	}
	return h.reply(ctx, ev.PullRequest.Number, "⏸️ "+why)
}

// closed drops the environment and, for a merge with deploy.on_merge,
// deploys.
func (h *Handler) closed(ctx context.Context, ev Event) error {
	p, err := h.pipeline(ctx, ev, config.PurposeChecks)
	if err != nil {
		return err
	}
	if _, err := p.Run(ctx, ev); err != nil {
		return err
	}
	if h.State != nil {
		if err := h.State.EnvironmentDropped(ctx, ev.PullRequest.Number); err != nil {
			h.log(ev).Warn("forget the dropped environment", "err", err)
		}
	}
	if !ev.Merged || !h.Config.Deploy.OnMerge {
		return nil
	}
	return h.exclusive(ctx, ev, func() error {
		p, err := h.pipeline(ctx, ev, config.PurposeDeploy)
		if err != nil {
			return err
		}
		_, err = p.Deploy(ctx, ev)
		return err
	})
}

// exclusive runs fn under the repository's deploy lock (the Action has
// none: GitHub's concurrency groups serialize its runs).
func (h *Handler) exclusive(ctx context.Context, ev Event, fn func() error) error {
	if h.State == nil {
		return fn()
	}
	unlock, ok, err := h.State.LockDeploy(ctx)
	if err != nil {
		return err
	}
	if !ok {
		if err := h.reply(ctx, ev.PullRequest.Number, "⏳ Another deploy of this repository is running; this one is queued and starts when it ends."); err != nil {
			h.log(ev).Warn("say the deploy is queued", "err", err)
		}
		return ErrDeployBusy
	}
	defer unlock()
	return fn()
}

// gate evaluates the gate from the saved results of the pull request's
// head and its approvals now. ok is false when there are no results for
// that head.
func (h *Handler) gate(ctx context.Context, pr scm.PullRequest) (checks.Result, bool, error) {
	sha, data, err := h.State.Results(ctx, pr.Number)
	if err != nil || sha == "" || sha != pr.HeadSHA {
		return checks.Result{}, false, err
	}
	var results []checks.Result
	if err := json.Unmarshal(data, &results); err != nil {
		return checks.Result{}, false, fmt.Errorf("read the saved results: %w", err)
	}
	p := h.Pipeline(Event{PullRequest: pr})
	return checks.GateWith(results, p.Approvals(ctx, pr)), true, nil
}

// reviewedWithoutState answers a review in the Action, which keeps no
// results between runs: with approvals in the gate, the checks run again
// so that the gate can count the new review; without, a review changes
// nothing.
func (h *Handler) reviewedWithoutState(ctx context.Context, ev Event) (*Outcome, error) {
	if h.Config.Gate.Approvals == 0 {
		return nil, nil
	}
	pr, err := h.Host.PullRequest(ctx, ev.PullRequest.Number)
	if err != nil {
		return nil, err
	}
	ev.PullRequest = *pr
	if pr.Fork {
		return nil, h.holdFork(ctx, ev)
	}
	return h.run(ctx, ev, "")
}

// regate publishes the gate again after a review.
func (h *Handler) regate(ctx context.Context, ev Event) error {
	if h.State == nil {
		return nil
	}
	pr, err := h.Host.PullRequest(ctx, ev.PullRequest.Number)
	if err != nil {
		return err
	}
	g, ok, err := h.gate(ctx, *pr)
	if err != nil || !ok {
		return err // no checks for this head yet: they end with the gate
	}
	h.log(ev).Info("gate evaluated again after a review", "conclusion", g.Conclusion)
	if gr, ok := h.State.(gateRecorder); ok {
		if err := gr.GateChanged(ctx, pr.Number, pr.HeadSHA, string(g.Conclusion)); err != nil {
			h.log(ev).Warn("record the gate for the web pages", "err", err)
		}
	}
	return h.Host.PublishCheck(ctx, pr.HeadSHA, g.Check())
}

// command answers a /dataops comment. Commands that touch the warehouse
// need write access; bots are never obeyed.
func (h *Handler) command(ctx context.Context, ev Event) (*Outcome, error) {
	if ev.Comment == nil || ev.Comment.Bot {
		return nil, nil
	}
	cmd, ok := ParseCommand(ev.Comment.Body)
	if !ok {
		return nil, nil
	}
	number := ev.PullRequest.Number
	log := h.log(ev).With("command", cmd.Verb, "by", ev.Comment.Author)
	react := func(r scm.Reaction) {
		if err := h.Host.React(ctx, number, ev.Comment.ID, r); err != nil {
			log.Warn("react to the command", "err", err)
		}
	}
	// One 👀 per command, and one 🚀 or 😕 when it ends: not once per
	// attempt of the bot's job, which reacts 😕 itself when it gives up.
	if h.Attempt <= 1 {
		react(scm.ReactionEyes)
	}
	o, err := h.obey(ctx, ev, cmd, log)
	switch {
	case errors.Is(err, ErrDeployBusy):
		return nil, err // runs again later; reactions then
	case err != nil && !errors.Is(err, errRefused) && h.Attempt > 0:
		// The bot retries, or gives up and says so.
	case err != nil || (o != nil && !o.Passed()): // a refusal is an error here too
		react(scm.ReactionConfused)
	default:
		react(scm.ReactionRocket)
	}
	if errors.Is(err, errRefused) {
		err = nil
	}
	return o, err
}

// errRefused marks a command answered with a refusal.
var errRefused = errors.New("refused")

func (h *Handler) obey(ctx context.Context, ev Event, cmd Command, log *slog.Logger) (*Outcome, error) {
	number := ev.PullRequest.Number
	refuse := func(format string, args ...any) (*Outcome, error) {
		log.Info("command refused", "why", fmt.Sprintf(format, args...))
		if err := h.reply(ctx, number, fmt.Sprintf(format, args...)); err != nil {
			return nil, err
		}
		return nil, errRefused
	}
	if !h.Config.CommandAllowed(string(cmd.Verb)) {
		return refuse("`/dataops %s` is not allowed in this repository (commands.allowed in dataops.yml).", cmd.Verb)
	}
	canWrite := func() (bool, scm.Permission, error) {
		perm, err := h.Host.Permission(ctx, ev.Comment.Author)
		if err != nil {
			return false, perm, fmt.Errorf("check %s's permission: %w", ev.Comment.Author, err)
		}
		return perm.CanWrite(), perm, nil
	}
	if cmd.TouchesWarehouse() {
		ok, perm, err := canWrite()
		if err != nil {
			return nil, err
		}
		if !ok {
			return refuse("Sorry @%s, `/dataops %s` touches the warehouse, so it needs write access to this repository (you have %s). Someone with write access can run it.",
				ev.Comment.Author, cmd.Verb, perm)
		}
	}
	if cmd.Verb == VerbHelp {
		return nil, h.reply(ctx, number, Help(cmd.Unknown))
	}
	// A comment event says little of its pull request; the bot's worker
	// has read it already, the Action has not.
	if ev.PullRequest.HeadSHA == "" || ev.PullRequest.BaseSHA == "" {
		pr, err := h.Host.PullRequest(ctx, number)
		if err != nil {
			return nil, err
		}
		ev.PullRequest = *pr
	}
	// A fork's code is rendered only for a writer, whatever the command:
	// rendering a stranger's templates is running them.
	if !cmd.TouchesWarehouse() && cmd.RendersCode() && ev.PullRequest.Fork {
		ok, perm, err := canWrite()
		if err != nil {
			return nil, err
		}
		if !ok {
			return refuse("Sorry @%s, this pull request comes from a fork, so `/dataops %s` (which renders its code) needs write access to this repository (you have %s). Someone with write access can run it once they have read the change.",
				ev.Comment.Author, cmd.Verb, perm)
		}
	}
	if cmd.RendersCode() {
		if why := unpinned(ev, h.RequirePin); why != "" {
			return refuse("%s", why)
		}
	}
	log.Info("command taken")
	switch cmd.Verb {
	case VerbPlan:
		p, err := h.pipeline(ctx, ev, config.PurposeChecks)
		if err != nil {
			return nil, err
		}
		pl, err := p.Plan(ctx, ev)
		if err != nil && (h.Attempt == 0 || isPermanent(err)) {
			return nil, h.reply(ctx, number, fmt.Sprintf("Could not make the plan: %s", publicReason(err)))
		}
		if err != nil {
			return nil, err // the bot tries again
		}
		return nil, h.reply(ctx, number, PlanText(pl))
	case VerbTeardown:
		w, err := h.warehouse(ctx, config.PurposeChecks)
		if err != nil {
			return nil, err
		}
		env := warehouse.EnvironmentName(h.Config.Environments.Name, number, h.Config.Environments.Prefix, w.Dialect())
		if err := w.DropEnvironment(ctx, env); err != nil {
			return nil, err
		}
		if h.State != nil {
			if err := h.State.EnvironmentDropped(ctx, number); err != nil {
				log.Warn("forget the dropped environment", "err", err)
			}
		}
		return nil, h.reply(ctx, number, fmt.Sprintf("Dropped environment `%s`. The next push or `/dataops rerun` creates it again.", env))
	case VerbRerun, VerbDiff:
		// diff compares again as part of the checks: running them all keeps
		// the one comment whole; models it names replace the plan's
		// selection. A writer's rerun is what lets a fork's pull request run.
		return h.run(ctx, ev, strings.Join(cmd.Args, " "))
	case VerbDeploy, VerbRollback:
		if h.State == nil {
			return refuse("`/dataops %s` runs in the dataops bot (`dataops serve`), not in the GitHub Action or GitLab CI job.", cmd.Verb)
		}
		if cmd.Verb == VerbRollback {
			return nil, h.exclusive(ctx, ev, func() error {
				p, err := h.pipeline(ctx, ev, config.PurposeDeploy)
				if err != nil {
					return err
				}
				res, err := p.Rollback(ctx, ev)
				if err == nil && res != nil && res.Failed() {
					return errDeployFailed // the deploy comment says which
				}
				return err
			})
		}
		g, ok, err := h.gate(ctx, ev.PullRequest)
		if err != nil {
			return nil, err
		}
		if !ok {
			return refuse("There are no check results for %s yet: wait for the checks (or comment `/dataops rerun`), then deploy.", short(ev.PullRequest.HeadSHA))
		}
		if g.Failed() {
			return refuse("The gate does not pass for %s, so it cannot be deployed. %s", short(ev.PullRequest.HeadSHA), g.Summary)
		}
		return nil, h.exclusive(ctx, ev, func() error {
			p, err := h.pipeline(ctx, ev, config.PurposeDeploy)
			if err != nil {
				return err
			}
			res, err := p.Deploy(ctx, ev)
			if err == nil && res != nil && res.Failed() {
				return errDeployFailed
			}
			return err
		})
	}
	return refuse("`/dataops %s` is not handled here.", cmd.Verb)
}

// errDeployFailed: the deploy ran and some models failed; the reply says
// which. The command's reaction is 😕, and nothing is retried.
var errDeployFailed = fmt.Errorf("%w: some models failed to deploy", errRefused)

func (h *Handler) reply(ctx context.Context, number int, text string) error {
	return h.Host.UpsertComment(ctx, number, ReplyMarker, ReplyMarker+"\n"+text+"\n")
}

// Plan compiles what the checks compare and compares it, without a
// warehouse.
func (p *Pipeline) Plan(ctx context.Context, ev Event) (*plan.Plan, error) {
	r := &run{p: p, ev: ev, log: p.logger()}
	target := project.Target{Name: "prod", Schema: p.Config.Production.Schema, Type: p.Warehouse.Dialect().Name()}
	cmp, err := p.comparison(ctx, ev.PullRequest)
	if err != nil {
		return nil, err
	}
	var ms [2]*project.Manifest
	for i, sha := range []string{cmp.Base, cmp.Head} {
		m, ds, err := r.compile(ctx, sha, []string{compileBase, compileHead}[i], target)
		if err == nil && len(ds) > 0 {
			err = fmt.Errorf("%s does not compile: %s", short(sha), ds[0])
		}
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	if r.noBase && r.noHead {
		return nil, r.noProject()
	}
	pl := plan.Diff(ms[0], ms[1])
	pl.Base, pl.Head = short(cmp.Base), short(cmp.Head)
	pl.NoBase, pl.NoHead = r.noBase, r.noHead
	return pl, nil
}

// PlanText is the reply to /dataops plan.
func PlanText(pl *plan.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Plan** for %s against %s\n\n", pl.Head, pl.Base)
	switch {
	case pl.NoBase:
		b.WriteString("The base has no project yet: every node is added.\n\n")
	case pl.NoHead:
		b.WriteString("The head has no project any more: every node is removed, and nothing is built.\n\n")
	}
	if len(pl.Changes) == 0 {
		b.WriteString("Nothing changed in the project.\n")
		return b.String()
	}
	for _, c := range pl.Changes {
		fmt.Fprintf(&b, "- %s `%s` (%s)", c.Status, c.Name, c.Kind)
		switch {
		case len(c.Reasons) > 0:
			fmt.Fprintf(&b, ": %s", strings.Join(c.Reasons, ", "))
		case len(c.Upstream) > 0:
			fmt.Fprintf(&b, ": downstream of %s", strings.Join(c.Upstream, ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nThe checks build %d nodes (`state:modified+`).\n", len(pl.Build))
	return b.String()
}
