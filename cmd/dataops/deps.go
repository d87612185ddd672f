package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dataops-dev/dataops/internal/deps"
)

func init() {
	commands["deps"] = command{
		summary: "Install the packages of packages.yml (or dependencies.yml) into dbt_packages/, as dbt deps does.",
		usage:   "deps [--project DIR] [--upgrade] [--lock] [--hub-url URL]",
		run:     runDeps,
	}
}

func runDeps(args []string, out, errOut io.Writer) int {
	fs := newFlags("deps", commands["deps"], errOut)
	dir := fs.String("project", ".", "the folder holding dbt_project.yml")
	upgrade := fs.Bool("upgrade", false, "resolve the packages again even when package-lock.yml matches them, and rewrite the lock")
	lockOnly := fs.Bool("lock", false, "resolve the packages and write package-lock.yml without installing them")
	hubURL := fs.String("hub-url", "", "the dbt package hub (default: $DBT_PACKAGE_HUB_URL, else "+deps.DefaultHubURL+")")
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(errOut, "deps", "unexpected argument %q (dataops deps installs every package of packages.yml)", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	opts := deps.Options{Upgrade: *upgrade, LockOnly: *lockOnly, HubURL: *hubURL, Progress: func(p deps.Installed) {
		fmt.Fprintf(errOut, "Installing %s: %s\n", p.Name, p)
	}}
	res, err := deps.Install(ctx, *dir, opts)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintf(errOut, "warning: %s\n", w)
		}
	}
	if err != nil {
		fmt.Fprintf(errOut, "dataops deps: %v\n", err)
		fmt.Fprintln(errOut, "Nothing was changed: dbt_packages/ and package-lock.yml are as they were.")
		if deps.IsConfig(err) {
			return exitUsage
		}
		return exitFailure
	}
	lock := filepath.Join(*dir, deps.LockFile)
	switch {
	case res.Nothing:
		fmt.Fprintf(out, "No packages in %s or %s: nothing to install.\n", deps.PackagesFile, deps.DependenciesFile)
	case *lockOnly && res.LockWritten:
		fmt.Fprintf(out, "Wrote %s: %s.\n", lock, plural(len(res.Packages), "package"))
	case *lockOnly:
		fmt.Fprintf(out, "%s is up to date: %s.\n", lock, plural(len(res.Packages), "package"))
	default:
		where := res.InstallPath
		if rel, err := filepath.Rel(mustAbs(*dir), res.InstallPath); err == nil {
			where = filepath.Join(*dir, rel)
		}
		how := "as " + deps.LockFile + " pins them"
		if !res.FromLock {
			how = "wrote " + lock
		}
		fmt.Fprintf(out, "Installed %s into %s in %s (%s).\n", plural(len(res.Packages), "package"), where, time.Since(start).Round(time.Millisecond), how)
	}
	return exitOK
}

func mustAbs(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
