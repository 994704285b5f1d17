#!/usr/bin/env bash
# Checkpoint and restore time, pier-runtime vs runc, both driving the same CRIU (pier's private
# CRIU 4, first in PATH for runc), of a busybox container holding 50 MB and 500 MB of touched
# memory; alternating runtimes, medians.
#
#   bash bench/checkpoint/run.sh [ITERATIONS]      (default 5; as root; CRIU from scripts/install-criu.sh)
#
# Images go to /var/tmp (disk), as podman's userdata would.
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations=${1:-5}
npx tsc -p tsconfig.json >/dev/null
sh native/build.sh
criu=${PIER_CRIU:-/usr/local/lib/pier/criu/bin/criu}
[ -x "$criu" ] || { echo "no CRIU 4 at $criu: run scripts/install-criu.sh" >&2; exit 1; }
export PATH="$(dirname "$criu"):$PATH"
work=$(mktemp -d /var/tmp/pier-bench-checkpoint.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
node bench/checkpoint/bench.mjs "$PWD" "$work" "$iterations"
