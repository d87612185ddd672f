package gitlabtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Signing people in with GitLab as an OAuth 2.0 provider, as the bot's web
// pages do. The two endpoints are GitLab's own, at the instance's root
// (beside /api/v4), documented in "OAuth 2.0 identity provider API",
// authorization code flow with PKCE, https://docs.gitlab.com/api/oauth2/:
//
//	GET  /oauth/authorize  client_id, redirect_uri, response_type=code,
//	     state, scope (space-separated), code_challenge,
//	     code_challenge_method (S256)
//	POST /oauth/token      client_id, client_secret, code, grant_type
//	     (authorization_code), redirect_uri, code_verifier; JSON answer
//	     (access_token, token_type Bearer, expires_in 7200, refresh_token,
//	     scope, created_at); errors as 400/401 with "error" and
//	     "error_description" (invalid_grant, invalid_client)
//
// An application (created under /user_settings/applications) has an id,
// a secret, its redirect URIs and its scopes; it may ask for no scope it
// was not given. The person signed in in the browser is the one SignInAs
// names: the authorize endpoint sends them straight back, as GitLab does
// once the application is authorized.
//
// Their token reads, with the read_api scope: GET /user, and GET
// /projects/:id with their access in "permissions" (404 for a private
// project they are not a member of). It may not write (403
// insufficient_scope).

type oauthApplication struct {
	secret    string
	redirects []string
	scopes    []string
}

type oauthCode struct {
	appID, redirect, challenge string
	user                       User
	scopes                     []string
	expires                    time.Time
}

type oauthToken struct {
	user    User
	scopes  []string
	expires time.Time
}

// oauthTokenLifetime is GitLab's access token lifetime (two hours).
const oauthTokenLifetime = 2 * time.Hour

// SetOAuthApplication registers an OAuth application.
func (s *Server) SetOAuthApplication(id, secret string, redirects []string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauthApps == nil {
		s.oauthApps = map[string]oauthApplication{}
	}
	s.oauthApps[id] = oauthApplication{secret: secret, redirects: redirects, scopes: scopes}
}

// SignInAs makes username the person signed in to GitLab in the browser.
func (s *Server) SignInAs(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.browserUser = s.userLocked(username)
}

// SetPublic makes the project public: everyone may read it.
func (s *Server) SetPublic(public bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.public = public
}

func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request, path string, body []byte, rec *Request) {
	fail := func(status int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.t.Errorf("gitlabtest: %s %s: %s", r.Method, path, msg)
		rec.Status = status
		http.Error(w, msg, status)
	}
	switch {
	case path == "/oauth/authorize" && r.Method == http.MethodGet:
		rec.Pattern = "/oauth/authorize"
		s.oauthAuthorize(w, r, rec, fail)
	case path == "/oauth/token" && r.Method == http.MethodPost:
		rec.Pattern = "/oauth/token"
		s.oauthExchange(w, r, body, rec, fail)
	default:
		fail(http.StatusNotFound, "not an endpoint of GitLab's OAuth 2.0 provider the fake serves (GET /oauth/authorize, POST /oauth/token)")
	}
}

func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request, rec *Request, fail func(int, string, ...any)) {
	q := r.URL.Query()
	allowed := []string{"client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge", "code_challenge_method"}
	for k := range q {
		if !slices.Contains(allowed, k) {
			fail(http.StatusBadRequest, "parameter %q is not one GitLab's /oauth/authorize documents", k)
			return
		}
	}
	if q.Get("response_type") != "code" {
		fail(http.StatusBadRequest, "response_type must be code, not %q", q.Get("response_type"))
		return
	}
	if m := q.Get("code_challenge_method"); (m != "" || q.Get("code_challenge") != "") && m != "S256" {
		fail(http.StatusBadRequest, "code_challenge_method %q: the fake takes S256 with a code_challenge", m)
		return
	}
	s.mu.Lock()
	app, known := s.oauthApps[q.Get("client_id")]
	user := s.browserUser
	s.mu.Unlock()
	switch {
	case !known:
		fail(http.StatusUnauthorized, "client_id %q is no application the fake knows (SetOAuthApplication)", q.Get("client_id"))
		return
	case !slices.Contains(app.redirects, q.Get("redirect_uri")):
		fail(http.StatusBadRequest, "The redirect URI included is not valid: %q is not one of %s", q.Get("redirect_uri"), strings.Join(app.redirects, ", "))
		return
	case user.Username == "":
		fail(http.StatusUnauthorized, "nobody is signed in to GitLab in this browser: call SignInAs first")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	for _, sc := range scopes {
		if !slices.Contains(app.scopes, sc) {
			fail(http.StatusBadRequest, "invalid_scope: the application was not given %q (it has %s)", sc, strings.Join(app.scopes, " "))
			return
		}
	}
	code := randomToken()
	s.mu.Lock()
	if s.oauthCodes == nil {
		s.oauthCodes = map[string]oauthCode{}
	}
	s.oauthCodes[code] = oauthCode{appID: q.Get("client_id"), redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		user: user, scopes: scopes, expires: time.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	u, _ := url.Parse(q.Get("redirect_uri"))
	back := u.Query()
	back.Set("code", code)
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	u.RawQuery = back.Encode()
	rec.Status = http.StatusFound
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) oauthExchange(w http.ResponseWriter, r *http.Request, body []byte, rec *Request, fail func(int, string, ...any)) {
	p := r.URL.Query()
	if len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			fail(http.StatusBadRequest, "send the parameters as a form (application/x-www-form-urlencoded): %v", err)
			return
		}
		for k, vs := range form {
			p[k] = append(p[k], vs...)
		}
	}
	allowed := []string{"client_id", "client_secret", "code", "grant_type", "redirect_uri", "code_verifier"}
	for k := range p {
		if !slices.Contains(allowed, k) {
			fail(http.StatusBadRequest, "parameter %q is not one GitLab's /oauth/token documents for the authorization code", k)
			return
		}
	}
	answer := func(status int, v map[string]any) {
		rec.Status = status
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	invalidGrant := func() {
		answer(http.StatusBadRequest, map[string]any{"error": "invalid_grant",
			"error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."})
	}
	if p.Get("grant_type") != "authorization_code" {
		fail(http.StatusBadRequest, "grant_type must be authorization_code, not %q", p.Get("grant_type"))
		return
	}
	s.mu.Lock()
	app, known := s.oauthApps[p.Get("client_id")]
	code, found := s.oauthCodes[p.Get("code")]
	delete(s.oauthCodes, p.Get("code"))
	s.mu.Unlock()
	switch {
	case !known || p.Get("client_secret") == "" || app.secret != p.Get("client_secret"):
		answer(http.StatusUnauthorized, map[string]any{"error": "invalid_client",
			"error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."})
		return
	case !found || code.appID != p.Get("client_id") || time.Now().After(code.expires) || code.redirect != p.Get("redirect_uri"):
		invalidGrant()
		return
	case code.challenge != "" && s256(p.Get("code_verifier")) != code.challenge:
		invalidGrant()
		return
	}
	token := randomToken()
	s.mu.Lock()
	if s.oauthTokens == nil {
		s.oauthTokens = map[string]oauthToken{}
	}
	s.oauthTokens[token] = oauthToken{user: code.user, scopes: code.scopes, expires: time.Now().Add(oauthTokenLifetime)}
	s.mu.Unlock()
	answer(http.StatusOK, map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": int(oauthTokenLifetime.Seconds()),
		"refresh_token": randomToken(), "scope": strings.Join(code.scopes, " "), "created_at": time.Now().Unix()})
}

// oauthUser is the person a request's OAuth token was issued to, if it
// carries one of those.
func (s *Server) oauthUser(r *http.Request) (*oauthToken, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.oauthTokens[tok]
	if !ok || time.Now().After(t.expires) {
		return nil, false
	}
	return &t, true
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func init() {
	endpoints = append(endpoints,
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/user",
			Doc:     "https://docs.gitlab.com/api/users/#retrieve-the-current-user",
			handle:  (*Server).getCurrentUser,
		},
		&endpoint{
			Method:  http.MethodGet,
			Pattern: "/projects/:id",
			Doc:     "https://docs.gitlab.com/api/projects/#retrieve-a-project",
			Path:    []param{{Name: "id", Type: tProjectID}},
			Params: []param{
				{Name: "license", Type: tBoolean},
				{Name: "statistics", Type: tBoolean},
				{Name: "with_custom_attributes", Type: tBoolean},
			},
			handle: (*Server).getProject,
		},
	)
	for _, e := range endpoints {
		if e.re == nil {
			e.re = compilePattern(e.Pattern)
		}
	}
}

func (s *Server) getCurrentUser(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user
	if c.oauth != nil {
		u = c.oauth.user
	}
	out := s.userJSON(u)
	out["created_at"] = "2012-05-23T08:00:58.000Z"
	out["bot"] = c.oauth == nil
	return response{status: http.StatusOK, body: out}
}

// getProject serves the project with the caller's access in its
// permissions: a member's level, or nulls for someone who may only read a
// public project. A private project is 404 to anyone else.
func (s *Server) getProject(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var access any
	if c.oauth != nil {
		level := 0
		for _, m := range s.effectiveMembers() {
			if m.ID == c.oauth.user.ID && m.State == "active" && m.MembershipState == "active" {
				level = m.AccessLevel
			}
		}
		if level == 0 && !s.public {
			return jsonError(http.StatusNotFound, "404 Project Not Found")
		}
		if level > 0 {
			access = map[string]any{"access_level": level, "notification_level": 3}
		}
	} else {
		access = map[string]any{"access_level": 40, "notification_level": 3}
	}
	visibility := "private"
	if s.public {
		visibility = "public"
	}
	name := s.project.Path[strings.LastIndex(s.project.Path, "/")+1:]
	namespace := strings.TrimSuffix(s.project.Path, "/"+name)
	return response{status: http.StatusOK, body: map[string]any{
		"id": s.project.ID, "name": name, "path": name, "path_with_namespace": s.project.Path,
		"name_with_namespace": strings.ReplaceAll(s.project.Path, "/", " / "),
		"description":         nil, "default_branch": "main", "visibility": visibility,
		"web_url": s.projectWebURL(), "created_at": "2012-05-23T08:00:58.000Z",
		"namespace":   map[string]any{"id": 1, "name": namespace, "path": namespace, "kind": "group", "full_path": namespace},
		"archived":    false,
		"permissions": map[string]any{"project_access": access, "group_access": nil},
	}}
}

// IssueOAuthToken hands out an OAuth token of username with scopes without
// the authorization flow, for tests of what the token reads.
func (s *Server) IssueOAuthToken(username string, scopes ...string) string {
	token := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauthTokens == nil {
		s.oauthTokens = map[string]oauthToken{}
	}
	s.oauthTokens[token] = oauthToken{user: s.userLocked(username), scopes: scopes, expires: time.Now().Add(oauthTokenLifetime)}
	return token
}

// RevokeOAuthTokens ends every OAuth token of username.
func (s *Server) RevokeOAuthTokens(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, t := range s.oauthTokens {
		if strings.EqualFold(t.user.Username, username) {
			delete(s.oauthTokens, tok)
		}
	}
}
