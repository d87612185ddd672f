package store

import (
	"testing"
	"time"
)

func TestResultsAndEnvironments(t *testing.T) {
	eachEngine(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		if sha, data, err := s.Results(ctx, "github:acme/shop", 7); err != nil || sha != "" || data != nil {
			t.Fatalf("no results yet: %q %q %v", sha, data, err)
		}
		for _, r := range []struct{ sha, data string }{{"aaa", `[1]`}, {"bbb", `[2]`}} {
			if err := s.SaveResults(ctx, "github:acme/shop", 7, r.sha, []byte(r.data)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SaveResults(ctx, "gitlab:acme/shop", 7, "ccc", []byte(`[3]`)); err != nil {
			t.Fatal(err)
		}
		if sha, data, err := s.Results(ctx, "github:acme/shop", 7); err != nil || sha != "bbb" || string(data) != `[2]` {
			t.Errorf("results = %q %q %v, want the newer head's", sha, data, err)
		}

		for _, e := range []Environment{
			{Repo: "github:acme/shop", PR: 7, Name: "pr_7", InstallationID: 99, TTL: time.Hour},
			{Repo: "github:acme/shop", PR: 8, Name: "pr_8", InstallationID: 99},
			{Repo: "github:acme/shop", PR: 7, Name: "pr_7", InstallationID: 99, TTL: 2 * time.Hour}, // used again
		} {
			if err := s.TouchEnvironment(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		envs, err := s.Environments(ctx)
		if err != nil || len(envs) != 2 {
			t.Fatalf("environments = %+v, %v", envs, err)
		}
		byPR := map[int]Environment{}
		for _, e := range envs {
			byPR[e.PR] = e
		}
		if e := byPR[7]; e.TTL != 2*time.Hour || e.InstallationID != 99 || e.Name != "pr_7" || time.Since(e.UsedAt) > time.Minute {
			t.Errorf("pr 7: %+v", e)
		}
		now := time.Now()
		if byPR[7].Expired(now) || !byPR[7].Expired(now.Add(3*time.Hour)) || byPR[8].Expired(now.Add(1000*time.Hour)) {
			t.Errorf("expiry wrong: a TTL of 0 never expires, 2h does after 3h")
		}
		if err := s.ForgetEnvironment(ctx, "github:acme/shop", 7); err != nil {
			t.Fatal(err)
		}
		if envs, _ := s.Environments(ctx); len(envs) != 1 || envs[0].PR != 8 {
			t.Errorf("after forgetting pr 7: %+v", envs)
		}
	})
}
