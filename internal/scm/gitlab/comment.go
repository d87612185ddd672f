package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/dataops-dev/dataops/internal/scm"
)

// UpsertComment keeps one note holding marker on merge request number:
// it edits the note that holds it, or creates one. System notes ("added 1
// commit") are never candidates, and a note the token may not edit
// (someone quoting the marker) is passed over.
//
// A token that may not write notes skips the comment with one log line.
func (h *Host) UpsertComment(ctx context.Context, number int, marker, body string) error {
	if strings.TrimSpace(marker) == "" {
		return errors.New("gitlab: upsert comment: empty marker")
	}
	body = noteBody(marker, body)
	op := fmt.Sprintf("comment on merge request !%d of %s", number, h.project)
	for attempt := 0; ; attempt++ {
		notes, err := h.markedNotes(ctx, number, marker)
		if err != nil {
			if h.skipped(ctx, "merge request comment", err, needComment) {
				return nil
			}
			return h.fail(op, err, needComment)
		}
		for _, n := range notes {
			_, _, err := h.client.Notes.UpdateMergeRequestNote(h.project, int64(number), n.ID,
				&gl.UpdateMergeRequestNoteOptions{Body: &body}, h.req(ctx, retryIdempotent)...)
			switch statusOf(err) {
			case 0:
				if err == nil {
					return nil
				}
			case http.StatusForbidden, http.StatusNotFound:
				continue // not ours to edit, or deleted meanwhile
			}
			return h.fail(op, err, needComment)
		}
		_, _, err = h.client.Notes.CreateMergeRequestNote(h.project, int64(number),
			&gl.CreateMergeRequestNoteOptions{Body: &body}, h.req(ctx, retryUnsent)...)
		if err == nil {
			return nil
		}
		// After a 5xx the note may exist all the same: look again rather
		// than post it twice.
		if statusOf(err) >= 500 && attempt < h.maxRetries {
			wait := h.serverErrorWait(attempt)
			h.log.InfoContext(ctx, "gitlab: creating the note failed; looking for it before trying again",
				"project", h.project, "mr", number, "status", statusOf(err), "wait", wait)
			if err := sleep(ctx, wait); err != nil {
				return h.fail(op, err, needComment)
			}
			continue
		}
		if h.skipped(ctx, "merge request comment", err, needComment) {
			return nil
		}
		return h.fail(op, err, needComment)
	}
}

// noteBody makes sure the body holds the marker and fits a note, cutting
// the text, never the marker.
func noteBody(marker, body string) string {
	if !strings.Contains(body, marker) {
		body = strings.TrimRight(body, "\n") + "\n\n" + marker
	}
	if utf8.RuneCountInString(body) <= maxNoteBody {
		return body
	}
	const cut = "\n\n… (cut: GitLab notes hold at most 1,000,000 characters; see the job log for the rest)\n\n"
	keep := maxNoteBody - utf8.RuneCountInString(cut) - utf8.RuneCountInString(marker)
	r := []rune(strings.ReplaceAll(body, marker, ""))
	return string(r[:min(keep, len(r))]) + cut + marker
}

// markedNotes lists the merge request's user notes holding marker, oldest
// first.
func (h *Host) markedNotes(ctx context.Context, number int, marker string) ([]*gl.Note, error) {
	asc, created := "asc", "created_at"
	opt := &gl.ListMergeRequestNotesOptions{
		ListOptions: gl.ListOptions{PerPage: perPage, Page: 1},
		Sort:        &asc,
		OrderBy:     &created,
	}
	var out []*gl.Note
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, fmt.Errorf("more than %d pages of notes", maxPages)
		}
		notes, resp, err := h.client.Notes.ListMergeRequestNotes(h.project, int64(number), opt, h.req(ctx, retryIdempotent)...)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			if !n.System && strings.Contains(n.Body, marker) {
				out = append(out, n)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// emoji are GitLab's names for the reactions.
var emoji = map[scm.Reaction]string{
	scm.ReactionEyes:     "eyes",
	scm.ReactionRocket:   "rocket",
	scm.ReactionConfused: "confused",
}

// React awards an emoji to note commentID of merge request number. Awarding
// it again is not an error.
func (h *Host) React(ctx context.Context, number int, commentID int64, r scm.Reaction) error {
	name, ok := emoji[r]
	if !ok {
		return fmt.Errorf("gitlab: react with %q: not one of eyes, rocket, confused", r)
	}
	op := fmt.Sprintf("award %s to note %d of merge request !%d of %s", name, commentID, number, h.project)
	_, _, err := h.client.AwardEmoji.CreateMergeRequestAwardEmojiOnNote(h.project, int64(number), commentID,
		&gl.CreateAwardEmojiOptions{Name: name}, h.req(ctx, retryReplayable)...)
	if err == nil {
		return nil
	}
	if statusOf(err) == http.StatusNotFound {
		// GitLab answers 404 both for a missing note and for an emoji the
		// user already awarded; only the note tells them apart.
		_, _, gerr := h.client.Notes.GetMergeRequestNote(h.project, int64(number), commentID, h.req(ctx, retryIdempotent)...)
		if gerr == nil {
			h.log.DebugContext(ctx, "gitlab: emoji already awarded", "project", h.project, "mr", number, "note", commentID, "emoji", name)
			return nil
		}
		err = gerr
	}
	if h.skipped(ctx, "reaction", err, needReact) {
		return nil
	}
	return h.fail(op, err, needReact)
}
