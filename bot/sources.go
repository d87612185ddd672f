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
//
// Files answers nil, nil for "the work tree on disk" alone: a commit's
// files are never nil, even when it holds none of the project's (see
// atCommit), so that a commit without the project is not compiled as
// whatever the work tree holds.
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
	files, err := plan.ReadRevision(ctx, g.Dir, sha)
	return atCommit(files), err
}

// atCommit is a commit's files, not nil when there are none: nil would
// mean the work tree on disk, which in the Action on issue_comment is the
// default branch, and would pass a head that removed the project.
func atCommit(files []project.File) []project.File {
	if files == nil {
		return []project.File{}
	}
	return files
}

// ArchiveSources downloads a commit's tarball from the host and keeps the
// files of the project folder Project (relative to the repository root).
type ArchiveSources struct {
	Host    scm.Host
	Project string
	// Limits bound what is read (zero fields: DefaultArchiveLimits).
	Limits ArchiveLimits
}

// maxArchive bounds a download, so a huge repository cannot fill memory.
const maxArchive = 512 << 20

// ArchiveLimits bound what is read of a commit's archive. It comes from a
// pull request, and gzip turns a small download into a large read: twelve
// 100 MB CSV files fit in a tarball of about a megabyte.
type ArchiveLimits struct {
	// FileSize bounds one file the project reads (.sql, .yml, .yaml, .csv).
	FileSize int64
	// TotalSize bounds those files together, and Files their number.
	TotalSize int64
	Files     int
	// Uncompressed bounds the whole archive as it is read, the files the
	// project does not read included: skipping them costs time.
	Uncompressed int64
}

// DefaultArchiveLimits are generous for a dbt project (seeds are meant to
// be small; large data belongs in the warehouse) and keep one job's memory
// bounded.
var DefaultArchiveLimits = ArchiveLimits{FileSize: 16 << 20, TotalSize: 256 << 20, Files: 20_000, Uncompressed: 4 << 30}

func (l ArchiveLimits) orDefault() ArchiveLimits {
	d := DefaultArchiveLimits
	if l.FileSize > 0 {
		d.FileSize = l.FileSize
	}
	if l.TotalSize > 0 {
		d.TotalSize = l.TotalSize
	}
	if l.Files > 0 {
		d.Files = l.Files
	}
	if l.Uncompressed > 0 {
		d.Uncompressed = l.Uncompressed
	}
	return d
}

func (a ArchiveSources) Files(ctx context.Context, sha string) ([]project.File, error) {
	rc, err := a.Host.Archive(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("download the sources of %s: %w", sha, err)
	}
	defer rc.Close()
	files, err := readArchive(io.LimitReader(rc, maxArchive), a.Project, short(sha), a.Limits)
	if err != nil {
		return nil, err
	}
	return atCommit(files), nil
}

// readArchive reads a gzipped tarball within limits.
func readArchive(r io.Reader, project, sha string, limits ArchiveLimits) ([]project.File, error) {
	limits = limits.orDefault()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read the sources of %s: %w", sha, err)
	}
	files, err := untar(&boundedReader{r: zr, left: limits.Uncompressed}, project, limits)
	var tooBig *archiveTooLarge
	switch {
	case errors.As(err, &tooBig):
		// The commit will not shrink: running the job again cannot help.
		return nil, permanent(fmt.Errorf("the sources of %s are too large to check: %s", sha, tooBig.why), "")
	case err != nil:
		return nil, fmt.Errorf("read the sources of %s: %w", sha, err)
	}
	return files, nil
}

// archiveTooLarge says which bound an archive passed.
type archiveTooLarge struct{ why string }

func (e *archiveTooLarge) Error() string { return e.why }

// boundedReader fails once more than left bytes were read.
type boundedReader struct {
	r    io.Reader
	left int64
	max  int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.max == 0 {
		b.max = b.left
	}
	if b.left <= 0 {
		return 0, &archiveTooLarge{fmt.Sprintf("the archive is more than %s uncompressed", mib(b.max))}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left+1] // one byte more tells "exactly at the bound" from "over"
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, &archiveTooLarge{fmt.Sprintf("the archive is more than %s uncompressed", mib(b.max))}
	}
	return n, err
}

// mib writes a size in MiB, as the limits are set.
func mib(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// untar keeps the project's files. Host tarballs put everything below one
// top folder (owner-repo-sha/ on GitHub); it is stripped. A file is read
// only once its declared size is known to fit the limits (tar holds every
// file's size in its header, and the reader returns exactly that many
// bytes), so memory stays within them whatever the archive.
func untar(r io.Reader, project string, limits ArchiveLimits) ([]project.File, error) {
	prefix := strings.Trim(path.Clean("/"+project), "/")
	var files []projectFile
	var total int64
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
		switch {
		case h.Size > limits.FileSize:
			return nil, &archiveTooLarge{fmt.Sprintf("%s is %s, more than the %s dataops reads of one file; keep models and seeds smaller (large data belongs in the warehouse)",
				name, mib(h.Size), mib(limits.FileSize))}
		case total+h.Size > limits.TotalSize:
			return nil, &archiveTooLarge{fmt.Sprintf("its .sql, .yml and .csv files come to more than %s (at %s)", mib(limits.TotalSize), name)}
		case len(files) >= limits.Files:
			return nil, &archiveTooLarge{fmt.Sprintf("it has more than %d .sql, .yml and .csv files (at %s)", limits.Files, name)}
		}
		data := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, fmt.Errorf("read archive: %s: %w", name, err)
		}
		total += h.Size
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
	switch {
	case sha == "":
		// No commit named: the work tree is not the answer, since it may
		// be another commit than the one the checks go on.
		return nil, permanent(errors.New("no commit to read the sources of"), "")
	case sha == w.HeadSHA:
		return nil, nil // the work tree, loaded from disk by the pipeline
	}
	return w.Other.Files(ctx, sha)
}
