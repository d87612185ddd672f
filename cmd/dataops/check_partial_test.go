package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckPartialCompile: a pull request is checked even though its base
// has a model that does not compile. The compile check passes, lists that
// error as existing and the models it blocks as skipped, and the rest of
// the checks run on what compiled. A pull request that brings its own
// compile error fails the check with that error only, and the gate with
// it; the rest of the change is still built and diffed.
func TestCheckPartialCompile(t *testing.T) {
	dir := gitShop(t)
	dsn := "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb")
	if code, out, errOut := runCLI("build", "--project", dir, "--warehouse", dsn, "--target", "prod"); code != exitOK {
		t.Fatalf("production build: %d\n%s\n%s", code, out, errOut)
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, "models/legacy.sql"), []byte("select * from {{ ref('dropped_long_ago') }}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "models/legacy_child.sql"), []byte("select * from {{ ref('legacy') }}\n"), 0o644)
	git("add", "-A")
	git("commit", "-q", "-m", "a base with a broken model")
	path := filepath.Join(dir, "models/marts/dim_customers.sql")
	data := mustRead(t, path)
	edited := strings.Replace(string(data), "customers.first_name || ' ' || customers.last_name as full_name",
		"upper(customers.first_name || ' ' || customers.last_name) as full_name", 1)
	if edited == string(data) {
		t.Fatal("the edit did not apply")
	}
	os.WriteFile(path, []byte(edited), 0o644)

	outDir := t.TempDir()
	_, out, errOut := runCLI("check", "--project", dir, "--base", "HEAD", "--warehouse", dsn, "--env", "pr_partial", "--out", outDir)
	compile := string(mustRead(t, filepath.Join(outDir, "checks", "dataops-compile.json")))
	for _, want := range []string{`"conclusion": "success"`, "1 error the base already had",
		"models/legacy.sql:1:18: ref to unknown model", "`legacy_child` (models/legacy_child.sql): depends on legacy, which did not compile"} {
		if !strings.Contains(compile, want) {
			t.Errorf("compile check lacks %q:\n%s\n%s\n%s", want, compile, out, errOut)
		}
	}
	build := string(mustRead(t, filepath.Join(outDir, "checks", "dataops-build.json")))
	if !strings.Contains(build, `"conclusion": "success"`) || !strings.Contains(build, "dim_customers") {
		t.Errorf("the build goes on with what compiled:\n%s", build)
	}

	os.WriteFile(filepath.Join(dir, "models/new_broken.sql"), []byte("select {{ no_such_macro() }}\n"), 0o644)
	code, out, _ := runCLI("check", "--project", dir, "--base", "HEAD", "--warehouse", dsn, "--env", "pr_partial", "--out", outDir)
	compile = string(mustRead(t, filepath.Join(outDir, "checks", "dataops-compile.json")))
	if code != exitFailure || !strings.Contains(compile, `"conclusion": "failure"`) || !strings.Contains(compile, "This pull request brings 1 compile error") ||
		!strings.Contains(compile, "models/new_broken.sql") || !strings.Contains(out, "models/new_broken.sql:1: failure:") {
		t.Errorf("a new broken model fails the check (exit %d):\n%s\n%s", code, compile, out)
	}
	// The rest of the change is still built and diffed, so the author
	// sees what it does before fixing the broken model; the gate fails
	// on the compile check.
	build = string(mustRead(t, filepath.Join(outDir, "checks", "dataops-build.json")))
	if !strings.Contains(build, `"conclusion": "success"`) || !strings.Contains(build, "dim_customers") || strings.Contains(build, "new_broken") {
		t.Errorf("the build goes on with what compiled, without the broken model:\n%s", build)
	}
	diff := string(mustRead(t, filepath.Join(outDir, "checks", "dataops-diff.json")))
	if strings.Contains(diff, `"conclusion": "skipped"`) || !strings.Contains(diff, "dim_customers") {
		t.Errorf("the diff goes on with what was built:\n%s", diff)
	}
	gate := string(mustRead(t, filepath.Join(outDir, "checks", "dataops-gate.json")))
	if !strings.Contains(gate, `"conclusion": "failure"`) || !strings.Contains(gate, "`dataops/compile`: 1 compile error") || strings.Contains(gate, "dataops/build") {
		t.Errorf("the gate fails on the compile check alone:\n%s", gate)
	}
	if !strings.Contains(compile, "The other checks go on with the rest of the change") {
		t.Errorf("the compile check does not say the rest is checked:\n%s", compile)
	}

	// With nothing else changed, there is nothing to build: the other
	// checks are skipped for the compile error, as before.
	os.WriteFile(path, data, 0o644)
	code, out, _ = runCLI("check", "--project", dir, "--base", "HEAD", "--warehouse", dsn, "--env", "pr_partial", "--out", outDir)
	build = string(mustRead(t, filepath.Join(outDir, "checks", "dataops-build.json")))
	compile = string(mustRead(t, filepath.Join(outDir, "checks", "dataops-compile.json")))
	if code != exitFailure || !strings.Contains(build, "Skipped: the compile check failed") || strings.Contains(compile, "The other checks go on") {
		t.Errorf("only a broken model: exit %d\n%s\n%s\n%s", code, compile, build, out)
	}
}
