package bot

import (
	"context"
	"fmt"
)

// A writer approves the commit they read. A command or a check re-run
// therefore runs the pull request's code only while its head is still the
// commit it was given for (Event.Pinned); when a push moved the head in
// between, as a fork can at any time, it says so and runs nothing, on
// every attempt. The head is read again when the job runs, and the
// sources are downloaded by commit, so what runs is exactly the pinned
// commit.

// unpinned says why ev must not run the pull request's code, or "".
// ev.PullRequest is the pull request as read when the job runs; require
// refuses an event without a pin (the bot's).
func unpinned(ev Event, require bool) string {
	head := ev.PullRequest.HeadSHA
	switch {
	case ev.Pinned == "" && !require:
		return "" // the Action: its run is for the event's own head
	case ev.Pinned == "":
		return "dataops could not read this pull request's head when it was asked, so it cannot tell which commit was approved, and ran nothing. Ask again."
	case ev.Pinned == head:
		return ""
	case ev.Kind == Rerun:
		return fmt.Sprintf("⏸️ The checks of %s were re-run, but the pull request's head has moved to %s since, so nothing ran: re-run the checks of %s, or comment `/dataops rerun`, once you have read the change.",
			short(ev.Pinned), short(head), short(head))
	}
	by := "the command"
	if ev.Comment != nil && ev.Comment.Author != "" {
		by = "@" + ev.Comment.Author + "'s command"
	}
	return fmt.Sprintf("⏸️ The pull request's head moved from %s to %s after %s, so nothing ran: it was given for %s. Read the new commits, then comment it again to run %s.",
		short(ev.Pinned), short(head), by, short(ev.Pinned), short(head))
}

// refuseRerun answers a check re-run that must not run.
func (h *Handler) refuseRerun(ctx context.Context, ev Event, why string) error {
	h.log(ev).Info("re-run refused", "why", why, "pinned", ev.Pinned, "head", ev.PullRequest.HeadSHA)
	return h.reply(ctx, ev.PullRequest.Number, why)
}
