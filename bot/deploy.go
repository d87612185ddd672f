package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
)

// deployMarker finds the comment that reports a deploy.
const deployMarker = "<!-- dataops:deploy -->"

// Deploy builds a pull request's change in production: what the plan says
// it touches (state:modified+), each model swapped in atomically, tests
// included. It posts the result on the pull request.
func (p *Pipeline) Deploy(ctx context.Context, ev Event) (*build.Result, error) {
	engine := p.Warehouse.Dialect().Name()
	prod := project.Target{Name: "prod", Schema: p.Config.Production.Schema, Type: engine}
	r := &run{p: p, ev: ev, log: p.logger().With("repo", ev.Repo, "pr", ev.PullRequest.Number, "delivery", ev.DeliveryID)}
	head, ds, err := r.compile(ctx, ev.PullRequest.HeadSHA, prod)
	if err == nil && len(ds) > 0 {
		err = fmt.Errorf("the head does not compile: %s", ds[0])
	}
	if err != nil {
		return nil, p.postDeploy(ctx, ev, fmt.Sprintf("❌ Deploy of %s failed before building: %v", short(ev.PullRequest.HeadSHA), err), err)
	}
	base, ds, err := r.compile(ctx, ev.PullRequest.BaseSHA, prod)
	if err == nil && len(ds) > 0 {
		err = fmt.Errorf("the base does not compile: %s", ds[0])
	}
	if err != nil {
		return nil, p.postDeploy(ctx, ev, fmt.Sprintf("❌ Deploy of %s failed before building: %v", short(ev.PullRequest.HeadSHA), err), err)
	}
	pl := plan.Diff(base, head)
	if !pl.Rebuild() {
		return &build.Result{}, p.postDeploy(ctx, ev, "✅ Nothing to deploy: no model changed.", nil)
	}
	// A modified incremental model's logic changed, so the rows it kept
	// were made by the old logic: rebuild it in full. Impacted ones only
	// read changed inputs and keep running incrementally.
	full := map[string]bool{}
	for _, c := range pl.Changes {
		if c.Status == plan.Modified || c.Status == plan.Added {
			full[c.ID] = true
		}
	}
	res, err := build.Run(ctx, build.Options{Manifest: head, Warehouse: p.Warehouse, Selection: pl.Selection(head), Threads: p.Threads, FullRefreshOf: full})
	if err != nil {
		return nil, p.postDeploy(ctx, ev, fmt.Sprintf("❌ Deploy of %s could not start: %v", short(ev.PullRequest.HeadSHA), err), err)
	}
	c := res.Count()
	var failed []string
	for _, n := range res.Nodes {
		if n.Status.Failed() {
			failed = append(failed, fmt.Sprintf("- %s `%s`: %s", n.Kind, n.Name, n.Message))
		}
	}
	msg := fmt.Sprintf("✅ Deployed %s to production (`%s`): %d models and seeds built, %d tests passed.",
		short(ev.PullRequest.HeadSHA), prod.Schema, c[build.StatusSuccess], c[build.StatusPass])
	if len(failed) > 0 {
		msg = fmt.Sprintf("❌ Deploy of %s to production (`%s`) failed; the models that failed kept their previous version:\n\n%s",
			short(ev.PullRequest.HeadSHA), prod.Schema, strings.Join(failed, "\n"))
	}
	return res, p.postDeploy(ctx, ev, msg, nil)
}

func (p *Pipeline) postDeploy(ctx context.Context, ev Event, msg string, err error) error {
	if perr := p.Host.UpsertComment(ctx, ev.PullRequest.Number, deployMarker, deployMarker+"\n"+msg+"\n"); perr != nil && err == nil {
		err = fmt.Errorf("post the deploy result: %w", perr)
	}
	return err
}
