package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// The web pages' sign-in, in the bot's tests.
const (
	webClientID     = "Iv1.dataops-tests"
	webClientSecret = "github-client-secret-for-tests"
	webSessionKey   = "a session key for the bot's tests, 48 bytes long"
)

// wideNotes is a model whose 45 long text columns all change in the pull
// request: its sample rows alone are longer than a GitHub comment, so the
// comment leaves them out and the run's page has them.
func wideNotes(letter string) string {
	var b strings.Builder
	b.WriteString("{{ config(materialized='table', unique_key='order_id') }}\nselect order_id")
	for i := 1; i <= 45; i++ {
		fmt.Fprintf(&b, ",\n    repeat('%s', 180) || cast(order_id as varchar) as note_%02d", letter, i)
	}
	b.WriteString("\nfrom {{ ref('stg_orders') }}\n")
	return b.String()
}

var (
	wideBase = projecttest.Edits{"models/marts/wide_notes.sql": {"", wideNotes("a")}}
	widePR   = projecttest.Edits{"models/marts/wide_notes.sql": {"", wideNotes("b")}}
)

// withWeb turns the bot's web pages on, with sign-in through the GitHub
// fake's OAuth endpoints, at a public URL on a free port of 127.0.0.1.
func (f *botFixture) withWeb(t *testing.T) {
	t.Helper()
	f.cfg.Listen = freeAddr(t)
	f.cfg.PublicURL = "http://" + f.cfg.Listen
	f.cfg.Web = &config.ServeWeb{SessionKeyEnv: "TEST_SESSION_KEY", SessionTTL: config.Duration{Duration: 3600e9}, AccessCache: config.Duration{Duration: 300e9}}
	f.cfg.GitHub.ClientID, f.cfg.GitHub.ClientSecretEnv, f.cfg.GitHub.WebURL = webClientID, "TEST_CLIENT_SECRET", strings.TrimSuffix(f.gh.URL, "/")
	f.env["TEST_SESSION_KEY"], f.env["TEST_CLIENT_SECRET"] = webSessionKey, webClientSecret
	f.gh.SetOAuthApp(webClientID, webClientSecret, f.cfg.PublicURL+"/signin/github/callback")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// signIn signs login in to the bot's pages at base through the GitHub
// fake, in a new cookie jar.
func (f *botFixture) signIn(t *testing.T, base, login string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	f.gh.SignInAs(login)
	status, body := fetch(t, c, base+"/signin/github?next=/")
	if status != 200 || !strings.Contains(body, "<h1>Repositories</h1>") {
		t.Fatalf("sign-in as %s: %d\n%s", login, status, body)
	}
	return c
}

func fetch(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

var runLink = regexp.MustCompile(`\[full report\]\((http://[^)]+/runs/[0-9a-f]+)\)`)

// TestServeWebPages drives the real bot with its pages on: the comment and
// every check link to the run's page, which holds the samples the comment
// had to leave out; a reader sees the pull request's runs (with the
// webhook's sender, the fixture's Codertocat, as who opened it), the
// environment with its size, the deploy and the rollback with who asked;
// a stranger sees none of it. On PostgreSQL, two replicas share the store:
// the run one worked is served by the other, to a session the first made.
func TestServeWebPages(t *testing.T) {
	for _, e := range botEngines {
		t.Run(e.name, func(t *testing.T) {
			w, dsn := e.open(t)
			f := newDivergedBotFixture(t, w, dsn, "", wideBase, nil, widePR)
			f.withWeb(t)
			if e.name == "postgres" {
				_, storeURL := warehousetest.PostgresDatabase(t)
				f.cfg.Store = storeURL
			}
			b := f.start(t)
			pages := b.url
			if e.name == "postgres" {
				// A second replica on the same store, with the same session
				// key: it serves what the first records, and its sessions.
				first := f.cfg
				f.cfg.Listen = freeAddr(t)
				pages = f.start(t).url
				f.cfg = first
			}

			f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
			f.report(t)
			comment := f.commentsWith(reportMarker)[0].Body
			link := runLink.FindStringSubmatch(comment)
			if link == nil {
				t.Fatalf("the comment does not link to the run's page:\n%s", comment)
			}
			runURL := link[1]
			if !strings.HasPrefix(runURL, f.cfg.PublicURL+"/repos/github/acme%2Fshop/runs/") {
				t.Errorf("run page %s", runURL)
			}
			if !strings.Contains(comment, "The full report, with nothing left out, is on [the run's page]("+runURL+")") {
				t.Errorf("the shortened comment does not say where the full report is")
			}
			if strings.Contains(comment, strings.Repeat("b", 180)) {
				t.Fatal("the comment kept the wide samples: the test does not test what the comment cut")
			}
			for _, run := range f.gh.CheckRuns(botRepo) {
				if run.HeadSHA == f.headSHA && run.DetailsURL != runURL {
					t.Errorf("check %s links to %q, want %s", run.Name, run.DetailsURL, runURL)
				}
			}
			runPath := strings.TrimPrefix(runURL, f.cfg.PublicURL)

			visitor := f.signIn(t, pages, "visitor")
			status, page := fetch(t, visitor, pages+runPath)
			if status != 200 {
				t.Fatalf("the run's page: %d\n%s", status, page)
			}
			for _, want := range []string{"dataops/compile", "dataops/dry-run", "dataops/build", "dataops/diff", "dataops/gate",
				`id="model-wide_notes"`, strings.Repeat("a", 180) + "1", strings.Repeat("b", 180) + "1", "had to leave parts of this report out",
				`id="model-fct_orders"`, "opened by <strong>Codertocat</strong>", `class="lineage"`} {
				if !strings.Contains(page, want) {
					t.Errorf("the run's page lacks %.80q", want)
				}
			}
			if _, pr := fetch(t, visitor, pages+"/repos/github/acme%2Fshop/pulls/7"); !strings.Contains(pr, runPath) || !strings.Contains(pr, "Update the README with new information.") {
				t.Errorf("the pull request's page does not list the run:\n%s", pr)
			}
			// The size is recorded once the job ends, just after the comment.
			waitFor(t, "the environment and its size", func() bool {
				_, envs := fetch(t, visitor, pages+"/repos/github/acme%2Fshop/environments")
				return strings.Contains(envs, "<code>pr_7</code>") && regexp.MustCompile(`<td class="n">[1-9][0-9,]*</td>`).MatchString(envs)
			})

			// Deploy and rollback, with who asked.
			f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops deploy"))
			waitFor(t, "the deploy", func() bool { return hasColumn(columnsOf(t, b, "main", "fct_orders"), "card_amount") })
			waitFor(t, "the deploy on the page", func() bool {
				_, d := fetch(t, visitor, pages+"/repos/github/acme%2Fshop/deploys")
				return strings.Contains(d, "would undo the succeeded deploy") && strings.Contains(d, "by <strong>octocat</strong>") &&
					strings.Contains(d, "restore <code>main.fct_orders</code> from its previous version, kept as <code>fct_orders__dataops_prev</code>") &&
					strings.Contains(d, "drop <code>main.orders_per_month</code>, which the deploy created")
			})
			f.send(t, b, "issue_comment", f.comment(t, "maintainer", "/dataops rollback"))
			waitFor(t, "the rollback on the page", func() bool {
				_, d := fetch(t, visitor, pages+"/repos/github/acme%2Fshop/deploys")
				return strings.Contains(d, "Rollback of") && strings.Contains(d, "by <strong>maintainer</strong>") && strings.Contains(d, "nothing to roll back")
			})

			// A stranger sees nothing of the repository.
			f.gh.SetPermission("stranger", "none")
			stranger := f.signIn(t, pages, "stranger")
			for _, path := range []string{"/repos/github/acme%2Fshop", runPath, "/repos/github/acme%2Fshop/pulls/7", "/repos/github/acme%2Fshop/deploys"} {
				if status, _ := fetch(t, stranger, pages+path); status != 404 {
					t.Errorf("a stranger at %s: %d, want 404", path, status)
				}
			}
			if _, home := fetch(t, stranger, pages+"/"); strings.Contains(home, "acme/shop") {
				t.Error("a stranger is shown the repository")
			}
			// The webhooks, health and metrics need no sign-in; the rest does.
			for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/queue": 303, "/": 303} {
				c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				if status, _ := fetch(t, c, b.url+path); status != want {
					t.Errorf("%s without sign-in: %d, want %d", path, status, want)
				}
			}
		})
	}
}

// TestServeWebRefusesToStart: a sign-in that cannot work stops the start
// with the field named.
func TestServeWebRefusesToStart(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newBotFixture(t, w, dsn, "")
	f.withWeb(t)
	for _, c := range []struct{ unset, says string }{
		{"TEST_CLIENT_SECRET", "github.client_secret_env: TEST_CLIENT_SECRET is not set"},
		{"TEST_SESSION_KEY", "web.session_key_env: TEST_SESSION_KEY is not set"},
	} {
		env := map[string]string{}
		for k, v := range f.env {
			env[k] = v
		}
		delete(env, c.unset)
		_, err := newServer(context.Background(), f.cfg, func(k string) string { return env[k] }, nil)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("without %s: %v", c.unset, err)
		}
	}
	// GitLab sign-in without its application's secret.
	gl := gitlabtest.NewServer(t)
	withGitLab := f.cfg
	withGitLab.GitLab = &config.ServeGitLab{APIURL: gl.BaseURL(), TokenEnv: "TEST_GITLAB_TOKEN", WebhookSecretEnv: "TEST_GITLAB_SECRET", BotUser: "dataops-bot",
		ApplicationID: "app", ApplicationSecretEnv: "TEST_GITLAB_APPLICATION_SECRET"}
	f.env["TEST_GITLAB_TOKEN"], f.env["TEST_GITLAB_SECRET"] = gitlabtest.DefaultToken, gitlabSecret
	if _, err := newServer(context.Background(), withGitLab, func(k string) string { return f.env[k] }, nil); err == nil ||
		!strings.Contains(err.Error(), "gitlab.application_secret_env: TEST_GITLAB_APPLICATION_SECRET is not set") {
		t.Errorf("without the GitLab application's secret: %v", err)
	}
	f.env["TEST_SESSION_KEY"] = "too short"
	if _, err := newServer(context.Background(), f.cfg, func(k string) string { return f.env[k] }, nil); err == nil || !strings.Contains(err.Error(), "needs at least 32") {
		t.Errorf("a short session key: %v", err)
	}
}
