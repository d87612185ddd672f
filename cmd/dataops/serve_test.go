package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

var botEngines = []struct {
	name string
	open func(t *testing.T) (warehouse.Warehouse, string)
}{
	{"duckdb", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.DuckDBFile(t) }},
	{"postgres", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.PostgresDatabase(t) }},
}

// servedWarehouse is the bot's own connection to the warehouse of the
// first repository it serves (a DuckDB file opens once per process).
func servedWarehouse(t *testing.T, b *runningBot) warehouse.Warehouse {
	t.Helper()
	served := b.srv.cfg.Allow[0]
	w, err := b.srv.connect.Warehouse(context.Background(), served.Host, served.Path, config.PurposeChecks)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// schemaExists asks the bot's own connection to the warehouse.
func schemaExists(t *testing.T, b *runningBot, schema string) bool {
	t.Helper()
	w := servedWarehouse(t, b)
	rows, err := w.Query(context.Background(), "select count(*) from information_schema.schemata where schema_name = "+w.Dialect().Placeholder(1), schema)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(rows.Values[0][0]) != "0"
}

// columnsOf lists a relation's columns through the bot's connection.
func columnsOf(t *testing.T, b *runningBot, schema, name string) string {
	t.Helper()
	w, _ := b.srv.connect.Warehouse(context.Background(), "github", botRepo, config.PurposeChecks)
	cols, err := w.Columns(context.Background(), warehouse.Relation{Schema: schema, Name: name})
	if err != nil {
		return "error: " + err.Error()
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

// TestServeEndToEnd drives the real server on 127.0.0.1 with signed
// fixture payloads: a pull request's checks, a reader's and a writer's
// commands, deploy and rollback, and the close that drops the environment.
func TestServeEndToEnd(t *testing.T) {
	for _, e := range botEngines {
		t.Run(e.name, func(t *testing.T) {
			w, dsn := e.open(t)
			f := newBotFixture(t, w, dsn, "")
			b := f.start(t)

			status, body := f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
			if status != http.StatusAccepted || !strings.Contains(body, "queued") {
				t.Fatalf("opened: %d %s", status, body)
			}
			waitFor(t, "the gate on the head", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
			got := f.checks(f.headSHA)
			for _, name := range []string{"dataops/compile", "dataops/dry-run", "dataops/build", "dataops/diff", "dataops/gate"} {
				if !strings.HasPrefix(got[name], "completed/") {
					t.Errorf("%s: %q", name, got[name])
				}
			}
			if got["dataops/gate"] != "completed/failure" {
				// The rename of credit_card_amount is breaking, which the
				// default diff rules allow; the build and tests pass.
				t.Logf("checks: %v", got)
			}
			waitFor(t, "the report comment", func() bool { return len(f.commentsWith("<!-- dataops:report -->")) == 1 })
			if !schemaExists(t, b, "pr_7") {
				t.Errorf("environment pr_7 not created")
			}
			if cols := columnsOf(t, b, "pr_7", "fct_orders"); !hasColumn(cols, "card_amount") {
				t.Errorf("pr_7.fct_orders columns %s", cols)
			}

			// A reader's command is refused, politely, with 😕.
			_, _ = f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops rerun"))
			waitFor(t, "the refusal", func() bool {
				r := f.commentsWith(bot.ReplyMarker)
				return len(r) == 1 && strings.Contains(r[0].Body, "needs write access")
			})
			// A typo gets the help.
			_, _ = f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops deplyo"))
			waitFor(t, "the help", func() bool {
				r := f.commentsWith(bot.ReplyMarker)
				return len(r) == 1 && strings.Contains(r[0].Body, "`deplyo` is not a dataops command")
			})

			// A reader may ask for the plan: it reads only the code.
			_, _ = f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops plan"))
			waitFor(t, "the plan", func() bool {
				r := f.commentsWith(bot.ReplyMarker)
				return len(r) == 1 && strings.Contains(r[0].Body, "**Plan** for") && strings.Contains(r[0].Body, "- modified `fct_orders` (model): sql") &&
					strings.Contains(r[0].Body, "- added `orders_per_month` (model)")
			})

			// A writer deploys: the gate passed, so production gets the change.
			if g := f.gate(f.headSHA); g != "completed/success" {
				t.Fatalf("gate %s: the deploy below needs it to pass; checks %v", g, f.checks(f.headSHA))
			}
			if cols := columnsOf(t, b, "main", "fct_orders"); hasColumn(cols, "card_amount") {
				t.Fatalf("production changed before the deploy: %s", cols)
			}
			_, _ = f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops deploy"))
			waitFor(t, "the deploy", func() bool { return hasColumn(columnsOf(t, b, "main", "fct_orders"), "card_amount") })
			waitFor(t, "the deploy comment", func() bool {
				d := f.commentsWith(bot.ReplyMarker)
				return len(d) == 1 && strings.Contains(d[0].Body, "Deployed")
			})
			deployComment := lastComment(f, "/dataops deploy")
			waitFor(t, "🚀 on the deploy command", func() bool { return hasReaction(f, deployComment, "rocket") })

			// Rollback restores the previous version.
			_, _ = f.send(t, b, "issue_comment", f.comment(t, "maintainer", "/dataops rollback"))
			waitFor(t, "the rollback", func() bool { return hasColumn(columnsOf(t, b, "main", "fct_orders"), "credit_card_amount") })

			// Closing drops the environment.
			_, _ = f.send(t, b, "pull_request", f.payload(t, "pull_request.closed.json", nil))
			waitFor(t, "the environment dropped", func() bool { return !schemaExists(t, b, "pr_7") })
			if n := len(f.commentsWith("<!-- dataops:report -->")); n != 1 {
				t.Errorf("%d report comments at the end, want 1", n)
			}
		})
	}
}

func hasColumn(cols, name string) bool { return strings.Contains(","+cols+",", ","+name+",") }

func lastComment(f *botFixture, body string) int64 {
	var id int64
	for _, c := range f.gh.Comments(botRepo, 7) {
		if c.Body == body {
			id = c.ID
		}
	}
	return id
}

func hasReaction(f *botFixture, id int64, content string) bool {
	for _, c := range f.gh.Comments(botRepo, 7) {
		if c.ID == id {
			for _, r := range c.Reactions {
				if strings.HasSuffix(r, ":"+content) {
					return true
				}
			}
		}
	}
	return false
}

// TestServeRefusesBadDeliveries: forged, unsigned, oversized and malformed
// deliveries are refused with nothing queued; redeliveries are not queued
// again; unknown events are acknowledged and ignored.
func TestServeRefusesBadDeliveries(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.cfg.MaxBodyBytes = 64 << 10
	f.cfg.Workers = 1
	b := f.start(t)
	opened := f.payload(t, "pull_request.opened.json", nil)
	big := append([]byte(`{"pad":"`), append([]byte(strings.Repeat("x", 70<<10)), []byte(`"}`)...)...)
	for _, c := range []struct {
		name, event, id, signature string
		body                       []byte
		status                     int
		says                       string
	}{
		{"forged", "pull_request", "d-forged", sign("not-the-secret", opened), opened, 401, "does not match"},
		{"unsigned", "pull_request", "d-unsigned", "", opened, 401, "no X-Hub-Signature-256"},
		{"oversized", "pull_request", "d-big", sign(botSecret, big), big, 400, "larger than"},
		{"malformed", "pull_request", "d-bad", sign(botSecret, []byte("{not json")), []byte("{not json"), 400, "refused"},
		{"no delivery id", "pull_request", "", sign(botSecret, opened), opened, 400, "X-GitHub-Delivery"},
		{"unknown event", "star", "d-star", sign(botSecret, []byte(`{"action":"created"}`)), []byte(`{"action":"created"}`), 202, "ignored"},
		{"ping", "ping", "d-ping", sign(botSecret, []byte(`{"zen":"hi"}`)), []byte(`{"zen":"hi"}`), 200, "pong"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.sendAs(t, b, c.event, c.id, c.signature, c.body)
			if status != c.status || !strings.Contains(body, c.says) {
				t.Errorf("got %d %s, want %d with %q", status, body, c.status, c.says)
			}
		})
	}
	st, err := b.srv.store.Stats(context.Background())
	if err != nil || st.Queued+st.Running+st.Delayed != 0 {
		t.Errorf("queue after refused deliveries: %+v %v", st, err)
	}

	// A delivery and its redelivery: one job.
	if status, body := f.sendAs(t, b, "pull_request", "d-1", sign(botSecret, opened), opened); status != 202 {
		t.Fatalf("first: %d %s", status, body)
	}
	if status, body := f.sendAs(t, b, "pull_request", "d-1", sign(botSecret, opened), opened); status != 200 || !strings.Contains(body, "duplicate") {
		t.Fatalf("redelivery: %d %s", status, body)
	}
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })

	// The metrics count each outcome, the job's once it is done.
	scrape := func() string {
		resp, err := http.Get(b.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return string(data)
	}
	var data string
	waitFor(t, "the job counted", func() bool {
		data = scrape()
		return strings.Contains(data, `dataops_job_duration_seconds_count{kind="github",result="done"}`)
	})
	for _, want := range []string{
		`dataops_webhook_deliveries_total{event="unverified",host="github",outcome="unauthorized"} 2`,
		`dataops_webhook_deliveries_total{event="pull_request",host="github",outcome="duplicate"} 1`,
		`dataops_webhook_deliveries_total{event="pull_request",host="github",outcome="queued"} 1`,
		`dataops_webhook_deliveries_total{event="star",host="github",outcome="ignored"} 1`,
		`dataops_queue_jobs{state="queued"}`,
		`dataops_stage_duration_seconds_count{conclusion="success",stage="dataops/compile"} 1`,
		`dataops_api_calls_total{code="200",host="github"}`,
		`dataops_job_duration_seconds_count{kind="github",result="done"} 1`,
	} {
		if !strings.Contains(data, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(b.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
}

// TestServeRefusesToStartWithoutSecret: no secret, no server.
func TestServeRefusesToStartWithoutSecret(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	delete(f.env, "TEST_WEBHOOK_SECRET")
	_, err := newServer(context.Background(), f.cfg, func(k string) string { return f.env[k] }, nil)
	if err == nil || !strings.Contains(err.Error(), "TEST_WEBHOOK_SECRET is not set") {
		t.Fatalf("err = %v", err)
	}
	f.env["TEST_WEBHOOK_SECRET"] = botSecret
	f.env["TEST_APP_KEY"] = "not a key"
	if _, err := newServer(context.Background(), f.cfg, func(k string) string { return f.env[k] }, nil); err == nil || !strings.Contains(err.Error(), "not a PEM-encoded RSA key") {
		t.Fatalf("bad key: err = %v", err)
	}
}

// TestServeForkWaitsForWriter: a fork's pull request runs nothing in the
// warehouse until someone with write access comments /dataops rerun.
func TestServeForkWaitsForWriter(t *testing.T) {
	w, dsn := warehousetest.PostgresDatabase(t)
	f := newBotFixture(t, w, dsn, "")
	fork := f.pull("stranger")
	fork.HeadRepo = "stranger/shop"
	f.gh.AddPullRequest(botRepo, fork)
	b := f.start(t)
	fromFork := func(p map[string]any) {
		head := p["pull_request"].(map[string]any)["head"].(map[string]any)
		head["repo"].(map[string]any)["full_name"] = "stranger/shop"
	}
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", fromFork))
	waitFor(t, "the fork's gate", func() bool { return f.gate(f.headSHA) == "completed/failure" })
	if got := f.checks(f.headSHA)["dataops/build"]; got != "completed/skipped" {
		t.Errorf("build on a fork: %s", got)
	}
	waitFor(t, "the explanation", func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "comes from a fork")
	})
	if schemaExists(t, b, "pr_7") {
		t.Fatal("a fork's pull request made an environment")
	}

	f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops rerun"))
	waitFor(t, "the reader's refusal", func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "needs write access")
	})
	if schemaExists(t, b, "pr_7") {
		t.Fatal("a reader's rerun made an environment")
	}

	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops rerun"))
	waitFor(t, "the writer's rerun", func() bool { return f.checks(f.headSHA)["dataops/build"] == "completed/success" })
	if !schemaExists(t, b, "pr_7") {
		t.Error("no environment after a writer's rerun")
	}
}

// TestServeGateWaitsForApprovals: with gate.approvals, the gate fails
// until a member of the named team approves, and is evaluated again on
// the review; a deploy before that is refused.
func TestServeGateWaitsForApprovals(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "gate:\n  approvals: 1\n  teams: [acme/data]\n")
	f.gh.SetTeamMembers("acme", "data", "maintainer")
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return f.gate(f.headSHA) == "completed/failure" })
	waitFor(t, "the report", func() bool { return len(f.commentsWith("<!-- dataops:report -->")) == 1 })

	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops deploy"))
	waitFor(t, "the deploy refused", func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "gate does not pass") && strings.Contains(r[0].Body, "0 of 1 approval from members of acme/data")
	})

	review := func(user string) []byte {
		return f.payload(t, "pull_request.opened.json", func(p map[string]any) {
			p["action"] = "submitted"
			p["review"] = map[string]any{"id": 1, "state": "approved", "user": map[string]any{"login": user, "id": 1, "type": "User"},
				"body": "", "commit_id": f.headSHA, "submitted_at": "2026-11-21T10:00:00Z", "html_url": "https://github.com/acme/shop/pull/7#review",
				"pull_request_url": "https://api.github.com/repos/acme/shop/pulls/7", "author_association": "MEMBER", "node_id": "R_1",
				"_links": map[string]any{"html": map[string]any{"href": "x"}, "pull_request": map[string]any{"href": "y"}}}
		})
	}
	// An approval from outside the team does not count.
	f.gh.AddReview(botRepo, 7, "visitor", "APPROVED")
	f.send(t, b, "pull_request_review", review("visitor"))
	f.gh.AddReview(botRepo, 7, "maintainer", "APPROVED")
	f.send(t, b, "pull_request_review", review("maintainer"))
	waitFor(t, "the gate after the approval", func() bool { return f.gate(f.headSHA) == "completed/success" })
	for _, run := range f.gh.CheckRuns(botRepo) {
		if run.Name == "dataops/gate" && run.HeadSHA == f.headSHA && !strings.Contains(run.Summary, "by maintainer") {
			t.Errorf("gate summary %q", run.Summary)
		}
	}
}

// TestServeSupersedesOlderHead: a push while the checks of the previous
// head are queued or running ends those as cancelled, and the new head is
// checked in the same environment.
func TestServeSupersedesOlderHead(t *testing.T) {
	newHead := "select cast(date_trunc('month', ordered_at) as date) as month, count(*) as order_count\nfrom {{ ref('fct_orders') }}\ngroup by 1\n"
	check := func(t *testing.T, f *botFixture, b *runningBot, first, second string) {
		t.Helper()
		waitFor(t, "the new head's gate", func() bool { return strings.HasPrefix(f.gate(second), "completed/") })
		waitFor(t, "the old head's checks cancelled", func() bool { return f.gate(first) == "completed/cancelled" })
		if g := f.gate(second); g != "completed/success" {
			t.Errorf("new head's gate %s: %v", g, f.checks(second))
		}
		for name, state := range f.checks(first) {
			if state != "completed/cancelled" {
				t.Errorf("old head's %s: %s", name, state)
			}
		}
		if cols := columnsOf(t, b, "pr_7", "orders_per_month"); !hasColumn(cols, "order_count") {
			t.Errorf("the environment holds %s, not the new head's model", cols)
		}
	}

	t.Run("queued", func(t *testing.T) {
		w, dsn := warehousetest.DuckDBFile(t)
		f := newBotFixture(t, w, dsn, "")
		b := f.start(t)
		// Another worker holds the pull request, so the first job waits.
		ctx := context.Background()
		key := "pr:" + bot.RepoKey("github", botRepo) + "#7"
		if ok, err := b.srv.store.Lock(ctx, key, "other-worker", time.Minute); !ok || err != nil {
			t.Fatalf("lock: %v %v", ok, err)
		}
		first := f.headSHA
		f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
		second := f.push(t, "models/marts/orders_per_month.sql", newHead)
		f.send(t, b, "pull_request", f.payload(t, "pull_request.synchronize.json", nil))
		if err := b.srv.store.Unlock(ctx, key, "other-worker"); err != nil {
			t.Fatal(err)
		}
		check(t, f, b, first, second)
	})

	t.Run("running", func(t *testing.T) {
		w, dsn := warehousetest.DuckDBFile(t)
		f := newBotFixture(t, w, dsn, "")
		first, firstMerge := f.headSHA, f.mergeSHA
		// The first head's sources (its test merge's) hang until the run
		// is cancelled.
		proxy := newHoldingProxy(t, f.gh, func(r *http.Request, _ []byte) bool {
			return strings.Contains(r.URL.Path, "/tarball/"+firstMerge)
		}, false)
		f.cfg.GitHub.APIURL = proxy.URL + "/"
		b := f.start(t)
		f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
		<-proxy.held
		second := f.push(t, "models/marts/orders_per_month.sql", newHead)
		f.send(t, b, "pull_request", f.payload(t, "pull_request.synchronize.json", nil))
		check(t, f, b, first, second)
	})
}

// TestServeDeployWaitsForRunningDeploy: a deploy while another of the
// same repository runs is queued behind it, and the pull request is told.
func TestServeDeployWaitsForRunningDeploy(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return f.gate(f.headSHA) == "completed/success" })

	// Another replica's deploy holds the repository's lock.
	ctx := context.Background()
	key := "deploy:" + bot.RepoKey("github", botRepo)
	if ok, err := b.srv.store.Lock(ctx, key, "other-replica", time.Minute); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops deploy"))
	waitFor(t, "the pull request told", func() bool {
		d := f.commentsWith(bot.ReplyMarker)
		return len(d) == 1 && strings.Contains(d[0].Body, "Another deploy of this repository is running")
	})
	if hasColumn(columnsOf(t, b, "main", "fct_orders"), "card_amount") {
		t.Fatal("deployed while another deploy held the lock")
	}
	if err := b.srv.store.Unlock(ctx, key, "other-replica"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deploy after the other", func() bool { return hasColumn(columnsOf(t, b, "main", "fct_orders"), "card_amount") })
	waitFor(t, "the deploy comment", func() bool {
		d := f.commentsWith(bot.ReplyMarker)
		return len(d) == 1 && strings.Contains(d[0].Body, "Deployed")
	})
}

// TestServeSweep: the sweep drops the environment of a pull request
// closed while the bot missed the event, and one past its TTL.
func TestServeSweep(t *testing.T) {
	w, dsn := warehousetest.PostgresDatabase(t)
	f := newBotFixture(t, w, dsn, "environments:\n  ttl: 2h\n")
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
	waitFor(t, "the environment recorded", func() bool {
		envs, _ := b.srv.store.Environments(context.Background())
		return len(envs) == 1
	})
	now := time.Now()
	sweeper := &bot.Sweeper{Store: b.srv.store, Connections: b.srv.connect, Owner: "test", Now: func() time.Time { return now }}
	dropped, err := sweeper.Sweep(context.Background())
	if err != nil || len(dropped) != 0 || !schemaExists(t, b, "pr_7") {
		t.Fatalf("an open, recent pull request's environment was swept: %v %v", dropped, err)
	}
	// Past the TTL.
	now = now.Add(3 * time.Hour)
	if dropped, err := sweeper.Sweep(context.Background()); err != nil || len(dropped) != 1 || schemaExists(t, b, "pr_7") {
		t.Fatalf("expired environment not swept: %v %v", dropped, err)
	}

	// Closed while the bot was away: the next run recreates it, then the
	// pull request closes without a delivery.
	now = time.Now()
	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops rerun"))
	waitFor(t, "the environment again", func() bool {
		envs, _ := b.srv.store.Environments(context.Background())
		return len(envs) == 1 && schemaExists(t, b, "pr_7")
	})
	closed := f.pull("octocat")
	closed.State = "closed"
	f.gh.AddPullRequest(botRepo, closed)
	if dropped, err := sweeper.Sweep(context.Background()); err != nil || len(dropped) != 1 || schemaExists(t, b, "pr_7") {
		t.Fatalf("closed pull request's environment not swept: %v %v", dropped, err)
	}

	// Runs are kept for keep_runs (90 days by default), then forgotten.
	runs := func() int {
		r, err := b.srv.store.PullRequestRuns(context.Background(), "github:"+botRepo, 7, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(r)
	}
	waitFor(t, "both runs finished", func() bool {
		r, _ := b.srv.store.PullRequestRuns(context.Background(), "github:"+botRepo, 7, 10)
		return len(r) == 2 && r[0].Status != "running" && r[1].Status != "running"
	})
	now = time.Now().Add(89 * 24 * time.Hour)
	if _, err := sweeper.Sweep(context.Background()); err != nil || runs() != 2 {
		t.Fatalf("runs younger than keep_runs were pruned: %d left, %v", runs(), err)
	}
	now = time.Now().Add(91 * 24 * time.Hour)
	if _, err := sweeper.Sweep(context.Background()); err != nil || runs() != 0 {
		t.Fatalf("runs older than keep_runs were kept: %d left, %v", runs(), err)
	}
}

// TestServeUnreachableWarehouse: the pull request is told, without the
// DSN's password, and the job is retried; after its last attempt it is
// dead-lettered and the pull request is told that too.
func TestServeUnreachableWarehouse(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.env["DATAOPS_WAREHOUSE_DSN"] = fmt.Sprintf("postgres://dataops:s3cret-pw@127.0.0.1:%d/analytics?connect_timeout=2", envClosedPort(t))
	f.cfg.MaxAttempts = 2
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the warning", func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "could not reach the warehouse")
	})
	if body := f.commentsWith(bot.ReplyMarker)[0].Body; strings.Contains(body, "s3cret-pw") {
		t.Errorf("the password reached the comment: %s", body)
	}
	waitFor(t, "the last attempt", func() bool { return len(b.logs.Lines("dead-lettered")) == 1 })
	waitFor(t, "the pull request told", func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "gave up on this pull_request event after 2 attempts")
	})
	waitFor(t, "the dead letter", func() bool {
		st, err := b.srv.store.Stats(context.Background())
		return err == nil && st.Dead == 1 && st.Running == 0
	})
	if strings.Contains(b.logs.String(), "s3cret-pw") {
		t.Error("the password reached the log")
	}
}

// TestServeMasksPasswordsWithSpecialCharacters: a DSN whose password
// holds #, ? or @ raw (as people paste them) is masked whole wherever the
// bot shows it: the pull request's comment and the log.
func TestServeMasksPasswordsWithSpecialCharacters(t *testing.T) {
	for name, password := range map[string]string{"hash": "hunter#two2", "question mark": "hunter?two2", "at, slash and hash": "hunt@r/two2#x"} {
		t.Run(name, func(t *testing.T) {
			w, dsn := warehousetest.DuckDBFile(t)
			f := newBotFixture(t, w, dsn, "")
			f.env["DATAOPS_WAREHOUSE_DSN"] = fmt.Sprintf("postgres://dataops:%s@127.0.0.1:%d/analytics?connect_timeout=2", password, envClosedPort(t))
			b := f.start(t)
			// A writer's command opens the warehouse (a stranger's no longer
			// does).
			f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops rerun"))
			waitFor(t, "the warning", func() bool {
				r := f.commentsWith(bot.ReplyMarker)
				return len(r) == 1 && strings.Contains(r[0].Body, "could not reach the warehouse")
			})
			waitFor(t, "the failure logged", func() bool { return len(b.logs.Lines("will be retried")) > 0 })
			said := f.commentsWith(bot.ReplyMarker)[0].Body + b.logs.String()
			for _, part := range []string{"hunter", "two2"} {
				if strings.Contains(said, part) {
					t.Errorf("%q of the password reached the comment or the log:\n%s", part, said)
				}
			}
		})
	}
}

// TestServeRefusesOversizedSources: a pull request whose archive holds a
// seed larger than dataops reads of one file fails its checks with that
// reason, and the bot goes on serving.
func TestServeRefusesOversizedSources(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.push(t, "seeds/raw_events.csv", "id,kind\n"+strings.Repeat("1,click\n", 17<<20/8))
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
	if got := f.checks(f.headSHA); got["dataops/compile"] != "completed/failure" || got["dataops/gate"] != "completed/failure" {
		t.Errorf("checks %v, want compile and gate failed", got)
	}
	if said := checksSaid(f, f.headSHA); !strings.Contains(said, "seeds/raw_events.csv is 17.0 MiB, more than the 16 MiB dataops reads of one file") {
		t.Errorf("the checks do not say which file is too large:\n%s", said)
	}
	askHelp(t, f, b, "the help after the refusal")
}

// TestServeModelsCannotReadTheBotsSecrets: env_var() in a pull request's
// model sees only DBT_ variables in the bot, whose own environment holds
// its secrets.
func TestServeModelsCannotReadTheBotsSecrets(t *testing.T) {
	t.Setenv("TEST_BOT_SECRET", "hunter2")
	t.Setenv("DBT_ENV_SECRET_TOKEN", "hunter3")
	t.Setenv("DBT_TARGET_REGION", "eu")
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.push(t, "models/marts/env_probe.sql", "select '{{ env_var(\"TEST_BOT_SECRET\", \"hidden\") }}' as secret,\n"+
		"  '{{ env_var(\"DBT_ENV_SECRET_TOKEN\", \"hidden\") }}' as dbt_secret,\n  '{{ env_var(\"DBT_TARGET_REGION\", \"none\") }}' as region\n")
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
	wh, _ := b.srv.connect.Warehouse(context.Background(), "github", botRepo, config.PurposeChecks)
	rows, err := wh.Query(context.Background(), `select secret, dbt_secret, region from "pr_7"."env_probe"`)
	if err != nil {
		t.Fatalf("%v (checks %v)", err, f.checks(f.headSHA))
	}
	if got := fmt.Sprint(rows.Values[0]); got != "[hidden hidden eu]" {
		t.Errorf("env_probe = %s, want [hidden hidden eu]", got)
	}
}

// TestServeModelsCannotReadFiles: in the bot, a DuckDB warehouse is opened
// without file access, so a model cannot read the bot's files.
func TestServeModelsCannotReadFiles(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.push(t, "models/marts/file_probe.sql", "select content from read_text('/proc/self/environ')\n")
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
	if got := f.checks(f.headSHA); got["dataops/dry-run"] != "completed/failure" && got["dataops/build"] != "completed/failure" {
		t.Errorf("a model read a file: checks %v", got)
	}
	var said []string
	for _, run := range f.gh.CheckRuns(botRepo) {
		for _, a := range run.Annotations {
			if a.Path == "models/marts/file_probe.sql" {
				said = append(said, a.Message)
			}
		}
	}
	if !strings.Contains(strings.Join(said, "\n"), "disabled by configuration") {
		t.Errorf("the annotations on file_probe.sql do not say file access is disabled: %q", said)
	}
}

// askHelp comments /dataops help and waits for its answer: the bot still
// serves, and its worker is free.
func askHelp(t *testing.T, f *botFixture, b *runningBot, what string) {
	t.Helper()
	f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops help"))
	waitFor(t, what, func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "Comment one of these")
	})
}

// checksSaid is everything the checks on sha said: titles, summaries and
// annotations.
func checksSaid(f *botFixture, sha string) string {
	var b strings.Builder
	for _, run := range f.gh.CheckRuns(botRepo) {
		if run.HeadSHA != sha {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n%s\n", run.Name, run.Title, run.Summary)
		for _, a := range run.Annotations {
			fmt.Fprintf(&b, "  %s:%d %s\n", a.Path, a.StartLine, a.Message)
		}
	}
	return b.String()
}

// TestServeDuckDBLockedDown: a pull request's models and hooks try what
// DuckDB allows past enable_external_access: profiling written over the
// warehouse's own file (which destroyed production before), reading that
// file, DuckDB's logging, a setting. Each is refused in the checks;
// production is intact, the warehouse still answers, and no file appears
// beside it.
func TestServeDuckDBLockedDown(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	path := strings.TrimPrefix(dsn, "duckdb://")
	f := newBotFixture(t, w, dsn, "")
	f.push(t, "models/marts/probe_profile.sql", `{{ config(post_hook="SET profiling_output = '`+path+`'; PRAGMA enable_profiling = 'json'") }}
select 1 as x
`)
	f.push(t, "models/marts/probe_file.sql", "select content from read_blob('"+path+"')\n")
	f.push(t, "models/marts/probe_logging.sql", "{{ config(pre_hook=\"CALL enable_logging(storage = 'file', storage_path = '"+filepath.Dir(path)+"')\") }}\nselect 2 as x\n")
	f.push(t, "models/marts/probe_setting.sql", "{{ config(pre_hook='SET temp_directory = \\'"+filepath.Dir(path)+"\\'') }}\nselect 3 as x\n")
	b := f.start(t)
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
	said := checksSaid(f, f.headSHA)
	if got := f.checks(f.headSHA); got["dataops/build"] != "completed/failure" && got["dataops/dry-run"] != "completed/failure" {
		t.Errorf("checks %v, want the build failed:\n%s", got, said)
	}
	for _, want := range []string{"the configuration has been locked", "read_blob is not available", "enable_logging is not available"} {
		if !strings.Contains(said, want) {
			t.Errorf("the checks do not say %q:\n%s", want, said)
		}
	}
	wh, err := b.srv.connect.Warehouse(context.Background(), "github", botRepo, config.PurposeChecks)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wh.Query(context.Background(), `select count(*) from "main"."fct_orders"`)
	if err != nil || fmt.Sprint(rows.Values[0][0]) == "0" {
		t.Errorf("production after the pull request: %v %v", rows, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if e.Name() != "test.duckdb" && e.Name() != "test.duckdb.wal" {
			t.Errorf("a file appeared beside the warehouse: %s", e.Name())
		}
	}
}

// TestServeStatementTimeout: a model that sleeps (PostgreSQL) or computes
// for far longer than warehouse.statement_timeout (DuckDB) is stopped at
// it, and its check says so; the worker is free again.
func TestServeStatementTimeout(t *testing.T) {
	for _, c := range []struct {
		name  string
		open  func(t *testing.T) (warehouse.Warehouse, string)
		model string
	}{
		{"postgres", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.PostgresDatabase(t) }, "select 1 as slept from pg_sleep(60)\n"},
		{"duckdb", func(t *testing.T) (warehouse.Warehouse, string) { return warehousetest.DuckDBFile(t) },
			"select sum(a.range * b.range) as n from range(100000000) a, range(100000000) b\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, dsn := c.open(t)
			f := newBotFixture(t, w, dsn, "")
			f.cfg.Warehouse.StatementTimeout = config.Duration{Duration: 2 * time.Second}
			f.push(t, "models/marts/slow.sql", c.model)
			b := f.start(t)
			f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
			waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
			said := checksSaid(f, f.headSHA)
			if got := f.checks(f.headSHA); got["dataops/build"] != "completed/failure" {
				t.Errorf("checks %v, want the build failed:\n%s", got, said)
			}
			if !strings.Contains(said, "stopped after 2s, the statement timeout") {
				t.Errorf("the checks do not say the statement timed out:\n%s", said)
			}
			askHelp(t, f, b, "the worker free again")
		})
	}
}

// TestServeReadsConfigOncePerBase: commands on a pull request whose base
// did not move read dataops.yml from the base's archive once.
func TestServeReadsConfigOncePerBase(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	b := f.start(t)
	for i := range 3 {
		f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops help"))
		waitFor(t, "the help", func() bool { return len(b.logs.Lines(`"msg":"job done"`)) == i+1 })
	}
	downloads := 0
	for _, r := range f.gh.Requests() {
		if r.Operation == "codeload" && strings.Contains(r.Path, f.baseSHA) {
			downloads++
		}
	}
	if downloads != 1 {
		t.Errorf("the base archive was downloaded %d times for three commands, want once", downloads)
	}
}

// TestServeIgnoresUnlistedRepository: the App is installed on a repository
// serve.yml does not name. Its pull request is answered and ignored with a
// log line, and creates nothing anywhere: no job, no request to GitHub
// about it, no check, no comment, no environment in the default warehouse.
func TestServeIgnoresUnlistedRepository(t *testing.T) {
	const other = "acme/other"
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	// GitHub would serve the other repository's pull request and code.
	f.gh.AddPullRequest(other, githubtest.PullRequest{Number: 7, Title: "card_amount", Author: "octocat",
		BaseRef: "main", BaseSHA: f.baseSHA, HeadRef: "card-amount", HeadSHA: f.headSHA})
	b := f.start(t)
	opened := f.payload(t, "pull_request.opened.json", func(p map[string]any) {
		p["repository"].(map[string]any)["full_name"] = other
		pr := p["pull_request"].(map[string]any)
		pr["base"].(map[string]any)["repo"].(map[string]any)["full_name"] = other
		pr["head"].(map[string]any)["repo"].(map[string]any)["full_name"] = other
	})
	status, body := f.send(t, b, "pull_request", opened)
	if status != http.StatusAccepted || !strings.Contains(body, "ignored") || !strings.Contains(body, "does not serve acme/other") {
		t.Errorf("delivery from %s: %d %s, want 202 ignored", other, status, body)
	}
	if lines := b.logs.Lines(`"repo":"acme/other"`); len(lines) != 1 || !strings.Contains(lines[0], "not served") {
		t.Errorf("log lines about %s: %q, want one saying it is not served", other, lines)
	}
	// A served delivery afterwards runs to its end: the bot was not idle.
	askHelp(t, f, b, "the served command")

	if st, err := b.srv.store.Stats(context.Background()); err != nil || st.Queued+st.Running+st.Delayed+st.Dead != 0 {
		t.Errorf("queue: %+v %v", st, err)
	}
	for _, r := range f.gh.Requests() {
		if strings.Contains(r.Path, other) {
			t.Errorf("a request about %s: %s %s", other, r.Method, r.Path)
		}
	}
	if runs := f.gh.CheckRuns(other); len(runs) != 0 {
		t.Errorf("%d check runs on %s", len(runs), other)
	}
	if n := len(f.gh.Comments(other, 7)); n != 0 {
		t.Errorf("%d comments on %s#7", n, other)
	}
	if schemaExists(t, b, "pr_7") {
		t.Error("an environment was created for the unlisted repository")
	}
}
