package github_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

// webhookPR is the pull request object of the pull_request.opened payload.
func webhookPR(t *testing.T) json.RawMessage {
	t.Helper()
	var payload struct {
		PullRequest json.RawMessage `json:"pull_request"`
	}
	if err := json.Unmarshal(readFixture(t, "pull_request.opened.json"), &payload); err != nil {
		t.Fatal(err)
	}
	return payload.PullRequest
}

func TestPullRequest(t *testing.T) {
	files := make([]string, 230) // three pages of 100
	for i := range files {
		files[i] = fmt.Sprintf("models/m%03d.sql", i)
	}
	fixture := webhookPR(t)
	tests := []struct {
		name string
		pr   githubtest.PullRequest
		want scm.PullRequest
	}{
		{
			name: "webhook payload, same repository",
			pr:   githubtest.PullRequest{JSON: fixture, Files: files},
			want: scm.PullRequest{Number: 2, Title: "Update the README with new information.", Author: "Codertocat",
				URL: "https://github.com/" + repo + "/pull/2", BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
				HeadRef: "changes", HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", State: "open", ChangedFiles: files},
		},
		{
			name: "webhook payload from a fork",
			pr:   githubtest.PullRequest{JSON: fixture, HeadRepo: "Codertocat/Hello-World", Files: files[:1]},
			want: scm.PullRequest{Number: 2, Title: "Update the README with new information.", Author: "Codertocat",
				URL: "https://github.com/" + repo + "/pull/2", BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
				HeadRef: "changes", HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", State: "open", Fork: true, ChangedFiles: files[:1]},
		},
		{
			name: "deleted fork",
			pr:   githubtest.PullRequest{Number: 3, HeadRepoDeleted: true, HeadSHA: sha, BaseSHA: sha},
			want: scm.PullRequest{Number: 3, Fork: true, State: "open"},
		},
		{
			name: "merged",
			pr:   githubtest.PullRequest{Number: 4, Merged: true},
			want: scm.PullRequest{Number: 4, State: "merged"},
		},
		{
			name: "closed",
			pr:   githubtest.PullRequest{Number: 5, State: "closed"},
			want: scm.PullRequest{Number: 5, State: "closed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.fake.AddPullRequest(repo, tt.pr)
			got, err := e.host.PullRequest(ctx(t), tt.want.Number)
			if err != nil {
				t.Fatalf("PullRequest: %v", err)
			}
			if tt.pr.JSON == nil {
				// Only the fields the case is about.
				if got.Fork != tt.want.Fork || got.State != tt.want.State || got.Number != tt.want.Number {
					t.Errorf("got fork=%v state=%s number=%d, want %+v", got.Fork, got.State, got.Number, tt.want)
				}
				return
			}
			if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
			if n, want := len(calls(e.fake, "pulls/list-files")), (len(tt.pr.Files)+99)/100; n != max(want, 1) {
				t.Errorf("%d pages of files, want %d", n, want)
			}
		})
	}
}

func TestPullRequestNotFound(t *testing.T) {
	e := setup(t)
	_, err := e.host.PullRequest(ctx(t), 404)
	noLeak(t, err)
	if err == nil || !strings.Contains(err.Error(), "read pull request #404: ") || !strings.Contains(err.Error(), "404") {
		t.Errorf("PullRequest = %v", err)
	}
	if n := len(e.fake.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: a 404 is not retried", n)
	}
}

func TestPermission(t *testing.T) {
	e := setup(t)
	for _, p := range []string{"admin", "maintain", "write", "triage", "read", "none"} {
		e.fake.SetPermission("user-"+p, p)
	}
	tests := []struct {
		user string
		want scm.Permission
	}{
		{"user-admin", scm.PermissionAdmin},
		{"user-maintain", scm.PermissionMaintain},
		{"user-write", scm.PermissionWrite},
		{"user-triage", scm.PermissionTriage},
		{"user-read", scm.PermissionRead},
		{"user-none", scm.PermissionNone},
		{"stranger", scm.PermissionNone}, // 404: not a collaborator
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := e.host.Permission(ctx(t), tt.user)
			if err != nil || got != tt.want {
				t.Errorf("Permission(%s) = %s, %v; want %s", tt.user, got, err, tt.want)
			}
		})
	}
	e.fake.FailNext("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", 401, nil)
	if _, err := e.host.Permission(ctx(t), "user-admin"); err == nil || !strings.Contains(err.Error(), "read the permission of user-admin") {
		t.Errorf("Permission with bad credentials = %v", err)
	}
}

func TestArchive(t *testing.T) {
	e := setup(t)
	data := []byte("\x1f\x8b fake tarball bytes")
	e.fake.SetArchive(sha, data)
	rc, err := e.host.Archive(ctx(t), sha)
	if err != nil {
		t.Fatalf("Archive: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("archive = %q, %v", got, err)
	}
	if ops := operations(e.fake); fmt.Sprint(ops) != "[repos/download-tarball-archive codeload]" {
		t.Errorf("requests = %v", ops)
	}

	_, err = e.host.Archive(ctx(t), "0000000000000000000000000000000000000000")
	noLeak(t, err)
	if err == nil || !strings.Contains(err.Error(), "download the archive of 0000000: ") || !strings.Contains(err.Error(), "404") {
		t.Errorf("Archive of an unknown sha = %v", err)
	}
}
