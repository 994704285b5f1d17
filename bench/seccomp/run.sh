#!/usr/bin/env bash
# Seccomp benchmark: syscall cost under Docker's default profile, pier's compiled filter vs the
# filter libseccomp builds for the same profile (as runc would), on
# `busybox dd if=/dev/zero of=/dev/null bs=1 count=2000000` (about four million syscalls) and on
# two million personality(0xffffffff) calls (an argument rule: the filter runs on each call).
# Alternates pier / libseccomp / no filter, prints medians, ratios and both instruction counts.
#
# Usage: bench/seccomp/run.sh [rounds]   (default 7). Needs: gcc, libseccomp-dev, busybox-static.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-7}"
for need in gcc /bin/busybox /usr/include/seccomp.h; do
  if ! command -v "$need" >/dev/null 2>&1 && [ ! -e "$need" ]; then
    echo "missing $need: apt-get install -y gcc libseccomp-dev busybox-static" >&2
    exit 1
  fi
done
work="$(mktemp -d /tmp/pier-bench-seccomp.XXXXXX)"
trap 'rm -rf "$work"' EXIT
build="$PWD/.build/bench-seccomp"
# Other parts may be mid-edit; the seccomp modules only need to be emitted.
npx tsc -p tsconfig.json --outDir "$build" >/dev/null 2>&1 || true
test -f "$build/runtime/seccomp/compile.js" || { echo "TypeScript build failed" >&2; exit 1; }
gcc -O2 -o "$work/pier-loader" src/runtime/seccomp/testdata/loader.c
gcc -O2 -o "$work/libseccomp-loader" src/runtime/seccomp/testdata/libseccomp-loader.c -lseccomp
gcc -O2 -o "$work/syscall-loop" bench/seccomp/syscall-loop.c
node bench/seccomp/bench.mjs "$build" "$work" "$work/pier-loader" "$work/libseccomp-loader" "$work/syscall-loop" "$rounds"
