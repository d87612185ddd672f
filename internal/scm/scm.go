// Package scm is what dataops needs from a code host (GitHub, GitLab, or a
// local stand-in): one small interface with one implementation per host,
// in the way reviewdog has one CommentService per service. Only the
// packages below scm talk to a host's API.
//
// The checks' results reach a host as a Check, defined here rather than as
// checks.Result because internal packages do not import the stages above
// them; the pipeline converts one into the other.
package scm

import (
	"context"
	"io"
)

// PullRequest is what dataops reads of a pull (GitHub) or merge (GitLab)
// request.
type PullRequest struct {
	Number  int    `json:"number"`
	Title   string `json:"title"`
	Author  string `json:"author"`
	URL     string `json:"url"`
	BaseRef string `json:"base_ref"`
	BaseSHA string `json:"base_sha"`
	HeadRef string `json:"head_ref"`
	HeadSHA string `json:"head_sha"`
	// Fork: the head branch lives in another repository, whose author may
	// not be trusted with the warehouse.
	Fork bool `json:"fork"`
	// State is "open", "closed" or "merged".
	State string `json:"state"`
	// ChangedFiles lists the paths the pull request changes.
	ChangedFiles []string `json:"changed_files,omitempty"`
}

// Permission is a user's access to the repository, in GitHub's words;
// GitLab's access levels map onto them (Developer = write, Maintainer =
// maintain, Owner = admin, Reporter = triage, Guest = read).
type Permission string

const (
	PermissionAdmin    Permission = "admin"
	PermissionMaintain Permission = "maintain"
	PermissionWrite    Permission = "write"
	PermissionTriage   Permission = "triage"
	PermissionRead     Permission = "read"
	PermissionNone     Permission = "none"
)

// CanWrite reports whether the user may run commands that touch a
// warehouse.
func (p Permission) CanWrite() bool {
	return p == PermissionAdmin || p == PermissionMaintain || p == PermissionWrite
}

// Check names, the same on every host, so branch protection can require them.
const (
	CheckCompile = "dataops/compile"
	CheckDryRun  = "dataops/dry-run"
	CheckBuild   = "dataops/build"
	CheckDiff    = "dataops/diff"
	CheckGate    = "dataops/gate"
)

// Check statuses and conclusions, as GitHub names them.
const (
	StatusQueued     = "queued"
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"

	ConclusionSuccess   = "success"
	ConclusionFailure   = "failure"
	ConclusionNeutral   = "neutral"
	ConclusionSkipped   = "skipped"
	ConclusionCancelled = "cancelled"
)

// Annotation levels.
const (
	LevelFailure = "failure"
	LevelWarning = "warning"
	LevelNotice  = "notice"
)

// Annotation marks a line of a file in the pull request.
type Annotation struct {
	Path    string `json:"path"` // relative to the repository root
	Line    int    `json:"line"` // 1-based; 0 means the file as a whole
	EndLine int    `json:"end_line,omitempty"`
	Level   string `json:"level"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message"`
}

// Check is one stage's result on a commit: a check run on GitHub, a commit
// status on GitLab (and on GitHub when the token cannot write checks).
type Check struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion,omitempty"` // when completed
	Title      string `json:"title"`
	Summary    string `json:"summary"`        // markdown
	Text       string `json:"text,omitempty"` // markdown: the full detail
	DetailsURL string `json:"details_url,omitempty"`
	// Annotations may be any number; hosts send them in batches.
	Annotations []Annotation `json:"annotations,omitempty"`
}

// Reaction is an emoji reaction to a comment.
type Reaction string

const (
	ReactionEyes     Reaction = "eyes"     // taken
	ReactionRocket   Reaction = "rocket"   // done
	ReactionConfused Reaction = "confused" // failed
)

// What a run compares: Comparison.Mode.
const (
	// CompareMerge: Head is a merge of the pull request into its base
	// branch (GitHub's test merge commit, GitLab's merge ref, or that
	// checked out by CI), Base the base branch's tip it was made on: only
	// the pull request's own change differs, even when the base moved on.
	CompareMerge = "merge"
	// CompareMergeBase: Head is the pull request's head, Base the last
	// commit it shares with its base branch, as `git diff base...head`
	// compares: again only the pull request's change differs.
	CompareMergeBase = "merge-base"
	// CompareTip: Head against the tip of the base branch as given (the
	// base's later changes then show, reverted, as the pull request's).
	CompareTip = "tip"
)

// Comparison is the pair of commits a run compiles and compares, and
// builds its environment from.
type Comparison struct {
	// Base is compared with; Head is compiled, built and diffed ("" is a
	// local work tree).
	Base string `json:"base"`
	Head string `json:"head"`
	Mode string `json:"mode"`
	// PullHead is the pull request's head commit, for the headline: Head
	// itself unless Mode is CompareMerge.
	PullHead string `json:"pull_head,omitempty"`
	// WorkTree: the change is a local work tree on PullHead, uncommitted
	// edits included (dataops check).
	WorkTree bool `json:"work_tree,omitempty"`
	// Why says why there is no merge to compare when the host was asked
	// for one (a conflict, a merge not computed yet), for the headline.
	Why string `json:"why,omitempty"`
}

// Host is one repository on one code host.
type Host interface {
	// PullRequest reads a pull request with its changed files.
	PullRequest(ctx context.Context, number int) (*PullRequest, error)
	// Permission tells a user's access to the repository.
	Permission(ctx context.Context, user string) (Permission, error)
	// UpsertComment edits the pull request's comment holding marker, or
	// creates it: there is never more than one.
	UpsertComment(ctx context.Context, number int, marker, body string) error
	// PublishCheck creates or updates the check of c.Name on sha; calling
	// it again for the same name and sha replaces the earlier state.
	PublishCheck(ctx context.Context, sha string, c Check) error
	// React adds a reaction to a comment on the pull request.
	React(ctx context.Context, number int, commentID int64, r Reaction) error
	// Archive returns the repository's files at sha as a gzipped tarball.
	Archive(ctx context.Context, sha string) (io.ReadCloser, error)
	// Compare says what a pull request's checks compare: the host's merge
	// of pr into its base branch against that branch, or, without one
	// (a conflict, not computed yet), pr's head against its merge base.
	Compare(ctx context.Context, pr PullRequest) (Comparison, error)
}
