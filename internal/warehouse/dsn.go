package warehouse

import (
	"regexp"
	"strings"
)

const masked = "***"

// secretParam matches query or key=value parameter names that carry secrets.
var secretParam = regexp.MustCompile(`(?i)(pass|pwd|token|secret|key|auth|credential)`)

var (
	urlScheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)
	keyValueStart = regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*\s*=`)
)

// MaskDSN replaces the password (and any secret-looking parameter) in a DSN
// with ***, so the DSN can be shown in errors and logs. It reads DSNs as
// people write them, not only as they should: a password may hold raw #,
// ?, @, / or % (a URL parser would stop at the first # or ? and leave the
// rest of the password in the output), and key=value DSNs may quote or
// escape their values. Where a DSN can be read two ways, it masks the
// larger part.
func MaskDSN(dsn string) string {
	switch {
	case urlScheme.MatchString(dsn):
		scheme, rest, _ := strings.Cut(dsn, "://")
		return scheme + "://" + maskURLRest(rest)
	case keyValueStart.MatchString(dsn):
		return maskKeyValue(dsn)
	}
	return maskURLRest(dsn) // user:password@host/db without a scheme
}

// maskURLRest masks what follows "scheme://": [userinfo@]host/path?query.
//
// The userinfo ends at the '@' before the host. A raw password may hold '@'
// and anything else, so that is the last '@' of all; the password is
// whatever lies between the first ':' and it. A '@' in the path or query
// moves the cut further right, which masks more than the password (the
// host with it), never less.
func maskURLRest(rest string) string {
	at := strings.LastIndexByte(rest, '@')
	head, tail := "", rest
	if at >= 0 {
		head, tail = rest[:at+1], rest[at+1:]
		if user, _, hasPass := strings.Cut(head[:at], ":"); hasPass {
			head = user + ":" + masked + "@"
		}
	}
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		tail = tail[:q+1] + maskQuery(tail[q+1:])
	}
	return head + tail
}

// maskQuery masks secret parameters of "a=b&c=d". A secret value runs to
// the next '&' or the end, a '#' included: a raw '#' in a password must
// not end it early.
func maskQuery(q string) string {
	params := strings.Split(q, "&")
	for i, p := range params {
		k, _, hasVal := strings.Cut(p, "=")
		if hasVal && secretParam.MatchString(k) {
			params[i] = k + "=" + masked
		}
	}
	return strings.Join(params, "&")
}

// maskKeyValue masks libpq-style "key=value key='quoted value'" DSNs: a
// value is single-quoted (\' and \\ escaped) or runs to the next
// unescaped space. Secret values are replaced whole; an unterminated quote
// masks everything after it.
func maskKeyValue(dsn string) string {
	var b strings.Builder
	i := 0
	for i < len(dsn) {
		// Copy up to and including the next '=', with the key before it.
		eq := strings.IndexByte(dsn[i:], '=')
		if eq < 0 {
			b.WriteString(dsn[i:])
			break
		}
		key := strings.TrimSpace(dsn[i : i+eq])
		if sp := strings.LastIndexAny(key, " \t\r\n"); sp >= 0 {
			key = key[sp+1:]
		}
		b.WriteString(dsn[i : i+eq+1])
		i += eq + 1
		// Spaces after '=' belong to the separator.
		spaced := i
		for i < len(dsn) && isSpace(dsn[i]) {
			b.WriteByte(dsn[i])
			i++
		}
		// "host= password=x" is host "password=x" to libpq, but surely
		// meant an empty host and a password: read it that way, which
		// masks the password.
		if i > spaced && keyValueStart.MatchString(dsn[i:]) {
			continue
		}
		end, closed := valueEnd(dsn, i)
		if secretParam.MatchString(key) {
			b.WriteString(masked)
			if !closed {
				break
			}
		} else {
			b.WriteString(dsn[i:end])
		}
		i = end
	}
	return b.String()
}

// valueEnd finds where the value starting at i ends; closed is false for
// an unterminated quote, which runs to the end.
func valueEnd(s string, i int) (end int, closed bool) {
	if i < len(s) && s[i] == '\'' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '\'':
				return j + 1, true
			}
		}
		return len(s), false
	}
	for j := i; j < len(s); j++ {
		switch {
		case s[j] == '\\':
			j++
		case isSpace(s[j]):
			return j, true
		}
	}
	return len(s), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
