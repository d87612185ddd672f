package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// DefaultEnvironmentTemplate names environments when the config has none.
const DefaultEnvironmentTemplate = "pr_{number}"

// EnvironmentName builds the schema name of a PR's environment.
//
// The template may use {number} (the PR number) and {prefix}. When the
// template has no {prefix}, prefix is prepended as is (so pass "ci_" for
// "ci_pr_12"). When it has no {number}, "_<number>" is appended: every PR
// must get its own schema. An empty template means
// DefaultEnvironmentTemplate.
//
// The result is lowercased with every character outside [a-z0-9_] replaced
// by "_": DuckDB compares identifiers case-insensitively and people type
// schema names unquoted, so a name that needs no quoting is the least
// surprising.
// A name starting with a digit gets a leading "_" for the same reason.
//
// A name longer than the dialect's limit is cut and ends with "_" and 8 hex
// digits of the SHA-256 of the full name, so two long names that differ
// only after the cut stay distinct.
func EnvironmentName(template string, pr int, prefix string, d Dialect) string {
	if template == "" {
		template = DefaultEnvironmentTemplate
	}
	num := strconv.Itoa(pr)
	name := template
	if !strings.Contains(name, "{number}") {
		name += "_{number}"
	}
	if strings.Contains(name, "{prefix}") {
		name = strings.ReplaceAll(name, "{prefix}", prefix)
	} else {
		name = prefix + name
	}
	name = sanitizeIdentifier(strings.ReplaceAll(name, "{number}", num))
	return cutIdentifier(name, d.MaxIdentifierLength())
}

func sanitizeIdentifier(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	return out
}

// cutIdentifier shortens an ASCII name to max bytes, keeping it unique by a
// hash of the full name.
func cutIdentifier(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "_" + hex.EncodeToString(sum[:4])
	return name[:max-len(suffix)] + suffix
}
