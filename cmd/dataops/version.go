package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at release builds (-ldflags "-X main.version=1.2.3"); a
// go install of a tagged module reports the module's version instead.
var version = "dev"

func init() {
	commands["version"] = command{
		summary: "Print the version of this binary.",
		usage:   "version",
		run:     runVersion,
	}
}

func runVersion(args []string, out, errOut io.Writer) int {
	fs := newFlags("version", commands["version"], errOut)
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	fmt.Fprintln(out, "dataops", buildVersion())
	return exitOK
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}
