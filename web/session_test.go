package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/store"
)

// TestCookieAttributes: the session and sign-in cookies are HttpOnly and
// SameSite=Lax, Secure when public_url is https, and sealed: the value
// holds nothing of the session in the clear.
func TestCookieAttributes(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		publicURL string
		secure    bool
	}{
		{"https://dataops.example.com", true},
		{"http://127.0.0.1:8080", false},
	} {
		t.Run(c.publicURL, func(t *testing.T) {
			s, err := New(Config{Store: st, PublicURL: c.publicURL, SessionKey: []byte(strings.Repeat("k", 32)),
				Hosts: []Host{GitHubHost("https://github.com", "", "id", "secret", nil)}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			sess := session{Host: "github", Login: "ann-the-reader", Token: "gho_token", Expires: time.Now().Add(time.Hour).Unix(), CSRF: "c"}
			if err := s.setCookie(rec, sessionCookie, sess, time.Hour); err != nil {
				t.Fatal(err)
			}
			s.clearCookie(rec, oauthCookie)
			cookies := rec.Result().Cookies()
			if len(cookies) != 2 {
				t.Fatalf("cookies %v", cookies)
			}
			for _, ck := range cookies {
				if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != c.secure || ck.Path != "/" {
					t.Errorf("cookie %s: HttpOnly %v, SameSite %v, Secure %v, Path %q", ck.Name, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
				}
			}
			raw, err := base64.RawURLEncoding.DecodeString(cookies[0].Value)
			if err != nil {
				t.Fatalf("the session cookie is not the sealer's encoding: %v", err)
			}
			if strings.Contains(string(raw), "ann-the-reader") || strings.Contains(string(raw), "gho_token") {
				t.Errorf("the session cookie shows its content: %q", raw)
			}
		})
	}
}
