#!/usr/bin/env bash
# Installs what pier and its tests need on Debian 12 (run as root): the system packages, then the
# npm dependencies (native parts built from source), then pier's own build (TypeScript + the C helper).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
packages=(
  # build: node-gyp for better-sqlite3 and zstd-napi, cc for pier's native helper
  gcc libc6-dev make python3 g++ ca-certificates
  # the test image and the tools pier interoperates with
  busybox-static skopeo umoci runc crun podman docker-registry containernetworking-plugins
  # layer xattrs, compression, namespaces, benchmarks
  attr zstd uidmap iproute2 iptables e2fsprogs jq wrk hyperfine libseccomp-dev openssl bc curl apache2-utils
)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# CRIU >= 4 for checkpoint/restore, in a private prefix (Debian 12's criu 3.17 fails on current kernels)
scripts/install-criu.sh
npm ci --no-audit --no-fund
npm run build
