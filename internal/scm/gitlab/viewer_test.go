package gitlab_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/gitlab"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
)

// TestViewer: a person's token tells who they are and their access to the
// project by their level; a stranger sees a private project not at all
// and a public one read-only; a revoked token says to sign in again.
func TestViewer(t *testing.T) {
	fake := gitlabtest.NewServer(t)
	fake.AddMember(gitlabtest.Member{User: gitlabtest.User{ID: 801, Username: "dev"}, AccessLevel: 30})
	fake.AddMember(gitlabtest.Member{User: gitlabtest.User{ID: 802, Username: "rep"}, AccessLevel: 20})
	ctx := context.Background()
	project := fake.Project().Path
	for _, c := range []struct {
		user   string
		public bool
		want   scm.Permission
	}{
		{"dev", false, scm.PermissionWrite},
		{"rep", false, scm.PermissionTriage},
		{"stranger", false, scm.PermissionNone},
		{"stranger", true, scm.PermissionRead},
	} {
		fake.SetPublic(c.public)
		v, err := gitlab.NewViewer(fake.BaseURL(), fake.IssueOAuthToken(c.user, "read_api"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := v.User(ctx); err != nil || u.Login != c.user {
			t.Errorf("%s: user %+v %v", c.user, u, err)
		}
		if got, err := v.Access(ctx, project); err != nil || got != c.want {
			t.Errorf("%s (public %v): %s %v, want %s", c.user, c.public, got, err, c.want)
		}
	}
	v, _ := gitlab.NewViewer(fake.BaseURL(), fake.IssueOAuthToken("dev", "read_api"), nil)
	fake.RevokeOAuthTokens("dev")
	if _, err := v.Access(ctx, project); !errors.Is(err, scm.ErrSignedOut) {
		t.Errorf("a revoked token: %v, want ErrSignedOut", err)
	}
}
