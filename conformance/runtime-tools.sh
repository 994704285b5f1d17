#!/usr/bin/env bash
# The OCI runtime-tools validation suite (58 executables, TAP output) against pier-runtime and its
# peers, run as its maintainers run it: each validation executable with RUNTIME=<runtime>, as root,
# from a directory holding `runtimetest` and `rootfs-<arch>.tar.gz`. Prints a table of
# per-executable results (pass / FAIL / error) and the totals per runtime.
#
#   sudo bash conformance/runtime-tools.sh [RUNTIME...]     # default: pier-runtime runc crun
#
# The suite's sources: Debian packages runtime-tools' libraries (golang-github-opencontainers-
# runtime-tools-dev: generate, specerror, cgroups, …) but not its validation/ and cmd/runtimetest/
# programs. Give a GOPATH-layout tree that holds them in RUNTIME_TOOLS_SRC (a directory with
# src/github.com/opencontainers/runtime-tools/{validation,cmd/runtimetest}, e.g. from
# `git clone https://github.com/opencontainers/runtime-tools`, moved under that layout). Everything
# else comes from Debian (Go 1.19, GOPATH mode over /usr/share/gocode). Debian has no
# github.com/mndrix/tap-go: when the tree lacks it, a minimal TAP 13 producer with its API is
# written next to it. Built into $OUT (default $TMPDIR/pier-runtime-tools), never inside the repository.
#
# Environment: RUNTIME_TOOLS_SRC (required), OUT, TIMEOUT (seconds per executable, default 180),
# ONLY (space-separated executable names to run instead of all). crun runs in a private mount
# namespace without /sys/fs/cgroup/unified on hybrid hosts (it refuses them otherwise).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-${TMPDIR:-/tmp}/pier-runtime-tools}
TIMEOUT=${TIMEOUT:-180}
src=${RUNTIME_TOOLS_SRC:-}
if [ "$(id -u)" != 0 ]; then echo "runtime-tools.sh: run as root (the suite creates containers)" >&2; exit 2; fi
if [ -z "$src" ] || [ ! -d "$src/src/github.com/opencontainers/runtime-tools/validation" ]; then
  echo "runtime-tools.sh: RUNTIME_TOOLS_SRC must name a GOPATH tree with" \
    "src/github.com/opencontainers/runtime-tools/validation (Debian does not package it)" >&2
  exit 2
fi

# Debian's packages: Go, the suite's libraries and theirs, util-linux's unshare, busybox for the rootfs.
need=()
for p in golang-go golang-github-opencontainers-runtime-tools-dev golang-github-google-uuid-dev \
  golang-github-mrunalp-fileutils-dev golang-github-satori-go.uuid-dev golang-golang-x-sys-dev \
  busybox-static util-linux; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

tap="$src/src/github.com/mndrix/tap-go"
if [ ! -d "$tap" ]; then
  mkdir -p "$tap"
  cat >"$tap/tap.go" <<'GO'
// Package tap: a minimal Test Anything Protocol (version 13) producer with the API of
// github.com/mndrix/tap-go, which Debian does not package.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T is a TAP producer.
type T struct {
	nextTestNumber *int
	todo           bool
	Writer         io.Writer
}

// New creates a producer writing to stdout.
func New() *T {
	n := 1
	return &T{nextTestNumber: &n, Writer: os.Stdout}
}

func (t *T) printf(format string, a ...interface{}) { fmt.Fprintf(t.Writer, format, a...) }

// Header prints the version line and, when testCount > 0, the plan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok reports one test.
func (t *T) Ok(test bool, description string) {
	ok := "ok"
	if !test {
		ok = "not ok"
	}
	directive := ""
	if t.todo {
		directive = " # TODO"
	}
	t.printf("%s %d - %s%s\n", ok, *t.nextTestNumber, description, directive)
	*t.nextTestNumber++
}

// Fail reports a failing test.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Pass reports a passing test.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Skip reports count skipped tests.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", *t.nextTestNumber, description)
		*t.nextTestNumber++
	}
}

// Todo returns a producer whose tests are marked TODO (sharing the numbering).
func (t *T) Todo() *T {
	return &T{nextTestNumber: t.nextTestNumber, todo: true, Writer: t.Writer}
}

// Count is the number of tests reported so far.
func (t *T) Count() int { return *t.nextTestNumber - 1 }

// AutoPlan prints the plan for the tests reported so far.
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

// Diagnostic prints a comment line per line of message.
func (t *T) Diagnostic(message string) {
	t.printf("# %s\n", strings.Replace(strings.TrimRight(message, "\n"), "\n", "\n# ", -1))
}

// Diagnosticf is Diagnostic with formatting.
func (t *T) Diagnosticf(format string, a ...interface{}) { t.Diagnostic(fmt.Sprintf(format, a...)) }

// YAML prints a diagnostic block (JSON is a YAML subset).
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	t.printf("  ---\n  %s\n  ...\n", string(b))
	return nil
}
GO
fi

bin="$OUT/bin"
mkdir -p "$bin"
export GOPATH="$src:/usr/share/gocode" GO111MODULE=off GOCACHE="$OUT/go-cache"
rt="$src/src/github.com/opencontainers/runtime-tools"
(cd "$rt" && go build -o "$bin/runtimetest" ./cmd/runtimetest)
names=()
for d in "$rt"/validation/*/; do
  n=$(basename "$d")
  [ "$n" = util ] && continue
  names+=("$n")
  (cd "$rt" && go build -o "$bin/$n.t" "./validation/$n")
done

# The bundle rootfs the suite untars for every container: busybox with its applets as links.
arch=$(go env GOARCH)
if [ ! -f "$bin/rootfs-$arch.tar.gz" ]; then
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  mkdir -p "$tmp"/{bin,dev,etc,proc,sys,tmp,root}
  cp /bin/busybox "$tmp/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$tmp/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$tmp/etc/passwd"
  echo 'root:x:0:' >"$tmp/etc/group"
  tar -C "$tmp" -czf "$bin/rootfs-$arch.tar.gz" .
  rm -rf "$tmp"
fi

runtimes=("$@")
[ ${#runtimes[@]} -gt 0 ] || runtimes=("$repo/native/build/pier-runtime" "$(command -v runc)" "$(command -v crun)")
[ -z "${ONLY:-}" ] || read -r -a names <<<"$ONLY"

# One executable's verdict: pass when it exits 0 and no test is "not ok" (TODO tests excepted).
# The *_fail executables print nothing and exit 0 when the runtime refused the bad config, as
# they should; every executable exits non-zero (util.Fatal) when it cannot run its checks.
verdict() { # status file
  local status=$1 file=$2
  if [ "$status" = 124 ] || [ "$status" = 137 ]; then echo timeout; return; fi
  if grep -E '^not ok' "$file" | grep -vq '# TODO'; then echo FAIL; return; fi
  if [ "$status" != 0 ]; then echo error; return; fi
  echo pass
}

logs="$OUT/logs"
mkdir -p "$logs"
# The suite's bundles (os.MkdirTemp) go below one directory, cleaned up at the end: some runtimes
# leave mounts behind (runc 1.1.5 without a mount namespace mounts proc, dev and sys into the
# bundle in the host's namespace, linux_ns_itype) and failed executables leave bundles.
export TMPDIR="$OUT/tmp"
mkdir -p "$TMPDIR"
chmod 755 "$TMPDIR"
cleanup_bundles() {
  grep -F " $TMPDIR/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "${TMPDIR:?}"/*
}
trap cleanup_bundles EXIT
declare -A result
for r in "${runtimes[@]}"; do
  rn=$(basename "$r")
  for n in "${names[@]}"; do
    f="$logs/$rn.$n.tap"
    # crun 1.8 refuses a hybrid host whose cgroup2 side has controllers enabled ("cgroups in
    # hybrid mode not supported"): it runs in a private mount namespace without
    # /sys/fs/cgroup/unified, as bench/runtime/run.sh runs it.
    hide=()
    [ "$rn" = crun ] && [ -e /sys/fs/cgroup/unified/cgroup.controllers ] &&
      hide=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh)
    set +e
    (cd "$bin" && RUNTIME="$r" timeout -k 5 "$TIMEOUT" "${hide[@]}" "./$n.t" >"$f" 2>"$logs/$rn.$n.err" </dev/null)
    st=$?
    set -e
    result[$rn.$n]=$(verdict "$st" "$f")
  done
done

printf '%-34s' executable
for r in "${runtimes[@]}"; do printf ' %-13s' "$(basename "$r")"; done
printf '\n'
declare -A passed
for n in "${names[@]}"; do
  printf '%-34s' "$n"
  for r in "${runtimes[@]}"; do
    rn=$(basename "$r")
    v=${result[$rn.$n]}
    [ "$v" = pass ] && passed[$rn]=$((${passed[$rn]:-0} + 1))
    printf ' %-13s' "$v"
  done
  printf '\n'
done
printf '%-34s' "passed (of ${#names[@]})"
for r in "${runtimes[@]}"; do printf ' %-13s' "${passed[$(basename "$r")]:-0}"; done
printf '\nTAP output and stderr of each run: %s\n' "$logs"
