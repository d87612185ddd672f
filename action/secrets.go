package action

import (
	"io"
	"net/url"
	"sort"
	"strings"
)

// secrets are the values no output may hold: the host token, the warehouse
// DSN and its password, and the value of every DBT_ENV_SECRET_ variable
// (dbt's rule: a secret is given to dbt through such a variable, and dbt
// scrubs its value from its output). The runner masks its log, but not
// check runs, comments or annotations: dataops scrubs them all itself.
type secrets struct{ values []string }

// secretPrefix marks the variables dbt treats as secrets.
const secretPrefix = "DBT_ENV_SECRET_"

// minSecret is the shortest value scrubbed: a shorter one would blank out
// ordinary words and numbers all over the report.
const minSecret = 4

func newSecrets(environ []string) *secrets {
	s := &secrets{}
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, secretPrefix) {
			s.add(value)
		}
	}
	return s
}

// add adds a secret; it reports whether v was new.
func (s *secrets) add(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < minSecret || contains(s.values, v) {
		return false
	}
	for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
		if !contains(s.values, form) {
			s.values = append(s.values, form)
		}
	}
	// Longest first, so a password inside a DSN does not leave the rest of
	// the DSN behind.
	sort.Slice(s.values, func(i, j int) bool { return len(s.values[i]) > len(s.values[j]) })
	return true
}

func (s *secrets) scrub(text string) string {
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, "***")
	}
	return text
}

// writer scrubs each write to w. The log is written a whole line at a
// time (slog, workflow commands), so a secret is never split across two
// writes.
func (s *secrets) writer(w io.Writer) io.Writer { return scrubbingWriter{w, s} }

type scrubbingWriter struct {
	w io.Writer
	s *secrets
}

func (sw scrubbingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(sw.w, sw.s.scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// password is the password in a URL-form DSN (scheme://user:password@host).
func password(dsn string) string {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return ""
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	_, pw, _ := strings.Cut(rest[:at], ":")
	if decoded, err := url.PathUnescape(pw); err == nil {
		return decoded
	}
	return pw
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// modelEnv is env_var() for the project's models in the Action and the
// GitLab job. It follows dbt: the workflow's environment is the user's own
// and models may read it, except that secrets are given only through
// DBT_ENV_SECRET_ variables, which models may not read (dbt allows them in
// profiles.yml and packages.yml alone). The step's own credentials are
// never readable: the action's inputs (the token), the runner's tokens,
// dataops' variables and the warehouse's DSN variable, so that a pull
// request cannot print them through a model, as in
// {{ ref(env_var('INPUT_GITHUB-TOKEN')) }}.
//
// A fork's code (run once a writer approved it) is a stranger's, as in the
// bot: it reads DBT_ variables alone, since the workflow's environment may
// hold credentials its author did not name DBT_ENV_SECRET_.
func modelEnv(lookup func(string) (string, bool), dsnEnv string, fork bool) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if !modelMayRead(name, dsnEnv, fork) {
			return "", false
		}
		return lookup(name)
	}
}

func modelMayRead(name, dsnEnv string, fork bool) bool {
	upper := strings.ToUpper(name)
	if fork && !strings.HasPrefix(name, "DBT_") {
		return false
	}
	for _, prefix := range []string{secretPrefix, "INPUT_", "ACTIONS_", "DATAOPS_"} {
		if strings.HasPrefix(upper, prefix) {
			return false
		}
	}
	if upper == "GITHUB_TOKEN" || (dsnEnv != "" && upper == strings.ToUpper(dsnEnv)) {
		return false
	}
	// GitLab's job credentials: CI_JOB_TOKEN, CI_JOB_JWT, CI_REGISTRY_PASSWORD, ...
	if strings.HasPrefix(upper, "CI_") {
		for _, word := range []string{"TOKEN", "PASSWORD", "JWT"} {
			if strings.Contains(upper, word) {
				return false
			}
		}
	}
	return true
}
