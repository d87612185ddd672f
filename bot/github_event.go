package bot

import (
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
	parsed, err := github.ParseWebHook(name, payload)
	if err != nil {
		return Event{}, fmt.Errorf("read the %s event: %w", name, err)
	}
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
	case *github.CheckRunEvent:
		if e.GetAction() != "rerequested" || len(e.GetCheckRun().PullRequests) == 0 {
			return Event{}, ErrIgnored{"check_run " + e.GetAction() + " needs nothing"}
		}
		pr := e.GetCheckRun().PullRequests[0]
		return Event{Host: "github", Repo: e.GetRepo().GetFullName(), DeliveryID: deliveryID, Kind: Rerun,
			PullRequest: scm.PullRequest{Number: pr.GetNumber(), HeadSHA: e.GetCheckRun().GetHeadSHA()}}, nil
	}
	return Event{}, ErrIgnored{fmt.Sprintf("%s events are not handled", name)}
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
