#!/usr/bin/env bash
# Same-warehouse data diff (internal/datadiff.Join) against its lower bound,
# timed in the same run: one full outer join of the two tables with one
# count per compared column and nothing else. The tables (1M rows each by
# default; DATAOPS_BENCH_ROWS=1000000,10000000 for more) are generated inside
# the engine, with 0.07% of keys differing; PostgreSQL's are VACUUM ANALYZEd,
# and each query runs once to warm the caches before the timed runs, which
# alternate lower bound and Join. PostgreSQL at
# DATAOPS_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test),
# DuckDB in memory for reference.
#
#   bench/diff.sh                                   # 1M rows, both engines
#   DATAOPS_BENCH_ROWS=10000000 BENCH=BenchmarkJoin/postgres bench/diff.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DATAOPS_BENCH_ROWS="${DATAOPS_BENCH_ROWS:-1000000}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

go test ./internal/datadiff/ -run '^$' -bench "${BENCH:-BenchmarkJoin}" -benchtime "${BENCHTIME:-3x}" \
	-count "${COUNT:-1}" -timeout 3h | tee "$out"

echo
awk '
BEGIN { printf "%-9s %10s %15s %9s %7s %13s\n", "engine", "rows", "lower bound s", "Join s", "ratio", "peak heap MB" }
/^BenchmarkJoin\// {
	split($1, name, "/"); engine = name[2]; rows = name[3]; sub(/^rows=/, "", rows); sub(/-[0-9]+$/, "", rows)
	for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i
	printf "%-9s %10s %15.2f %9.2f %7.2f %13.1f\n", engine, rows, v["lowerbound-ns/op"] / 1e9, v["ns/op"] / 1e9, v["ratio"], v["peak-heap-MB"]
}' "$out"
