#!/usr/bin/env bash
# Installs CRIU >= 4.2 for pier-runtime's checkpoint/restore into a private prefix, on Debian 12.
#
# Debian 12's criu (3.17) cannot dump on current kernels; Debian 13 (trixie) ships criu 4.1, which
# cannot dump any inet socket (a listening or connected TCP socket) on Linux >= 6.16: the kernel
# refuses SO_PASSCRED/SO_PASSSEC on them and CRIU 4.1 reads both (checkpoint-restore/criu#2718,
# fixed in 4.2). Debian sid has 4.2, so sid comes first and trixie is the fall-back, said so.
#
# This script never installs or upgrades a host package: a private apt state (its own sources
# list, index and cache, with an empty dpkg status so the whole run-time closure is resolved, the
# suite's libc included) downloads the suite's criu and its dependencies, signature-checked by apt
# against the Debian archive keyring, and unpacks them with `dpkg -x` under $PREFIX/root. The
# launcher $PREFIX/bin/criu runs that criu through the suite's own dynamic loader with an explicit
# library path, so the host's libc is never touched and the programs criu executes (ip,
# iptables-save, nft) keep running against the host's libraries.
#
# A mirror that is a frozen snapshot serves a sid whose Release file has expired (its Valid-Until
# is past): apt then refuses it. Only in that case the index is fetched again without the date
# check (Acquire::Check-Valid-Until=false), with a warning; the signatures are checked as always.
#
# Idempotent: it exits at once when $PREFIX/bin/criu already reports >= 4.2 (with SUITE set: when
# that suite's criu >= 4 is installed); an older install is replaced. FORCE=1 refreshes.
# pier-runtime looks here after --criu and PIER_CRIU (see src/runtime/checkpoint/criu-path.ts).
# Env: PREFIX (/usr/local/lib/pier/criu), SUITE (unset: sid, then trixie), MIRROR (the host's own
#      Debian mirror), KEYRING (/usr/share/keyrings/debian-archive-keyring.gpg), FORCE.
set -euo pipefail

PREFIX=${PREFIX:-/usr/local/lib/pier/criu}
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
LAUNCHER=$PREFIX/bin/criu
# the first CRIU that dumps inet sockets on Linux >= 6.16 (checkpoint-restore/criu#2718)
WANTED=4.2

say() { echo "install-criu: $*" >&2; }
die() { say "$*"; exit 1; }

criu_version() { "$1" --version 2>/dev/null | sed -n 's/^Version: \([0-9][0-9.]*\).*/\1/p'; }
# version_ge A B: A >= B, by dpkg's ordering (which also handles 4.2.1-1 and the like)
version_ge() { [ -n "$1" ] && dpkg --compare-versions "$1" ge "$2"; }

if [ -z "${FORCE:-}" ] && [ -x "$LAUNCHER" ]; then
  have=$(criu_version "$LAUNCHER")
  have_suite=$(cat "$PREFIX/root/SUITE" 2>/dev/null || true)
  if [ -n "${SUITE:-}" ]; then
    if [ "$have_suite" = "$SUITE" ] && version_ge "$have" 4; then
      echo "install-criu: CRIU $have (Debian $SUITE) already in $PREFIX"
      exit 0
    fi
  elif version_ge "$have" "$WANTED"; then
    echo "install-criu: CRIU $have${have_suite:+ (Debian $have_suite)} already in $PREFIX"
    exit 0
  elif [ -n "$have" ]; then
    say "CRIU $have in $PREFIX is older than $WANTED: replacing it"
  fi
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
root_new=$PREFIX/root.new
trap 'rm -rf "$root_new" "$debs"' EXIT # what a failed run leaves half-made
mkdir -p "$apt_dir"/{lists/partial,archives/partial,parts,prefs,state}
: >"$apt_dir/state/status" # empty: resolve the complete closure, not against the host's packages
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

# fetch SUITE MIN: resolves, downloads and unpacks SUITE's criu (>= MIN) and its closure into
# $root_new, checked to load from there alone; says why and fails otherwise, leaving $PREFIX/root.
fetch() {
  local suite=$1 min=$2 log=$apt_dir/update.log candidate
  local -a opts=() pkgs=()
  echo "deb [signed-by=$KEYRING] $MIRROR $suite main" >"$apt_dir/sources.list"
  echo "install-criu: criu from Debian $suite ($MIRROR) into $PREFIX"
  if ! apt-get -q -q update >"$log" 2>&1; then
    if grep -q "is expired\|is no longer valid" "$log" && ! grep -q "NO_PUBKEY\|BADSIG\|not signed\|Hash Sum mismatch" "$log"; then
      say "warning: $suite's Release file on $MIRROR has expired (a frozen or stale mirror): using it without the date check, its signature still checked"
      opts=(-o Acquire::Check-Valid-Until=false)
      apt-get -q -q "${opts[@]}" update >"$log" 2>&1 || { cat "$log" >&2; say "apt cannot read Debian $suite from $MIRROR"; return 1; }
    else
      cat "$log" >&2
      say "apt cannot read Debian $suite from $MIRROR"
      return 1
    fi
  fi
  # apt update exits 0 on some per-index failures: a signature problem must still stop here
  if grep -q "^[WE]:" "$log"; then
    cat "$log" >&2
    say "apt reported problems with Debian $suite from $MIRROR"
    return 1
  fi
  candidate=$(apt-cache policy criu 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    say "Debian $suite has no criu"
    return 1
  fi
  if ! version_ge "$candidate" "$min"; then
    say "Debian $suite has criu $candidate, older than $min"
    return 1
  fi
  mapfile -t pkgs < <(apt-get -s -q "${opts[@]}" install criu | awk '$1=="Inst" {print $2}')
  [ "${#pkgs[@]}" -gt 0 ] || { say "criu $candidate does not resolve in Debian $suite"; return 1; }
  rm -rf "$debs" "$root_new"
  mkdir -p "$debs" "$root_new"
  (cd "$debs" && apt-get -q -q "${opts[@]}" download "${pkgs[@]}") || { say "downloading criu's packages from Debian $suite failed"; return 1; }
  local deb
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root_new" || return 1; done
  mkdir -p "$root_new/usr/lib/criu" # criu's own (empty) plugin dir, not the host's criu 3 plugins
  for deb in "$debs"/*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done >"$root_new/PACKAGES"
  echo "$suite" >"$root_new/SUITE"
  rm -rf "$debs" "$apt_dir/archives"
  mkdir -p "$apt_dir/archives/partial"
  if ! "$root_new/usr/lib/$multiarch/$loader" --inhibit-cache --library-path "$root_new/usr/lib/$multiarch" \
    --list "$root_new/usr/sbin/criu" >"$PREFIX/ldd.txt" 2>&1; then
    say "Debian $suite's criu does not load from $PREFIX (see $PREFIX/ldd.txt)"
    return 1
  fi
  if grep -E '=> (/usr)?/lib/' "$PREFIX/ldd.txt" | grep -v "$root_new" >&2; then
    say "some of Debian $suite's criu libraries resolve outside $PREFIX"
    return 1
  fi
}

if [ -n "${SUITE:-}" ]; then
  fetch "$SUITE" 4 || die "no CRIU >= 4 from Debian $SUITE"
elif fetch sid "$WANTED"; then
  SUITE=sid
else
  why="CRIU 4.1 cannot dump inet sockets (listening or connected TCP) on Linux >= 6.16: checkpoint-restore/criu#2718, fixed in 4.2"
  say "no CRIU >= $WANTED from Debian sid (above): falling back to Debian trixie's. $why"
  fetch trixie 4 || die "no CRIU >= 4 from Debian trixie either"
  SUITE=trixie
fi

# switch at the end: an interrupted run leaves the previous install working
rm -rf "$PREFIX/root.old"
[ ! -e "$PREFIX/root" ] || mv "$PREFIX/root" "$PREFIX/root.old"
mv "$root_new" "$PREFIX/root"
rm -rf "$PREFIX/root.old" # a criu running from it keeps its open files
sed -i "s|$root_new|$PREFIX/root|g" "$PREFIX/ldd.txt"

mkdir -p "$PREFIX/bin"
cat >"$LAUNCHER.new" <<LAUNCH
#!/bin/sh
# criu from Debian $SUITE, by pier's scripts/install-criu.sh: run by its own loader and libraries
# so the host's libc is untouched; programs criu runs use the host's. Put $PREFIX/bin first in
# PATH for runc or podman; pier-runtime finds it by itself.
root=$PREFIX/root
CRIU_LIBS_DIR=\${CRIU_LIBS_DIR:-\$root/usr/lib/criu}
export CRIU_LIBS_DIR
exec "\$root/usr/lib/$multiarch/$loader" --inhibit-cache --library-path "\$root/usr/lib/$multiarch" \\
  --argv0 criu "\$root/usr/sbin/criu" "\$@"
LAUNCH
chmod 755 "$LAUNCHER.new"
mv "$LAUNCHER.new" "$LAUNCHER"

have=$(criu_version "$LAUNCHER")
version_ge "$have" 4 || die "the installed criu reports version '$have', expected >= 4"
echo "install-criu: CRIU $have (Debian $SUITE) installed in $PREFIX"
if ! version_ge "$have" "$WANTED" && version_ge "$(uname -r | sed 's/[^0-9.].*//')" 6.16; then
  say "warning: CRIU $have cannot checkpoint a container with an inet socket on Linux >= 6.16 (this kernel: $(uname -r)); see checkpoint-restore/criu#2718"
fi
"$LAUNCHER" check >/dev/null 2>&1 || say "warning: 'criu check' fails on this kernel; see '$LAUNCHER check'"
