package deps

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits bound what one run may write, since packages come from the
// network and, in a pull request, from people we do not know.
type Limits struct {
	PackageBytes  int64 // bytes of files in one package
	PackageFiles  int   // files in one package
	TotalBytes    int64 // bytes of all packages together
	DownloadBytes int64 // one download (compressed tarball) or one git fetch
	Packages      int   // packages in the whole tree
}

// DefaultLimits are far above real packages (dbt_utils is 1 MB in 300
// files) and far below what would hurt a runner.
var DefaultLimits = Limits{
	PackageBytes:  256 << 20,
	PackageFiles:  20000,
	TotalBytes:    1 << 30,
	DownloadBytes: 256 << 20,
	Packages:      200,
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.PackageBytes > 0 {
		d.PackageBytes = l.PackageBytes
	}
	if l.PackageFiles > 0 {
		d.PackageFiles = l.PackageFiles
	}
	if l.TotalBytes > 0 {
		d.TotalBytes = l.TotalBytes
	}
	if l.DownloadBytes > 0 {
		d.DownloadBytes = l.DownloadBytes
	}
	if l.Packages > 0 {
		d.Packages = l.Packages
	}
	return d
}

// budget counts what has been written against the limits.
type budget struct {
	limits Limits
	total  int64 // shared by every package of a run
}

// writer writes one package's files below root, within the budget.
type writer struct {
	b        *budget
	root     string
	what     string // the package, for messages
	files    int
	bytes    int64
	links    []pendingLink
	warnings []string
	dirs     map[string]bool // folders made
}

type pendingLink struct {
	name, target string // slash paths relative to root; target "" when it leaves the package
	hard         bool
}

func (b *budget) newWriter(root, what string) *writer {
	return &writer{b: b, root: root, what: what}
}

var errTooBig = errors.New("too big")

// sizeText is a limit in words: 256 MB, 1 KB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// reset removes what the writer wrote, to start the package again.
func (w *writer) reset() error {
	if err := os.RemoveAll(w.root); err != nil {
		return err
	}
	w.b.total -= w.bytes
	w.files, w.bytes, w.links, w.warnings, w.dirs = 0, 0, nil, nil, nil
	return os.MkdirAll(w.root, 0o755)
}

func (w *writer) tooBig(format string, args ...any) error {
	return fmt.Errorf("%s: %s (the limit keeps a package from filling the disk): %w", w.what, fmt.Sprintf(format, args...), errTooBig)
}

// file writes one file; rel is a clean slash path inside the package.
func (w *writer) file(rel string, r io.Reader, size int64, mode fs.FileMode) error {
	lim := w.b.limits
	if w.files+1 > lim.PackageFiles {
		return w.tooBig("more than %d files", lim.PackageFiles)
	}
	if size > lim.PackageBytes-w.bytes || size > lim.TotalBytes-w.b.total {
		return w.tooBig("more than %s", sizeText(min(lim.PackageBytes, lim.TotalBytes)))
	}
	dst := filepath.Join(w.root, filepath.FromSlash(rel))
	if err := w.mkdirs(filepath.Dir(dst)); err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	// A name repeated in an archive replaces the file; a link is never
	// followed (none is ever written, and O_NOFOLLOW makes sure).
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|openNoFollow, perm)
	if err != nil {
		return err
	}
	room := min(lim.PackageBytes-w.bytes, lim.TotalBytes-w.b.total)
	n, err := io.Copy(f, io.LimitReader(r, room+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	w.files++
	w.bytes += n
	w.b.total += n
	if err != nil {
		return err
	}
	if n > room {
		return w.tooBig("more than %s", sizeText(min(lim.PackageBytes, lim.TotalBytes)))
	}
	return nil
}

// mkdirs makes a folder and its parents once per writer.
func (w *writer) mkdirs(dir string) error {
	if w.dirs[dir] {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if w.dirs == nil {
		w.dirs = map[string]bool{}
	}
	w.dirs[dir] = true
	return nil
}

// archiveName cleans a name from an archive and reports whether it stays
// inside the package ("zip slip" names such as ../../etc/x do not).
func archiveName(name string) (string, bool) {
	if strings.ContainsRune(name, 0) || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "", false
	}
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false
	}
	return clean, true
}

// skipDir says which folders are never copied: VCS data, and what dbt
// writes into a project (its build output and its own installed packages).
func skipDir(name string) bool {
	switch name {
	case ".git", "target", "dbt_packages", "dbt_modules", "logs":
		return true
	}
	return false
}

// extractTar writes a tar stream's files below w.root. With stripTop, all
// entries must sit in one top folder (as in the hub's GitHub tarballs),
// which is dropped. Names that leave the package are refused; links are
// resolved to copies of files inside the package; devices and the like
// are skipped.
func (w *writer) extractTar(r io.Reader, stripTop bool) error {
	if err := os.MkdirAll(w.root, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	top := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: read archive: %w", w.what, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeXHeader {
			continue
		}
		name := strings.TrimPrefix(h.Name, "./")
		if stripTop {
			first, rest, _ := strings.Cut(strings.TrimSuffix(name, "/"), "/")
			if top == "" {
				top = first
			} else if first != top {
				return fmt.Errorf("%s: the archive has more than one top folder (%s and %s); a package archive holds one folder with the package in it", w.what, top, first)
			}
			name = rest
			if name == "" {
				continue // the top folder itself
			}
		}
		rel, ok := archiveName(name)
		if !ok {
			return fmt.Errorf("%s: the archive holds %q, which points outside the package; refusing to install it", w.what, h.Name)
		}
		if rel == "." || underSkippedDir(rel) {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := w.mkdirs(filepath.Join(w.root, filepath.FromSlash(rel))); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeRegA:
			if err := w.file(rel, tr, h.Size, h.FileInfo().Mode()); err != nil {
				return err
			}
		case tar.TypeSymlink:
			w.links = append(w.links, pendingLink{name: rel, target: linkTarget(rel, h.Linkname)})
		case tar.TypeLink:
			target := strings.TrimPrefix(h.Linkname, "./")
			if stripTop {
				_, target, _ = strings.Cut(target, "/")
			}
			t, ok := archiveName(target)
			if !ok {
				t = ""
			}
			w.links = append(w.links, pendingLink{name: rel, target: t, hard: true})
		default:
			w.warnings = append(w.warnings, fmt.Sprintf("%s: skipped %s (not a file or folder)", w.what, rel))
		}
	}
	if stripTop && top == "" {
		return fmt.Errorf("%s: the archive is empty", w.what)
	}
	return w.resolveLinks()
}

func underSkippedDir(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == ".git" {
			return true
		}
	}
	return false
}

// linkTarget resolves a symlink's target against the link's folder; ""
// when it leaves the package.
func linkTarget(rel, target string) string {
	if strings.HasPrefix(target, "/") {
		return ""
	}
	t, ok := archiveName(path.Join(path.Dir(rel), target))
	if !ok || t == "." {
		return ""
	}
	return t
}

// resolveLinks copies each link's target file into the link's place, so
// no link is ever written to disk and none can point outside. A link to a
// link is followed once the first one is resolved; links to folders and
// targets outside the package are skipped with a warning.
func (w *writer) resolveLinks() error {
	pending := w.links
	w.links = nil
	for len(pending) > 0 {
		var next []pendingLink
		for _, l := range pending {
			if l.target == "" {
				w.warnings = append(w.warnings, fmt.Sprintf("%s: skipped link %s: it points outside the package", w.what, l.name))
				continue
			}
			src := filepath.Join(w.root, filepath.FromSlash(l.target))
			info, err := os.Lstat(src)
			switch {
			case err != nil && isLinkName(pending, l.target):
				next = append(next, l)
				continue
			case err != nil:
				w.warnings = append(w.warnings, fmt.Sprintf("%s: skipped link %s: its target %s is not in the package", w.what, l.name, l.target))
				continue
			case info.IsDir():
				w.warnings = append(w.warnings, fmt.Sprintf("%s: skipped link %s: it points to a folder", w.what, l.name))
				continue
			case !info.Mode().IsRegular():
				continue
			}
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			err = w.file(l.name, f, info.Size(), info.Mode())
			f.Close()
			if err != nil {
				return err
			}
		}
		if len(next) == len(pending) { // a cycle of links
			for _, l := range next {
				w.warnings = append(w.warnings, fmt.Sprintf("%s: skipped link %s: it never reaches a file", w.what, l.name))
			}
			break
		}
		pending = next
	}
	return nil
}

func isLinkName(links []pendingLink, name string) bool {
	for _, l := range links {
		if l.name == name {
			return true
		}
	}
	return false
}

// copyTree copies a local package's folder. Links are followed only to
// files inside src; folders named by skip are left out (the root project
// and the staging folder when a package contains the project, as
// `local: ../` does in a package's integration_tests).
func (w *writer) copyTree(src string, skip func(abs string) bool) error {
	realSrc, err := filepath.EvalSymlinks(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(realSrc, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(realSrc, p)
		if rel == "." {
			return nil
		}
		slashRel := filepath.ToSlash(rel)
		if d.IsDir() {
			if skipDir(d.Name()) || skip(p) {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(w.root, rel), 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil || !within(realSrc, target) {
				w.warnings = append(w.warnings, fmt.Sprintf("%s: skipped link %s: it points outside the package", w.what, slashRel))
				return nil
			}
			info, err := os.Stat(target)
			if err != nil || info.IsDir() {
				w.warnings = append(w.warnings, fmt.Sprintf("%s: skipped link %s: it points to a folder", w.what, slashRel))
				return nil
			}
			p = target
		} else if !d.Type().IsRegular() {
			return nil
		}
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return w.file(slashRel, f, info.Size(), info.Mode())
	})
}

// within reports whether p is root or inside it (both absolute, cleaned).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
