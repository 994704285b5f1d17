/**
 * Time namespace offsets (`linux.timeOffsets`): a container in its own time namespace sees
 * CLOCK_BOOTTIME and CLOCK_MONOTONIC shifted by the configured offsets.
 */
import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";

before(async () => {
  tmp = await makeTempDir("pier-timens-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
});

after(() => removeTempDir(tmp));

const hostUptime = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);

for (const userNs of [false, true]) {
  test(`timeOffsets shift /proc/uptime (boottime) and the monotonic clock${userNs ? " (with a user namespace)" : ""}`, async () => {
    const spec = scriptSpec("cat /proc/uptime; cat /proc/self/timens_offsets", (s) => {
      const linux = s.linux ?? {};
      linux.namespaces = [...(linux.namespaces ?? []), { type: "time" }];
      if (userNs) {
        linux.namespaces.push({ type: "user" });
        linux.uidMappings = [{ containerID: 0, hostID: 210000, size: 65536 }];
        linux.gidMappings = [{ containerID: 0, hostID: 210000, size: 65536 }];
      }
      linux.timeOffsets = { boottime: { secs: 86400 * 3 }, monotonic: { secs: 7200, nanosecs: 500 } };
      s.linux = linux;
    });
    const dir = await writeBundle(join(tmp, `b${userNs ? 2 : 1}`), spec, rootfs);
    const before = hostUptime();
    const r = runtimeCmd("pier", [
      "--root",
      join(tmp, "state"),
      "run",
      "-b",
      dir,
      `timens-${userNs}-${process.pid}`,
    ]);
    const afterUp = hostUptime();
    assert.equal(r.status, 0, r.stderr);
    const [uptimeLine, ...offsets] = r.stdout.trim().split("\n");
    const inside = Number(uptimeLine?.split(" ")[0]);
    assert.ok(
      inside >= before + 86400 * 3 && inside <= afterUp + 86400 * 3,
      `inside ${inside}, host ${before}`,
    );
    const table = offsets.map((l) => l.trim().split(/\s+/));
    assert.deepEqual(
      table.find((t) => t[0] === "monotonic"),
      ["monotonic", "7200", "500"],
    );
    assert.deepEqual(
      table.find((t) => t[0] === "boottime"),
      ["boottime", String(86400 * 3), "0"],
    );
  });
}

test("without a time namespace the container's uptime is the host's", async () => {
  const dir = await writeBundle(join(tmp, "b0"), scriptSpec("cat /proc/uptime"), rootfs);
  const before = hostUptime();
  const r = runtimeCmd("pier", [
    "--root",
    join(tmp, "state"),
    "run",
    "-b",
    dir,
    `timens-none-${process.pid}`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const inside = Number(r.stdout.split(" ")[0]);
  assert.ok(inside >= before && inside < before + 60, `inside ${inside}, host ${before}`);
});

test("exec joins the container's time namespace", async () => {
  const spec = scriptSpec("sleep 100", (s) => {
    const linux = s.linux ?? {};
    linux.namespaces = [...(linux.namespaces ?? []), { type: "time" }];
    linux.timeOffsets = { boottime: { secs: 86400 * 2 } };
    s.linux = linux;
  });
  const dir = await writeBundle(join(tmp, "b3"), spec, rootfs);
  const id = `timens-exec-${process.pid}`;
  const state = join(tmp, "state");
  const run = runtimeCmd("pier", ["--root", state, "run", "-d", "-b", dir, id], { detached: true });
  assert.equal(run.status, 0);
  try {
    const before = hostUptime();
    const r = runtimeCmd("pier", ["--root", state, "exec", id, "cat", "/proc/uptime"]);
    assert.equal(r.status, 0, r.stderr);
    const inside = Number(r.stdout.split(" ")[0]);
    assert.ok(
      inside >= before + 86400 * 2 && inside < before + 86400 * 2 + 60,
      `inside ${inside}, host ${before}`,
    );
  } finally {
    runtimeCmd("pier", ["--root", state, "delete", "--force", id]);
  }
});
