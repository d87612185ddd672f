#!/usr/bin/env bash
# Compile throughput of internal/project on synthetic projects of 1,000 and
# 5,000 models (internal/project/projecttest), against the baseline of only
# decoding the same projects' YAML, in the same run.
# Targets: 1,000 models under 0.3 s/op, 5,000 under 1.5 s/op.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="$(mktemp)"
trap 'rm -f "$out"' EXIT

go test ./internal/project/ -run '^$' -bench 'BenchmarkCompile|BenchmarkReadYAML' \
	-benchmem -count 5 -cpu 2 | tee "$out"

if command -v benchstat >/dev/null 2>&1; then
	echo
	benchstat "$out"
fi
