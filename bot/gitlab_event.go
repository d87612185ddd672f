package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dataops-dev/dataops/internal/scm"
)

// GitLabEvent turns a GitLab webhook payload into an Event. name is the
// X-Gitlab-Event header ("Merge Request Hook", "Note Hook", ...); botUser is
// the username dataops comments as, whose notes are never obeyed.
//
// Only merge request and note hooks are decoded, and only for the fields
// dataops reads (the structs below): the GitLab docs' own note example has
// a last_commit.timestamp that is not RFC 3339, which client-go's full
// events refuse, and a field dataops never reads must not lose a command.
//
// A merge request hook carries no base SHA and names the author only by
// ID, so BaseSHA is empty and Author is set only when whoever acted is the
// author; the worker reads the merge request through the API for the rest.
func GitLabEvent(name string, payload []byte, deliveryID string, botUser string) (Event, error) {
	switch name {
	case "Merge Request Hook":
		return gitlabMergeRequestEvent(name, payload, deliveryID)
	case "Note Hook", "Confidential Note Hook":
		return gitlabNoteEvent(name, payload, deliveryID, botUser)
	case "":
		return Event{}, errors.New("read the GitLab event: no event name (the X-Gitlab-Event header)")
	}
	return Event{}, ErrIgnored{fmt.Sprintf("GitLab %q events are not handled", name)}
}

// gitlabMR is a merge request as hooks carry it: object_attributes of a
// merge request hook, merge_request of a note hook.
type gitlabMR struct {
	IID             int64  `json:"iid"`
	Title           string `json:"title"`
	URL             string `json:"url"`
	TargetBranch    string `json:"target_branch"`
	SourceBranch    string `json:"source_branch"`
	SourceProjectID int64  `json:"source_project_id"`
	TargetProjectID int64  `json:"target_project_id"`
	State           string `json:"state"`
	AuthorID        int64  `json:"author_id"`
	LastCommit      struct {
		ID string `json:"id"`
	} `json:"last_commit"`
	// Target is the target project, which older payloads name only here.
	Target *gitlabProject `json:"target"`
	// Action and OldRev: merge request hooks only.
	Action string `json:"action"`
	OldRev string `json:"oldrev"`
}

type gitlabProject struct {
	PathWithNamespace string `json:"path_with_namespace"`
}

type gitlabUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// gitlabHook is what both hooks share.
type gitlabHook struct {
	ObjectKind string         `json:"object_kind"`
	Project    *gitlabProject `json:"project"`
	User       *gitlabUser    `json:"user"`
}

func (h gitlabHook) project() string {
	if h.Project == nil {
		return ""
	}
	return h.Project.PathWithNamespace
}

func (mr *gitlabMR) pullRequest() scm.PullRequest {
	return scm.PullRequest{
		Number:  int(mr.IID),
		Title:   mr.Title,
		URL:     mr.URL,
		BaseRef: mr.TargetBranch,
		HeadRef: mr.SourceBranch,
		HeadSHA: mr.LastCommit.ID,
		// A payload without source_project_id counts as a fork: the safe side.
		Fork:  mr.SourceProjectID != mr.TargetProjectID,
		State: gitlabStates[mr.State],
	}
}

// decodeGitLab reads payload into v after checking its object_kind: a
// payload sent under the wrong header, or no GitLab payload at all, is
// told from one to act on.
func decodeGitLab(name string, payload []byte, want string, v any) error {
	var peek struct {
		ObjectKind string `json:"object_kind"`
	}
	if err := json.Unmarshal(payload, &peek); err != nil {
		return fmt.Errorf("read the GitLab %s: %w", name, err)
	}
	if peek.ObjectKind != want {
		return fmt.Errorf("read the GitLab %s: object_kind is %q, want %q", name, peek.ObjectKind, want)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("read the GitLab %s: %w", name, err)
	}
	return nil
}

func gitlabMergeRequestEvent(name string, payload []byte, deliveryID string) (Event, error) {
	var e struct {
		gitlabHook
		ObjectAttributes gitlabMR `json:"object_attributes"`
	}
	if err := decodeGitLab(name, payload, "merge_request", &e); err != nil {
		return Event{}, err
	}
	oa := &e.ObjectAttributes
	repo, err := gitlabRepo(name, e.project(), oa.Target)
	if err != nil {
		return Event{}, err
	}
	if oa.IID <= 0 {
		return Event{}, fmt.Errorf("read the GitLab %s: object_attributes.iid is missing", name)
	}
	ev := Event{Host: "gitlab", Repo: repo, DeliveryID: deliveryID, PullRequest: oa.pullRequest()}
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
	var e struct {
		gitlabHook
		ObjectAttributes struct {
			ID           int64  `json:"id"`
			Note         string `json:"note"`
			NoteableType string `json:"noteable_type"`
			Action       string `json:"action"`
			System       bool   `json:"system"`
		} `json:"object_attributes"`
		MergeRequest *gitlabMR `json:"merge_request"`
	}
	if err := decodeGitLab(name, payload, "note", &e); err != nil {
		return Event{}, err
	}
	oa := e.ObjectAttributes
	if t := oa.NoteableType; t != "MergeRequest" {
		return Event{}, ErrIgnored{fmt.Sprintf("a note on %s, not a merge request", noteable(t))}
	}
	switch oa.Action {
	case "", "create": // GitLab before 16.x sends no action
	default:
		return Event{}, ErrIgnored{"only new comments are read for commands"}
	}
	if oa.System {
		return Event{}, ErrIgnored{"a system note (GitLab's own record of a change), not a comment"}
	}
	mr := e.MergeRequest
	if mr == nil || mr.IID <= 0 {
		return Event{}, fmt.Errorf("read the GitLab %s: merge_request.iid is missing", name)
	}
	repo, err := gitlabRepo(name, e.project(), mr.Target)
	if err != nil {
		return Event{}, err
	}
	var author string
	var authorID int64
	if e.User != nil {
		author, authorID = e.User.Username, e.User.ID
	}
	pr := mr.pullRequest()
	if mr.AuthorID != 0 && authorID == mr.AuthorID {
		pr.Author = author
	}
	// The last commit is the head the writer saw: it pins the command. The
	// head the command finds is read when it runs.
	pinned := pr.HeadSHA
	pr.HeadSHA = ""
	return Event{Host: "gitlab", Repo: repo, DeliveryID: deliveryID, Kind: Commented, PullRequest: pr, Pinned: pinned,
		Comment: &Comment{ID: oa.ID, Body: oa.Note, Author: author, Bot: gitlabBot(author, botUser)}}, nil
}

// gitlabRepo is the project's path, from project or else from the merge
// request's target, which older payloads carry alone.
func gitlabRepo(name, project string, target *gitlabProject) (string, error) {
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
