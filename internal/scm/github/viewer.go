package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Viewer is GitHub as a person signed in with the App sees it, through
// their user access token. Such a token reaches only what both the person
// and the App may: a repository the App is not installed on is as hidden
// as one the person cannot read.
type Viewer struct {
	client *gh.Client
}

// NewViewer makes the Viewer of a user access token; baseURL is the API's
// (DefaultBaseURL when empty).
func NewViewer(baseURL, token string, client *http.Client) (*Viewer, error) {
	if client == nil {
		client = &http.Client{}
	}
	c := gh.NewClient(client).WithAuthToken(token)
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github: API URL %q is not an http(s) URL such as %s", baseURL, DefaultBaseURL)
	}
	c.BaseURL = u
	return &Viewer{client: c}, nil
}

// User reads who the token belongs to (GET /user).
func (v *Viewer) User(ctx context.Context) (scm.User, error) {
	u, _, err := v.client.Users.Get(ctx, "")
	if err != nil {
		return scm.User{}, viewerError("read who signed in", err)
	}
	return scm.User{ID: u.GetID(), Login: u.GetLogin(), Name: u.GetName()}, nil
}

// Access reads the person's permissions on a repository (GET
// /repos/{owner}/{repo}); GitHub answers 404 to those who may not see it.
func (v *Viewer) Access(ctx context.Context, repo string) (scm.Permission, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return scm.PermissionNone, fmt.Errorf("github: repository %q is not owner/name", repo)
	}
	r, resp, err := v.client.Repositories.Get(ctx, owner, name)
	if resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden) {
		return scm.PermissionNone, nil
	}
	if err != nil {
		return scm.PermissionNone, viewerError("read your access to "+repo, err)
	}
	p := r.GetPermissions()
	switch {
	case p["admin"]:
		return scm.PermissionAdmin, nil
	case p["maintain"]:
		return scm.PermissionMaintain, nil
	case p["push"]:
		return scm.PermissionWrite, nil
	case p["triage"]:
		return scm.PermissionTriage, nil
	case p["pull"]:
		return scm.PermissionRead, nil
	}
	return scm.PermissionNone, nil
}

func viewerError(op string, err error) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("github: %s: %w", op, scm.ErrSignedOut)
	}
	return fmt.Errorf("github: %s: %w", op, err)
}
