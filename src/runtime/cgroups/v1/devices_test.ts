import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  disposeTree,
  hostHasV1,
  requireRoot,
  startGated,
  uniqueParent,
} from "../../../testing/runtime-cgroups.js";
import { openCgroup } from "../manager.js";
import { emulateDeviceRules, parseDevicesList, planV1Devices, planV1DeviceUpdate } from "./devices.js";

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

describe("planV1DeviceUpdate", () => {
  const deny = { allow: false, access: "rwm" } as const;
  it("rewrites everything when the cgroup allows all (a fresh cgroup)", () => {
    const rules = [deny, { allow: true, type: "c", major: 1, minor: 3, access: "rw" } as const];
    assert.deepEqual(planV1DeviceUpdate("a *:* rwm\n", rules), planV1Devices(rules));
  });
  it("writes only the differences between two deny-all lists", () => {
    const current = "c 1:3 rwm\nc 1:5 rwm\nc 136:* rwm\n";
    const rules = [
      deny,
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" } as const,
      { allow: true, type: "c", major: 136, access: "rw" } as const,
      { allow: true, type: "c", major: 10, minor: 200, access: "rwm" } as const,
    ];
    assert.deepEqual(planV1DeviceUpdate(current, rules), [
      { file: "devices.deny", value: "c 1:5 rwm" },
      { file: "devices.deny", value: "c 136:* m" },
      { file: "devices.allow", value: "c 10:200 rwm" },
    ]);
  });
  it("emulates the kernel's merging and exact-match removal", () => {
    const s = emulateDeviceRules([
      deny,
      { allow: true, type: "c", major: 1, minor: 3, access: "r" },
      { allow: true, type: "c", major: 1, minor: 3, access: "mw" },
      { allow: false, type: "c", access: "m" },
      { allow: false, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    assert.deepEqual([...s.exceptions], [["c 1:3", "rm"]]);
    assert.equal(emulateDeviceRules([deny, { allow: true }]).defaultAllow, true);
    assert.deepEqual(parseDevicesList(""), { defaultAllow: false, exceptions: new Map() });
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

  it("updates by difference to the same list a full rewrite gives", {
    skip: !v1 && "no cgroup v1 on this host",
  }, async () => {
    requireRoot();
    const first = [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
      { allow: true, type: "c", access: "m" },
    ] as const;
    const second = [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      { allow: true, type: "c", major: 10, minor: 200, access: "rwm" },
      { allow: true, type: "b", access: "m" },
    ] as const;
    const updated = await openCgroup({ containerId: "d", cgroupsPath: `${parent}/updated` });
    await updated.create();
    await updated.apply({ devices: [...first] });
    await updated.update({ devices: [...second] });
    const fresh = await openCgroup({ containerId: "d", cgroupsPath: `${parent}/fresh` });
    await fresh.create();
    await fresh.apply({ devices: [...second] });
    const list = async (dir: string) =>
      (await readFile(join(dir, "devices.list"), "utf8")).trim().split("\n").sort();
    assert.deepEqual(await list(updated.paths.devices!), await list(fresh.paths.devices!));
    assert.deepEqual(await list(fresh.paths.devices!), ["b *:* m", "c 10:200 rwm", "c 1:3 rw"]);
  });
});
