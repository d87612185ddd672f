package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/dataops-dev/dataops/internal/scm"
)

// Permissions, as a workflow's permissions: block names them.
const (
	permChecks       = "checks: write"
	permStatuses     = "statuses: write"
	permPullRequests = "pull-requests: write"
)

// PublishCheck creates the check run of c.Name on sha, or updates it: the
// run this Host created before, or after a restart the latest run of that
// name on sha, so that a rerun replaces rather than duplicates it.
// Annotations go 50 per request, the first 50 with the create or update and
// the rest in further updates. When the token may not write checks, it
// logs that once and publishes a commit status instead; when it may not
// write statuses either, it logs that once and publishes nothing.
func (h *Host) PublishCheck(ctx context.Context, sha string, c scm.Check) error {
	if err := ctxOK(ctx); err != nil {
		return err
	}
	if c.Name == "" || sha == "" {
		return fmt.Errorf("publish check %q on %q: the check's name and the commit are required", c.Name, short(sha))
	}
	st, concl, err := checkState(c)
	if err != nil {
		return err
	}
	if h.lacks(permChecks) {
		return h.publishStatus(ctx, sha, c, st, concl)
	}

	key := runKey{c.Name, sha}
	lock := h.runLock(key)
	lock.Lock()
	defer lock.Unlock()

	anns := annotations(c.Annotations)
	first := anns[:min(len(anns), MaxAnnotationsPerRequest)]
	rest := anns[len(first):]

	h.mu.Lock()
	id, remembered := h.runs[key]
	h.mu.Unlock()
	if !remembered {
		found, err := h.findRun(ctx, sha, c.Name)
		if isForbidden(err) {
			h.warnMissing(permChecks, "read check runs on "+short(sha), "publishing commit statuses instead, without annotations", err)
			return h.publishStatus(ctx, sha, c, st, concl)
		}
		if err != nil {
			return err
		}
		id = found
	}

	if id != 0 {
		err := h.updateRun(ctx, id, c, st, concl, first)
		switch code := status(err); {
		case err == nil:
		case code == http.StatusNotFound || (!remembered && code == http.StatusForbidden):
			// Deleted, or a run of another app that happens to share the
			// name: start a run of our own.
			id = 0
		case isForbidden(err):
			h.warnMissing(permChecks, "update check run "+c.Name, "publishing commit statuses instead, without annotations", err)
			return h.publishStatus(ctx, sha, c, st, concl)
		default:
			return h.fail(err, "update check run %s on %s", c.Name, short(sha))
		}
	}
	if id == 0 {
		id, err = h.createRun(ctx, sha, c, st, concl, first)
		if isForbidden(err) {
			h.warnMissing(permChecks, "create check run "+c.Name, "publishing commit statuses instead, without annotations", err)
			return h.publishStatus(ctx, sha, c, st, concl)
		}
		if err != nil {
			return h.fail(err, "create check run %s on %s", c.Name, short(sha))
		}
	}
	h.mu.Lock()
	h.runs[key] = id
	h.mu.Unlock()

	for sent := len(first); len(rest) > 0; {
		batch := rest[:min(len(rest), MaxAnnotationsPerRequest)]
		rest = rest[len(batch):]
		opts := gh.UpdateCheckRunOptions{Name: c.Name, Output: output(c, batch)}
		if _, _, err := h.client.Checks.UpdateCheckRun(ctx, h.owner, h.repo, id, opts); err != nil {
			return h.fail(err, "add annotations %d-%d of %d to check run %s on %s", sent+1, sent+len(batch), len(anns), c.Name, short(sha))
		}
		sent += len(batch)
	}
	return nil
}

func (h *Host) runLock(k runKey) *sync.Mutex {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.runLocks[k]
	if !ok {
		l = new(sync.Mutex)
		h.runLocks[k] = l
	}
	return l
}

// findRun returns the latest check run named name on sha, or 0.
func (h *Host) findRun(ctx context.Context, sha, name string) (int64, error) {
	opts := &gh.ListCheckRunsOptions{
		CheckName:   gh.String(name),
		Filter:      gh.String("latest"),
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	if h.appID != 0 {
		opts.AppID = gh.Int64(h.appID)
	}
	res, _, err := h.client.Checks.ListCheckRunsForRef(ctx, h.owner, h.repo, sha, opts)
	if err != nil {
		if isForbidden(err) {
			return 0, err
		}
		return 0, h.fail(err, "find check run %s on %s", name, short(sha))
	}
	var id int64
	for _, r := range res.CheckRuns {
		if r.GetName() == name && r.GetID() > id {
			id = r.GetID()
		}
	}
	return id, nil
}

func (h *Host) createRun(ctx context.Context, sha string, c scm.Check, st, concl string, anns []*gh.CheckRunAnnotation) (int64, error) {
	opts := gh.CreateCheckRunOptions{
		Name:    c.Name,
		HeadSHA: sha,
		Status:  gh.String(st),
		Output:  output(c, anns),
	}
	if c.DetailsURL != "" {
		opts.DetailsURL = gh.String(c.DetailsURL)
	}
	now := gh.Timestamp{Time: time.Now()}
	if st != scm.StatusQueued {
		opts.StartedAt = &now
	}
	if st == scm.StatusCompleted {
		opts.Conclusion = gh.String(concl)
		opts.CompletedAt = &now
	}
	run, _, err := h.client.Checks.CreateCheckRun(ctx, h.owner, h.repo, opts)
	if err != nil {
		return 0, err
	}
	return run.GetID(), nil
}

func (h *Host) updateRun(ctx context.Context, id int64, c scm.Check, st, concl string, anns []*gh.CheckRunAnnotation) error {
	opts := gh.UpdateCheckRunOptions{
		Name:   c.Name,
		Status: gh.String(st),
		Output: output(c, anns),
	}
	if c.DetailsURL != "" {
		opts.DetailsURL = gh.String(c.DetailsURL)
	}
	if st == scm.StatusCompleted {
		opts.Conclusion = gh.String(concl)
		opts.CompletedAt = &gh.Timestamp{Time: time.Now()}
	}
	_, _, err := h.client.Checks.UpdateCheckRun(ctx, h.owner, h.repo, id, opts)
	return err
}

// checkState returns the status and conclusion to send.
func checkState(c scm.Check) (string, string, error) {
	st := c.Status
	if st == "" {
		st = scm.StatusInProgress
		if c.Conclusion != "" {
			st = scm.StatusCompleted
		}
	}
	switch st {
	case scm.StatusQueued, scm.StatusInProgress:
		return st, "", nil
	case scm.StatusCompleted:
	default:
		return "", "", fmt.Errorf("check %s: unknown status %q (want queued, in_progress or completed)", c.Name, st)
	}
	switch c.Conclusion {
	case scm.ConclusionSuccess, scm.ConclusionFailure, scm.ConclusionNeutral, scm.ConclusionSkipped,
		scm.ConclusionCancelled, "timed_out", "action_required":
		return st, c.Conclusion, nil
	case "":
		return "", "", fmt.Errorf("check %s: completed without a conclusion", c.Name)
	}
	return "", "", fmt.Errorf("check %s: unknown conclusion %q (want success, failure, neutral, skipped or cancelled)", c.Name, c.Conclusion)
}

// output is a check run's output; GitHub wants the title and summary in
// every request that carries annotations, and text is repeated so that no
// update can be taken to clear it.
func output(c scm.Check, anns []*gh.CheckRunAnnotation) *gh.CheckRunOutput {
	title := c.Title
	if title == "" {
		title = c.Name
	}
	summary := c.Summary
	if summary == "" {
		summary = title
	}
	out := &gh.CheckRunOutput{
		Title:       gh.String(title),
		Summary:     gh.String(truncate(summary, MaxCheckOutput)),
		Annotations: anns,
	}
	if c.Text != "" {
		out.Text = gh.String(truncate(c.Text, MaxCheckOutput))
	}
	return out
}

// annotations converts annotations to GitHub's: lines start at 1, an end
// line is required, levels are notice, warning or failure. An annotation
// without a path has nowhere to show and is dropped.
func annotations(in []scm.Annotation) []*gh.CheckRunAnnotation {
	out := make([]*gh.CheckRunAnnotation, 0, len(in))
	for _, a := range in {
		if a.Path == "" {
			continue
		}
		start := max(a.Line, 1)
		end := max(a.EndLine, start)
		level := a.Level
		switch level {
		case scm.LevelFailure, scm.LevelWarning, scm.LevelNotice:
		case "error":
			level = scm.LevelFailure
		default:
			level = scm.LevelWarning
		}
		msg := a.Message
		if msg == "" {
			msg = a.Title
		}
		if msg == "" {
			msg = "(no message)"
		}
		ga := &gh.CheckRunAnnotation{
			Path:            gh.String(strings.TrimPrefix(a.Path, "./")),
			StartLine:       gh.Int(start),
			EndLine:         gh.Int(end),
			AnnotationLevel: gh.String(level),
			Message:         gh.String(cutBytes(msg, MaxAnnotationMessage)),
		}
		if a.Title != "" {
			ga.Title = gh.String(cutRunes(a.Title, MaxAnnotationTitle))
		}
		out = append(out, ga)
	}
	return out
}

// truncate cuts markdown to at most limit bytes (so at most limit
// characters, however GitHub counts them), at a line break when one is
// near, closes a code block left open, and says that it was cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	note := func(omitted int) string {
		return fmt.Sprintf("\n\n_(Cut to fit GitHub's limit of %d characters: %d bytes left out.)_", limit, omitted)
	}
	cut := limit - len(note(len(s))) - len("\n```")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(s[:cut], '\n'); i > 0 && cut-i < 4096 {
		cut = i
	}
	kept := s[:cut]
	if strings.Count(kept, "```")%2 == 1 {
		kept += "\n```"
	}
	return kept + note(len(s)-cut)
}

func cutBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func cutRunes(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit-1]) + "…"
}

// publishStatus is the fallback for a token that may not write checks.
func (h *Host) publishStatus(ctx context.Context, sha string, c scm.Check, st, concl string) error {
	if h.lacks(permStatuses) {
		return nil
	}
	state, prefix := "pending", ""
	if st == scm.StatusCompleted {
		switch concl {
		case scm.ConclusionSuccess:
			state = "success"
		case scm.ConclusionFailure, "action_required":
			state = "failure"
		case scm.ConclusionNeutral:
			state, prefix = "success", "Neutral: "
		case scm.ConclusionSkipped:
			state, prefix = "success", "Skipped: "
		default: // cancelled, timed_out
			state = "error"
		}
	}
	title := c.Title
	if title == "" {
		title = c.Name
	}
	status := &gh.RepoStatus{
		State:       gh.String(state),
		Context:     gh.String(c.Name),
		Description: gh.String(cutRunes(prefix+title, MaxStatusDescription)),
	}
	if c.DetailsURL != "" {
		status.TargetURL = gh.String(c.DetailsURL)
	}
	_, _, err := h.client.Repositories.CreateStatus(ctx, h.owner, h.repo, sha, status)
	if isForbidden(err) {
		h.warnMissing(permStatuses, "create commit statuses", "the checks' results are not published on the commit", err)
		return nil
	}
	return h.fail(err, "create commit status %s on %s", c.Name, short(sha))
}
