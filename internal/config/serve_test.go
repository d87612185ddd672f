package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseServe(t *testing.T) {
	const github = "github:\n  app_id: 12\n  private_key_file: app.pem\n"
	for _, c := range []struct {
		name, yaml, err string
	}{
		{"github app", github, ""},
		{"gitlab", "gitlab:\n  api_url: https://gitlab.example.com/api/v4\n", ""},
		{"no host", "listen: :9000\n", "serve.yml: github: configure github:"},
		{"unknown field", github + "wokers: 3\n", "serve.yml:4: field wokers is not a field of Serve"},
		{"no app id", "github:\n  private_key_file: app.pem\n", "serve.yml:1: github.app_id: must be the GitHub App's id"},
		{"two keys", "github:\n  app_id: 1\n  private_key_file: a\n  private_key_env: B\n", "github.private_key_file: set one of"},
		{"no workers", github + "workers: 0\n", "serve.yml:4: workers: must be at least 1"},
		{"bad duration", github + "visibility_timeout: soon\n", `serve.yml:4: "soon" is not a duration`},
		{"short timeout", github + "visibility_timeout: 10ms\n", "visibility_timeout: must be at least 1s"},
		{"dsn in the file", github + "repositories:\n  acme/shop: {dsn_env: 'postgres://u:p@h/db'}\n", "repositories.acme/shop.dsn_env must name"},
		{"web", github + "  client_id: Iv1.abc\npublic_url: https://dataops.example.com/\nweb: {}\n", ""},
		{"web with gitlab", "gitlab: {application_id: abc}\npublic_url: http://127.0.0.1:8080\nweb:\n  session_ttl: 1h\n", ""},
		{"web without a public url", github + "  client_id: Iv1.abc\nweb: {}\n", "serve.yml:5: public_url: web: needs public_url"},
		{"web without sign-in", github + "public_url: https://x.example.com\nweb:\n  access_cache: 1m\n", "serve.yml:5: web: nobody could sign in: set github.client_id"},
		{"bad public url", github + "public_url: dataops.example.com\n", `serve.yml:4: public_url: "dataops.example.com" is not an http(s) address`},
		{"public url with a query", github + "public_url: https://x.example.com/?a=1\n", "public_url: "},
		{"bad web url", github + "  web_url: ftp://github.example.com\n", "serve.yml:4: github.web_url: "},
		{"short session", github + "  client_id: a\npublic_url: https://x.example.com\nweb: {session_ttl: 10s}\n", "web.session_ttl: must be at least 1m"},
		{"short retention", github + "keep_runs: 10m\n", "serve.yml:4: keep_runs: must be at least 1h"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseServe("serve.yml", []byte(c.yaml))
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("err = %v, want %q", err, c.err)
			}
			if s.Listen != "" {
				t.Errorf("a failed parse returned a configuration")
			}
		})
	}
}

func TestServeDefaults(t *testing.T) {
	s, err := ParseServe("serve.yml", []byte("github:\n  app_id: 12\n  private_key_env: KEY\nrepositories:\n  acme/other: {dsn_env: OTHER_DSN}\n  gitlab:data/marts: {dsn_env: MARTS_DSN}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Listen != ":8080" || s.Workers != 2 || s.VisibilityTimeout.Duration != time.Minute || s.GitHub.WebhookSecretEnv != "DATAOPS_GITHUB_WEBHOOK_SECRET" ||
		s.KeepRuns.Duration != 90*24*time.Hour || s.Web != nil || s.GitHub.WebURL != "https://github.com" || s.GitHub.ClientSecretEnv != "DATAOPS_GITHUB_CLIENT_SECRET" {
		t.Errorf("defaults: %+v", s)
	}
	web, err := ParseServe("serve.yml", []byte("gitlab:\n  api_url: https://gitlab.example.com/api/v4/\n  application_id: app\npublic_url: https://dataops.example.com/\nweb: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := web.Web; w.SessionKeyEnv != "DATAOPS_SESSION_KEY" || w.SessionTTL.Duration != 12*time.Hour || w.AccessCache.Duration != 5*time.Minute ||
		web.PublicURL != "https://dataops.example.com" || web.GitLab.WebURL != "https://gitlab.example.com" || web.GitLab.ApplicationSecretEnv != "DATAOPS_GITLAB_APPLICATION_SECRET" {
		t.Errorf("web defaults: %+v %+v %+v", *web.Web, web.PublicURL, *web.GitLab)
	}
	for api, want := range map[string]string{"": "https://github.com", "https://api.github.com/": "https://github.com",
		"https://ghe.example.com/api/v3/": "https://ghe.example.com", "http://127.0.0.1:9999/": "http://127.0.0.1:9999"} {
		if got := githubWebURL(api); got != want {
			t.Errorf("githubWebURL(%q) = %q, want %q", api, got, want)
		}
	}
	for _, c := range []struct{ host, repo, want string }{
		{"github", "acme/shop", "DATAOPS_WAREHOUSE_DSN"},
		{"github", "acme/other", "OTHER_DSN"},
		{"gitlab", "data/marts", "MARTS_DSN"},
		{"github", "data/marts", "DATAOPS_WAREHOUSE_DSN"},
	} {
		if got := s.DSNEnv(c.host, c.repo); got != c.want {
			t.Errorf("DSNEnv(%s, %s) = %s, want %s", c.host, c.repo, got, c.want)
		}
	}
}

func FuzzParseServe(f *testing.F) {
	f.Add([]byte("github:\n  app_id: 12\n  private_key_file: app.pem\n"))
	f.Add([]byte("gitlab: {bot_user: x}\nrepositories: {a: {dsn_env: B}}\nsweep_every: 3d\n"))
	f.Add([]byte("gitlab: {application_id: a}\npublic_url: https://x.example.com\nweb: {session_ttl: 1h}\nkeep_runs: 30d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseServe("serve.yml", data)
	})
}
