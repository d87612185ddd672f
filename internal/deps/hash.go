package deps

import (
	"crypto/sha1"
	"encoding/hex"
	"sort"
	"strings"
)

// SpecsHash is package-lock.yml's sha1_hash for the project's package
// entries, computed as dbt-core does (task/deps.py _create_sha1_hash): each
// entry's to_dict() as json.dumps(sort_keys=True), the lines sorted, joined
// by newlines, SHA-1 in hex. to_dict() holds the rendered fields with their
// defaults (None as null), "unrendered" (the entry as written) and "name"
// when given. dbt installs from the lock only while this hash matches, so a
// lock written by dbt is reused by dataops and the other way round.
func SpecsHash(specs []Spec) string {
	lines := make([]string, len(specs))
	for i, s := range specs {
		var b strings.Builder
		pyJSON(&b, s.hashed)
		lines[i] = b.String()
	}
	sort.Strings(lines)
	sum := sha1.Sum([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}
