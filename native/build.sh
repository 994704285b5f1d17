#!/bin/sh
# Builds the native executor of pier-runtime with the system C compiler (libc only).
# Output: native/build/pier-init. Static when the C library's archive is installed (faster start,
# no dynamic loader inside containers), dynamic otherwise.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/build"
cc=${CC:-cc}
flags="-O2 -Wall -Wextra -Wno-unused-parameter -std=gnu11"
tmp="$here/build/pier-init.tmp.$$"
if ! $cc $flags -static -o "$tmp" "$here/pier-init.c" 2>/dev/null; then
  $cc $flags -o "$tmp" "$here/pier-init.c"
fi
mv -f "$tmp" "$here/build/pier-init"
# The init of `run --init` (see docker-init.c), bind-mounted into containers: static, so that it
# runs in any rootfs (a dynamic build only runs where the image has a compatible libc).
tmp="$here/build/docker-init.tmp.$$"
if ! $cc $flags -static -o "$tmp" "$here/docker-init.c" 2>/dev/null; then
  $cc $flags -o "$tmp" "$here/docker-init.c"
fi
mv -f "$tmp" "$here/build/docker-init"
$cc $flags -o "$here/build/pier-monitor.tmp.$$" "$here/pier-monitor.c" && mv -f "$here/build/pier-monitor.tmp.$$" "$here/build/pier-monitor"
# The process that holds a CRI pod sandbox's namespaces: the one file of pierd's sandbox image, so
# static (no C library inside that image).
$cc $flags -static -s -o "$here/build/pier-pause.tmp.$$" "$here/pier-pause.c" && mv -f "$here/build/pier-pause.tmp.$$" "$here/build/pier-pause"
# The command line front ends of the runtime and of the pier CLI (see front-end.c): the path of the
# Node.js that built pier is their default for starting the services.
node=${PIER_NODE:-$(command -v node || echo node)}
$cc $flags -DPIER_NODE="\"$node\"" -o "$here/build/pier-runtime.tmp.$$" "$here/front-end.c" && mv -f "$here/build/pier-runtime.tmp.$$" "$here/build/pier-runtime"
$cc $flags -DFE_PIER -DPIER_NODE="\"$node\"" -o "$here/build/pier.tmp.$$" "$here/front-end.c" && mv -f "$here/build/pier.tmp.$$" "$here/build/pier"
# The bridge between pier-runtime and CRIU's RPC mode (see criu-swrk.c).
$cc $flags -o "$here/build/criu-swrk.tmp.$$" "$here/criu-swrk.c" && mv -f "$here/build/criu-swrk.tmp.$$" "$here/build/criu-swrk"
# One port-forward connection of the CRI streaming server, inside a pod's network namespace
# (see pier-portfwd.c).
$cc $flags -o "$here/build/pier-portfwd.tmp.$$" "$here/pier-portfwd.c" && mv -f "$here/build/pier-portfwd.tmp.$$" "$here/build/pier-portfwd"
# malloc_trim for the long-running servers (see malloc-trim.c and src/common/release-memory.ts): a
# Node-API addon, built when Node.js's headers are installed (beside the node binary as in Node's
# own tarballs and NodeSource's package, or Debian's libnode-dev). Without them (or without glibc)
# it is skipped: the servers then keep their freed heap, nothing else changes.
napi_inc=""
node_bin=$(command -v "$node" 2>/dev/null || true)
for d in ${node_bin:+"$(dirname "$(dirname "$(readlink -f "$node_bin")")")/include/node"} /usr/include/node /usr/local/include/node; do
  if [ -f "$d/node_api.h" ]; then napi_inc=$d; break; fi
done
if [ -n "$napi_inc" ] && $cc $flags -shared -fPIC -I"$napi_inc" -o "$here/build/malloc-trim.node.tmp.$$" "$here/malloc-trim.c" 2>/dev/null; then
  mv -f "$here/build/malloc-trim.node.tmp.$$" "$here/build/malloc-trim.node"
else
  rm -f "$here/build/malloc-trim.node.tmp.$$"
  echo "native/build.sh: malloc-trim.node not built (no Node.js headers, or no glibc malloc_trim): servers keep their freed heap" >&2
fi
