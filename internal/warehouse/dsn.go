package warehouse

import (
	"regexp"
	"strings"
)

const masked = "***"

// secretParam matches query or key=value parameter names that carry secrets.
var secretParam = regexp.MustCompile(`(?i)(pass|token|secret|key)`)

// kvPassword matches password=... in libpq key=value DSNs, quoted or not.
var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// MaskDSN replaces the password (and any secret-looking parameter) in a DSN
// with ***, so the DSN can be shown in errors and logs. It errs on the side
// of masking too much: a DSN it cannot parse has everything between "://"
// and the last "@" of its authority masked after the first ":".
func MaskDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return kvPassword.ReplaceAllString(dsn, "${1}"+masked)
	}
	// Stop at the query, not at the first "/": an unescaped "/" in a
	// password must not end the userinfo early and leak the rest.
	authEnd := len(rest)
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		authEnd = i
	}
	head, tail := rest[:authEnd], rest[authEnd:]
	if at := strings.LastIndex(head, "@"); at >= 0 {
		userinfo := head[:at]
		if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
			head = user + ":" + masked + head[at:]
		}
	}
	return scheme + "://" + head + maskQuery(tail)
}

// maskQuery masks secret parameter values in "?a=b&c=d#frag".
func maskQuery(tail string) string {
	if !strings.HasPrefix(tail, "?") {
		return tail
	}
	q, frag, hasFrag := strings.Cut(tail[1:], "#")
	params := strings.Split(q, "&")
	for i, p := range params {
		k, _, hasVal := strings.Cut(p, "=")
		if hasVal && secretParam.MatchString(k) {
			params[i] = k + "=" + masked
		}
	}
	out := "?" + strings.Join(params, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}
