import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPierError } from "../../errors.js";
import { validateLinuxResources } from "./resources.js";

function rejects(value: unknown, message: string): void {
  assert.throws(
    () => validateLinuxResources(value),
    (err: unknown) => isPierError(err, "INVALID_DOCUMENT") && err.message === message,
  );
}

describe("validateLinuxResources", () => {
  it("accepts the spec's examples and returns the known fields", () => {
    const input = {
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
      ],
      memory: {
        limit: 536870912,
        reservation: 536870912,
        swap: -1,
        kernel: -1,
        swappiness: 0,
        disableOOMKiller: false,
      },
      cpu: {
        shares: 1024,
        quota: 1000000,
        burst: 1000000,
        period: 500000,
        cpus: "2-3",
        mems: "0-7",
        idle: 0,
      },
      blockIO: {
        weight: 10,
        weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 300 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 209715200 }],
      network: { classID: 1048577, priorities: [{ name: "eth0", priority: 500 }] },
      pids: { limit: 32771 },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
      unified: { "io.max": "259:0 rbps=2097152" },
      somethingNew: { kept: false },
    };
    const out = validateLinuxResources(input);
    const { somethingNew: _dropped, ...expected } = input;
    assert.deepEqual(out, expected);
  });

  it("treats null as absent", () => {
    assert.deepEqual(validateLinuxResources({ devices: null, memory: { limit: null } }), { memory: {} });
  });

  it("names the offending field", () => {
    rejects({ memory: { limit: "1G" } }, "linux.resources.memory.limit: must be an integer");
    rejects({ memory: { limit: 1.5 } }, "linux.resources.memory.limit: must be an integer");
    rejects({ memory: { swappiness: 101 } }, "linux.resources.memory.swappiness: must be from 0 to 100");
    rejects({ cpu: { shares: -2 } }, "linux.resources.cpu.shares: must not be negative");
    rejects({ cpu: { cpus: "0-3;7" } }, 'linux.resources.cpu.cpus: must be a list such as "0-3,7"');
    rejects({ cpu: { quota: 1000, burst: 2000 } }, "linux.resources.cpu.burst: must not exceed quota (1000)");
    rejects(
      { devices: [{ access: "r" }] },
      "linux.resources.devices[0].allow: is required and must be a boolean",
    );
    rejects(
      { devices: [{ allow: true, access: "rr" }] },
      'linux.resources.devices[0].access: must combine "r", "w" and "m", each at most once',
    );
    rejects(
      { devices: [{ allow: true, type: "x" }] },
      'linux.resources.devices[0].type: must be "a", "c" or "b"',
    );
    rejects({ blockIO: { weight: 70000 } }, "linux.resources.blockIO.weight: must be at most 65535");
    rejects(
      { blockIO: { weightDevice: [{ major: 8, minor: 0 }] } },
      'linux.resources.blockIO.weightDevice[0]: needs "weight" or "leafWeight"',
    );
    rejects(
      { blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0 }] } },
      "linux.resources.blockIO.throttleReadBpsDevice[0].rate: is required",
    );
    rejects(
      { hugepageLimits: [{ pageSize: "2M", limit: 1 }] },
      'linux.resources.hugepageLimits[0].pageSize: is required and must look like "2MB", "1GB" or "64KB"',
    );
    rejects(
      { network: { priorities: [{ name: "eth0 9\nlo", priority: 1 }] } },
      "linux.resources.network.priorities[0].name: is required and must be an interface name without whitespace",
    );
    rejects({ network: { classID: 2 ** 32 } }, "linux.resources.network.classID: must be at most 4294967295");
    rejects({ rdma: { mlx: {} } }, 'linux.resources.rdma.mlx: needs "hcaHandles" or "hcaObjects"');
    rejects(
      { unified: { "../memory.max": "1" } },
      "linux.resources.unified.../memory.max: key must be a plain cgroup file name",
    );
    rejects({ unified: { "memory.max": 1 } }, "linux.resources.unified.memory.max: must be a string");
    rejects({ pids: [] }, "linux.resources.pids: must be an object");
    rejects("x", "linux.resources: must be an object");
  });

  it("uses the caller's path prefix", () => {
    assert.throws(
      () => validateLinuxResources({ pids: { limit: "x" } }, "resources"),
      /^OciError: resources\.pids\.limit: /,
    );
  });
});
