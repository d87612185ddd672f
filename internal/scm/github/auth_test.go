package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"github.com/dataops-dev/dataops/internal/logtest"
	"io"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

func TestNewRejectsBadOptions(t *testing.T) {
	key := []byte("-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n")
	tests := []struct {
		name string
		opts github.Options
		want string
	}{
		{"no repository", github.Options{Token: token}, "Options.Owner and Options.Repo"},
		{"slash in repository", github.Options{Owner: "a/b", Repo: "c", Token: token}, "must not contain slashes"},
		{"no credentials", github.Options{Owner: owner, Repo: repoName}, "no credentials: set Options.Token"},
		{"both", github.Options{Owner: owner, Repo: repoName, Token: token, AppID: 1, InstallationID: 2, PrivateKey: key}, "set one"},
		{"token with a line break", github.Options{Owner: owner, Repo: repoName, Token: token + "\n"}, "line breaks"},
		{"app without installation", github.Options{Owner: owner, Repo: repoName, AppID: 1, PrivateKey: key}, "missing InstallationID"},
		{"app without key", github.Options{Owner: owner, Repo: repoName, AppID: 1, InstallationID: 2}, "missing PrivateKey"},
		{"app with a bad key", github.Options{Owner: owner, Repo: repoName, AppID: 1, InstallationID: 2, PrivateKey: key}, "not a PEM-encoded RSA key"},
		{"bad base URL", github.Options{Owner: owner, Repo: repoName, Token: token, BaseURL: "ghe.example.com/api/v3"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := github.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
			noLeak(t, err)
			if strings.Contains(err.Error(), "not a key") {
				t.Errorf("the error quotes the private key: %v", err)
			}
		})
	}
}

// exercise calls every Host method once.
func exercise(t *testing.T, fake *githubtest.Server, h *github.Host) {
	t.Helper()
	fake.SetPermission("alice", "maintain")
	fake.SetArchive(sha, []byte("tarball"))
	c := ctx(t)
	if _, err := h.PullRequest(c, 7); err != nil {
		t.Errorf("PullRequest: %v", err)
	}
	if p, err := h.Permission(c, "alice"); err != nil || p != scm.PermissionMaintain {
		t.Errorf("Permission = %s, %v", p, err)
	}
	if err := h.UpsertComment(c, 7, marker, marker+" hi"); err != nil {
		t.Errorf("UpsertComment: %v", err)
	}
	comments := fake.Comments(repo, 7)
	if len(comments) != 1 {
		t.Fatalf("%d comments", len(comments))
	}
	if err := h.React(c, 7, comments[0].ID, scm.ReactionRocket); err != nil {
		t.Errorf("React: %v", err)
	}
	if err := h.PublishCheck(c, sha, scm.Check{Name: scm.CheckGate, Conclusion: scm.ConclusionSuccess, Title: "ok", Annotations: annotationsN(60)}); err != nil {
		t.Errorf("PublishCheck: %v", err)
	}
	rc, err := h.Archive(c, sha)
	if err != nil {
		t.Fatalf("Archive: %v", err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "tarball" {
		t.Errorf("archive = %q", data)
	}
}

func TestEnterpriseBaseURL(t *testing.T) {
	fake := githubtest.NewServer(t)
	fake.AddPullRequest(repo, githubtest.PullRequest{Number: 7})
	h, _ := newHost(t, fake, &logtest.Buffer{}, func(o *github.Options) { o.BaseURL = strings.TrimSuffix(fake.EnterpriseURL(), "/") })
	exercise(t, fake, h)
	for _, r := range fake.Requests() {
		if r.Operation != "codeload" && !strings.HasPrefix(r.URLPath, githubtest.EnterprisePrefix+"/") {
			t.Errorf("%s %s is not under %s", r.Method, r.URLPath, githubtest.EnterprisePrefix)
		}
	}
}

func TestAppInstallationAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	const appID, installationID = 4242, 777
	for _, enterprise := range []bool{false, true} {
		t.Run(fmt.Sprintf("enterprise=%v", enterprise), func(t *testing.T) {
			fake := githubtest.NewServer(t)
			fake.SetApp(appID, installationID, &key.PublicKey)
			fake.SetLogin("dataops[bot]")
			fake.AddPullRequest(repo, githubtest.PullRequest{Number: 7})
			base := fake.APIURL()
			if enterprise {
				base = fake.EnterpriseURL()
			}
			logs := &logtest.Buffer{}
			h, _ := newHost(t, fake, logs, func(o *github.Options) {
				o.BaseURL, o.Token = base, ""
				o.AppID, o.InstallationID, o.PrivateKey = appID, installationID, pemKey
			})
			exercise(t, fake, h)

			tokens := fake.InstallationTokens()
			if len(tokens) != 1 {
				t.Fatalf("%d installation tokens issued, want 1 (it is cached)", len(tokens))
			}
			reqs := fake.Requests()
			if reqs[0].Operation != "apps/create-installation-access-token" || reqs[0].Path != fmt.Sprintf("/app/installations/%d/access_tokens", installationID) {
				t.Errorf("first request = %s %s", reqs[0].Method, reqs[0].Path)
			}
			if body := decodeBody(t, reqs[0]); fmt.Sprint(body["repositories"]) != "["+repoName+"]" {
				t.Errorf("token request body = %s, want it limited to the repository", reqs[0].Body)
			}
			for _, r := range reqs[1:] {
				if r.Operation == "codeload" {
					continue
				}
				if got := r.Header.Get("Authorization"); got != "token "+tokens[0] {
					t.Errorf("%s %s: Authorization = %q, want the installation token", r.Method, r.Path, got)
				}
			}
			// The App's own filter finds its runs on a rerun.
			for _, r := range calls(fake, "checks/list-for-ref") {
				if r.Query.Get("app_id") != fmt.Sprint(appID) {
					t.Errorf("check runs listed without app_id=%d: %v", appID, r.Query)
				}
			}
			if c := fake.Comments(repo, 7); c[0].User != "dataops[bot]" {
				t.Errorf("comment by %s", c[0].User)
			}
			for _, tok := range tokens {
				if strings.Contains(logs.String(), tok) {
					t.Errorf("the installation token is in the log")
				}
			}
		})
	}
}

func TestAppWithAWrongKeyFails(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	fake := githubtest.NewServer(&quietTB{TB: t})
	fake.SetApp(1, 2, &key.PublicKey)
	h, err := github.New(github.Options{BaseURL: fake.APIURL(), Owner: owner, Repo: repoName, AppID: 1, InstallationID: 2, PrivateKey: pemKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Permission(ctx(t), "alice")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "installation") {
		t.Errorf("Permission with a wrong key = %v", err)
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: a 401 is not retried", n)
	}
}

// quietTB passes a test through the fake's complaints, for a test that
// provokes them on purpose.
type quietTB struct {
	testing.TB
}

func (q *quietTB) Errorf(format string, args ...any) { q.TB.Logf("(expected) "+format, args...) }

func TestInstallationTokenNeverLeaks(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	fake := githubtest.NewServer(t)
	fake.SetApp(1, 2, &key.PublicKey)
	fake.AddPullRequest(repo, githubtest.PullRequest{Number: 7})
	h, _ := newHost(t, fake, &logtest.Buffer{}, func(o *github.Options) {
		o.Token, o.AppID, o.InstallationID, o.PrivateKey = "", 1, 2, pemKey
	})
	if _, err := h.PullRequest(ctx(t), 7); err != nil {
		t.Fatal(err)
	}
	issued := fake.InstallationTokens()[0]
	fake.Fail(githubtest.Failure{Status: 401, Message: "Bad credentials: token " + issued})
	_, err := h.PullRequest(ctx(t), 7)
	if err == nil || strings.Contains(err.Error(), issued) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error = %v", err)
	}
}
