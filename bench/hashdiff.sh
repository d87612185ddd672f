#!/usr/bin/env bash
# Cross-warehouse diff (internal/datadiff HashDiff): a PostgreSQL table
# generated with generate_series against its DuckDB copy (the same rows,
# generated with the same expressions, checked equal by checksum), with 0.1%
# of the keys then changed in DuckDB (updates, deletes, inserts). Reports
# time per diff, rows transferred and checksum passes, and, in the same run,
# the baseline: one checksum aggregate over each whole table, both at once.
# 1,000,000 rows by default; DATAOPS_BENCH_ROWS=10000000 for 10 million.
# Needs PostgreSQL (DATAOPS_TEST_POSTGRES, default
# postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
go test ./internal/datadiff/ -run '^$' -bench 'BenchmarkHashDiff$' -benchtime "${BENCHTIME:-3x}" -count 1 -timeout 90m -v
