package main

import (
	"context"
	"io"
	"os"
	"os/signal"

	"github.com/dataops-dev/dataops/action"
)

func init() {
	commands["action"] = command{
		summary: "Run as a CI step: the GitHub Action (event file and INPUT_* variables) or a GitLab CI job (CI_* variables).",
		usage:   "action   (configured through the CI's environment; see README.md)",
		run:     runAction,
	}
}

func runAction(args []string, out, errOut io.Writer) int {
	fs := newFlags("action", commands["action"], errOut)
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return action.Run(ctx, os.Environ(), out)
}
