package deps_test

import (
	"context"
	"testing"

	"github.com/dataops-dev/dataops/internal/deps"
	"github.com/dataops-dev/dataops/internal/deps/hubtest"
	dbtproject "github.com/dataops-dev/dataops/internal/project"
)

func projectFiles(kv ...string) []dbtproject.File {
	var out []dbtproject.File
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, dbtproject.File{Path: kv[i], Content: []byte(kv[i+1])})
	}
	return out
}

func TestFilesKey(t *testing.T) {
	base := []string{"dbt_project.yml", "name: shop\n", "packages.yml", "packages:\n  - local: pkgs/a\n",
		"pkgs/a/dbt_project.yml", "name: a\n", "pkgs/a/packages.yml", "packages:\n  - local: pkgs/b\n", "pkgs/b/m.sql", "b", "models/x.sql", "x"}
	key := deps.FilesKey(projectFiles(base...))
	with := func(path, content string) string {
		kv := append([]string{}, base...)
		for i := 0; i < len(kv); i += 2 {
			if kv[i] == path {
				kv[i+1] = content
				return deps.FilesKey(projectFiles(kv...))
			}
		}
		return deps.FilesKey(projectFiles(append(kv, path, content)...))
	}
	tests := []struct {
		path, content string
		same          bool
	}{
		{"models/x.sql", "y", true},
		{"models/new.sql", "z", true},
		{"pkgs/a/dbt_project.yml", "name: a2\n", false},
		{"pkgs/b/m.sql", "b2", false}, // a local package's own local package
		{"packages.yml", "packages:\n  - local: pkgs/a\n  - local: pkgs/c\n", false},
		{"package-lock.yml", "packages: []\n", false},
	}
	for _, tt := range tests {
		if got := with(tt.path, tt.content) == key; got != tt.same {
			t.Errorf("changing %s: same key = %v, want %v", tt.path, got, tt.same)
		}
	}
}

func TestNeededFilesAndInstallPath(t *testing.T) {
	hub := hubtest.New(t, hubPackages()...)
	files := projectFiles("dbt_project.yml", "name: shop\npackages-install-path: vendor/pkgs\n",
		"packages.yml", "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n")
	if !deps.NeededFiles(files) {
		t.Fatal("NeededFiles = false without installed packages")
	}
	got, res, err := deps.InstallFiles(context.Background(), files, deps.Options{HubURL: hub.BaseURL(), Untrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.InstallPath != "vendor/pkgs" {
		t.Errorf("install path %q", res.InstallPath)
	}
	want := map[string]bool{"vendor/pkgs/dbt_utils/dbt_project.yml": true, "vendor/pkgs/dbt_utils/macros/m.sql": true}
	if len(got) != len(want) {
		t.Errorf("files %v", got)
	}
	for _, f := range got {
		if !want[f.Path] {
			t.Errorf("unexpected %s", f.Path)
		}
	}
	if deps.NeededFiles(append(files, got...)) {
		t.Error("NeededFiles = true with the packages installed")
	}
	if deps.NeededFiles(projectFiles("dbt_project.yml", "name: shop\n")) {
		t.Error("NeededFiles = true without packages.yml")
	}
}
