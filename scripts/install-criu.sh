#!/usr/bin/env bash
# Installs CRIU >= 4 for pier-runtime's checkpoint/restore into a private prefix, on Debian 12.
#
# Debian 12's criu (3.17) cannot dump on current kernels; Debian 13 (trixie) ships criu 4. This
# script never installs or upgrades a host package: a private apt state (its own sources list,
# index and cache, with an empty dpkg status so the whole run-time closure is resolved, trixie's
# libc included) downloads trixie's criu and its dependencies, signature-checked by apt against
# the Debian archive keyring, and unpacks them with `dpkg -x` under $PREFIX/root. The launcher
# $PREFIX/bin/criu runs that criu through trixie's own dynamic loader with an explicit library
# path, so the host's libc is never touched and the programs criu executes (ip, iptables-save,
# nft) keep running against the host's libraries.
#
# Idempotent: when $PREFIX/bin/criu already reports version >= 4 it exits at once (FORCE=1
# refreshes). pier-runtime looks here after --criu and PIER_CRIU (see src/runtime/checkpoint).
# Env: PREFIX (/usr/local/lib/pier/criu), SUITE (trixie), MIRROR (the host's own Debian mirror),
#      KEYRING (/usr/share/keyrings/debian-archive-keyring.gpg), FORCE.
set -euo pipefail

PREFIX=${PREFIX:-/usr/local/lib/pier/criu}
SUITE=${SUITE:-trixie}
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
LAUNCHER=$PREFIX/bin/criu

die() { echo "install-criu: $*" >&2; exit 1; }

criu_major() { "$1" --version 2>/dev/null | sed -n 's/^Version: \([0-9]*\).*/\1/p'; }

if [ -z "${FORCE:-}" ] && [ -x "$LAUNCHER" ] && [ "$(criu_major "$LAUNCHER")" -ge 4 ] 2>/dev/null; then
  echo "install-criu: $("$LAUNCHER" --version | head -1) already in $PREFIX"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root"
arch=$(dpkg --print-architecture)
case "$arch" in
  amd64) multiarch=x86_64-linux-gnu; loader=ld-linux-x86-64.so.2 ;;
  arm64) multiarch=aarch64-linux-gnu; loader=ld-linux-aarch64.so.1 ;;
  *) die "architecture $arch is not handled (amd64, arm64)" ;;
esac
[ -r "$KEYRING" ] || die "missing $KEYRING (install debian-archive-keyring)"

host_mirror() {
  # deb822 sources first (Debian 12's default), then one-line sources
  local m
  m=$(sed -n 's|^URIs: *\([^ ]*/debian\)/\{0,1\} *$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
  echo "${m%/}"
}
MIRROR=${MIRROR:-$(host_mirror)}
[ -n "$MIRROR" ] || die "cannot find this host's Debian mirror in its apt sources; set MIRROR"

apt_dir=$PREFIX/apt
debs=$PREFIX/debs
mkdir -p "$apt_dir"/{lists/partial,archives/partial,parts,prefs,state} "$debs"
: >"$apt_dir/state/status" # empty: resolve the complete closure, not against the host's packages
echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" >"$apt_dir/sources.list"
{
  cat <<CONF
Dir::State "$apt_dir/state";
Dir::State::Lists "$apt_dir/lists";
Dir::State::status "$apt_dir/state/status";
Dir::Cache "$apt_dir";
Dir::Cache::archives "$apt_dir/archives";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "$apt_dir/parts";
Dir::Etc::Parts "$apt_dir/parts";
Dir::Etc::Preferences "$apt_dir/prefs/none";
Dir::Etc::PreferencesParts "$apt_dir/prefs";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
CONF
  # keep the host's proxy, if it has one
  for key in Acquire::http::Proxy Acquire::https::Proxy; do
    value=$(apt-config dump "$key" 2>/dev/null | sed -n "s|^$key \"\(.*\)\";$|\1|p" | head -1 || true)
    [ -z "$value" ] || echo "$key \"$value\";"
  done
} >"$apt_dir/apt.conf"
export APT_CONFIG=$apt_dir/apt.conf

echo "install-criu: criu from Debian $SUITE ($MIRROR) into $PREFIX"
apt-get -q -q update
mapfile -t pkgs < <(apt-get -s -q install criu | awk '$1=="Inst" {print $2}')
[ "${#pkgs[@]}" -gt 0 ] || die "criu does not resolve in $SUITE"
rm -f "$debs"/*.deb
(cd "$debs" && apt-get -q -q download "${pkgs[@]}")

# unpack beside, switch at the end: an interrupted run leaves the previous install working
root_new=$PREFIX/root.new
rm -rf "$root_new"
mkdir -p "$root_new"
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root_new"; done
mkdir -p "$root_new/usr/lib/criu" # criu 4's own (empty) plugin dir, not the host's criu 3 plugins
for deb in "$debs"/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done >"$root_new/PACKAGES"
if ! "$root_new/usr/lib/$multiarch/$loader" --inhibit-cache --library-path "$root_new/usr/lib/$multiarch" \
  --list "$root_new/usr/sbin/criu" >"$PREFIX/ldd.txt"; then
  die "the unpacked criu does not load (see $PREFIX/ldd.txt)"
fi
if grep -E '=> (/usr)?/lib/' "$PREFIX/ldd.txt" | grep -v "$root_new"; then
  die "some of criu's libraries resolve outside $PREFIX"
fi
rm -rf "$PREFIX/root"
mv "$root_new" "$PREFIX/root"
rm -rf "$debs" "$apt_dir/archives"

mkdir -p "$PREFIX/bin"
cat >"$LAUNCHER.new" <<LAUNCH
#!/bin/sh
# criu $SUITE, from pier's scripts/install-criu.sh: run by its own loader and libraries so the
# host's libc is untouched; programs criu runs use the host's. Put $PREFIX/bin first in PATH for
# runc or podman; pier-runtime finds it by itself.
root=$PREFIX/root
CRIU_LIBS_DIR=\${CRIU_LIBS_DIR:-\$root/usr/lib/criu}
export CRIU_LIBS_DIR
exec "\$root/usr/lib/$multiarch/$loader" --inhibit-cache --library-path "\$root/usr/lib/$multiarch" \\
  --argv0 criu "\$root/usr/sbin/criu" "\$@"
LAUNCH
chmod 755 "$LAUNCHER.new"
mv "$LAUNCHER.new" "$LAUNCHER"

major=$(criu_major "$LAUNCHER")
[ "${major:-0}" -ge 4 ] || die "installed criu reports major version '${major}', expected >= 4"
echo "install-criu: $("$LAUNCHER" --version | head -1) installed in $PREFIX"
"$LAUNCHER" check >/dev/null 2>&1 || echo "install-criu: warning: 'criu check' fails on this kernel; see '$LAUNCHER check'" >&2
