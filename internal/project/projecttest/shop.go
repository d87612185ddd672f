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
	root := ShopDir()
	var files []project.File
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "target" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if _, changed := changes[rel]; changed {
			return nil
		}
		data, err := os.ReadFile(p)
		files = append(files, project.File{Path: rel, Content: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, content := range changes {
		if content != "" {
			files = append(files, project.File{Path: path, Content: []byte(content)})
		}
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
