package github_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/github"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

// TestViewer: a person's token tells who they are and their permission
// on each repository; one they may not see is none; a revoked token says
// to sign in again.
func TestViewer(t *testing.T) {
	fake := githubtest.NewServer(t)
	fake.SetPermission("ann", "maintain")
	fake.SetRepoPermission("acme/secret", "ann", "none")
	fake.SetRepoPermission("acme/docs", "ann", "triage")
	ctx := context.Background()
	v, err := github.NewViewer(fake.EnterpriseURL(), fake.IssueUserToken("ann"), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := v.User(ctx)
	if err != nil || u.Login != "ann" || u.ID == 0 {
		t.Fatalf("user: %+v %v", u, err)
	}
	for repo, want := range map[string]scm.Permission{"acme/shop": scm.PermissionMaintain, "acme/secret": scm.PermissionNone, "acme/docs": scm.PermissionTriage} {
		if got, err := v.Access(ctx, repo); err != nil || got != want {
			t.Errorf("access to %s: %s %v, want %s", repo, got, err, want)
		}
	}
	fake.RevokeUserTokens("ann")
	if _, err := v.Access(ctx, "acme/shop"); !errors.Is(err, scm.ErrSignedOut) {
		t.Errorf("a revoked token: %v, want ErrSignedOut", err)
	}
	if _, err := v.User(ctx); !errors.Is(err, scm.ErrSignedOut) {
		t.Errorf("a revoked token: %v, want ErrSignedOut", err)
	}
}
