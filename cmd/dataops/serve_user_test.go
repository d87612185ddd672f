package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParseUser(t *testing.T) {
	for _, tc := range []struct {
		spec     string
		uid, gid int
		ok       bool
	}{
		{"10001:0", 10001, 0, true},
		{"10001", 10001, 10001, true},
		{"root", 0, 0, true},
		{"root:0", 0, 0, true},
		{"10001:root", 10001, 0, true},
		{"no-such-user-here", 0, 0, false},
		{"10001:no-such-group-here", 0, 0, false},
	} {
		uid, gid, err := parseUser(tc.spec)
		if (err == nil) != tc.ok || (tc.ok && (uid != tc.uid || gid != tc.gid)) {
			t.Errorf("parseUser(%q) = %d, %d, %v", tc.spec, uid, gid, err)
		}
	}
}

func TestSQLitePath(t *testing.T) {
	for _, tc := range []struct {
		url, path string
		ok        bool
	}{
		{"", "dataops.db", true},
		{"/var/lib/dataops/dataops.db", "/var/lib/dataops/dataops.db", true},
		{"sqlite:///var/lib/dataops/x.db", "/var/lib/dataops/x.db", true},
		{"postgres://u:p@db/x", "", false},
	} {
		if path, ok := sqlitePath(tc.url); path != tc.path || ok != tc.ok {
			t.Errorf("sqlitePath(%q) = %q, %v", tc.url, path, ok)
		}
	}
}

// handOver gives a root-owned data folder and its files to the bot's user,
// and nothing below them.
func TestHandOver(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dataops.db"), nil, 0o600)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "deep"), nil, 0o600)
	if err := handOver(dir, 10001, 0); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) uint32 {
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return info.Sys().(*syscall.Stat_t).Uid
	}
	for p, want := range map[string]uint32{dir: 10001, filepath.Join(dir, "dataops.db"): 10001,
		filepath.Join(dir, "sub"): 10001, filepath.Join(dir, "sub", "deep"): 0} {
		if got := owner(p); got != want {
			t.Errorf("%s belongs to %d, want %d", p, got, want)
		}
	}
	if err := handOver(filepath.Join(dir, "missing"), 10001, 0); err != nil {
		t.Errorf("a data folder that does not exist yet: %v", err)
	}
}
