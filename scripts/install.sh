#!/usr/bin/env bash
# Installs what pier and its tests need on Debian 12 (run as root): the system packages, Node.js
# (>= 20, with npm) when missing or older, the docker CLI when none is on PATH, then the npm
# dependencies (native parts built from source; skipped when package-lock.json has not changed
# since the last install) and pier's own build (TypeScript + the C parts).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
say() { printf 'install.sh: %s\n' "$*"; }
packages=(
  # build: node-gyp for better-sqlite3 and zstd-napi, cc for pier's native helper
  gcc libc6-dev make python3 g++ ca-certificates
  # the test image and the tools pier interoperates with
  busybox-static skopeo umoci runc crun podman buildah docker-registry containernetworking-plugins
  # layer xattrs, compression, namespaces, benchmarks
  attr zstd uidmap iproute2 iptables e2fsprogs jq wrk hyperfine libseccomp-dev openssl bc curl apache2-utils
  # system containers: a Debian root made with debootstrap; systemd-nspawn is bench/system's peer
  debootstrap systemd-container
  # the CRI streaming server's test client, built offline with client-go's SPDY and WebSocket libraries
  golang-go golang-github-docker-spdystream-dev golang-github-gorilla-websocket-dev
)
node_major() { command -v node >/dev/null && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ] || ! command -v npm >/dev/null; then
  if command -v node >/dev/null; then
    say "Node.js $(node --version) is older than pier needs (>= 20) or has no npm: installing Debian's nodejs and npm"
  else
    say "Node.js is missing: installing Debian's nodejs and npm"
  fi
  packages+=(nodejs npm)
fi
# The engine's tests drive pierd with the stock docker CLI, found on PATH. Debian 12 ships it in
# docker.io (with a daemon pier's tests do not use: it is stopped and not started at boot).
docker_from_debian=""
if ! command -v docker >/dev/null; then
  say "no docker CLI on PATH: installing Debian's docker.io for its docker command"
  packages+=(docker.io)
  docker_from_debian=1
fi
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ -n "$docker_from_debian" ] && command -v systemctl >/dev/null; then
  systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
fi
if [ "$(node_major)" -lt 20 ]; then
  say "Node.js $(node --version 2>/dev/null || echo '(none)') is too old: pier needs Node.js >= 20 with npm." >&2
  say "Debian 12's own nodejs is 18; install Node.js 20 or later (Debian 13's nodejs, or https://nodejs.org/en/download) and run this script again." >&2
  exit 1
fi
# npm ci deletes node_modules and builds the native modules again: only when the lock changed.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.pier-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund
  echo "$lock_sum" > node_modules/.pier-lock-sha256
else
  say "node_modules matches package-lock.json: npm ci skipped"
fi
# CRIU >= 4.2 for checkpoint/restore, in a private prefix (Debian sid's; Debian 12's 3.17 fails on current kernels,
# trixie's 4.1, the fall-back, cannot dump inet sockets on Linux >= 6.16)
scripts/install-criu.sh
npm run build
