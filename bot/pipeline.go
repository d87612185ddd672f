package bot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/checks"
	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/datadiff"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/profile"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// Pipeline runs the checks of one pull request: sources for base and
// head, compile, plan, environment, dry-run, build and tests, diff, gate,
// then the comment and one check per stage.
type Pipeline struct {
	Host      scm.Host
	Warehouse warehouse.Warehouse
	Config    config.Config
	Sources   Sources
	// ProjectDir is the project folder on disk when Sources is GitSources
	// and the head is the work tree; empty otherwise.
	ProjectDir string
	Logger     *slog.Logger
	// Threads bounds parallel model builds (default 4).
	Threads int
	// FullDetails says where the unshortened report is, for the comment.
	FullDetails string
	// Commands listed at the end of the comment.
	Commands []report.Command
	// Environment overrides the name made from environments.name in
	// dataops.yml (dataops check uses one per person, not per PR).
	Environment string
	// Select, when set, replaces the plan's state:modified+ with a dbt
	// selection (state: selectors included).
	Select string
	// StageDone, when set, is told each stage's time (the bot's metrics).
	StageDone func(stage, conclusion string, took time.Duration)
	// LookupEnv is what the project's env_var() reads; nil is the process
	// environment (the CLI's and the Action's, which are the user's own).
	// The bot gives DBTEnvOnly.
	LookupEnv func(name string) (string, bool)
	// Compare, when set, says which commits to compare instead of the
	// host: a CI job compares what it checked out (CheckoutCompare).
	Compare func(ctx context.Context, pr scm.PullRequest) (scm.Comparison, error)
	// RetryTransient: the caller runs the event again on a transient error
	// (the bot). Sources that could not be downloaded for a passing reason
	// then end the run with the error, instead of failing the compile
	// check of a pull request that did nothing wrong.
	RetryTransient bool
	// Compiler, when set, loads and compiles the files of the pull
	// request's head: the bot's runs them in a child process with resource
	// limits (ChildCompiler). The base, which writers merged, compiles in
	// this process, as does everything when it is nil.
	Compiler Compiler
	// Recorder, when set, keeps what the run does for the bot's web
	// pages (record.go); RunURL is the run's page there, which the comment
	// and every check link to.
	Recorder Recorder
	RunURL   string
}

// Compiler loads a commit's files as the project in dir and compiles it
// with opts (whose Warehouse answers the templates' queries).
type Compiler interface {
	Compile(ctx context.Context, dir string, files []project.File, opts project.Options) (*project.Manifest, project.Diagnostics, error)
}

// Outcome is what a run concluded.
type Outcome struct {
	Environment string
	// Comparison is what was compiled, compared and built.
	Comparison scm.Comparison
	Results    []checks.Result
	Comment    string
	// Report is the full report, for a step summary or check text.
	Report string
	Plan   *plan.Plan
	Build  *build.Result
	Diffs  []report.ModelDiff
	// Shortened: the comment had to leave parts of the report out.
	Shortened bool
}

// Passed reports whether every stage passed (the gate).
func (o *Outcome) Passed() bool {
	for _, r := range o.Results {
		if r.Failed() {
			return false
		}
	}
	return true
}

// Run handles a pull request event. Closing drops the environment; any
// other event runs the checks.
func (p *Pipeline) Run(ctx context.Context, ev Event) (*Outcome, error) {
	log := p.logger().With("repo", ev.Repo, "pr", ev.PullRequest.Number, "delivery", ev.DeliveryID)
	env := p.Environment
	if env == "" {
		env = warehouse.EnvironmentName(p.Config.Environments.Name, ev.PullRequest.Number, p.Config.Environments.Prefix, p.Warehouse.Dialect())
	}
	if ev.Kind == Closed {
		log.Info("pull request closed: dropping its environment", "environment", env, "merged", ev.Merged)
		if err := p.Warehouse.DropEnvironment(ctx, env); err != nil {
			return nil, fmt.Errorf("drop environment %s: %w", env, err)
		}
		return &Outcome{Environment: env}, nil
	}
	r := &run{p: p, ev: ev, log: log, out: &Outcome{Environment: env}, sha: ev.PullRequest.HeadSHA}
	r.start()
	r.execute(ctx)
	if r.aborted != nil {
		return nil, r.aborted
	}
	return r.out, r.finish(ctx)
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// run is the state of one pipeline run.
type run struct {
	p    *Pipeline
	ev   Event
	log  *slog.Logger
	out  *Outcome
	sha  string
	head *project.Manifest
	// noBase, noHead: that commit has no project (see missing).
	noBase, noHead bool
	// newModels are the models of a new project that production does not
	// have: nothing to compare them with.
	newModels []string
	prod      project.Target
	// aborted ends the run without a verdict: it is run again.
	aborted error
	// mask hides sensitive values in every sample of this run, with the
	// run's own key.
	mask mask.Set
}

// start marks every stage queued so people see the whole list at once.
func (r *run) start() {
	for _, name := range checks.Stages {
		r.publish(context.Background(), scm.Check{Name: name, Status: scm.StatusQueued, Title: "Waiting"})
	}
}

func (r *run) publish(ctx context.Context, c scm.Check) {
	if r.p.RunURL != "" {
		c.DetailsURL = r.p.RunURL
	}
	if r.p.Recorder != nil {
		r.p.Recorder.Check(ctx, c)
	}
	if err := r.p.Host.PublishCheck(ctx, r.sha, c); err != nil {
		// A check that cannot be published must not stop the run: the
		// comment and the other checks still tell people what happened.
		r.log.Warn("publish check", "check", c.Name, "err", err)
	}
}

// stage runs one stage: its check in progress, then its result.
func (r *run) stage(ctx context.Context, name, what string, fn func() checks.Result) checks.Result {
	r.publish(ctx, scm.Check{Name: name, Status: scm.StatusInProgress, Title: what})
	start := time.Now()
	res := fn()
	if r.aborted != nil {
		return res
	}
	took := time.Since(start)
	r.log.Info("stage done", "stage", name, "conclusion", res.Conclusion, "took", took.Round(time.Millisecond))
	if r.p.StageDone != nil {
		r.p.StageDone(name, string(res.Conclusion), took)
	}
	r.complete(ctx, res)
	return res
}

func (r *run) complete(ctx context.Context, res checks.Result) {
	r.out.Results = append(r.out.Results, res)
	r.publish(ctx, res.Check())
}

// skipRest marks the stages after a failure skipped, saying why.
func (r *run) skipRest(ctx context.Context, why string) {
	done := map[string]bool{}
	for _, res := range r.out.Results {
		done[res.Name] = true
	}
	for _, name := range checks.Stages {
		if !done[name] && name != scm.CheckGate {
			r.complete(ctx, checks.Skip(name, why))
		}
	}
}

func (r *run) execute(ctx context.Context) {
	cfg := r.p.Config
	engine := r.p.Warehouse.Dialect().Name()
	r.prod = project.Target{Name: "prod", Schema: cfg.Production.Schema, Type: engine}
	envTarget := project.Target{Name: r.out.Environment, Schema: r.out.Environment, Type: engine}

	// Compile base and head. The head's errors that its base already had
	// are not the pull request's: the check lists them and goes on with
	// what compiled.
	var base *project.Manifest
	// partial: the head compiled but for the pull request's own errors, so
	// the compile check fails (and the gate with it) while the rest of the
	// change is built and diffed, as dbt builds what does not depend on a
	// broken model: the author sees what the rest does before fixing it.
	partial := false
	compile := r.stage(ctx, scm.CheckCompile, "Compiling", func() checks.Result {
		cmp, err := r.p.comparison(ctx, r.ev.PullRequest)
		if err != nil {
			if r.abort(err) {
				return checks.Result{}
			}
			return checks.Result{Name: scm.CheckCompile, Conclusion: checks.Failure, Title: "Could not tell which commits to compare", Summary: publicReason(err)}
		}
		r.out.Comparison = cmp
		head, hds, err := r.compile(ctx, cmp.Head, compileHead, envTarget)
		if err != nil {
			if r.abort(err) {
				return checks.Result{}
			}
			title := "Could not read the sources"
			if errors.Is(err, errCompileContained) {
				title = "The project could not be compiled within its limits"
			}
			return checks.Result{Name: scm.CheckCompile, Conclusion: checks.Failure, Title: title, Summary: publicReason(err)}
		}
		if head == nil {
			return checks.Compile(cfg.Project, nil, plan.Attribution{Introduced: hds})
		}
		var bds project.Diagnostics
		base, bds, err = r.compile(ctx, cmp.Base, compileBase, envTarget)
		if err != nil && r.abort(err) {
			return checks.Result{}
		}
		if err == nil && base == nil {
			err = fmt.Errorf("%d problems; the first: %s", len(bds.Errors()), bds.Errors()[0])
		}
		if err != nil {
			return checks.Result{Name: scm.CheckCompile, Conclusion: checks.Failure, Title: "The base revision does not compile",
				Summary: fmt.Sprintf("The base %s cannot be compiled to compare with, which is not this pull request's doing: %s", short(cmp.Base), publicReason(err))}
		}
		r.head = head
		switch {
		case r.noBase && r.noHead:
			err := r.noProject()
			var np plan.NoProject
			errors.As(err, &np)
			return checks.Result{Name: scm.CheckCompile, Conclusion: checks.Failure, Title: fmt.Sprintf("No dbt project: no %s in %s", plan.ProjectFile, plan.FolderName(np.Folder)),
				Summary: fmt.Sprintf("Neither the head %s nor the base %s has a project: %s", short(cmp.Head), short(cmp.Base), publicReason(err))}
		case r.noHead:
			head.Project = base.Project
			return checks.Result{Name: scm.CheckCompile, Conclusion: checks.Neutral, Title: "This pull request removes the project",
				Summary: fmt.Sprintf("The head %s has no %s in %s, where the base %s has project `%s`: every node is removed, and nothing is built.",
					short(cmp.Head), plan.ProjectFile, plan.FolderName(cfg.Project), short(cmp.Base), base.Project)}
		}
		res := checks.Compile(cfg.Project, head, plan.Attribute(base, head, bds, hds))
		// Only when the rest of the change has something to build.
		partial = res.Failed() && plan.Diff(base, head).Rebuild()
		if partial {
			res.Summary += "\n\nThe other checks go on with the rest of the change, leaving out the models that did not compile and what depends on them."
		}
		if r.noBase && !res.Failed() {
			res.Summary = fmt.Sprintf("The base %s has no project yet (no %s in %s): every model is new.\n\n%s",
				short(cmp.Base), plan.ProjectFile, plan.FolderName(cfg.Project), res.Summary)
		}
		return res
	})
	if r.aborted != nil {
		return
	}
	if compile.Failed() && !partial {
		r.skipRest(ctx, "the compile check failed")
		return
	}
	// The base's marks count too: a pull request cannot unmask a column
	// by removing its mark.
	r.mask = mask.New(cfg.Mask, base, r.head)
	r.out.Plan = plan.Diff(base, r.head)
	r.out.Plan.Base, r.out.Plan.Head = short(r.out.Comparison.Base), short(r.out.Comparison.Head)
	r.out.Plan.NoBase, r.out.Plan.NoHead = r.noBase, r.noHead
	if r.noHead {
		r.skipRest(ctx, "the pull request removes the project: nothing to build")
		return
	}
	if !r.out.Plan.Rebuild() {
		r.skipRest(ctx, "no model changed")
		return
	}

	// The environment, reused across pushes of the same pull request.
	marker := warehouse.EnvironmentMarker{PR: r.ev.PullRequest.Number, HeadSHA: r.ev.PullRequest.HeadSHA,
		Owner: r.ev.PullRequest.Author, CreatedAt: time.Now().UTC()}
	if err := r.p.Warehouse.CreateEnvironment(ctx, r.out.Environment, marker); err != nil {
		r.complete(ctx, checks.Result{Name: scm.CheckDryRun, Conclusion: checks.Failure,
			Title: "Could not create the environment", Summary: fmt.Sprintf("Environment `%s`: %s", r.out.Environment, publicReason(err))})
		r.skipRest(ctx, "the environment could not be created")
		return
	}
	selection := r.out.Plan.Selection(r.head)
	if r.p.Select != "" {
		sel, err := r.head.Select(r.p.Select, r.out.Plan.Selectors())
		if err != nil {
			r.complete(ctx, checks.Result{Name: scm.CheckDryRun, Conclusion: checks.Failure, Title: "Bad selection", Summary: err.Error()})
			r.skipRest(ctx, "the selection is not valid")
			return
		}
		selection = r.head.WithTests(sel)
	}
	opts := build.Options{Manifest: r.head, Warehouse: r.p.Warehouse, Selection: selection, Defer: &r.prod, Threads: r.p.Threads, Mask: &r.mask}

	if !cfg.Checks.DryRun {
		r.complete(ctx, checks.Skip(scm.CheckDryRun, "turned off in dataops.yml (checks.dry_run)"))
	}
	if !cfg.Checks.Build {
		r.skipRest(ctx, "turned off in dataops.yml (checks.build)")
		return
	}
	dry := checks.Result{}
	if cfg.Checks.DryRun {
		dry = r.dryRun(ctx, opts, base)
	}
	if dry.Failed() {
		r.skipRest(ctx, "the dry run failed")
		return
	}
	built := r.stage(ctx, scm.CheckBuild, "Building the changed models and running their tests", func() checks.Result {
		res, err := build.Run(ctx, opts)
		if err != nil {
			return checks.Result{Name: scm.CheckBuild, Conclusion: checks.Failure, Title: "Build could not start", Summary: err.Error()}
		}
		r.out.Build = res
		return checks.Build(cfg.Project, res)
	})
	if built.Failed() {
		r.skipRest(ctx, "the build failed")
		return
	}
	if !cfg.Checks.Diff {
		r.complete(ctx, checks.Skip(scm.CheckDiff, "turned off in dataops.yml (checks.diff)"))
		return
	}
	r.stage(ctx, scm.CheckDiff, "Comparing data with production", func() checks.Result {
		r.out.Diffs = r.diff(ctx)
		res := checks.Diff(r.out.Diffs, r.out.Plan, cfg.Diff.FailOn)
		if len(r.newModels) > 0 {
			names := r.newModels
			if len(names) > maxNamesListed {
				names = append(names[:maxNamesListed:maxNamesListed], fmt.Sprintf("and %d more", len(r.newModels)-maxNamesListed))
			}
			note := fmt.Sprintf("%d new models, nothing to compare: production has none of them yet (%s).",
				len(r.newModels), strings.Join(names, ", "))
			if len(r.out.Diffs) == 0 {
				res.Title = fmt.Sprintf("%d new models, nothing to compare with production", len(r.newModels))
				res.Summary = note
			} else {
				res.Summary += "\n\n" + note
			}
		}
		return res
	})
}

// dryRun asks the engine about every model to build, without building.
func (r *run) dryRun(ctx context.Context, opts build.Options, base *project.Manifest) checks.Result {
	return r.stage(ctx, scm.CheckDryRun, "Checking the changed models with the engine", func() checks.Result {
		o := opts
		o.DryRun = true
		res, err := build.Run(ctx, o)
		if err != nil {
			return checks.Result{Name: scm.CheckDryRun, Conclusion: checks.Failure, Title: "Dry run could not start", Summary: err.Error()}
		}
		// The dry run's columns read the pull request's seeds as it has
		// them, and a model it rejected is judged by its reason; Assess
		// alone would read production's.
		r.out.Plan.AssessDryRun(ctx, r.p.Warehouse, base, r.head, r.prod, res)
		return checks.DryRun(r.p.Config.Project, res, r.out.Plan)
	})
}

// abort ends the run for err when the caller runs it again instead.
func (r *run) abort(err error) bool {
	if !r.p.RetryTransient || isPermanent(err) {
		return false
	}
	r.aborted = err
	return true
}

// The commits a run compiles: the base it compares with, which writers
// merged, and the head, which holds the pull request's change.
const (
	compileBase = "base"
	compileHead = "head"
)

// compile reads and compiles the project at sha ("" = the work tree);
// which is compileBase or compileHead. The manifest holds what compiled,
// and is nil only when the project's own configuration cannot be read.
func (r *run) compile(ctx context.Context, sha, which string, target project.Target) (*project.Manifest, project.Diagnostics, error) {
	var p *project.Project
	var ds project.Diagnostics
	files, err := r.p.Sources.Files(ctx, sha)
	if err != nil {
		return nil, nil, sourcesError(which, sha, err)
	}
	if !r.p.hasProject(files) {
		// The pull request that adds the project (or removes it): that
		// side is an empty project, so everything is added (removed). A
		// dbt_project.yml that is there but broken still fails below.
		r.missing(which)
		return &project.Manifest{}, nil, nil
	}
	opts := project.Options{Target: target, LookupEnv: r.p.LookupEnv}
	if r.p.Warehouse != nil {
		opts.Warehouse = build.CompileWarehouse(r.p.Warehouse)
	}
	// Templates that query while compiling (dbt_utils.star, run_query)
	// read production: the environment does not hold the models yet.
	if r.prod.Schema != "" && r.prod != target {
		opts.QueryTarget = &r.prod
	}
	switch {
	case files == nil && r.p.ProjectDir != "":
		p, ds = project.Load(r.p.ProjectDir)
	case r.p.Compiler != nil && which == compileHead:
		m, ds, err := r.p.Compiler.Compile(ctx, r.p.Config.Project, files, opts)
		if err != nil || ds.HasConfigErrors() {
			return nil, ds, err
		}
		return m, ds, nil
	default:
		p, ds = project.LoadFiles(r.p.Config.Project, files)
	}
	if p == nil {
		return nil, ds, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	m, cds := project.Compile(ctx, p, opts)
	ds = append(ds, cds...)
	if ds.HasConfigErrors() {
		return nil, ds, nil
	}
	return m, ds, nil
}

// maxNamesListed bounds the model names a check's summary lists in one
// sentence: a new project may have hundreds.
const maxNamesListed = 20

// hasProject reports whether a commit's files (nil: the work tree in
// ProjectDir) hold a dbt_project.yml in the project folder.
func (p *Pipeline) hasProject(files []project.File) bool {
	if files == nil && p.ProjectDir != "" {
		_, err := os.Stat(filepath.Join(p.ProjectDir, plan.ProjectFile))
		return !errors.Is(err, fs.ErrNotExist)
	}
	return files == nil || plan.HasProject(files)
}

// missing notes that the commit compiled as which has no project.
func (r *run) missing(which string) {
	if which == compileBase {
		r.noBase = true
	} else {
		r.noHead = true
	}
}

// noProject is the error for a comparison with no project on either side.
func (r *run) noProject() error {
	folder := r.p.Config.Project
	hint := "set project: in dataops.yml to the folder that holds it (dataops.yml is read from the base branch; without one there, the project is at the repository's root)"
	if _, local := r.p.Sources.(GitSources); local {
		// dataops check: the folder given on the command line.
		if r.p.ProjectDir != "" {
			folder = r.p.ProjectDir
		}
		hint = "pass --project with the folder that holds it, or set project: in dataops.yml"
	}
	return permanent(plan.NoProject{Folder: folder, Hint: hint}, "")
}

// diff compares each model the pull request builds with production: its
// rows by key (datadiff) and its column statistics (profile).
func (r *run) diff(ctx context.Context) []report.ModelDiff {
	var out []report.ModelDiff
	if r.out.Build == nil {
		return nil
	}
	cfg := r.p.Config.Profile
	rules := profile.RulesFrom(cfg, config.FileName)
	rulesErr := rules.CheckModels(func(name string) bool {
		n, ok := r.head.Lookup(name)
		return ok && n.Kind == project.KindModel
	})
	// What was built: the plan's models, or those a selection named.
	for _, built := range r.out.Build.Nodes {
		n := r.head.Nodes[built.ID]
		if n == nil || n.Kind != project.KindModel || n.Config.Materialized == "ephemeral" || built.Status != build.StatusSuccess {
			continue
		}
		prodRel := r.head.RelationIn(n, r.prod)
		if r.noBase {
			// The project is new, so production usually has none of it;
			// a model it already has (a project moved into the folder
			// dataops reads) is compared as usual.
			exists, err := r.p.Warehouse.RelationExists(ctx, warehouse.Relation{Schema: prodRel.Schema, Name: prodRel.Name})
			if err == nil && !exists {
				r.newModels = append(r.newModels, n.Name)
				continue
			}
		}
		key := r.head.Key(n)
		opts := datadiff.Options{
			Base:      warehouse.Relation{Schema: prodRel.Schema, Name: prodRel.Name},
			Head:      warehouse.Relation{Schema: n.Relation.Schema, Name: n.Relation.Name},
			Key:       key,
			Sample:    r.p.Config.Diff.Sample,
			Tolerance: r.p.Config.Diff.Tolerance,
			Mask:      r.mask.Node(n.UniqueID),
		}
		res, err := datadiff.Join(ctx, r.p.Warehouse, opts)
		d := report.ModelDiff{Model: n.Name, Path: path.Join(r.p.Config.Project, n.Path), Key: key, Result: res}
		switch {
		case errors.Is(err, datadiff.ErrNoKey):
			d.Error = fmt.Sprintf("no key, so rows were only counted: declare one with config(unique_key='id') in %s, or a unique test on a column", n.Path)
		case err != nil:
			d.Error = err.Error()
			d.Result = nil
		}
		if cfg.Enabled {
			// Keyless models too: the profile needs no key.
			popts := profile.OptionsFrom(cfg)
			popts.SampleKey = key
			// The run's masks: a profile's values (minimums, maximums,
			// listed values) are samples too.
			cols := r.mask.Node(n.UniqueID)
			popts.Sensitive, popts.Mask = cols.Sensitive, cols.Text
			d.Profile, err = profile.Model(ctx, r.p.Warehouse, n.Name, opts.Base, opts.Head, popts, rules)
			if err == nil && rulesErr != nil {
				err, rulesErr = rulesErr, nil // said once
			}
			if err != nil {
				d.ProfileError = err.Error()
				var ce *config.Error
				if errors.As(err, &ce) {
					// dataops.yml's rule is wrong, not the model: said at
					// its line (dataops.yml is at the repository's root).
					d.ProfileErrorPath, d.ProfileErrorLine = ce.Path, ce.Line
				}
			}
		}
		out = append(out, d)
	}
	return out
}

// finish computes the gate and posts the comment.
func (r *run) finish(ctx context.Context) error {
	r.complete(ctx, checks.GateWith(r.out.Results, r.p.Approvals(ctx, r.ev.PullRequest)))
	var cs []scm.Check
	for _, res := range r.out.Results {
		cs = append(cs, res.Check())
	}
	in := report.Input{Project: r.p.Config.Project, Environment: r.out.Environment, HeadSHA: r.ev.PullRequest.HeadSHA,
		Base: r.ev.PullRequest.BaseRef, Comparison: r.out.Comparison, Checks: cs, Plan: r.out.Plan, Head: r.head, Diffs: r.out.Diffs, Build: r.out.Build,
		Commands: r.p.Commands, FullDetails: r.p.FullDetails, RunURL: r.p.RunURL}
	if in.Project == "." || in.Project == "" {
		if r.head != nil && r.head.Project != "" {
			in.Project = r.head.Project
		}
	}
	r.out.Comment, r.out.Shortened = report.CommentShortened(in)
	r.out.Report = report.Full(in)
	if r.p.Recorder != nil {
		// Kept before the comment that links to it is posted.
		doc := report.NewDocument(in)
		doc.CommentShortened = r.out.Shortened
		r.p.Recorder.Report(ctx, doc)
		if r.out.Build != nil {
			rows, bytes := environmentSize(ctx, r.p.Warehouse, r.out.Environment, r.out.Build)
			r.p.Recorder.EnvironmentSize(ctx, r.out.Environment, rows, bytes)
		}
	}
	if err := r.p.Host.UpsertComment(ctx, r.ev.PullRequest.Number, report.Marker, r.out.Comment); err != nil {
		return fmt.Errorf("post the comment: %w", err)
	}
	return nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// reviewer is a host that can tell who approved a pull request.
type reviewer interface {
	Approvers(ctx context.Context, number int) ([]string, error)
	TeamMember(ctx context.Context, team, user string) (bool, error)
}

// Approvals reads the approvals the gate needs (gate in dataops.yml): the
// approving reviews of the pull request, other than its author's, from
// members of gate.teams when it names any.
func (p *Pipeline) Approvals(ctx context.Context, pr scm.PullRequest) checks.Approvals {
	a := checks.Approvals{Required: p.Config.Gate.Approvals, Teams: p.Config.Gate.Teams}
	if a.Required == 0 {
		return a
	}
	rv, ok := p.Host.(reviewer)
	if !ok {
		a.Err = errors.New("this code host cannot tell approvals")
		return a
	}
	logins, err := rv.Approvers(ctx, pr.Number)
	if err != nil {
		a.Err = err
		return a
	}
	for _, login := range logins {
		if login == pr.Author && pr.Author != "" {
			continue
		}
		counts := len(a.Teams) == 0
		for _, team := range a.Teams {
			member, err := rv.TeamMember(ctx, team, login)
			if err != nil {
				a.Err = fmt.Errorf("is %s in %s: %w", login, team, err)
				return a
			}
			if member {
				counts = true
				break
			}
		}
		if counts {
			a.Approvers = append(a.Approvers, login)
		}
	}
	return a
}

// DBTEnv is what DBTEnvOnly lets a project read, for a compile in a child
// process, which gets a copy instead of the bot's environment.
func DBTEnv() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if _, ok := DBTEnvOnly(name); ok {
			out[name] = value
		}
	}
	return out
}

// DBTEnvOnly is env_var() for code the bot did not write: only DBT_
// variables, and never DBT_ENV_SECRET_ ones (dbt keeps those out of
// models too), so that a model cannot read the bot's own secrets (its App
// key, webhook secrets, tokens, DSNs) into a table, an error or a comment.
func DBTEnvOnly(name string) (string, bool) {
	if !strings.HasPrefix(name, "DBT_") || strings.HasPrefix(name, "DBT_ENV_SECRET_") {
		return "", false
	}
	return os.LookupEnv(name)
}
