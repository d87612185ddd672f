package gitlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/dataops-dev/dataops/internal/logtest"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
)

const (
	mrPattern       = "/projects/:id/merge_requests/:merge_request_iid"
	diffsPattern    = "/projects/:id/merge_requests/:merge_request_iid/diffs"
	notesPattern    = "/projects/:id/merge_requests/:merge_request_iid/notes"
	notePattern     = "/projects/:id/merge_requests/:merge_request_iid/notes/:note_id"
	statusPattern   = "/projects/:id/statuses/:sha"
	awardPattern    = "/projects/:id/merge_requests/:merge_request_iid/notes/:note_id/award_emoji"
	membersPattern  = "/projects/:id/members/all"
	archivePattern  = "/projects/:id/repository/archive[.format]"
	commentMarker   = "<!-- dataops:comment -->"
	secondMRIID     = 2
	forkedProjectID = 99
)

func TestNew(t *testing.T) {
	const token = "glpat-new-test-secret"
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", Options{Project: "g/p", Token: token}, ""},
		{"no project", Options{Token: token}, "no project"},
		{"no token", Options{Project: "g/p"}, "no token"},
		{"unknown token kind", Options{Project: "g/p", Token: token, TokenKind: "basic"}, `unknown token kind "basic"`},
		{"base URL without scheme", Options{Project: "g/p", Token: token, BaseURL: "gitlab.example.com"}, "not an http(s) URL"},
		{"self-managed base URL", Options{Project: "g/p", Token: token, BaseURL: "https://git.example.com/gitlab/api/v4"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: %v, want an error containing %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), token):
				t.Fatalf("New's error holds the token: %v", err)
			}
		})
	}
}

func TestPullRequest(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	h, _ := newHost(t, srv)
	srv.AddMergeRequest(gitlabtest.MergeRequest{
		IID: secondMRIID, Title: "From a fork", SourceBranch: "feature", TargetBranch: "main",
		SourceProjectID: forkedProjectID, Author: gitlabtest.User{ID: 8, Username: "outsider"},
		SHA: "1111111111111111111111111111111111111111",
	})
	var many []gitlabtest.Diff
	for i := range 230 {
		p := fmt.Sprintf("models/m%03d.sql", i)
		many = append(many, gitlabtest.Diff{OldPath: p, NewPath: p})
	}
	many[10] = gitlabtest.Diff{OldPath: "models/old_name.sql", NewPath: "models/new_name.sql", RenamedFile: true}
	many[20] = gitlabtest.Diff{OldPath: "models/gone.sql", NewPath: "models/gone.sql", DeletedFile: true}
	srv.AddMergeRequest(gitlabtest.MergeRequest{IID: 3, SourceBranch: "big", TargetBranch: "main", SHA: "3333333333333333333333333333333333333333", Diffs: many})
	for iid, state := range map[int]string{4: "merged", 5: "closed", 6: "locked"} {
		srv.AddMergeRequest(gitlabtest.MergeRequest{IID: iid, State: state, SourceBranch: "b", TargetBranch: "main", SHA: strings.Repeat(strconv.Itoa(iid), 40)})
	}

	tests := []struct {
		name   string
		number int
		check  func(t *testing.T, pr *scm.PullRequest)
	}{
		{"seeded from merge_request.json", gitlabtest.SeedMRIID, func(t *testing.T, pr *scm.PullRequest) {
			want := scm.PullRequest{
				Number: 1, Title: "MS-Viewport", Author: "user1",
				URL:     srv.URL + "/awesome_space/awesome_project/-/merge_requests/1",
				BaseRef: "master", BaseSHA: gitlabtest.SeedBaseSHA, HeadRef: "ms-viewport", HeadSHA: headSHA,
				State: "open", ChangedFiles: []string{"models/staging/stg_orders.sql", "models/marts/fct_orders.sql"},
			}
			if fmt.Sprint(*pr) != fmt.Sprint(want) {
				t.Errorf("got  %+v\nwant %+v", *pr, want)
			}
		}},
		{"fork", secondMRIID, func(t *testing.T, pr *scm.PullRequest) {
			if !pr.Fork || pr.Author != "outsider" {
				t.Errorf("fork %v, author %q; want a fork by outsider", pr.Fork, pr.Author)
			}
		}},
		{"changed files over three pages, renames and deletions", 3, func(t *testing.T, pr *scm.PullRequest) {
			if len(pr.ChangedFiles) != 231 {
				t.Errorf("%d changed files, want 231 (230 and a rename's old path)", len(pr.ChangedFiles))
			}
			for _, p := range []string{"models/new_name.sql", "models/old_name.sql", "models/gone.sql", "models/m229.sql"} {
				if !slices.Contains(pr.ChangedFiles, p) {
					t.Errorf("changed files lack %s", p)
				}
			}
		}},
		{"merged", 4, func(t *testing.T, pr *scm.PullRequest) { wantState(t, pr, "merged") }},
		{"closed", 5, func(t *testing.T, pr *scm.PullRequest) { wantState(t, pr, "closed") }},
		{"locked while merging is open", 6, func(t *testing.T, pr *scm.PullRequest) { wantState(t, pr, "open") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr, err := h.PullRequest(context.Background(), tt.number)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, pr)
		})
	}

	t.Run("diffs paged by 100", func(t *testing.T) {
		var pages []string
		for _, r := range srv.RequestsTo("GET", diffsPattern) {
			if strings.HasSuffix(r.Path, "/3/diffs") {
				pages = append(pages, r.Query.Get("page")+"/"+r.Query.Get("per_page"))
			}
		}
		if fmt.Sprint(pages) != "[1/100 2/100 3/100]" {
			t.Errorf("diffs pages %v, want [1/100 2/100 3/100]", pages)
		}
	})

	t.Run("missing merge request", func(t *testing.T) {
		_, err := h.PullRequest(context.Background(), 404)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "read merge request !404 of awesome_space/awesome_project") {
			t.Errorf("got %v, want a not-found error saying what was read", err)
		}
	})
}

func wantState(t *testing.T, pr *scm.PullRequest, state string) {
	t.Helper()
	if pr.State != state {
		t.Errorf("state %q, want %q", pr.State, state)
	}
}

func TestPermission(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	h, _ := newHost(t, srv)
	member := func(id int, name string, level int, inherited bool) gitlabtest.Member {
		return gitlabtest.Member{User: gitlabtest.User{ID: id, Username: name}, AccessLevel: level, Inherited: inherited}
	}
	for _, m := range []gitlabtest.Member{
		member(1, "owner", 50, false),
		member(2, "maintainer", 40, false),
		member(3, "developer", 30, false),
		member(4, "reporter", 20, false),
		member(5, "planner", 15, false),
		member(6, "guest", 10, false),
		member(7, "minimal", 5, false),
		member(8, "groupie", 40, true), // from the group above the project
		member(9, "both", 20, false),
		member(9, "both", 50, true), // a group's Owner and the project's Reporter: Owner
		member(10, "ann", 10, false),
		member(11, "anna", 40, false), // query "ann" matches both ann and anna
		member(12, "admin", 60, true),
		{User: gitlabtest.User{ID: 13, Username: "blocked"}, AccessLevel: 40, State: "blocked"},
	} {
		srv.AddMember(m)
	}
	for i := range 150 { // more matches for "dev" than one page holds
		srv.AddMember(member(100+i, fmt.Sprintf("devbot%03d", i), 30, true))
	}
	srv.AddMember(member(999, "dev", 40, false))

	tests := []struct {
		user string
		want scm.Permission
	}{
		{"owner", scm.PermissionAdmin},
		{"maintainer", scm.PermissionMaintain},
		{"developer", scm.PermissionWrite},
		{"reporter", scm.PermissionTriage},
		{"planner", scm.PermissionRead},
		{"guest", scm.PermissionRead},
		{"minimal", scm.PermissionRead},
		{"groupie", scm.PermissionMaintain},
		{"both", scm.PermissionAdmin},
		{"ann", scm.PermissionRead},
		{"ANNA", scm.PermissionMaintain},
		{"@developer", scm.PermissionWrite},
		{"admin", scm.PermissionAdmin},
		{"blocked", scm.PermissionNone},
		{"stranger", scm.PermissionNone},
		{"dev", scm.PermissionMaintain}, // on the second page of matches
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := h.Permission(context.Background(), tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Permission(%q) = %q, want %q", tt.user, got, tt.want)
			}
		})
	}
	t.Run("query is the username", func(t *testing.T) {
		reqs := srv.RequestsTo("GET", membersPattern)
		if len(reqs) == 0 || reqs[0].Query.Get("query") != "owner" || reqs[0].Query.Get("per_page") != "100" {
			t.Errorf("first members request %+v, want query=owner per_page=100", reqs[0].Query)
		}
	})
	t.Run("forbidden is an error, never a guess", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		srv.Forbid("GET", membersPattern, gitlabtest.ForbiddenRole)
		got, err := h.Permission(context.Background(), "owner")
		if !errors.Is(err, ErrForbidden) || got != scm.PermissionNone || !strings.Contains(err.Error(), "Guest role") {
			t.Errorf("got %q, %v; want none and a forbidden error naming the role", got, err)
		}
	})
}

func TestUpsertComment(t *testing.T) {
	ctx := context.Background()
	mine := func(srv *gitlabtest.Server) []gitlabtest.Note {
		var out []gitlabtest.Note
		for _, n := range srv.Notes(gitlabtest.SeedMRIID) {
			if strings.Contains(n.Body, commentMarker) && n.Author.ID == gitlabtest.BotUserID {
				out = append(out, n)
			}
		}
		return out
	}
	tests := []struct {
		name  string
		setup func(srv *gitlabtest.Server)
		calls []string // bodies upserted in turn
		check func(t *testing.T, srv *gitlabtest.Server)
	}{
		{
			name:  "creates, then edits, never duplicates",
			calls: []string{"first " + commentMarker, "second " + commentMarker, "third " + commentMarker},
			check: func(t *testing.T, srv *gitlabtest.Server) {
				got := mine(srv)
				if len(got) != 1 || !strings.HasPrefix(got[0].Body, "third") {
					t.Errorf("notes %+v, want one holding the third body", got)
				}
				if n := len(srv.RequestsTo("POST", notesPattern)); n != 1 {
					t.Errorf("%d notes created, want 1", n)
				}
			},
		},
		{
			name:  "adds the marker when the body lacks it",
			calls: []string{"no marker", "still none"},
			check: func(t *testing.T, srv *gitlabtest.Server) {
				got := mine(srv)
				if len(got) != 1 || got[0].Body != "still none\n\n"+commentMarker {
					t.Errorf("notes %+v, want one ending in the marker", got)
				}
			},
		},
		{
			name: "edits the existing note found on a later page",
			setup: func(srv *gitlabtest.Server) {
				for i := range 250 {
					srv.AddNote(gitlabtest.SeedMRIID, gitlabtest.Note{Body: fmt.Sprintf("chatter %d", i), Author: gitlabtest.User{ID: 3, Username: "dev"},
						CreatedAt: time.Date(2024, 1, 1, 0, i, 0, 0, time.UTC)})
				}
				srv.AddNote(gitlabtest.SeedMRIID, gitlabtest.Note{Body: "old " + commentMarker, CreatedAt: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)})
			},
			calls: []string{"new " + commentMarker},
			check: func(t *testing.T, srv *gitlabtest.Server) {
				if got := mine(srv); len(got) != 1 || !strings.HasPrefix(got[0].Body, "new") {
					t.Errorf("notes %+v, want the old note edited", got)
				}
				if n := len(srv.RequestsTo("GET", notesPattern)); n != 3 {
					t.Errorf("%d pages of notes read, want 3", n)
				}
			},
		},
		{
			name: "skips system notes and notes it may not edit",
			setup: func(srv *gitlabtest.Server) {
				srv.AddNote(gitlabtest.SeedMRIID, gitlabtest.Note{Body: "changed the description " + commentMarker, System: true, Author: gitlabtest.User{ID: 3, Username: "dev"}})
				srv.AddNote(gitlabtest.SeedMRIID, gitlabtest.Note{Body: "quoting you: " + commentMarker, Author: gitlabtest.User{ID: 3, Username: "dev"}})
			},
			calls: []string{"one " + commentMarker, "two " + commentMarker},
			check: func(t *testing.T, srv *gitlabtest.Server) {
				if got := mine(srv); len(got) != 1 || !strings.HasPrefix(got[0].Body, "two") {
					t.Errorf("own notes %+v, want one holding the second body", got)
				}
				for _, n := range srv.Notes(gitlabtest.SeedMRIID) {
					if n.Author.ID == 3 && !strings.Contains(n.Body, "quoting you") && !n.System {
						t.Errorf("someone else's note was edited: %+v", n)
					}
				}
				for _, r := range srv.RequestsTo("PUT", notePattern) {
					if r.Status != 200 && r.Status != 403 {
						t.Errorf("edit answered %d", r.Status)
					}
				}
			},
		},
		{
			name: "a 502 after GitLab created the note does not duplicate it",
			setup: func(srv *gitlabtest.Server) {
				srv.FailNextAfterApplying("POST", notesPattern, http.StatusBadGateway)
			},
			calls: []string{"body " + commentMarker},
			check: func(t *testing.T, srv *gitlabtest.Server) {
				if got := mine(srv); len(got) != 1 {
					t.Errorf("%d notes, want 1", len(got))
				}
				if n := len(srv.RequestsTo("POST", notesPattern)); n != 1 {
					t.Errorf("%d creations, want 1: the second look found the note", n)
				}
			},
		},
		{
			name: "a 500 before GitLab created the note is tried again",
			setup: func(srv *gitlabtest.Server) {
				srv.FailNext("POST", notesPattern, http.StatusInternalServerError, nil)
			},
			calls: []string{"body " + commentMarker},
			check: func(t *testing.T, srv *gitlabtest.Server) {
				if got := mine(srv); len(got) != 1 {
					t.Errorf("%d notes, want 1", len(got))
				}
			},
		},
		{
			name:  "a body over GitLab's limit is cut, the marker kept",
			calls: []string{strings.Repeat("x", maxNoteBody+10) + commentMarker},
			check: func(t *testing.T, srv *gitlabtest.Server) {
				got := mine(srv)
				if len(got) != 1 || !strings.HasSuffix(got[0].Body, commentMarker) || len([]rune(got[0].Body)) > maxNoteBody {
					t.Errorf("note of %d characters, want at most %d ending in the marker", len([]rune(got[0].Body)), maxNoteBody)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv)
			if tt.setup != nil {
				tt.setup(srv)
			}
			for _, body := range tt.calls {
				if err := h.UpsertComment(ctx, gitlabtest.SeedMRIID, commentMarker, body); err != nil {
					t.Fatal(err)
				}
			}
			tt.check(t, srv)
			if got := srv.Notes(gitlabtest.SeedMRIID)[0]; got.ID != gitlabtest.SeedNoteID || got.Body != "This MR needs work." {
				t.Errorf("the fixture's note changed: %+v", got)
			}
		})
	}
}

// A token without the permission skips the comment, status or reaction
// with one message naming what is missing, and the run goes on.
func TestForbiddenFallsBack(t *testing.T) {
	ctx := context.Background()
	check := scm.Check{Name: scm.CheckCompile, Status: scm.StatusCompleted, Conclusion: scm.ConclusionSuccess, Title: "ok"}
	tests := []struct {
		name      string
		method    string
		pattern   string
		why       gitlabtest.Forbidden
		tokenKind string
		status    int // a FailNext status instead of Forbid
		call      func(h *Host) error
		want      []string // in the one warning
	}{
		{"comment, read_api token", "POST", notesPattern, gitlabtest.ForbiddenScope, "", 0,
			func(h *Host) error { return h.UpsertComment(ctx, 1, commentMarker, "hi") },
			[]string{"merge request comment skipped", "lacks the api scope", "write merge request notes", "goes on without it"}},
		{"comment, Guest user", "POST", notesPattern, gitlabtest.ForbiddenRole, "", 0,
			func(h *Host) error { return h.UpsertComment(ctx, 1, commentMarker, "hi") },
			[]string{"merge request comment skipped", "at least the Reporter role", "the api scope"}},
		{"comment, notes unreadable", "GET", notesPattern, gitlabtest.ForbiddenRole, "", 0,
			func(h *Host) error { return h.UpsertComment(ctx, 1, commentMarker, "hi") },
			[]string{"merge request comment skipped", "Reporter role"}},
		{"comment, CI_JOB_TOKEN", "GET", notesPattern, 0, gitlabtest.TokenJob, http.StatusUnauthorized,
			func(h *Host) error { return h.UpsertComment(ctx, 1, commentMarker, "hi") },
			[]string{"merge request comment skipped", "CI_JOB_TOKEN cannot write merge request notes", "project access token with the api scope"}},
		{"status, Reporter user", "POST", statusPattern, gitlabtest.ForbiddenRole, "", 0,
			func(h *Host) error { return h.PublishCheck(ctx, headSHA, check) },
			[]string{"commit status dataops/compile skipped", "at least the Developer role"}},
		{"reaction, read_api token", "POST", awardPattern, gitlabtest.ForbiddenScope, "", 0,
			func(h *Host) error { return h.React(ctx, 1, gitlabtest.SeedNoteID, scm.ReactionEyes) },
			[]string{"reaction skipped", "lacks the api scope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			if tt.tokenKind != "" {
				srv.SetToken(tt.tokenKind, gitlabtest.DefaultToken)
			}
			h, logs := newHost(t, srv, func(o *Options) { o.TokenKind = tt.tokenKind })
			for range 3 { // as a pipeline would, once per stage
				if tt.status != 0 {
					srv.FailNext(tt.method, tt.pattern, tt.status, nil)
				} else {
					srv.Forbid(tt.method, tt.pattern, tt.why)
				}
				if err := tt.call(h); err != nil {
					t.Fatalf("got %v, want the operation skipped", err)
				}
			}
			warns := logs.Lines("level=" + "WARN")
			if len(warns) != 1 {
				t.Fatalf("%d warnings, want exactly one:\n%s", len(warns), logs)
			}
			for _, w := range tt.want {
				if !strings.Contains(warns[0], w) {
					t.Errorf("warning %q lacks %q", warns[0], w)
				}
			}
		})
	}
}

func TestPublishCheck(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("ü", 300)
	tests := []struct {
		name      string
		check     scm.Check
		wantState string
		wantDesc  string
	}{
		{"queued", scm.Check{Status: scm.StatusQueued, Title: "Waiting"}, "pending", "Waiting"},
		{"in progress", scm.Check{Status: scm.StatusInProgress, Title: "Compiling 13 models"}, "running", "Compiling 13 models"},
		{"success", scm.Check{Status: scm.StatusCompleted, Conclusion: scm.ConclusionSuccess, Title: "13 models compiled"}, "success", "13 models compiled"},
		{"failure", scm.Check{Status: scm.StatusCompleted, Conclusion: scm.ConclusionFailure, Title: "2 errors"}, "failed", "2 errors"},
		{"cancelled", scm.Check{Status: scm.StatusCompleted, Conclusion: scm.ConclusionCancelled, Title: "Superseded"}, "canceled", "Superseded"},
		{"neutral passes and says so", scm.Check{Status: scm.StatusCompleted, Conclusion: scm.ConclusionNeutral, Title: "No data to diff"}, "success", "Neutral: No data to diff"},
		{"skipped passes and says so", scm.Check{Status: scm.StatusCompleted, Conclusion: scm.ConclusionSkipped, Title: "No models changed"}, "success", "Skipped: No models changed"},
		{"skipped without a title", scm.Check{Status: scm.StatusCompleted, Conclusion: scm.ConclusionSkipped}, "success", "Skipped"},
		{"title cut to 255 characters", scm.Check{Status: scm.StatusCompleted, Conclusion: scm.ConclusionFailure, Title: long}, "failed", strings.Repeat("ü", 254) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv)
			tt.check.Name = scm.CheckBuild
			tt.check.DetailsURL = "https://ci.example.com/jobs/1"
			tt.check.Annotations = []scm.Annotation{{Path: "models/a.sql", Line: 1, Level: scm.LevelFailure, Message: "x"}}
			if err := h.PublishCheck(ctx, headSHA, tt.check); err != nil {
				t.Fatal(err)
			}
			got := srv.LatestStatuses(headSHA)[scm.CheckBuild]
			if got.Status != tt.wantState || got.Description != tt.wantDesc || got.TargetURL != "https://ci.example.com/jobs/1" || got.Ref != "ms-viewport" {
				t.Errorf("status %+v, want %s %q", got, tt.wantState, tt.wantDesc)
			}
		})
	}

	t.Run("one status per stage, each moving through its states", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		stages := []string{scm.CheckCompile, scm.CheckDryRun, scm.CheckBuild, scm.CheckDiff, scm.CheckGate}
		for _, step := range []scm.Check{
			{Status: scm.StatusQueued},
			{Status: scm.StatusInProgress},
			{Status: scm.StatusInProgress, Title: "still running"}, // GitLab refuses running -> running; fine
			{Status: scm.StatusCompleted, Conclusion: scm.ConclusionSuccess},
		} {
			for _, name := range stages {
				step.Name = name
				if err := h.PublishCheck(ctx, headSHA, step); err != nil {
					t.Fatalf("%s %s: %v", name, step.Status, err)
				}
			}
		}
		latest := srv.LatestStatuses(headSHA)
		for _, name := range stages {
			if latest[name].Status != "success" {
				t.Errorf("%s is %q, want success", name, latest[name].Status)
			}
		}
		if n := len(srv.Statuses(headSHA)); n != len(stages) {
			t.Errorf("%d statuses on the commit, want one per stage (%d)", n, len(stages))
		}
		// A rerun starts over: GitLab keeps the old status as retried.
		if err := h.PublishCheck(ctx, headSHA, scm.Check{Name: scm.CheckGate, Status: scm.StatusCompleted, Conclusion: scm.ConclusionFailure, Title: "blocked"}); err != nil {
			t.Fatal(err)
		}
		if got := srv.LatestStatuses(headSHA)[scm.CheckGate]; got.Status != "failed" || got.Description != "blocked" {
			t.Errorf("gate after the rerun %+v, want failed", got)
		}
		if got := srv.LatestStatuses("bcbb5ec396a2c0f828686f14fac9b80b780504f2"); len(got) != 5 {
			t.Errorf("pipeline.json's job statuses changed: %+v", got)
		}
	})

	t.Run("a link GitLab would refuse is dropped, not the status", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, logs := newHost(t, srv)
		c := scm.Check{Name: scm.CheckDiff, Status: scm.StatusCompleted, Conclusion: scm.ConclusionSuccess,
			DetailsURL: "https://ci.example.com/" + strings.Repeat("a", 300)}
		if err := h.PublishCheck(ctx, headSHA, c); err != nil {
			t.Fatal(err)
		}
		if got := srv.LatestStatuses(headSHA)[scm.CheckDiff]; got.Status != "success" || got.TargetURL != "" {
			t.Errorf("status %+v, want success without a link", got)
		}
		if !strings.Contains(logs.String(), "without its link") {
			t.Errorf("no warning about the link:\n%s", logs)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		for _, c := range []scm.Check{
			{Name: scm.CheckGate, Status: "done"},
			{Name: scm.CheckGate, Status: scm.StatusCompleted, Conclusion: "stale"},
			{Status: scm.StatusQueued},
		} {
			if err := h.PublishCheck(ctx, headSHA, c); err == nil {
				t.Errorf("PublishCheck(%+v) succeeded, want an error", c)
			}
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests for bad input, want none", n)
		}
	})

	t.Run("unknown commit", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		err := h.PublishCheck(ctx, strings.Repeat("f", 40), scm.Check{Name: scm.CheckGate, Status: scm.StatusQueued})
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "set commit status dataops/gate on ffffffffffff") {
			t.Errorf("got %v, want a not-found error naming the status and commit", err)
		}
	})
}

func TestReact(t *testing.T) {
	ctx := context.Background()
	srv := gitlabtest.NewServer(t)
	h, _ := newHost(t, srv)
	for _, r := range []scm.Reaction{scm.ReactionEyes, scm.ReactionRocket, scm.ReactionConfused, scm.ReactionEyes} {
		if err := h.React(ctx, gitlabtest.SeedMRIID, gitlabtest.SeedNoteID, r); err != nil {
			t.Fatalf("React %s: %v", r, err)
		}
	}
	var names []string
	for _, a := range srv.AwardEmoji(gitlabtest.SeedNoteID) {
		names = append(names, a.Name)
	}
	if fmt.Sprint(names) != "[eyes rocket confused]" {
		t.Errorf("awarded %v, want [eyes rocket confused]: a repeat is not an error", names)
	}
	if err := h.React(ctx, gitlabtest.SeedMRIID, 777, scm.ReactionRocket); !errors.Is(err, ErrNotFound) {
		t.Errorf("reacting to a missing note: %v, want not found", err)
	}
	before := len(srv.Requests())
	if err := h.React(ctx, gitlabtest.SeedMRIID, gitlabtest.SeedNoteID, scm.Reaction("+1")); err == nil {
		t.Error("an unknown reaction succeeded")
	}
	if len(srv.Requests()) != before {
		t.Error("an unknown reaction reached GitLab")
	}
}

func TestArchive(t *testing.T) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("tarball bytes "), 100_000)

	t.Run("streams the archive of the commit", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		srv.SetArchive(headSHA, content)
		rc, err := h.Archive(ctx, headSHA)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(content))
		}
		r := srv.RequestsTo("GET", archivePattern)[0]
		if !strings.HasSuffix(r.Path, "/repository/archive.tar.gz") || r.Query.Get("sha") != headSHA {
			t.Errorf("requested %s?%s", r.Path, r.Query.Encode())
		}
	})
	t.Run("a missing commit fails at once, not retried", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		_, err := h.Archive(ctx, "0000000000000000000000000000000000000000")
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "download the archive of awesome_space/awesome_project at 000000000000") {
			t.Errorf("got %v", err)
		}
		if n := len(srv.RequestsTo("GET", archivePattern)); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("a 502 is retried", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		srv.SetArchive(headSHA, content)
		srv.FailNext("GET", archivePattern, http.StatusBadGateway, nil)
		rc, err := h.Archive(ctx, headSHA)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got, _ := io.ReadAll(rc); !bytes.Equal(got, content) {
			t.Errorf("read %d bytes, want %d", len(got), len(content))
		}
	})
	t.Run("closing early stops the download", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		srv.SetArchive(headSHA, content)
		rc, err := h.Archive(ctx, headSHA)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	get := func(h *Host) error { _, err := h.PullRequest(ctx, gitlabtest.SeedMRIID); return err }
	tests := []struct {
		name       string
		maxRetries int
		pattern    string
		fail       []int
		header     http.Header
		call       func(h *Host) error
		wantErr    error
		wantCalls  int
		minElapsed time.Duration
	}{
		{"429 honours Retry-After", 0, mrPattern, []int{429}, http.Header{"Retry-After": {"1"}}, get, nil, 2, 900 * time.Millisecond},
		{"429 honours RateLimit-Reset", 0, mrPattern, []int{429}, http.Header{"Ratelimit-Reset": {"in 2s"}}, get, nil, 2, 900 * time.Millisecond},
		{"429 asking for an hour fails now", 0, mrPattern, []int{429}, http.Header{"Retry-After": {"3600"}}, get, ErrRateLimited, 1, 0},
		{"500 then success", 0, mrPattern, []int{500}, nil, get, nil, 2, 0},
		{"502, 503, 504 then success", 0, mrPattern, []int{502, 503, 504}, nil, get, nil, 4, 0},
		{"5xx on a status post is retried", 0, statusPattern, []int{503}, nil,
			func(h *Host) error {
				return h.PublishCheck(ctx, headSHA, scm.Check{Name: scm.CheckGate, Status: scm.StatusQueued})
			}, nil, 2, 0},
		{"404 is not retried", 0, mrPattern, []int{404}, nil, get, ErrNotFound, 1, 0},
		{"400 is not retried", 0, mrPattern, []int{400}, nil, get, nil, 1, 0},
		{"401 is not retried", 0, mrPattern, []int{401}, nil, get, ErrUnauthorized, 1, 0},
		{"retries are bounded", 2, mrPattern, []int{500, 500, 500, 500}, nil, get, ErrServer, 3, 0},
		{"no retries", -1, mrPattern, []int{500}, nil, get, ErrServer, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			h, _ := newHost(t, srv, func(o *Options) { o.MaxRetries = tt.maxRetries })
			method := "GET"
			if tt.pattern == statusPattern {
				method = "POST"
			}
			header := tt.header.Clone()
			if header.Get("Ratelimit-Reset") == "in 2s" { // a Unix time, so set when the test runs
				header.Set("Ratelimit-Reset", strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10))
			}
			for _, status := range tt.fail {
				srv.FailNext(method, tt.pattern, status, header)
			}
			start := time.Now()
			err := tt.call(h)
			elapsed := time.Since(start)
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("got %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && tt.fail[0] != 400 && err != nil:
				t.Errorf("got %v, want success", err)
			case tt.fail[0] == 400 && err == nil:
				t.Error("a 400 succeeded")
			}
			if n := len(srv.RequestsTo(method, tt.pattern)); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
			if elapsed < tt.minElapsed {
				t.Errorf("done after %s, want at least %s of waiting", elapsed, tt.minElapsed)
			}
		})
	}
	t.Run("a cancelled context stops the waiting", func(t *testing.T) {
		srv := gitlabtest.NewServer(t)
		h, _ := newHost(t, srv)
		srv.FailNext("GET", mrPattern, 429, http.Header{"Retry-After": {"30"}})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := h.PullRequest(ctx, 1)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("got %v after %s, want the deadline, soon", err, time.Since(start))
		}
	})
}

// Whatever GitLab or a proxy echoes, no error or log line holds the token.
func TestTokenNeverLeaks(t *testing.T) {
	const token = "glpat-Leak-Check-Secret-42"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("PRIVATE-TOKEN")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, "/notes"):
			w.WriteHeader(http.StatusForbidden)
		case strings.Contains(r.URL.Path, "/statuses/"):
			w.WriteHeader(http.StatusBadRequest)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprintf(w, `{"message":"token %s is not welcome here"}`, got)
	}))
	defer echo.Close()
	logs := &logtest.Buffer{}
	h, err := New(Options{BaseURL: echo.URL + "/api/v4", Project: "g/p", Token: token, MaxRetries: 1,
		Logger: newTextLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	h.retryBase = time.Millisecond
	ctx := context.Background()
	var errs []error
	_, err = h.PullRequest(ctx, 1)
	errs = append(errs, err)
	_, err = h.Permission(ctx, "ann")
	errs = append(errs, err)
	errs = append(errs, h.UpsertComment(ctx, 1, commentMarker, "body"))
	errs = append(errs, h.PublishCheck(ctx, headSHA, scm.Check{Name: scm.CheckGate, Status: scm.StatusQueued}))
	errs = append(errs, h.React(ctx, 1, 5, scm.ReactionEyes))
	_, err = h.Archive(ctx, headSHA)
	errs = append(errs, err)

	for i, err := range errs {
		for e := err; e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), token) {
				t.Errorf("error %d holds the token: %v", i, e)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(errs[0]), "[REDACTED]") {
		t.Errorf("the echoed token was not redacted: %v", errs[0])
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the log holds the token:\n%s", logs)
	}
}

func TestSelfManaged(t *testing.T) {
	ctx := context.Background()
	srv := gitlabtest.NewServer(t, gitlabtest.WithPathPrefix("/gitlab/api/v4"), gitlabtest.WithProject(7, "data/team/warehouse"))
	tests := []struct {
		name    string
		baseURL string
		project string
	}{
		{"API root and project path", srv.URL + "/gitlab/api/v4", "data/team/warehouse"},
		{"instance URL and project ID", srv.URL + "/gitlab", "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHost(t, srv, func(o *Options) { o.BaseURL, o.Project = tt.baseURL, tt.project })
			pr, err := h.PullRequest(ctx, gitlabtest.SeedMRIID)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Fork || pr.HeadSHA != headSHA {
				t.Errorf("pull request %+v", pr)
			}
			if err := h.UpsertComment(ctx, gitlabtest.SeedMRIID, commentMarker, tt.name); err != nil {
				t.Fatal(err)
			}
			if err := h.PublishCheck(ctx, headSHA, scm.Check{Name: scm.CheckGate, Status: scm.StatusCompleted, Conclusion: scm.ConclusionSuccess}); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, r := range srv.Requests() {
		if !strings.HasPrefix(r.Path, "/projects/data%2Fteam%2Fwarehouse/") && !strings.HasPrefix(r.Path, "/projects/7/") {
			t.Errorf("request to %s", r.Path)
		}
	}
}

func TestTokenKinds(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		kind       string
		serverKind string
		header     string
		wantErr    error
	}{
		{TokenPrivate, gitlabtest.TokenPrivate, "Private-Token", nil},
		{"", gitlabtest.TokenPrivate, "Private-Token", nil},
		{TokenJob, gitlabtest.TokenJob, "Job-Token", nil},
		{TokenOAuth, gitlabtest.TokenOAuth, "Authorization", nil},
		{TokenPrivate, gitlabtest.TokenJob, "Private-Token", ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" to "+tt.serverKind, func(t *testing.T) {
			srv := gitlabtest.NewServer(t)
			srv.SetToken(tt.serverKind, "kind-token")
			h, _ := newHost(t, srv, func(o *Options) { o.TokenKind, o.Token = tt.kind, "kind-token" })
			_, err := h.PullRequest(ctx, gitlabtest.SeedMRIID)
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !strings.Contains(err.Error(), "invalid, expired or revoked") {
				t.Errorf("error %q does not say what is wrong with the token", err)
			}
			if r := srv.Requests()[0]; r.Header.Get(tt.header) == "" {
				t.Errorf("no %s header sent", tt.header)
			}
		})
	}
}
