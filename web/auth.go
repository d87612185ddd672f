package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The sign-in: /signin lists the hosts; /signin/HOST sends the person to
// the host with a fresh state and PKCE verifier sealed in a short-lived
// cookie; the host sends them back to /signin/HOST/callback with a code,
// which is exchanged for their token only when the state matches the
// cookie's. Their identity comes from the host, asked with that token.

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	var hosts []signInHost
	for _, h := range s.cfg.Hosts {
		hosts = append(hosts, signInHost{Title: h.Title, URL: "/signin/" + h.Name + "?next=" + queryEscape(next)})
	}
	s.render(w, r, nil, http.StatusOK, "signin", "Sign in", signInView{Hosts: hosts})
}

type signInHost struct{ Title, URL string }

type signInView struct{ Hosts []signInHost }

// safeNext keeps a return address on this site: a path, never another
// host ("//evil.example.com" or "https://...").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func (s *Server) startSignIn(w http.ResponseWriter, r *http.Request) {
	h := s.hosts[r.PathValue("host")]
	if h == nil {
		s.fail(w, r, nil, http.StatusNotFound, "Not found", "This server does not sign people in with that host.")
		return
	}
	in := signIn{Host: h.Name, State: randomString(24), Verifier: oauth2.GenerateVerifier(), Next: safeNext(r.URL.Query().Get("next")),
		Expires: s.cfg.Now().Add(signInLifetime).Unix()}
	if err := s.setCookie(w, oauthCookie, in, signInLifetime); err != nil {
		s.fail(w, r, nil, http.StatusInternalServerError, "Sign-in failed", err.Error())
		return
	}
	http.Redirect(w, r, h.OAuth.AuthCodeURL(in.State, oauth2.S256ChallengeOption(in.Verifier)), http.StatusFound)
}

func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request) {
	h := s.hosts[r.PathValue("host")]
	if h == nil {
		s.fail(w, r, nil, http.StatusNotFound, "Not found", "This server does not sign people in with that host.")
		return
	}
	refuse := func(status int, title, msg string) {
		s.clearCookie(w, oauthCookie)
		s.cfg.Logger.Warn("web: sign-in refused", "host", h.Name, "why", title)
		s.fail(w, r, nil, status, title, msg+" You are not signed in. Start again from the sign-in page.")
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		refuse(http.StatusForbidden, h.Title+" did not sign you in", fmt.Sprintf("%s answered %q: %s.", h.Title, e, q.Get("error_description")))
		return
	}
	var in signIn
	c, err := r.Cookie(oauthCookie)
	if err == nil {
		err = s.sealer.open(oauthCookie, c.Value, &in)
	}
	switch {
	case err != nil:
		refuse(http.StatusBadRequest, "This sign-in cannot be checked",
			"The sign-in did not start in this browser (its cookie is missing or not valid), so its answer cannot be trusted.")
		return
	case in.Host != h.Name || s.cfg.Now().Unix() >= in.Expires:
		refuse(http.StatusBadRequest, "This sign-in expired", "The sign-in took longer than 10 minutes, or started with another host.")
		return
	case q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(in.State)) != 1:
		refuse(http.StatusBadRequest, "The sign-in's state does not match",
			"The answer from "+h.Title+" carries another state than the sign-in this browser started, which is what a forged sign-in looks like.")
		return
	case q.Get("code") == "":
		refuse(http.StatusBadRequest, "No code", h.Title+" sent no code back.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	tok, err := h.OAuth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(in.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		msg := err.Error()
		if errors.As(err, &re) && re.ErrorCode != "" {
			msg = re.ErrorCode + ": " + re.ErrorDescription
			if re.ErrorCode == "incorrect_client_credentials" || re.ErrorCode == "invalid_client" {
				msg += " (the server's client id and secret are wrong: tell whoever runs dataops)"
			}
		}
		refuse(http.StatusBadGateway, h.Title+" did not give a token", msg+".")
		return
	}
	v, err := h.Viewer(tok.AccessToken)
	if err != nil {
		refuse(http.StatusInternalServerError, "Sign-in failed", err.Error())
		return
	}
	user, err := v.User(ctx)
	if err != nil {
		refuse(http.StatusBadGateway, "Sign-in failed", "Could not read who you are on "+h.Title+": "+err.Error())
		return
	}
	now := s.cfg.Now()
	expires := now.Add(s.cfg.SessionTTL)
	if !tok.Expiry.IsZero() && tok.Expiry.Before(expires) {
		// The host's token ends first: the session ends with it.
		expires = tok.Expiry
	}
	sess := session{Host: h.Name, UserID: user.ID, Login: user.Login, Token: tok.AccessToken, Issued: now.Unix(), Expires: expires.Unix(), CSRF: randomString(24)}
	if err := s.setCookie(w, sessionCookie, sess, expires.Sub(now)); err != nil {
		refuse(http.StatusInternalServerError, "Sign-in failed", err.Error())
		return
	}
	s.clearCookie(w, oauthCookie)
	s.cfg.Logger.Info("web: signed in", "host", h.Name, "login", user.Login)
	http.Redirect(w, r, in.Next, http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, sess *session) {
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
