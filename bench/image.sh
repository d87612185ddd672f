#!/usr/bin/env bash
# The image's build time and size, before and after, on the same source and
# machine in one run:
#
#   before  the Dockerfile of $BEFORE (default 4e07fa1): `go mod download` of
#           every module, no build caches, git and ca-certificates from apt
#   after   this Dockerfile: only the modules the binary links, BuildKit
#           cache mounts for the modules and the Go build cache
#
# Each is built cold (the build cache pruned; the base images stay), then
# again after a one-line change to one package (cmd/dataops), which is what
# a developer's or CI's next build is. Also: the Go module cache each way
# fills, and the images' sizes. Wall time moves with the machine's other
# load; the CPU time of the build (dockerd and every process it ran, its
# BuildKit executor's included) much less. Needs Docker with BuildKit and
# the base images (../shared/tools/docker-base-images.sh makes them here).
#
#   bench/image.sh
#   BEFORE=<commit> bench/image.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
before=${BEFORE:-4e07fa1}

# A docker command that builds with BuildKit (as image/docker_test.go picks).
if docker buildx version >/dev/null 2>&1; then
  build=(docker buildx build --load --allow network.host)
else
  build=()
  while read -r d; do
    v=$("$d" version --format '{{.Client.Version}}' 2>/dev/null || true)
    if [[ -n "$v" && ${v%%.*} -lt 23 ]]; then build=(env DOCKER_BUILDKIT=1 "$d" build); break; fi
  done < <(type -ap docker)
  [[ ${#build[@]} -gt 0 ]] || { echo "bench/image.sh: no docker command builds with BuildKit" >&2; exit 1; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for side in before after; do
  mkdir -p "$work/$side"
  git archive HEAD | tar -x -C "$work/$side"
done
git show "$before:Dockerfile" >"$work/before/Dockerfile"
rm -f "$work/before/.dockerignore" # it had none

dockerd=$(pidof dockerd) || { echo "bench/image.sh: no dockerd on this machine to measure" >&2; exit 1; }
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14 + $15 + $16 + $17) / t}' "/proc/$dockerd/stat"; }

measure() { # side tag: prints "wall cpu" in seconds
  local start end c0 c1
  c0=$(cpu)
  start=$(date +%s.%N)
  "${build[@]}" --network host -q -t "$2" "$work/$1" >/dev/null 2>&1
  end=$(date +%s.%N)
  c1=$(cpu)
  echo "$(echo "$end - $start" | bc) $(echo "$c1 - $c0" | bc)"
}
size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f", $1 / 1000000}'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A cold change
for side in before after; do
  docker builder prune -af >/dev/null 2>&1
  cold[$side]=$(measure "$side" "dataops:bench-$side")
  echo "$side, cold: ${cold[$side]} (wall and CPU seconds)"
  echo "// bench: a one-line change" >>"$work/$side/cmd/dataops/version.go"
  change[$side]=$(measure "$side" "dataops:bench-$side")
  echo "$side, after a one-package change: ${change[$side]}"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The module cache each build fills: every module (go mod download), or
# those of the packages the binary compiles (what go build downloads).
mods() {
  local cache
  cache=$(mktemp -d)
  (cd "$work/after" && GOMODCACHE="$cache" GOFLAGS=-modcacherw "$@" >/dev/null)
  du -sm "$cache" | cut -f1
  rm -rf "$cache"
}
mods_before=$(mods go mod download)
mods_after=$(mods go list -deps ./cmd/dataops)

row() { # label "before-wall before-cpu" "after-wall after-cpu" field(1 wall, 2 cpu)
  local b a
  b=$(echo "$2" | cut -d' ' -f"$4")
  a=$(echo "$3" | cut -d' ' -f"$4")
  printf '%-34s %9.0fs %9.0fs %8.2f\n' "$1" "$b" "$a" "$(echo "$a / $b" | bc -l)"
}
printf '\n%-34s %10s %10s %8s\n' "" before after ratio
row "cold build, wall" "${cold[before]}" "${cold[after]}" 1
row "cold build, CPU" "${cold[before]}" "${cold[after]}" 2
row "after a one-package change, wall" "${change[before]}" "${change[after]}" 1
row "after a one-package change, CPU" "${change[before]}" "${change[after]}" 2
printf '%-34s %8sMB %8sMB %8.2f\n' "image size" "$(size dataops:bench-before)" "$(size dataops:bench-after)" "$(echo "$(size dataops:bench-after) / $(size dataops:bench-before)" | bc -l)"
printf '%-34s %8sMB %8sMB %8.2f\n' "Go modules downloaded (unpacked)" "$mods_before" "$mods_after" "$(echo "$mods_after / $mods_before" | bc -l)"
docker image rm dataops:bench-before dataops:bench-after >/dev/null
