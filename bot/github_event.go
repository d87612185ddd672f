package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// ErrIgnored is returned for events dataops does not act on; the reason is
// in the error's text.
type ErrIgnored struct{ Reason string }

func (e ErrIgnored) Error() string { return e.Reason }

// GitHubEvent turns a GitHub webhook or Actions event payload into an
// Event. name is the X-GitHub-Event header or GITHUB_EVENT_NAME.
func GitHubEvent(name string, payload []byte, deliveryID string) (Event, error) {
	if name == "" {
		return Event{}, errors.New("read the event: no event name (the X-GitHub-Event header, or GITHUB_EVENT_NAME in Actions)")
	}
	// GitHub adds event types now and then; one go-github does not know is
	// one dataops has no use for, not a broken delivery.
	if github.EventForType(name) == nil {
		return Event{}, ErrIgnored{fmt.Sprintf("%q events are not handled", name)}
	}
	if name == "check_run" || name == "check_suite" {
		return githubRerunEvent(name, payload, deliveryID)
	}
	parsed, err := github.ParseWebHook(name, payload)
	if err != nil {
		return Event{}, fmt.Errorf("read the %s event: %w", name, err)
	}
	ev, err := githubEvent(name, parsed, deliveryID)
	if err != nil {
		return Event{}, err
	}
	// Every payload a GitHub App receives names its installation, which
	// the bot authenticates as to answer.
	if e, ok := parsed.(interface{ GetInstallation() *github.Installation }); ok {
		ev.InstallationID = e.GetInstallation().GetID()
	}
	return ev, nil
}

func githubEvent(name string, parsed any, deliveryID string) (Event, error) {
	switch e := parsed.(type) {
	case *github.PullRequestEvent:
		ev := Event{Host: "github", Repo: e.GetRepo().GetFullName(), DeliveryID: deliveryID,
			PullRequest: githubPR(e.GetPullRequest(), e.GetRepo().GetFullName())}
		switch e.GetAction() {
		case "opened":
			ev.Kind = Opened
		case "synchronize":
			ev.Kind = Synchronized
		case "reopened":
			ev.Kind = Reopened
		case "closed":
			ev.Kind, ev.Merged = Closed, e.GetPullRequest().GetMerged()
		default:
			return Event{}, ErrIgnored{fmt.Sprintf("pull_request %s events need no checks", e.GetAction())}
		}
		return ev, nil
	case *github.IssueCommentEvent:
		if e.GetIssue().GetPullRequestLinks() == nil {
			return Event{}, ErrIgnored{"a comment on an issue, not a pull request"}
		}
		if e.GetAction() != "created" {
			return Event{}, ErrIgnored{"only new comments are read for commands"}
		}
		user := e.GetComment().GetUser()
		return Event{Host: "github", Repo: e.GetRepo().GetFullName(), DeliveryID: deliveryID, Kind: Commented,
			PullRequest: scm.PullRequest{Number: e.GetIssue().GetNumber(), Title: e.GetIssue().GetTitle(), Author: e.GetIssue().GetUser().GetLogin()},
			Comment: &Comment{ID: e.GetComment().GetID(), Body: e.GetComment().GetBody(), Author: user.GetLogin(),
				Bot: user.GetType() == "Bot" || strings.HasSuffix(user.GetLogin(), "[bot]")}}, nil
	case *github.PullRequestReviewEvent:
		switch e.GetAction() {
		case "submitted", "edited", "dismissed":
		default:
			return Event{}, ErrIgnored{fmt.Sprintf("pull_request_review %s events need nothing", e.GetAction())}
		}
		if e.PullRequest == nil {
			return Event{}, fmt.Errorf("read the %s event: no pull_request in the payload", name)
		}
		return Event{Host: "github", Repo: e.GetRepo().GetFullName(), DeliveryID: deliveryID, Kind: Reviewed,
			PullRequest: githubPR(e.GetPullRequest(), e.GetRepo().GetFullName())}, nil
	}
	return Event{}, ErrIgnored{fmt.Sprintf("%s events are not handled", name)}
}

// rerunEvent is what dataops reads of a check_run or check_suite delivery
// ("Re-run" on one check, "Re-run all checks"). go-github's events decode
// the App's timestamps too, which octokit's recorded rerequested example
// writes as "2018-04-25 20:42:10", a form it cannot parse: a field dataops
// never reads must not fail the delivery.
type rerunEvent struct {
	Action     string     `json:"action"`
	CheckRun   *checkUnit `json:"check_run"`
	CheckSuite *checkUnit `json:"check_suite"`
	Repo       *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

// checkUnit is a check run or suite: its commit and pull requests.
type checkUnit struct {
	HeadSHA      string `json:"head_sha"`
	PullRequests []*struct {
		Number int `json:"number"`
	} `json:"pull_requests"`
}

func githubRerunEvent(name string, payload []byte, deliveryID string) (Event, error) {
	var e rerunEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return Event{}, fmt.Errorf("read the %s event: %w", name, err)
	}
	unit := e.CheckRun
	if name == "check_suite" {
		unit = e.CheckSuite
	}
	if e.Action != "rerequested" || unit == nil || len(unit.PullRequests) == 0 || unit.PullRequests[0] == nil {
		return Event{}, ErrIgnored{name + " " + e.Action + " needs nothing"}
	}
	ev := Event{Host: "github", DeliveryID: deliveryID, Kind: Rerun,
		PullRequest: scm.PullRequest{Number: unit.PullRequests[0].Number, HeadSHA: unit.HeadSHA}}
	if e.Repo != nil {
		ev.Repo = e.Repo.FullName
	}
	if e.Installation != nil {
		ev.InstallationID = e.Installation.ID
	}
	return ev, nil
}

func githubPR(pr *github.PullRequest, repo string) scm.PullRequest {
	state := pr.GetState()
	if pr.GetMerged() {
		state = "merged"
	}
	return scm.PullRequest{Number: pr.GetNumber(), Title: pr.GetTitle(), Author: pr.GetUser().GetLogin(), URL: pr.GetHTMLURL(),
		BaseRef: pr.GetBase().GetRef(), BaseSHA: pr.GetBase().GetSHA(), HeadRef: pr.GetHead().GetRef(), HeadSHA: pr.GetHead().GetSHA(),
		Fork: pr.GetHead().GetRepo() == nil || pr.GetHead().GetRepo().GetFullName() != repo, State: state}
}
