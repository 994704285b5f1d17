#!/usr/bin/env bash
# Layer benchmark: pier's layer library against umoci and GNU tar.
#
#   Run as root from anywhere:   bash bench/layers/run.sh [ROUNDS]      (default 3 rounds, ~10 min)
#   BENCH_RT=1 bash bench/layers/run.sh [ROUNDS]   runs every timed command (all tools alike) at
#   real-time priority (chrt -r 10): on a machine shared with other work, an approximation of an
#   idle one (the other work waits meanwhile: use it briefly).
#
# What it does: builds pier into a private directory, makes a fresh journaled ext4 on a loop
# device (see DESIGN.md: the root ext4 here has no journal, and inode reuse would make each run
# depend on the one before), generates a deterministic ~500 MB tree (20,000 small text files and
# six 48 MB files, about 2.3:1 compressible), then in every round runs each task's tools one
# after the other, in an order that rotates from round to round (pier first, then second, ...),
# so that no tool always runs first or last on a machine whose load changes:
#   apply-gzip   pier applyLayerFile | tar -xzf | gzip -d >/dev/null (the floor) | umoci unpack
#   apply-zstd   pier applyLayerFile | tar -I zstd -xf | zstd -d >/dev/null (the floor)
#   pack-gzip    pier pack+gzip 6 | tar -I 'gzip -6' -cf
#   pack-zstd    pier pack+zstd 3 | tar -I 'zstd -3' -cf
# and prints the medians (and ranges) of wall and CPU time, with pier's divided by each other
# tool's (< 1: pier faster). The headline peers are `tar` and the decompressor alone (`gzip -d`,
# `zstd -d`: reading and decoding the blob, writing nothing: no apply can be faster than its
# decompression on one core). umoci is a second peer: it also hashes every file it writes for
# its manifest (mtree), work neither pier nor tar does.
# pier runs through bench/layers/driver.mjs, a small script over the library (node startup
# included); its apply is applyLayerFile, as pierd runs it (worker threads, the diff_id checked).
set -euo pipefail

ROUNDS=${1:-3}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (it loop-mounts a scratch ext4)" >&2; exit 1; }
for t in mkfs.ext4 losetup mount umoci tar gzip zstd node npx awk; do
  command -v "$t" >/dev/null || { echo "run.sh: $t is missing (apt-get install -y e2fsprogs umoci tar gzip zstd)" >&2; exit 1; }
done

WORK=$(mktemp -d /var/tmp/pier-bench-layers.XXXXXX)
MNT=$WORK/mnt
cleanup() {
  if mountpoint -q "$MNT"; then umount "$MNT"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Inside the repo so that node finds node_modules.
export PIER_BUILD=$REPO/.build/bench-layers
echo "== building pier into $PIER_BUILD"
# Other parts of the tree may be mid-edit; tsc still emits, and the files used here are checked below.
(cd "$REPO" && npx tsc -p tsconfig.json --outDir "$PIER_BUILD" >/dev/null) || true
for f in layer/apply.js layer/apply-thread.js layer/apply-thread-main.js layer/pack.js layer/compression.js content/local-store.js content/layout.js; do
  [ -f "$PIER_BUILD/$f" ] || { echo "run.sh: build did not produce $f" >&2; exit 1; }
done

echo "== scratch ext4 (journaled) on a loop device"
truncate -s 5G "$WORK/fs.img"
mkfs.ext4 -q -F -O has_journal "$WORK/fs.img"
mkdir -p "$MNT"
mount -o loop "$WORK/fs.img" "$MNT"

D=(node "$REPO/bench/layers/driver.mjs")
echo "== generating the tree and the input layers"
"${D[@]}" gen "$MNT/tree"
"${D[@]}" pack "$MNT/tree" "$MNT/layer.tar.gz" gzip 6
"${D[@]}" pack "$MNT/tree" "$MNT/layer.tar.zst" zstd 3
"${D[@]}" layout "$MNT/layer.tar.gz" "$MNT/oci"
ls -l "$MNT/layer.tar.gz" "$MNT/layer.tar.zst"

PRIO=()
if [ "${BENCH_RT:-0}" = 1 ]; then PRIO=(chrt -r 10); fi
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$WORK/results.tsv
: >"$RES"
# timeit TASK TOOL CMD...: runs CMD once and records wall time and CPU time (user+sys of the
# command and its children: gzip/zstd under tar, threads under node). The CPU figure matters on a
# loaded machine, where wall time mostly measures the scheduler.
timeit() {
  local task=$1 tool=$2
  shift 2
  rm -rf "$MNT/out" "$MNT/out.tar"
  sync
  local TIMEFORMAT='%R %U %S'
  if ! { time "${PRIO[@]}" "$@" >"$WORK/last.log" 2>&1; } 2>"$WORK/time.txt"; then
    echo "run.sh: $task/$tool failed: $*" >&2
    cat "$WORK/last.log" >&2
    exit 1
  fi
  awk -v t="$task" -v o="$tool" -v r="${ROUND:-1}" '{ printf "%s\t%s\t%.3f\t%.3f\t%s\n", t, o, $1, $2 + $3, r }' "$WORK/time.txt" | tee -a "$RES"
}

# One task's tools in a rotating order: round r starts with tool number (r-1) mod n.
# Arguments: TASK ROUND then NAME CMD pairs (CMD a single shell string).
rotate() {
  local task=$1 round=$2
  shift 2
  local -a names=() cmds=()
  while [ $# -gt 0 ]; do
    names+=("$1")
    cmds+=("$2")
    shift 2
  done
  local n=${#names[@]} i k
  for ((i = 0; i < n; i++)); do
    k=$(((round - 1 + i) % n))
    timeit "$task" "${names[k]}" sh -c "${cmds[k]}"
  done
}

P="node '$REPO/bench/layers/driver.mjs'"
for r in $(seq 1 "$ROUNDS"); do
  ROUND=$r
  echo "== round $r/$ROUNDS"
  rotate apply-gzip "$r" \
    pier "mkdir '$MNT/out' && $P apply '$MNT/layer.tar.gz' '$MNT/out' gzip" \
    tar "mkdir '$MNT/out' && tar -xzf '$MNT/layer.tar.gz' -C '$MNT/out'" \
    "gzip-d" "gzip -d -c '$MNT/layer.tar.gz' >/dev/null" \
    umoci "umoci unpack --image '$MNT/oci:t' '$MNT/out'"
  rotate apply-zstd "$r" \
    pier "mkdir '$MNT/out' && $P apply '$MNT/layer.tar.zst' '$MNT/out' zstd" \
    tar "mkdir '$MNT/out' && tar -I zstd -xf '$MNT/layer.tar.zst' -C '$MNT/out'" \
    "zstd-d" "zstd -d -c -q '$MNT/layer.tar.zst' >/dev/null"
  rotate pack-gzip "$r" \
    pier "$P pack '$MNT/tree' '$MNT/out.tar' gzip 6" \
    tar "tar -C '$MNT/tree' -I 'gzip -6' -cf '$MNT/out.tar' ."
  rotate pack-zstd "$r" \
    pier "$P pack '$MNT/tree' '$MNT/out.tar' zstd 3" \
    tar "tar -C '$MNT/tree' -I 'zstd -3' -cf '$MNT/out.tar' ."
done
rm -rf "$MNT/out" "$MNT/out.tar"

echo "== medians over $ROUNDS rounds${PRIO[*]:+ at real-time priority (${PRIO[*]})} ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, $LOAD0 at the start)"
"${D[@]}" report "$RES"
echo "pier/tool < 1 means pier is faster. Ratios are of the medians; 'per round' is the median [range] of"
echo "the ratios of runs in the same round (neighbours in time, so less affected by a changing load)."
