package action

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// replyMarker finds dataops' one reply to commands, kept apart from the
// report so that answering a command never hides the checks.
const replyMarker = "<!-- dataops:reply -->"

// handler routes one event to the pipeline or a command.
type handler struct {
	host        scm.Host
	w           warehouse.Warehouse
	cfg         config.Config
	logger      *slog.Logger
	workspace   string
	selection   string
	fullDetails string
}

var commands = []report.Command{
	{Command: "/dataops rerun", What: "run the checks again"},
	{Command: "/dataops plan", What: "say what the pull request changes"},
	{Command: "/dataops teardown", What: "drop this pull request's environment"},
	{Command: "/dataops help", What: "list the commands"},
}

// handle returns the pipeline's outcome, or nil when the event needed no
// checks (a command answered, an environment dropped).
func (h *handler) handle(ctx context.Context, ev bot.Event) (*bot.Outcome, error) {
	if ev.Kind == bot.Commented {
		return h.command(ctx, ev)
	}
	if ev.Kind == bot.Rerun {
		pr, err := h.host.PullRequest(ctx, ev.PullRequest.Number)
		if err != nil {
			return nil, err
		}
		ev.PullRequest = *pr
	}
	o, err := h.pipeline(ev).Run(ctx, ev)
	if ev.Kind == bot.Closed {
		if err == nil && ev.Merged && h.cfg.Deploy.OnMerge {
			_, err = h.pipeline(ev).Deploy(ctx, ev)
		}
		return nil, err
	}
	return o, err
}

func (h *handler) pipeline(ev bot.Event) *bot.Pipeline {
	sources := bot.WorkspaceSources{HeadSHA: ev.PullRequest.HeadSHA,
		Other: bot.ArchiveSources{Host: h.host, Project: h.cfg.Project}}
	p := &bot.Pipeline{Host: h.host, Warehouse: h.w, Config: h.cfg, Sources: sources,
		ProjectDir: filepath.Join(h.workspace, h.cfg.Project), Logger: h.logger, Select: h.selection,
		FullDetails: h.fullDetails, Commands: commands}
	if ev.PullRequest.Number == 0 {
		p.Environment = warehouse.EnvironmentName("manual_{number}", 0, h.cfg.Environments.Prefix, h.w.Dialect())
	}
	return p
}

// command answers a /dataops comment. Commands that touch the warehouse
// need write access; bots are never obeyed.
func (h *handler) command(ctx context.Context, ev bot.Event) (*bot.Outcome, error) {
	if ev.Comment == nil || ev.Comment.Bot {
		return nil, nil
	}
	cmd, ok := bot.ParseCommand(ev.Comment.Body)
	if !ok {
		return nil, nil
	}
	number := ev.PullRequest.Number
	react := func(r scm.Reaction) {
		if err := h.host.React(ctx, number, ev.Comment.ID, r); err != nil {
			h.logger.Warn("react to the command", "err", err)
		}
	}
	reply := func(text string) error {
		return h.host.UpsertComment(ctx, number, replyMarker, replyMarker+"\n"+text+"\n")
	}
	react(scm.ReactionEyes)
	if !h.cfg.CommandAllowed(string(cmd.Verb)) {
		react(scm.ReactionConfused)
		return nil, reply(fmt.Sprintf("`/dataops %s` is not allowed in this repository (commands.allowed in dataops.yml).", cmd.Verb))
	}
	if cmd.TouchesWarehouse() {
		perm, err := h.host.Permission(ctx, ev.Comment.Author)
		if err != nil {
			react(scm.ReactionConfused)
			return nil, fmt.Errorf("check %s's permission: %w", ev.Comment.Author, err)
		}
		if !perm.CanWrite() {
			react(scm.ReactionConfused)
			return nil, reply(fmt.Sprintf("Sorry @%s, `/dataops %s` touches the warehouse, so it needs write access to this repository (you have %s). Someone with write access can run it.",
				ev.Comment.Author, cmd.Verb, perm))
		}
	}
	pr, err := h.host.PullRequest(ctx, number)
	if err != nil {
		react(scm.ReactionConfused)
		return nil, err
	}
	ev.PullRequest = *pr
	switch cmd.Verb {
	case bot.VerbHelp:
		react(scm.ReactionRocket)
		return nil, reply(bot.Help(cmd.Unknown))
	case bot.VerbTeardown:
		env := warehouse.EnvironmentName(h.cfg.Environments.Name, number, h.cfg.Environments.Prefix, h.w.Dialect())
		if err := h.w.DropEnvironment(ctx, env); err != nil {
			react(scm.ReactionConfused)
			return nil, err
		}
		react(scm.ReactionRocket)
		return nil, reply(fmt.Sprintf("Dropped environment `%s`. The next push or `/dataops rerun` creates it again.", env))
	case bot.VerbRerun, bot.VerbPlan, bot.VerbDiff:
		// plan and diff are parts of the checks; running them all keeps the
		// one comment whole.
		o, err := h.pipeline(ev).Run(ctx, ev)
		if err != nil || !o.Passed() {
			react(scm.ReactionConfused)
		} else {
			react(scm.ReactionRocket)
		}
		return o, err
	default:
		react(scm.ReactionConfused)
		return nil, reply(fmt.Sprintf("`/dataops %s` runs in the dataops bot (`dataops serve`), not in the GitHub Action or GitLab CI job.", cmd.Verb))
	}
}
