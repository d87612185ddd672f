package bot

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
)

const (
	mergeRequestHook = "Merge Request Hook"
	noteHook         = "Note Hook"
)

// mergeRequestFixture is merge_request.json changed by edit, which gets
// the payload and its object_attributes.
func mergeRequestFixture(t testing.TB, edit func(payload, attrs map[string]any)) []byte {
	return editJSON(t, webhookFixture(t, "gitlab", "merge_request.json"), func(m map[string]any) {
		edit(m, asObject(m["object_attributes"]))
	})
}

func noteFixture(t testing.TB, edit func(payload, attrs map[string]any)) []byte {
	return editJSON(t, webhookFixture(t, "gitlab", "note_merge_request.json"), func(m map[string]any) {
		edit(m, asObject(m["object_attributes"]))
	})
}

func mrAction(t testing.TB, action string, more ...func(payload, attrs map[string]any)) []byte {
	return mergeRequestFixture(t, func(m, oa map[string]any) {
		oa["action"] = action
		for _, f := range more {
			f(m, oa)
		}
	})
}

// viewportMR is the merge request of merge_request.json. Its hook was sent
// by user 1 while the author is 51, so the author's name is not known.
var viewportMR = scm.PullRequest{
	Number: 1, Title: "MS-Viewport", URL: "http://example.com/diaspora/merge_requests/1",
	BaseRef: "master", HeadRef: "ms-viewport", HeadSHA: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
	State: "open",
}

// needsWorkMR is the merge request note_merge_request.json is about. A
// note's last commit pins its command (Event.Pinned); the head the command
// finds is read when it runs.
var needsWorkMR = scm.PullRequest{
	Number: 1, Title: "Tempora et eos debitis quae laborum et.",
	BaseRef: "markdown", HeadRef: "master",
	State: "open",
}

const needsWorkHead = "562e173be03b8ff2efb05345d12df18815438a4b"

func modified(pr scm.PullRequest, edit func(*scm.PullRequest)) scm.PullRequest {
	edit(&pr)
	return pr
}

func TestGitLabEvent(t *testing.T) {
	const delivery = "6a6f1f74-5c43-4b4e-9ad2-8d1d1e0b8f2c"
	const repo = "gitlabhq/gitlab-test"
	const noteRepo = "gitlab-org/gitlab-test"
	needsWork := &Comment{ID: 1244, Body: "This MR needs work.", Author: "root"}
	tests := []struct {
		name    string
		event   string
		payload []byte
		botUser string
		want    Event
	}{
		{"opened", mergeRequestHook, webhookFixture(t, "gitlab", "merge_request.json"), "",
			Event{Host: "gitlab", Repo: repo, Kind: Opened, PullRequest: viewportMR}},
		{"opened by its author", mergeRequestHook,
			mergeRequestFixture(t, func(m, _ map[string]any) { asObject(m["user"])["id"] = 51 }), "",
			Event{Host: "gitlab", Repo: repo, Kind: Opened, PullRequest: modified(viewportMR, func(p *scm.PullRequest) { p.Author = "user1" })}},
		{"from a fork", mergeRequestHook,
			mergeRequestFixture(t, func(_, oa map[string]any) { oa["source_project_id"] = 99 }), "",
			Event{Host: "gitlab", Repo: repo, Kind: Opened, PullRequest: modified(viewportMR, func(p *scm.PullRequest) { p.Fork = true })}},
		{"pushed to", mergeRequestHook,
			mrAction(t, "update", func(_, oa map[string]any) { oa["oldrev"] = "0123456789abcdef0123456789abcdef01234567" }), "",
			Event{Host: "gitlab", Repo: repo, Kind: Synchronized, PullRequest: viewportMR}},
		{"reopened", mergeRequestHook, mrAction(t, "reopen"), "",
			Event{Host: "gitlab", Repo: repo, Kind: Reopened, PullRequest: viewportMR}},
		{"closed", mergeRequestHook, mrAction(t, "close", func(_, oa map[string]any) { oa["state"] = "closed" }), "",
			Event{Host: "gitlab", Repo: repo, Kind: Closed, PullRequest: withState(viewportMR, "closed")}},
		{"merged", mergeRequestHook, mrAction(t, "merge", func(_, oa map[string]any) { oa["state"] = "merged" }), "",
			Event{Host: "gitlab", Repo: repo, Kind: Closed, Merged: true, PullRequest: withState(viewportMR, "merged")}},
		{"approved", mergeRequestHook, mrAction(t, "approved"), "",
			Event{Host: "gitlab", Repo: repo, Kind: Reviewed, PullRequest: viewportMR}},
		{"unapproved", mergeRequestHook, mrAction(t, "unapproved"), "",
			Event{Host: "gitlab", Repo: repo, Kind: Reviewed, PullRequest: viewportMR}},
		{"approval (one of several)", mergeRequestHook, mrAction(t, "approval"), "",
			Event{Host: "gitlab", Repo: repo, Kind: Reviewed, PullRequest: viewportMR}},
		{"unapproval", mergeRequestHook, mrAction(t, "unapproval"), "",
			Event{Host: "gitlab", Repo: repo, Kind: Reviewed, PullRequest: viewportMR}},
		{"project from the target of an older payload", mergeRequestHook,
			mergeRequestFixture(t, func(m, _ map[string]any) { delete(m, "project") }), "",
			Event{Host: "gitlab", Repo: "awesome_space/awesome_project", Kind: Opened, PullRequest: viewportMR}},
		{"comment", noteHook, webhookFixture(t, "gitlab", "note_merge_request.json"), "dataops-bot",
			Event{Host: "gitlab", Repo: noteRepo, Kind: Commented, Pinned: needsWorkHead, PullRequest: needsWorkMR, Comment: needsWork}},
		{"internal comment", "Confidential Note Hook", webhookFixture(t, "gitlab", "note_merge_request.json"), "",
			Event{Host: "gitlab", Repo: noteRepo, Kind: Commented, Pinned: needsWorkHead, PullRequest: needsWorkMR, Comment: needsWork}},
		{"comment by the bot", noteHook, webhookFixture(t, "gitlab", "note_merge_request.json"), "@Root",
			Event{Host: "gitlab", Repo: noteRepo, Kind: Commented, Pinned: needsWorkHead, PullRequest: needsWorkMR,
				Comment: &Comment{ID: 1244, Body: "This MR needs work.", Author: "root", Bot: true}}},
		{"comment by a project access token", noteHook,
			noteFixture(t, func(m, _ map[string]any) { asObject(m["user"])["username"] = "project_5_bot_4f1c9a0b2d" }), "dataops-bot",
			Event{Host: "gitlab", Repo: noteRepo, Kind: Commented, Pinned: needsWorkHead, PullRequest: needsWorkMR,
				Comment: &Comment{ID: 1244, Body: "This MR needs work.", Author: "project_5_bot_4f1c9a0b2d", Bot: true}}},
		{"comment by the author", noteHook,
			noteFixture(t, func(m, _ map[string]any) { asObject(m["user"])["id"] = 8 }), "",
			Event{Host: "gitlab", Repo: noteRepo, Kind: Commented, Pinned: needsWorkHead,
				PullRequest: modified(needsWorkMR, func(p *scm.PullRequest) { p.Author = "root" }), Comment: needsWork}},
		// The GitLab docs' own note example has a last_commit.timestamp that
		// is not RFC 3339; dataops never reads it, so the command is kept.
		{"comment whose commit time does not parse", noteHook,
			noteFixture(t, func(m, _ map[string]any) {
				asObject(asObject(m["merge_request"])["last_commit"])["timestamp"] = "2015-04-08T21: 00:25-07:00"
				asObject(m["merge_request"])["created_at"] = "yesterday"
			}), "",
			Event{Host: "gitlab", Repo: noteRepo, Kind: Commented, Pinned: needsWorkHead, PullRequest: needsWorkMR, Comment: needsWork}},
		{"merge request whose commit time does not parse", mergeRequestHook,
			mergeRequestFixture(t, func(_, oa map[string]any) {
				asObject(oa["last_commit"])["timestamp"] = "2012-01-03 23:36:29 +0200"
			}), "",
			Event{Host: "gitlab", Repo: repo, Kind: Opened, PullRequest: viewportMR}},
		{"comment from before notes had an action", noteHook,
			noteFixture(t, func(_, oa map[string]any) { delete(oa, "action") }), "",
			Event{Host: "gitlab", Repo: noteRepo, Kind: Commented, Pinned: needsWorkHead, PullRequest: needsWorkMR, Comment: needsWork}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GitLabEvent(tt.event, tt.payload, delivery, tt.botUser)
			if err != nil {
				t.Fatalf("GitLabEvent: %v", err)
			}
			tt.want.DeliveryID = delivery
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GitLabEvent =\n%+v\nwant\n%+v", got, tt.want)
				if got.Comment != nil && tt.want.Comment != nil {
					t.Errorf("comment %+v, want %+v", *got.Comment, *tt.want.Comment)
				}
			}
		})
	}
}

func TestGitLabEventNotActedOn(t *testing.T) {
	noteOn := func(kind string) []byte {
		return noteFixture(t, func(_, oa map[string]any) { oa["noteable_type"] = kind })
	}
	tests := []struct {
		name    string
		event   string
		payload []byte
		ignored bool   // ErrIgnored rather than an error
		want    string // in the error's text
	}{
		{"pipeline", "Pipeline Hook", webhookFixture(t, "gitlab", "pipeline.json"), true, `"Pipeline Hook" events are not handled`},
		{"unknown event", "Cheese Hook", []byte(`{}`), true, "not handled"},
		{"title edited", mergeRequestHook, mrAction(t, "update"), true, "without new commits"},
		{"unknown action", mergeRequestHook, mrAction(t, "teleport"), true, `"teleport"`},
		{"note on an issue", noteHook, noteOn("Issue"), true, "a note on an issue"},
		{"note on a commit", noteHook, noteOn("Commit"), true, "a note on a commit, not a merge request"},
		{"note on a snippet", noteHook, noteOn("Snippet"), true, "a note on a snippet, not a merge request"},
		{"note on a design", noteHook, noteOn("DesignManagement::Design"), true, "not a merge request"},
		{"edited note", noteHook, noteFixture(t, func(_, oa map[string]any) { oa["action"] = "update" }), true, "only new comments"},
		{"system note", noteHook, noteFixture(t, func(_, oa map[string]any) { oa["system"] = true }), true, "system note"},
		{"no event name", "", webhookFixture(t, "gitlab", "merge_request.json"), false, "no event name"},
		{"malformed JSON", mergeRequestHook, []byte(`{"object_kind": "merge_request",`), false, "read the GitLab Merge Request Hook"},
		{"malformed note", noteHook, []byte(`{"object_kind": "note", "object_attributes": [`), false, "read the GitLab Note Hook"},
		{"wrong JSON type", mergeRequestHook, []byte(`{"object_kind": "merge_request", "object_attributes": {"iid": "one"}}`), false, "iid"},
		{"a note under the merge request header", mergeRequestHook, webhookFixture(t, "gitlab", "note_merge_request.json"), false, `object_kind is "note"`},
		{"a merge request under the note header", noteHook, webhookFixture(t, "gitlab", "merge_request.json"), false, `object_kind is "merge_request"`},
		{"no iid", mergeRequestHook, mergeRequestFixture(t, func(_, oa map[string]any) { delete(oa, "iid") }), false, "object_attributes.iid is missing"},
		{"no project", mergeRequestHook,
			mergeRequestFixture(t, func(m, oa map[string]any) { delete(m, "project"); delete(oa, "target") }), false, "path_with_namespace is missing"},
		{"note without its merge request", noteHook, noteFixture(t, func(m, _ map[string]any) { delete(m, "merge_request") }), false, "merge_request.iid is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GitLabEvent(tt.event, tt.payload, "d", "dataops-bot")
			var ignored ErrIgnored
			switch {
			case err == nil:
				t.Fatalf("GitLabEvent = %+v, want an error", got)
			case errors.As(err, &ignored) != tt.ignored:
				t.Errorf("GitLabEvent error %v (%T): ignored=%v, want %v", err, err, !tt.ignored, tt.ignored)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GitLabEvent error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGitLabBot(t *testing.T) {
	tests := []struct {
		author, botUser string
		want            bool
	}{
		{"dataops-bot", "dataops-bot", true},
		{"DataOps-Bot", "@dataops-bot", true},
		{"alice", "dataops-bot", false},
		{"alice", "", false},
		{"", "dataops-bot", true}, // nobody to check the permission of
		{"project_123_bot_5c1e0f9a8b7d", "", true},
		{"group_45_bot_a1b2c3", "", true},
		{"project_123_bot", "", true},  // before GitLab 14.x
		{"project_123_bot2", "", true}, // the second token of a project then
		{"service_account_group_9_1a2b3c", "", true},
		{"project_bot_fan", "", false},
		{"project_123_bot_not-hex", "", false},
		{"my_project_123_bot_abc", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.author+"/"+tt.botUser, func(t *testing.T) {
			if got := gitlabBot(tt.author, tt.botUser); got != tt.want {
				t.Errorf("gitlabBot(%q, %q) = %v, want %v", tt.author, tt.botUser, got, tt.want)
			}
		})
	}
}

func FuzzGitLabEvent(f *testing.F) {
	for _, seed := range []struct{ event, file string }{
		{mergeRequestHook, "merge_request.json"},
		{noteHook, "note_merge_request.json"},
		{"Pipeline Hook", "pipeline.json"},
		{mergeRequestHook, "note_merge_request.json"},
		{noteHook, "merge_request.json"},
	} {
		f.Add(seed.event, webhookFixture(f, "gitlab", seed.file))
	}
	f.Add(mergeRequestHook, mrAction(f, "update", func(_, oa map[string]any) { oa["oldrev"] = "abc" }))
	f.Add(noteHook, []byte(`{"object_kind":"note","object_attributes":{"noteable_type":"MergeRequest"},"user":null,"merge_request":{"iid":1}}`))
	f.Add(mergeRequestHook, []byte(`{"object_kind":"merge_request","object_attributes":{"iid":1,"action":"open","target":null},"project":{}}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		ev, err := GitLabEvent(event, payload, "fuzz", "dataops-bot")
		if err != nil {
			return
		}
		if ev.Host != "gitlab" || ev.Repo == "" || ev.PullRequest.Number <= 0 {
			t.Errorf("an event without its host, project or merge request: %+v", ev)
		}
		if ev.Kind == Commented && (ev.Comment == nil || (ev.Comment.Author == "" && !ev.Comment.Bot)) {
			t.Errorf("a comment to obey from nobody: %+v", ev)
		}
	})
}
