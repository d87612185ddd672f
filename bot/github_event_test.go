package bot

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// webhookFixtures holds the real webhook payloads shared by the project's
// tests (see its SOURCES.md), from this package's folder.
const webhookFixtures = "../../shared/fixtures"

func webhookFixture(t testing.TB, host, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(webhookFixtures, host, "webhooks", name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return data
}

// editJSON returns a copy of a payload changed by edit: the synthetic cases
// are built beside the fixtures, never written into them.
func editJSON(t testing.TB, payload []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatalf("edit payload: %v", err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("edit payload: %v", err)
	}
	return out
}

func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// helloWorldPR is the pull request of the octokit pull_request examples.
var helloWorldPR = scm.PullRequest{
	Number: 2, Title: "Update the README with new information.", Author: "Codertocat",
	URL:     "https://github.com/Codertocat/Hello-World/pull/2",
	BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
	HeadRef: "changes", HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
	State: "open",
}

func withState(pr scm.PullRequest, state string) scm.PullRequest {
	pr.State = state
	return pr
}

// review turns the pull_request.opened example into a pull_request_review
// delivery: GitHub sends the same pull request with the review beside it.
func review(t testing.TB, action, state string) []byte {
	return editJSON(t, webhookFixture(t, "github", "pull_request.opened.json"), func(m map[string]any) {
		m["action"] = action
		delete(m, "number")
		m["review"] = map[string]any{
			"id": 80, "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3ODA=", "body": "Looks good.", "state": state,
			"commit_id":    "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
			"submitted_at": "2019-05-15T15:20:40Z", "author_association": "OWNER",
			"user": map[string]any{"login": "Octocat", "id": 583231, "type": "User"},
		}
	})
}

func TestGitHubEvent(t *testing.T) {
	const delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	mergedClose := editJSON(t, webhookFixture(t, "github", "pull_request.closed.json"), func(m map[string]any) {
		asObject(m["pull_request"])["merged"] = true
	})
	rerunOnPR := editJSON(t, webhookFixture(t, "github", "check_run.rerequested.json"), func(m map[string]any) {
		asObject(m["check_run"])["pull_requests"] = []any{map[string]any{
			"id": 1, "number": 12, "url": "https://api.github.com/repos/github/hello-world/pulls/12",
			"head": map[string]any{"ref": "feature", "sha": "d6fde92930d4715a2b49857d24b940956b26d2d3"},
			"base": map[string]any{"ref": "main", "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"},
		}}
	})
	// "Re-run all checks": the same delivery shape, under check_suite.
	suiteRerun := editJSON(t, rerunOnPR, func(m map[string]any) {
		m["check_suite"] = m["check_run"]
		delete(m, "check_run")
	})
	tests := []struct {
		name    string
		event   string
		payload []byte
		want    Event
	}{
		{"opened", "pull_request", webhookFixture(t, "github", "pull_request.opened.json"),
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Opened, PullRequest: helloWorldPR, InstallationID: 1}},
		{"synchronize", "pull_request", webhookFixture(t, "github", "pull_request.synchronize.json"),
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Synchronized, PullRequest: helloWorldPR, InstallationID: 1}},
		{"reopened", "pull_request", webhookFixture(t, "github", "pull_request.reopened.json"),
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Reopened, PullRequest: helloWorldPR, InstallationID: 1}},
		{"closed", "pull_request", webhookFixture(t, "github", "pull_request.closed.json"),
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Closed, PullRequest: withState(helloWorldPR, "closed"), InstallationID: 1}},
		{"merged", "pull_request", mergedClose,
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Closed, Merged: true, PullRequest: withState(helloWorldPR, "merged"), InstallationID: 1}},
		{"comment, no installation", "issue_comment", webhookFixture(t, "github", "issue_comment.created.on_pull_request.json"),
			Event{Host: "github", Repo: "runatlantis/atlantis-tests", Kind: Commented,
				PullRequest: scm.PullRequest{Number: 1, Title: "Add new project layouts", Author: "runatlantis"},
				Comment:     &Comment{ID: 396926483, Body: "###comment body###", Author: "runatlantis"}}},
		{"rerun", "check_run", rerunOnPR,
			Event{Host: "github", Repo: "github/hello-world", Kind: Rerun, InstallationID: 1, Pinned: "d6fde92930d4715a2b49857d24b940956b26d2d3",
				PullRequest: scm.PullRequest{Number: 12, HeadSHA: "d6fde92930d4715a2b49857d24b940956b26d2d3"}}},
		{"rerun all", "check_suite", suiteRerun,
			Event{Host: "github", Repo: "github/hello-world", Kind: Rerun, InstallationID: 1, Pinned: "d6fde92930d4715a2b49857d24b940956b26d2d3",
				PullRequest: scm.PullRequest{Number: 12, HeadSHA: "d6fde92930d4715a2b49857d24b940956b26d2d3"}}},
		{"review submitted", "pull_request_review", review(t, "submitted", "approved"),
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Reviewed, PullRequest: helloWorldPR, InstallationID: 1}},
		{"review dismissed", "pull_request_review", review(t, "dismissed", "dismissed"),
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Reviewed, PullRequest: helloWorldPR, InstallationID: 1}},
		{"review edited", "pull_request_review", review(t, "edited", "commented"),
			Event{Host: "github", Repo: "Codertocat/Hello-World", Kind: Reviewed, PullRequest: helloWorldPR, InstallationID: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GitHubEvent(tt.event, tt.payload, delivery)
			if err != nil {
				t.Fatalf("GitHubEvent: %v", err)
			}
			tt.want.DeliveryID = delivery
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GitHubEvent =\n%+v\nwant\n%+v", got, tt.want)
				if got.Comment != nil && tt.want.Comment != nil {
					t.Errorf("comment %+v, want %+v", *got.Comment, *tt.want.Comment)
				}
			}
		})
	}
}

// discussionAnswered and packagePublished are shaped like octokit's
// discussion.answered and package.published examples, which go-github
// cannot decode: there discussion.answer_chosen_by is a user (go-github: a
// string), package_version.body an object and metadata an array (go-github:
// a string and an object). dataops reads neither event, so neither may
// fail: GitHub would show the delivery as failed.
func discussionAnswered() []byte {
	return []byte(`{"action":"answered","discussion":{"number":90,"title":"How?","answer_chosen_at":"2021-08-05T19:19:05.000Z",
"answer_chosen_by":{"login":"octocat","id":1,"type":"User"},"user":{"login":"octocat","id":1,"type":"User"}},
"answer":{"id":1,"body":"Like this."},"repository":{"full_name":"octo-org/octo-repo"},"sender":{"login":"octocat","id":1}}`)
}

func packagePublished(body string) []byte {
	return []byte(`{"action":"published","package":{"id":1,"name":"hello","package_type":"npm",
"package_version":{"id":2,"version":"1.0.0","body":` + body + `,"metadata":[],"package_files":[]}},
"repository":{"full_name":"octo-org/octo-repo"},"sender":{"login":"octocat","id":1}}`)
}

// An odd value in a field dataops does not read loses nothing: the
// timestamp form of octokit's check_run example, in a comment.
func TestGitHubEventReadsOnlyItsFields(t *testing.T) {
	odd := editJSON(t, webhookFixture(t, "github", "issue_comment.created.on_pull_request.json"), func(m map[string]any) {
		asObject(m["comment"])["created_at"] = "2018-04-25 20:42:10"
		asObject(m["issue"])["milestone"] = "v1"
		asObject(m["comment"])["body"] = "/dataops rerun"
	})
	got, err := GitHubEvent("issue_comment", odd, "d")
	if err != nil {
		t.Fatalf("GitHubEvent: %v", err)
	}
	if got.Comment == nil || got.Comment.Body != "/dataops rerun" || got.PullRequest.Number != 1 {
		t.Errorf("GitHubEvent = %+v", got)
	}
	oddPR := editJSON(t, webhookFixture(t, "github", "pull_request.opened.json"), func(m map[string]any) {
		asObject(m["pull_request"])["merged_at"] = "yesterday"
		asObject(m["repository"])["topics"] = "none"
	})
	if got, err := GitHubEvent("pull_request", oddPR, "d"); err != nil || got.PullRequest.HeadSHA != helloWorldPR.HeadSHA {
		t.Errorf("GitHubEvent = %+v, %v", got, err)
	}
}

func TestGitHubEventNotActedOn(t *testing.T) {
	noPR := editJSON(t, review(t, "submitted", "approved"), func(m map[string]any) { delete(m, "pull_request") })
	rerunNoRun := editJSON(t, webhookFixture(t, "github", "check_run.rerequested.json"), func(m map[string]any) { delete(m, "check_run") })
	tests := []struct {
		name    string
		event   string
		payload []byte
		ignored bool   // ErrIgnored rather than an error
		want    string // in the error's text
	}{
		{"ping", "ping", webhookFixture(t, "github", "ping.json"), true, "ping events are not handled"},
		{"installation", "installation", webhookFixture(t, "github", "installation.created.json"), true, "not handled"},
		{"check run rerun of no pull request", "check_run", webhookFixture(t, "github", "check_run.rerequested.json"), true, "needs nothing"},
		{"check run event without the run", "check_run", rerunNoRun, true, "needs nothing"},
		{"labeled", "pull_request", editJSON(t, webhookFixture(t, "github", "pull_request.opened.json"), func(m map[string]any) { m["action"] = "labeled" }),
			true, "pull_request labeled events need no checks"},
		{"review of an unknown action", "pull_request_review", review(t, "requested", "approved"), true, "pull_request_review requested"},
		{"unknown event name", "sponsorship_tier_bumped", []byte(`{}`), true, "sponsorship_tier_bumped events are not handled"},
		{"discussion answered", "discussion", discussionAnswered(), true, "discussion events are not handled"},
		{"package published (docker)", "package", packagePublished(`{"container_metadata":{"tag":{"name":"latest"}}}`), true, "not handled"},
		{"package published (npm)", "package", packagePublished(`"# hello"`), true, "not handled"},
		{"an ignored event is not decoded", "discussion", []byte(`{not json`), true, "not handled"},
		{"pull request without its pull request", "pull_request", []byte(`{"action":"opened","repository":{"full_name":"a/b"}}`), false, "no pull_request"},
		{"no event name", "", webhookFixture(t, "github", "pull_request.opened.json"), false, "no event name"},
		{"malformed JSON", "pull_request", []byte(`{"action": "opened", "pull_request": {`), false, "read the pull_request event"},
		{"wrong JSON type", "pull_request", []byte(`{"action": 7}`), false, "read the pull_request event"},
		{"review without its pull request", "pull_request_review", noPR, false, "no pull_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GitHubEvent(tt.event, tt.payload, "d")
			var ignored ErrIgnored
			switch {
			case err == nil:
				t.Fatalf("GitHubEvent = %+v, want an error", got)
			case errors.As(err, &ignored) != tt.ignored:
				t.Errorf("GitHubEvent error %v (%T): ignored=%v, want %v", err, err, !tt.ignored, tt.ignored)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GitHubEvent error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzGitHubEvent(f *testing.F) {
	for _, seed := range []struct{ event, file string }{
		{"pull_request", "pull_request.opened.json"},
		{"pull_request", "pull_request.closed.json"},
		{"pull_request", "pull_request.synchronize.json"},
		{"pull_request", "pull_request.reopened.json"},
		{"issue_comment", "issue_comment.created.on_pull_request.json"},
		{"check_run", "check_run.rerequested.json"},
		{"ping", "ping.json"},
		{"installation", "installation.created.json"},
	} {
		f.Add(seed.event, webhookFixture(f, "github", seed.file))
	}
	f.Add("pull_request_review", review(f, "submitted", "approved"))
	f.Add("pull_request_review", []byte(`{"action":"dismissed","pull_request":null}`))
	f.Add("check_run", []byte(`{"action":"rerequested","check_run":{"pull_requests":[null]}}`))
	f.Add("discussion", discussionAnswered())
	f.Add("issue_comment", []byte(`{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"user":null}}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		ev, err := GitHubEvent(event, payload, "fuzz")
		if err == nil && ev.Host != "github" {
			t.Errorf("an event without its host: %+v", ev)
		}
	})
}

// BenchmarkGitHubEvent reads the intake's two common payloads with
// dataops' own small structs, and with go-github's full ParseWebHook as the
// baseline the intake used before (bench: BENCHMARKS.md, "Webhook intake").
func BenchmarkGitHubEvent(b *testing.B) {
	for _, c := range []struct{ event, file string }{
		{"pull_request", "pull_request.synchronize.json"},
		{"issue_comment", "issue_comment.created.on_pull_request.json"},
	} {
		payload := webhookFixture(b, "github", c.file)
		b.Run(c.event+"/dataops", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for range b.N {
				if _, err := GitHubEvent(c.event, payload, "d"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.event+"/go-github", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for range b.N {
				if _, err := github.ParseWebHook(c.event, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
