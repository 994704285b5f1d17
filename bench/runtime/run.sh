#!/usr/bin/env bash
# pier-runtime vs runc vs crun: create+start+delete and run of a busybox /bin/true bundle.
#
#   bash bench/runtime/run.sh [ITERATIONS]      (default 20; as root; needs runc, crun, busybox-static)
#
# Builds the project (tsc into dist/, the native parts into native/build/), then runs everything
# in a private mount namespace without /sys/fs/cgroup/unified, because crun 1.8 refuses this machine's hybrid cgroup layout otherwise (the same namespace is
# used for every tool so that they are measured alike).
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations=${1:-20}
dist=dist
npx tsc -p tsconfig.json >/dev/null
node scripts/bundle-service.mjs dist/runtime/service/bundle-main.js
sh native/build.sh
work=$(mktemp -d /var/tmp/pier-bench-runtime.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
node --input-type=module -e "
  const { writeBusyboxRootfs } = await import('$PWD/$dist/testing/busybox.js');
  const { defaultRuntimeSpec } = await import('$PWD/$dist/oci/runtime-spec/default-spec.js');
  const fs = await import('node:fs');
  await writeBusyboxRootfs('$work/bundle/rootfs');
  const spec = defaultRuntimeSpec();
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  fs.writeFileSync('$work/bundle/config.json', JSON.stringify(spec));
"
unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null || true; \
  node bench/runtime/bench.mjs '$PWD' '$work' $iterations"
