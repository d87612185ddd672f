package bot

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/scm"
)

// Sources gives the project's files at a commit: from a local git
// repository (dataops check, the Action's checkout) or from the code host's
// archive (the bot, which keeps no git credentials on disk).
type Sources interface {
	Files(ctx context.Context, sha string) ([]project.File, error)
}

// GitSources reads revisions of the project folder Dir with git; an empty
// sha means the work tree as it is.
type GitSources struct{ Dir string }

func (g GitSources) Files(ctx context.Context, sha string) ([]project.File, error) {
	if sha == "" {
		return nil, nil // the caller loads the work tree from disk
	}
	return plan.ReadRevision(ctx, g.Dir, sha)
}

// ArchiveSources downloads a commit's tarball from the host and keeps the
// files of the project folder Project (relative to the repository root).
type ArchiveSources struct {
	Host    scm.Host
	Project string
}

// maxArchive bounds a download, so a huge repository cannot fill memory.
const maxArchive = 512 << 20

func (a ArchiveSources) Files(ctx context.Context, sha string) ([]project.File, error) {
	rc, err := a.Host.Archive(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("download the sources of %s: %w", sha, err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(io.LimitReader(rc, maxArchive))
	if err != nil {
		return nil, fmt.Errorf("read the sources of %s: %w", sha, err)
	}
	return untar(zr, a.Project)
}

// untar keeps the project's files. Host tarballs put everything below one
// top folder (owner-repo-sha/ on GitHub); it is stripped.
func untar(r io.Reader, project string) ([]project.File, error) {
	prefix := strings.Trim(path.Clean("/"+project), "/")
	var files []projectFile
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := h.Name
		if i := strings.Index(name, "/"); i >= 0 && !strings.Contains(name[:i], ".") {
			name = name[i+1:] // the host's top folder
		}
		if prefix != "" {
			rest, ok := strings.CutPrefix(name, prefix+"/")
			if !ok {
				continue
			}
			name = rest
		}
		switch strings.ToLower(path.Ext(name)) {
		case ".sql", ".yml", ".yaml", ".csv":
		default:
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		files = append(files, projectFile{Path: name, Content: data})
	}
	return files, nil
}

type projectFile = project.File

// WorkspaceSources reads the commit checked out in a work tree (the
// Action's workspace: the test merge, or the head) from disk and any other
// commit, such as the base, from Other.
type WorkspaceSources struct {
	// HeadSHA is the commit checked out.
	HeadSHA string
	Other   Sources
}

func (w WorkspaceSources) Files(ctx context.Context, sha string) ([]project.File, error) {
	if sha == w.HeadSHA || sha == "" {
		return nil, nil // the work tree, loaded from disk by the pipeline
	}
	return w.Other.Files(ctx, sha)
}
