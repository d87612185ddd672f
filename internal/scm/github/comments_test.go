package github_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
)

const (
	marker      = "<!-- dataops:report -->"
	otherMarker = "<!-- dataops:deploy -->"
)

func TestUpsertComment(t *testing.T) {
	e := setup(t)
	// Other people's comments, enough to push ours past the first page.
	for i := 0; i < 120; i++ {
		e.fake.AddComment(repo, 7, "octocat", fmt.Sprintf("comment %d", i))
	}
	steps := []struct {
		name     string
		newHost  bool
		marker   string
		body     string
		wantOps  []string
		comments int // ours
	}{
		{"creates", false, marker, marker + "\nfirst", []string{"issues/list-comments", "issues/list-comments", "issues/create-comment"}, 1},
		{"edits the same comment", false, marker, marker + "\nsecond", []string{"issues/update-comment"}, 1},
		{"the same body is left alone", false, marker, marker + "\nsecond", nil, 1},
		{"after a restart it finds it on page two", true, marker, marker + "\nthird", []string{"issues/list-comments", "issues/list-comments", "issues/update-comment"}, 1},
		{"another marker is another comment", false, otherMarker, otherMarker + "\ndeploying", []string{"issues/list-comments", "issues/list-comments", "issues/create-comment"}, 2},
		{"a body without its marker gets it", false, "<!-- dataops:help -->", "help text", []string{"issues/list-comments", "issues/list-comments", "issues/create-comment"}, 3},
	}
	host := e.host
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.newHost {
				host, _ = newHost(t, e.fake, e.logs)
			}
			before := len(e.fake.Requests())
			if err := host.UpsertComment(ctx(t), 7, st.marker, st.body); err != nil {
				t.Fatalf("UpsertComment: %v", err)
			}
			if got := operations(e.fake)[before:]; fmt.Sprint(got) != fmt.Sprint(st.wantOps) {
				t.Errorf("requests = %v, want %v", got, st.wantOps)
			}
			var ours []githubtest.Comment
			for _, c := range e.fake.Comments(repo, 7) {
				if c.User == githubtest.DefaultLogin {
					ours = append(ours, c)
				}
			}
			if len(ours) != st.comments {
				t.Fatalf("%d comments of ours, want %d", len(ours), st.comments)
			}
			var found *githubtest.Comment
			for i, c := range ours {
				if strings.Contains(c.Body, st.marker) {
					if found != nil {
						t.Fatalf("two comments hold %s", st.marker)
					}
					found = &ours[i]
				}
			}
			if found == nil || !strings.Contains(found.Body, st.body) {
				t.Errorf("comment holding %s = %+v, want body %q", st.marker, found, st.body)
			}
		})
	}
}

func TestUpsertCommentRefusesLongBodies(t *testing.T) {
	e := setup(t)
	body := marker + strings.Repeat("ü", 65537-len([]rune(marker)))
	err := e.host.UpsertComment(ctx(t), 7, marker, body)
	if err == nil || !strings.Contains(err.Error(), "65536") {
		t.Fatalf("UpsertComment = %v, want an error naming the limit", err)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests", n)
	}
	// Exactly at the limit is fine (counted in characters, not bytes).
	body = marker + strings.Repeat("ü", 65536-len([]rune(marker)))
	if err := e.host.UpsertComment(ctx(t), 7, marker, body); err != nil {
		t.Errorf("UpsertComment at the limit: %v", err)
	}
}

func TestUpsertCommentForbidden(t *testing.T) {
	for _, scope := range []string{"pull_requests", "issues"} {
		t.Run(scope, func(t *testing.T) {
			e := setup(t)
			e.fake.Forbid(scope)
			for i := 0; i < 2; i++ {
				if err := e.host.UpsertComment(ctx(t), 7, marker, marker+" body"); err != nil {
					t.Fatalf("UpsertComment = %v, want it skipped", err)
				}
			}
			if err := e.host.React(ctx(t), 7, 1, scm.ReactionEyes); err != nil {
				t.Fatalf("React = %v, want it skipped", err)
			}
			lines := e.logs.Lines("pull-requests: write")
			if len(lines) != 1 {
				t.Fatalf("%d log lines name pull-requests: write, want 1:\n%s", len(lines), e.logs)
			}
			if n := len(calls(e.fake, "issues/create-comment")); n != 1 {
				t.Errorf("%d attempts to comment, want 1", n)
			}
		})
	}
}

func TestUpsertCommentEditsAfterDeletion(t *testing.T) {
	// A comment the Host remembers but that was deleted since: the edit
	// fails with 404 and a new comment is written.
	e := setup(t)
	if err := e.host.UpsertComment(ctx(t), 7, marker, marker+" one"); err != nil {
		t.Fatal(err)
	}
	e.fake.FailNext("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 404, nil)
	if err := e.host.UpsertComment(ctx(t), 7, marker, marker+" two"); err != nil {
		t.Fatal(err)
	}
	got := operations(e.fake)
	want := []string{"issues/list-comments", "issues/create-comment", "issues/update-comment", "issues/list-comments", "issues/update-comment"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
}

func TestReact(t *testing.T) {
	e := setup(t)
	id := e.fake.AddComment(repo, 7, "octocat", "/dataops deploy")
	tests := []struct {
		name     string
		id       int64
		reaction scm.Reaction
		wantErr  string
	}{
		{"eyes", id, scm.ReactionEyes, ""},
		{"rocket", id, scm.ReactionRocket, ""},
		{"again is fine", id, scm.ReactionRocket, ""},
		{"confused", id, scm.ReactionConfused, ""},
		{"unknown reaction", id, "shrug", `no reaction "shrug"`},
		{"unknown comment", 999999, scm.ReactionEyes, "react eyes to comment 999999 on pull request #7: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.host.React(ctx(t), 7, tt.id, tt.reaction)
			noLeak(t, err)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("React = %v, want %q", err, tt.wantErr)
			}
		})
	}
	got := e.fake.Comments(repo, 7)[0].Reactions
	want := []string{githubtest.DefaultLogin + ":eyes", githubtest.DefaultLogin + ":rocket", githubtest.DefaultLogin + ":confused"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reactions = %v, want %v", got, want)
	}
}
