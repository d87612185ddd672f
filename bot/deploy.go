package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/scm"
)

// Deploy builds a pull request's change in production: what the plan says
// it touches (state:modified+), each model swapped in atomically, tests
// included. It posts the result on the pull request, in the reply to
// commands (ReplyMarker).
//
// Blue/green: each relation it replaces is kept beside it as
// <name>__dataops_prev until the next deploy, and what it replaced or
// created is recorded in the warehouse (dataops_meta), so Rollback can put
// production back. The deploy first drops the versions the deploy before it
// kept. A model that fails keeps its current version and is not recorded.
//
// Running Deploy again for the same head (after a crash part way, or a
// second /dataops deploy) continues the same record: it rebuilds the
// change, and the relations the first attempt already swapped are replaced
// without keeping that attempt's output, so Rollback still restores
// production as it was before the first attempt.
func (p *Pipeline) Deploy(ctx context.Context, ev Event) (*build.Result, error) {
	engine := p.Warehouse.Dialect().Name()
	prod := project.Target{Name: "prod", Schema: p.Config.Production.Schema, Type: engine}
	r := &run{p: p, ev: ev, log: p.logger().With("repo", ev.Repo, "pr", ev.PullRequest.Number, "delivery", ev.DeliveryID)}
	// An open pull request deploys what its checks built: its merge into
	// the base branch, compared with the base's tip, so that what the base
	// gained meanwhile is not undone. A merged one deploys its head
	// against the base of its event, as it always has.
	cmp := scm.Comparison{Base: ev.PullRequest.BaseSHA, Head: ev.PullRequest.HeadSHA}
	if ev.Kind != Closed {
		var err error
		if cmp, err = p.comparison(ctx, ev.PullRequest); err != nil {
			return nil, p.deployed(ctx, ev, DeployNote{Action: "deploy", Failed: true, Message: fmt.Sprintf("❌ Deploy of %s failed before building: %s", short(ev.PullRequest.HeadSHA), publicReason(err))}, err)
		}
	}
	head, ds, err := r.compile(ctx, cmp.Head, compileHead, prod)
	if err == nil && len(ds) > 0 {
		err = fmt.Errorf("the head does not compile: %s", ds[0])
	}
	if err != nil {
		return nil, p.deployed(ctx, ev, DeployNote{Action: "deploy", Failed: true, Message: fmt.Sprintf("❌ Deploy of %s failed before building: %s", short(ev.PullRequest.HeadSHA), publicReason(err))}, err)
	}
	base, ds, err := r.compile(ctx, cmp.Base, compileBase, prod)
	if err == nil && len(ds) > 0 {
		err = fmt.Errorf("the base does not compile: %s", ds[0])
	}
	if err != nil {
		return nil, p.deployed(ctx, ev, DeployNote{Action: "deploy", Failed: true, Message: fmt.Sprintf("❌ Deploy of %s failed before building: %s", short(ev.PullRequest.HeadSHA), publicReason(err))}, err)
	}
	if r.noBase && r.noHead {
		err := r.noProject()
		return nil, p.deployed(ctx, ev, DeployNote{Action: "deploy", Failed: true, Message: fmt.Sprintf("❌ Deploy of %s failed before building: %s", short(ev.PullRequest.HeadSHA), publicReason(err))}, err)
	}
	pl := plan.Diff(base, head)
	if r.noHead {
		// Deploys build; they never drop what production holds.
		return &build.Result{}, p.postDeploy(ctx, ev, "✅ Nothing to deploy: this pull request removes the project. Production is left as it is; drop its relations yourself if they are no longer wanted.", nil)
	}
	if !pl.Rebuild() {
		return &build.Result{}, p.postDeploy(ctx, ev, "✅ Nothing to deploy: no model changed.", nil)
	}
	// A modified incremental model's logic changed, so the rows it kept
	// were made by the old logic: rebuild it in full. Impacted ones only
	// read changed inputs and keep running incrementally (merged into a
	// copy, so the table as it was is kept; see build/keep.go).
	full := map[string]bool{}
	for _, c := range pl.Changes {
		if c.Status == plan.Modified || c.Status == plan.Added {
			full[c.ID] = true
		}
	}
	dep, err := build.StartDeploy(ctx, p.Warehouse, build.DeployInfo{Target: prod.Schema, Repo: ev.Repo, PR: ev.PullRequest.Number,
		HeadSHA: ev.PullRequest.HeadSHA, BaseSHA: cmp.Base})
	if err != nil {
		return nil, p.deployed(ctx, ev, DeployNote{Action: "deploy", Failed: true, Message: fmt.Sprintf("❌ Deploy of %s did not start, production is unchanged: %s", short(ev.PullRequest.HeadSHA), publicReason(err))}, err)
	}
	if dep.Resumed {
		r.log.Info("continuing the deploy of this head", "deploy", dep.ID, "swapped_before", len(dep.Relations))
	}
	set := mask.New(p.Config.Mask, base, head)
	res, err := build.Run(ctx, build.Options{Manifest: head, Warehouse: p.Warehouse, Selection: pl.Selection(head), Threads: p.Threads,
		FullRefreshOf: full, KeepPrevious: dep, Mask: &set})
	// Close the record even when the build could not start (it then lists
	// only what an earlier attempt swapped). If this process dies before
	// this point the record stays "running": deploying the same head again
	// continues it, and a rollback undoes what it lists.
	if ferr := dep.Finish(ctx); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if res == nil {
		return nil, p.deployed(ctx, ev, DeployNote{Action: "deploy", Deploy: dep, Failed: true, Message: fmt.Sprintf("❌ Deploy of %s could not start: %s", short(ev.PullRequest.HeadSHA), publicReason(err))}, err)
	}
	if err != nil {
		// The build ran; only reading back the record failed. What the
		// relations hold is in the warehouse's record all the same.
		r.log.Warn("finish the deploy record", "err", err)
	}
	c := res.Count()
	// A model that failed was not swapped in; a test that failed ran on
	// what was: those models are deployed, and a rollback undoes them.
	var failed, tests []string
	for _, n := range res.Nodes {
		switch {
		case !n.Status.Failed():
		case n.Kind == project.KindTest:
			tests = append(tests, fmt.Sprintf("- test `%s`: %s", n.Name, n.Message))
		default:
			failed = append(failed, fmt.Sprintf("- %s `%s`: %s", n.Kind, n.Name, n.Message))
		}
	}
	sha := short(ev.PullRequest.HeadSHA)
	var msg string
	switch {
	case len(failed)+len(tests) == 0:
		msg = fmt.Sprintf("✅ Deployed %s to production (`%s`): %d models and seeds built, %d tests passed.",
			sha, prod.Schema, c[build.StatusSuccess], c[build.StatusPass])
	case len(failed) > 0:
		msg = fmt.Sprintf("❌ Deploy of %s to production (`%s`) failed; the models that failed kept their previous version:\n\n%s",
			sha, prod.Schema, strings.Join(failed, "\n"))
		if deployed(dep) > 0 {
			msg += "\n\nThe other models were deployed."
		}
	default:
		msg = fmt.Sprintf("❌ Deployed %s to production (`%s`), but tests failed on it:\n\n%s",
			sha, prod.Schema, strings.Join(tests, "\n"))
		tests = nil
	}
	if len(tests) > 0 {
		msg += "\n\nTests that failed on what was deployed:\n\n" + strings.Join(tests, "\n")
	}
	msg += deploySummary(dep)
	return res, p.deployed(ctx, ev, DeployNote{Action: "deploy", Deploy: dep, Failed: len(failed)+len(tests) > 0, Message: msg}, nil)
}

func deployed(dep *build.Deploy) int {
	n := 0
	for _, s := range dep.Relations {
		if s.State == build.RelationDeployed {
			n++
		}
	}
	return n
}

// deploySummary says what the deploy replaced and created, and how to undo it.
func deploySummary(dep *build.Deploy) string {
	var b strings.Builder
	if len(dep.Released) > 0 {
		fmt.Fprintf(&b, "\n\nDropped the %d previous versions kept by the deploy before.", len(dep.Released))
	}
	if deployed(dep) == 0 {
		b.WriteString("\n\nNo relation in production changed.")
		return b.String()
	}
	replaced, created := 0, 0
	var rows []string
	for _, s := range dep.Relations {
		if s.State != build.RelationDeployed {
			continue
		}
		prev := "none: new"
		if s.Created() {
			created++
		} else {
			replaced++
			prev = mdCode(s.Relation.Schema + "." + s.Previous)
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s |", mdCode(s.Relation.Schema+"."+s.Relation.Name), s.Kind, prev))
	}
	var parts []string
	if replaced > 0 {
		parts = append(parts, deployCount(replaced, "relation")+" replaced (the previous versions are kept until the next deploy)")
	}
	if created > 0 {
		parts = append(parts, deployCount(created, "relation")+" created")
	}
	fmt.Fprintf(&b, "\n\n%s. `/dataops rollback` puts production back as it was before this deploy.", strings.Join(parts, ", "))
	b.WriteString("\n\n<details><summary>Relations</summary>\n\n| Relation | Kind | Previous version kept as |\n|---|---|---|\n")
	b.WriteString(strings.Join(rows, "\n"))
	b.WriteString("\n\n</details>")
	return b.String()
}

// Rollback puts production back as it was before the last deploy: every
// relation that deploy replaced gets its kept previous version back, and
// every relation it created is dropped, each in its own transaction. The
// result is posted on the pull request (and on the deployed one, when the
// command came from another), in the reply to commands. With no deploy to roll
// back it says so; that is not an error.
//
// A relation that cannot be restored keeps the deployed version and is
// listed; running Rollback again retries only what is left, and once all
// is done a further Rollback finds nothing to roll back. A deploy after a
// rollback starts afresh.
func (p *Pipeline) Rollback(ctx context.Context, ev Event) (*build.RollbackResult, error) {
	target := p.Config.Production.Schema
	log := p.logger().With("repo", ev.Repo, "pr", ev.PullRequest.Number, "delivery", ev.DeliveryID)
	res, err := build.Rollback(ctx, p.Warehouse, target)
	if res == nil {
		return nil, p.deployed(ctx, ev, DeployNote{Action: "rollback", Target: target, Failed: true, Message: fmt.Sprintf("❌ Rollback of production (`%s`) failed before restoring anything: %s", target, publicReason(err))}, err)
	}
	if res.Nothing != "" {
		return res, p.postDeploy(ctx, ev, fmt.Sprintf("ℹ️ Nothing to roll back: %s.", res.Nothing), nil)
	}
	msg := rollbackMessage(target, res)
	if err != nil {
		// Every relation was handled; only marking the deploy rolled back
		// failed, which running the rollback again does.
		msg += fmt.Sprintf("\n\n⚠️ The deploy record could not be marked rolled back (%s): run `/dataops rollback` again to finish.", publicReason(err))
	}
	log.Info("rollback", "deploy", res.Deploy.ID, "complete", !res.Failed(), "err", err)
	err = p.deployed(ctx, ev, DeployNote{Action: "rollback", Target: target, Rollback: res, Failed: res.Failed(), Message: msg}, err)
	if pr := res.Deploy.PR; pr != 0 && pr != ev.PullRequest.Number {
		other := ev
		other.PullRequest.Number = pr
		err = p.postDeploy(ctx, other, msg, err)
	}
	return res, err
}

func rollbackMessage(target string, res *build.RollbackResult) string {
	dep := res.Deploy
	what := fmt.Sprintf("the deploy of %s", short(dep.HeadSHA))
	if dep.PR != 0 {
		what += fmt.Sprintf(" (PR #%d)", dep.PR)
	}
	restored, removed := 0, 0
	var failed, rows []string
	for _, r := range res.Relations {
		rel := mdCode(r.Relation.Schema + "." + r.Relation.Name)
		switch r.Action {
		case "restored":
			restored++
			rows = append(rows, fmt.Sprintf("| %s | previous version restored |", rel))
		case "removed":
			removed++
			rows = append(rows, fmt.Sprintf("| %s | dropped: the deploy created it |", rel))
		default:
			failed = append(failed, fmt.Sprintf("- %s: %s", rel, r.Error))
			rows = append(rows, fmt.Sprintf("| %s | not restored: still the deployed version |", rel))
		}
	}
	var done []string
	if restored > 0 {
		done = append(done, deployCount(restored, "relation")+" restored to the previous version")
	}
	if removed > 0 {
		done = append(done, deployCount(removed, "relation")+" the deploy created dropped")
	}
	if len(done) == 0 && len(failed) == 0 {
		done = append(done, "the deploy had changed no relation")
	} else if len(done) == 0 {
		done = append(done, "nothing")
	}
	var b strings.Builder
	if len(failed) == 0 {
		fmt.Fprintf(&b, "↩️ Rolled back %s in production (`%s`): %s.", what, target, strings.Join(done, ", "))
	} else {
		fmt.Fprintf(&b, "⚠️ Rollback of %s in production (`%s`) is incomplete: %s could not be restored and still hold the deployed version:\n\n%s\n\n"+
			"Done: %s. Run `/dataops rollback` again to retry the rest.",
			what, target, deployCount(len(failed), "relation"), strings.Join(failed, "\n"), strings.Join(done, ", "))
	}
	if len(rows) > 0 {
		b.WriteString("\n\n<details><summary>Relations</summary>\n\n| Relation | Now |\n|---|---|\n")
		b.WriteString(strings.Join(rows, "\n"))
		b.WriteString("\n\n</details>")
	}
	return b.String()
}

// deployed tells the Recorder what a deploy or rollback did, then the pull
// request.
func (p *Pipeline) deployed(ctx context.Context, ev Event, note DeployNote, err error) error {
	if p.Recorder != nil {
		if note.Target == "" {
			note.Target = p.Config.Production.Schema
		}
		note.PR, note.HeadSHA = ev.PullRequest.Number, ev.PullRequest.HeadSHA
		p.Recorder.Deploy(ctx, note)
	}
	return p.postDeploy(ctx, ev, note.Message, err)
}

func (p *Pipeline) postDeploy(ctx context.Context, ev Event, msg string, err error) error {
	if perr := p.Host.UpsertComment(ctx, ev.PullRequest.Number, ReplyMarker, ReplyMarker+"\n"+msg+"\n"); perr != nil && err == nil {
		err = fmt.Errorf("post the deploy result: %w", perr)
	}
	return err
}

func deployCount(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// code renders s as inline code, with a fence longer than any run of
// backticks in it (a quoted identifier may hold some).
func mdCode(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
