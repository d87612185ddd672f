package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sessions live in cookies, not in the store: any replica reads them, and
// nothing is kept per person. A cookie is sealed with AES-256-GCM under a
// key derived from serve.yml's session key: sealing both signs it (a
// changed or forged cookie does not open) and hides what it holds (the
// person's token to their code host). The cookie's name is sealed in with
// it, so a sign-in's state cookie cannot pass for a session.

// Cookie names.
const (
	sessionCookie = "dataops_session"
	oauthCookie   = "dataops_signin"
)

// MinSessionKey is the shortest session key accepted, in bytes.
const MinSessionKey = 32

// sealer seals and opens cookies.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) < MinSessionKey {
		return nil, fmt.Errorf("the session key is %d bytes; it needs at least %d (e.g. openssl rand -base64 48)", len(key), MinSessionKey)
	}
	k, err := hkdf.Key(sha256.New, key, nil, "dataops web cookies v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// maxCookie bounds a cookie's value before it is opened.
const maxCookie = 3000

func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(name))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// errBadCookie: a cookie that does not open: changed, forged, or sealed
// with another key.
var errBadCookie = errors.New("the cookie is not one this server sealed")

func (s *sealer) open(name, value string, v any) error {
	if len(value) > maxCookie {
		return errBadCookie
	}
	data, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(data) < s.aead.NonceSize()+s.aead.Overhead() {
		return errBadCookie
	}
	nonce, sealed := data[:s.aead.NonceSize()], data[s.aead.NonceSize():]
	plain, err := s.aead.Open(nil, nonce, sealed, []byte(name))
	if err != nil {
		return errBadCookie
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errBadCookie
	}
	return nil
}

// session is a signed-in person.
type session struct {
	Host    string `json:"h"`
	UserID  int64  `json:"i"`
	Login   string `json:"l"`
	Token   string `json:"t"`
	Issued  int64  `json:"ia"`
	Expires int64  `json:"e"`
	// CSRF is the token every form of this session carries.
	CSRF string `json:"c"`
}

func (s *session) expired(now time.Time) bool { return now.Unix() >= s.Expires }

// validCSRF compares a form's token with the session's in constant time.
func (s *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// signIn is a sign-in in progress, between the redirect to the host and
// its callback.
type signIn struct {
	Host     string `json:"h"`
	State    string `json:"s"`
	Verifier string `json:"v"`
	Next     string `json:"n"`
	Expires  int64  `json:"e"`
}

// signInLifetime bounds the time from the redirect to the callback.
const signInLifetime = 10 * time.Minute

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setCookie writes a sealed cookie: HttpOnly, SameSite=Lax (sent when a
// person follows a link from a pull request, never with another site's
// form), Secure behind https.
func (s *Server) setCookie(w http.ResponseWriter, name string, v any, maxAge time.Duration) error {
	value, err := s.sealer.seal(name, v)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()), HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}
