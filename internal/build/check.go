package build

import (
	"context"
	"fmt"

	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// SampleRows is how many failing rows a test reports.
const SampleRows = 5

// runTest counts a test's failing rows and keeps a few of them.
func (b *builder) runTest(ctx context.Context, n *project.Node, res *NodeResult) {
	sql, lineMap := b.m.SQLFor(n, false, b.resolve)
	rows, err := b.w.Query(ctx, "select count(*) from (\n"+sql+"\n) dbt_internal_test")
	if err != nil {
		b.fail(n, res, err, sql, lineMap)
		return
	}
	if len(rows.Values) > 0 {
		res.Failures = toInt64(rows.Values[0][0])
	}
	if res.Failures == 0 {
		res.Status = StatusPass
		return
	}
	res.Status = StatusFail
	if n.Config.Severity == "warn" {
		res.Status = StatusWarn
	}
	res.Message = fmt.Sprintf("%d failing rows", res.Failures)
	sample, err := b.w.QueryLimit(ctx, SampleRows, "select * from (\n"+sql+"\n) dbt_internal_test")
	if err == nil {
		maskRows(sample, b.opts.Mask.Test(n, b.m))
		res.Sample = sample
	}
	if n.Test != nil && n.Path != "" {
		res.Failure = &Failure{Path: n.Path, Line: n.Line,
			Message: fmt.Sprintf("%s test on %s.%s: %d failing rows", n.Test.Name, n.Test.Model, n.Test.Column, res.Failures)}
	} else {
		res.Failure = &Failure{Path: n.Path, Line: 1, Message: res.Message}
	}
}

// dryRun asks the engine for a model's output columns and plan without
// building it; models it selects are inlined, so a whole chain of changed
// models checks out before any is built.
func (b *builder) dryRun(ctx context.Context, n *project.Node, res *NodeResult) {
	if n.Kind == project.KindSeed {
		b.dryRunSeed(ctx, n, res)
		return
	}
	if n.Config.Materialized == "ephemeral" {
		res.Status = StatusSuccess
		res.Message = "ephemeral: checked inside the models that use it"
		return
	}
	sql, lineMap := b.m.SQLFor(n, false, b.resolve)
	sql, bad := b.withSeeds(sql)
	if bad != nil {
		// Read through a model outside the run, so not waited for.
		res.Status = StatusSkipped
		res.Message = fmt.Sprintf("skipped: upstream seed %s failed", bad.Name)
		return
	}
	cols, err := b.w.OutputColumns(ctx, sql)
	if err != nil {
		b.fail(n, res, err, sql, lineMap)
		return
	}
	plan, err := b.w.Explain(ctx, sql)
	if err != nil {
		b.fail(n, res, err, sql, lineMap)
		return
	}
	res.Status = StatusSuccess
	res.Columns = cols
	res.Plan = plan
}

// dryRunSeed checks a seed's CSV, and the types it gives, with the engine,
// and lists the columns loading it would give, without loading it.
func (b *builder) dryRunSeed(ctx context.Context, n *project.Node, res *NodeResult) {
	s := b.seed(n.UniqueID)
	if s.err != nil {
		b.fail(n, res, s.err, "", nil)
		return
	}
	cols, err := b.w.OutputColumns(ctx, s.query)
	if err != nil {
		// Inferred types are the engine's own; only a declared one fails.
		b.fail(n, res, err, "", nil)
		res.Failure.Message += " (check the seed's +column_types)"
		res.Message = res.Failure.String()
		return
	}
	res.Status = StatusSuccess
	res.Message = "seed: read from its file, not loaded, in a dry run"
	res.Columns = cols
}

// maskRows masks the values of sensitive columns, in place, before the
// rows go anywhere.
func maskRows(rows *warehouse.Rows, c mask.Columns) {
	for _, row := range rows.Values {
		for i, v := range row {
			col := ""
			if i < len(rows.Columns) {
				col = rows.Columns[i]
			}
			row[i] = c.Value(col, v)
		}
	}
}
