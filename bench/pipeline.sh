#!/usr/bin/env bash
# The whole pipeline on the demo's pull request (DuckDB): event to last check
# completed and comment posted, with each stage's share of the time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
go test ./cmd/dataops/ -run '^$' -bench BenchmarkDemoPipeline -benchtime 10x -count 3
