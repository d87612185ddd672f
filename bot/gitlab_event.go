package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// GitLabEvent turns a GitLab webhook payload into an Event. name is the
// X-Gitlab-Event header ("Merge Request Hook", "Note Hook", ...); botUser is
// the username dataops comments as, whose notes are never obeyed.
//
// A merge request hook carries no base SHA and names the author only by
// ID, so BaseSHA is empty and Author is set only when whoever acted is the
// author; the worker reads the merge request through the API for the rest.
func GitLabEvent(name string, payload []byte, deliveryID string, botUser string) (Event, error) {
	switch gitlab.EventType(name) {
	case gitlab.EventTypeMergeRequest:
		return gitlabMergeRequestEvent(name, payload, deliveryID)
	case gitlab.EventTypeNote, gitlab.EventConfidentialNote:
		return gitlabNoteEvent(name, payload, deliveryID, botUser)
	case "":
		return Event{}, errors.New("read the GitLab event: no event name (the X-Gitlab-Event header)")
	}
	return Event{}, ErrIgnored{fmt.Sprintf("GitLab %q events are not handled", name)}
}

func gitlabMergeRequestEvent(name string, payload []byte, deliveryID string) (Event, error) {
	if err := checkObjectKind(name, payload, "merge_request"); err != nil {
		return Event{}, err
	}
	parsed, err := gitlab.ParseWebhook(gitlab.EventTypeMergeRequest, payload)
	if err != nil {
		return Event{}, fmt.Errorf("read the GitLab %s: %w", name, err)
	}
	e, ok := parsed.(*gitlab.MergeEvent)
	if !ok {
		return Event{}, fmt.Errorf("read the GitLab %s: client-go returned a %T", name, parsed)
	}
	oa := e.ObjectAttributes
	repo, err := gitlabRepo(name, e.Project.PathWithNamespace, oa.Target)
	if err != nil {
		return Event{}, err
	}
	if oa.IID <= 0 {
		return Event{}, fmt.Errorf("read the GitLab %s: object_attributes.iid is missing", name)
	}
	ev := Event{Host: "gitlab", Repo: repo, DeliveryID: deliveryID, PullRequest: scm.PullRequest{
		Number:  int(oa.IID),
		Title:   oa.Title,
		URL:     oa.URL,
		BaseRef: oa.TargetBranch,
		HeadRef: oa.SourceBranch,
		HeadSHA: oa.LastCommit.ID,
		// A payload without source_project_id counts as a fork: the safe side.
		Fork:  oa.SourceProjectID != oa.TargetProjectID,
		State: gitlabStates[oa.State],
	}}
	if e.User != nil && oa.AuthorID != 0 && e.User.ID == oa.AuthorID {
		ev.PullRequest.Author = e.User.Username
	}
	switch action := oa.Action; action {
	case "open":
		ev.Kind = Opened
	case "reopen":
		ev.Kind = Reopened
	case "update":
		// oldrev is set only when the update pushed commits; a new title,
		// label or description changes nothing to check.
		if oa.OldRev == "" {
			return Event{}, ErrIgnored{"a merge request update without new commits needs no checks"}
		}
		ev.Kind = Synchronized
	case "close":
		ev.Kind, ev.PullRequest.State = Closed, "closed"
	case "merge":
		ev.Kind, ev.Merged, ev.PullRequest.State = Closed, true, "merged"
	case "approved", "unapproved", "approval", "unapproval":
		ev.Kind = Reviewed
	default:
		return Event{}, ErrIgnored{fmt.Sprintf("merge request %q events need no checks", action)}
	}
	return ev, nil
}

func gitlabNoteEvent(name string, payload []byte, deliveryID, botUser string) (Event, error) {
	// client-go fails on a note of a kind it does not know (a design, an
	// epic); any note off a merge request is simply not for dataops.
	var peek struct {
		ObjectKind       string `json:"object_kind"`
		ObjectAttributes struct {
			NoteableType string `json:"noteable_type"`
		} `json:"object_attributes"`
	}
	if err := json.Unmarshal(payload, &peek); err != nil {
		return Event{}, fmt.Errorf("read the GitLab %s: %w", name, err)
	}
	if peek.ObjectKind != "note" {
		return Event{}, fmt.Errorf("read the GitLab %s: object_kind is %q, want \"note\"", name, peek.ObjectKind)
	}
	if t := peek.ObjectAttributes.NoteableType; t != "MergeRequest" {
		return Event{}, ErrIgnored{fmt.Sprintf("a note on %s, not a merge request", noteable(t))}
	}
	parsed, err := gitlab.ParseWebhook(gitlab.EventTypeNote, payload)
	if err != nil {
		return Event{}, fmt.Errorf("read the GitLab %s: %w", name, err)
	}
	e, ok := parsed.(*gitlab.MergeCommentEvent)
	if !ok {
		return Event{}, fmt.Errorf("read the GitLab %s: client-go returned a %T", name, parsed)
	}
	oa, mr := e.ObjectAttributes, e.MergeRequest
	switch oa.Action {
	case "", gitlab.CommentEventActionCreate: // GitLab before 16.x sends no action
	default:
		return Event{}, ErrIgnored{"only new comments are read for commands"}
	}
	if oa.System {
		return Event{}, ErrIgnored{"a system note (GitLab's own record of a change), not a comment"}
	}
	repo, err := gitlabRepo(name, e.Project.PathWithNamespace, mr.Target)
	if err != nil {
		return Event{}, err
	}
	if mr.IID <= 0 {
		return Event{}, fmt.Errorf("read the GitLab %s: merge_request.iid is missing", name)
	}
	var author string
	var authorID int64
	if e.User != nil {
		author, authorID = e.User.Username, e.User.ID
	}
	pr := scm.PullRequest{
		Number:  int(mr.IID),
		Title:   mr.Title,
		URL:     mr.URL,
		BaseRef: mr.TargetBranch,
		HeadRef: mr.SourceBranch,
		HeadSHA: mr.LastCommit.ID,
		Fork:    mr.SourceProjectID != mr.TargetProjectID,
		State:   gitlabStates[mr.State],
	}
	if mr.AuthorID != 0 && authorID == mr.AuthorID {
		pr.Author = author
	}
	return Event{Host: "gitlab", Repo: repo, DeliveryID: deliveryID, Kind: Commented, PullRequest: pr,
		Comment: &Comment{ID: oa.ID, Body: oa.Note, Author: author, Bot: gitlabBot(author, botUser)}}, nil
}

// checkObjectKind tells a payload sent under the wrong header, or no
// GitLab payload at all, from one to act on.
func checkObjectKind(name string, payload []byte, want string) error {
	var peek struct {
		ObjectKind string `json:"object_kind"`
	}
	if err := json.Unmarshal(payload, &peek); err != nil {
		return fmt.Errorf("read the GitLab %s: %w", name, err)
	}
	if peek.ObjectKind != want {
		return fmt.Errorf("read the GitLab %s: object_kind is %q, want %q", name, peek.ObjectKind, want)
	}
	return nil
}

// gitlabRepo is the project's path, from project or else from the merge
// request's target, which older payloads carry alone.
func gitlabRepo(name, project string, target *gitlab.Repository) (string, error) {
	if project != "" {
		return project, nil
	}
	if target != nil && target.PathWithNamespace != "" {
		return target.PathWithNamespace, nil
	}
	return "", fmt.Errorf("read the GitLab %s: project.path_with_namespace is missing", name)
}

// gitlabStates maps GitLab's merge request states onto scm.PullRequest's;
// locked is the moment GitLab merges it.
var gitlabStates = map[string]string{
	"opened": "open",
	"locked": "open",
	"closed": "closed",
	"merged": "merged",
}

// noteable names what a note is on, for the reason it is ignored.
func noteable(t string) string {
	switch t {
	case "":
		return "nothing named (no noteable_type)"
	case "Issue":
		return "an issue"
	case "Commit":
		return "a commit"
	case "Snippet":
		return "a snippet"
	}
	return fmt.Sprintf("a %q", t)
}

// gitlabBotName matches the users GitLab creates for project and group
// access tokens (project_123_bot_1a2b..., group_45_bot_..., and the older
// project_123_bot, project_123_bot1) and service accounts.
var gitlabBotName = regexp.MustCompile(`^(?:(?:project|group)_\d+_bot(?:\d+|_[0-9a-f]+)?|service_account_\w+)$`)

// gitlabBot tells a note by dataops itself or another bot. A note with no
// author cannot be checked for permission, so it is not obeyed either.
func gitlabBot(author, botUser string) bool {
	if author == "" {
		return true
	}
	botUser = strings.TrimPrefix(strings.TrimSpace(botUser), "@")
	if botUser != "" && strings.EqualFold(author, botUser) {
		return true
	}
	return gitlabBotName.MatchString(strings.ToLower(author))
}
