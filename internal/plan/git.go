package plan

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/dataops-dev/dataops/internal/project"
)

// ReadRevision returns the files of the project in projectDir as they are
// at git revision rev, read with one `git archive` so that no checkout is
// touched. Paths are relative to the project directory.
func ReadRevision(ctx context.Context, projectDir, rev string) ([]project.File, error) {
	abs, err := filepath.Abs(projectDir)
	if err != nil {
		return nil, err
	}
	// A work tree that removed the project folder still has the
	// revisions that hold it: git runs in the nearest folder that exists.
	existing := abs
	for {
		if _, err := os.Stat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	top, err := git(ctx, existing, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s is not in a git repository: %w", projectDir, err)
	}
	root := strings.TrimSpace(string(top))
	if resolved, err := filepath.EvalSymlinks(existing); err == nil {
		rest, _ := filepath.Rel(existing, abs)
		abs = filepath.Join(resolved, rest)
	}
	if resolved, err := filepath.EvalSymlinks(root); err == nil {
		root = resolved
	}
	sub, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, err
	}
	sub = filepath.ToSlash(sub)
	if _, err := git(ctx, root, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return nil, fmt.Errorf("unknown git revision %q: use a branch, tag or commit sha that exists in %s (in CI, fetch enough history, e.g. fetch-depth: 0)", rev, root)
	}
	args := []string{"archive", "--format=tar", rev}
	if sub != "." {
		// A revision before the project was added (or after it was
		// removed) has no such folder, which git archive calls an error:
		// it holds none of the project's files.
		listed, err := git(ctx, root, "ls-tree", "--name-only", rev, "--", sub)
		if err != nil {
			return nil, fmt.Errorf("read %s at %s: %w", projectDir, rev, err)
		}
		if len(bytes.TrimSpace(listed)) == 0 {
			return []project.File{}, nil
		}
		args = append(args, "--", sub)
	}
	data, err := git(ctx, root, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", projectDir, rev, err)
	}
	var files []project.File
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s at %s: %w", projectDir, rev, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := h.Name
		if sub != "." {
			rest, ok := strings.CutPrefix(name, sub+"/")
			if !ok {
				continue
			}
			name = rest
		}
		switch strings.ToLower(path.Ext(name)) {
		case ".sql", ".yml", ".yaml", ".csv", ".py":
		default:
			continue
		}
		if skipped(name) {
			continue
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files = append(files, project.File{Path: name, Content: content})
	}
	return withWorkTreePackages(abs, files), nil
}

// skipped matches the folders project.Load skips on disk: build output,
// and inside an installed package its own packages and integration tests.
func skipped(name string) bool {
	for _, dir := range []string{"target/", "logs/", "node_modules/"} {
		if strings.HasPrefix(name, dir) {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(name, project.PackagesDir+"/"); ok {
		if _, inner, nested := strings.Cut(rest, "/"); nested {
			return strings.HasPrefix(inner, project.PackagesDir+"/") || strings.HasPrefix(inner, "integration_tests/")
		}
	}
	return false
}

// packageFiles are the files that say which packages a revision installs.
var packageFiles = []string{"packages.yml", "dependencies.yml", "package-lock.yml"}

// withWorkTreePackages gives a revision read from git the packages
// installed in the work tree, when it asks for the same ones: dbt_packages/
// is rarely committed (dbt's own .gitignore leaves it out), and without
// them every model using a package would fail on one side of a
// comparison and look changed. A revision that commits its packages, or
// asks for others, is left as it is.
func withWorkTreePackages(dir string, files []project.File) []project.File {
	asked := false
	for _, f := range files {
		if strings.HasPrefix(f.Path, project.PackagesDir+"/") {
			return files
		}
		asked = asked || f.Path == "packages.yml" || f.Path == "dependencies.yml"
	}
	if !asked {
		return files
	}
	for _, name := range packageFiles {
		disk, diskErr := os.ReadFile(filepath.Join(dir, name))
		var rev []byte
		found := false
		for _, f := range files {
			if f.Path == name {
				rev, found = f.Content, true
			}
		}
		if found != (diskErr == nil) || (found && !bytes.Equal(rev, disk)) {
			return files
		}
	}
	installed, err := project.ReadDir(dir)
	if err != nil {
		return files
	}
	for _, f := range installed {
		if strings.HasPrefix(f.Path, project.PackagesDir+"/") {
			files = append(files, f)
		}
	}
	return files
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, err
	}
	return out, nil
}
