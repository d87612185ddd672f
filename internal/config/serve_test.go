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
		{"dsn in the file", github + "repositories:\n  acme/shop: {dsn_env: 'postgres://u:p@h/db'}\n", "serve.yml:5: repositories.acme/shop.dsn_env: must name the environment variable"},
		{"checks dsn in the file", github + "warehouse:\n  checks_dsn_env: 'postgres://u:p@h/db'\n", "serve.yml:5: warehouse.checks_dsn_env: must name the environment variable"},
		{"repository without a dsn", github + "repositories:\n  acme/shop: {checks_dsn_env: SHOP_CHECKS}\n", "serve.yml:5: repositories.acme/shop.dsn_env: must name the environment variable holding the warehouse DSN (or set both"},
		{"short job timeout", github + "job_timeout: 10ms\n", "serve.yml:4: job_timeout: must be at least 1s"},
		{"no host failures", github + "host_failures: 0\n", "serve.yml:4: host_failures: must be at least 1"},
		{"short request timeout", "github:\n  app_id: 12\n  private_key_file: app.pem\n  request_timeout: 1ms\n", "serve.yml:4: github.request_timeout: must be at least 100ms"},
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
	if s.Listen != ":8080" || s.Workers != 2 || s.VisibilityTimeout.Duration != time.Minute || s.GitHub.WebhookSecretEnv != "DATAOPS_GITHUB_WEBHOOK_SECRET" {
		t.Errorf("defaults: %+v", s)
	}
	if s.JobTimeout.Duration != 30*time.Minute || s.HostWorkers != 1 || s.HostFailures != 5 || s.HostPause.Duration != 30*time.Second ||
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
workers: 4
warehouse: {checks_dsn_env: CHECKS_DSN, deploy_dsn_env: DEPLOY_DSN}
repositories:
  acme/shop: {dsn_env: SHOP_DSN, deploy_dsn_env: SHOP_DEPLOY_DSN}
  acme/solo: {dsn_env: SOLO_DSN}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.HostWorkers != 3 {
		t.Errorf("host_workers defaults to workers - 1: %d", s.HostWorkers)
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

func FuzzParseServe(f *testing.F) {
	f.Add([]byte("github:\n  app_id: 12\n  private_key_file: app.pem\n"))
	f.Add([]byte("gitlab: {bot_user: x}\nrepositories: {a: {dsn_env: B}}\nsweep_every: 3d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseServe("serve.yml", data)
	})
}
