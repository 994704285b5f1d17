import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openCgroup } from "../manager.js";
import { disposeTree, hostHasV1, requireRoot, startGated, uniqueParent } from "../testing.js";
import { planV1Devices } from "./devices.js";

describe("planV1Devices", () => {
  it("denies everything, then applies the rules in order", () => {
    assert.deepEqual(
      planV1Devices([
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: false, type: "c", major: 1, minor: 3, access: "w" },
      ]),
      [
        { file: "devices.deny", value: "a" },
        { file: "devices.deny", value: "a" },
        { file: "devices.allow", value: "c 1:3 rwm" },
        { file: "devices.deny", value: "c 1:3 w" },
      ],
    );
  });
});

describe("v1 devices on this kernel", async () => {
  const v1 = await hostHasV1();
  const parent = uniqueParent("dev");
  after(() => disposeTree(parent));

  const tryNull = async (cgroupsPath: string) => {
    const cg = await openCgroup({ containerId: "d", cgroupsPath });
    const p = startGated("echo x > /dev/null");
    await cg.addProcess(p.pid);
    p.release();
    return p.exited;
  };

  it("makes /dev/null unopenable when denied, and openable once allowed", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const cg = await openCgroup({ containerId: "d", cgroupsPath: `${parent}/null` });
    await cg.create();
    await cg.apply({ devices: [{ allow: false, access: "rwm" }] });
    assert.equal((await readFile(join(cg.paths.devices!, "devices.list"), "utf8")).trim(), "");
    const denied = await tryNull(`${parent}/null`);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /not permitted/i);
    await cg.update({
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      ],
    });
    assert.equal((await readFile(join(cg.paths.devices!, "devices.list"), "utf8")).trim(), "c 1:3 rw");
    const allowed = await tryNull(`${parent}/null`);
    assert.equal(allowed.code, 0, allowed.stderr);
  });
});
