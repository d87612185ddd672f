// Package golden compares what a test rendered with a file under the
// package's testdata/ folder, and rewrites the file when the tests run with
// -update (go test ./internal/report -update). Tests import it; nothing
// else does.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Updating says whether this run rewrites golden files, for tests that
// write other files beside them.
func Updating() bool { return *update }

// Check compares got with testdata/name; with -update it writes got there
// instead.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		line, g, w := firstDifference(got, want)
		t.Errorf("%s differs from what the test rendered at line %d (go test -update rewrites it):\n got: %q\nwant: %q\n--- rendered:\n%s",
			path, line, g, w, got)
	}
}

// firstDifference finds the first line where got and want differ.
func firstDifference(got, want []byte) (int, string, string) {
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; ; i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) || i >= len(gl) || i >= len(wl) {
			return i + 1, string(g), string(w)
		}
	}
}
