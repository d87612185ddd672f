package githubtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// noRedirects stops at the first redirect, as a test of where it leads.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestOAuthWebFlow: golang.org/x/oauth2 signs a person in through the
// fake as through GitHub (authorize with PKCE, code for token), and the
// token reads the person and what they may do with a repository.
func TestOAuthWebFlow(t *testing.T) {
	rec := &recorder{TB: t}
	s := NewServer(rec)
	const callback = "https://dataops.example.com/signin/github/callback"
	s.SetOAuthApp("Iv1.client", "s3cret", callback)
	s.SetPermission("reader", "read")
	s.SetPermission("writer", "write")
	s.SetRepoPermission("acme/secret", "writer", "none")
	cfg := oauth2.Config{ClientID: "Iv1.client", ClientSecret: "s3cret", RedirectURL: callback,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + OAuthAuthorizePath, TokenURL: s.URL + OAuthTokenPath, AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.Background()

	signIn := func(login string) (code string, verifier string) {
		t.Helper()
		s.SignInAs(login)
		verifier = oauth2.GenerateVerifier()
		resp, err := noRedirects.Get(cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), callback+"?") || loc.Query().Get("state") != "st4te" {
			t.Fatalf("authorize: %d to %q", resp.StatusCode, loc)
		}
		return loc.Query().Get("code"), verifier
	}
	get := func(tok *oauth2.Token, path string) (int, map[string]any) {
		t.Helper()
		resp, err := cfg.Client(ctx, tok).Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		data, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(data, &m)
		return resp.StatusCode, m
	}

	code, verifier := signIn("writer")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ghu_") || tok.Expiry.IsZero() {
		t.Errorf("token %+v", tok)
	}
	if status, user := get(tok, "/user"); status != 200 || user["login"] != "writer" {
		t.Errorf("GET /user: %d %v", status, user["login"])
	}
	if status, repo := get(tok, "/repos/acme/shop"); status != 200 || !asMap(repo["permissions"])["push"].(bool) || asMap(repo["permissions"])["admin"].(bool) {
		t.Errorf("GET /repos/acme/shop as a writer: %d %v", status, repo["permissions"])
	}
	if status, _ := get(tok, "/repos/acme/secret"); status != 404 {
		t.Errorf("GET /repos/acme/secret without access: %d, want 404", status)
	}
	// A code serves once.
	var re *oauth2.RetrieveError
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !errors.As(err, &re) || re.ErrorCode != "bad_verification_code" {
		t.Errorf("a code used twice: %v", err)
	}

	code, verifier = signIn("reader")
	wrong := cfg
	wrong.ClientSecret = "guess"
	if _, err := wrong.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !errors.As(err, &re) || re.ErrorCode != "incorrect_client_credentials" {
		t.Errorf("a wrong client secret: %v", err)
	}
	code, _ = signIn("reader")
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); !errors.As(err, &re) || re.ErrorCode != "bad_verification_code" {
		t.Errorf("another verifier: %v", err)
	}
	code, verifier = signIn("reader")
	reader, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if status, repo := get(reader, "/repos/acme/shop"); status != 200 || asMap(repo["permissions"])["push"].(bool) || !asMap(repo["permissions"])["pull"].(bool) {
		t.Errorf("a reader's permissions: %d %v", status, repo["permissions"])
	}
	s.RevokeUserTokens("reader")
	if status, _ := get(reader, "/user"); status != 401 {
		t.Errorf("a revoked token: %d, want 401", status)
	}
	if errs := rec.take(); len(errs) > 0 {
		t.Errorf("the fake reported %q", errs)
	}

	// What GitHub would refuse, the fake reports.
	for _, c := range []struct{ name, url, want string }{
		{"unknown client", strings.Replace(cfg.AuthCodeURL("x"), "client_id=Iv1.client", "client_id=nope", 1), "is no App's"},
		{"foreign callback", strings.Replace(cfg.AuthCodeURL("x"), url.QueryEscape(callback), url.QueryEscape("https://evil.example.com/cb"), 1), "is not a callback URL"},
		{"undocumented parameter", cfg.AuthCodeURL("x") + "&scopes=repo", `parameter "scopes"`},
		{"plain PKCE", cfg.AuthCodeURL("x", oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)), oauth2.SetAuthURLParam("code_challenge_method", "plain")), "takes S256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := noRedirects.Get(c.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			errs := rec.take()
			if resp.StatusCode < 400 || len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Errorf("%d, reported %q, want %q", resp.StatusCode, errs, c.want)
			}
		})
	}
	// An installation token cannot read /user.
	req, _ := http.NewRequest("GET", s.URL+"/user", nil)
	req.Header.Set("Authorization", "token ghs_installation")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("GET /user as an installation: %v %v", resp.StatusCode, err)
	}
}
