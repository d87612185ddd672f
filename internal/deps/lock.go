package deps

import (
	"regexp"
	"sort"
	"strings"
)

// renderLock writes package-lock.yml as dbt does (yaml.dump of
// {"packages": [...], "sha1_hash": ...} with sorted keys and indented
// lists): one entry per package in resolution order, with its project name
// and what pins it (hub: the version; git: the commit; local: the path;
// tarball: the URL). Git and tarball URLs are written as they appear in
// packages.yml, so a token from env_var() stays a template.
func renderLock(pins []*pin, hash string) []byte {
	var b strings.Builder
	b.WriteString("packages:\n")
	for _, p := range pins {
		fields := map[string]string{"name": p.name}
		switch p.kind {
		case KindHub:
			fields["package"], fields["version"] = p.spec.Package, p.version
		case KindGit:
			fields["git"], fields["revision"] = p.spec.GitAsWritten, p.sha
			if p.spec.Subdirectory != "" {
				fields["subdirectory"] = p.spec.Subdirectory
			}
		case KindLocal:
			fields["local"] = p.spec.Local
		case KindTarball:
			fields["tarball"] = p.spec.TarballAsWritten
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i == 0 {
				b.WriteString("  - ")
			} else {
				b.WriteString("    ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(yamlScalar(fields[k]))
			b.WriteByte('\n')
		}
	}
	if len(pins) == 0 {
		b.Reset()
		b.WriteString("packages: []\n")
	}
	b.WriteString("sha1_hash: ")
	b.WriteString(hash)
	b.WriteByte('\n')
	return []byte(b.String())
}

var plainUnsafe = regexp.MustCompile(`^[,\[\]{}#&*!|>'"%@` + "`" + `\s]|^[-?:](\s|$)|: |\s#|\s$|^$|[\x00-\x1f\x7f]`)

// yamlScalar writes a string plain when PyYAML would, else single-quoted
// (how PyYAML quotes a string that would read back as another type or
// breaks the plain style).
func yamlScalar(s string) string {
	if !plainUnsafe.MatchString(s) && !strings.HasSuffix(s, ":") {
		if readsAsString(s) {
			return s
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
