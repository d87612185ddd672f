package action

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// handler answers the one event the Action or the CI job was started for,
// with bot.Handler as the bot does, but without the bot's state: deploy
// and rollback reply that they run in the bot.
type handler struct {
	host        scm.Host
	w           warehouse.Warehouse
	cfg         config.Config
	logger      *slog.Logger
	workspace   string
	selection   string
	fullDetails string
	// lookupEnv is env_var() for the project's models.
	lookupEnv func(string) (string, bool)
	// headInWorkspace tells whether the checked-out workspace holds a head
	// commit's files; when it does not, the head comes from the host's
	// archive of that commit, so no check is ever published on a commit
	// whose files were not the ones compiled.
	headInWorkspace func(sha string) bool
}

// handle returns the pipeline's outcome, or nil when the event needed no
// checks (a command answered, an environment dropped).
func (h *handler) handle(ctx context.Context, ev bot.Event) (*bot.Outcome, error) {
	b := &bot.Handler{Host: h.host, Warehouse: h.w, Config: h.cfg, Logger: h.logger, Pipeline: h.pipeline}
	return b.Handle(ctx, ev)
}

func (h *handler) pipeline(ev bot.Event) *bot.Pipeline {
	archives := bot.ArchiveSources{Host: h.host, Project: h.cfg.Project}
	p := &bot.Pipeline{Host: h.host, Warehouse: h.w, Config: h.cfg, Sources: archives, Logger: h.logger,
		Select: h.selection, FullDetails: h.fullDetails, Commands: bot.Commands(false), LookupEnv: h.lookupEnv}
	if head := ev.PullRequest.HeadSHA; h.headInWorkspace != nil && h.headInWorkspace(head) {
		p.Sources = bot.WorkspaceSources{HeadSHA: head, Other: archives}
		p.ProjectDir = filepath.Join(h.workspace, h.cfg.Project)
	} else if head != "" {
		h.logger.Info("the workspace does not hold the pull request's head: reading it from the host's archive", "head", head)
	}
	if ev.PullRequest.Number == 0 {
		p.Environment = warehouse.EnvironmentName("manual_{number}", 0, h.cfg.Environments.Prefix, h.w.Dialect())
	}
	return p
}
