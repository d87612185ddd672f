package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Viewer is GitLab as a person signed in with an OAuth application sees
// it, through their token (scope read_api).
type Viewer struct {
	client *gl.Client
}

// NewViewer makes the Viewer of an OAuth token; baseURL is the API root
// (DefaultBaseURL when empty).
func NewViewer(baseURL, token string, client *http.Client) (*Viewer, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gitlab: base URL %q is not an http(s) URL such as %s", baseURL, DefaultBaseURL)
	}
	opts := []gl.ClientOptionFunc{gl.WithBaseURL(baseURL), gl.WithUserAgent("dataops"), gl.WithCustomRetryMax(0)}
	if client != nil {
		opts = append(opts, gl.WithHTTPClient(client))
	}
	c, err := gl.NewAuthSourceClient(bearer{token}, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	return &Viewer{client: c}, nil
}

// User reads who the token belongs to (GET /user).
func (v *Viewer) User(ctx context.Context) (scm.User, error) {
	u, _, err := v.client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return scm.User{}, viewerError("read who signed in", err)
	}
	return scm.User{ID: int64(u.ID), Login: u.Username, Name: u.Name}, nil
}

// Access reads the person's access to a project (GET /projects/:id):
// GitLab answers 404 to those who may not see it, and an access level of
// none to those who read it because it is public or internal.
func (v *Viewer) Access(ctx context.Context, repo string) (scm.Permission, error) {
	p, resp, err := v.client.Projects.GetProject(repo, nil, gl.WithContext(ctx))
	if resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden) {
		return scm.PermissionNone, nil
	}
	if err != nil {
		return scm.PermissionNone, viewerError("read your access to "+repo, err)
	}
	level := gl.NoPermissions
	if p.Permissions != nil {
		if a := p.Permissions.ProjectAccess; a != nil {
			level = max(level, a.AccessLevel)
		}
		if a := p.Permissions.GroupAccess; a != nil {
			level = max(level, a.AccessLevel)
		}
	}
	if level == gl.NoPermissions {
		return scm.PermissionRead, nil // visible to all who signed in
	}
	return permissionOf(level), nil
}

func viewerError(op string, err error) error {
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("gitlab: %s: %w", op, scm.ErrSignedOut)
	}
	return fmt.Errorf("gitlab: %s: %w", op, err)
}
