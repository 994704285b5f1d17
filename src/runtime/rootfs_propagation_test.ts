/**
 * `linux.rootfsPropagation` on the real kernel through the native front end (issue 13, item 3):
 * every value the spec allows creates the container (pivot_root used to fail with EINVAL for the
 * shared ones) and the container's root mount carries the propagation asked for, as
 * /proc/self/mountinfo shows it inside.
 */
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";
let stateRoot = "";

before(async () => {
  tmp = await makeTempDir("pier-rt-prop-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  stateRoot = join(tmp, "state");
});

after(async () => {
  await removeTempDir(tmp);
});

/** The optional fields of the root mount's mountinfo line ("shared:N", "master:N", "unbindable"). */
const ROOT_LINE =
  'awk \'$5 == "/" { for (i = 7; $i != "-"; i++) printf "%s ", $i; print "|" }\' /proc/self/mountinfo';

const EXPECTED: Record<string, RegExp> = {
  shared: /shared:\d+/,
  rshared: /shared:\d+/,
  slave: /^\s*\|/,
  rslave: /^\s*\|/,
  private: /^\s*\|/,
  rprivate: /^\s*\|/,
  unbindable: /unbindable/,
  runbindable: /unbindable/,
};

for (const [value, expected] of Object.entries(EXPECTED)) {
  test(`rootfsPropagation ${value}: the container runs and its root mount is ${value}`, async () => {
    const dir = join(tmp, value);
    await writeBundle(
      dir,
      scriptSpec(ROOT_LINE, (s) => {
        if (s.linux) s.linux.rootfsPropagation = value;
      }),
      rootfs,
    );
    const r = runtimeCmd("pier", [
      "--root",
      stateRoot,
      "run",
      "--bundle",
      dir,
      `prop-${value}-${process.pid}`,
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
    const lines = r.stdout.trim().split("\n");
    // The last line is the topmost mount on "/": the container's root.
    assert.match(lines.at(-1) ?? "", expected);
    if (!value.includes("shared")) assert.doesNotMatch(lines.at(-1) ?? "", /shared:/);
  });
}
