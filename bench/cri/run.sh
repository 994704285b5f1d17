#!/usr/bin/env bash
# CRI benchmark: pod start through pierd's CRI socket, with the same busybox image (built by
# pier, served by pier's registry on 127.0.0.1) and grpc-js's client generated from api.proto:
#   (a) one pod: RunPodSandbox + CreateContainer + StartContainer (busybox `sleep`), and its
#       removal (StopPodSandbox + RemovePodSandbox), each measured after a 300 ms quiet moment;
#       exec `true` in that pod's container through the streaming server (the Exec call, then
#       a client with client-go's SPDY library: src/testing/cri-stream-client);
#   (b) 20 pods started in parallel (each: sandbox, container, start), then all removed.
# Medians over the rounds. pierd's --exec-root is on a tmpfs, as /run is on a normal host.
# The same against Debian's containerd 1.6 (its CRI plugin, runc, the same CNI plugins, pier's pause
# image as its sandbox_image) when /usr/bin/containerd is installed (apt-get install containerd),
# alternating pier and containerd each round; ratios pier/containerd.
#
# Usage (as root): bench/cri/run.sh [rounds]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-7}"
npm run build >/dev/null
node bench/cri/bench.mjs "$PWD/dist" "$rounds"
