package action

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// A file command that cannot be written costs one line, not the run: the
// checks and the comment are posted, and the step passes.
func TestActionFileCommandsThatCannotBeWritten(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	f := newFixture(t, w, dsn)
	dir := t.TempDir()
	f.env = map[string]string{
		"GITHUB_OUTPUT":       dir, // a folder: no one can append to it, root included
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "missing", "summary"),
		"RUNNER_TEMP":         "/home/runner/work/_temp", // an old runner's host path
	}
	code, log, _ := f.run(t, "pull_request", f.event(t, "pull_request.opened.json", nil), nil)
	if code != ExitOK || strings.Contains(log, "panic") || strings.Contains(log, "goroutine") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	for _, want := range []string{"could not write the step's outputs (GITHUB_OUTPUT)", "could not write the step summary (GITHUB_STEP_SUMMARY)"} {
		if n := strings.Count(log, want); n != 1 {
			t.Errorf("%q said %d times, want once:\n%s", want, n, log)
		}
	}
	if got := f.conclusions(f.headSHA)["dataops/gate"]; got != "success" {
		t.Errorf("gate %q", got)
	}
	if len(f.gh.Comments(repoName, 7)) != 1 {
		t.Error("the comment was not posted")
	}
}

func TestWorkflowCommands(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "output"), "INPUT_WAREHOUSE-DSN": " duckdb:///x \n", "INPUT_FAIL_ON": "wrong"}
	s := newSecrets(nil)
	s.add("s3cret-value")
	wf := newWorkflow(func(k string) string { return env[k] }, &out, s)
	wf.mask("s3cret-value")
	wf.command("error", map[string]string{"file": "models/a,b.sql", "line": "3", "title": "x: y"}, "100% broken\nsee s3cret-value")
	wf.setOutput("report-path", "/tmp/r.md")
	wf.setOutput("status", "line one\nline two")
	want := "::add-mask::s3cret-value\n::error file=models/a%2Cb.sql,line=3,title=x%3A y::100%25 broken%0Asee ***\n"
	if out.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", out.String(), want)
	}
	if got := wf.input("warehouse-dsn"); got != "duckdb:///x" {
		t.Errorf("input warehouse-dsn = %q: the runner keeps the hyphen in INPUT_WAREHOUSE-DSN", got)
	}
	if got := wf.input("fail-on"); got != "" {
		t.Errorf("input fail-on read INPUT_FAIL_ON: %q", got)
	}
	data, err := os.ReadFile(env["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "report-path<<ghadelimiter_") || lines[1] != "/tmp/r.md" ||
		lines[2] != strings.TrimPrefix(lines[0], "report-path<<") || lines[4] != "line one" || lines[5] != "line two" {
		t.Errorf("GITHUB_OUTPUT:\n%s", data)
	}
}

func TestWriteReport(t *testing.T) {
	temp := t.TempDir()
	for _, tc := range []struct {
		name, runnerTemp, wantDir string
	}{
		{"runner temp", temp, temp},
		{"no RUNNER_TEMP", "", os.TempDir()},
		{"an old runner's host path", "/home/runner/work/_temp", os.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnvironment([]string{"RUNNER_TEMP=" + tc.runnerTemp})
			path, err := writeReport(env, "# report\n")
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(path) != tc.wantDir {
				t.Errorf("report-path %s, want it in %s", path, tc.wantDir)
			}
			if data, err := os.ReadFile(path); err != nil || string(data) != "# report\n" {
				t.Errorf("report-path %s: %v %q", path, err, data)
			}
		})
	}
}

func TestHostPath(t *testing.T) {
	for _, tc := range []struct{ workspace, path, want string }{
		{"/home/runner/work/shop", "/github/runner_temp/dataops-report.md", "/home/runner/work/_temp/dataops-report.md"},
		{"/home/runner/work/shop", "/github/home/dataops-report.md", "/home/runner/work/_temp/_github_home/dataops-report.md"},
		{"/home/runner/work/shop", "/tmp/dataops-report.md", "/tmp/dataops-report.md"},
		{"", "/github/runner_temp/dataops-report.md", "/github/runner_temp/dataops-report.md"},
		{"/github/workspace", "/github/home/dataops-report.md", "/github/home/dataops-report.md"},
		{"/runner/_work/shop", "/runner/_work/_temp/dataops-report.md", "/runner/_work/_temp/dataops-report.md"},
	} {
		env := newEnvironment([]string{"RUNNER_WORKSPACE=" + tc.workspace})
		if got := hostPath(env, tc.path); got != tc.want {
			t.Errorf("hostPath(%s, %s) = %s, want %s", tc.workspace, tc.path, got, tc.want)
		}
	}
}

func TestCheckedOut(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.sql"), []byte("select 1\n"), 0o644)
	first := projecttest.Commit(t, dir, "first")
	os.WriteFile(filepath.Join(dir, "a.sql"), []byte("select 2\n"), 0o644)
	second := projecttest.Commit(t, dir, "second")
	git := func(args ...string) { projecttest.Git(t, dir, args...) }

	expect := func(what, tree, want string) {
		t.Helper()
		got, err := checkedOut(tree)
		if err != nil || got != want {
			t.Errorf("%s: checkedOut = %q, %v; want %s", what, got, err, want)
		}
	}
	expect("a branch", dir, second)
	git("checkout", "-q", first)
	expect("a detached HEAD", dir, first)
	git("checkout", "-q", "-B", "main", second)
	git("pack-refs", "--all")
	if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "heads", "main")); err == nil {
		t.Fatal("pack-refs left the loose ref")
	}
	expect("a packed branch", dir, second)
	linked := filepath.Join(t.TempDir(), "linked")
	git("worktree", "add", "-q", "-b", "other", linked, first)
	expect("a linked work tree", linked, first)
	if _, err := checkedOut(t.TempDir()); err == nil {
		t.Error("a folder that is not a work tree has no commit")
	}
}
