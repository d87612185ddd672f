package bot_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/deps/hubtest"
	"github.com/dataops-dev/dataops/internal/project"
)

// memorySources serves commits' files from memory, as the bot's archives
// do; a nil entry means "the work tree, on disk".
type memorySources map[string][]project.File

func (m memorySources) Files(_ context.Context, sha string) ([]project.File, error) {
	return m[sha], nil
}

func files(kv ...string) []project.File {
	var out []project.File
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, project.File{Path: kv[i], Content: []byte(kv[i+1])})
	}
	return out
}

func TestPackageSources(t *testing.T) {
	hub := hubtest.New(t, hubtest.Package{Namespace: "dbt-labs", Name: "dbt_utils", Versions: []hubtest.Version{
		{Version: "1.3.0", Files: map[string]string{"macros/star.sql": "{% macro star() %}*{% endmacro %}", "README.md": "docs", "docs/logo.png": "png"}},
	}})
	t.Setenv("DBT_PACKAGE_HUB_URL", hub.BaseURL())
	project := "name: shop\n"
	packages := "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - local: pkgs/inner\n"
	src := memorySources{
		"base":      files("dbt_project.yml", project, "packages.yml", packages, "pkgs/inner/dbt_project.yml", "name: inner\n", "models/a.sql", "select 1"),
		"head":      files("dbt_project.yml", project, "packages.yml", packages, "pkgs/inner/dbt_project.yml", "name: inner\n", "models/a.sql", "select 2"),
		"installed": files("dbt_project.yml", project, "packages.yml", packages, "dbt_packages/dbt_utils/dbt_project.yml", "name: dbt_utils\n"),
		"none":      files("dbt_project.yml", project, "models/a.sql", "select 1"),
		"file url":  files("dbt_project.yml", project, "packages.yml", "packages:\n  - git: file:///etc\n"),
		"escape":    files("dbt_project.yml", project, "packages.yml", "packages:\n  - local: ../../..\n"),
		"secret":    files("dbt_project.yml", project, "packages.yml", "packages:\n  - git: \"https://{{ env_var('GITHUB_TOKEN') }}@example.com/r.git\"\n"),
	}
	t.Setenv("GITHUB_TOKEN", "ghs_notforpackages")
	s := &bot.PackageSources{Sources: src, LookupEnv: bot.DBTEnvOnly}
	ctx := context.Background()

	got, err := s.Files(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, f := range got {
		paths[f.Path] = true
	}
	for _, want := range []string{"models/a.sql", "dbt_packages/dbt_utils/macros/star.sql", "dbt_packages/dbt_utils/dbt_project.yml", "dbt_packages/inner/dbt_project.yml"} {
		if !paths[want] {
			t.Errorf("%s missing from %v", want, paths)
		}
	}
	for p := range paths {
		if strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".png") {
			t.Errorf("%s is not a file the project loader reads", p)
		}
	}
	downloads := len(hub.Requests())

	// The head declares the same packages: installed once per run.
	if _, err := s.Files(ctx, "head"); err != nil {
		t.Fatal(err)
	}
	if len(hub.Requests()) != downloads {
		t.Errorf("the head's identical packages were fetched again: %v", hub.Requests())
	}

	for _, sha := range []string{"installed", "none"} {
		got, err := s.Files(ctx, sha)
		if err != nil || len(got) != len(src[sha]) {
			t.Errorf("%s: %d files, %v; want the commit's own files untouched", sha, len(got), err)
		}
	}

	for sha, want := range map[string]string{
		"file url": "only https:// and git:// URLs are fetched for a pull request",
		"escape":   "is outside the project",
		// Only DBT_ variables are read, as for models.
		"secret": "environment variable GITHUB_TOKEN is not set",
	} {
		_, err := s.Files(ctx, sha)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "install the dbt packages") {
			t.Errorf("%s: err = %v, want %q", sha, err, want)
		}
	}
}

// The work tree (the Action's checkout) gets dbt_packages/ on disk.
func TestPackageSourcesOnDisk(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pkgs", "inner"), 0o755)
	os.WriteFile(filepath.Join(dir, "dbt_project.yml"), []byte("name: shop\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "packages.yml"), []byte("packages:\n  - local: pkgs/inner\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pkgs", "inner", "dbt_project.yml"), []byte("name: inner\n"), 0o644)
	s := &bot.PackageSources{Sources: memorySources{}, Dir: dir}
	got, err := s.Files(context.Background(), "head")
	if err != nil || got != nil {
		t.Fatalf("%v %v; want nil files (read from disk)", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dbt_packages", "inner", "dbt_project.yml")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "package-lock.yml")); err != nil {
		t.Error(err)
	}
}
