package image

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

const (
	appID          = 4242
	installationID = 99
	webhookSecret  = "whsec-image-test-0123456789"
	// dataUID is the image's user dataops, which the bot runs as.
	dataUID = "10001"
)

// bot is the webhook bot's world: a GitHub App on the GitHub double with
// pull request 7's archives, a PostgreSQL warehouse whose production is
// the base, the App's key in a file only root can read, and serve.yml.
type bot struct {
	gh         *githubtest.Server
	base, head string
	dsn        string
	keyFile    string
	dir        string
}

func newBot(t *testing.T) *bot {
	t.Helper()
	b := &bot{gh: githubtest.NewServer(t), dir: t.TempDir()}
	repo := filepath.Join(b.dir, "repo")
	b.base, b.head = projecttest.ShopPullRequest(t, repo, nil)
	merge := projecttest.TestMerge(t, repo, b.base, b.head, "refs/pull/7/merge")
	serveHistory(t, b.gh, repo)
	b.gh.AddPullRequest(repoName, githubtest.PullRequest{Number: 7, Title: "card_amount", Author: "octocat",
		BaseRef: "main", BaseSHA: b.base, HeadRef: "card-amount", HeadSHA: b.head, MergeCommitSHA: merge})

	w, dsn := warehousetest.PostgresDatabase(t)
	m := projecttest.Compile(t, projecttest.Shop(t, nil), project.Target{Name: "prod", Schema: "main", Type: w.Dialect().Name()})
	all, _ := m.Select("", nil)
	if res, err := build.Run(context.Background(), build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
		t.Fatalf("production build: %v", err)
	}
	b.dsn = dsn

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b.gh.SetApp(appID, installationID, &key.PublicKey)
	b.keyFile = filepath.Join(b.dir, "dataops-app.pem")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	// As a secret is usually mounted: mode 600, root's.
	if err := os.WriteFile(b.keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// config writes a serve.yml listening on addr with the store at store.
func (b *bot) config(t *testing.T, addr, store string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "serve.yml")
	yml := fmt.Sprintf(`listen: %q
store: %s
workers: 1
allow: [%s]
warehouse:
  dsn_env: DATAOPS_WAREHOUSE_DSN
github:
  api_url: %s
  app_id: %d
  private_key_file: /run/secrets/dataops-app.pem
  webhook_secret_env: DATAOPS_GITHUB_WEBHOOK_SECRET
`, addr, store, repoName, b.gh.APIURL(), appID)
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil { // no secret in it
		t.Fatal(err)
	}
	return path
}

// start runs the bot's container as README shows (docker run IMAGE serve),
// with the data folder from data (a volume name or a host folder) and the
// extra docker run flags; it returns the container's name and address.
func (b *bot) start(t *testing.T, image, data, store string, flags ...string) (string, string) {
	t.Helper()
	addr := freeAddr(t)
	name := uniqueName("bot")
	args := append([]string{"run", "-d", "--name", name, "--network", "host",
		"-v", data + ":/var/lib/dataops",
		"-v", b.keyFile + ":/run/secrets/dataops-app.pem:ro",
		"-v", b.config(t, addr, store) + ":/etc/dataops/serve.yml:ro",
		"-e", "DATAOPS_GITHUB_WEBHOOK_SECRET=" + webhookSecret,
		"-e", "DATAOPS_WAREHOUSE_DSN=" + b.dsn}, flags...)
	args = append(args, image, "serve", "--config", "/etc/dataops/serve.yml")
	docker(t, args...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := dockerOutput("logs", name)
			t.Logf("the bot's log:\n%s", tail(logs, 40))
		}
		dockerCmd("rm", "-f", name)
	})
	return name, "http://" + addr
}

// dockerOutput runs docker and returns what it wrote, standard error
// included.
func dockerOutput(args ...string) (string, error) {
	out, err := osexec.Command("docker", args...).CombinedOutput()
	return string(out), err
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

// waitReady waits for /readyz to answer 200, or for the container to end.
func waitReady(t *testing.T, name, url string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // bounds a broken test only
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if state, _ := dockerCmd("inspect", "-f", "{{.State.Status}}", name); strings.TrimSpace(state) == "exited" {
			logs, _ := dockerOutput("logs", name)
			t.Fatalf("the bot exited before it was ready:\n%s", tail(logs, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the bot never became ready")
}

// inContainer runs a shell command in the running container.
func inContainer(t *testing.T, name, script string) string {
	t.Helper()
	return strings.TrimSpace(docker(t, "exec", name, "sh", "-c", script))
}

// The bot from the Action's image: started as root with a volume, it reads
// its root-only key file, runs as dataops, and works a signed delivery.
func TestBot(t *testing.T) {
	image := imageUnderTest(t)
	b := newBot(t)

	t.Run("volume", func(t *testing.T) {
		volume := uniqueName("data")
		docker(t, "volume", "create", volume)
		t.Cleanup(func() { dockerCmd("volume", "rm", "-f", volume) })
		name, url := b.start(t, image, volume, "/var/lib/dataops/dataops.db")
		waitReady(t, name, url)
		if got := inContainer(t, name, "awk '/^Uid:/{print $2}' /proc/1/status; stat -c %u /var/lib/dataops/dataops.db"); got != dataUID+"\n"+dataUID {
			t.Errorf("the bot's uid and its store's owner: %q, want %s (dataops)", got, dataUID)
		}

		payload := b.payload(t)
		req, _ := http.NewRequest(http.MethodPost, url+"/webhooks/github", bytes.NewReader(payload))
		mac := hmac.New(sha256.New, []byte(webhookSecret))
		mac.Write(payload)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "image-test-1")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery answered %d %s", resp.StatusCode, body)
		}
		deadline := time.Now().Add(3 * time.Minute) // bounds a broken test only
		for b.gate() != "completed/success" {
			if time.Now().After(deadline) {
				t.Fatalf("the delivery was not worked: gate %q", b.gate())
			}
			time.Sleep(200 * time.Millisecond)
		}
		pr := &pullRequest{head: b.head, gh: b.gh}
		want := "map[dataops/build:completed/success dataops/compile:completed/success dataops/diff:completed/neutral dataops/dry-run:completed/success dataops/gate:completed/success]"
		if got := fmt.Sprint(pr.checks()); got != want {
			t.Errorf("checks %s, want %s", got, want)
		}
		if comments := b.gh.Comments(repoName, 7); len(comments) != 1 || !strings.Contains(comments[0].Body, "card_amount") {
			t.Errorf("comments: %+v", comments)
		}
		docker(t, "stop", name)
		if code := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.ExitCode}}", name)); code != "0" {
			t.Errorf("SIGTERM: exit %s", code)
		}
	})

	t.Run("root-owned host folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name, url := b.start(t, image, dir, "dataops.db")
		waitReady(t, name, url)
		if got := inContainer(t, name, "stat -c %u /var/lib/dataops /var/lib/dataops/dataops.db"); got != dataUID+"\n"+dataUID {
			t.Errorf("owners of the data folder and store: %q, want %s", got, dataUID)
		}
	})

	t.Run("another uid in group 0", func(t *testing.T) {
		volume := uniqueName("data")
		docker(t, "volume", "create", volume)
		t.Cleanup(func() { dockerCmd("volume", "rm", "-f", volume) })
		b.readableKey(t)
		name, url := b.start(t, image, volume, "dataops.db", "--user", "4242:0")
		waitReady(t, name, url)
		if got := inContainer(t, name, "stat -c %u:%g /var/lib/dataops/dataops.db"); got != "4242:0" {
			t.Errorf("store owner %q", got)
		}
	})

	t.Run("a store folder the user cannot write", func(t *testing.T) {
		b.readableKey(t)
		name, _ := b.start(t, image, t.TempDir(), "/dataops.db", "--user", "4242:0")
		if code := strings.TrimSpace(docker(t, "wait", name)); code != "2" {
			t.Errorf("exit %s, want 2 (configuration)", code)
		}
		logs, _ := dockerOutput("logs", name)
		if !strings.Contains(logs, "the folder / is not writable by uid 4242") || !strings.Contains(logs, "/var/lib/dataops") {
			t.Errorf("the bot should say where to keep its store:\n%s", logs)
		}
	})
}

// readableKey gives the bot, for this test, a key file any user can read,
// as the docs say to when the bot is started as another user than root.
func (b *bot) readableKey(t *testing.T) {
	t.Helper()
	key, err := os.ReadFile(b.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	readable := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(readable, key, 0o644); err != nil {
		t.Fatal(err)
	}
	rootOnly := b.keyFile
	b.keyFile = readable
	t.Cleanup(func() { b.keyFile = rootOnly })
}

func (b *bot) gate() string {
	for _, run := range b.gh.CheckRuns(repoName) {
		if run.HeadSHA == b.head && run.Name == "dataops/gate" {
			return run.Status + "/" + run.Conclusion
		}
	}
	return ""
}

// payload is GitHub's example pull_request opened delivery about pull
// request 7, from the App's installation.
func (b *bot) payload(t *testing.T) []byte {
	t.Helper()
	pr := &pullRequest{base: b.base, head: b.head}
	return pr.payload(t, "pull_request.opened.json", func(p map[string]any) {
		p["installation"] = map[string]any{"id": installationID}
	})
}
