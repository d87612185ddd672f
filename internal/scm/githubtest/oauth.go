package githubtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Signing in people with a GitHub App (its "user access tokens"), as the
// bot's web pages do. The web application flow's two endpoints live on
// GitHub itself (github.com, or a GitHub Enterprise Server's root), not in
// the REST API, so its OpenAPI description does not cover them. The fake
// checks them against GitHub's documentation instead: "Generating a user
// access token for a GitHub App", web application flow,
// https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app
//
//	GET  /login/oauth/authorize     client_id (required), redirect_uri
//	     (an exact match of a callback URL, no extra parameters), state,
//	     code_challenge and code_challenge_method (S256; PKCE), login,
//	     allow_signup, prompt (select_account)
//	POST /login/oauth/access_token  client_id, client_secret, code (all
//	     required), redirect_uri, code_verifier (required when
//	     code_challenge was sent), repository_id; JSON answer with Accept:
//	     application/json, a form otherwise; errors come with status 200
//	     and an "error" field (bad_verification_code,
//	     incorrect_client_credentials, redirect_uri_mismatch)
//
// Codes expire after ten minutes and serve once. Tokens expire after eight
// hours (expiring user access tokens, on by default for new Apps).
//
// The person signed in to GitHub in the browser is the one SignInAs names:
// the authorize endpoint sends them straight back with a code, as GitHub
// does for someone who authorized the App before.

// OAuth endpoints, at the root of the server.
const (
	OAuthAuthorizePath = "/login/oauth/authorize"
	OAuthTokenPath     = "/login/oauth/access_token"
)

// codeLifetime is how long GitHub honours an authorization code.
const codeLifetime = 10 * time.Minute

// UserTokenLifetime is how long a user access token lasts.
const UserTokenLifetime = 8 * time.Hour

type oauthApp struct {
	secret    string
	callbacks []string
}

type oauthCode struct {
	clientID, redirectURI, login, challenge string
	expires                                 time.Time
}

type userToken struct {
	login   string
	expires time.Time
}

// SetOAuthApp registers the client id and secret of the App's sign-in and
// its callback URLs.
func (s *Server) SetOAuthApp(clientID, clientSecret string, callbacks ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauthApps == nil {
		s.oauthApps = map[string]oauthApp{}
	}
	s.oauthApps[clientID] = oauthApp{secret: clientSecret, callbacks: callbacks}
}

// SignInAs makes login the person signed in to GitHub in the browser.
func (s *Server) SignInAs(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.browserLogin = login
}

// RevokeUserTokens ends every user access token of login: requests with
// them are then answered 401 Bad credentials.
func (s *Server) RevokeUserTokens(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, u := range s.userTokens {
		if strings.EqualFold(u.login, login) {
			delete(s.userTokens, tok)
			s.revoked[tok] = true
		}
	}
}

// SetRepoPermission gives user a permission on repo alone, over the one
// SetPermission gave on every repository.
func (s *Server) SetRepoPermission(repo, user, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoPermissions[strings.ToLower(repo)+"#"+strings.ToLower(user)] = permission
}

// permissionOf is user's permission on repo; ok is false for someone who
// is not a collaborator. The caller holds s.mu.
func (s *Server) permissionOf(repo, user string) (string, bool) {
	if p, ok := s.repoPermissions[strings.ToLower(repo)+"#"+strings.ToLower(user)]; ok {
		return p, true
	}
	p, ok := s.permissions[strings.ToLower(user)]
	return p, ok
}

var (
	authorizeParams = map[string]bool{"client_id": true, "redirect_uri": true, "state": true, "code_challenge": true,
		"code_challenge_method": true, "login": true, "allow_signup": true, "prompt": true,
		// OAuth 2.0 clients send response_type=code (RFC 6749, 4.1.1);
		// GitHub's page does not list it and ignores it.
		"response_type": true}
	tokenParams = map[string]bool{"client_id": true, "client_secret": true, "code": true, "redirect_uri": true, "code_verifier": true,
		"repository_id": true,
		// GitHub documents grant_type at this endpoint for refreshing
		// (refresh_token); OAuth 2.0 clients send authorization_code.
		"grant_type": true}
)

func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request, reqPath string, body []byte, rec int) {
	fail := func(status int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.t.Errorf("githubtest: %s %s: %s", r.Method, reqPath, msg)
		s.mu.Lock()
		s.requests[rec].Status = status
		s.mu.Unlock()
		http.Error(w, msg, status)
	}
	switch {
	case reqPath == OAuthAuthorizePath && r.Method == http.MethodGet:
		s.mu.Lock()
		s.requests[rec].Operation = "oauth/authorize"
		s.mu.Unlock()
		s.authorize(w, r, rec, fail)
	case reqPath == OAuthTokenPath && r.Method == http.MethodPost:
		s.mu.Lock()
		s.requests[rec].Operation = "oauth/access-token"
		s.mu.Unlock()
		s.exchangeCode(w, r, body, rec, fail)
	default:
		fail(http.StatusNotFound, "not an endpoint of GitHub's web application flow (GET %s, POST %s)", OAuthAuthorizePath, OAuthTokenPath)
	}
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, rec int, fail func(int, string, ...any)) {
	q := r.URL.Query()
	for k := range q {
		if !authorizeParams[k] {
			fail(http.StatusBadRequest, "parameter %q is not one GitHub's authorize endpoint documents", k)
			return
		}
	}
	if rt := q.Get("response_type"); rt != "" && rt != "code" {
		fail(http.StatusBadRequest, "response_type %q: GitHub's web flow issues codes only", rt)
		return
	}
	if m := q.Get("code_challenge_method"); m != "" && (m != "S256" || q.Get("code_challenge") == "") {
		fail(http.StatusBadRequest, "code_challenge_method %q: GitHub takes S256, with a code_challenge", m)
		return
	}
	if c := q.Get("code_challenge"); c != "" && len(c) != 43 {
		fail(http.StatusBadRequest, "code_challenge is %d characters; GitHub wants the 43-character S256 hash", len(c))
		return
	}
	s.mu.Lock()
	app, known := s.oauthApps[q.Get("client_id")]
	login := s.browserLogin
	s.mu.Unlock()
	if !known {
		fail(http.StatusNotFound, "client_id %q is no App's the fake knows (SetOAuthApp)", q.Get("client_id"))
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(app.callbacks) > 0 {
		redirect = app.callbacks[0]
	}
	matched := false
	for _, cb := range app.callbacks {
		matched = matched || cb == redirect
	}
	if !matched {
		// GitHub shows its own error page and sends the person nowhere.
		fail(http.StatusBadRequest, "redirect_uri %q is not a callback URL of the App (%s)", redirect, strings.Join(app.callbacks, ", "))
		return
	}
	if login == "" {
		fail(http.StatusUnauthorized, "nobody is signed in to GitHub in this browser: call SignInAs first")
		return
	}
	code := randomHex(10)
	s.mu.Lock()
	if s.oauthCodes == nil {
		s.oauthCodes = map[string]oauthCode{}
	}
	s.oauthCodes[code] = oauthCode{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), login: login,
		challenge: q.Get("code_challenge"), expires: time.Now().Add(codeLifetime)}
	s.requests[rec].Status = http.StatusFound
	s.mu.Unlock()
	u, _ := url.Parse(redirect)
	back := u.Query()
	back.Set("code", code)
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	u.RawQuery = back.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, body []byte, rec int, fail func(int, string, ...any)) {
	// The query and the body, as GitHub takes either.
	p := r.URL.Query()
	if len(body) > 0 {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			fail(http.StatusBadRequest, "a body of type %q: send a form (application/x-www-form-urlencoded)", ct)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			fail(http.StatusBadRequest, "the form cannot be read: %v", err)
			return
		}
		for k, vs := range form {
			p[k] = append(p[k], vs...)
		}
	}
	for k := range p {
		if !tokenParams[k] {
			fail(http.StatusBadRequest, "parameter %q is not one GitHub's access token endpoint documents", k)
			return
		}
	}
	if gt := p.Get("grant_type"); gt != "" && gt != "authorization_code" {
		fail(http.StatusBadRequest, "grant_type %q: the fake exchanges codes only", gt)
		return
	}
	answer := func(body map[string]any) {
		s.mu.Lock()
		s.requests[rec].Status = http.StatusOK
		s.mu.Unlock()
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(body)
			return
		}
		form := url.Values{}
		for k, v := range body {
			form.Set(k, fmt.Sprint(v))
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(form.Encode()))
	}
	refuse := func(code, description, anchor string) {
		answer(map[string]any{"error": code, "error_description": description,
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + anchor})
	}
	s.mu.Lock()
	app, known := s.oauthApps[p.Get("client_id")]
	code, found := s.oauthCodes[p.Get("code")]
	delete(s.oauthCodes, p.Get("code"))
	s.mu.Unlock()
	switch {
	case !known || app.secret != p.Get("client_secret") || p.Get("client_secret") == "":
		refuse("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "incorrect-client-credentials")
		return
	case !found || code.clientID != p.Get("client_id") || time.Now().After(code.expires):
		refuse("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code")
		return
	case p.Get("redirect_uri") != "" && p.Get("redirect_uri") != code.redirectURI:
		refuse("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.", "redirect-uri-mismatch")
		return
	case code.challenge != "" && s256(p.Get("code_verifier")) != code.challenge:
		refuse("bad_verification_code", "The code_verifier does not match the code_challenge.", "bad-verification-code")
		return
	}
	token := "ghu_" + randomHex(18)
	s.mu.Lock()
	if s.userTokens == nil {
		s.userTokens = map[string]userToken{}
	}
	s.userTokens[token] = userToken{login: code.login, expires: time.Now().Add(UserTokenLifetime)}
	s.mu.Unlock()
	answer(map[string]any{"access_token": token, "expires_in": int(UserTokenLifetime.Seconds()), "refresh_token": "ghr_" + randomHex(30),
		"refresh_token_expires_in": 15897600, "scope": "", "token_type": "bearer"})
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// The REST operations the web pages call with a user access token.

func (s *Server) getAuthenticatedUser(c *call) {
	if !c.userToken {
		s.respondError(c, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	obj := s.example(c, 200)
	obj["login"] = c.login
	obj["id"] = loginID(c.login)
	// The schema tells private from public users by user_view_type,
	// which the example lacks; a user's own token reads the private view.
	obj["user_view_type"] = "private"
	obj["html_url"] = "https://github.com/" + c.login
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

// loginID is a stable id per login.
func loginID(login string) int64 {
	sum := sha256.Sum256([]byte(strings.ToLower(login)))
	return int64(sum[0])<<16 | int64(sum[1])<<8 | int64(sum[2]) + 1
}

// getRepo serves a repository. The fake's repositories are private: a
// user token of someone without access gets 404, as GitHub answers; its
// permissions say what the token's person may do.
func (s *Server) getRepo(c *call) {
	perms := map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}
	if c.userToken {
		s.mu.Lock()
		perm, ok := s.permissionOf(c.repoName(), c.login)
		s.mu.Unlock()
		if !ok || perm == "none" {
			s.respondError(c, http.StatusNotFound, "Not Found")
			return
		}
		level := map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[perm]
		perms = map[string]bool{"pull": level >= 1, "triage": level >= 2, "push": level >= 3, "maintain": level >= 4, "admin": level >= 5}
	}
	obj := s.example(c, 200)
	// The example is a fork (with its parent and source), and lacks the
	// required, nullable language.
	delete(obj, "parent")
	delete(obj, "source")
	obj["language"] = nil
	setRepo(obj, c.params["owner"], c.params["repo"], false)
	obj["private"], obj["visibility"] = true, "private"
	obj["permissions"] = perms
	s.finish(c.w, c.rec, http.StatusOK, nil, obj)
}

// IssueUserToken hands out a user access token of login without the web
// flow, for tests of what the token reads.
func (s *Server) IssueUserToken(login string) string {
	token := "ghu_" + randomHex(18)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userTokens == nil {
		s.userTokens = map[string]userToken{}
	}
	s.userTokens[token] = userToken{login: login, expires: time.Now().Add(UserTokenLifetime)}
	return token
}
