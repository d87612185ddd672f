package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// maxChangedFiles is how many files GitHub lists for a pull request.
const maxChangedFiles = 3000

// PullRequest reads a pull request and the paths it changes.
func (h *Host) PullRequest(ctx context.Context, number int) (*scm.PullRequest, error) {
	if err := ctxOK(ctx); err != nil {
		return nil, err
	}
	pr, _, err := h.client.PullRequests.Get(ctx, h.owner, h.repo, number)
	if err != nil {
		return nil, h.fail(err, "read pull request #%d", number)
	}
	out := &scm.PullRequest{
		Number:  pr.GetNumber(),
		Title:   pr.GetTitle(),
		Author:  pr.GetUser().GetLogin(),
		URL:     pr.GetHTMLURL(),
		BaseRef: pr.GetBase().GetRef(),
		BaseSHA: pr.GetBase().GetSHA(),
		HeadRef: pr.GetHead().GetRef(),
		HeadSHA: pr.GetHead().GetSHA(),
		State:   pr.GetState(),
	}
	if pr.GetMerged() || (out.State == "closed" && pr.MergedAt != nil) {
		out.State = "merged"
	}
	// A deleted fork leaves head.repo null: that is a fork too.
	head, base := pr.GetHead().GetRepo(), pr.GetBase().GetRepo()
	out.Fork = head == nil || !strings.EqualFold(head.GetFullName(), base.GetFullName())

	opts := &gh.ListOptions{PerPage: 100}
	for {
		files, resp, err := h.client.PullRequests.ListFiles(ctx, h.owner, h.repo, number, opts)
		if err != nil {
			return nil, h.fail(err, "list the files of pull request #%d", number)
		}
		for _, f := range files {
			out.ChangedFiles = append(out.ChangedFiles, f.GetFilename())
		}
		if resp.NextPage == 0 || len(out.ChangedFiles) >= maxChangedFiles {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(out.ChangedFiles) >= maxChangedFiles {
		h.log.Warn("github: the pull request changes more files than GitHub lists; the list is incomplete", "pull_request", number, "files", len(out.ChangedFiles))
	}
	return out, nil
}

// collaboratorPermission is GitHub's answer, with role_name, which go-github
// v62 does not decode: it tells maintain and triage apart from write and
// read.
type collaboratorPermission struct {
	Permission string `json:"permission"`
	RoleName   string `json:"role_name"`
}

// Permission tells a user's access to the repository; a user GitHub does
// not know as a collaborator (404) has none.
func (h *Host) Permission(ctx context.Context, user string) (scm.Permission, error) {
	if err := ctxOK(ctx); err != nil {
		return scm.PermissionNone, err
	}
	if user == "" {
		return scm.PermissionNone, fmt.Errorf("read permission: no user")
	}
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(h.owner), url.PathEscape(h.repo), url.PathEscape(user))
	req, err := h.client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return scm.PermissionNone, h.fail(err, "read the permission of %s", user)
	}
	var p collaboratorPermission
	if _, err := h.client.Do(ctx, req, &p); err != nil {
		if status(err) == http.StatusNotFound {
			return scm.PermissionNone, nil
		}
		return scm.PermissionNone, h.fail(err, "read the permission of %s", user)
	}
	for _, v := range []string{p.RoleName, p.Permission} {
		switch perm := scm.Permission(v); perm {
		case scm.PermissionAdmin, scm.PermissionMaintain, scm.PermissionWrite,
			scm.PermissionTriage, scm.PermissionRead, scm.PermissionNone:
			return perm, nil
		}
	}
	// A custom role's name is not one of GitHub's; its base permission is.
	return scm.PermissionNone, nil
}
