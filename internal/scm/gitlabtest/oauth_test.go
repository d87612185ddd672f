package gitlabtest

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

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestOAuthProvider: golang.org/x/oauth2 signs a person in through the
// fake as through GitLab (authorize with PKCE, code for token, both at the
// instance's root also under a relative URL root), and the token reads the
// person and their access to the project, and may not write.
func TestOAuthProvider(t *testing.T) {
	rec := &recorder{TB: t}
	s := NewServer(rec, WithPathPrefix("/gitlab/api/v4"))
	const callback = "https://dataops.example.com/signin/gitlab/callback"
	s.SetOAuthApplication("app-id", "app-secret", []string{callback}, "read_api")
	s.AddMember(Member{User: User{ID: 901, Username: "dev"}, AccessLevel: 30})
	s.AddMember(Member{User: User{ID: 902, Username: "guest"}, AccessLevel: 10})
	root := s.URL + "/gitlab"
	cfg := oauth2.Config{ClientID: "app-id", ClientSecret: "app-secret", RedirectURL: callback, Scopes: []string{"read_api"},
		Endpoint: oauth2.Endpoint{AuthURL: root + "/oauth/authorize", TokenURL: root + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.Background()
	project := "/projects/" + url.PathEscape(s.Project().Path)

	signIn := func(username string) *oauth2.Token {
		t.Helper()
		s.SignInAs(username)
		verifier := oauth2.GenerateVerifier()
		resp, err := noRedirects.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" {
			t.Fatalf("authorize: %d to %q", resp.StatusCode, loc)
		}
		tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	get := func(tok *oauth2.Token, path string) (int, map[string]any) {
		t.Helper()
		resp, err := cfg.Client(ctx, tok).Get(s.BaseURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return resp.StatusCode, m
	}
	access := func(p map[string]any) any {
		perms, _ := p["permissions"].(map[string]any)
		pa, _ := perms["project_access"].(map[string]any)
		if pa == nil {
			return nil
		}
		return pa["access_level"]
	}

	dev := signIn("dev")
	if status, u := get(dev, "/user"); status != 200 || u["username"] != "dev" {
		t.Errorf("GET /user: %d %v", status, u)
	}
	if status, p := get(dev, project); status != 200 || access(p) != float64(30) {
		t.Errorf("GET %s as a developer: %d %v", project, status, p["permissions"])
	}
	if status, p := get(signIn("guest"), project); status != 200 || access(p) != float64(10) {
		t.Errorf("as a guest: %d %v", status, p["permissions"])
	}
	stranger := signIn("stranger")
	if status, _ := get(stranger, project); status != 404 {
		t.Errorf("a stranger and a private project: %d, want 404", status)
	}
	s.SetPublic(true)
	if status, p := get(stranger, project); status != 200 || access(p) != nil {
		t.Errorf("a stranger and a public project: %d %v", status, p["permissions"])
	}
	// A read_api token may not write.
	resp, err := cfg.Client(ctx, dev).Post(s.BaseURL()+project+"/statuses/"+strings.Repeat("a", 40), "application/json", strings.NewReader(`{"state":"success"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a read_api token writing: %d, want 403", resp.StatusCode)
	}

	// Codes serve once; a wrong secret is refused.
	s.SignInAs("dev")
	verifier := oauth2.GenerateVerifier()
	r2, _ := noRedirects.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	r2.Body.Close()
	code := strings.SplitN(r2.Header.Get("Location"), "code=", 2)[1]
	code = strings.SplitN(code, "&", 2)[0]
	wrong := cfg
	wrong.ClientSecret = "guess"
	var re *oauth2.RetrieveError
	if _, err := wrong.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("a wrong secret: %v", err)
	}
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("a code used twice: %v", err)
	}
	if errs := rec.errors(); len(errs) > 0 {
		t.Fatalf("the fake reported %q", errs)
	}

	// What GitLab would refuse, the fake reports.
	for _, c := range []struct{ name, url, want string }{
		{"foreign redirect", strings.Replace(cfg.AuthCodeURL("x"), url.QueryEscape(callback), url.QueryEscape("https://evil.example.com/cb"), 1), "redirect URI included is not valid"},
		{"a scope not given", strings.Replace(cfg.AuthCodeURL("x"), "scope=read_api", "scope=api", 1), "invalid_scope"},
		{"no response type", strings.Replace(cfg.AuthCodeURL("x"), "response_type=code", "response_type=token", 1), "response_type must be code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.errors())
			resp, err := noRedirects.Get(c.url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			errs := rec.errors()[before:]
			if resp.StatusCode < 400 || len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Errorf("%d, reported %q, want %q", resp.StatusCode, errs, c.want)
			}
		})
	}
}
