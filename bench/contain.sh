#!/usr/bin/env bash
# The cost of compiling a pull request's head in a child process (the bot's
# containment) on the demo's pull request: the whole pipeline with and
# without it, alternating in one process, and one compile alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
go test ./cmd/dataops/ -run '^$' -bench 'BenchmarkContainedCompile' -benchtime "${BENCHTIME:-30x}" -count "${COUNT:-5}"
