package gitlabtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Identities the server starts with.
const (
	// BotUserID and BotUsername are the user the token belongs to: the
	// author of the notes, statuses and award emoji the client creates.
	BotUserID   = 4242
	BotUsername = "dataops-bot"

	// SeedMRIID is the merge request of merge_request.json
	// (object_attributes.iid); SeedNoteID the note of
	// note_merge_request.json (object_attributes.id), put on that merge
	// request.
	SeedMRIID  = 1
	SeedNoteID = 1244

	// SeedBaseSHA is the seeded merge request's merge base. The webhook
	// payload carries no diff_refs, so it is the base_sha of the example
	// in GitLab's merge request API documentation.
	SeedBaseSHA = "c380d3acebd181f13629a25d2e2acca46ffe1e00"
)

// User is a GitLab user.
type User struct {
	ID       int
	Username string
	Name     string
}

// MergeRequest is a merge request the server hosts.
type MergeRequest struct {
	ID              int
	IID             int
	Title           string
	Description     string
	State           string // opened, closed, locked or merged
	SourceBranch    string
	TargetBranch    string
	SourceProjectID int // another project than TargetProjectID for a fork
	TargetProjectID int
	Author          User
	SHA             string // head
	BaseSHA         string // diff_refs.base_sha, the merge base
	StartSHA        string // diff_refs.start_sha, the target branch tip
	MergeCommitSHA  string
	// MergeRefSHA is the head of refs/merge-requests/IID/merge, GitLab's
	// merge of the source into the target branch (register its parents
	// with SetParents); Conflict makes the merge request conflict, so that
	// there is none.
	MergeRefSHA string
	Conflict    bool
	Draft       bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Diffs       []Diff
}

// Diff is one changed file of a merge request.
type Diff struct {
	OldPath     string
	NewPath     string
	NewFile     bool
	RenamedFile bool
	DeletedFile bool
	Diff        string
}

// Note is a comment on a merge request.
type Note struct {
	ID        int
	Body      string
	Author    User
	System    bool
	Internal  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AwardEmoji is an emoji reaction on a note.
type AwardEmoji struct {
	ID        int
	Name      string
	User      User
	CreatedAt time.Time
}

// Member is a user's membership of the project, direct or inherited from
// an ancestor group.
type Member struct {
	User
	AccessLevel int    // 5 minimal, 10 guest, 15 planner, 20 reporter, 30 developer, 40 maintainer, 50 owner
	State       string // the user's state: active (default), blocked, ...
	// MembershipState is active (default) or awaiting (waiting for a seat).
	MembershipState string
	// Inherited memberships come from a group above the project; only
	// GET /projects/:id/members/all returns them.
	Inherited bool
}

// CommitStatus is one status on a commit: a CI job or an external status.
type CommitStatus struct {
	ID          int
	SHA         string
	Ref         string
	Name        string
	Status      string // created, pending, running, success, failed, canceled, skipped
	Description string
	TargetURL   string
	Coverage    *float64
	PipelineID  int
	Author      User
	// Retried statuses were replaced by a newer one of the same name and
	// ref; GitLab keeps them but shows the latest.
	Retried    bool
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

func (s *Server) id() int {
	s.nextID++
	return s.nextID
}

// SetUser sets the user the token belongs to.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// User returns the user the token belongs to.
func (s *Server) User() User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// AddMergeRequest adds or replaces a merge request. Unset project IDs are
// the hosted project's, an unset state is opened, an unset base is
// SeedBaseSHA, and its head and base become known commits.
func (s *Server) AddMergeRequest(mr MergeRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addMergeRequestLocked(mr)
}

func (s *Server) addMergeRequestLocked(mr MergeRequest) {
	if mr.TargetProjectID == 0 {
		mr.TargetProjectID = s.project.ID
	}
	if mr.SourceProjectID == 0 {
		mr.SourceProjectID = mr.TargetProjectID
	}
	if mr.State == "" {
		mr.State = "opened"
	}
	if mr.BaseSHA == "" {
		mr.BaseSHA = SeedBaseSHA
	}
	if mr.StartSHA == "" {
		mr.StartSHA = mr.BaseSHA
	}
	if mr.ID == 0 {
		mr.ID = s.id()
	}
	if mr.CreatedAt.IsZero() {
		mr.CreatedAt = time.Now().UTC()
	}
	if mr.UpdatedAt.IsZero() {
		mr.UpdatedAt = mr.CreatedAt
	}
	if mr.SHA != "" {
		s.commits[mr.SHA] = mr.SourceBranch
	}
	if _, ok := s.commits[mr.BaseSHA]; !ok {
		s.commits[mr.BaseSHA] = mr.TargetBranch
	}
	// The branches' tips, as far as the merge request tells them.
	if mr.SHA != "" {
		s.branches[mr.SourceBranch] = mr.SHA
	}
	if _, ok := s.branches[mr.TargetBranch]; !ok && mr.TargetBranch != "" {
		s.branches[mr.TargetBranch] = mr.StartSHA
	}
	mr.Diffs = slices.Clone(mr.Diffs)
	s.mrs[mr.IID] = &mr
}

// MergeRequest returns a merge request's current state.
func (s *Server) MergeRequest(iid int) (MergeRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[iid]
	if !ok {
		return MergeRequest{}, false
	}
	return *mr, true
}

// SetDiffs replaces a merge request's changed files.
func (s *Server) SetDiffs(iid int, diffs []Diff) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[iid]
	if !ok {
		s.t.Fatalf("gitlabtest: SetDiffs: no merge request !%d", iid)
	}
	mr.Diffs = slices.Clone(diffs)
}

// AddNote adds a note to a merge request and returns it with its ID. An
// unset author is the token's user.
func (s *Server) AddNote(iid int, n Note) Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mrs[iid]; !ok {
		s.t.Fatalf("gitlabtest: AddNote: no merge request !%d", iid)
	}
	if n.ID == 0 {
		n.ID = s.id()
	}
	if n.Author.ID == 0 {
		n.Author = s.user
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now().UTC()
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	s.notes[iid] = append(s.notes[iid], &n)
	return n
}

// Notes returns a merge request's notes in the order they were created.
func (s *Server) Notes(iid int) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, n := range s.notes[iid] {
		out = append(out, *n)
	}
	return out
}

// AwardEmoji returns the emoji awarded to a note.
func (s *Server) AwardEmoji(noteID int) []AwardEmoji {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AwardEmoji
	for _, a := range s.awards[noteID] {
		out = append(out, *a)
	}
	return out
}

// AddMember adds a membership. Unset states are active.
func (s *Server) AddMember(m Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.State == "" {
		m.State = "active"
	}
	if m.MembershipState == "" {
		m.MembershipState = "active"
	}
	if m.Name == "" {
		m.Name = m.Username
	}
	s.members = append(s.members, m)
}

// AddCommit makes sha a known commit, on ref.
func (s *Server) AddCommit(sha, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits[sha] = ref
}

// Statuses returns every status of a commit, retried ones included, in the
// order they were created.
func (s *Server) Statuses(sha string) []CommitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CommitStatus
	for _, st := range s.statuses {
		if st.SHA == sha {
			out = append(out, *st)
		}
	}
	return out
}

// LatestStatuses returns the current status of each name on a commit, as
// the merge request widget shows them.
func (s *Server) LatestStatuses(sha string) map[string]CommitStatus {
	out := map[string]CommitStatus{}
	for _, st := range s.Statuses(sha) {
		if !st.Retried {
			out[st.Name] = st
		}
	}
	return out
}

// SetArchive sets the tar.gz archive served for sha.
func (s *Server) SetArchive(sha string, tarGz []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.archives[sha] = slices.Clone(tarGz)
	if _, ok := s.commits[sha]; !ok {
		s.commits[sha] = "main"
	}
}

// Seeding from the fixtures.

type hookUser struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
}

type mergeRequestHook struct {
	User             hookUser `json:"user"`
	ObjectAttributes struct {
		ID              int    `json:"id"`
		IID             int    `json:"iid"`
		TargetBranch    string `json:"target_branch"`
		SourceBranch    string `json:"source_branch"`
		SourceProjectID int    `json:"source_project_id"`
		TargetProjectID int    `json:"target_project_id"`
		Title           string `json:"title"`
		Description     string `json:"description"`
		State           string `json:"state"`
		CreatedAt       string `json:"created_at"`
		UpdatedAt       string `json:"updated_at"`
		LastCommit      struct {
			ID string `json:"id"`
		} `json:"last_commit"`
		Target struct {
			PathWithNamespace string `json:"path_with_namespace"`
		} `json:"target"`
	} `json:"object_attributes"`
}

type noteHook struct {
	User             hookUser `json:"user"`
	ObjectAttributes struct {
		ID        int    `json:"id"`
		Note      string `json:"note"`
		System    bool   `json:"system"`
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	} `json:"object_attributes"`
	MergeRequest struct {
		IID int `json:"iid"`
	} `json:"merge_request"`
}

type pipelineHook struct {
	ObjectAttributes struct {
		ID  int    `json:"id"`
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"object_attributes"`
	Builds []struct {
		ID         int      `json:"id"`
		Name       string   `json:"name"`
		Status     string   `json:"status"`
		CreatedAt  string   `json:"created_at"`
		StartedAt  *string  `json:"started_at"`
		FinishedAt *string  `json:"finished_at"`
		User       hookUser `json:"user"`
	} `json:"builds"`
}

// FixturesDir finds ../shared/fixtures/gitlab/webhooks: next to this
// source file's module, or above the working directory, or under
// $DATAOPS_FIXTURES.
func FixturesDir() (string, error) {
	const rel = "fixtures/gitlab/webhooks"
	var tried []string
	try := func(dir string) bool {
		tried = append(tried, dir)
		_, err := os.Stat(filepath.Join(dir, "merge_request.json"))
		return err == nil
	}
	if env := os.Getenv("DATAOPS_FIXTURES"); env != "" {
		if d := filepath.Join(env, "gitlab", "webhooks"); try(d) {
			return d, nil
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		// internal/scm/gitlabtest -> the folder holding the repository
		if d := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", rel); try(d) {
			return filepath.Clean(d), nil
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if d := filepath.Join(dir, "shared", rel); try(d) {
				return d, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", fmt.Errorf("cannot find the GitLab webhook fixtures (tried %s); .ci/fixtures downloads them to ../shared/fixtures, or set DATAOPS_FIXTURES to the shared fixtures folder", strings.Join(tried, ", "))
}

func readFixture(dir, name string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("fixture %s: %w", name, err)
	}
	return nil
}

// hookTime parses the two time formats of webhook payloads.
func hookTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// seedDiffs are the seeded merge request's changes: a dbt-style project's
// files, as dataops sees them.
var seedDiffs = []Diff{
	{OldPath: "models/staging/stg_orders.sql", NewPath: "models/staging/stg_orders.sql", Diff: "@@ -1,3 +1,4 @@\n select\n     id as order_id,\n+    status,\n     user_id as customer_id\n"},
	{OldPath: "models/marts/fct_orders.sql", NewPath: "models/marts/fct_orders.sql", NewFile: true, Diff: "@@ -0,0 +1,2 @@\n+select *\n+from {{ ref('stg_orders') }}\n"},
}

func (s *Server) seed() error {
	dir, err := FixturesDir()
	if err != nil {
		return err
	}
	var mrh mergeRequestHook
	if err := readFixture(dir, "merge_request.json", &mrh); err != nil {
		return err
	}
	oa := mrh.ObjectAttributes
	if oa.IID != SeedMRIID {
		return fmt.Errorf("merge_request.json: iid %d, want %d", oa.IID, SeedMRIID)
	}
	if s.project.ID == 0 {
		s.project = Project{ID: oa.TargetProjectID, Path: oa.Target.PathWithNamespace}
	}
	// For an "open" event the payload's user opened the merge request.
	s.addMergeRequestLocked(MergeRequest{
		ID:           oa.ID,
		IID:          oa.IID,
		Title:        oa.Title,
		Description:  oa.Description,
		State:        oa.State,
		SourceBranch: oa.SourceBranch,
		TargetBranch: oa.TargetBranch,
		Author:       User{ID: mrh.User.ID, Username: mrh.User.Username, Name: mrh.User.Name},
		SHA:          oa.LastCommit.ID,
		CreatedAt:    hookTime(oa.CreatedAt),
		UpdatedAt:    hookTime(oa.UpdatedAt),
		Diffs:        seedDiffs,
	})

	var nh noteHook
	if err := readFixture(dir, "note_merge_request.json", &nh); err != nil {
		return err
	}
	if nh.ObjectAttributes.ID != SeedNoteID || nh.MergeRequest.IID != SeedMRIID {
		return fmt.Errorf("note_merge_request.json: note %d on !%d, want %d on !%d",
			nh.ObjectAttributes.ID, nh.MergeRequest.IID, SeedNoteID, SeedMRIID)
	}
	s.notes[SeedMRIID] = append(s.notes[SeedMRIID], &Note{
		ID:        nh.ObjectAttributes.ID,
		Body:      nh.ObjectAttributes.Note,
		Author:    User{ID: nh.User.ID, Username: nh.User.Username, Name: nh.User.Name},
		System:    nh.ObjectAttributes.System,
		CreatedAt: hookTime(nh.ObjectAttributes.CreatedAt),
		UpdatedAt: hookTime(nh.ObjectAttributes.UpdatedAt),
	})

	var ph pipelineHook
	if err := readFixture(dir, "pipeline.json", &ph); err != nil {
		return err
	}
	sha, ref := ph.ObjectAttributes.SHA, ph.ObjectAttributes.Ref
	s.commits[sha] = ref
	for _, b := range ph.Builds {
		st := &CommitStatus{
			ID: b.ID, SHA: sha, Ref: ref, Name: b.Name, Status: b.Status,
			PipelineID: ph.ObjectAttributes.ID,
			Author:     User{ID: b.User.ID, Username: b.User.Username, Name: b.User.Name},
			CreatedAt:  hookTime(b.CreatedAt),
		}
		if b.StartedAt != nil {
			t := hookTime(*b.StartedAt)
			st.StartedAt = &t
		}
		if b.FinishedAt != nil {
			t := hookTime(*b.FinishedAt)
			st.FinishedAt = &t
		}
		s.statuses = append(s.statuses, st)
	}
	slices.SortFunc(s.statuses, func(a, b *CommitStatus) int { return a.ID - b.ID })
	return nil
}

// JSON shapes, after the examples of GitLab's API documentation.

func (s *Server) userJSON(u User) map[string]any {
	return map[string]any{
		"id":         u.ID,
		"username":   u.Username,
		"name":       u.Name,
		"state":      "active",
		"locked":     false,
		"avatar_url": "https://www.gravatar.com/avatar/" + strconv.Itoa(u.ID) + "?s=80&d=identicon",
		"web_url":    s.URL + "/" + u.Username,
	}
}

func (s *Server) projectWebURL() string { return s.URL + "/" + s.project.Path }

func (s *Server) mrJSON(mr *MergeRequest, c *call) map[string]any {
	webURL := s.projectWebURL() + "/-/merge_requests/" + strconv.Itoa(mr.IID)
	var mergedAt, closedAt any
	var mergeCommit any
	if mr.State == "merged" {
		mergedAt = isoTime(mr.UpdatedAt)
		if mr.MergeCommitSHA != "" {
			mergeCommit = mr.MergeCommitSHA
		}
	}
	if mr.State == "closed" {
		closedAt = isoTime(mr.UpdatedAt)
	}
	short := "!" + strconv.Itoa(mr.IID)
	out := map[string]any{
		"id":                              mr.ID,
		"iid":                             mr.IID,
		"project_id":                      mr.TargetProjectID,
		"title":                           mr.Title,
		"description":                     mr.Description,
		"state":                           mr.State,
		"imported":                        false,
		"imported_from":                   "none",
		"created_at":                      isoTime(mr.CreatedAt),
		"updated_at":                      isoTime(mr.UpdatedAt),
		"merged_by":                       nil,
		"merge_user":                      nil,
		"merged_at":                       mergedAt,
		"merge_after":                     nil,
		"prepared_at":                     isoTime(mr.CreatedAt),
		"closed_by":                       nil,
		"closed_at":                       closedAt,
		"target_branch":                   mr.TargetBranch,
		"source_branch":                   mr.SourceBranch,
		"user_notes_count":                len(s.notes[mr.IID]),
		"upvotes":                         0,
		"downvotes":                       0,
		"author":                          s.userJSON(mr.Author),
		"assignees":                       []any{},
		"assignee":                        nil,
		"reviewers":                       []any{},
		"source_project_id":               mr.SourceProjectID,
		"target_project_id":               mr.TargetProjectID,
		"labels":                          []any{},
		"draft":                           mr.Draft,
		"work_in_progress":                mr.Draft,
		"milestone":                       nil,
		"merge_when_pipeline_succeeds":    false,
		"merge_status":                    mergeStatus(mr),
		"detailed_merge_status":           detailedMergeStatus(mr),
		"merge_error":                     nil,
		"sha":                             mr.SHA,
		"merge_commit_sha":                mergeCommit,
		"squash_commit_sha":               nil,
		"discussion_locked":               nil,
		"should_remove_source_branch":     nil,
		"force_remove_source_branch":      false,
		"allow_collaboration":             false,
		"allow_maintainer_to_push":        false,
		"web_url":                         webURL,
		"references":                      map[string]any{"short": short, "relative": short, "full": s.project.Path + short},
		"time_stats":                      map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"squash":                          false,
		"squash_on_merge":                 false,
		"task_completion_status":          map[string]any{"count": 0, "completed_count": 0},
		"has_conflicts":                   mr.Conflict,
		"blocking_discussions_resolved":   true,
		"subscribed":                      false,
		"changes_count":                   strconv.Itoa(len(mr.Diffs)),
		"latest_build_started_at":         nil,
		"latest_build_finished_at":        nil,
		"first_deployed_to_production_at": nil,
		"pipeline":                        nil,
		"head_pipeline":                   nil,
		"diff_refs":                       map[string]any{"base_sha": mr.BaseSHA, "head_sha": mr.SHA, "start_sha": mr.StartSHA},
		"first_contribution":              false,
		"user":                            map[string]any{"can_merge": true},
	}
	if c.boolean("include_diverged_commits_count") {
		out["diverged_commits_count"] = 0
	}
	if c.boolean("include_rebase_in_progress") {
		out["rebase_in_progress"] = false
	}
	return out
}

func (s *Server) noteJSON(mr *MergeRequest, n *Note) map[string]any {
	return map[string]any{
		"id":            n.ID,
		"type":          nil,
		"body":          n.Body,
		"attachment":    nil,
		"author":        s.userJSON(n.Author),
		"created_at":    isoTime(n.CreatedAt),
		"updated_at":    isoTime(n.UpdatedAt),
		"system":        n.System,
		"noteable_id":   mr.ID,
		"noteable_type": "MergeRequest",
		"project_id":    mr.TargetProjectID,
		"noteable_iid":  mr.IID,
		"commit_id":     nil,
		"resolvable":    false,
		"confidential":  n.Internal,
		"internal":      n.Internal,
		"imported":      false,
		"imported_from": "none",
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) statusJSON(st *CommitStatus) map[string]any {
	var coverage any
	if st.Coverage != nil {
		coverage = *st.Coverage
	}
	var pipeline any
	if st.PipelineID != 0 {
		pipeline = st.PipelineID
	}
	return map[string]any{
		"id":            st.ID,
		"sha":           st.SHA,
		"ref":           st.Ref,
		"status":        st.Status,
		"name":          st.Name,
		"target_url":    nullable(st.TargetURL),
		"description":   nullable(st.Description),
		"created_at":    isoTime(st.CreatedAt),
		"started_at":    optTime(st.StartedAt),
		"finished_at":   optTime(st.FinishedAt),
		"allow_failure": false,
		"coverage":      coverage,
		"pipeline_id":   pipeline,
		"author":        s.userJSON(st.Author),
	}
}

func (s *Server) memberJSON(m Member) map[string]any {
	u := s.userJSON(m.User)
	u["state"] = m.State
	u["created_at"] = "2012-09-22T14:13:35.000Z"
	u["created_by"] = nil
	u["expires_at"] = nil
	u["access_level"] = m.AccessLevel
	u["group_saml_identity"] = nil
	u["membership_state"] = m.MembershipState
	return u
}

func (s *Server) awardJSON(noteID int, a *AwardEmoji) map[string]any {
	return map[string]any{
		"id":             a.ID,
		"name":           a.Name,
		"user":           s.userJSON(a.User),
		"created_at":     isoTime(a.CreatedAt),
		"updated_at":     isoTime(a.CreatedAt),
		"awardable_id":   noteID,
		"awardable_type": "Note",
	}
}

// Handlers. Each runs after the request passed validation and the project
// check.

func (s *Server) getMergeRequest(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[c.intVar("merge_request_iid")]
	if !ok {
		return jsonError(http.StatusNotFound, "404 Not found")
	}
	return response{status: http.StatusOK, body: s.mrJSON(mr, c)}
}

func (s *Server) listDiffs(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[c.intVar("merge_request_iid")]
	if !ok {
		return jsonError(http.StatusNotFound, "404 Not found")
	}
	page, h := paginate(c, mr.Diffs)
	out := make([]any, 0, len(page))
	for _, d := range page {
		aMode, bMode := "100644", "100644"
		if d.NewFile {
			aMode = "0"
		}
		if d.DeletedFile {
			bMode = "0"
		}
		diff := d.Diff
		if c.boolean("unidiff") {
			diff = "--- a/" + d.OldPath + "\n+++ b/" + d.NewPath + "\n" + diff
		}
		out = append(out, map[string]any{
			"old_path": d.OldPath, "new_path": d.NewPath, "a_mode": aMode, "b_mode": bMode,
			"diff": diff, "new_file": d.NewFile, "renamed_file": d.RenamedFile,
			"deleted_file": d.DeletedFile, "generated_file": false,
		})
	}
	return response{status: http.StatusOK, body: out, header: h}
}

func (s *Server) listNotes(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[c.intVar("merge_request_iid")]
	if !ok {
		return jsonError(http.StatusNotFound, "404 Not found")
	}
	notes := slices.Clone(s.notes[mr.IID])
	orderBy, _ := c.str("order_by")
	sortDir, _ := c.str("sort")
	key := func(n *Note) time.Time {
		if orderBy == "updated_at" {
			return n.UpdatedAt
		}
		return n.CreatedAt
	}
	slices.SortStableFunc(notes, func(a, b *Note) int {
		if d := key(a).Compare(key(b)); d != 0 {
			return d
		}
		return a.ID - b.ID
	})
	if sortDir != "asc" { // the documented default is desc
		slices.Reverse(notes)
	}
	return pageResponse(c, notes, func(n *Note) any { return s.noteJSON(mr, n) })
}

// findNote returns a merge request and one of its notes, or the 404.
func (s *Server) findNote(c *call) (*MergeRequest, *Note, *response) {
	mr, ok := s.mrs[c.intVar("merge_request_iid")]
	if !ok {
		r := jsonError(http.StatusNotFound, "404 Not found")
		return nil, nil, &r
	}
	id := c.intVar("note_id")
	for _, n := range s.notes[mr.IID] {
		if n.ID == id {
			return mr, n, nil
		}
	}
	r := jsonError(http.StatusNotFound, "404 Note Not Found")
	return nil, nil, &r
}

func (s *Server) getNote(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, n, nf := s.findNote(c)
	if nf != nil {
		return *nf
	}
	return response{status: http.StatusOK, body: s.noteJSON(mr, n)}
}

func (s *Server) createNote(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, ok := s.mrs[c.intVar("merge_request_iid")]
	if !ok {
		return jsonError(http.StatusNotFound, "404 Not found")
	}
	body, _ := c.str("body")
	if strings.TrimSpace(body) == "" {
		return response{status: http.StatusBadRequest, body: map[string]any{"message": map[string]any{"note": []string{"can't be blank"}}}}
	}
	now := time.Now().UTC()
	n := &Note{ID: s.id(), Body: body, Author: s.user, Internal: c.boolean("internal"), CreatedAt: now, UpdatedAt: now}
	s.notes[mr.IID] = append(s.notes[mr.IID], n)
	return response{status: http.StatusCreated, body: s.noteJSON(mr, n)}
}

func (s *Server) updateNote(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	mr, n, nf := s.findNote(c)
	if nf != nil {
		return *nf
	}
	// Only a note's author may edit it, and nobody a system note.
	if n.System || n.Author.ID != s.user.ID {
		return jsonError(http.StatusForbidden, "403 Forbidden")
	}
	body, _ := c.str("body")
	n.Body = body
	n.UpdatedAt = time.Now().UTC()
	return response{status: http.StatusOK, body: s.noteJSON(mr, n)}
}

// The commit status state machine of GitLab's API: which event each
// requested state fires and the states it may fire from.
var statusEvents = map[string]struct {
	event string
	from  []string
}{
	"pending":  {"enqueue", []string{"created", "skipped", "manual", "scheduled"}},
	"running":  {"run", []string{"pending"}},
	"success":  {"success", []string{"created", "pending", "running"}},
	"failed":   {"drop", []string{"created", "pending", "running", "manual", "scheduled"}},
	"canceled": {"cancel", []string{"created", "pending", "running", "manual", "scheduled"}},
	"skipped":  {"skip", []string{"created", "pending"}},
}

func transition(st *CommitStatus, to string) error {
	from := st.Status
	if to == "running" && from == "created" {
		from = "pending" // the API enqueues before it runs
	}
	ev := statusEvents[to]
	if !slices.Contains(ev.from, from) {
		return fmt.Errorf("Cannot transition status via :%s from :%s (Reason(s): Status cannot transition via %q)", ev.event, st.Status, ev.event)
	}
	now := time.Now().UTC()
	st.Status = to
	switch to {
	case "running":
		st.StartedAt = &now
	case "success", "failed", "canceled", "skipped":
		st.FinishedAt = &now
	}
	return nil
}

func (s *Server) setCommitStatus(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha := c.vars["sha"]
	knownRef, ok := s.commits[sha]
	if !ok {
		return jsonError(http.StatusNotFound, "404 Commit Not Found")
	}
	ref, _ := c.str("ref")
	if ref == "" {
		ref = knownRef
	}
	name := "default"
	if v, _ := c.str("name"); v != "" {
		name = v
	} else if v, _ := c.str("context"); v != "" {
		name = v
	}
	state, _ := c.str("state")

	// GitLab moves a pending or running status of this name, ref and user
	// along; any other state starts a new status that retries the old.
	var st *CommitStatus
	for i := len(s.statuses) - 1; i >= 0; i-- {
		x := s.statuses[i]
		if x.SHA == sha && x.Name == name && x.Ref == ref && !x.Retried && x.Author.ID == s.user.ID &&
			(x.Status == "pending" || x.Status == "running") {
			st = x
			break
		}
	}
	created := st == nil
	if created {
		st = &CommitStatus{ID: s.id(), SHA: sha, Ref: ref, Name: name, Status: "created", Author: s.user, CreatedAt: time.Now().UTC()}
	}
	if err := transition(st, state); err != nil {
		return jsonError(http.StatusBadRequest, err.Error())
	}
	if v, ok := c.str("description"); ok {
		st.Description = v
	}
	if v, ok := c.str("target_url"); ok {
		st.TargetURL = v
	}
	if v, ok := c.params["coverage"].(float64); ok {
		st.Coverage = &v
	}
	if v, ok := c.params["pipeline_id"].(int); ok {
		st.PipelineID = v
	}
	if created {
		for _, x := range s.statuses {
			if x.SHA == sha && x.Name == name && x.Ref == ref {
				x.Retried = true
			}
		}
		s.statuses = append(s.statuses, st)
	}
	return response{status: http.StatusCreated, body: s.statusJSON(st)}
}

// knownEmoji is a sample of GitLab's emoji names, enough to catch a client
// sending GitHub's reaction names ("+1", "laugh", "hooray") or colons.
var knownEmoji = []string{
	"thumbsup", "thumbsdown", "eyes", "rocket", "confused", "tada", "heart",
	"smile", "laughing", "white_check_mark", "x", "warning", "hourglass", "100",
}

func (s *Server) listAwardEmoji(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, n, nf := s.findNote(c)
	if nf != nil {
		return *nf
	}
	return pageResponse(c, s.awards[n.ID], func(a *AwardEmoji) any { return s.awardJSON(n.ID, a) })
}

func (s *Server) createAwardEmoji(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, n, nf := s.findNote(c)
	if nf != nil {
		return *nf
	}
	name, _ := c.str("name")
	if !slices.Contains(knownEmoji, name) {
		s.t.Errorf("gitlabtest: award emoji %q is not a GitLab emoji name", name)
		return jsonError(http.StatusNotFound, "404 Award Emoji Name is not a valid emoji name")
	}
	for _, a := range s.awards[n.ID] {
		if a.Name == name && a.User.ID == s.user.ID {
			return jsonError(http.StatusNotFound, "404 Award Emoji Name has already been taken")
		}
	}
	a := &AwardEmoji{ID: s.id(), Name: name, User: s.user, CreatedAt: time.Now().UTC()}
	s.awards[n.ID] = append(s.awards[n.ID], a)
	return response{status: http.StatusCreated, body: s.awardJSON(n.ID, a)}
}

// effectiveMembers returns one membership per user, the highest, as
// /members/all does.
func (s *Server) effectiveMembers() []Member {
	var out []Member
	for _, m := range s.members {
		i := slices.IndexFunc(out, func(o Member) bool { return o.ID == m.ID })
		switch {
		case i < 0:
			out = append(out, m)
		case m.AccessLevel > out[i].AccessLevel:
			out[i] = m
		}
	}
	return out
}

func (s *Server) listAllMembers(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	query, _ := c.str("query")
	query = strings.ToLower(query)
	ids, _ := c.params["user_ids"].([]int)
	state, _ := c.str("state")
	var found []Member
	for _, m := range s.effectiveMembers() {
		if query != "" && !strings.Contains(strings.ToLower(m.Username), query) && !strings.Contains(strings.ToLower(m.Name), query) {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, m.ID) {
			continue
		}
		if state != "" && m.MembershipState != state {
			continue
		}
		found = append(found, m)
	}
	return pageResponse(c, found, func(m Member) any { return s.memberJSON(m) })
}

func (s *Server) getInheritedMember(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.intVar("user_id")
	for _, m := range s.effectiveMembers() {
		if m.ID == id {
			return response{status: http.StatusOK, body: s.memberJSON(m)}
		}
	}
	return jsonError(http.StatusNotFound, "404 Not found")
}

var errNoArchive = errors.New("404 File Not Found")

func (s *Server) getArchive(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	format := c.vars["format"]
	if format == "" {
		format = "tar.gz"
	}
	sha, _ := c.str("sha")
	data, ok := s.archives[sha]
	if !ok || format != "tar.gz" {
		return jsonError(http.StatusNotFound, errNoArchive.Error())
	}
	name := path.Base(s.project.Path) + "-" + sha + "." + format
	return response{
		status: http.StatusOK,
		raw:    data,
		ctype:  "application/octet-stream",
		header: http.Header{
			"Content-Disposition":       {`attachment; filename="` + name + `"`},
			"Content-Transfer-Encoding": {"binary"},
		},
	}
}
