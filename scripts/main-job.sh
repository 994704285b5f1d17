#!/usr/bin/env bash
# pier's main job, end to end and offline, on a fresh Debian 12 machine (run as root):
#   install everything, build a busybox image from Debian's busybox-static, inspect and export it,
#   serve it from pier's registry, push it, remove it locally, pull it back, unpack it to a
#   runtime bundle and run it as a container with pier-runtime; then the same through the engine:
#   pierd runs it from the registry for `pier run --rm` and for the stock docker CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/install.sh

work=$(mktemp -d /tmp/pier-main-job.XXXXXX)
registry_pid=""
pierd_pid=""
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  [ -n "$pierd_pid" ] && kill "$pierd_pid" 2>/dev/null && wait "$pierd_pid" 2>/dev/null || true
  grep " $work/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  "$repo/dist/runtime/cli/main.js" --root "$work/runtime" delete -f pier-main-job >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The native front end: engine commands run in the resident CLI service, the rest as plain Node.js.
pier() { "$repo/native/build/pier" --root "$work/store" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. a busybox root filesystem from Debian's busybox-static"
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp" "$rootfs/root"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"

step "2. pier image create, ls, inspect"
pier image create "$rootfs" --tag busybox:pier --cmd '["sh","-c","echo hello from a pier container: $(uname -s) $(id -u)"]'
pier image ls
pier image inspect busybox:pier

step "3. pier image export (docker-archive), checked by skopeo"
pier image export busybox:pier "$work/busybox.tar"
skopeo inspect "docker-archive:$work/busybox.tar" | jq -c '{Digest, Architecture, Os, Layers}'

step "4. pier registry serve"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node "$repo/dist/cli/pier.js" --root "$work/registry" registry serve --addr "127.0.0.1:$port" 2>"$work/registry.log" &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
ref="127.0.0.1:$port/demo/busybox:pier"

step "5. pier push $ref"
pier image tag busybox:pier "$ref"
pier push "$ref"

step "6. remove it locally, collect garbage, pull it back"
pier image rm busybox:pier "$ref"
pier image gc
pier pull "$ref"
pier image ls

step "7. unpack to a runtime bundle and run it with pier-runtime"
pier image unpack "$ref" "$work/bundle"
"$repo/native/build/pier-runtime" --root "$work/runtime" run --bundle "$work/bundle" pier-main-job

step "8. pierd, the engine: pier run --rm from the registry"
node "$repo/dist/engine/daemon/main.js" --root "$work/engine" --exec-root "$work/engine-run" 2>"$work/pierd.log" &
pierd_pid=$!
for _ in $(seq 100); do [ -S "$work/engine-run/docker.sock" ] && break; sleep 0.1; done
export PIER_HOST="unix://$work/engine-run/pier.sock"
pier run --rm "$ref"

step "9. the stock docker CLI against pierd's Docker API"
if command -v docker >/dev/null; then
  export DOCKER_HOST="unix://$work/engine-run/docker.sock"
  docker version --format 'client {{.Client.Version}}, server {{.Server.Version}} (API {{.Server.APIVersion}})'
  docker run --rm "$ref" sh -c 'echo hello from docker run on pierd; exit 3' ||
    echo "docker run exited with $? (the container's own status)"
  docker images
else
  echo "no docker CLI on this machine: skipped (pierd serves the Docker Engine API on $work/engine-run/docker.sock)"
fi

step "done: built, served, pushed, pulled and ran busybox with pier, pier-runtime, pierd and docker"
