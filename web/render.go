package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/store"
)

//go:embed templates/*.html assets/style.css assets/live.js
var files embed.FS

// pageNames are the templates beside the layout, one per page.
var pageNames = []string{"error", "signin", "repositories", "repository", "pull", "run", "environments", "deploys", "queue"}

var (
	pages  = map[string]*template.Template{}
	style  template.CSS
	script template.JS
)

func init() {
	css, err := files.ReadFile("assets/style.css")
	if err != nil {
		panic(err)
	}
	js, err := files.ReadFile("assets/live.js")
	if err != nil {
		panic(err)
	}
	style, script = template.CSS(css), template.JS(js)
	for _, name := range pageNames {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
}

// layoutView is what every page's frame shows.
type layoutView struct {
	Title  string
	Nonce  string
	Style  template.CSS
	Script template.JS
	// Login and Host say who is signed in; CSRF goes into every form.
	Login, Host, CSRF string
	Page              any
}

// render writes a page. It renders into a buffer first, so that a
// template that fails sends a clean error, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, status int, page, title string, data any) {
	v := layoutView{Title: title, Nonce: nonceOf(r), Style: style, Script: script, Page: data}
	if sess != nil {
		v.Login, v.CSRF = sess.Login, sess.CSRF
		if h := s.hosts[sess.Host]; h != nil {
			v.Host = h.Title
		}
	}
	var b bytes.Buffer
	hint := 32 << 10
	if h, ok := data.(interface{ sizeHint() int }); ok {
		hint += h.sizeHint()
	}
	b.Grow(hint)
	if err := pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		s.cfg.Logger.Error("web: render", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

type errorView struct {
	Status         int
	Heading, Text  string
	SignIn         bool
	SignInURL      string
	SignedIn, Home bool
}

// fail answers with a page saying what went wrong and what to do.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, status int, heading, text string) {
	v := errorView{Status: status, Heading: heading, Text: text, SignIn: status == http.StatusUnauthorized || sess == nil,
		SignInURL: "/signin", SignedIn: sess != nil}
	if r.Method == http.MethodGet && status == http.StatusUnauthorized {
		v.SignInURL = "/signin?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	s.render(w, r, sess, status, "error", heading, v)
}

func queryEscape(s string) string { return url.QueryEscape(s) }

var funcs = template.FuncMap{
	"when":     when,
	"took":     took,
	"short":    short,
	"num":      num,
	"size":     size,
	"pct":      func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "%" },
	"state":    state,
	"mark":     mark,
	"anchor":   anchor,
	"join":     strings.Join,
	"runPath":  runPath,
	"pullPath": pullPath,
	"rows":     func(n int64) string { return num(n) },
	"stageTook": func(st store.Stage) string {
		return stageTook(st, time.Now())
	},
	"until": func(t time.Time, d time.Duration) string {
		if d <= 0 {
			return "never"
		}
		return "in " + span(time.Until(t.Add(d)))
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return span(time.Since(t)) + " ago"
	},
	"span":  span,
	"plus":  func(a, b int) int { return a + b },
	"int64": func(n int) int64 { return int64(n) },
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// took is how long from start to end ("—" when either is unknown).
func took(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "—"
	}
	return span(end.Sub(start))
}

// stageTook is a stage's time: finished, or so far.
func stageTook(st store.Stage, now time.Time) string {
	switch {
	case st.StartedAt.IsZero():
		return ""
	case st.FinishedAt.IsZero():
		return span(now.Sub(st.StartedAt)) + " so far"
	}
	return span(st.FinishedAt.Sub(st.StartedAt))
}

// span writes a duration as people read it: 850ms, 12.3s, 4m05s, 3h12m,
// 2d4h.
func span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	if h := int(d.Hours()) % 24; h > 0 {
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, h)
	}
	return fmt.Sprintf("%dd", int(d.Hours())/24)
}

// num writes a count with thousands separators; a negative one is unknown.
func num(n int64) string {
	if n < 0 {
		return "—"
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// size writes bytes in binary units; a negative size is unknown.
func size(n int64) string {
	if n < 0 {
		return "—"
	}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) + " " + units[i]
}

// state names the look of a status and conclusion: the CSS class of its
// badge.
func state(status, conclusion string) string {
	switch status {
	case "queued", "waiting", "pending":
		return "queued"
	case "in_progress", store.RunRunning:
		return "running"
	}
	switch conclusion {
	case "success", "failure", "neutral", "skipped", "cancelled":
		return conclusion
	case "":
		switch status {
		case store.RunCompleted:
			return "success"
		case store.RunFailed:
			return "failure"
		case store.RunSuperseded, store.RunInterrupted:
			return "cancelled"
		}
	}
	return "neutral"
}

// mark is a plan change's sign.
func mark(status string) string {
	return map[string]string{"modified": "~", "added": "+", "removed": "−", "cosmetic": "·", "impacted": "↳"}[status]
}

var notAnchor = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// anchor makes an element id of a node's name: names in dbt projects are
// identifiers, but anything else stays unique through a hash.
func anchor(prefix, name string) string {
	clean := notAnchor.ReplaceAllString(name, "-")
	if clean != name {
		clean += "-" + strconv.FormatUint(uint64(fnv32(name)), 36)
	}
	return prefix + "-" + clean
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
