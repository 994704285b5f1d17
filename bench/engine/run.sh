#!/usr/bin/env bash
# Engine benchmark: pierd vs podman (Debian) on the same machine and the same busybox image
# (built by pier, served by pier's registry on 127.0.0.1), alternating A B each round with a
# 300 ms pause before each measurement (so neither side's background work lands in the other's),
# medians and ratios:
#   (a) `docker run --rm --network none busybox true` through pierd's Docker socket vs through
#       `podman system service`;
#   (b) `pier run --rm busybox true` (the native front end `native/build/pier`, whose resident CLI
#       service is started once before the rounds) vs `podman run --rm --network none busybox true`;
#   (c) 50 containers started with `docker run -d` then removed (`docker rm -f`), both sockets
#       (this and (c') three alternating repetitions, medians, each once no process of the
#       previous one is left (podman runs a `podman container cleanup` per exited container) and
#       the machine is idle again (the kernel tears down network namespaces in the background));
#   (c') the same with the engines' own CLIs: `pier run -d` / `pier rm -f` vs `podman run -d` /
#       `podman rm -f -t 0` (podman's rm -f otherwise waits 10 s per container before killing);
#   Both keep their run-time state (pierd's --exec-root, podman's --runroot) on one tmpfs, as
#   their defaults under /run are on a normal host; images, layers and logs are on disk.
#   (d) resident memory: pierd vs the podman service, per running container pier-monitor vs
#       conmon, and the daemon with every monitor (pierd's spare one, started ahead for the next
#       container, included) vs the podman service with every conmon (with the 50 containers up).
#   podman runs runc: crun, its default, refuses this host's hybrid cgroup layout.
#
# Usage (as root): bench/engine/run.sh [rounds]   (default 7)
# Needs: podman, the docker CLI (on PATH), busybox-static.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-7}"
for need in podman docker; do
  command -v "$need" >/dev/null 2>&1 || { echo "missing $need" >&2; exit 1; }
done
# The front ends find their services in dist/ beside native/build/: the whole build, as installed.
npm run build >/dev/null
node bench/engine/bench.mjs "$PWD/dist" "$rounds"
