package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/scm"
)

// ErrIgnored is returned for events dataops does not act on; the reason is
// in the error's text.
type ErrIgnored struct{ Reason string }

func (e ErrIgnored) Error() string { return e.Reason }

// GitHubEvent turns a GitHub webhook or Actions event payload into an
// Event. name is the X-GitHub-Event header or GITHUB_EVENT_NAME.
//
// Only the events dataops acts on are decoded, and only for the fields it
// reads, into the small structs below: GitHub's payloads carry hundreds
// of fields whose shapes change between examples and versions (octokit's
// discussion.answered has answer_chosen_by as a user, its
// package.published a package_version.body object), and a field dataops
// never reads must not fail a delivery or lose a command. Any other event
// is ignored without reading its body.
func GitHubEvent(name string, payload []byte, deliveryID string) (Event, error) {
	var (
		ev  Event
		err error
	)
	switch name {
	case "":
		return Event{}, errors.New("read the event: no event name (the X-GitHub-Event header, or GITHUB_EVENT_NAME in Actions)")
	case "pull_request":
		ev, err = githubPullRequestEvent(payload)
	case "issue_comment":
		ev, err = githubCommentEvent(payload)
	case "pull_request_review":
		ev, err = githubReviewEvent(payload)
	case "check_run", "check_suite":
		ev, err = githubRerunEvent(name, payload)
	default:
		return Event{}, ErrIgnored{fmt.Sprintf("%s events are not handled", name)}
	}
	if err != nil {
		return Event{}, err
	}
	ev.Host, ev.DeliveryID = "github", deliveryID
	return ev, nil
}

// githubEnvelope is what every payload dataops reads has: the action, the
// repository, and the App installation the bot authenticates as to answer
// (0 in Actions).
type githubEnvelope struct {
	Action       string      `json:"action"`
	Repo         *githubRepo `json:"repository"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

func (e githubEnvelope) repo() string {
	if e.Repo == nil {
		return ""
	}
	return e.Repo.FullName
}

func (e githubEnvelope) installation() int64 {
	if e.Installation == nil {
		return 0
	}
	return e.Installation.ID
}

type githubRepo struct {
	FullName string `json:"full_name"`
}

type githubUser struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

func (u *githubUser) login() string {
	if u == nil {
		return ""
	}
	return u.Login
}

// githubPull is a pull request as webhook payloads carry it.
type githubPull struct {
	Number  int         `json:"number"`
	Title   string      `json:"title"`
	HTMLURL string      `json:"html_url"`
	State   string      `json:"state"`
	Merged  bool        `json:"merged"`
	User    *githubUser `json:"user"`
	Base    githubRef   `json:"base"`
	Head    githubRef   `json:"head"`
}

type githubRef struct {
	Ref  string      `json:"ref"`
	SHA  string      `json:"sha"`
	Repo *githubRepo `json:"repo"`
}

// decodeGitHub reads payload into v, naming the event on failure.
func decodeGitHub(name string, payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("read the %s event: %w", name, err)
	}
	return nil
}

func githubPullRequestEvent(payload []byte) (Event, error) {
	var e struct {
		githubEnvelope
		PullRequest *githubPull `json:"pull_request"`
	}
	if err := decodeGitHub("pull_request", payload, &e); err != nil {
		return Event{}, err
	}
	var ev Event
	switch e.Action {
	case "opened":
		ev.Kind = Opened
	case "synchronize":
		ev.Kind = Synchronized
	case "reopened":
		ev.Kind = Reopened
	case "closed":
		ev.Kind = Closed
	default:
		return Event{}, ErrIgnored{fmt.Sprintf("pull_request %s events need no checks", e.Action)}
	}
	if e.PullRequest == nil {
		return Event{}, errors.New("read the pull_request event: no pull_request in the payload")
	}
	ev.Repo, ev.InstallationID = e.repo(), e.installation()
	ev.PullRequest = githubPR(e.PullRequest, ev.Repo)
	ev.Merged = ev.Kind == Closed && e.PullRequest.Merged
	return ev, nil
}

func githubCommentEvent(payload []byte) (Event, error) {
	var e struct {
		githubEnvelope
		Issue *struct {
			Number int         `json:"number"`
			Title  string      `json:"title"`
			User   *githubUser `json:"user"`
			// Set only when the issue is a pull request.
			PullRequest *struct{} `json:"pull_request"`
		} `json:"issue"`
		Comment *struct {
			ID   int64       `json:"id"`
			Body string      `json:"body"`
			User *githubUser `json:"user"`
		} `json:"comment"`
	}
	if err := decodeGitHub("issue_comment", payload, &e); err != nil {
		return Event{}, err
	}
	if e.Issue == nil || e.Issue.PullRequest == nil {
		return Event{}, ErrIgnored{"a comment on an issue, not a pull request"}
	}
	if e.Action != "created" {
		return Event{}, ErrIgnored{"only new comments are read for commands"}
	}
	if e.Comment == nil {
		return Event{}, errors.New("read the issue_comment event: no comment in the payload")
	}
	user := e.Comment.User
	login := user.login()
	return Event{Repo: e.repo(), InstallationID: e.installation(), Kind: Commented,
		PullRequest: scm.PullRequest{Number: e.Issue.Number, Title: e.Issue.Title, Author: e.Issue.User.login()},
		Comment: &Comment{ID: e.Comment.ID, Body: e.Comment.Body, Author: login,
			Bot: user != nil && user.Type == "Bot" || strings.HasSuffix(login, "[bot]")}}, nil
}

func githubReviewEvent(payload []byte) (Event, error) {
	var e struct {
		githubEnvelope
		PullRequest *githubPull `json:"pull_request"`
	}
	if err := decodeGitHub("pull_request_review", payload, &e); err != nil {
		return Event{}, err
	}
	switch e.Action {
	case "submitted", "edited", "dismissed":
	default:
		return Event{}, ErrIgnored{fmt.Sprintf("pull_request_review %s events need nothing", e.Action)}
	}
	if e.PullRequest == nil {
		return Event{}, errors.New("read the pull_request_review event: no pull_request in the payload")
	}
	return Event{Repo: e.repo(), InstallationID: e.installation(), Kind: Reviewed,
		PullRequest: githubPR(e.PullRequest, e.repo())}, nil
}

// checkUnit is a check run or suite ("Re-run" on one check, "Re-run all
// checks"): its commit and pull requests. octokit's recorded rerequested
// example writes the App's timestamps as "2018-04-25 20:42:10", which is
// one more reason to read nothing else.
type checkUnit struct {
	HeadSHA      string `json:"head_sha"`
	PullRequests []*struct {
		Number int `json:"number"`
	} `json:"pull_requests"`
}

func githubRerunEvent(name string, payload []byte) (Event, error) {
	var e struct {
		githubEnvelope
		CheckRun   *checkUnit `json:"check_run"`
		CheckSuite *checkUnit `json:"check_suite"`
	}
	if err := decodeGitHub(name, payload, &e); err != nil {
		return Event{}, err
	}
	unit := e.CheckRun
	if name == "check_suite" {
		unit = e.CheckSuite
	}
	if e.Action != "rerequested" || unit == nil || len(unit.PullRequests) == 0 || unit.PullRequests[0] == nil {
		return Event{}, ErrIgnored{name + " " + e.Action + " needs nothing"}
	}
	return Event{Repo: e.repo(), InstallationID: e.installation(), Kind: Rerun, Pinned: unit.HeadSHA,
		PullRequest: scm.PullRequest{Number: unit.PullRequests[0].Number, HeadSHA: unit.HeadSHA}}, nil
}

func githubPR(pr *githubPull, repo string) scm.PullRequest {
	state := pr.State
	if pr.Merged {
		state = "merged"
	}
	return scm.PullRequest{Number: pr.Number, Title: pr.Title, Author: pr.User.login(), URL: pr.HTMLURL,
		BaseRef: pr.Base.Ref, BaseSHA: pr.Base.SHA, HeadRef: pr.Head.Ref, HeadSHA: pr.Head.SHA,
		Fork: pr.Head.Repo == nil || pr.Head.Repo.FullName != repo, State: state}
}
