#!/usr/bin/env bash
# The run page of a 5,000-model project's report (web/bench_test.go): the
# whole request (session, the run and its report read from a SQLite store,
# decoded, rendered) on a report's first view and on the views after it,
# against rendering the pull request's comment of the same report, in the
# same run. ns/op is wall time; cpu-ms/op the process's CPU time per
# request (garbage collection included), which others' load on the machine
# does not inflate.
#
#   bench/web.sh            # five rounds of 20 requests each
#   COUNT=1 bench/web.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test ./web/ -run '^$' -bench BenchmarkRunPage -benchtime "${BENCHTIME:-20x}" -count "${COUNT:-5}" -benchmem -v |
	grep -E 'models;|^Benchmark'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
