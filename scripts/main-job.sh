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
# Bold step titles on a terminal only: a log file gets no escape codes.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# What a step proved, or why it failed (with the log that says more), then exit.
proved() { printf -- '-> proved: %s\n' "$*"; }
fail() {
  printf -- '-> FAILED: %s\n' "$1" >&2
  if [ -n "${2:-}" ] && [ -s "$2" ]; then printf -- '--- %s:\n' "$2" >&2; tail -n 40 "$2" >&2; fi
  exit 1
}

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
image_json=$(pier image inspect busybox:pier --format json)
image_id=$(jq -r .id <<<"$image_json")
diff_ids=$(jq -c '[.layers[].diffId]' <<<"$image_json")
proved "pier's store holds busybox:pier, image id $image_id, $(jq length <<<"$diff_ids") layer(s)"

step "3. pier image export (docker-archive), checked by skopeo"
pier image export busybox:pier "$work/busybox.tar"
skopeo_view=$(skopeo inspect "docker-archive:$work/busybox.tar")
jq -c '{Digest, Architecture, Os, Layers}' <<<"$skopeo_view"
skopeo_config=$(skopeo inspect --config --raw "docker-archive:$work/busybox.tar" | sha256sum | cut -d' ' -f1)
[ "$(jq -c .Layers <<<"$skopeo_view")" = "$diff_ids" ] ||
  fail "skopeo sees layers $(jq -c .Layers <<<"$skopeo_view"), pier's image has $diff_ids"
[ "sha256:$skopeo_config" = "$image_id" ] || fail "skopeo's config is sha256:$skopeo_config, pier's image id is $image_id"
proved "skopeo's view of the archive matches pier's: the same layers (diff ids) and config ($image_id)"

step "4. pier registry serve"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node "$repo/dist/cli/pier.js" --root "$work/registry" registry serve --addr "127.0.0.1:$port" 2>"$work/registry.log" &
registry_pid=$!
up=""
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && up=1 && break; sleep 0.1; done
[ -n "$up" ] || fail "pier's registry did not answer on 127.0.0.1:$port within 5 s" "$work/registry.log"
ref="127.0.0.1:$port/demo/busybox:pier"
proved "pier's registry answers the distribution API's base endpoint on 127.0.0.1:$port"

step "5. pier push $ref"
pier image tag busybox:pier "$ref"
pier push "$ref"
pushed=$(curl -fsI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$port/v2/demo/busybox/manifests/pier" |
  tr -d '\r' | awk 'tolower($1)=="docker-content-digest:" {print $2}')
[ "$pushed" = "$(jq -r .manifestDigest <<<"$image_json")" ] ||
  fail "the registry serves manifest '$pushed', pier pushed $(jq -r .manifestDigest <<<"$image_json")" "$work/registry.log"
proved "the registry serves the pushed manifest under its own digest $pushed"

step "6. remove it locally, collect garbage, pull it back"
pier image rm busybox:pier "$ref"
pier image gc
pier image inspect "$ref" >/dev/null 2>&1 && fail "$ref is still in the local store after rm"
pier pull "$ref"
pier image ls
[ "$(pier image inspect "$ref" --format json | jq -r .id)" = "$image_id" ] || fail "the pulled image's id is not $image_id"
proved "after rm and gc the store lacked it; the pull brought back the same image ($image_id), digests verified"

step "7. unpack to a runtime bundle and run it with pier-runtime"
pier image unpack "$ref" "$work/bundle"
out=$("$repo/native/build/pier-runtime" --root "$work/runtime" run --bundle "$work/bundle" pier-main-job)
echo "$out"
[ "$out" = "hello from a pier container: Linux 0" ] || fail "the container printed '$out'"
proved "pier-runtime ran the unpacked bundle: the image's command printed its greeting as uid 0"

step "8. pierd, the engine: pier run --rm from the registry"
node "$repo/dist/engine/daemon/main.js" --root "$work/engine" --exec-root "$work/engine-run" 2>"$work/pierd.log" &
pierd_pid=$!
up=""
for _ in $(seq 100); do [ -S "$work/engine-run/docker.sock" ] && up=1 && break; sleep 0.1; done
[ -n "$up" ] || fail "pierd did not listen within 10 s" "$work/pierd.log"
export PIER_HOST="unix://$work/engine-run/pier.sock"
out=$(pier run --rm "$ref")
echo "$out"
[ "$out" = "hello from a pier container: Linux 0" ] || fail "pier run printed '$out'" "$work/pierd.log"
proved "pierd pulled the image from the registry and ran it for pier run --rm"

step "9. the stock docker CLI against pierd's Docker API"
command -v docker >/dev/null || fail "no docker CLI on PATH (scripts/install.sh installs Debian's docker.io when missing)"
export DOCKER_HOST="unix://$work/engine-run/docker.sock"
docker version --format 'client {{.Client.Version}}, server {{.Server.Version}} (API {{.Server.APIVersion}})'
status=0
docker run --rm "$ref" sh -c 'echo hello from docker run on pierd; exit 3' || status=$?
[ "$status" = 3 ] || fail "docker run exited with $status, not the container's own 3" "$work/pierd.log"
docker images
[ "$(docker images -q --no-trunc "$ref")" = "$image_id" ] || fail "docker images shows another id than $image_id"
proved "the docker CLI ran the image on pierd with the container's exit status (3); docker and pier show one image id"

step "done: built, served, pushed, pulled and ran busybox with pier, pier-runtime, pierd and docker"
