// Package web is the bot's web pages in `dataops serve`: the repositories
// it works for, their pull requests with their latest gate, each pull
// request's runs, each run's whole report (with nothing cut, the lineage
// drawn as SVG), the environments, the deploys and rollbacks, and the
// queue, where writers send a dead job back.
//
// Everything shown comes from internal/store, so any replica serves any
// page, and a running job's page follows its stages as the worker records
// them (server-sent events read from the store). Pages are rendered on the
// server with html/template; the little CSS and JavaScript are our own,
// inline, under a Content-Security-Policy nonce.
//
// People sign in with GitHub (the App's OAuth client) or GitLab (an OAuth
// application), with golang.org/x/oauth2 and PKCE; the session is a
// sealed, HttpOnly, SameSite=Lax cookie holding their token, and every
// form carries the session's CSRF token. A person sees a repository only
// when its host, asked with their own token, says they can read it (a 404
// otherwise, like a repository that does not exist), and retries a dead
// job only when they can write to it. The answers are cached for
// Config.AccessCache. Nothing here is served without sign-in: the
// webhooks, /healthz, /readyz and /metrics are the serve command's own.
//
// Where this differs from ARCHITECTURE.md's "only internal/scm talks to
// GitHub/GitLab": the sign-in's code-for-token exchange is golang.org/x/
// oauth2's, called from here, against the hosts' OAuth endpoints (which
// are not their REST APIs). Everything asked of a host with a person's
// token (who they are, what they may read) goes through scm.Viewer.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/scm"
	"github.com/dataops-dev/dataops/internal/store"
	"golang.org/x/oauth2"
)

// Config is what the pages need.
type Config struct {
	Store *store.Store
	// PublicURL is where people reach the server (no trailing slash);
	// sign-in comes back to PublicURL/signin/HOST/callback, and cookies are
	// Secure when it is https.
	PublicURL string
	// SessionKey seals cookies: at least MinSessionKey bytes, the same on
	// every replica.
	SessionKey []byte
	// SessionTTL is how long a sign-in lasts (default 12h); AccessCache
	// how long a host's answer about a person's access is reused (default
	// 5m).
	SessionTTL  time.Duration
	AccessCache time.Duration
	// Hosts are the code hosts people sign in with.
	Hosts []Host
	// Wake, when set, is called after a dead job went back to the queue,
	// to wake a worker.
	Wake   func()
	Logger *slog.Logger
	// LivePoll is how often a running job's page looks for news in the
	// store (default 1s).
	LivePoll time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Host is a code host people sign in with.
type Host struct {
	// Name is the store's name of the host: "github" or "gitlab".
	Name  string
	Title string // as people call it: "GitHub"
	// OAuth is the client, with its endpoints and scopes; the redirect URL
	// is set from Config.PublicURL.
	OAuth oauth2.Config
	// Viewer makes the host as a person sees it with their token.
	Viewer func(token string) (scm.Viewer, error)
}

// Server serves the pages.
type Server struct {
	cfg    Config
	sealer *sealer
	secure bool
	hosts  map[string]*Host
	access *accessCache
	// reports are rendered reports, by run and version.
	reports *reportCache
	mux     *http.ServeMux
}

// New checks the configuration and makes the Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("web: no store")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: public_url %q is not an http(s) address", cfg.PublicURL)
	}
	// The pages link to and redirect to paths from the root (/signin,
	// /repos/...), so an address with a path would lead people off them.
	if strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("web: public_url %q has a path (%s): the pages are served at the root of their address; give the bot an address of its own, such as https://dataops.example.com", cfg.PublicURL, u.Path)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	sl, err := newSealer(cfg.SessionKey)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if len(cfg.Hosts) == 0 {
		return nil, fmt.Errorf("web: no code host to sign in with")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.AccessCache <= 0 {
		cfg.AccessCache = 5 * time.Minute
	}
	if cfg.LivePoll <= 0 {
		cfg.LivePoll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, sealer: sl, secure: u.Scheme == "https", hosts: map[string]*Host{}}
	for i := range cfg.Hosts {
		h := &cfg.Hosts[i]
		if h.OAuth.ClientID == "" || h.OAuth.ClientSecret == "" {
			return nil, fmt.Errorf("web: %s sign-in needs its client id and secret", h.Title)
		}
		h.OAuth.RedirectURL = cfg.PublicURL + "/signin/" + h.Name + "/callback"
		s.hosts[h.Name] = h
	}
	s.access = newAccessCache(cfg.AccessCache, cfg.Now)
	s.reports = newReportCache(maxCachedReports)
	s.routes()
	return s, nil
}

// Handler serves every page; mount it at "/" beside the webhooks, health
// and metrics, which are more specific routes.
func (s *Server) Handler() http.Handler { return s.mux }

// RunURL is the address of a run's page, for links from pull requests.
func RunURL(publicURL, repoKey, runID string) string {
	return strings.TrimRight(publicURL, "/") + runPath(repoKey, runID)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	page := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		m.Handle(pattern, s.secured(s.signedIn(h)))
	}
	m.Handle("GET /signin", s.secured(http.HandlerFunc(s.signInPage)))
	m.Handle("GET /signin/{host}", s.secured(http.HandlerFunc(s.startSignIn)))
	m.Handle("GET /signin/{host}/callback", s.secured(http.HandlerFunc(s.finishSignIn)))
	page("POST /signout", s.signOut)
	page("GET /{$}", s.repositoriesPage)
	page("GET /repos/{host}/{repo}", s.repositoryPage)
	page("GET /repos/{host}/{repo}/pulls/{pr}", s.pullPage)
	page("GET /repos/{host}/{repo}/runs/{run}", s.runPage)
	page("GET /repos/{host}/{repo}/runs/{run}/events", s.runEvents)
	page("GET /repos/{host}/{repo}/runs/{run}/checks/{name...}", s.checkText)
	page("GET /repos/{host}/{repo}/environments", s.environmentsPage)
	page("GET /repos/{host}/{repo}/deploys", s.deploysPage)
	page("GET /queue", s.queuePage)
	page("POST /queue/dead/{id}/retry", s.retryDead)
	m.Handle("/", s.secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, nil, http.StatusNotFound, "Not found", "There is no page at this address.")
	})))
	s.mux = m
}

// nonceKey carries a response's Content-Security-Policy nonce.
type nonceKey struct{}

// secured sets the headers every page has: a Content-Security-Policy that
// runs only our own inline script and style (by nonce), no framing, no
// caching of pages about private repositories, and a bound on bodies.
func (s *Server) secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := randomString(18)
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce)))
	})
}

func nonceOf(r *http.Request) string {
	n, _ := r.Context().Value(nonceKey{}).(string)
	return n
}

// signedIn opens the session cookie. Without one, a page sends the person
// to sign in and back; a cookie that does not open, or expired, is refused
// with a page that says so (and removed).
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, nil, http.StatusUnauthorized, "Not signed in", "Sign in to see this page.")
			return
		}
		var sess session
		if err := s.sealer.open(sessionCookie, c.Value, &sess); err != nil {
			s.clearCookie(w, sessionCookie)
			s.cfg.Logger.Warn("web: a session cookie that does not open was refused", "remote", r.RemoteAddr)
			s.fail(w, r, nil, http.StatusUnauthorized, "Your session is not valid",
				"Your browser sent a session cookie this server did not make, or one that was changed (or the server's session key changed). It was refused and removed; nothing was done. Sign in again.")
			return
		}
		if sess.expired(s.cfg.Now()) || s.hosts[sess.Host] == nil {
			s.clearCookie(w, sessionCookie)
			s.fail(w, r, nil, http.StatusUnauthorized, "Your sign-in expired",
				fmt.Sprintf("Your sign-in ended at %s; nothing was done. Sign in again.", time.Unix(sess.Expires, 0).UTC().Format("2006-01-02 15:04 UTC")))
			return
		}
		if r.Method == http.MethodPost {
			if !sess.validCSRF(r.PostFormValue("csrf")) || !s.sameOrigin(r) {
				s.cfg.Logger.Warn("web: a form without its CSRF token was refused", "login", sess.Login, "path", r.URL.Path)
				s.fail(w, r, &sess, http.StatusForbidden, "This form was not sent from this site",
					"The form lacked this session's CSRF token (or came from another site), so it was refused and nothing was changed. Go back, reload the page and try again.")
				return
			}
		}
		h(w, r, &sess)
	})
}

// sameOrigin: a browser's Origin header, when sent, must be ours.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || strings.EqualFold(o, originOf(s.cfg.PublicURL))
}

func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Scheme + "://" + p.Host
}
