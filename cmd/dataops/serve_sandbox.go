package main

import (
	"os"

	"github.com/dataops-dev/dataops/internal/sandbox"
)

// The bot compiles each pull request's project in a child process: this
// binary again, which becomes the compile and nothing else when the
// sandbox's variable says so. It runs before anything else of the program,
// tests included (their binary is the child of the in-process bot).
func init() {
	if status, ok := sandbox.Child(); ok {
		os.Exit(status)
	}
}
