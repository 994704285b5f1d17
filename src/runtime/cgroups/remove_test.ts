/**
 * Removing a cgroup directory on the real cgroupfs: rmdir first (the common case: no child
 * cgroups), the walk only when the kernel refuses; a cgroup that still has a process is
 * refused by name, never emptied.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { isPierError } from "../../errors.js";
import { removeCgroupDir } from "./remove.js";

// The pids hierarchy: on v1 and hybrid hosts at /sys/fs/cgroup/pids, on v2 the root itself.
const base = existsSync("/sys/fs/cgroup/pids") ? "/sys/fs/cgroup/pids" : "/sys/fs/cgroup";
const dir = join(base, `pier-remove-test-${process.pid}`);

test("a cgroup with child cgroups is removed deepest first; a missing one is success", async () => {
  mkdirSync(join(dir, "a", "b"), { recursive: true });
  mkdirSync(join(dir, "c"));
  await removeCgroupDir(dir);
  assert.equal(existsSync(dir), false);
  await removeCgroupDir(dir);
});

test("a cgroup that still has a process is refused (BUSY) and kept", async () => {
  mkdirSync(dir);
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    writeFileSync(join(dir, "cgroup.procs"), String(child.pid));
    await assert.rejects(
      removeCgroupDir(dir),
      (err) => isPierError(err, "BUSY") && /still has processes/.test(err.message),
    );
    assert.equal(existsSync(dir), true);
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    await removeCgroupDir(dir);
  }
  assert.equal(existsSync(dir), false);
});
