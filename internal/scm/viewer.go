package scm

import (
	"context"
	"errors"
)

// User is a person signed in to the bot's web pages.
type User struct {
	ID    int64
	Login string
	Name  string
}

// Viewer is a code host as one signed-in person sees it, through their own
// OAuth token: who they are, and what they may do with a repository. The
// bot's web pages show a repository only to those the host lets read it.
type Viewer interface {
	User(ctx context.Context) (User, error)
	// Access is the person's permission on repo (owner/name, or a GitLab
	// project's path); PermissionNone when the host does not let them see
	// it.
	Access(ctx context.Context, repo string) (Permission, error)
}

// ErrSignedOut is wrapped when a person's token no longer works (revoked,
// or expired): they sign in again.
var ErrSignedOut = errors.New("the sign-in no longer works (its token was revoked or expired): sign in again")
