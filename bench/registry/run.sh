#!/usr/bin/env bash
# Registry benchmark: pier's registry vs Debian's docker-registry (distribution 2.8) on the same
# disk, alternating A B / B A each round, medians and ratios:
#   (a) skopeo push then pull of a 1 GiB image of five layers (wall time),
#   (b) manifest GET (wrk) and blob HEAD (ab -i, as wrk cannot HEAD) requests per second,
#       64 connections, 10 s each,
#   (c) peak resident memory of the registry process under that load;
#   pier runs as users run it (`pier registry serve`), both with their access logs off; a bare
#   node:http server answering the same manifest from memory gives the floor of a Node.js server.
#
# Usage: bench/registry/run.sh [rounds]   (default 3)
# Needs: skopeo, wrk, ab, docker-registry (apt-get install -y skopeo wrk apache2-utils docker-registry).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
for need in skopeo wrk ab docker-registry tar; do
  command -v "$need" >/dev/null 2>&1 || { echo "missing $need: apt-get install -y skopeo wrk apache2-utils docker-registry" >&2; exit 1; }
done
work="$(mktemp -d /tmp/pier-bench-registry.XXXXXX)"
trap 'rm -rf "$work"' EXIT
build="$PWD/.build/bench-registry"
# Other parts may be mid-edit; the registry modules only need to be emitted.
npx tsc -p tsconfig.json --outDir "$build" >/dev/null 2>&1 || true
test -f "$build/cli/pier.js" || { echo "TypeScript build failed" >&2; exit 1; }
node bench/registry/bench.mjs "$build" "$work" "$rounds"
