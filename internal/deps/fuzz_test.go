package deps

import (
	"strings"
	"testing"
)

// FuzzParseSpecs feeds packages files to the parser: it must never panic,
// and what it accepts must be usable (a kind, a hash, a lock).
func FuzzParseSpecs(f *testing.F) {
	for _, seed := range []string{
		"packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
		"packages:\n  - git: \"https://{{ env_var('DBT_ENV_SECRET_T') }}@github.com/a/b.git\"\n    revision: 1.0\n    subdirectory: x/y\n",
		"packages:\n  - local: ../\n  - tarball: https://x.org/a.tgz\n    name: a\n",
		"base: &b {version: 1.0.0}\npackages:\n  - <<: *b\n    package: a/b\n",
		"packages:\n- package: a/b\n  version: 1.1.1\nsha1_hash: 106400343ad0c92a7417f5156d0d6c3893bb2429\n",
		"packages: [{package: a/b, version: [0x10, .inf, ~, yes]}]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\npackages: [{package: a/b, version: [*d, *d]}]\n",
		"packages:\n  - package: a/b\n   version: 1.0.0\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{PackagesFile, DependenciesFile, LockFile} {
			env := &renderer{lookup: func(k string) (string, bool) { return "v", strings.HasPrefix(k, "D") }}
			file, err := parseSpecsFile(name, data, env)
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty error message")
				}
				continue
			}
			for _, s := range file.Specs {
				if s.Kind == "" || s.hashed == nil {
					t.Fatalf("accepted a spec without kind or hash: %+v", s)
				}
				if s.Kind == KindHub && len(s.Versions) == 0 {
					t.Fatalf("hub spec without versions: %+v", s)
				}
				if s.Kind == KindGit && s.Subdirectory != "" {
					if _, ok := cleanRelative(s.Subdirectory); !ok {
						t.Fatalf("subdirectory escapes: %q", s.Subdirectory)
					}
				}
			}
			if h := SpecsHash(file.Specs); len(h) != 40 {
				t.Fatalf("hash %q", h)
			}
		}
	})
}
