package deps

import (
	"strings"
	"testing"
)

func testEnv() *renderer {
	vars := map[string]string{"DBT_ENV_SECRET_GIT_TOKEN": "s3cr3t-token", "PKG_REV": "v2.0.0"}
	return &renderer{lookup: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
}

// The first four hashes are the sha1_hash of package-lock.yml files that
// dbt-core (1.8 and later) wrote for these same packages.yml entries in
// public repositories; the others were computed with Python's PyYAML and
// json.dumps applying dbt-core's _create_sha1_hash to dbt's to_dict()
// fields, to cover floats, bools, env_var, unicode and escapes.
func TestSpecsHashMatchesDBT(t *testing.T) {
	tests := []struct {
		name, file, yaml, want string
	}{
		{"hub range", PackagesFile, `packages:
  - package: dbt-labs/dbt_utils
    version: [">=0.9.0", "<2.0.0"]
`, "106400343ad0c92a7417f5156d0d6c3893bb2429"},
		{"local", PackagesFile, `packages:
    - local: ../
`, "de2deba3d66ce03d8c02949013650cc9b94f6030"},
		{"two hubs", PackagesFile, `packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.3.0", "<2.0.0"]
  - package: metaplane/dbt_expectations
    version: ["0.10.9", "<0.11.0"]
`, "99b5dbc472f0e7c9354857bc8019f84738f6faab"},
		{"hubs and git branch", PackagesFile, `packages:
  - package: dbt-labs/dbt_utils
    version: 1.3.3
  - package: godatadriven/dbt_date
    version: 0.17.1
  - git: "https://github.com/dbt-labs/dbt-audit-helper.git"
    revision: main
`, "171c3fa545f8b4d5f61a4db225ecea560eac8932"},
		{"prerelease and name", PackagesFile, `packages:
  - package: acme/widgets
    version: 1.0.0-rc.1
    install_prerelease: true
  - package: acme/gadgets
    version: [">=0.5.0", "<1.0.0"]
    name: gadgets
`, "b17535754185fedf68c50d85dc305d61140e97a5"},
		{"git with env_var, float revision, yaml 1.1 bool", PackagesFile, `packages:
  - git: "https://{{ env_var('DBT_ENV_SECRET_GIT_TOKEN') }}@example.com/acme/private.git"
    revision: 1.0
    warn-unpinned: no
    subdirectory: pkgs/inner
  - git: https://example.com/acme/other
    revision: "{{ env_var('PKG_REV') }}"
`, "e33440b5c00b843e97c73e78e903694209cff8ef"},
		{"unicode, tarball, escapes", PackagesFile, "packages:\n  - local: \"../ünïcode pkg\"\n  - tarball: https://example.com/pkg.tar.gz\n    name: tar_pkg\n  - local: 'tab\tand \"quote\" \\ back'\n",
			"60bac24d64f695e57c27d525a70c4bc706793584"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseSpecsFile(tt.file, []byte(tt.yaml), testEnv())
			if err != nil {
				t.Fatal(err)
			}
			if got := SpecsHash(f.Specs); got != tt.want {
				t.Errorf("hash %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseSpecs(t *testing.T) {
	tests := []struct {
		name, file, yaml string
		check            func(t *testing.T, specs []Spec)
	}{
		{name: "every kind", file: PackagesFile, yaml: `
packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0", "<2.0.0"]
  - git: https://github.com/org/repo.git
    revision: v1.2.0
    subdirectory: ./pkg/
    warn-unpinned: false
  - local: ../shared
  - tarball: https://example.com/a.tgz
    name: a_pkg
`, check: func(t *testing.T, s []Spec) {
			if len(s) != 4 || s[0].Kind != KindHub || s[1].Kind != KindGit || s[2].Kind != KindLocal || s[3].Kind != KindTarball {
				t.Fatalf("kinds: %+v", s)
			}
			if len(s[0].Versions) != 2 || s[0].Versions[0].String() != ">=1.0.0" || s[0].From.Line != 3 {
				t.Errorf("hub: %+v", s[0])
			}
			if s[1].Revision != "v1.2.0" || s[1].Subdirectory != "pkg" || s[1].WarnUnpinned {
				t.Errorf("git: %+v", s[1])
			}
			if s[2].Local != "../shared" || s[3].Name != "a_pkg" {
				t.Errorf("local/tarball: %+v %+v", s[2], s[3])
			}
		}},
		{name: "numbers become dbt's strings", file: PackagesFile, yaml: "packages:\n  - git: https://x.org/r.git\n    revision: 1.10\n", check: func(t *testing.T, s []Spec) {
			if s[0].Revision != "1.1" { // str(1.10) in Python
				t.Errorf("revision %q", s[0].Revision)
			}
		}},
		{name: "single version string", file: PackagesFile, yaml: "packages:\n  - package: a/b\n    version: '>=0.1.0'\n", check: func(t *testing.T, s []Spec) {
			if len(s[0].Versions) != 1 || s[0].Versions[0].Op != ">=" {
				t.Errorf("%+v", s[0].Versions)
			}
		}},
		{name: "env_var with default", file: PackagesFile, yaml: "packages:\n  - git: \"https://{{ env_var('MISSING_ONE', 'example.com') }}/r.git\"\n", check: func(t *testing.T, s []Spec) {
			if s[0].Git != "https://example.com/r.git" || s[0].GitAsWritten != "https://{{ env_var('MISSING_ONE', 'example.com') }}/r.git" {
				t.Errorf("%q %q", s[0].Git, s[0].GitAsWritten)
			}
		}},
		{name: "dependencies.yml is not rendered", file: DependenciesFile, yaml: "packages:\n  - git: \"https://{{ env_var('PKG_REV') }}/r.git\"\nprojects:\n  - name: other\n", check: func(t *testing.T, s []Spec) {
			if s[0].Git != "https://{{ env_var('PKG_REV') }}/r.git" {
				t.Errorf("%q", s[0].Git)
			}
		}},
		{name: "anchors and merge keys", file: PackagesFile, yaml: "base: &b\n  version: [\">=1.0.0\"]\npackages:\n  - <<: *b\n    package: a/b\n", check: nil},
		{name: "empty file", file: PackagesFile, yaml: "# nothing yet\n", check: func(t *testing.T, s []Spec) {
			if len(s) != 0 {
				t.Errorf("%+v", s)
			}
		}},
		{name: "packages: null", file: PackagesFile, yaml: "packages:\n", check: func(t *testing.T, s []Spec) {
			if len(s) != 0 {
				t.Errorf("%+v", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseSpecsFile(tt.file, []byte(tt.yaml), testEnv())
			if tt.name == "anchors and merge keys" {
				// "base" is not a key packages.yml has.
				if err == nil || !strings.Contains(err.Error(), "packages.yml:1: unknown key `base`") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, f.Specs)
		})
	}
}

func TestParseSpecsErrors(t *testing.T) {
	tests := []struct {
		name, file, yaml string
		want             []string // substrings of the message, in order
	}{
		{"bad yaml", PackagesFile, "packages:\n  - package: a/b\n   version: 1.0.0\n", []string{"packages.yml:3: invalid YAML"}},
		{"tabs", PackagesFile, "packages:\n\t- package: a/b\n", []string{"packages.yml:2: invalid YAML", "spaces, not tabs"}},
		{"not a mapping", PackagesFile, "- package: a/b\n", []string{"packages.yml:1:", "`packages:` key"}},
		{"unknown top key", PackagesFile, "packges:\n  - package: a/b\n", []string{"packages.yml:1: unknown key `packges` at the top", "did you mean `packages`"}},
		{"projects in packages.yml", PackagesFile, "projects:\n  - name: x\n", []string{"unknown key `projects`"}},
		{"packages not a list", PackagesFile, "packages:\n  package: a/b\n", []string{"packages.yml:2: `packages` must be a list"}},
		{"item not a mapping", PackagesFile, "packages:\n  - dbt-labs/dbt_utils\n", []string{"packages.yml:2: each package must be a mapping"}},
		{"no source key", PackagesFile, "packages:\n  - version: 1.0.0\n", []string{"packages.yml:2: a package needs one of"}},
		{"two sources", PackagesFile, "packages:\n  - package: a/b\n    git: https://x\n", []string{"packages.yml:2: a package has both git: and package:"}},
		{"unknown key", PackagesFile, "packages:\n  - package: a/b\n    versoin: 1.0.0\n", []string{"packages.yml:3: unknown key `versoin` in a hub package", "did you mean `version`"}},
		{"hyphenated prerelease", PackagesFile, "packages:\n  - package: a/b\n    version: 1.0.0\n    install-prerelease: true\n", []string{"packages.yml:4: unknown key `install-prerelease`", "did you mean `install_prerelease`"}},
		{"hub without version", PackagesFile, "packages:\n  - package: dbt-labs/dbt_utils\n", []string{"packages.yml:2: dbt-labs/dbt_utils: `version:` is required"}},
		{"hub without namespace", PackagesFile, "packages:\n  - package: dbt_utils\n    version: 1.0.0\n", []string{"packages.yml:2: dbt_utils: not found in the package hub", "namespace"}},
		{"bad version", PackagesFile, "packages:\n  - package: a/b\n    version: 1.0\n", []string{"packages.yml:3: a/b: \"1.0\" is not a valid version"}},
		{"comma range", PackagesFile, "packages:\n  - package: a/b\n    version: \">=1.0.0, <2.0.0\"\n", []string{"packages.yml:3:", "one requirement per list item", `version: [">=1.0.0", "<2.0.0"]`}},
		{"empty version list", PackagesFile, "packages:\n  - package: a/b\n    version: []\n", []string{"packages.yml:3: a/b: `version:` is an empty list"}},
		{"empty git", PackagesFile, "packages:\n  - git: ''\n", []string{"packages.yml:2: `git:` is empty"}},
		{"git not a string", PackagesFile, "packages:\n  - git: [a]\n", []string{"packages.yml:2: `git:` must be a string"}},
		{"revision list", PackagesFile, "packages:\n  - git: https://x.org/r\n    revision: [a, b]\n", []string{"packages.yml:3:", "not a list"}},
		{"subdirectory escapes", PackagesFile, "packages:\n  - git: https://x.org/r\n    subdirectory: ../../etc\n", []string{"packages.yml:3:", "leaves the repository"}},
		{"warn-unpinned not bool", PackagesFile, "packages:\n  - git: https://x.org/r\n    warn-unpinned: sometimes\n", []string{"packages.yml:3:", "true or false"}},
		{"tarball without name", PackagesFile, "packages:\n  - tarball: https://x.org/a.tgz\n", []string{"packages.yml:2:", "needs `name:`"}},
		{"bad name", PackagesFile, "packages:\n  - local: ../x\n    name: ../../etc\n", []string{"packages.yml:3:", "not a valid package name"}},
		{"private", PackagesFile, "packages:\n  - private: org/repo\n", []string{"packages.yml:2: org/repo: private packages", "not supported"}},
		{"missing env var", PackagesFile, "packages:\n  - git: \"https://{{ env_var('NOPE_NOT_SET') }}/r.git\"\n", []string{"packages.yml:2: environment variable NOPE_NOT_SET is not set"}},
		{"other jinja", PackagesFile, "packages:\n  - git: \"https://{{ var('host') }}/r.git\"\n", []string{"packages.yml:2: unsupported Jinja", "only {{ env_var('NAME') }}"}},
		{"lock hash key only in lock", PackagesFile, "packages: []\nsha1_hash: abc\n", []string{"unknown key `sha1_hash`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSpecsFile(tt.file, []byte(tt.yaml), testEnv())
			if err == nil {
				t.Fatal("no error")
			}
			if !IsConfig(err) {
				t.Errorf("not a config error: %v", err)
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("message %q lacks %q", msg, w)
				}
				at += i + len(w)
			}
		})
	}
}

func TestSecretsMasked(t *testing.T) {
	env := testEnv()
	_, err := parseSpecsFile(PackagesFile, []byte("packages:\n  - git: \"https://{{ env_var('DBT_ENV_SECRET_GIT_TOKEN') }}@x.org/r.git\"\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.mask("fatal: could not read https://s3cr3t-token@x.org/r.git"); strings.Contains(got, "s3cr3t") {
		t.Errorf("secret shown: %s", got)
	}
}

func TestPyFloat(t *testing.T) {
	for in, want := range map[float64]string{1: "1.0", 1.1: "1.1", 0.1: "0.1", 1e16: "1e+16", 1e15: "1000000000000000.0",
		1.5e-5: "1.5e-05", 0.0001: "0.0001", -2.5: "-2.5", 123456789.125: "123456789.125", 1.2345678901234568e+17: "1.2345678901234568e+17"} {
		if got := pyFloat(in); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestYAMLScalar(t *testing.T) {
	for in, want := range map[string]string{
		"dbt_utils":                          "dbt_utils",
		"1.3.0":                              "1.3.0",
		"1.0":                                "'1.0'",
		"yes":                                "'yes'",
		"":                                   "''",
		"https://github.com/a/b.git":         "https://github.com/a/b.git",
		"https://{{ env_var('T') }}@x/r.git": "https://{{ env_var('T') }}@x/r.git",
		"0x1F":                               "'0x1F'",
		"1:30":                               "'1:30'",
		"2001-12-14":                         "'2001-12-14'",
		"~":                                  "'~'",
		"-foo":                               "-foo",
		"? x":                                "'? x'",
		"x #y":                               "'x #y'",
		"1e5":                                "1e5",
		".5":                                 "'.5'",
		"{{ x }}":                            "'{{ x }}'",
		"a: b":                               "'a: b'",
		"../":                                "../",
		"0123":                               "'0123'",
	} {
		if got := yamlScalar(in); got != want {
			t.Errorf("yamlScalar(%q) = %s, want %s", in, got, want)
		}
	}
}
