package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// adoptRepo is a git repository whose branch main holds a README and, in
// folder, base; its work tree, on branch pr, holds head there instead:
// the commits of a pull request that adds, fixes or removes the project.
// Each side is "shop" (examples/shop), "broken" (a dbt_project.yml that
// does not parse) or "" (nothing).
func adoptRepo(t *testing.T, base, head, folder string) string {
	t.Helper()
	dir := t.TempDir()
	put := func(what string) {
		switch what {
		case "shop":
			for _, f := range projecttest.Shop(t, nil) {
				p := filepath.Join(dir, folder, f.Path)
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, f.Content, 0o644)
			}
		case "broken":
			os.MkdirAll(filepath.Join(dir, folder), 0o755)
			os.WriteFile(filepath.Join(dir, folder, "dbt_project.yml"), []byte("name: [shop\n"), 0o644)
		}
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("# analytics\n"), 0o644)
	put(base)
	projecttest.Commit(t, dir, "base")
	projecttest.Git(t, dir, "branch", "-M", "main")
	projecttest.Git(t, dir, "checkout", "-q", "-b", "pr")
	if base != "" {
		projecttest.Git(t, dir, "rm", "-rq", "--", folder)
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("# analytics\n\nWith dbt.\n"), 0o644)
	put(head)
	projecttest.Commit(t, dir, "head")
	return dir
}

// TestCheckPullRequestAddsTheProject: dataops check on the branch that
// adds the project (at the root or into a folder) compares with an empty
// project; one that removes it removes everything and builds nothing; a
// base whose project is broken is still reported; no project at all names
// the folder looked in.
func TestCheckPullRequestAddsTheProject(t *testing.T) {
	for _, tc := range []struct {
		name, base, head, folder string
		code                     int
		out                      []string
		built                    bool
	}{
		{name: "adds at the root", head: "shop", folder: ".", code: exitOK, built: true,
			out: []string{"all checks passed — the base has no project yet, so every model is new",
				"dataops/dry-run  success     13 models checked by the engine", "| `fct_orders` | added | **non-breaking**: new model |", "dataops/diff     success     11 new models, nothing to compare with production", "dataops/gate     success"}},
		{name: "adds into a folder", head: "shop", folder: "transform", code: exitOK, built: true,
			out: []string{"the base has no project yet, so every model is new", "dataops/build    success", "dataops/gate     success"}},
		{name: "removes it", base: "shop", folder: ".", code: exitOK,
			out: []string{"all checks passed — this pull request removes the project", "; nothing was built\n", "dataops/compile  neutral     This pull request removes the project",
				"dataops/build    skipped     Skipped: the pull request removes the project: nothing to build"}},
		{name: "removes it and its folder", base: "shop", folder: "transform", code: exitOK,
			out: []string{"all checks passed — this pull request removes the project", "dataops/build    skipped"}},
		{name: "fixes a broken base", base: "broken", head: "shop", folder: ".", code: exitFailure,
			out: []string{"dataops/compile  failure     The base revision does not compile"}},
		{name: "has none", folder: ".", code: exitFailure,
			out: []string{"dataops/compile  failure     No dbt project: no dbt_project.yml in "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := adoptRepo(t, tc.base, tc.head, tc.folder)
			dsn := "duckdb://" + filepath.Join(t.TempDir(), "wh.duckdb")
			code, out, errOut := runCLI("check", "--project", filepath.Join(dir, tc.folder), "--base", "main", "--warehouse", dsn, "--env", "pr_1")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, errOut)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("the output lacks %q:\n%s", want, out)
				}
			}
			tables := relationsIn(t, dsn, "pr_1")
			if built := strings.Contains(","+tables+",", ",fct_orders,"); built != tc.built {
				t.Errorf("environment pr_1 holds %q", tables)
			}
			if prod := relationsIn(t, dsn, "main"); prod != "" {
				t.Errorf("production was written: %s", prod)
			}
		})
	}
}

// TestPlanPullRequestAddsTheProject: dataops plan --base on the branch
// that adds the project lists every model as added; on the one that
// removes it, every model as removed; with no project on either side it
// says which folder it looked in.
func TestPlanPullRequestAddsTheProject(t *testing.T) {
	for _, tc := range []struct {
		name, base, head, folder string
		code                     int
		out                      []string
	}{
		{name: "adds into a folder", head: "shop", folder: "transform", code: exitOK,
			out: []string{"The base has no project yet (no dbt_project.yml there): every model is new.", "+ fct_orders (incremental)", "Would build "}},
		{name: "removes it", base: "shop", folder: ".", code: exitOK,
			out: []string{"The head has no project any more (no dbt_project.yml there): every model is removed.", "- fct_orders (incremental)"}},
		{name: "removes it and its folder", base: "shop", folder: "transform", code: exitOK,
			out: []string{"every model is removed.", "- fct_orders (incremental)"}},
		{name: "has none", folder: "transform", code: exitFailure,
			out: []string{"no dbt_project.yml in `", "transform/` at either revision", "pass --project"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := adoptRepo(t, tc.base, tc.head, tc.folder)
			if tc.head == "" {
				os.MkdirAll(filepath.Join(dir, tc.folder), 0o755)
			}
			code, out, errOut := runCLI("plan", "--project", filepath.Join(dir, tc.folder), "--base", "main")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, errOut)
			}
			for _, want := range tc.out {
				if !strings.Contains(out+errOut, want) {
					t.Errorf("the output lacks %q:\n%s%s", want, out, errOut)
				}
			}
		})
	}
}

// TestServePullRequestAddsTheProject: the bot, on the pull request that
// adds the project to a repository with none: every model is added and
// built, the gate passes, /dataops plan says the base has no project yet,
// and /dataops deploy builds the whole project into production.
func TestServePullRequestAddsTheProject(t *testing.T) {
	w, dsn := warehousetest.DuckDBFile(t)
	if err := w.Close(); err != nil { // the bot opens it
		t.Fatal(err)
	}
	f := &botFixture{dir: t.TempDir(), gh: githubtest.NewServer(t), dsn: dsn}
	writeFile(t, filepath.Join(f.dir, "README.md"), "# analytics\n")
	f.baseSHA = f.commit(t, "base")
	f.git(t, "branch", "-M", "main")
	f.mainSHA = f.baseSHA
	f.git(t, "checkout", "-q", "-b", "card-amount")
	for _, file := range projecttest.Shop(t, nil) {
		writeFile(t, filepath.Join(f.dir, file.Path), string(file.Content))
	}
	f.headSHA = f.commit(t, "add the dbt project")
	f.sync(t)
	f.configure(t)
	b := f.start(t)

	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate on the head", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
	got := f.checks(f.headSHA)
	want := map[string]string{"dataops/compile": "completed/success", "dataops/dry-run": "completed/success",
		"dataops/build": "completed/success", "dataops/diff": "completed/success", "dataops/gate": "completed/success"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("checks %v, want %v\n%s", got, want, checksSaid(f, f.headSHA))
	}
	waitFor(t, "the report comment", func() bool { return len(f.commentsWith("<!-- dataops:report -->")) == 1 })
	if body := f.commentsWith("<!-- dataops:report -->")[0].Body; !strings.Contains(body, "the base has no project yet, so every model is new") {
		t.Errorf("the headline does not say the base has no project:\n%s", body)
	}
	if cols := columnsOf(t, b, "pr_7", "fct_orders"); !hasColumn(cols, "order_id") {
		t.Errorf("pr_7.fct_orders columns %q", cols)
	}

	f.send(t, b, "issue_comment", f.comment(t, "visitor", "/dataops plan"))
	waitFor(t, "the plan", func() bool {
		r := f.commentsWith(bot.ReplyMarker)
		return len(r) == 1 && strings.Contains(r[0].Body, "The base has no project yet: every node is added.") &&
			strings.Contains(r[0].Body, "- added `fct_orders` (model)")
	})

	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops deploy"))
	waitFor(t, "the deploy", func() bool { return hasColumn(columnsOf(t, b, "main", "fct_orders"), "order_id") })
}
