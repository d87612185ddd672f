#!/usr/bin/env bash
# Profiling a relation (internal/profile.Run) against one scan of it, timed
# in the same run: SELECT count(*), sum(<the engine's hash of every column>)
# (DuckDB's hash(...), PostgreSQL's hash_record(ROW(...))). The table has the
# diff benchmark's columns (1M rows by default; DATAOPS_BENCH_ROWS=10000000
# for the target size), generated inside the engine; PostgreSQL's is VACUUM
# ANALYZEd. Each query runs once to warm the caches, then the timed runs
# alternate scan and profile. "key" samples by the hash of id (a model with
# a unique key), "nokey" by the hash of whole rows. PostgreSQL at
# DATAOPS_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test),
# DuckDB in memory.
#
#   bench/profile.sh                                  # 1M rows, both engines
#   DATAOPS_BENCH_ROWS=10000000 bench/profile.sh      # the target
#   DATAOPS_BENCH_ROWS=10000000 BENCH=BenchmarkProfile/postgres COUNT=3 bench/profile.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DATAOPS_BENCH_ROWS="${DATAOPS_BENCH_ROWS:-1000000}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

echo "load before: $(uptime)"
go test ./internal/profile/ -run '^$' -bench "${BENCH:-BenchmarkProfile}" -benchtime "${BENCHTIME:-5x}" \
	-count "${COUNT:-1}" -timeout 3h | tee "$out"
echo "load after: $(uptime)"

echo
awk '
BEGIN { printf "%-9s %10s %-6s %8s %10s %7s\n", "engine", "rows", "sample", "scan s", "profile s", "ratio" }
/^BenchmarkProfile\// {
	split($1, name, "/"); engine = name[2]; rows = name[3]; sub(/^rows=/, "", rows); key = name[4]; sub(/-[0-9]+$/, "", key)
	for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i
	printf "%-9s %10s %-6s %8.3f %10.3f %7.2f\n", engine, rows, key, v["scan-ns/op"] / 1e9, v["ns/op"] / 1e9, v["ratio"]
}' "$out"
