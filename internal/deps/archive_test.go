package deps

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
	size     int64 // when set, the header claims this size
}

func makeTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.linkname}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// tree lists the files below dir with their contents; it fails on links,
// which the extractor must never write.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			t.Errorf("%s is a link", p)
		}
		if info.Mode().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			b, _ := os.ReadFile(p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

func TestExtractTar(t *testing.T) {
	tests := []struct {
		name     string
		entries  []entry
		stripTop bool
		limits   Limits
		want     map[string]string
		warn     []string
		wantErr  string
	}{
		{name: "files below one top folder", stripTop: true, entries: []entry{
			{name: "pkg-1.0.0/", typ: tar.TypeDir},
			{name: "pkg-1.0.0/dbt_project.yml", typ: tar.TypeReg, body: "name: pkg\n"},
			{name: "pkg-1.0.0/macros/a.sql", typ: tar.TypeReg, body: "A"},
		}, want: map[string]string{"dbt_project.yml": "name: pkg\n", "macros/a.sql": "A"}},
		{name: "zip slip with dot-dot", stripTop: true, entries: []entry{
			{name: "pkg/../../evil.sh", typ: tar.TypeReg, body: "x"},
		}, wantErr: "points outside the package"},
		{name: "absolute name", entries: []entry{{name: "/etc/passwd", typ: tar.TypeReg, body: "x"}}, wantErr: "points outside the package"},
		{name: "backslash name", entries: []entry{{name: `..\..\x`, typ: tar.TypeReg, body: "x"}}, wantErr: "points outside the package"},
		{name: "two top folders", stripTop: true, entries: []entry{
			{name: "a/x.sql", typ: tar.TypeReg, body: "1"}, {name: "b/y.sql", typ: tar.TypeReg, body: "2"},
		}, wantErr: "more than one top folder"},
		{name: "symlink inside is copied", entries: []entry{
			{name: "macros/real.sql", typ: tar.TypeReg, body: "R"},
			{name: "macros/alias.sql", typ: tar.TypeSymlink, linkname: "real.sql"},
			{name: "other/alias2.sql", typ: tar.TypeSymlink, linkname: "../macros/alias.sql"},
		}, want: map[string]string{"macros/real.sql": "R", "macros/alias.sql": "R", "other/alias2.sql": "R"}},
		{name: "symlink outside is skipped", entries: []entry{
			{name: "passwd", typ: tar.TypeSymlink, linkname: "/etc/passwd"},
			{name: "up", typ: tar.TypeSymlink, linkname: "../../../etc/passwd"},
			{name: "a.sql", typ: tar.TypeReg, body: "A"},
		}, want: map[string]string{"a.sql": "A"}, warn: []string{"skipped link passwd: it points outside", "skipped link up: it points outside"}},
		{name: "symlink then a file through it", entries: []entry{
			{name: "dir", typ: tar.TypeSymlink, linkname: "/tmp"},
			{name: "dir/x.sql", typ: tar.TypeReg, body: "X"},
		}, want: map[string]string{"dir/x.sql": "X"}, warn: []string{"skipped link dir"}},
		{name: "link to folder skipped", entries: []entry{
			{name: "macros/a.sql", typ: tar.TypeReg, body: "A"},
			{name: "m2", typ: tar.TypeSymlink, linkname: "macros"},
		}, want: map[string]string{"macros/a.sql": "A"}, warn: []string{"skipped link m2: it points to a folder"}},
		{name: "link cycle", entries: []entry{
			{name: "a", typ: tar.TypeSymlink, linkname: "b"},
			{name: "b", typ: tar.TypeSymlink, linkname: "a"},
		}, want: map[string]string{}, warn: []string{"never reaches a file"}},
		{name: "hard link", entries: []entry{
			{name: "a.sql", typ: tar.TypeReg, body: "A"},
			{name: "b.sql", typ: tar.TypeLink, linkname: "a.sql"},
			{name: "c.sql", typ: tar.TypeLink, linkname: "../../etc/passwd"},
		}, want: map[string]string{"a.sql": "A", "b.sql": "A"}, warn: []string{"skipped link c.sql"}},
		{name: "device and fifo skipped", entries: []entry{
			{name: "dev", typ: tar.TypeChar}, {name: "fifo", typ: tar.TypeFifo},
		}, want: map[string]string{}, warn: []string{"skipped dev", "skipped fifo"}},
		{name: ".git is left out", entries: []entry{
			{name: ".git/config", typ: tar.TypeReg, body: "[core]"}, {name: "a.sql", typ: tar.TypeReg, body: "A"},
		}, want: map[string]string{"a.sql": "A"}},
		{name: "too many files", limits: Limits{PackageFiles: 2}, entries: []entry{
			{name: "a", typ: tar.TypeReg, body: "1"}, {name: "b", typ: tar.TypeReg, body: "2"}, {name: "c", typ: tar.TypeReg, body: "3"},
		}, wantErr: "more than 2 files"},
		{name: "too many bytes", limits: Limits{PackageBytes: 1 << 20}, entries: []entry{
			{name: "big", typ: tar.TypeReg, body: strings.Repeat("x", 1<<20+1)},
		}, wantErr: "more than 1 MB"},
		{name: "links count against the limit", limits: Limits{PackageFiles: 3}, entries: []entry{
			{name: "a", typ: tar.TypeReg, body: "1"}, {name: "b", typ: tar.TypeSymlink, linkname: "a"},
			{name: "c", typ: tar.TypeSymlink, linkname: "a"}, {name: "d", typ: tar.TypeSymlink, linkname: "a"},
		}, wantErr: "more than 3 files"},
		{name: "repeated name replaces", entries: []entry{
			{name: "a.sql", typ: tar.TypeReg, body: "old"}, {name: "a.sql", typ: tar.TypeReg, body: "new"},
		}, want: map[string]string{"a.sql": "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dest := filepath.Join(root, "pkg")
			w := (&budget{limits: tt.limits.orDefault()}).newWriter(dest, "pkg")
			err := w.extractTar(bytes.NewReader(makeTar(t, tt.entries)), tt.stripTop)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.limits != (Limits{}) && !errors.Is(err, errTooBig) {
					t.Errorf("limit error is not errTooBig: %v", err)
				}
				if got := tree(t, root); got["../evil.sh"] != "" {
					t.Error("wrote outside")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := tree(t, dest)
			if len(got) != len(tt.want) {
				t.Errorf("files %v, want %v", keys(got), keys(tt.want))
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			all := strings.Join(w.warnings, "\n")
			for _, want := range tt.warn {
				if !strings.Contains(all, want) {
					t.Errorf("warnings %q lack %q", all, want)
				}
			}
			if len(tt.warn) == 0 && len(w.warnings) > 0 {
				t.Errorf("unexpected warnings: %v", w.warnings)
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestBudgetSharedAcrossPackages(t *testing.T) {
	b := &budget{limits: Limits{TotalBytes: 1 << 20, PackageBytes: 1 << 20}.orDefault()}
	half := strings.Repeat("x", 600<<10)
	w1 := b.newWriter(t.TempDir(), "one")
	if err := w1.extractTar(bytes.NewReader(makeTar(t, []entry{{name: "a", typ: tar.TypeReg, body: half}})), false); err != nil {
		t.Fatal(err)
	}
	w2 := b.newWriter(t.TempDir(), "two")
	err := w2.extractTar(bytes.NewReader(makeTar(t, []entry{{name: "a", typ: tar.TypeReg, body: half}})), false)
	if !errors.Is(err, errTooBig) {
		t.Fatalf("err = %v, want the total limit", err)
	}
}

func TestCopyTreeLinks(t *testing.T) {
	src := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.MkdirAll(filepath.Join(src, "macros"), 0o755)
	os.MkdirAll(filepath.Join(src, "target"), 0o755)
	os.MkdirAll(filepath.Join(src, "integration_tests"), 0o755)
	os.WriteFile(filepath.Join(src, "macros", "a.sql"), []byte("A"), 0o644)
	os.WriteFile(filepath.Join(src, "target", "compiled.sql"), []byte("T"), 0o644)
	os.WriteFile(filepath.Join(src, "integration_tests", "x.sql"), []byte("I"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(src, "leak"))
	os.Symlink("macros/a.sql", filepath.Join(src, "alias.sql"))
	os.Symlink("macros", filepath.Join(src, "dirlink"))
	dest := filepath.Join(t.TempDir(), "pkg")
	w := (&budget{limits: DefaultLimits}).newWriter(dest, "pkg")
	skipped := filepath.Join(src, "integration_tests")
	if real, err := filepath.EvalSymlinks(skipped); err == nil {
		skipped = real
	}
	if err := w.copyTree(src, func(abs string) bool { return abs == skipped }); err != nil {
		t.Fatal(err)
	}
	got := tree(t, dest)
	want := map[string]string{"macros/a.sql": "A", "alias.sql": "A"}
	if len(got) != len(want) || got["macros/a.sql"] != "A" || got["alias.sql"] != "A" {
		t.Errorf("copied %v", got)
	}
	all := strings.Join(w.warnings, "\n")
	if !strings.Contains(all, "skipped link leak") || !strings.Contains(all, "skipped link dirlink") {
		t.Errorf("warnings: %s", all)
	}
}
