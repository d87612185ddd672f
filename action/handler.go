package action

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"

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
	w           *lazyWarehouse
	cfg         config.Config
	logger      *slog.Logger
	workspace   string
	selection   string
	fullDetails string
	// lookupEnv is env_var() for the project's models and packages.yml.
	lookupEnv func(string) (string, bool)
	// compare says which commits the checks compare: those of the
	// workspace's checkout, which is what they build.
	compare func(context.Context, scm.PullRequest) (scm.Comparison, error)
	// checkedOut is the commit in the workspace ("" when there is none):
	// only that commit is read from disk, any other from the host's
	// archives, so no check is published for files it did not compile.
	checkedOut string
}

// handle returns the pipeline's outcome, or nil when the event needed no
// checks (a command answered, an environment dropped).
func (h *handler) handle(ctx context.Context, ev bot.Event) (*bot.Outcome, error) {
	b := &bot.Handler{Host: h.host, Config: h.cfg, Logger: h.logger, Pipeline: h.pipeline,
		// As in the bot, the warehouse is opened only once the fork and
		// permission checks have passed: a stranger's comment does not
		// make the step connect to it.
		Warehouses: func(ctx context.Context, _ string) (warehouse.Warehouse, error) { return h.w.open(ctx) }}
	return b.Handle(ctx, ev)
}

// lazyWarehouse opens the step's warehouse when it is first needed, once.
type lazyWarehouse struct {
	dsn  string
	opts warehouse.Options
	mu   sync.Mutex
	w    warehouse.Warehouse
}

func (l *lazyWarehouse) open(ctx context.Context) (warehouse.Warehouse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		return l.w, nil
	}
	w, err := warehouse.OpenWith(ctx, l.dsn, l.opts)
	if err != nil {
		return nil, err
	}
	l.w = w
	return w, nil
}

// opened is the warehouse once open has returned it.
func (l *lazyWarehouse) opened() warehouse.Warehouse {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w
}

// Close closes the warehouse if it was opened.
func (l *lazyWarehouse) Close() error {
	if w := l.opened(); w != nil {
		return w.Close()
	}
	return nil
}

func (h *handler) pipeline(ev bot.Event) *bot.Pipeline {
	// packages.yml's env_var() reads what models may: the run's
	// credentials never reach a package's URL.
	sources := &bot.PackageSources{Sources: bot.WorkspaceSources{HeadSHA: h.checkedOut,
		Other: bot.ArchiveSources{Host: h.host, Project: h.cfg.Project}},
		Dir: filepath.Join(h.workspace, h.cfg.Project), Root: h.workspace, Logger: h.logger, LookupEnv: h.lookupEnv}
	// bot.Handler opened the warehouse before it asks for the pipeline.
	w := h.w.opened()
	p := &bot.Pipeline{Host: h.host, Warehouse: w, Config: h.cfg, Sources: sources,
		ProjectDir: filepath.Join(h.workspace, h.cfg.Project), Logger: h.logger, Select: h.selection,
		FullDetails: h.fullDetails, Commands: bot.Commands(false), Compare: h.compare, LookupEnv: h.lookupEnv}
	if ev.PullRequest.Number == 0 {
		// A dispatched run has no pull request to comment on: the step
		// summary and the checks hold the report.
		p.Environment = warehouse.EnvironmentName("manual_{number}", 0, h.cfg.Environments.Prefix, w.Dialect())
		p.Host = noComment{h.host}
	}
	return p
}

// noComment is a host that does not comment: a dispatched run has no pull
// request.
type noComment struct{ scm.Host }

func (noComment) UpsertComment(context.Context, int, string, string) error { return nil }
