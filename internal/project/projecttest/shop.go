package projecttest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dataops-dev/dataops/internal/project"
)

// ShopDir is the absolute path of examples/shop, wherever the calling
// test runs.
func ShopDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "examples", "shop")
}

// Shop returns examples/shop's files with some replaced: changes maps a
// path to its new content, or to "" to remove the file.
func Shop(t testing.TB, changes map[string]string) []project.File {
	t.Helper()
	var files []project.File
	for _, f := range Files(t, ShopDir()) {
		if _, changed := changes[f.Path]; !changed {
			files = append(files, f)
		}
	}
	for path, content := range changes {
		if content != "" {
			files = append(files, project.File{Path: path, Content: []byte(content)})
		}
	}
	return files
}

// Files returns the files below root (git's and target/ left out), with
// paths relative to it.
func Files(t testing.TB, root string) []project.File {
	t.Helper()
	var files []project.File
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "target" || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		files = append(files, project.File{Path: filepath.ToSlash(rel), Content: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Compile compiles files for target, failing the test on any problem.
func Compile(t testing.TB, files []project.File, target project.Target) *project.Manifest {
	t.Helper()
	p, ds := project.LoadFiles("shop", files)
	if p == nil {
		t.Fatal(ds)
	}
	m, ds := project.Compile(context.Background(), p, project.Options{Target: target})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	return m
}
