// Package bot is the platform-neutral brain of dataops: what happened on a
// pull request (an Event), what to do about it (the Pipeline of checks,
// environments, comment commands), whatever the code host and however
// dataops was started (GitHub Action, GitLab CI job, webhook bot, or a
// local `dataops check`).
package bot

import "github.com/dataops-dev/dataops/internal/scm"

// EventKind is what happened.
type EventKind string

const (
	Opened       EventKind = "opened"
	Synchronized EventKind = "synchronized" // new commits pushed
	Reopened     EventKind = "reopened"
	Closed       EventKind = "closed" // see Event.Merged
	Commented    EventKind = "comment"
	Rerun        EventKind = "rerun"    // a check re-run was requested
	Reviewed     EventKind = "reviewed" // a review was submitted or dismissed: the gate is evaluated again
)

// Event is one thing that happened to a pull request.
type Event struct {
	Host        string // "github", "gitlab" or "local"
	Repo        string // owner/name or group/project
	PullRequest scm.PullRequest
	Kind        EventKind
	Merged      bool // with Closed
	Comment     *Comment
	// InstallationID is the GitHub App installation that sent a webhook
	// (0 otherwise): the bot authenticates as it.
	InstallationID int64
	// DeliveryID identifies the webhook delivery or workflow run, for logs
	// and deduplication.
	DeliveryID string
	// Pinned is the head commit a command or a check re-run was given for:
	// GitLab notes carry the merge request's last commit, a re-run its
	// check's commit, and the bot's intake reads a GitHub comment's pull
	// request when it arrives. What runs is what was approved: while the
	// pull request's head is another commit, it runs nothing (see pin.go).
	Pinned string
}

// Comment is a comment on the pull request.
type Comment struct {
	ID     int64
	Body   string
	Author string
	// Bot: written by a bot (dataops itself or another), never obeyed.
	Bot bool
}
