#!/usr/bin/env bash
# Layer benchmark: pier's layer library against umoci and GNU tar.
#
#   Run as root from anywhere:   bash bench/layers/run.sh [ROUNDS]      (default 3 rounds, ~10 min)
#
# What it does: builds pier into a private directory, makes a fresh journaled ext4 on a loop
# device (see DESIGN.md: the root ext4 here has no journal, and inode reuse would make each run
# depend on the one before), generates a deterministic ~500 MB tree (20,000 small text files and
# six 48 MB files, about 2.3:1 compressible), then in every round runs, alternating the tools:
#   apply-gzip   pier applyLayer  | umoci unpack | tar -xzf
#   apply-zstd   pier applyLayer  | tar -I zstd -xf
#   pack-gzip    pier pack+gzip 6 | tar -I 'gzip -6' -cf
#   pack-zstd    pier pack+zstd 3 | tar -I 'zstd -3' -cf
# and prints the medians of wall and CPU time, with pier's divided by the other tool's
# (< 1: pier faster).
# pier runs through bench/layers/driver.mjs, a small script over the library (node startup included).
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
  if ! { time "$@" >"$WORK/last.log" 2>&1; } 2>"$WORK/time.txt"; then
    echo "run.sh: $task/$tool failed: $*" >&2
    cat "$WORK/last.log" >&2
    exit 1
  fi
  awk -v t="$task" -v o="$tool" '{ printf "%s\t%s\t%.3f\t%.3f\n", t, o, $1, $2 + $3 }' "$WORK/time.txt" | tee -a "$RES"
}

for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS"
  timeit apply-gzip pier "${D[@]}" apply "$MNT/layer.tar.gz" "$MNT/out" gzip
  timeit apply-gzip umoci umoci unpack --image "$MNT/oci:t" "$MNT/out"
  timeit apply-gzip tar sh -c "mkdir '$MNT/out' && tar -xzf '$MNT/layer.tar.gz' -C '$MNT/out'"
  timeit apply-zstd pier "${D[@]}" apply "$MNT/layer.tar.zst" "$MNT/out" zstd
  timeit apply-zstd tar sh -c "mkdir '$MNT/out' && tar -I zstd -xf '$MNT/layer.tar.zst' -C '$MNT/out'"
  timeit pack-gzip pier "${D[@]}" pack "$MNT/tree" "$MNT/out.tar" gzip 6
  timeit pack-gzip tar tar -C "$MNT/tree" -I "gzip -6" -cf "$MNT/out.tar" .
  timeit pack-zstd pier "${D[@]}" pack "$MNT/tree" "$MNT/out.tar" zstd 3
  timeit pack-zstd tar tar -C "$MNT/tree" -I "zstd -3" -cf "$MNT/out.tar" .
done
rm -rf "$MNT/out" "$MNT/out.tar"

echo "== medians over $ROUNDS rounds ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
"${D[@]}" report "$RES"
echo "pier/tool < 1 means pier is faster."
