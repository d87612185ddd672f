#!/usr/bin/env bash
# Webhook intake of `dataops serve` under load: 2,000 signed GitHub
# deliveries (10% redeliveries: same X-GitHub-Delivery id and body), half
# pull_request.synchronize (28 KB) and half /dataops commands (11 KB), sent
# over loopback by N concurrent senders (each sends its next delivery when
# the previous one is answered) to a bot without workers. Three intakes
# answer in turn at each concurrency, in the same run:
#
#   noop    a handler that reads the body and answers 202 (HTTP alone)
#   memory  the bot's server and intake (signature, parsing, dedupe) with an
#           in-memory dedupe instead of the store: the baseline
#   sqlite  the bot as shipped: durable SQLite store (WAL, synchronous=FULL)
#
# Each run checks that nothing was lost and no redelivery was queued. Then,
# unless WORKERS=0, the same load of /dataops help commands goes to a bot
# with two workers, which must work each command exactly once.
#
#   bench/serve.sh                                  # 16, 64, 256, 2000 in flight, once
#   COUNT=5 bench/serve.sh                          # five rounds; the summary takes medians
#   DATAOPS_BENCH_INFLIGHT=16,64 COUNT=5 WORKERS=0 bench/serve.sh
#   DATAOPS_BENCH_COMMAND=help ...                  # /dataops help commands: not pinned, no GitHub read
#
# The commands are /dataops plan by default, which the intake pins to the
# pull request's head read from GitHub (here the OpenAPI-checked double, in
# the same process).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="$(mktemp)"
trap 'rm -f "$out"' EXIT

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# One go test per round rather than -count, which would repeat each
# intake back to back: rounds interleave the three, so that the machine's
# other load falls on all of them alike.
for _ in $(seq "${COUNT:-1}"); do
	go test ./cmd/dataops/ -run '^$' -bench "${BENCH:-BenchmarkServeIntake}" -benchtime "${BENCHTIME:-1x}" \
		-count 1 -timeout 1h | tee -a "$out"
done
if [ "${WORKERS:-1}" != 0 ]; then
	DATAOPS_BENCH_SERVE=1 go test ./cmd/dataops/ -run '^TestServeLoadWithWorkers$' -count 1 -timeout 1h -v | tee -a "$out"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
awk '
function median(key, n,    i, j, t, a) {
	for (i = 1; i <= n; i++) a[i] = runs[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
BEGIN { printf "%8s %-7s %9s %9s %9s %13s %9s\n", "inflight", "intake", "p50 ms", "p99 ms", "max ms", "deliveries/s", "store KB" }
/^BenchmarkServeIntake\// {
	split($1, name, "/"); inflight = name[2]; intake = name[3]
	sub(/^inflight=/, "", inflight); sub(/^intake=/, "", intake); sub(/-[0-9]+$/, "", intake)
	delete v
	for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i
	printf "%8s %-7s %9.2f %9.2f %9.1f %13.0f %9s\n", inflight, intake, v["p50-ms"], v["p99-ms"], v["max-ms"], v["deliveries/s"], \
		(v["store-KB/delivery"] == "" ? "-" : sprintf("%.1f", v["store-KB/delivery"]))
	if (!(inflight in seen)) { seen[inflight] = 1; levels[++nlevels] = inflight }
	n = ++count[inflight, intake]
	runs[inflight "/" intake "/p50", n] = v["p50-ms"]; runs[inflight "/" intake "/p99", n] = v["p99-ms"]
	runs[inflight "/" intake "/tput", n] = v["deliveries/s"]
}
/^LOAD-WITH-WORKERS / {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); w[kv[1]] = kv[2] }
	workers = sprintf("%8s %-7s %9.2f %9.2f %9.1f %13.0f   (2 workers running: %s jobs, each worked once; queue drained %ss after the last answer)", \
		w["inflight"], "workers", w["p50-ms"], w["p99-ms"], w["max-ms"], w["deliveries/s"], w["jobs"], w["drained-s"])
	print workers
}
END {
	printf "\nmedians (%s): durable SQLite intake against the same-run baselines\n", "per concurrency"
	printf "%8s %16s %16s %16s %12s %12s %10s\n", "inflight", "noop p50/p99", "memory p50/p99", "sqlite p50/p99", "p50 ratio", "p99 ratio", "p99<50ms"
	for (l = 1; l <= nlevels; l++) {
		L = levels[l]
		for (k = 1; k <= 3; k++) {
			it = (k == 1 ? "noop" : k == 2 ? "memory" : "sqlite")
			c = count[L, it]
			m50[it] = c ? median(L "/" it "/p50", c) : 0; m99[it] = c ? median(L "/" it "/p99", c) : 0
		}
		r50 = m50["memory"] > 0 ? sprintf("%.2fx", m50["sqlite"] / m50["memory"]) : "-"
		r99 = m99["memory"] > 0 ? sprintf("%.2fx", m99["sqlite"] / m99["memory"]) : "-"
		printf "%8s %16s %16s %16s %12s %12s %10s\n", L, sprintf("%.1f/%.1f", m50["noop"], m99["noop"]), \
			sprintf("%.1f/%.1f", m50["memory"], m99["memory"]), sprintf("%.1f/%.1f", m50["sqlite"], m99["sqlite"]), r50, r99, \
			(m99["sqlite"] < 50 ? "yes" : "no")
	}
	print "(ratios: sqlite over memory, the same server and intake without the durable store)"
}' "$out"
