package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/logtest"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// The bot's test repository and the App installation it belongs to.
const (
	botRepo         = "acme/shop"
	botAppID        = 4242
	botInstallation = 99
	botSecret       = "whsec-test-0123456789"
)

// botFixture is the bot's world in a test: a git repository made from
// examples/shop, where pull request 7 (branch card-amount) changes
// fct_orders and adds a model, production built from main's tip in a
// warehouse, the OpenAPI-checked GitHub fake serving the repository's
// commits, archives and GitHub's test merge of the pull request to a
// GitHub App, and the bot's configuration.
type botFixture struct {
	dir string
	// baseSHA is where the pull request branched from main, mainSHA main's
	// tip, headSHA the pull request's head and mergeSHA GitHub's test
	// merge of it into main's tip.
	baseSHA, mainSHA, headSHA, mergeSHA string
	gh                                  *githubtest.Server
	dsn                                 string
	keyPEM                              []byte
	cfg                                 config.Serve
	env                                 map[string]string
	delivery                            atomic.Int64
}

// newBotFixture builds production from main in the warehouse at dsn; w is
// closed afterwards, since the bot opens the warehouse itself (a DuckDB
// file takes one opener). dataopsYML, when not empty, is the repository's
// dataops.yml (on every commit).
func newBotFixture(t *testing.T, w warehouse.Warehouse, dsn, dataopsYML string) *botFixture {
	return newDivergedBotFixture(t, w, dsn, dataopsYML, nil, nil, nil)
}

// newDivergedBotFixture is newBotFixture on examples/shop with baseEdits,
// where main moved on after the pull request branched, with mainEdits, and
// production was built from main's tip; the pull request makes prEdits
// besides projecttest.CardAmount.
func newDivergedBotFixture(t *testing.T, w warehouse.Warehouse, dsn, dataopsYML string, baseEdits, mainEdits, prEdits projecttest.Edits) *botFixture {
	t.Helper()
	f := &botFixture{dir: t.TempDir(), gh: githubtest.NewServer(t), dsn: dsn}
	for _, file := range projecttest.Shop(t, nil) {
		writeFile(t, filepath.Join(f.dir, file.Path), string(file.Content))
	}
	if dataopsYML != "" {
		writeFile(t, filepath.Join(f.dir, "dataops.yml"), dataopsYML)
	}
	baseEdits.Apply(t, f.dir)
	f.baseSHA = f.commit(t, "base")
	f.git(t, "branch", "-M", "main")
	f.mainSHA = f.baseSHA
	if mainEdits != nil {
		mainEdits.Apply(t, f.dir)
		f.mainSHA = f.commit(t, "main moves on")
	}
	m := projecttest.Compile(t, projecttest.Files(t, f.dir), project.Target{Name: "prod", Schema: "main", Type: w.Dialect().Name()})
	all, _ := m.Select("", nil)
	if res, err := build.Run(context.Background(), build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
		t.Fatalf("production build: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.git(t, "checkout", "-q", "-b", "card-amount", f.baseSHA)
	projecttest.CardAmount.Apply(t, f.dir)
	prEdits.Apply(t, f.dir)
	f.headSHA = f.commit(t, "head")
	f.sync(t)
	f.configure(t)
	return f
}

// configure gives the fixture its people, the GitHub App and the bot's
// configuration.
func (f *botFixture) configure(t *testing.T) {
	t.Helper()
	f.gh.SetPermission("octocat", "write")
	f.gh.SetPermission("maintainer", "admin")
	f.gh.SetPermission("visitor", "read")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	f.gh.SetApp(botAppID, botInstallation, &key.PublicKey)

	f.cfg = config.DefaultServe()
	f.cfg.Listen = "127.0.0.1:0"
	f.cfg.Store = filepath.Join(t.TempDir(), "dataops.db")
	f.cfg.Workers = 1
	f.cfg.VisibilityTimeout = config.Duration{Duration: 3 * time.Second}
	f.cfg.Allow = config.Allowlist{{Host: "github", Path: botRepo}}
	f.cfg.GitHub = &config.ServeGitHub{APIURL: f.gh.APIURL(), AppID: botAppID, PrivateKeyEnv: "TEST_APP_KEY",
		WebhookSecretEnv: "TEST_WEBHOOK_SECRET"}
	f.env = map[string]string{"TEST_APP_KEY": string(f.keyPEM), "TEST_WEBHOOK_SECRET": botSecret, "DATAOPS_WAREHOUSE_DSN": f.dsn}
}

// sync does what GitHub does after a push to either branch: it makes the
// test merge of the head into main's tip (refs/pull/7/merge), and serves
// every commit with its archive and pull request 7 as it now is.
func (f *botFixture) sync(t *testing.T) {
	t.Helper()
	f.mergeSHA = projecttest.TestMerge(t, f.dir, f.mainSHA, f.headSHA, "refs/pull/7/merge")
	projecttest.History(t, f.dir, func(sha string, parents []string, archive []byte) {
		f.gh.AddCommit(sha, parents...)
		f.gh.SetArchive(sha, archive)
	})
	f.gh.AddPullRequest(botRepo, f.pull("octocat"))
}

// pull is pull request 7 as GitHub serves it, by author.
func (f *botFixture) pull(author string) githubtest.PullRequest {
	return githubtest.PullRequest{Number: 7, Title: "card_amount", Author: author,
		BaseRef: "main", BaseSHA: f.mainSHA, HeadRef: "card-amount", HeadSHA: f.headSHA, MergeCommitSHA: f.mergeSHA}
}

func (f *botFixture) git(t *testing.T, args ...string) []byte {
	t.Helper()
	return projecttest.Git(t, f.dir, args...)
}

func (f *botFixture) commit(t *testing.T, msg string) string {
	t.Helper()
	return projecttest.Commit(t, f.dir, msg)
}

// runningBot is a server started in the test's process, listening on
// 127.0.0.1.
type runningBot struct {
	srv  *server
	url  string
	logs *logtest.Buffer
	stop func()
}

// start starts the bot with the fixture's configuration; it stops at the
// end of the test.
func (f *botFixture) start(t *testing.T) *runningBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logtest.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := newServer(ctx, f.cfg, func(k string) string { return f.env[k] }, logger)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, io.Discard) }()
	<-srv.ready
	b := &runningBot{srv: srv, url: "http://" + srv.listener.Addr().String(), logs: logs}
	stopped := false
	b.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
		if t.Failed() {
			t.Logf("the bot's log:\n%s", logs.String())
		}
	}
	t.Cleanup(b.stop)
	return b
}

// readPayload reads a GitHub fixture payload and points it at the test
// repository and the App installation.
func readPayload(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "github", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	repo := p["repository"].(map[string]any)
	repo["full_name"], repo["name"], repo["default_branch"] = botRepo, "shop", "main"
	p["installation"] = map[string]any{"id": botInstallation}
	return p
}

// payload is a fixture payload about pull request 7 at the fixture's base
// and head, edited by edit.
func (f *botFixture) payload(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	p := readPayload(t, name)
	if pr, ok := p["pull_request"].(map[string]any); ok {
		pr["number"], p["number"] = 7, 7
		base, head := pr["base"].(map[string]any), pr["head"].(map[string]any)
		base["sha"], base["ref"] = f.mainSHA, "main"
		head["sha"], head["ref"] = f.headSHA, "card-amount"
		head["repo"].(map[string]any)["full_name"] = botRepo
		base["repo"].(map[string]any)["full_name"] = botRepo
		pr["user"].(map[string]any)["login"] = "octocat"
	}
	if edit != nil {
		edit(p)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// comment is an issue_comment payload: body written by login on PR 7.
func (f *botFixture) comment(t *testing.T, login, body string) []byte {
	t.Helper()
	_, payload := commentOn(t, f, 7, login, body)
	return payload
}

// commentOn adds a comment to pull request pr in the fake and returns its
// id and its issue_comment payload.
func commentOn(t testing.TB, f *botFixture, pr int, login, body string) (int64, []byte) {
	t.Helper()
	id := f.gh.AddComment(botRepo, pr, login, body)
	p := readPayload(t, "issue_comment.created.on_pull_request.json")
	p["issue"].(map[string]any)["number"] = pr
	c := p["comment"].(map[string]any)
	c["id"], c["body"] = id, body
	c["user"].(map[string]any)["login"] = login
	c["user"].(map[string]any)["type"] = "User"
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return id, out
}

// sign is the X-Hub-Signature-256 of body.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// send posts a signed GitHub delivery with a new delivery id and returns
// the answer's status and body.
func (f *botFixture) send(t *testing.T, b *runningBot, event string, body []byte) (int, string) {
	t.Helper()
	id := fmt.Sprintf("delivery-%d", f.delivery.Add(1))
	return f.sendAs(t, b, event, id, sign(botSecret, body), body)
}

func (f *botFixture) sendAs(t *testing.T, b *runningBot, event, id, signature string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// waitFor polls cond until it holds; the deadline only bounds a broken
// test, it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checks returns the conclusions of the checks on sha by name.
func (f *botFixture) checks(sha string) map[string]string {
	out := map[string]string{}
	for _, run := range f.gh.CheckRuns(botRepo) {
		if run.HeadSHA == sha {
			out[run.Name] = run.Status + "/" + run.Conclusion
		}
	}
	return out
}

// gate is the gate check's state on sha, "" before it exists.
func (f *botFixture) gate(sha string) string { return f.checks(sha)["dataops/gate"] }

// commentWith returns the bodies of PR 7's comments holding marker.
func (f *botFixture) commentsWith(marker string) []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range f.gh.Comments(botRepo, 7) {
		if strings.Contains(c.Body, marker) {
			out = append(out, c)
		}
	}
	return out
}

// report waits for the checks of the head and the report comment, and
// returns everything they say: the comment, then each check run's summary,
// text and annotations.
func (f *botFixture) report(t *testing.T) string {
	t.Helper()
	waitFor(t, "the report", func() bool {
		return strings.HasPrefix(f.gate(f.headSHA), "completed/") && len(f.commentsWith(reportMarker)) == 1
	})
	report := f.commentsWith(reportMarker)[0].Body
	for _, run := range f.gh.CheckRuns(botRepo) {
		if run.HeadSHA != f.headSHA {
			continue
		}
		report += "\n" + run.Summary + "\n" + run.Text
		for _, a := range run.Annotations {
			report += "\n" + a.Path + ": " + a.Message
		}
	}
	return report
}

// push commits a change to the head branch and moves PR 7's head to it
// (as a push does); it returns the new head.
func (f *botFixture) push(t *testing.T, path, content string) string {
	t.Helper()
	writeFile(t, filepath.Join(f.dir, path), content)
	f.headSHA = f.commit(t, "push "+path)
	f.sync(t)
	return f.headSHA
}
