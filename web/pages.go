package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/store"
)

// Addresses of the pages. A repository's path is one segment, escaped
// ("acme%2Fshop"): GitLab paths have any number of slashes.
func repoPath(key string) string {
	host, repo := splitRepoKey(key)
	return "/repos/" + host + "/" + url.PathEscape(repo)
}

func pullPath(key string, pr int) string { return repoPath(key) + "/pulls/" + strconv.Itoa(pr) }
func runPath(key, id string) string      { return repoPath(key) + "/runs/" + url.PathEscape(id) }

// repoOf reads the repository a page is about and checks that the person
// may read it. A repository they may not read is answered like one that
// does not exist: 404, so that its name does not leak either.
func (s *Server) repoOf(w http.ResponseWriter, r *http.Request, sess *session) (key string, perm scm.Permission, ok bool) {
	key = r.PathValue("host") + ":" + r.PathValue("repo")
	perm, err := s.permission(r.Context(), sess, key)
	if err != nil {
		s.hostFailed(w, r, sess, err)
		return "", "", false
	}
	if !canRead(perm) {
		s.notFound(w, r, sess)
		return "", "", false
	}
	return key, perm, true
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, sess *session) {
	s.fail(w, r, sess, http.StatusNotFound, "Not found", "There is no such page here, or you may not read the repository it belongs to.")
}

// hostFailed answers when the host could not say what the person may do:
// a token that stopped working ends the session.
func (s *Server) hostFailed(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	if errors.Is(err, scm.ErrSignedOut) {
		s.clearCookie(w, sessionCookie)
		s.fail(w, r, nil, http.StatusUnauthorized, "Sign in again", "Your sign-in no longer works on "+s.hosts[sess.Host].Title+" (it was revoked or expired). Sign in again.")
		return
	}
	s.cfg.Logger.Warn("web: could not ask the host about access", "host", sess.Host, "login", sess.Login, "err", err)
	s.fail(w, r, sess, http.StatusBadGateway, "The code host did not answer", "dataops could not ask "+s.hosts[sess.Host].Title+" what you may see: "+err.Error())
}

func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	s.cfg.Logger.Error("web: the store failed", "path", r.URL.Path, "err", err)
	s.fail(w, r, sess, http.StatusInternalServerError, "The store did not answer", "dataops could not read its store; try again in a moment.")
}

// Repositories.

type repoRow struct {
	Host, Name, URL            string
	PullRequests, Environments int
	LastActivity               time.Time
}

func (s *Server) repositoriesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	all, err := s.cfg.Store.Repositories(r.Context())
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	var rows []repoRow
	for _, rs := range all {
		p, err := s.permission(r.Context(), sess, rs.Repo)
		if err != nil {
			s.hostFailed(w, r, sess, err)
			return
		}
		if !canRead(p) {
			continue
		}
		host, name := splitRepoKey(rs.Repo)
		rows = append(rows, repoRow{Host: host, Name: name, URL: repoPath(rs.Repo), PullRequests: rs.PullRequests, Environments: rs.Environments, LastActivity: rs.LastActivity})
	}
	s.render(w, r, sess, http.StatusOK, "repositories", "Repositories", rows)
}

// A repository: its pull requests with their latest gate.

type repoView struct {
	Key, Host, Name, URL string
	Permission           scm.Permission
	Tab                  string
}

func (s *Server) repoView(key string, perm scm.Permission, tab string) repoView {
	host, name := splitRepoKey(key)
	return repoView{Key: key, Host: host, Name: name, URL: repoPath(key), Permission: perm, Tab: tab}
}

type pullRow struct {
	PR     int
	URL    string
	Latest store.Run
	RunURL string
	Runs   int
}

func (s *Server) repositoryPage(w http.ResponseWriter, r *http.Request, sess *session) {
	key, perm, ok := s.repoOf(w, r, sess)
	if !ok {
		return
	}
	pulls, err := s.cfg.Store.PullRequests(r.Context(), key)
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	var rows []pullRow
	for _, p := range pulls {
		rows = append(rows, pullRow{PR: p.PR, URL: pullPath(key, p.PR), Latest: p.Latest, RunURL: runPath(key, p.Latest.ID), Runs: p.Runs})
	}
	repo := s.repoView(key, perm, "pulls")
	s.render(w, r, sess, http.StatusOK, "repository", repo.Name, struct {
		Repo  repoView
		Pulls []pullRow
	}{repo, rows})
}

// A pull request's runs, newest first.

type runRow struct {
	store.Run
	URL string
}

// maxRunsListed bounds a pull request's page.
const maxRunsListed = 200

func (s *Server) pullPage(w http.ResponseWriter, r *http.Request, sess *session) {
	key, perm, ok := s.repoOf(w, r, sess)
	if !ok {
		return
	}
	pr, err := strconv.Atoi(r.PathValue("pr"))
	if err != nil || pr <= 0 {
		s.notFound(w, r, sess)
		return
	}
	runs, err := s.cfg.Store.PullRequestRuns(r.Context(), key, pr, maxRunsListed)
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	if len(runs) == 0 {
		s.notFound(w, r, sess)
		return
	}
	var rows []runRow
	for _, run := range runs {
		rows = append(rows, runRow{Run: run, URL: runPath(key, run.ID)})
	}
	repo := s.repoView(key, perm, "pulls")
	s.render(w, r, sess, http.StatusOK, "pull", fmt.Sprintf("%s #%d", repo.Name, pr), struct {
		Repo  repoView
		PR    int
		Title string
		Runs  []runRow
	}{repo, pr, runs[0].Title, rows})
}

// A run: its stages (live while it runs) and its whole report.

type runView struct {
	Repo     repoView
	Run      store.Run
	PullURL  string
	EventURL string
	Live     bool
	// Report is the report's part of the page, rendered once per version
	// of the run (reportCache); DocProblem says why there is none.
	Report     template.HTML
	DocProblem string
}

// reportView is what the report's part of the page shows.
type reportView struct {
	Doc     *report.Document
	Lineage lineageView
	// DiffOf tells the models with a diff, for the lineage's links.
	DiffOf map[string]bool
	// RunPath leads to the run's page; a check's text longer than
	// MaxInline is linked there, not inlined.
	RunPath   string
	MaxInline int
	// The long parts, written in Go (tables.go).
	PlanRows, Diffs, Nodes template.HTML
}

// maxInlineText is the longest check text shown in the page: GitHub's own
// limit. The diff check's text is the whole report as markdown, which the
// page shows already, as tables; a longer text is a link away.
const maxInlineText = 65535

func (s *Server) runPage(w http.ResponseWriter, r *http.Request, sess *session) {
	key, perm, ok := s.repoOf(w, r, sess)
	if !ok {
		return
	}
	run, err := s.cfg.Store.Run(r.Context(), r.PathValue("run"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && run.Repo != key) {
		s.notFound(w, r, sess)
		return
	}
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	v := runView{Repo: s.repoView(key, perm, "pulls"), Run: run, PullURL: pullPath(key, run.PR),
		EventURL: runPath(key, run.ID) + "/events", Live: run.Status == store.RunRunning}
	switch {
	case run.HasReport:
		v.Report, v.DocProblem, err = s.reportOf(r.Context(), run)
		if err != nil {
			s.storeFailed(w, r, sess, err)
			return
		}
	case !v.Live:
		v.DocProblem = "This run ended before its report was made."
		if run.Error != "" {
			v.DocProblem = "This run ended before its report was made: see its error above."
		}
	}
	s.render(w, r, sess, http.StatusOK, "run", fmt.Sprintf("%s #%d run %s", v.Repo.Name, run.PR, short(run.HeadSHA)), v)
}

// sizeHint: the page is about as long as its report.
func (v runView) sizeHint() int { return len(v.Report) }

// reportOf renders a run's report, or takes it from the cache: the same
// for every reader, and unchanged until the run's record changes.
func (s *Server) reportOf(ctx context.Context, run store.Run) (template.HTML, string, error) {
	cacheKey := run.ID + "@" + strconv.FormatInt(run.UpdatedAt.UnixNano(), 10)
	if html, ok := s.reports.get(cacheKey); ok {
		return html, "", nil
	}
	data, err := s.cfg.Store.RunReport(ctx, run.ID)
	if err != nil {
		return "", "", err
	}
	doc, problem := decodeDocument(data)
	if doc == nil {
		return "", problem, nil
	}
	html, err := renderReport(doc, runPath(run.Repo, run.ID), len(data)*3/2)
	if err != nil {
		return "", "", fmt.Errorf("render the report of run %s: %w", run.ID, err)
	}
	s.reports.put(cacheKey, html)
	return html, "", nil
}

// renderReport renders the report's part of a run's page.
func renderReport(doc *report.Document, runPath string, sizeHint int) (template.HTML, error) {
	rv := reportView{Doc: doc, DiffOf: map[string]bool{}, RunPath: runPath, MaxInline: maxInlineText}
	for _, d := range doc.Diffs {
		rv.DiffOf[d.Model] = true
	}
	if doc.Lineage != nil {
		rv.Lineage = drawLineage(*doc.Lineage, rv.DiffOf)
	}
	if doc.Plan != nil {
		rv.PlanRows = planRows(doc.Plan.Changes, rv.DiffOf)
	}
	rv.Diffs, rv.Nodes = diffSections(doc.Diffs), nodeRows(doc.Nodes)
	var b bytes.Buffer
	b.Grow(sizeHint)
	if err := pages["run"].ExecuteTemplate(&b, "report", rv); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// checkText serves a check's whole text, too long to inline, as plain
// text.
func (s *Server) checkText(w http.ResponseWriter, r *http.Request, sess *session) {
	key, _, ok := s.repoOf(w, r, sess)
	if !ok {
		return
	}
	run, err := s.cfg.Store.Run(r.Context(), r.PathValue("run"))
	if err != nil || run.Repo != key || !run.HasReport {
		s.notFound(w, r, sess)
		return
	}
	data, err := s.cfg.Store.RunReport(r.Context(), run.ID)
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	doc, _ := decodeDocument(data)
	if doc == nil {
		s.notFound(w, r, sess)
		return
	}
	for _, c := range doc.Checks {
		if c.Name == r.PathValue("name") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, c.Text)
			return
		}
	}
	s.notFound(w, r, sess)
}

// decodeDocument reads a stored report; a newer format than this dataops
// knows is not shown half-understood.
func decodeDocument(data []byte) (*report.Document, string) {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, "The stored report cannot be read: " + err.Error()
	}
	if head.Version > report.DocumentVersion {
		return nil, fmt.Sprintf("The report was stored by a newer dataops (format %d; this one reads %d): upgrade this replica to see it.", head.Version, report.DocumentVersion)
	}
	var doc report.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, "The stored report cannot be read: " + err.Error()
	}
	return &doc, ""
}

// runEvents streams a running job's stages as server-sent events: a
// "stages" event whenever the store has news of it, "done" when it ended.
// It reads the store, so it follows a job whatever replica runs it.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request, sess *session) {
	key, _, ok := s.repoOf(w, r, sess)
	if !ok {
		return
	}
	id := r.PathValue("run")
	run, err := s.cfg.Store.Run(r.Context(), id)
	if err != nil || run.Repo != key {
		s.notFound(w, r, sess)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, sess, http.StatusInternalServerError, "No live updates", "This server cannot stream.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events as they come
	w.WriteHeader(http.StatusOK)
	// A stream lasts minutes; the browser's EventSource opens a new one.
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
	defer cancel()
	var last time.Time
	tick := time.NewTicker(s.cfg.LivePoll)
	defer tick.Stop()
	for {
		if !run.UpdatedAt.Equal(last) {
			last = run.UpdatedAt
			data, _ := json.Marshal(liveStages(run, s.cfg.Now()))
			fmt.Fprintf(w, "event: stages\ndata: %s\n\n", data)
		}
		if run.Status != store.RunRunning {
			fmt.Fprintf(w, "event: done\ndata: %q\n\n", run.Status)
			flusher.Flush()
			return
		}
		fmt.Fprint(w, ": waiting\n\n")
		flusher.Flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if run, err = s.cfg.Store.Run(ctx, id); err != nil {
			return
		}
	}
}

type liveStage struct {
	Name, Status, Conclusion, Title, Took string
}

type liveUpdate struct {
	Status, Gate string
	Stages       []liveStage
}

func liveStages(run store.Run, now time.Time) liveUpdate {
	u := liveUpdate{Status: run.Status, Gate: run.Gate}
	for _, st := range run.Stages {
		u.Stages = append(u.Stages, liveStage{Name: st.Name, Status: st.Status, Conclusion: st.Conclusion, Title: st.Title, Took: stageTook(st, now)})
	}
	return u
}

// Environments.

type envRow struct {
	store.Environment
	PullURL string
}

func (s *Server) environmentsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	key, perm, ok := s.repoOf(w, r, sess)
	if !ok {
		return
	}
	all, err := s.cfg.Store.Environments(r.Context())
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	var rows []envRow
	for _, e := range all {
		if e.Repo == key {
			rows = append(rows, envRow{Environment: e, PullURL: pullPath(key, e.PR)})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].PR > rows[j].PR })
	repo := s.repoView(key, perm, "environments")
	s.render(w, r, sess, http.StatusOK, "environments", repo.Name+" environments", struct {
		Repo repoView
		Envs []envRow
	}{repo, rows})
}

// Deploys and rollbacks.

type deployRow struct {
	store.DeployRecord
	PullURL string
	Summary string
}

// rollbackPlan is what a rollback would do now.
type rollbackPlan struct {
	Deploy  *deployRow
	Restore []store.DeployRelation
	Drop    []store.DeployRelation
	Nothing string
}

// maxDeploysListed bounds the deploys page.
const maxDeploysListed = 200

func (s *Server) deploysPage(w http.ResponseWriter, r *http.Request, sess *session) {
	key, perm, ok := s.repoOf(w, r, sess)
	if !ok {
		return
	}
	recs, err := s.cfg.Store.Deploys(r.Context(), key, maxDeploysListed)
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	var rows []deployRow
	for _, d := range recs {
		rows = append(rows, deployRow{DeployRecord: d, PullURL: pullPath(key, d.PR), Summary: firstLine(d.Message)})
	}
	repo := s.repoView(key, perm, "deploys")
	s.render(w, r, sess, http.StatusOK, "deploys", repo.Name+" deploys", struct {
		Repo     repoView
		Deploys  []deployRow
		Rollback rollbackPlan
	}{repo, rows, planRollback(rows)})
}

// planRollback says what `/dataops rollback` would do after the newest
// record: undo a deploy that changed something, else nothing.
func planRollback(rows []deployRow) rollbackPlan {
	for i := range rows {
		d := &rows[i]
		if d.Action == store.ActionRollback {
			if d.Outcome == "succeeded" {
				return rollbackPlan{Nothing: "The last deploy was rolled back; there is nothing to roll back until the next one."}
			}
			continue // an unfinished rollback: the deploy before it is still undone by the next one
		}
		if d.Outcome == "failed" && !deployedAny(d.Relations) {
			continue // a deploy that changed nothing: a rollback undoes the one before
		}
		p := rollbackPlan{Deploy: d}
		for _, rel := range d.Relations {
			if rel.State != "deployed" {
				continue
			}
			if rel.Previous != "" {
				p.Restore = append(p.Restore, rel)
			} else {
				p.Drop = append(p.Drop, rel)
			}
		}
		if len(p.Restore)+len(p.Drop) == 0 {
			p.Nothing = "The last deploy changed no relation."
		}
		return p
	}
	return rollbackPlan{Nothing: "No deploy is recorded."}
}

func deployedAny(rels []store.DeployRelation) bool {
	for _, r := range rels {
		if r.State == "deployed" {
			return true
		}
	}
	return false
}

// firstLine is a deploy message's first line as plain text: without its
// markdown and its leading emoji.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "<!-- dataops:deploy -->")), "\n")
	line = strings.TrimLeftFunc(line, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return strings.ReplaceAll(line, "`", "")
}

// The queue.

type jobRow struct {
	store.QueuedJob
	Repo, RepoURL, PullURL string
}

type deadRow struct {
	store.DeadLetter
	Repo, RepoURL, PullURL, RetryURL string
	CanRetry                         bool
}

// maxQueueListed bounds the queue page.
const maxQueueListed = 500

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, sess *session) {
	jobs, err := s.cfg.Store.Jobs(r.Context(), maxQueueListed)
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	dead, err := s.cfg.Store.DeadLetters(r.Context(), maxQueueListed)
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	// Only the jobs of repositories the person may read are listed.
	readable := func(key string) (scm.Permission, bool, error) {
		if key == "" {
			return "", false, nil
		}
		p, err := s.permission(r.Context(), sess, key)
		return p, canRead(p), err
	}
	var jobRows []jobRow
	for _, j := range jobs {
		_, ok, err := readable(j.Job.Repo)
		if err != nil {
			s.hostFailed(w, r, sess, err)
			return
		}
		if ok {
			_, name := splitRepoKey(j.Job.Repo)
			jobRows = append(jobRows, jobRow{QueuedJob: j, Repo: name, RepoURL: repoPath(j.Job.Repo), PullURL: pullPath(j.Job.Repo, j.Job.PR)})
		}
	}
	var deadRows []deadRow
	for _, d := range dead {
		p, ok, err := readable(d.Job.Repo)
		if err != nil {
			s.hostFailed(w, r, sess, err)
			return
		}
		if ok {
			_, name := splitRepoKey(d.Job.Repo)
			deadRows = append(deadRows, deadRow{DeadLetter: d, Repo: name, RepoURL: repoPath(d.Job.Repo), PullURL: pullPath(d.Job.Repo, d.Job.PR),
				RetryURL: "/queue/dead/" + url.PathEscape(d.ID) + "/retry", CanRetry: p.CanWrite()})
		}
	}
	s.render(w, r, sess, http.StatusOK, "queue", "Queue", struct {
		Jobs    []jobRow
		Dead    []deadRow
		Retried string
	}{jobRows, deadRows, r.URL.Query().Get("retried")})
}

// retryDead sends a dead job back to the queue, for a person who may write
// to its repository: running it again may run a pull request's models.
func (s *Server) retryDead(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	dl, err := s.cfg.Store.DeadLetter(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, sess, http.StatusNotFound, "No such dead job", "This job is not among the dead letters (any more): someone may have retried it already.")
		return
	}
	if err != nil {
		s.storeFailed(w, r, sess, err)
		return
	}
	p, err := s.permission(r.Context(), sess, dl.Job.Repo)
	if err != nil {
		s.hostFailed(w, r, sess, err)
		return
	}
	if !canRead(p) {
		s.notFound(w, r, sess)
		return
	}
	_, name := splitRepoKey(dl.Job.Repo)
	if !p.CanWrite() {
		s.cfg.Logger.Info("web: a retry refused", "login", sess.Login, "repo", dl.Job.Repo, "permission", p)
		s.fail(w, r, sess, http.StatusForbidden, "You may not retry this job",
			fmt.Sprintf("Running a job again can run a pull request's models in the warehouse, so it needs write access to %s; you have %s. Nothing was changed.", name, p))
		return
	}
	if _, err := s.cfg.Store.RetryDead(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, sess, http.StatusNotFound, "No such dead job", "Someone retried this job a moment ago.")
			return
		}
		s.storeFailed(w, r, sess, err)
		return
	}
	s.cfg.Logger.Info("web: dead job sent back to the queue", "login", sess.Login, "repo", dl.Job.Repo, "pr", dl.Job.PR, "job", id)
	if s.cfg.Wake != nil {
		s.cfg.Wake()
	}
	http.Redirect(w, r, "/queue?retried="+url.QueryEscape(id), http.StatusSeeOther)
}
