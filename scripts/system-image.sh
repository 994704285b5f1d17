#!/usr/bin/env bash
# Builds a Debian system-container image (systemd as init) with debootstrap, into pier's store.
#
#   bash scripts/system-image.sh [--suite bookworm] [--include PKG,...] [--tag NAME] [--root DIR]
#                                [--mirror URL] [--cache DIR] [--add DIR] [--tree-only]
#
# The root comes from `debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,
# procps[,PKG...] SUITE` against the Debian mirror apt is configured with (the first URIs/deb line
# for debian in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; --mirror overrides),
# and is kept in the cache (default /var/cache/pier/system-images/<suite>-<hash of packages>) so
# that the next image of the same suite and packages takes seconds. --add DIR copies a tree over
# the root (a unit file, say) before the image is made; --tree-only prints the cached tree's path
# instead (for systemd-nspawn, say) and makes no image. The image is `pier image create`d with
# /sbin/init as its command and SIGRTMIN+3 as its stop signal: run it with
#   pier run -d --systemd true NAME
set -euo pipefail

SUITE=bookworm
INCLUDE=
TAG=
ROOT=
MIRROR=
CACHE=/var/cache/pier/system-images
ADD=
TREE_ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) SUITE=$2; shift 2 ;;
    --include) INCLUDE=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --root) ROOT=$2; shift 2 ;;
    --mirror) MIRROR=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --add) ADD=$2; shift 2 ;;
    --tree-only) TREE_ONLY=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "system-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "system-image.sh: needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "system-image.sh: debootstrap is missing (apt-get install -y debootstrap)" >&2; exit 1; }
case "$SUITE" in *[!a-z0-9-]*|"") echo "system-image.sh: invalid suite '$SUITE'" >&2; exit 2 ;; esac
case "$INCLUDE" in *[!a-z0-9.+,-]*) echo "system-image.sh: invalid --include '$INCLUDE'" >&2; exit 2 ;; esac
TAG=${TAG:-debian-systemd:$SUITE}
REPO=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "$MIRROR" ]; then
  MIRROR=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

PKGS=systemd,systemd-sysv,dbus,iproute2,procps${INCLUDE:+,$INCLUDE}
KEY=$SUITE-$(printf '%s' "$PKGS" | sha256sum | cut -c1-12)
TREE=$CACHE/$KEY
if [ ! -f "$TREE.done" ]; then
  mkdir -p "$CACHE"
  rm -rf "$TREE" "$TREE.tmp"
  echo "system-image.sh: debootstrap $SUITE from $MIRROR ($PKGS)" >&2
  if ! debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$TREE.tmp" "$MIRROR" >"$TREE.log" 2>&1; then
    tail -20 "$TREE.log" >&2
    rm -rf "$TREE.tmp"
    echo "system-image.sh: debootstrap failed (log: $TREE.log)" >&2
    exit 1
  fi
  # A machine's identity is the container's: pier binds /etc/machine-id per container.
  : >"$TREE.tmp/etc/machine-id"
  rm -rf "$TREE.tmp/var/cache/apt/archives/"*.deb "$TREE.tmp/var/lib/apt/lists/"*_Packages
  mv "$TREE.tmp" "$TREE"
  touch "$TREE.done"
fi

if [ -n "$TREE_ONLY" ]; then echo "$TREE"; exit 0; fi
SRC=$TREE
if [ -n "$ADD" ]; then
  SRC=$(mktemp -d /var/tmp/pier-system-image.XXXXXX)
  trap 'rm -rf "$SRC"' EXIT
  cp -a "$TREE/." "$SRC/"
  cp -a "$ADD/." "$SRC/"
fi
PIER=("$REPO/dist/cli/pier.js")
[ -x "${PIER[0]}" ] || { echo "system-image.sh: build pier first (npm run build)" >&2; exit 1; }
node "${PIER[@]}" ${ROOT:+--root "$ROOT"} image create "$SRC" --tag "$TAG" --cmd '["/sbin/init"]' --stop-signal SIGRTMIN+3 >&2
echo "$TAG"
