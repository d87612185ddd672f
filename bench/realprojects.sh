#!/usr/bin/env bash
# Real dbt projects: compile each project folder under DIR (fetched public
# projects with their packages installed in dbt_packages/, never committed)
# and print, per project, the share of models that compile, the errors
# grouped by cause with the models each keeps from compiling, the compile
# time against a baseline measured in the same run (only loading the
# project: reading its files and parsing its YAML), and, where the project
# ships a manifest.json written by dbt, the share of models whose compiled
# SQL is identical to dbt's compiled_code once relation names are
# normalised (only models whose raw code matches the manifest's count).
#
#   bench/realprojects.sh /tmp/realprojects/projects
#   bench/realprojects.sh -examples -only gitlab /tmp/realprojects/projects
#   bench/realprojects.sh -type postgres DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ $# -lt 1 ]; then
	echo "usage: bench/realprojects.sh [-type duckdb|postgres] [-examples] [-only NAME] DIR" >&2
	exit 2
fi
args=()
for a in "$@"; do
	case "$a" in
	-* | duckdb | postgres | [0-9]*) args+=("$a") ;;
	*) [ -d "$a" ] && args+=("$(cd "$a" && pwd)") || args+=("$a") ;;
	esac
done
go run ./bench/realprojects "${args[@]}"
