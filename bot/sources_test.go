package bot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/scm"
)

// tarball streams a gzipped tar of files, each size bytes of CSV, to the
// reader it returns; the writing stops when the reader is closed. Twelve
// 100 MB CSV files make a tarball of about a megabyte.
func tarball(t *testing.T, names []string, size int64) io.ReadCloser {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestCompression)
		tw := tar.NewWriter(zw)
		line := []byte("1,2024-01-01,shipped,42.00\n")
		block := bytes.Repeat(line, 64<<10/len(line))
		err := func() error {
			for _, name := range names {
				if err := tw.WriteHeader(&tar.Header{Name: "acme-shop-1234567/" + name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
					return err
				}
				for left := size; left > 0; {
					n := min(left, int64(len(block)))
					if _, err := tw.Write(block[:n]); err != nil {
						return err
					}
					left -= n
				}
			}
			if err := tw.Close(); err != nil {
				return err
			}
			return zw.Close()
		}()
		pw.CloseWithError(err)
	}()
	return pr
}

// allocated runs fn and returns the bytes it allocated: an upper bound on
// how much its heap grew, whatever the timing.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestArchiveBomb: a small tarball of twelve 100 MB CSV files is refused
// with a message naming the file and the limit, and reading it allocates
// less than one file's limit: no file is read whole beyond the bound.
func TestArchiveBomb(t *testing.T) {
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("seeds/orders_%02d.csv", i))
	}
	var err error
	used := allocated(func() {
		r := tarball(t, names, 100<<20)
		defer r.Close()
		_, err = readArchive(r, "", "1234567", ArchiveLimits{})
	})
	if err == nil || !strings.Contains(err.Error(), "seeds/orders_00.csv") || !strings.Contains(err.Error(), "16 MiB") {
		t.Errorf("err = %v, want one naming seeds/orders_00.csv and the 16 MiB limit", err)
	}
	if limit := uint64(DefaultArchiveLimits.FileSize); used > limit {
		t.Errorf("reading the bomb allocated %d MiB, more than one file's limit (%d MiB)", used>>20, limit>>20)
	}
	t.Logf("allocated %d KiB", used>>10)
}

// TestArchiveLimits: each bound with its own message; files the project
// does not read count only towards the whole archive's size.
func TestArchiveLimits(t *testing.T) {
	small := ArchiveLimits{FileSize: 1 << 20, TotalSize: 5 << 19, Files: 3, Uncompressed: 8 << 20}
	for _, c := range []struct {
		name  string
		files []string
		size  int64
		says  string // "" reads fine
	}{
		{"within", []string{"models/a.sql", "models/b.sql", "seeds/c.csv"}, 512 << 10, ""},
		{"one file too large", []string{"seeds/big.csv"}, 2 << 20, "seeds/big.csv is 2 MiB, more than the 1 MiB"},
		{"too much together", []string{"seeds/a.csv", "seeds/b.csv", "seeds/c.csv"}, 1 << 20, "more than 2.5 MiB (at seeds/c.csv)"},
		{"too many files", []string{"models/a.sql", "models/b.sql", "models/c.sql", "models/d.sql"}, 10, "more than 3 .sql, .yml and .csv files (at models/d.sql)"},
		{"other files are not kept", []string{"docs/a.png", "docs/b.png", "docs/c.png", "docs/d.png", "models/a.sql"}, 1 << 20, ""},
		{"but are read", []string{"a.bin", "b.bin", "c.bin", "d.bin", "e.bin", "f.bin", "g.bin", "h.bin", "i.bin"}, 1 << 20, "more than 8 MiB uncompressed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := tarball(t, c.files, c.size)
			defer r.Close()
			files, err := readArchive(r, "", "1234567", small)
			switch {
			case c.says == "" && err != nil:
				t.Fatalf("err = %v", err)
			case c.says != "" && (err == nil || !strings.Contains(err.Error(), c.says)):
				t.Fatalf("err = %v, want it to say %q", err, c.says)
			case c.says == "":
				for _, f := range files {
					if int64(len(f.Content)) != c.size {
						t.Errorf("%s: %d bytes, want %d", f.Path, len(f.Content), c.size)
					}
				}
			}
		})
	}
}

// archiveHost serves one archive for every commit.
type archiveHost struct {
	scm.Host
	names []string
}

func (h archiveHost) Archive(context.Context, string) (io.ReadCloser, error) {
	return tarballOf(h.names), nil
}

// tarballOf is a host's gzipped tarball of small files.
func tarballOf(names []string) io.ReadCloser {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range names {
		tw.WriteHeader(&tar.Header{Name: "acme-shop-1234567/" + name, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
		tw.Write([]byte("x\n"))
	}
	tw.Close()
	zw.Close()
	return io.NopCloser(&buf)
}

// Only the commit checked out is read from the work tree (nil files); any
// other, and a commit that holds none of the project's files, are files
// (an empty list, never nil), and no commit named is an error: the work
// tree of the Action on issue_comment is the default branch, which must
// never be compiled in the pull request's place.
func TestWorkspaceSources(t *testing.T) {
	const checkedOut, other = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	for _, tc := range []struct {
		name    string
		archive []string
		sha     string
		// disk: nil files, the work tree; else want files and no error.
		disk  bool
		files int
		err   bool
	}{
		{"the commit checked out", nil, checkedOut, true, 0, false},
		{"another commit", []string{"dbt_project.yml", "models/a.sql", "README.md"}, other, false, 2, false},
		{"another commit without the project", []string{"README.md"}, other, false, 0, false},
		{"no commit", nil, "", false, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := WorkspaceSources{HeadSHA: checkedOut, Other: ArchiveSources{Host: archiveHost{names: tc.archive}}}
			files, err := s.Files(context.Background(), tc.sha)
			switch {
			case tc.err:
				if err == nil || !isPermanent(err) {
					t.Errorf("err %v, want a permanent error", err)
				}
			case err != nil:
				t.Fatal(err)
			case tc.disk != (files == nil):
				t.Errorf("files %v: nil is %v, want %v", files, files == nil, tc.disk)
			case len(files) != tc.files:
				t.Errorf("%d files, want %d", len(files), tc.files)
			}
		})
	}
}
