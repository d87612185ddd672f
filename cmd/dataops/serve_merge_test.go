package main

import (
	"context"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// relationsOf lists the relations of a schema through the bot's connection.
func relationsOf(t *testing.T, b *runningBot, schema string) string {
	t.Helper()
	w, err := b.srv.connect.Warehouse(context.Background(), "github", botRepo, config.PurposeChecks)
	if err != nil {
		t.Fatal(err)
	}
	return warehousetest.Tables(t, w, schema)
}

// TestServeOnlyThePullRequestsChange: main moved on after the pull request
// branched; the bot compares GitHub's test merge with main's tip, so only
// the pull request's change is planned, built and diffed. Without a test
// merge (a conflict) it compares the head with the merge base, says so,
// and still shows only the pull request's change.
func TestServeOnlyThePullRequestsChange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prEdits  projecttest.Edits
		conflict bool
	}{
		{name: "pull request changes Y"},
		{name: "pull request also changes X", prEdits: projecttest.AlsoEditsX},
		{name: "no test merge", conflict: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, dsn := warehousetest.DuckDBFile(t)
			f := newDivergedBotFixture(t, w, dsn, "", nil, projecttest.MainMovesOn, tc.prEdits)
			if tc.conflict {
				pr := f.pull("octocat")
				pr.MergeCommitSHA, pr.Conflict = "", true
				f.gh.AddPullRequest(botRepo, pr)
			}
			b := f.start(t)
			f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
			report := f.report(t)
			projecttest.CheckOnlyItsChange(t, report, relationsOf(t, b, "pr_7"), tc.prEdits != nil)
			headline := "merged into `main` (merge " + f.mergeSHA[:7] + ") compared with `main` at " + f.mainSHA[:7]
			if tc.conflict {
				headline = f.headSHA[:7] + " compared with its merge base " + f.baseSHA[:7] + " with `main` (no merge to compare: the pull request conflicts with main)"
				if !strings.Contains(report, "(against the merge base)") {
					t.Errorf("the headline does not say it compared with the merge base:\n%s", report)
				}
			}
			if !strings.Contains(report, headline) {
				t.Errorf("the headline does not name the commits %q:\n%s", headline, report)
			}
		})
	}
}
