/**
 * `pier-runtime update` with runc's flags, next to runc itself on the same bundle: the same
 * cgroup values from inside each container.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { requireTool, runtimeCmd, scriptSpec, writeBundle } from "../../testing/runtime.js";
import { parseArgs } from "./args.js";
import { resourcesFromUpdateFlags, UPDATE_FLAGS } from "./update-flags.js";

const tmp = mkdtempSync(join(tmpdir(), "pier-update-flags-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("flags read as runc reads them, over the --resources object", () => {
  const p = parseArgs(
    [
      "--memory",
      "64m",
      "--memory-swap",
      "-1",
      "--cpu-quota",
      "50000",
      "--cpuset-cpus",
      "0",
      "--pids-limit",
      "7",
      "id",
    ],
    UPDATE_FLAGS,
  );
  assert.deepEqual(resourcesFromUpdateFlags(p, { memory: { reservation: 1 }, blockIO: { weight: 10 } }), {
    memory: { reservation: 1, limit: 67108864, swap: -1 },
    cpu: { quota: 50000, cpus: "0" },
    pids: { limit: 7 },
    blockIO: { weight: 10 },
  });
  assert.throws(
    () => resourcesFromUpdateFlags(parseArgs(["--memory", "lots", "id"], UPDATE_FLAGS), {}),
    /--memory/,
  );
});

const READ =
  "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/pids/pids.max";

test("pier-runtime update --memory/--cpu-quota/--cpu-share/--pids-limit changes the cgroup as runc update does", async () => {
  const runc = requireTool("runc", "runc");
  const outputs: string[] = [];
  for (const runtime of ["pier", runc]) {
    const root = join(tmp, `root-${outputs.length}`);
    const dir = await writeBundle(join(tmp, `b${outputs.length}`), scriptSpec("sleep 60"));
    const id = `upd-${outputs.length}-${process.pid}`;
    const rt = (...args: string[]) => runtimeCmd(runtime, ["--root", root, ...args]);
    const run = runtimeCmd(runtime, ["--root", root, "run", "-d", "--bundle", dir, id], { detached: true });
    assert.equal(run.status, 0, run.stderr);
    try {
      const u = rt(
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--cpu-quota",
        "20000",
        "--cpu-share",
        "256",
        "--pids-limit",
        "9",
        id,
      );
      assert.equal(u.status, 0, `${runtime}: ${u.stderr}`);
      const e = rt("exec", id, "sh", "-c", READ);
      assert.equal(e.status, 0, e.stderr);
      outputs.push(e.stdout);
    } finally {
      rt("delete", "--force", id);
    }
  }
  assert.equal(outputs[0], "67108864\n20000\n256\n9\n");
  assert.equal(outputs[0], outputs[1], "pier-runtime and runc");
});
