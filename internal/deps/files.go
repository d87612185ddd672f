package deps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/dataops-dev/dataops/internal/project"
)

// The bot reads a commit's files from the code host's archive into memory
// and never writes the project to a work tree it keeps. InstallFiles runs
// Install on a copy of those files in a temporary folder and returns the
// installed packages as files, with paths such as
// dbt_packages/dbt_utils/macros/x.sql, ready to append to the project's.

// loadable are the files the project loader reads; other files of a
// package (READMEs, images, CI) are not returned.
var loadable = map[string]bool{".sql": true, ".yml": true, ".yaml": true, ".csv": true}

// NeededFiles reports whether a project held in memory declares packages
// (packages.yml or dependencies.yml) and has none installed (no file under
// its packages-install-path).
func NeededFiles(files []project.File) bool {
	install := DefaultInstallPath
	declares := false
	for _, f := range files {
		switch f.Path {
		case PackagesFile, DependenciesFile:
			declares = declares || declaresPackages(f.Content)
		case projectFile:
			if h, err := readProjectHeader(projectFile, f.Content); err == nil {
				install = strings.Trim(path.Clean(h.installPath), "/")
			}
		}
	}
	if !declares {
		return false
	}
	for _, f := range files {
		if strings.HasPrefix(f.Path, install+"/") {
			return false
		}
	}
	return true
}

// FilesKey identifies what InstallFiles would install for these files: the
// packages files, the lock, dbt_project.yml and the files of the local
// packages they declare (a local package is part of the commit). Two
// commits with the same key get the same packages, so a caller may reuse
// one result for both (the base and the head of a pull request mostly
// agree).
func FilesKey(files []project.File) string {
	h := sha256.New()
	add := func(f project.File) {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Path, len(f.Content))
		h.Write(f.Content)
	}
	prefixes, all := localPrefixes(files)
	for _, f := range files {
		switch {
		case f.Path == projectFile || f.Path == LockFile || isPackagesFile(f.Path):
			add(f)
		case all || underAny(f.Path, prefixes):
			add(f)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func isPackagesFile(p string) bool {
	base := path.Base(p)
	return base == PackagesFile || base == DependenciesFile
}

// localPrefixes lists the folders of the local packages declared by the
// project and, in turn, by those packages (their paths are from the
// project's folder too, as in dbt). all is true when a local path leaves
// the project, so nothing less than every file identifies the commit.
func localPrefixes(files []project.File) (prefixes []string, all bool) {
	byPath := map[string][]byte{}
	for _, f := range files {
		byPath[f.Path] = f.Content
	}
	seen := map[string]bool{}
	queue := []string{""}
	for len(queue) > 0 && len(seen) < 1000 {
		dir := queue[0]
		queue = queue[1:]
		for _, name := range []string{PackagesFile, DependenciesFile} {
			data, ok := byPath[path.Join(dir, name)]
			if !ok {
				continue
			}
			f, err := parseSpecsFile(name, data, &renderer{lookup: func(string) (string, bool) { return "", true }})
			if err != nil {
				continue
			}
			for _, s := range f.Specs {
				if s.Kind != KindLocal {
					continue
				}
				rel, ok := cleanRelative(s.Local)
				if !ok {
					return nil, true
				}
				if !seen[rel] {
					seen[rel] = true
					prefixes = append(prefixes, rel)
					queue = append(queue, rel)
				}
			}
		}
	}
	return prefixes, false
}

func underAny(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// InstallFiles installs the packages of a project given as files and
// returns the installed packages' files (paths relative to the project).
// The lock file, when it matches, is followed; it is never written back.
func InstallFiles(ctx context.Context, files []project.File, opts Options) ([]project.File, *Result, error) {
	tmp, err := os.MkdirTemp(opts.TempDir, "dataops-deps-project-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "project")
	for _, f := range files {
		rel, ok := cleanRelative(f.Path)
		if !ok {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return nil, nil, err
		}
	}
	if opts.LocalRoot == "" {
		opts.LocalRoot = dir
	}
	if opts.TempDir == "" {
		opts.TempDir = tmp
	}
	opts.LockOnly = false
	res, err := Install(ctx, dir, opts)
	if err != nil || res.Nothing {
		return nil, res, err
	}
	installRel, err := filepath.Rel(dir, res.InstallPath)
	if err != nil {
		return nil, res, err
	}
	var out []project.File
	err = filepath.WalkDir(res.InstallPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() || !loadable[strings.ToLower(filepath.Ext(p))] {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, project.File{Path: filepath.ToSlash(rel), Content: data})
		return nil
	})
	res.InstallPath = filepath.ToSlash(installRel)
	return out, res, err
}
