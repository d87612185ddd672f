#!/usr/bin/env bash
# dataops deps: installing three hub packages (one transitive) from the
# hub's httptest double, resolving and from the lock, against downloading
# and untarring the same tarballs with no checks; and the safe extractor
# against a plain one. The ratios (x-baseline) are measured interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./internal/deps/ -run '^$' -bench 'BenchmarkInstall|BenchmarkExtract' -benchtime 30x -count 5 -cpu 2
