package deps_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/golden"

	"github.com/dataops-dev/dataops/internal/deps"
	"github.com/dataops-dev/dataops/internal/deps/hubtest"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// hubPackages is a small hub of our own: versions with ranges, a
// transitive requirement, prereleases, a package needing a newer dbt, a
// cycle and a moved package.
func hubPackages() []hubtest.Package {
	macro := func(s string) map[string]string { return map[string]string{"macros/m.sql": s, "README.md": "docs"} }
	return []hubtest.Package{
		{Namespace: "dbt-labs", Name: "dbt_utils", Versions: []hubtest.Version{
			{Version: "0.9.6", Files: macro("-- utils 0.9.6")},
			{Version: "1.0.0", Files: macro("-- utils 1.0.0")},
			{Version: "1.1.1", Files: macro("-- utils 1.1.1")},
			{Version: "1.3.0", Files: macro("-- utils 1.3.0")},
			{Version: "2.0.0-rc1", Files: macro("-- utils 2.0.0-rc1")},
		}},
		{Namespace: "calogica", Name: "dbt_expectations", Versions: []hubtest.Version{
			{Version: "0.5.0", Packages: []map[string]any{{"package": "calogica/dbt_date", "version": []any{">=0.4.0", "<0.5.0"}}}},
			{Version: "0.10.4", Packages: []map[string]any{{"package": "calogica/dbt_date", "version": []any{">=0.9.0", "<1.0.0"}}}},
		}},
		{Namespace: "calogica", Name: "dbt_date", Versions: []hubtest.Version{
			{Version: "0.4.1"}, {Version: "0.9.2"}, {Version: "0.9.6"}, {Version: "0.10.0"},
		}},
		{Namespace: "acme", Name: "needs_new_dbt", Versions: []hubtest.Version{
			{Version: "1.0.0"}, {Version: "1.1.0", RequireDBT: []string{">=1.12.0", "<2.0.0"}},
		}},
		{Namespace: "acme", Name: "cycle_a", Versions: []hubtest.Version{
			{Version: "1.0.0", Packages: []map[string]any{{"package": "acme/cycle_b", "version": "1.0.0"}}},
		}},
		{Namespace: "acme", Name: "cycle_b", Versions: []hubtest.Version{
			{Version: "1.0.0", Packages: []map[string]any{{"package": "acme/cycle_a", "version": ">=1.0.0"}}},
		}},
		{Namespace: "fishtown-analytics", Name: "dbt_utils", Redirect: "dbt-labs/dbt_utils", Versions: []hubtest.Version{
			{Version: "0.7.0", Name: "dbt_utils"},
		}},
	}
}

// project writes a dbt project (named "shop" unless dbt_project.yml is
// given) and returns its folder.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if _, ok := files["dbt_project.yml"]; !ok {
		files["dbt_project.yml"] = "name: shop\nversion: '1.0'\nprofile: shop\n"
	}
	writeFiles(t, dir, files)
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func installed(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	root := filepath.Join(dir, "dbt_packages")
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return out
}

func install(t *testing.T, dir string, hub *hubtest.Hub, opts deps.Options) (*deps.Result, error) {
	t.Helper()
	if hub != nil {
		opts.HubURL = hub.BaseURL()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return deps.Install(ctx, dir, opts)
}

// wantErr checks an error's message holds each part, in order, and its
// kind (config: the user's files are wrong).
func wantErr(t *testing.T, err error, config bool, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %q", parts)
	}
	msg := err.Error()
	at := 0
	for _, p := range parts {
		i := strings.Index(msg[at:], p)
		if i < 0 {
			t.Fatalf("error %q lacks %q", msg, p)
		}
		at += i + len(p)
	}
	if deps.IsConfig(err) != config {
		t.Errorf("IsConfig = %v, want %v: %v", !config, config, err)
	}
}

func TestInstallHub(t *testing.T) {
	tests := []struct {
		name     string
		packages string
		want     map[string]string // installed package -> version
		warn     string
		err      []string
		config   bool
	}{
		{name: "newest in range", packages: `
packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0", "<2.0.0"]
`, want: map[string]string{"dbt_utils": "1.3.0"}},
		{name: "exact", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n", want: map[string]string{"dbt_utils": "1.0.0"}},
		{name: "prerelease only when asked", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: '>=1.0.0'\n    install_prerelease: true\n",
			want: map[string]string{"dbt_utils": "2.0.0-rc1"}},
		{name: "prerelease named", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: ['>=2.0.0-rc1']\n",
			want: map[string]string{"dbt_utils": "2.0.0-rc1"}},
		{name: "no prerelease by default", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: '>=1.0.0'\n",
			want: map[string]string{"dbt_utils": "1.3.0"}},
		{name: "transitive", packages: "packages:\n  - package: calogica/dbt_expectations\n    version: [\">=0.10.0\", \"<0.11.0\"]\n",
			want: map[string]string{"dbt_expectations": "0.10.4", "dbt_date": "0.10.0"}},
		{name: "ranges intersect across the tree", packages: `packages:
  - package: calogica/dbt_expectations
    version: [">=0.10.0", "<0.11.0"]
  - package: calogica/dbt_date
    version: ["<0.9.5"]
`, want: map[string]string{"dbt_expectations": "0.10.4", "dbt_date": "0.9.2"}},
		{name: "conflict across the tree", packages: `packages:
  - package: calogica/dbt_date
    version: ["<0.9.0"]
  - package: calogica/dbt_expectations
    version: 0.10.4
`, err: []string{"packages.yml:2: calogica/dbt_date: the version requirements conflict:", ">=0.9.0 (required by calogica/dbt_expectations@0.10.4)", "<0.9.0 (packages.yml:3)"}, config: true},
		{name: "no version in range", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: ['>=3.0.0']\n",
			err: []string{"packages.yml:2: dbt-labs/dbt_utils: no version matches >=3.0.0, asked for as >=3.0.0 (packages.yml:3)", "available: 0.9.6, 1.0.0, 1.1.1, 1.3.0; change the version range"}, config: true},
		{name: "newest needs a newer dbt", packages: "packages:\n  - package: acme/needs_new_dbt\n    version: '>=1.0.0'\n",
			want: map[string]string{"needs_new_dbt": "1.0.0"}},
		{name: "not on the hub", packages: "packages:\n  - package: dbt-labs/dbt-utils\n    version: 1.0.0\n",
			err: []string{"packages.yml:2: dbt-labs/dbt-utils: not found in the package hub", "did you mean dbt-labs/dbt_utils?"}, config: true},
		{name: "cycle ends", packages: "packages:\n  - package: acme/cycle_a\n    version: 1.0.0\n",
			want: map[string]string{"cycle_a": "1.0.0", "cycle_b": "1.0.0"}},
		{name: "moved package warns", packages: "packages:\n  - package: fishtown-analytics/dbt_utils\n    version: 0.7.0\n",
			want: map[string]string{"dbt_utils": "0.7.0"}, warn: "fishtown-analytics/dbt_utils has moved to dbt-labs/dbt_utils"},
		{name: "same project twice", packages: "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n  - package: fishtown-analytics/dbt_utils\n    version: 0.7.0\n",
			err: []string{"packages.yml:4: fishtown-analytics/dbt_utils@0.7.0: installs as \"dbt_utils\", as does dbt-labs/dbt_utils@1.0.0 (packages.yml:2)"}, config: true},
	}
	hub := hubtest.New(t, hubPackages()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := project(t, map[string]string{"packages.yml": tt.packages})
			res, err := install(t, dir, hub, deps.Options{})
			if tt.err != nil {
				wantErr(t, err, tt.config, tt.err...)
				if _, serr := os.Stat(filepath.Join(dir, "dbt_packages")); serr == nil {
					t.Error("dbt_packages was made despite the error")
				}
				if _, serr := os.Stat(filepath.Join(dir, "package-lock.yml")); serr == nil {
					t.Error("package-lock.yml was written despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, p := range res.Packages {
				got[p.Name] = p.Version
				// The tarball's own dbt_project.yml says which version it is.
				if !strings.Contains(read(t, filepath.Join(dir, "dbt_packages", p.Name, "dbt_project.yml")), p.Version) {
					t.Errorf("%s: installed files are not version %s", p.Name, p.Version)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("installed %v, want %v", got, tt.want)
			}
			for name, v := range tt.want {
				if got[name] != v {
					t.Errorf("%s = %s, want %s", name, got[name], v)
				}
			}
			if tt.warn != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tt.warn) {
				t.Errorf("warnings %q lack %q", res.Warnings, tt.warn)
			}
		})
	}
}

func TestHubUnreachable(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n"})
	hub.Fail(2) // retried
	if _, err := install(t, dir, hub, deps.Options{}); err != nil {
		t.Fatalf("a hub failing twice should be retried: %v", err)
	}
	dir2 := project(t, map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n"})
	_, err := deps.Install(context.Background(), dir2, deps.Options{HubURL: "http://127.0.0.1:1/"})
	wantErr(t, err, false, "cannot reach the dbt package hub at http://127.0.0.1:1/", "DBT_PACKAGE_HUB_URL")
}

func TestHubURLFromEnvironment(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	t.Setenv("DBT_PACKAGE_HUB_URL", strings.TrimSuffix(hub.BaseURL(), "/")) // dbt's users may leave the slash off
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n"})
	if _, err := deps.Install(context.Background(), dir, deps.Options{}); err != nil {
		t.Fatal(err)
	}
	if len(hub.Requests()) == 0 {
		t.Error("the hub of DBT_PACKAGE_HUB_URL was not asked")
	}
}

func TestLockRoundTrip(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{"packages.yml": `packages:
  - package: calogica/dbt_expectations
    version: [">=0.10.0", "<0.11.0"]
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0", "<2.0.0"]
`})
	res, err := install(t, dir, hub, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.FromLock || !res.LockWritten {
		t.Fatalf("first run: FromLock %v LockWritten %v", res.FromLock, res.LockWritten)
	}
	lock := read(t, filepath.Join(dir, "package-lock.yml"))
	golden.Check(t, "lock_hub.yml", []byte(lock))

	// A new release on the hub: the lock keeps the installed versions.
	pkgs := hubPackages()
	pkgs[0].Versions = append(pkgs[0].Versions, hubtest.Version{Version: "1.4.0"})
	hub.Add(pkgs[0])
	os.RemoveAll(filepath.Join(dir, "dbt_packages"))
	res, err = install(t, dir, hub, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromLock || res.LockWritten || read(t, filepath.Join(dir, "package-lock.yml")) != lock {
		t.Fatalf("second run should install from the lock: FromLock %v LockWritten %v", res.FromLock, res.LockWritten)
	}
	if v := version(res, "dbt_utils"); v != "1.3.0" {
		t.Errorf("from the lock: dbt_utils %s, want 1.3.0", v)
	}
	if res.Packages[1].Latest != "1.4.0" {
		t.Errorf("latest = %q, want the new release named", res.Packages[1].Latest)
	}

	// --upgrade resolves again.
	res, err = install(t, dir, hub, deps.Options{Upgrade: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.FromLock || !res.LockWritten || version(res, "dbt_utils") != "1.4.0" {
		t.Fatalf("upgrade: FromLock %v LockWritten %v dbt_utils %s", res.FromLock, res.LockWritten, version(res, "dbt_utils"))
	}
	if !strings.Contains(read(t, filepath.Join(dir, "package-lock.yml")), "version: 1.4.0") {
		t.Error("upgrade did not write the new version to the lock")
	}

	// A changed packages.yml no longer matches the lock's hash.
	writeFiles(t, dir, map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n"})
	res, err = install(t, dir, hub, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.FromLock || len(res.Packages) != 1 || version(res, "dbt_utils") != "1.0.0" {
		t.Fatalf("changed packages.yml: %+v", res)
	}
	if got := installed(t, dir); got["dbt_expectations/dbt_project.yml"] {
		t.Error("a package no longer required is still installed")
	}
}

func version(res *deps.Result, name string) string {
	for _, p := range res.Packages {
		if p.Name == name {
			return p.Version
		}
	}
	return ""
}

// A lock written by dbt (its format, its hash) is installed as it is.
func TestInstallFromDBTLock(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{
		"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=0.9.0\", \"<2.0.0\"]\n",
		// dbt-core 1.7 wrote no names and did not indent lists; the hash
		// is dbt's for the packages.yml above.
		"package-lock.yml": "packages:\n- package: dbt-labs/dbt_utils\n  version: 1.1.1\nsha1_hash: 106400343ad0c92a7417f5156d0d6c3893bb2429\n",
	})
	res, err := install(t, dir, hub, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromLock || version(res, "dbt_utils") != "1.1.1" || res.LockWritten {
		t.Fatalf("FromLock %v version %s LockWritten %v", res.FromLock, version(res, "dbt_utils"), res.LockWritten)
	}
}

func TestLockOnly(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n"})
	res, err := install(t, dir, hub, deps.Options{LockOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.LockWritten || len(res.Packages) != 1 {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "dbt_packages")); err == nil {
		t.Error("--lock installed packages")
	}
	for _, req := range hub.Requests() {
		if strings.HasPrefix(req, "/tarballs/") {
			t.Errorf("--lock downloaded %s", req)
		}
	}
	// Again: the lock matches, so nothing is asked of the hub.
	asked := len(hub.Requests())
	res, err = install(t, dir, hub, deps.Options{LockOnly: true})
	if err != nil || !res.FromLock || res.LockWritten || len(res.Packages) != 1 || res.Packages[0].Version != "1.0.0" {
		t.Fatalf("%+v %v", res, err)
	}
	if len(hub.Requests()) != asked {
		t.Errorf("--lock with a matching lock asked the hub: %v", hub.Requests()[asked:])
	}
}

func TestBadLock(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{
		"packages.yml":     "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n",
		"package-lock.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    versoin: 1.0.0\nsha1_hash: x\n",
	})
	_, err := install(t, dir, hub, deps.Options{})
	wantErr(t, err, true, "package-lock.yml:3: unknown key `versoin`")
	// --upgrade does not read the old lock.
	if _, err := install(t, dir, hub, deps.Options{Upgrade: true}); err != nil {
		t.Fatal(err)
	}
}

// gitRepos makes a package repository: v1.0.0 tagged, then a commit on
// main, a branch "feature" with a second package in sub/pkg, and returns
// the work tree, a bare clone and the commits.
func gitRepos(t *testing.T) (work, bare string, commits map[string]string) {
	t.Helper()
	root := t.TempDir()
	work = filepath.Join(root, "work")
	os.MkdirAll(work, 0o755)
	projecttest.Git(t, work, "init", "-q", "-b", "main")
	commits = map[string]string{}
	writeFiles(t, work, map[string]string{
		"dbt_project.yml":                   "name: gitpkg\nversion: '1.0.0'\n",
		"macros/m.sql":                      "-- gitpkg v1",
		".gitattributes":                    "integration_tests export-ignore\n",
		"integration_tests/dbt_project.yml": "name: gitpkg_tests\n",
	})
	commits["v1"] = projecttest.Commit(t, work, "v1")
	projecttest.Git(t, work, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
	writeFiles(t, work, map[string]string{"macros/m.sql": "-- gitpkg main"})
	commits["main"] = projecttest.Commit(t, work, "main")
	projecttest.Git(t, work, "checkout", "-q", "-b", "feature")
	writeFiles(t, work, map[string]string{
		"sub/pkg/dbt_project.yml": "name: subpkg\n",
		"sub/pkg/macros/s.sql":    "-- subpkg",
		"sub/pkg/packages.yml":    "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<1.2.0\"]\n",
	})
	commits["feature"] = projecttest.Commit(t, work, "feature")
	projecttest.Git(t, work, "checkout", "-q", "main")
	bare = filepath.Join(root, "gitpkg.git")
	projecttest.Git(t, root, "clone", "-q", "--bare", work, bare)
	return work, bare, commits
}

func TestInstallGit(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	_, bare, commits := gitRepos(t)
	fileURL := "file://" + bare
	tests := []struct {
		name, packages string
		pkg            string // folder under dbt_packages
		commit         string
		files          map[string]string
		warn           string
		err            []string
		config         bool
	}{
		{name: "tag, bare path", packages: "packages:\n  - git: " + bare + "\n    revision: v1.0.0\n",
			pkg: "gitpkg", commit: commits["v1"], files: map[string]string{"macros/m.sql": "-- gitpkg v1", "integration_tests/dbt_project.yml": "name: gitpkg_tests\n"}},
		{name: "branch, file URL", packages: "packages:\n  - git: " + fileURL + "\n    revision: main\n",
			pkg: "gitpkg", commit: commits["main"], files: map[string]string{"macros/m.sql": "-- gitpkg main"}, warn: "is not pinned (revision main)"},
		{name: "default branch", packages: "packages:\n  - git: " + fileURL + "\n",
			pkg: "gitpkg", commit: commits["main"], warn: "is not pinned (revision HEAD)"},
		{name: "unpinned allowed", packages: "packages:\n  - git: " + fileURL + "\n    warn-unpinned: false\n",
			pkg: "gitpkg", commit: commits["main"]},
		{name: "full sha", packages: "packages:\n  - git: " + fileURL + "\n    revision: " + commits["v1"] + "\n",
			pkg: "gitpkg", commit: commits["v1"], files: map[string]string{"macros/m.sql": "-- gitpkg v1"}},
		{name: "short sha", packages: "packages:\n  - git: " + fileURL + "\n    revision: " + commits["v1"][:9] + "\n",
			pkg: "gitpkg", commit: commits["v1"], files: map[string]string{"macros/m.sql": "-- gitpkg v1"}},
		{name: "subdirectory at a branch, with its own hub requirement", packages: "packages:\n  - git: " + fileURL + "\n    revision: feature\n    subdirectory: sub/pkg\n",
			pkg: "subpkg", commit: commits["feature"], files: map[string]string{"macros/s.sql": "-- subpkg"}},
		{name: "revision does not exist", packages: "packages:\n  - git: " + fileURL + "\n    revision: v1.0.1\n",
			err: []string{"packages.yml:2: " + fileURL + `: revision "v1.0.1" is not a tag, branch or commit of the repository`, "did you mean v1.0.0?", "the repository has: feature, main, v1.0.0"}, config: true},
		{name: "commit does not exist", packages: "packages:\n  - git: " + fileURL + "\n    revision: 0123456789abcdef0123456789abcdef01234567\n",
			err: []string{"packages.yml:2:", "commit 0123456789abcdef0123456789abcdef01234567 does not exist"}, config: true},
		{name: "subdirectory does not exist", packages: "packages:\n  - git: " + fileURL + "\n    revision: v1.0.0\n    subdirectory: nope\n",
			err: []string{"packages.yml:2:", "subdirectory nope is not a folder in commit"}, config: true},
		{name: "unreachable", packages: "packages:\n  - git: file:///nonexistent/repo.git\n    revision: v1\n",
			err: []string{"packages.yml:2: file:///nonexistent/repo.git: cannot fetch from the git repository:", "check the URL at packages.yml:2"}},
		{name: "option injection", packages: "packages:\n  - git: --upload-pack=touch /tmp/pwned\n",
			err: []string{"packages.yml:2:", "cannot start with '-'"}, config: true},
		{name: "not a dbt package", packages: "packages:\n  - git: " + fileURL + "\n    revision: feature\n    subdirectory: sub\n",
			err: []string{"is not a dbt package: it has no dbt_project.yml", "set `subdirectory:`"}, config: true},
		{name: "two revisions", packages: "packages:\n  - git: " + fileURL + "\n    revision: main\n  - git: " + strings.TrimSuffix(fileURL, ".git") + "\n    revision: v1.0.0\n",
			err: []string{"more than one revision is required: main (packages.yml:2) and v1.0.0 (packages.yml:4)"}, config: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := project(t, map[string]string{"packages.yml": tt.packages})
			res, err := install(t, dir, hub, deps.Options{})
			if tt.err != nil {
				wantErr(t, err, tt.config, tt.err...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got *deps.Installed
			for i := range res.Packages {
				if res.Packages[i].Name == tt.pkg {
					got = &res.Packages[i]
				}
			}
			if got == nil || got.Version != tt.commit {
				t.Fatalf("packages %+v, want %s at %s", res.Packages, tt.pkg, tt.commit)
			}
			for name, content := range tt.files {
				if c := read(t, filepath.Join(dir, "dbt_packages", tt.pkg, name)); c != content {
					t.Errorf("%s = %q, want %q", name, c, content)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "dbt_packages", tt.pkg, ".git")); err == nil {
				t.Error("a .git folder was installed")
			}
			if !strings.Contains(read(t, filepath.Join(dir, "package-lock.yml")), "revision: "+tt.commit) {
				t.Error("the lock does not pin the commit")
			}
			warnings := strings.Join(res.Warnings, "\n")
			if tt.warn != "" && !strings.Contains(warnings, tt.warn) {
				t.Errorf("warnings %q lack %q", warnings, tt.warn)
			}
			if tt.warn == "" && warnings != "" {
				t.Errorf("unexpected warnings: %s", warnings)
			}
		})
	}
}

// A branch that moves: the lock keeps the commit it was installed at.
func TestGitLockPinsCommit(t *testing.T) {
	work, bare, commits := gitRepos(t)
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - git: file://" + bare + "\n    revision: main\n    warn-unpinned: false\n"})
	if _, err := install(t, dir, nil, deps.Options{}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, work, map[string]string{"macros/m.sql": "-- gitpkg moved on"})
	projecttest.Commit(t, work, "later")
	projecttest.Git(t, work, "push", "-q", bare, "main")
	os.RemoveAll(filepath.Join(dir, "dbt_packages"))
	res, err := install(t, dir, nil, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromLock || res.Packages[0].Version != commits["main"] || read(t, filepath.Join(dir, "dbt_packages/gitpkg/macros/m.sql")) != "-- gitpkg main" {
		t.Fatalf("from lock %v at %s", res.FromLock, res.Packages[0].Version)
	}
}

func TestInstallLocal(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	root := t.TempDir()
	// A package repository whose integration_tests project installs the
	// package itself with `local: ../`, as dbt packages do.
	writeFiles(t, filepath.Join(root, "mypkg"), map[string]string{
		"dbt_project.yml":                   "name: mypkg\n",
		"macros/m.sql":                      "-- mypkg",
		"packages.yml":                      "packages:\n  - local: ../helper\n",
		"target/run.sql":                    "-- build output",
		"integration_tests/dbt_project.yml": "name: mypkg_tests\n",
		"integration_tests/packages.yml":    "packages:\n  - local: ../\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n",
		"integration_tests/models/a.sql":    "select 1",
	})
	// A transitive local path is relative to the root project, as in dbt.
	writeFiles(t, filepath.Join(root, "mypkg", "helper"), map[string]string{"dbt_project.yml": "name: helper\n", "macros/h.sql": "-- helper"})
	dir := filepath.Join(root, "mypkg", "integration_tests")
	res, err := install(t, dir, hub, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := installed(t, dir)
	for _, want := range []string{"mypkg/macros/m.sql", "mypkg/dbt_project.yml", "dbt_utils/macros/m.sql", "helper/macros/h.sql"} {
		if !got[want] {
			t.Errorf("%s not installed; have %v", want, got)
		}
	}
	for f := range got {
		if strings.HasPrefix(f, "mypkg/integration_tests") || strings.HasPrefix(f, "mypkg/target") {
			t.Errorf("copied %s", f)
		}
	}
	lock := read(t, filepath.Join(dir, "package-lock.yml"))
	for _, want := range []string{"  - local: ../\n    name: mypkg\n", "  - local: ../helper\n    name: helper\n"} {
		if !strings.Contains(lock, want) {
			t.Errorf("lock lacks %q:\n%s", want, lock)
		}
	}
	if len(res.Packages) != 3 {
		t.Errorf("packages: %+v", res.Packages)
	}

	t.Run("missing folder", func(t *testing.T) {
		d := project(t, map[string]string{"packages.yml": "packages:\n  - local: ../nope\n"})
		_, err := install(t, d, hub, deps.Options{})
		wantErr(t, err, true, "packages.yml:2: ../nope: no such folder")
	})
	t.Run("named like the project", func(t *testing.T) {
		d := project(t, map[string]string{"packages.yml": "packages:\n  - local: pkgs/self\n", "pkgs/self/dbt_project.yml": "name: shop\n"})
		_, err := install(t, d, hub, deps.Options{})
		wantErr(t, err, true, "packages.yml:2: pkgs/self: its project name \"shop\" is the name of this project")
	})
	t.Run("both packages files", func(t *testing.T) {
		d := project(t, map[string]string{"packages.yml": "packages:\n  - local: a\n", "dependencies.yml": "packages:\n  - local: b\n"})
		_, err := install(t, d, hub, deps.Options{})
		wantErr(t, err, true, "dependencies.yml: `packages` is in both packages.yml and dependencies.yml")
	})
	t.Run("dependencies.yml", func(t *testing.T) {
		d := project(t, map[string]string{"dependencies.yml": "packages:\n  - local: pkgs/p\nprojects:\n  - name: upstream\n", "pkgs/p/dbt_project.yml": "name: p\n"})
		res, err := install(t, d, hub, deps.Options{})
		if err != nil || len(res.Packages) != 1 || res.Packages[0].Name != "p" {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

func TestTarballPackage(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - tarball: " + hub.URL + "/tarballs/dbt-labs/dbt_utils/1.1.1.tar.gz\n    name: utils_from_tarball\n"})
	res, err := install(t, dir, hub, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Packages[0].Name != "utils_from_tarball" || read(t, filepath.Join(dir, "dbt_packages/utils_from_tarball/macros/m.sql")) != "-- utils 1.1.1" {
		t.Fatalf("%+v", res.Packages)
	}
	t.Run("not found", func(t *testing.T) {
		d := project(t, map[string]string{"packages.yml": "packages:\n  - tarball: " + hub.URL + "/tarballs/none/none/1.tar.gz\n    name: x\n"})
		_, err := install(t, d, hub, deps.Options{})
		wantErr(t, err, false, "packages.yml:2:", "answered 404 Not Found")
	})
}

// A failure leaves dbt_packages/ and package-lock.yml as they were, and no
// temporary folder behind.
func TestFailureKeepsPreviousInstall(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	_, bare, _ := gitRepos(t)
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n"})
	if _, err := install(t, dir, hub, deps.Options{}); err != nil {
		t.Fatal(err)
	}
	before := installed(t, dir)
	lock := read(t, filepath.Join(dir, "package-lock.yml"))
	failures := map[string]string{
		"bad revision":    "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n  - git: file://" + bare + "\n    revision: nope\n",
		"hub fails later": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n  - package: calogica/dbt_date\n    version: 0.9.2\n",
		"too big":         "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n",
	}
	for name, packages := range failures {
		t.Run(name, func(t *testing.T) {
			writeFiles(t, dir, map[string]string{"packages.yml": packages})
			opts := deps.Options{}
			switch name {
			case "hub fails later":
				// The second package's tarball cannot be downloaded.
				pkgs := hubPackages()
				pkgs[2].Versions[1].Tarball = []byte("not a tarball")
				hub.Add(pkgs[2])
				defer hub.Add(hubPackages()[2])
			case "too big":
				opts.Limits = deps.Limits{PackageFiles: 1}
			}
			_, err := install(t, dir, hub, opts)
			if err == nil {
				t.Fatal("no error")
			}
			after := installed(t, dir)
			if len(after) != len(before) || !after["dbt_utils/macros/m.sql"] || read(t, filepath.Join(dir, "dbt_packages/dbt_utils/macros/m.sql")) != "-- utils 1.0.0" {
				t.Errorf("dbt_packages changed: %v", after)
			}
			if read(t, filepath.Join(dir, "package-lock.yml")) != lock {
				t.Error("package-lock.yml changed")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left behind %s", e.Name())
				}
			}
		})
	}
}

func TestUntrusted(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	_, bare, _ := gitRepos(t)
	outside := filepath.Join(t.TempDir(), "outside")
	writeFiles(t, outside, map[string]string{"dbt_project.yml": "name: outside\n"})
	tests := []struct {
		name string
		file map[string]string
		err  []string
	}{
		{"file URL", map[string]string{"packages.yml": "packages:\n  - git: file://" + bare + "\n"}, []string{"only https:// and git:// URLs"}},
		{"path", map[string]string{"packages.yml": "packages:\n  - git: " + bare + "\n"}, []string{"only https:// and git:// URLs"}},
		{"ssh", map[string]string{"packages.yml": "packages:\n  - git: git@github.com:org/repo.git\n"}, []string{"only https:// and git:// URLs"}},
		{"loopback", map[string]string{"packages.yml": "packages:\n  - git: https://127.0.0.1/org/repo.git\n"}, []string{"127.0.0.1 is not a public host"}},
		{"metadata address", map[string]string{"packages.yml": "packages:\n  - git: https://169.254.169.254/latest\n"}, []string{"not a public host"}},
		{"localhost", map[string]string{"packages.yml": "packages:\n  - git: git://localhost/repo\n"}, []string{"localhost is not a public host"}},
		{"local outside", map[string]string{"packages.yml": "packages:\n  - local: " + outside + "\n"}, []string{"is outside the project"}},
		{"local escaping", map[string]string{"packages.yml": "packages:\n  - local: ../../../../etc\n"}, []string{"is outside the project"}},
		{"tarball on a private address", map[string]string{"packages.yml": "packages:\n  - tarball: https://" + strings.TrimPrefix(hub.URL, "http://") + "/x.tgz\n    name: x\n"}, []string{"not a public address"}},
		{"tarball over http", map[string]string{"packages.yml": "packages:\n  - tarball: " + hub.URL + "/x.tgz\n    name: x\n"}, []string{"must be an https URL"}},
		{"install path outside", map[string]string{"dbt_project.yml": "name: shop\npackages-install-path: /tmp/elsewhere\n", "packages.yml": "packages:\n  - local: a\n"}, []string{"packages-install-path \"/tmp/elsewhere\" is not a folder inside the project"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := project(t, tt.file)
			_, err := install(t, dir, hub, deps.Options{Untrusted: true})
			if err == nil {
				t.Fatal("no error")
			}
			wantErr(t, err, deps.IsConfig(err), tt.err...)
		})
	}
	t.Run("local inside", func(t *testing.T) {
		dir := project(t, map[string]string{"packages.yml": "packages:\n  - local: pkgs/inner\n", "pkgs/inner/dbt_project.yml": "name: inner\n"})
		if _, err := install(t, dir, hub, deps.Options{Untrusted: true}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLimits(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: calogica/dbt_expectations\n    version: 0.10.4\n"})
	_, err := install(t, dir, hub, deps.Options{Limits: deps.Limits{Packages: 1}})
	wantErr(t, err, true, "more than 1 packages in the dependency tree")
}

func TestProgressAndNothing(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: calogica/dbt_expectations\n    version: 0.10.4\n"})
	var lines []string
	_, err := install(t, dir, hub, deps.Options{Progress: func(p deps.Installed) { lines = append(lines, p.Name+" "+p.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dbt_expectations calogica/dbt_expectations 0.10.4", "dbt_date calogica/dbt_date 0.10.0"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	empty := project(t, map[string]string{})
	res, err := install(t, empty, hub, deps.Options{})
	if err != nil || !res.Nothing {
		t.Fatalf("no packages.yml: %+v %v", res, err)
	}
	if need, err := deps.Needed(empty); need || err != nil {
		t.Errorf("Needed without packages = %v, %v", need, err)
	}
	if need, err := deps.Needed(dir); need || err != nil {
		t.Errorf("Needed once installed = %v, %v", need, err)
	}
	os.RemoveAll(filepath.Join(dir, "dbt_packages"))
	if need, err := deps.Needed(dir); !need || err != nil {
		t.Errorf("Needed without dbt_packages = %v, %v", need, err)
	}
	res, err = deps.Ensure(context.Background(), dir, deps.Options{HubURL: hub.BaseURL()})
	if err != nil || res == nil || len(res.Packages) != 2 {
		t.Fatalf("Ensure: %+v %v", res, err)
	}
	if res, err := deps.Ensure(context.Background(), dir, deps.Options{HubURL: hub.BaseURL()}); res != nil || err != nil {
		t.Errorf("Ensure with packages installed did something: %+v %v", res, err)
	}
}

func TestNoProject(t *testing.T) {
	_, err := deps.Install(context.Background(), t.TempDir(), deps.Options{})
	wantErr(t, err, true, "no dbt_project.yml in", "pass --project")
}

// golden compares with testdata/<name>, rewritten with -update.

func TestNeededDoesNotJudge(t *testing.T) {
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - git: \"https://{{ env_var('DBT_ENV_SECRET_UNSET') }}@example.com/r.git\"\n"})
	if need, err := deps.Needed(dir); !need || err != nil {
		t.Errorf("Needed = %v, %v; want true (Install reports the missing variable)", need, err)
	}
	empty := project(t, map[string]string{"packages.yml": "packages: []\n", "dependencies.yml": "projects:\n  - name: upstream\n"})
	if need, err := deps.Needed(empty); need || err != nil {
		t.Errorf("Needed with no packages = %v, %v", need, err)
	}
}

func TestHubPasswordNotShown(t *testing.T) {
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n"})
	_, err := deps.Install(context.Background(), dir, deps.Options{HubURL: "http://mirror:hunter22@127.0.0.1:1/"})
	wantErr(t, err, false, "cannot reach the dbt package hub at http://127.0.0.1:1/")
	if strings.Contains(err.Error(), "hunter22") {
		t.Errorf("the password is shown: %v", err)
	}
}

// A pull request's git URL is fetched without this machine's git
// configuration: an insteadOf rewrite (like a credential helper) applies to
// the user's own `dataops deps`, not to untrusted input.
func TestUntrustedIgnoresGitConfig(t *testing.T) {
	_, bare, commits := gitRepos(t)
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	os.WriteFile(cfg, []byte("[url \""+bare+"\"]\n\tinsteadOf = https://git.example.com/org/gitpkg.git\n"), 0o644)
	t.Setenv("GIT_CONFIG_GLOBAL", cfg)
	packages := map[string]string{"packages.yml": "packages:\n  - git: https://git.example.com/org/gitpkg.git\n    revision: v1.0.0\n"}
	res, err := install(t, project(t, packages), nil, deps.Options{})
	if err != nil || res.Packages[0].Version != commits["v1"] {
		t.Fatalf("trusted: %+v %v", res, err)
	}
	_, err = install(t, project(t, packages), nil, deps.Options{Untrusted: true})
	wantErr(t, err, false, "cannot fetch from the git repository")
}

// A repository larger than the download limit is refused, however quick.
func TestGitDownloadLimit(t *testing.T) {
	work := t.TempDir()
	projecttest.Git(t, work, "init", "-q", "-b", "main")
	big := make([]byte, 3<<20)
	x := uint64(88172645463325252)
	for i := range big { // xorshift: bytes zlib cannot shrink
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		big[i] = byte(x)
	}
	writeFiles(t, work, map[string]string{"dbt_project.yml": "name: big\n", "seeds/big.csv": string(big)})
	projecttest.Commit(t, work, "big")
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - git: file://" + work + "\n    revision: main\n"})
	_, err := install(t, dir, nil, deps.Options{Limits: deps.Limits{DownloadBytes: 1 << 20}})
	wantErr(t, err, false, "packages.yml:2: file://"+work+": the repository is larger than 1 MB")
}

func TestDownloadLimit(t *testing.T) {
	big := map[string]string{}
	for i := 0; i < 50; i++ {
		big[fmt.Sprintf("seeds/s%02d.csv", i)] = fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(i))))
	}
	hub := hubtest.New(t, hubtest.Package{Namespace: "acme", Name: "big", Versions: []hubtest.Version{{Version: "1.0.0", Files: big}}})
	dir := project(t, map[string]string{"packages.yml": "packages:\n  - package: acme/big\n    version: 1.0.0\n"})
	_, err := install(t, dir, hub, deps.Options{Limits: deps.Limits{DownloadBytes: 1024}})
	wantErr(t, err, false, "acme/big@1.0.0: the download is larger than 1 KB")
}
