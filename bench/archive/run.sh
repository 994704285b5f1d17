#!/usr/bin/env bash
# Archive benchmark: pier's docker-archive / OCI archive import and export against skopeo.
#
#   Run from the repository root:   bash bench/archive/run.sh [ROUNDS]     (default 5 rounds, ~3 min)
#
# What it does: builds pier into a private directory, makes an OCI layout with umoci holding one
# image whose single gzip layer carries ~300 MB (half random, half compressible text), then in
# every round runs each case with pier and skopeo, alternating which goes first:
#   export-docker  oci layout -> docker-archive (gzip layer decompressed on the fly)
#   import-docker  docker-archive -> oci layout (layers kept uncompressed by both:
#                  skopeo --dest-oci-accept-uncompressed-layers)
#   export-oci     oci layout -> oci-archive
#   import-oci     oci-archive -> oci layout
# and prints the median of each and pier's time divided by skopeo's (< 1: pier faster).
# pier runs through bench/archive/driver.mjs (node startup included). Few files are created,
# so the work directory is a plain temp directory.
set -euo pipefail
ROUNDS=${1:-5}
cd "$(dirname "$0")/../.."
for tool in skopeo umoci node; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; done
export PIER_BUILD="$PWD/.build/bench-archive"
npx tsc -p tsconfig.json --outDir "$PIER_BUILD" >/dev/null || true
[ -f "$PIER_BUILD/image/archive/docker-archive.js" ] || { echo "build failed" >&2; exit 1; }
DRIVER="$PWD/bench/archive/driver.mjs"
WORK=$(mktemp -d /tmp/pier-bench-archive.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
umoci init --layout src >/dev/null
umoci new --image src:t >/dev/null
umoci unpack --image src:t bundle >/dev/null 2>&1
head -c 150M /dev/urandom > bundle/rootfs/random.bin
{ yes "the quick brown fox jumps over the lazy dog $RANDOM" || true; } | head -c 150M > bundle/rootfs/text.txt
umoci repack --image src:t bundle >/dev/null
rm -rf bundle
skopeo copy -q oci:src:t docker-archive:ref-docker.tar:bench/img:t
skopeo copy -q oci:src:t oci-archive:ref-oci.tar:t
RESULTS="$WORK/results.tsv"
: > "$RESULTS"
now() { date +%s.%N; }
measure() { # case tool command...
  local c=$1 tool=$2; shift 2
  rm -rf out out.tar; sync
  local t0; t0=$(now)
  "$@" >/dev/null
  printf '%s\t%s\t%s\n' "$c" "$tool" "$(echo "$(now) - $t0" | bc)" >> "$RESULTS"
}
run_case() { # case pier-cmd... -- skopeo-cmd...
  local c=$1 round=$2; shift 2
  local pier=() sk=()
  while [ "$1" != "--" ]; do pier+=("$1"); shift; done; shift
  sk=("$@")
  if (( round % 2 )); then measure "$c" pier "${pier[@]}"; measure "$c" skopeo "${sk[@]}"
  else measure "$c" skopeo "${sk[@]}"; measure "$c" pier "${pier[@]}"; fi
}
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS" >&2
  run_case export-docker "$r" node "$DRIVER" export-docker src t out.tar -- skopeo copy -q oci:src:t docker-archive:out.tar:bench/img:t
  run_case import-docker "$r" node "$DRIVER" import-docker ref-docker.tar out -- \
    skopeo copy -q --dest-oci-accept-uncompressed-layers docker-archive:ref-docker.tar oci:out:t
  run_case export-oci "$r" node "$DRIVER" export-oci src t out.tar -- skopeo copy -q oci:src:t oci-archive:out.tar:t
  run_case import-oci "$r" node "$DRIVER" import-oci ref-oci.tar out -- skopeo copy -q oci-archive:ref-oci.tar oci:out:t
done
node "$DRIVER" report "$RESULTS"
