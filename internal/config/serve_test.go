package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseServe(t *testing.T) {
	const github = "allow: [acme/shop]\ngithub:\n  app_id: 12\n  private_key_file: app.pem\n"
	const bare = "github:\n  app_id: 12\n  private_key_file: app.pem\n"
	for _, c := range []struct {
		name, yaml, err string
	}{
		{"github app", github, ""},
		{"gitlab", "allow: ['gitlab:data/*']\ngitlab:\n  api_url: https://gitlab.example.com/api/v4\n", ""},
		{"no host", "listen: :9000\n", "serve.yml: github: configure github:"},
		{"unknown field", github + "wokers: 3\n", "serve.yml:5: field wokers is not a field of Serve"},
		{"no app id", "github:\n  private_key_file: app.pem\n", "serve.yml:1: github.app_id: must be the GitHub App's id"},
		{"two keys", "github:\n  app_id: 1\n  private_key_file: a\n  private_key_env: B\n", "github.private_key_file: set one of"},
		{"no workers", github + "workers: 0\n", "serve.yml:5: workers: must be at least 1"},
		{"bad duration", github + "visibility_timeout: soon\n", `serve.yml:5: "soon" is not a duration`},
		{"no allow", bare, "serve.yml: allow: list the repositories this bot serves"},
		{"empty allow", bare + "allow: []\n", "serve.yml:4: allow: list the repositories this bot serves"},
		{"allow everything", bare + "allow: ['*']\n", `serve.yml:4: "*" is not a repository`},
		{"owner alone", bare + "allow:\n  - acme/shop\n  - acme\n", `serve.yml:6: "acme" is not a repository`},
		{"nested on GitHub", bare + "allow: [acme/shop/x]\n", `serve.yml:4: "acme/shop/x" is not a repository`},
		{"wildcard inside", bare + "allow: ['gitlab:data/*/marts']\n", `"gitlab:data/*/marts" is not a repository`},
		{"unknown host", bare + "allow: ['bitbucket:a/b']\n", `"bitbucket:a/b" is not a repository`},
		{"allow is a string", bare + "allow: acme/shop\n", "serve.yml:4: allow: must be a list"},
		{"repository not allowed", github + "repositories:\n  acme/other: {dsn_env: OTHER_DSN}\n", "serve.yml:6: repositories.acme/other: is not in allow:"},
		{"short timeout", github + "visibility_timeout: 10ms\n", "visibility_timeout: must be at least 1s"},
		{"dsn in the file", github + "repositories:\n  acme/shop: {dsn_env: 'postgres://u:p@h/db'}\n", "serve.yml:6: repositories.acme/shop.dsn_env: must name the environment variable"},
		{"checks dsn in the file", github + "warehouse:\n  checks_dsn_env: 'postgres://u:p@h/db'\n", "serve.yml:6: warehouse.checks_dsn_env: must name the environment variable"},
		{"repository without a dsn", github + "repositories:\n  acme/shop: {checks_dsn_env: SHOP_CHECKS}\n", "serve.yml:6: repositories.acme/shop.dsn_env: must name the environment variable holding the warehouse DSN (or set both"},
		{"short job timeout", github + "job_timeout: 10ms\n", "serve.yml:5: job_timeout: must be at least 1s"},
		{"no host failures", github + "host_failures: 0\n", "serve.yml:5: host_failures: must be at least 1"},
		{"short statement timeout", github + "warehouse:\n  dsn_env: W\n  statement_timeout: 10ms\n", "serve.yml:7: warehouse.statement_timeout: must be at least 1s"},
		{"statement timeout per repository", github + "repositories:\n  acme/shop: {dsn_env: S, statement_timeout: 1m}\n", "serve.yml:6: repositories.acme/shop.statement_timeout: set statement_timeout once, under warehouse:"},
		{"little compile memory", github + "compile:\n  memory_mb: 10\n", "serve.yml:6: compile.memory_mb: must be at least 64"},
		{"short request timeout", "github:\n  app_id: 12\n  private_key_file: app.pem\n  request_timeout: 1ms\n", "serve.yml:4: github.request_timeout: must be at least 100ms"},
		{"web", github + "  client_id: Iv1.abc\npublic_url: https://dataops.example.com/\nweb: {}\n", ""},
		{"web with gitlab", "allow: ['gitlab:a/*']\ngitlab: {application_id: abc}\npublic_url: http://127.0.0.1:8080\nweb:\n  session_ttl: 1h\n", ""},
		{"web without a public url", github + "  client_id: Iv1.abc\nweb: {}\n", "serve.yml:6: public_url: web: needs public_url"},
		{"web without sign-in", github + "public_url: https://x.example.com\nweb:\n  access_cache: 1m\n", "serve.yml:6: web: nobody could sign in: set github.client_id"},
		{"bad public url", github + "public_url: dataops.example.com\n", `serve.yml:5: public_url: "dataops.example.com" is not an http(s) address`},
		{"public url with a query", github + "public_url: https://x.example.com/?a=1\n", "public_url: "},
		{"bad web url", github + "  web_url: ftp://github.example.com\n", "serve.yml:5: github.web_url: "},
		{"short session", github + "  client_id: a\npublic_url: https://x.example.com\nweb: {session_ttl: 10s}\n", "web.session_ttl: must be at least 1m"},
		{"short retention", github + "keep_runs: 10m\n", "serve.yml:5: keep_runs: must be at least 1h"},
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
	s, err := ParseServe("serve.yml", []byte("allow: [acme/*, 'gitlab:data/*']\ngithub:\n  app_id: 12\n  private_key_env: KEY\nrepositories:\n  acme/other: {dsn_env: OTHER_DSN}\n  gitlab:data/marts: {dsn_env: MARTS_DSN}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Listen != ":8080" || s.Workers != 2 || s.VisibilityTimeout.Duration != time.Minute || s.GitHub.WebhookSecretEnv != "DATAOPS_GITHUB_WEBHOOK_SECRET" ||
		s.KeepRuns.Duration != 90*24*time.Hour || s.Web != nil || s.GitHub.WebURL != "https://github.com" || s.GitHub.ClientSecretEnv != "DATAOPS_GITHUB_CLIENT_SECRET" {
		t.Errorf("defaults: %+v", s)
	}
	web, err := ParseServe("serve.yml", []byte("allow: ['gitlab:a/*']\ngitlab:\n  api_url: https://gitlab.example.com/api/v4/\n  application_id: app\npublic_url: https://dataops.example.com/\nweb: {}\n"))
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
	if s.Warehouse.StatementTimeout.Duration != DefaultStatementTimeout {
		t.Errorf("warehouse.statement_timeout defaults to %s, not %s", DefaultStatementTimeout, s.Warehouse.StatementTimeout)
	}
	if set, err := ParseServe("serve.yml", []byte("allow: [acme/*]\ngithub: {app_id: 1, private_key_env: K}\nwarehouse: {statement_timeout: 90s}\n")); err != nil ||
		set.Warehouse.StatementTimeout.Duration != 90*time.Second || set.Warehouse.DSNEnv != "DATAOPS_WAREHOUSE_DSN" {
		t.Errorf("warehouse: {statement_timeout: 90s}: %+v %v", set.Warehouse, err)
	}
	if s.JobTimeout.Duration != 30*time.Minute || s.HostWorkers != 2 || s.HostFailures != 5 || s.HostPause.Duration != 30*time.Second ||
		s.GitHub.RequestTimeout.Duration != DefaultRequestTimeout {
		t.Errorf("deadline defaults: %+v", s)
	}
	for _, purpose := range []string{PurposeChecks, PurposeDeploy} {
		for _, c := range []struct{ host, repo, want string }{
			{"github", "acme/shop", "DATAOPS_WAREHOUSE_DSN"},
			{"github", "acme/other", "OTHER_DSN"},
			{"gitlab", "data/marts", "MARTS_DSN"},
			{"github", "data/marts", "DATAOPS_WAREHOUSE_DSN"},
		} {
			if got := s.DSNEnv(c.host, c.repo, purpose); got != c.want {
				t.Errorf("DSNEnv(%s, %s, %s) = %s, want %s", c.host, c.repo, purpose, got, c.want)
			}
		}
	}
}

// TestServeSeparateCredentials: checks_dsn_env and deploy_dsn_env pick
// the checks' and the deploys' DSNs, each falling back to dsn_env, per
// repository too (never to the default warehouse's: another warehouse).
func TestServeSeparateCredentials(t *testing.T) {
	s, err := ParseServe("serve.yml", []byte(`github: {app_id: 12, private_key_env: KEY}
allow: [acme/*]
workers: 4
warehouse: {checks_dsn_env: CHECKS_DSN, deploy_dsn_env: DEPLOY_DSN}
repositories:
  acme/shop: {dsn_env: SHOP_DSN, deploy_dsn_env: SHOP_DEPLOY_DSN}
  acme/solo: {dsn_env: SOLO_DSN}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.HostWorkers != 4 {
		t.Errorf("host_workers defaults to every worker with one host: %d", s.HostWorkers)
	}
	both, err := ParseServe("serve.yml", []byte("github: {app_id: 12, private_key_env: KEY}\ngitlab: {}\nallow: [acme/*]\nworkers: 4\n"))
	if err != nil || both.HostWorkers != 3 {
		t.Errorf("host_workers with both hosts: %d (%v), want workers - 1", both.HostWorkers, err)
	}
	for _, c := range []struct{ repo, purpose, want string }{
		{"acme/other", PurposeChecks, "CHECKS_DSN"},
		{"acme/other", PurposeDeploy, "DEPLOY_DSN"},
		{"acme/shop", PurposeChecks, "SHOP_DSN"},
		{"acme/shop", PurposeDeploy, "SHOP_DEPLOY_DSN"},
		{"acme/solo", PurposeChecks, "SOLO_DSN"},
		{"acme/solo", PurposeDeploy, "SOLO_DSN"},
	} {
		if got := s.DSNEnv("github", c.repo, c.purpose); got != c.want {
			t.Errorf("DSNEnv(%s, %s) = %s, want %s", c.repo, c.purpose, got, c.want)
		}
	}
}

// TestServeAllowed: which deliveries the bot serves.
func TestServeAllowed(t *testing.T) {
	s, err := ParseServe("serve.yml", []byte("allow: [acme/shop, Octo-Org/*, 'gitlab:data/*', 'gitlab:web/app', 'github:solo/one']\ngithub:\n  app_id: 1\n  private_key_env: K\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, repo string
		want       bool
	}{
		{"github", "acme/shop", true},
		{"github", "ACME/Shop", true}, // GitHub names are not case-sensitive
		{"github", "acme/shop2", false},
		{"github", "acme/sho", false},
		{"github", "acme", false},
		{"github", "acme/shop/x", false},
		{"github", "octo-org/anything", true},
		{"github", "octo-org", false},
		{"github", "octo-orgs/x", false},
		{"github", "solo/one", true},
		{"github", "data/marts", false}, // data/* is a GitLab group
		{"gitlab", "data/marts", true},
		{"gitlab", "data/sub/deeper/x", true}, // subgroups included
		{"gitlab", "data", false},
		{"gitlab", "data//x", false},
		{"gitlab", "database/x", false},
		{"gitlab", "web/app", true},
		{"gitlab", "web/app2", false},
		{"gitlab", "acme/shop", false}, // acme/shop is on GitHub
		{"gitlab", "", false},
		{"local", "acme/shop", false},
	} {
		if got := s.Allowed(c.host, c.repo); got != c.want {
			t.Errorf("Allowed(%s, %q) = %v, want %v", c.host, c.repo, got, c.want)
		}
	}
}

func FuzzParseServe(f *testing.F) {
	f.Add([]byte("allow: [acme/shop]\ngithub:\n  app_id: 12\n  private_key_file: app.pem\n"))
	f.Add([]byte("allow: ['gitlab:a/*']\ngitlab: {bot_user: x}\nrepositories: {'gitlab:a/b': {dsn_env: B}}\nsweep_every: 3d\n"))
	f.Add([]byte("allow: [{x: 1}, '', 'github:', 'gitlab:/', a//b]\ngithub: {app_id: 1, private_key_env: K}\n"))
	f.Add([]byte("allow: ['gitlab:a/*']\ngitlab: {application_id: a}\npublic_url: https://x.example.com\nweb: {session_ttl: 1h}\nkeep_runs: 30d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseServe("serve.yml", data)
		if err != nil {
			return
		}
		if len(s.Allow) == 0 {
			t.Errorf("a configuration that serves nothing was accepted: %q", data)
		}
		for key := range s.Repositories {
			host, repo := "github", key
			if h, r, ok := strings.Cut(key, ":"); ok {
				host, repo = h, r
			}
			if !s.Allowed(host, repo) {
				t.Errorf("repositories.%s is accepted but not allowed", key)
			}
		}
	})
}
