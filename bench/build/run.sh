#!/usr/bin/env bash
# Build benchmark: `pier build` against Debian's Buildah 1.28 (`buildah bud --layers`), same
# Dockerfile, same 5,000-file context, same base image served by a pier registry on loopback.
#
#   Run as root from the repository:   bash bench/build/run.sh [ROUNDS]     (default 5 rounds)
#
# The Dockerfile (bench/build/gen.mjs) has two stages and six steps after the FROMs: WORKDIR,
# COPY of the 5,000 files, RUN, COPY --from, COPY --from, RUN, CMD. Every round runs, alternating
# the tools:
#   cold   a build with --no-cache (the base image already in each tool's store)
#   touch  a rebuild after `touch` of one file (mtime only: both key COPY by content)
#   edit   a rebuild after changing one file's content (the COPY and every later step rerun)
# and the medians of the wall times are printed with pier's divided by buildah's (< 1: pier faster).
# pier runs as users run it: `node dist/cli/pier.js build` (node startup included).
set -euo pipefail

ROUNDS=${1:-5}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }
for t in buildah node awk; do
  command -v "$t" >/dev/null || { echo "run.sh: $t is missing (apt-get install -y buildah)" >&2; exit 1; }
done
[ -f "$REPO/dist/cli/pier.js" ] || { echo "run.sh: run npm run build first" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/pier-bench-build.XXXXXX)
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null || true
  buildah --root "$WORK/buildah/root" --runroot "$WORK/buildah/run" --storage-driver overlay rm --all >/dev/null 2>&1 || true
  # buildah's overlay storage leaves mounts behind its layers.
  grep -o "$WORK[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PIER=(node "$REPO/dist/cli/pier.js" --root "$WORK/pier")
PORT=$((20000 + RANDOM % 20000))
echo "== base image: busybox, served by pier's registry on 127.0.0.1:$PORT"
mkdir -p "$WORK/rootfs"
node -e "import('$REPO/dist/testing/busybox.js').then(m => m.writeBusyboxRootfs('$WORK/rootfs'))"
"${PIER[@]}" image create "$WORK/rootfs" --tag "127.0.0.1:$PORT/busybox:latest" --cmd '["sh"]' >/dev/null
node "$REPO/dist/cli/pier.js" registry serve --addr "127.0.0.1:$PORT" --root "$WORK/registry" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
"${PIER[@]}" push "127.0.0.1:$PORT/busybox:latest" -q
BASE="127.0.0.1:$PORT/busybox:latest"

mkdir -p "$WORK/buildah"
cat >"$WORK/buildah/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$WORK/buildah/containers.conf
BUILDAH=(buildah --root "$WORK/buildah/root" --runroot "$WORK/buildah/run" --storage-driver overlay)
"${BUILDAH[@]}" pull --tls-verify=false -q "$BASE" >/dev/null

CTX=$WORK/context
node "$REPO/bench/build/gen.mjs" "$CTX" "$BASE"

RES=$WORK/results.tsv
: >"$RES"
timeit() {
  local task=$1 tool=$2
  shift 2
  local TIMEFORMAT='%R'
  if ! { time "$@" >"$WORK/last.log" 2>&1; } 2>"$WORK/time.txt"; then
    echo "run.sh: $task/$tool failed: $*" >&2
    tail -20 "$WORK/last.log" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\n' "$task" "$tool" "$(cat "$WORK/time.txt")" | tee -a "$RES"
}
pier_build() { "${PIER[@]}" build -q -t bench:pier "$@" "$CTX"; }
buildah_build() { "${BUILDAH[@]}" bud --layers --tls-verify=false -q -t bench:buildah "$@" "$CTX"; }

# One build of each first, so that both caches hold the starting state.
pier_build >/dev/null 2>&1
buildah_build >/dev/null 2>&1
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS"
  timeit cold pier pier_build --no-cache
  timeit cold buildah buildah_build --no-cache
  touch "$CTX/src/d07/f042.txt"
  timeit touch pier pier_build
  timeit touch buildah buildah_build
  echo "round $r" >>"$CTX/src/d07/f042.txt"
  timeit edit pier pier_build
  echo "round $r again" >>"$CTX/src/d07/f042.txt"
  timeit edit buildah buildah_build
done

echo "== medians over $ROUNDS rounds ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
awk -F'\t' '
  { v[$1 "\t" $2] = v[$1 "\t" $2] " " $3; tasks[$1] = 1 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "%-6s %10s %10s %8s\n", "task", "pier s", "buildah s", "ratio"
    split("cold touch edit", order, " ")
    for (k = 1; k <= 3; k++) {
      t = order[k]
      p = median(v[t "\tpier"]); b = median(v[t "\tbuildah"])
      printf "%-6s %10.2f %10.2f %8.2f\n", t, p, b, p / b
    }
  }' "$RES"
echo "ratio = pier / buildah (< 1: pier faster)."
