package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRuns(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		const repo = "github:acme/shop"
		if _, err := s.Run(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Run of a missing id: %v, want ErrNotFound", err)
		}
		queued := []Stage{{Name: "dataops/compile", Status: "queued"}, {Name: "dataops/gate", Status: "queued"}}
		first := Run{ID: "r1", Repo: repo, PR: 7, Title: "card_amount", HeadSHA: "aaa", Trigger: "opened", Actor: "octocat", DeliveryID: "d1", Attempt: 1, Stages: queued}
		if err := s.StartRun(ctx, first); err != nil {
			t.Fatal(err)
		}
		got, err := s.Run(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != RunRunning || got.Title != "card_amount" || got.Actor != "octocat" || got.HasReport || !got.FinishedAt.IsZero() || !reflect.DeepEqual(got.Stages, queued) {
			t.Errorf("started run: %+v", got)
		}

		// Stages move on; the gate ends; the report is stored.
		start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		stages := []Stage{{Name: "dataops/compile", Status: "completed", Conclusion: "success", Title: "2 models", StartedAt: start, FinishedAt: start.Add(time.Second)},
			{Name: "dataops/gate", Status: "in_progress", StartedAt: start.Add(time.Second)}}
		if err := s.UpdateRun(ctx, "r1", stages, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Run(ctx, "r1"); !reflect.DeepEqual(got.Stages, stages) || got.Status != RunRunning {
			t.Errorf("stages after update: %+v", got.Stages)
		}
		if rep, err := s.RunReport(ctx, "r1"); err != nil || rep != nil {
			t.Errorf("report of a running run: %q %v", rep, err)
		}
		stages[1] = Stage{Name: "dataops/gate", Status: "completed", Conclusion: "failure", StartedAt: start.Add(time.Second), FinishedAt: start.Add(2 * time.Second)}
		if err := s.SaveRunReport(ctx, "r1", []byte(`{"doc":0}`)); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.RunReport(ctx, "r1"); err != nil || string(rep) != `{"doc":0}` {
			t.Errorf("report saved while running: %q %v", rep, err)
		}
		if err := s.FinishRun(ctx, "r1", RunCompleted, "failure", "", stages, []byte(`{"doc":1}`)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Run(ctx, "r1")
		if got.Status != RunCompleted || got.Gate != "failure" || !got.HasReport || got.FinishedAt.IsZero() {
			t.Errorf("finished run: %+v", got)
		}
		if rep, err := s.RunReport(ctx, "r1"); err != nil || string(rep) != `{"doc":1}` {
			t.Errorf("report: %q %v", rep, err)
		}

		// A review passes the gate: the latest run of that head says so.
		if err := s.GateChanged(ctx, repo, 7, "aaa", "success"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Run(ctx, "r1")
		if got.Gate != "success" || got.Stages[1].Conclusion != "success" {
			t.Errorf("after the review: gate %q, stages %+v", got.Gate, got.Stages)
		}
		if err := s.GateChanged(ctx, repo, 7, "unknown-head", "success"); err != nil {
			t.Errorf("a gate for a head without runs: %v", err)
		}

		// A run left running by a dead worker is marked interrupted when
		// the next run of its pull request starts.
		if err := s.StartRun(ctx, Run{ID: "r2", Repo: repo, PR: 7, HeadSHA: "bbb", Trigger: "push", StartedAt: time.Now().Add(time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if err := s.StartRun(ctx, Run{ID: "other", Repo: repo, PR: 8, HeadSHA: "ccc", Trigger: "opened"}); err != nil {
			t.Fatal(err)
		}
		if err := s.StartRun(ctx, Run{ID: "r3", Repo: repo, PR: 7, HeadSHA: "bbb", Trigger: "/dataops rerun", Actor: "maintainer", StartedAt: time.Now().Add(2 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"r1": RunCompleted, "r2": RunInterrupted, "r3": RunRunning, "other": RunRunning} {
			if got, _ := s.Run(ctx, id); got.Status != want {
				t.Errorf("run %s: %s, want %s", id, got.Status, want)
			}
		}
		if err := s.StartRun(ctx, Run{ID: "r3", Repo: repo, PR: 7}); err == nil {
			t.Error("a second run with the same id was accepted")
		}

		runs, err := s.PullRequestRuns(ctx, repo, 7, 10)
		if err != nil {
			t.Fatal(err)
		}
		if ids := runIDs(runs); !reflect.DeepEqual(ids, []string{"r3", "r2", "r1"}) {
			t.Errorf("runs of #7 newest first: %v", ids)
		}
		if runs, _ := s.PullRequestRuns(ctx, repo, 7, 1); len(runs) != 1 {
			t.Errorf("limit 1: %d runs", len(runs))
		}
		pulls, err := s.PullRequests(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		var summary []string
		for _, p := range pulls {
			summary = append(summary, fmt.Sprintf("#%d latest %s of %d", p.PR, p.Latest.ID, p.Runs))
		}
		if want := []string{"#7 latest r3 of 3", "#8 latest other of 1"}; !reflect.DeepEqual(summary, want) {
			t.Errorf("pull requests: %v, want %v", summary, want)
		}

		// Deploys and environments make repositories too.
		if err := s.TouchEnvironment(ctx, Environment{Repo: "gitlab:group/sub/proj", PR: 3, Name: "pr_3"}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordDeploy(ctx, DeployRecord{ID: "d1", Repo: "github:acme/other", Action: ActionDeploy, PR: 1, Actor: "octocat", Outcome: "succeeded"}); err != nil {
			t.Fatal(err)
		}
		repos, err := s.Repositories(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got2 := map[string]RepositorySummary{}
		for _, r := range repos {
			got2[r.Repo] = r
		}
		if len(repos) != 3 || got2[repo].PullRequests != 2 || got2["gitlab:group/sub/proj"].Environments != 1 || got2["github:acme/other"].LastActivity.IsZero() {
			t.Errorf("repositories: %+v", repos)
		}

		// Pruning keeps running runs and the newer ones.
		if err := s.SaveRunReport(ctx, "r3", []byte(`{"r3":1}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, "r3", RunFailed, "", strings.Repeat("é", 3000), nil, nil); err != nil {
			t.Fatal(err)
		}
		if rep, _ := s.RunReport(ctx, "r3"); string(rep) != `{"r3":1}` {
			t.Errorf("finishing without a report dropped the saved one: %q", rep)
		}
		if got, _ := s.Run(ctx, "r3"); got.Status != RunFailed || len(got.Error) > 4010 || !utf8.ValidString(got.Error) {
			t.Errorf("a long error kept as %d bytes (valid UTF-8: %v)", len(got.Error), utf8.ValidString(got.Error))
		}
		n, err := s.PruneRuns(ctx, time.Now().Add(time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("pruned %d runs (%v), want r1, r2 and r3 (other is running)", n, err)
		}
		if _, err := s.Run(ctx, "r1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("r1 after pruning: %v", err)
		}
		if _, err := s.RunReport(ctx, "r1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("r1's report after pruning: %v", err)
		}
		if got, err := s.Run(ctx, "other"); err != nil || got.Status != RunRunning {
			t.Errorf("the running run was pruned: %+v %v", got, err)
		}
	})
}

func runIDs(runs []Run) []string {
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestDeployLog(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		const repo = "github:acme/shop"
		old := time.Now().Add(-48 * time.Hour)
		records := []DeployRecord{
			{ID: "1:deploy", Repo: repo, Action: ActionDeploy, PR: 5, HeadSHA: "aaa", Target: "main", Actor: "octocat", Outcome: "succeeded", At: old,
				Relations: []DeployRelation{{Relation: "main.fct_orders", Kind: "table", Previous: "fct_orders__dataops_prev", State: "deployed"}}},
			{ID: "2:deploy", Repo: repo, Action: ActionDeploy, PR: 7, HeadSHA: "bbb", Target: "main", Actor: "octocat", Outcome: "running", At: old.Add(time.Hour)},
			{ID: "2:rollback", Repo: repo, Action: ActionRollback, PR: 7, HeadSHA: "bbb", Target: "main", Actor: "maintainer", Outcome: "succeeded", At: old.Add(2 * time.Hour),
				Relations: []DeployRelation{{Relation: "main.orders_per_month", State: "removed"}}},
		}
		for _, d := range records {
			if err := s.RecordDeploy(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		// The same deploy, resumed and finished, replaces its record.
		records[1].Outcome, records[1].Relations = "succeeded", []DeployRelation{{Relation: "main.orders_per_month", Kind: "table", State: "deployed"}}
		if err := s.RecordDeploy(ctx, records[1]); err != nil {
			t.Fatal(err)
		}
		got, err := s.Deploys(ctx, repo, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []DeployRecord{records[2], records[1], records[0]}
		for i := range want {
			want[i].At = time.UnixMilli(want[i].At.UnixMilli())
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("deploys:\n got %+v\nwant %+v", got, want)
		}
		// Pruning keeps the latest record of each repository, however old.
		if _, err := s.PruneRuns(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Deploys(ctx, repo, 10); len(got) != 1 || got[0].ID != "2:rollback" {
			t.Errorf("after pruning: %+v", got)
		}
	})
}

func TestQueueAsListed(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{MaxAttempts: 2, RetryBackoff: time.Hour})
		ctx := testContext(t)
		mustAccept(t, s, delivery("d1"), prJob("github:acme/shop", 1, "a1"))
		states := func() map[string]QueuedJob {
			jobs, err := s.Jobs(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]QueuedJob{}
			for _, j := range jobs {
				if j.Job.Body != nil {
					t.Errorf("the listing carries the payload of %s", j.ID)
				}
				out[j.Job.DeliveryID] = j
			}
			return out
		}
		if j := states()["d1"]; j.State != JobQueued || j.Attempt != 1 || j.Job.Repo != "github:acme/shop" || j.Job.PR != 1 {
			t.Errorf("new job: %+v", j)
		}
		r := mustReceive(t, s)
		if j := states()["d1"]; j.State != JobRunning || j.Attempt != 1 {
			t.Errorf("received job: %+v", j)
		}
		if err := s.Retry(ctx, r, errors.New("warehouse away")); err != nil {
			t.Fatal(err)
		}
		if j := states()["d1"]; j.State != JobRetrying || j.Attempt != 2 || j.LastError != "warehouse away" || !j.Due.After(time.Now()) {
			t.Errorf("failed once: %+v", j)
		}

		mustAccept(t, s, delivery("d2"), prJob("github:acme/shop", 2, "b1"))
		r2 := mustReceive(t, s)
		if err := s.Postpone(ctx, r2, time.Hour); err != nil {
			t.Fatal(err)
		}
		if j := states()["d2"]; j.State != JobPostponed {
			t.Errorf("postponed: %+v", j)
		}

		// A job on its last attempt fails into the dead letters; a writer
		// sends it back with a fresh budget.
		mustAccept(t, s, delivery("d3"), prJob("github:acme/shop", 3, "c1"))
		r3 := mustReceive(t, s)
		if err := s.Retry(ctx, r3, errors.New("first")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, s.rebind("update goqite set timeout = ? where queue = ?"), s.goqiteTime(time.Now().Add(-time.Second)), queueName); err != nil {
			t.Fatal(err)
		}
		var last *Received
		for range 3 {
			r := mustReceive(t, s)
			if r.Job.DeliveryID == "d3" {
				last = r
				break
			}
			if err := s.Postpone(ctx, r, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if last == nil || last.Attempt != 2 {
			t.Fatalf("d3's second attempt: %+v", last)
		}
		if err := s.Retry(ctx, last, errors.New("still broken")); err != nil {
			t.Fatal(err)
		}
		if _, ok := states()["d3"]; ok {
			t.Fatal("d3 is still queued after its last attempt")
		}
		dead, err := s.DeadLetters(ctx, 10)
		if err != nil || len(dead) != 1 {
			t.Fatalf("dead letters: %+v %v", dead, err)
		}
		dl, err := s.DeadLetter(ctx, dead[0].ID)
		if err != nil || dl.Job.PR != 3 || dl.LastError != "still broken" {
			t.Fatalf("dead letter: %+v %v", dl, err)
		}
		job, err := s.RetryDead(ctx, dl.ID)
		if err != nil || job.DeliveryID != "d3" {
			t.Fatalf("retry the dead letter: %+v %v", job, err)
		}
		if j := states()["d3"]; j.State != JobQueued || j.Attempt != 1 || j.LastError != "still broken" {
			t.Errorf("d3 back in the queue: %+v", j)
		}
		if _, err := s.RetryDead(ctx, dl.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("retrying it twice: %v, want ErrNotFound", err)
		}
		if _, err := s.DeadLetter(ctx, dl.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("dead letter after its retry: %v", err)
		}
		if dead, _ := s.DeadLetters(ctx, 10); len(dead) != 0 {
			t.Errorf("dead letters after the retry: %+v", dead)
		}
	})
}

func TestEnvironmentSize(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		if err := s.TouchEnvironment(ctx, Environment{Repo: "github:acme/shop", PR: 7, Name: "pr_7", TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		envs, _ := s.Environments(ctx)
		if len(envs) != 1 || envs[0].Rows != -1 || envs[0].Bytes != -1 || envs[0].HeadSHA != "" || envs[0].CreatedAt.IsZero() {
			t.Fatalf("new environment: %+v", envs)
		}
		created := envs[0].CreatedAt
		time.Sleep(5 * time.Millisecond)
		if err := s.TouchEnvironment(ctx, Environment{Repo: "github:acme/shop", PR: 7, Name: "pr_7", TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordEnvironmentSize(ctx, "github:acme/shop", 7, "abc", 1200, -1); err != nil {
			t.Fatal(err)
		}
		envs, _ = s.Environments(ctx)
		if e := envs[0]; e.Rows != 1200 || e.Bytes != -1 || e.HeadSHA != "abc" || !e.CreatedAt.Equal(created) || !e.UsedAt.After(created) {
			t.Errorf("used again and sized: %+v (created %v)", e, created)
		}
	})
}
