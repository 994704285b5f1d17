#!/usr/bin/env bash
# System-container benchmark: boot a Debian 12 guest (systemd as PID 1) to `running` and halt it
# cleanly, pier vs podman --systemd=always (runc) vs systemd-nspawn, alternating, ROUNDS each.
#
#   Run as root:   bash bench/system/run.sh [ROUNDS]      (default 5)
#
# The guest is scripts/system-image.sh's Debian bookworm (debootstrap minbase + systemd; the tree
# is cached). pier runs it through a private pierd (`pier run -d --systemd true --network none`),
# podman from the same image exported as a docker-archive (`podman run -d --systemd=always
# --network none`, runc: crun rejects this host's cgroups; ulimits as root here allows), nspawn
# on a copy of the same tree (`systemd-nspawn -b --register=no`, the host's network).
# boot: from the start command to `systemctl is-system-running` = running (asked in the guest's
# namespaces with `nsenter -a` every 20 ms, the same way for all three). stop: from the stop
# command (pier stop / podman stop, both SIGRTMIN+3; nspawn: SIGRTMIN+3 to the guest's init) until
# the guest's init is gone. mem: the summed PSS of every process in the guest's PID namespace
# plus the manager beside it (pier-monitor, conmon, systemd-nspawn), after boot.
set -euo pipefail
ROUNDS=${1:-5}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root" >&2; exit 1; }
for t in podman runc systemd-nspawn nsenter debootstrap node; do
  command -v "$t" >/dev/null || { echo "run.sh: $t is missing (bash scripts/install.sh)" >&2; exit 1; }
done
WORK=$(mktemp -d /var/tmp/pier-bench-system.XXXXXX)
PIERD_PID=
cleanup() {
  [ -n "$PIERD_PID" ] && kill "$PIERD_PID" 2>/dev/null && wait "$PIERD_PID" 2>/dev/null || true
  podman --root "$WORK/podman" --runroot "$WORK/podman-run" rm -af -t 0 >/dev/null 2>&1 || true
  grep " $WORK" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The native front end (as a user runs `pier`): the resident CLI service answers, not a Node.js start.
PIER=("$REPO/native/build/pier")
TREE=$(bash "$REPO/scripts/system-image.sh" --tree-only)
bash "$REPO/scripts/system-image.sh" --root "$WORK/pier" --tag bench/debian-systemd:12 >/dev/null
node "$REPO/dist/engine/daemon/main.js" --root "$WORK/pier" --exec-root "$WORK/pier-run" --bridge pbsys0 \
  >"$WORK/pierd.log" 2>&1 &
PIERD_PID=$!
export PIER_HOST=$WORK/pier-run/pier.sock
for _ in $(seq 1 100); do [ -S "$PIER_HOST" ] && break; sleep 0.1; done
"${PIER[@]}" --root "$WORK/pier" image export bench/debian-systemd:12 "$WORK/guest.tar" >/dev/null
POD=(podman --runtime runc --root "$WORK/podman" --runroot "$WORK/podman-run")
"${POD[@]}" load -q -i "$WORK/guest.tar" >/dev/null

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_running PID: until the guest whose init is PID says running (or 60 s).
wait_running() {
  for _ in $(seq 1 3000); do
    st=$(nsenter -t "$1" -a -- systemctl is-system-running 2>/dev/null || true)
    [ "$st" = running ] && return 0
    [ "$st" = degraded ] && { echo "degraded guest: $(nsenter -t "$1" -a -- systemctl --failed --no-legend)" >&2; return 1; }
    sleep 0.02
  done
  echo "guest $1 did not boot in 60 s ($st)" >&2
  return 1
}
wait_gone() { while kill -0 "$1" 2>/dev/null; do sleep 0.01; done; }
# pss PID...: summed PSS (KiB) of the guest's PID namespace of the first PID, and the rest.
pss() {
  local ns pids total=0
  ns=$(readlink "/proc/$1/ns/pid")
  pids=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && basename "$p"; done)
  for p in $pids "${@:2}"; do
    v=$(awk '/^Pss:/ {s+=$2} END {print s+0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + v))
  done
  echo "$total"
}
RES=$WORK/results.tsv
: >"$RES"
one_pier() {
  local t0 t1 t2 t3 id pid mon
  t0=$(now_ms)
  id=$("${PIER[@]}" run -d --systemd true --network none bench/debian-systemd:12)
  pid=$("${PIER[@]}" inspect "$id" | jq -r '.[0].pid')
  mon=$("${PIER[@]}" inspect "$id" | jq -r '.[0].monitorPid')
  wait_running "$pid"
  t1=$(now_ms)
  local mem; mem=$(pss "$pid" "$mon")
  t2=$(now_ms)
  "${PIER[@]}" stop "$id" >/dev/null
  wait_gone "$pid"
  t3=$(now_ms)
  [ "$("${PIER[@]}" inspect "$id" | jq -r '.[0].exitCode')" = 0 ] || { echo "pier: the guest did not halt cleanly" >&2; exit 1; }
  "${PIER[@]}" rm "$id" >/dev/null
  printf 'pier\t%s\t%s\t%s\n' $((t1 - t0)) $((t3 - t2)) "$mem" >>"$RES"
}
one_podman() {
  local t0 t1 t2 t3 id pid conmon
  t0=$(now_ms)
  id=$("${POD[@]}" run -d --systemd=always --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    docker.io/bench/debian-systemd:12)
  pid=$("${POD[@]}" inspect -f '{{.State.Pid}}' "$id")
  conmon=$("${POD[@]}" inspect -f '{{.State.ConmonPid}}' "$id")
  wait_running "$pid"
  t1=$(now_ms)
  local mem; mem=$(pss "$pid" "$conmon")
  t2=$(now_ms)
  "${POD[@]}" stop "$id" >/dev/null
  wait_gone "$pid"
  t3=$(now_ms)
  [ "$("${POD[@]}" inspect -f '{{.State.ExitCode}}' "$id")" = 0 ] || { echo "podman: the guest did not halt cleanly" >&2; exit 1; }
  "${POD[@]}" rm "$id" >/dev/null
  printf 'podman\t%s\t%s\t%s\n' $((t1 - t0)) $((t3 - t2)) "$mem" >>"$RES"
}
one_nspawn() {
  local t0 t1 t2 t3 np pid
  rm -rf "$WORK/nspawn-root"
  cp -a "$TREE" "$WORK/nspawn-root"
  t0=$(now_ms)
  systemd-nspawn -q -D "$WORK/nspawn-root" -b --register=no --keep-unit -M pierbench >"$WORK/nspawn.log" 2>&1 &
  np=$!
  pid=
  for _ in $(seq 1 1000); do pid=$(pgrep -P "$np" | head -1 || true); [ -n "$pid" ] && break; sleep 0.005; done
  wait_running "$pid"
  t1=$(now_ms)
  local mem; mem=$(pss "$pid" "$np")
  t2=$(now_ms)
  kill -s RTMIN+3 "$pid"
  wait_gone "$pid"
  t3=$(now_ms)
  wait "$np" || { echo "systemd-nspawn: the guest did not halt cleanly" >&2; exit 1; }
  printf 'nspawn\t%s\t%s\t%s\n' $((t1 - t0)) $((t3 - t2)) "$mem" >>"$RES"
}
echo "== $ROUNDS rounds, alternating pier, podman, nspawn (rotating who goes first)"
for r in $(seq 1 "$ROUNDS"); do
  case $((r % 3)) in
    1) order="pier podman nspawn" ;;
    2) order="podman nspawn pier" ;;
    0) order="nspawn pier podman" ;;
  esac
  for t in $order; do sleep 0.3; "one_$t"; done
  echo "round $r done"
done
node - "$RES" <<'JS'
const rows = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split("\t"));
const med = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const stat = (tool, col) => rows.filter((r) => r[0] === tool).map((r) => Number(r[col]));
const fmt = (tool, col, unit, div = 1) => { const v = stat(tool, col).map((x) => x / div); return `${med(v).toFixed(div > 1 ? 1 : 0)} ${unit} [${Math.min(...v).toFixed(div > 1 ? 1 : 0)}-${Math.max(...v).toFixed(div > 1 ? 1 : 0)}]`; };
for (const [col, what, unit, div] of [[1, "boot to running", "ms", 1], [2, "clean stop", "ms", 1], [3, "memory after boot (PSS)", "MiB", 1024]]) {
  console.log(`${what}:`);
  for (const t of ["pier", "podman", "nspawn"]) console.log(`  ${t.padEnd(7)} ${fmt(t, col, unit, div)}`);
  const p = med(stat("pier", col));
  console.log(`  pier / podman = ${(p / med(stat("podman", col))).toFixed(2)}, pier / nspawn = ${(p / med(stat("nspawn", col))).toFixed(2)}`);
}
JS
