package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/dataops-dev/dataops/internal/store"
)

// The image runs everything as root, as GitHub requires of a container
// action. The bot should not run as root: started as root with
// DATAOPS_USER set (the image sets 10001:0, its user dataops), it reads
// its secrets first, since files mounted with mode 600 are often
// readable by root alone, then gives its data folder (DATAOPS_DATA_DIR)
// to that user, as the official database images do, and runs as that user
// from then on. Started as any other user, it runs as that user.

// runAsDataUser switches the process to DATAOPS_USER when it runs as root.
// It is called once the secrets are read and before the store is opened.
func runAsDataUser(getenv func(string) string, logger *slog.Logger) error {
	spec := getenv("DATAOPS_USER")
	if spec == "" || os.Geteuid() != 0 {
		return nil
	}
	uid, gid, err := parseUser(spec)
	if err != nil {
		return fmt.Errorf("DATAOPS_USER=%s: %w", spec, err)
	}
	if uid == 0 {
		return nil
	}
	if dir := getenv("DATAOPS_DATA_DIR"); dir != "" {
		if err := handOver(dir, uid, gid); err != nil {
			return fmt.Errorf("give the data folder %s (DATAOPS_DATA_DIR) to uid %d: %w", dir, uid, err)
		}
	}
	// Go applies these to every thread of the process.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop the supplementary groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("run as gid %d (DATAOPS_USER): %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("run as uid %d (DATAOPS_USER): %w", uid, err)
	}
	logger.Info("running as the data user after reading the secrets", "uid", uid, "gid", gid)
	return nil
}

// parseUser reads "uid[:gid]" or "name[:group]"; a user without a group
// gets its own primary group.
func parseUser(spec string) (uid, gid int, err error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	uid, err = strconv.Atoi(name)
	gid = uid
	if err != nil {
		u, lerr := user.Lookup(name)
		if lerr != nil {
			return 0, 0, fmt.Errorf("no user %q: give uid:gid, e.g. 10001:0", name)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if hasGroup {
		if gid, err = strconv.Atoi(group); err != nil {
			g, lerr := user.LookupGroup(group)
			if lerr != nil {
				return 0, 0, fmt.Errorf("no group %q: give uid:gid, e.g. 10001:0", group)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	return uid, gid, nil
}

// handOver gives dir and what it holds (not below) to uid:gid where they
// belong to someone else: a host folder or volume created by root, or the
// files an earlier run as root left there.
func handOver(dir string, uid, gid int) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	paths := []string{dir}
	for _, e := range entries {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	for _, p := range paths {
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
			continue
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// checkStoreFolder says plainly when a SQLite store cannot be created
// where it is configured (SQLite itself says only "unable to open
// database file").
func checkStoreFolder(url string) error {
	path, ok := sqlitePath(url)
	if !ok {
		return nil
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil
	}
	const writable = 2 // W_OK
	if err := syscall.Access(dir, writable); err != nil {
		return fmt.Errorf("store %s: the folder %s is not writable by uid %d (%v): keep the store in the data folder (store: /var/lib/dataops/dataops.db, a volume in the image), or give the folder to this user", path, dir, os.Geteuid(), err)
	}
	return nil
}

// sqlitePath is the file of a SQLite store URL (see store.OpenWith).
func sqlitePath(url string) (string, bool) {
	switch {
	case url == "":
		return store.DefaultPath, true
	case strings.HasPrefix(url, "sqlite:"):
		return strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:"), true
	case strings.Contains(url, "://"):
		return "", false
	}
	return url, true
}
