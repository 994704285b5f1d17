#!/usr/bin/env bash
# Checkpoint and restore time, pier-runtime vs runc, both driving the same CRIU (pier's private
# CRIU 4, first in PATH for runc), of a busybox container holding 50 MB and 500 MB of touched
# memory; alternating runtimes, medians. Then the engine rows (engine.mjs): pierd vs podman 4.3
# with runc, a counting busybox container (and one holding 50 MB): checkpoint/restore in place,
# export/import of the archive, pierd's migration downtime to a second pierd.
#
#   bash bench/checkpoint/run.sh [ITERATIONS] [engine]   (default 5; as root; CRIU from scripts/install-criu.sh;
#                                                          "engine": the engine rows only)
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
[ "${2:-}" = engine ] || node bench/checkpoint/bench.mjs "$PWD" "$work" "$iterations"
node bench/checkpoint/engine.mjs "$PWD" "$work" "$iterations"
