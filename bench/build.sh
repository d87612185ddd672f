#!/usr/bin/env bash
# Pull-request build against a 500-model project (internal/build): production
# is built once, then a change to 3 models is built into an environment that
# defers everything else to production. The baseline, in the same run, builds
# all 500 models into that environment. DuckDB always; PostgreSQL when
# reachable (DATAOPS_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
go test ./internal/build/ -run '^$' -bench BenchmarkPullRequestBuild -benchtime 3x -count 1 -timeout 30m
