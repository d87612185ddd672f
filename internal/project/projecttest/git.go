package projecttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Git runs git in dir, as a test author with a fixed identity, and returns
// its output; a failure ends the test.
func Git(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v %s", args, err, stderr.String())
	}
	return out
}

// Commit commits everything in dir (a repository is made on the first
// call) and returns the commit's sha.
func Commit(t testing.TB, dir, msg string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		Git(t, dir, "init", "-q")
	}
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "-m", msg)
	return strings.TrimSpace(string(Git(t, dir, "rev-parse", "HEAD")))
}

// TestMerge makes the merge commit a code host makes to test a pull
// request (GitHub's refs/pull/N/merge, GitLab's merge ref): head merged
// into base, first parent base, without touching the work tree or a
// branch; ref is pointed at it. A conflict ends the test.
func TestMerge(t testing.TB, dir, base, head, ref string) string {
	t.Helper()
	out := Git(t, dir, "merge-tree", "--write-tree", base, head)
	tree := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	sha := strings.TrimSpace(string(Git(t, dir, "commit-tree", tree, "-p", base, "-p", head, "-m", "Merge "+head+" into "+base)))
	Git(t, dir, "update-ref", ref, sha)
	return sha
}

// Commits returns every commit of the repository in dir reachable from a
// ref, with its parents, first parent first.
func Commits(t testing.TB, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(Git(t, dir, "rev-list", "--parents", "--all"))), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

// History calls fn with every commit of the repository in dir reachable
// from a ref, its parents (first parent first) and its gzipped archive
// under one top folder, as a code host's tarball has it: what a code host
// fake serves of the repository.
func History(t testing.TB, dir string, fn func(sha string, parents []string, archive []byte)) {
	t.Helper()
	for sha, parents := range Commits(t, dir) {
		fn(sha, parents, Git(t, dir, "archive", "--format=tar.gz", "--prefix=repo-"+sha[:7]+"/", sha))
	}
}
