import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import { type HostDevice, readHostFacts } from "./host-facts.js";
import {
  applyResources,
  checkResourcesOnHost,
  linuxResources,
  mergeResources,
  parseResources,
  RLIM_INFINITY,
} from "./resources.js";
import { planUpdate } from "./update.js";

const host = {
  cpus: 2,
  blkioWeight: false,
  swapLimit: true,
  device: (path: string): HostDevice => ({
    path,
    type: "b",
    major: 8,
    minor: 0,
    fileMode: 0o660,
    uid: 0,
    gid: 6,
  }),
};

describe("resource limits", () => {
  test("Docker's zero values are unset; --cpus is a quota over 100 ms; swap defaults to twice memory", () => {
    assert.equal(
      parseResources({ memory: 0, cpuShares: 0, pidsLimit: 0, memorySwappiness: -1, oomKillDisable: false }),
      undefined,
    );
    const r = parseResources({
      memory: 64 << 20,
      nanoCpus: 1.5e9,
      pidsLimit: -5,
      blkioDeviceReadBps: [{ path: "/dev/sda", rate: 1024 }],
    });
    assert.deepEqual(linuxResources(r!, host), {
      memory: { limit: 64 << 20, swap: 128 << 20 },
      cpu: { period: 100000, quota: 150000 },
      pids: { limit: -1 },
      blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1024 }] },
    });
  });

  test("Docker's messages for bad limits", () => {
    const bad: [unknown, RegExp][] = [
      [{ memory: 1 << 20 }, /Minimum memory limit allowed is 6MB/],
      [
        { memory: 64 << 20, memorySwap: 32 << 20 },
        /Minimum memoryswap limit should be larger than memory limit/,
      ],
      [{ memorySwap: 64 << 20 }, /You should always set the Memory limit when using Memoryswap limit/],
      [{ memory: 8 << 20, memoryReservation: 16 << 20 }, /can not be less than memory reservation limit/],
      [{ nanoCpus: 1e9, cpuQuota: 50000 }, /Nano CPUs and CPU Quota cannot both be set/],
      [{ cpuPeriod: 10 }, /CPU cfs period can not be less than 1ms/],
      [{ cpuQuota: 10 }, /CPU cfs quota can not be less than 1ms/],
      [{ memorySwappiness: 101 }, /valid memory swappiness range is 0-100/],
      [{ cpusetCpus: "0-" }, /Invalid value 0- for cpuset cpus/],
      [
        { ulimits: [{ name: "nofile", soft: 10, hard: 5 }] },
        /soft limit must be less than or equal to hard limit: 10 > 5/,
      ],
      [{ ulimits: [{ name: "bogus", soft: 1, hard: 1 }] }, /invalid ulimit type: bogus/],
      [{ oomScoreAdj: -1001 }, /range for oom score adj is \[-1000, 1000\]/],
      [{ kernelMemory: 1 << 20 }, /kernel memory limits \(--kernel-memory\) are not supported/],
      [{ memory: "64m" }, /memory must be an integer/],
    ];
    for (const [input, message] of bad)
      assert.throws(() => parseResources(input), message, JSON.stringify(input));
    assert.throws(() => checkResourcesOnHost({ nanoCpus: 3e9 }, host), /Range of CPUs is from 0.01 to 2.00/);
    assert.throws(
      () => checkResourcesOnHost({ blkioWeight: 100 }, host),
      /--blkio-weight is not applied on this host: its kernel has no Block I\/O weight/,
    );
    assert.throws(
      () => parseResources({ ulimits: [], shmSize: 1 }, { update: true }),
      /resources\.ulimits is not updatable/,
    );
  });

  test("the spec: rlimits only from --ulimit, the OOM score, /dev/shm's size", () => {
    const s = defaultRuntimeSpec();
    applyResources(
      s,
      parseResources({
        ulimits: [{ name: "nofile", soft: 10, hard: 20 }],
        oomScoreAdj: 300,
        shmSize: 1 << 20,
      }),
      host,
    );
    assert.deepEqual(s.process?.rlimits, [{ type: "RLIMIT_NOFILE", soft: 10, hard: 20 }]);
    assert.equal(s.process?.oomScoreAdj, 300);
    assert.ok(s.mounts?.find((m) => m.destination === "/dev/shm")?.options?.includes("size=1048576"));
    const plain = defaultRuntimeSpec();
    applyResources(plain, undefined, host);
    assert.deepEqual(plain.process?.rlimits, [], "no runc-spec 1024: Docker sets none");
    assert.ok(plain.mounts?.find((m) => m.destination === "/dev/shm")?.options?.includes("size=67108864"));
  });

  test("update: merged limits, --cpus replacing the CFS quota, restart policy, refusals", () => {
    assert.deepEqual(
      mergeResources({ cpuPeriod: 50000, cpuQuota: 25000, memory: 64 << 20 }, { nanoCpus: 1e9 }),
      {
        memory: 64 << 20,
        nanoCpus: 1e9,
      },
    );
    const plan = planUpdate(
      { image: "x", resources: { memory: 64 << 20 } },
      {
        resources: { memory: 128 << 20, pidsLimit: 9 },
        restartPolicy: { name: "on-failure", maximumRetryCount: 2 },
      },
      host,
    );
    assert.deepEqual(plan.config.resources, { memory: 128 << 20, pidsLimit: 9 });
    assert.deepEqual(plan.config.restartPolicy, { name: "on-failure", maximumRetryCount: 2 });
    assert.deepEqual(plan.resources.memory, { limit: 128 << 20, swap: 256 << 20 });
    assert.throws(
      () => planUpdate({ image: "x", autoRemove: true }, { restartPolicy: { name: "always" } }, host),
      /Restart policy cannot be updated because AutoRemove is enabled/,
    );
    assert.throws(
      () => planUpdate({ image: "x" }, { resources: { memory: 1 } }, host),
      /Minimum memory limit allowed is 6MB/,
    );
  });
});

/** A made-up cgroup tree with `files` (paths relative to its root), for the host-facts reader. */
function fakeCgroupRoot(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), "pier-fake-cgroup-"));
  for (const f of files) {
    mkdirSync(join(root, f, ".."), { recursive: true });
    writeFileSync(join(root, f), "");
  }
  return root;
}

describe("the host's swap accounting and blkio weight (host facts read from a cgroup tree)", () => {
  const trees: Record<string, { files: string[]; swap: boolean; weight: boolean }> = {
    "v1 with memsw and blkio.weight": {
      files: ["memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes", "blkio/blkio.weight"],
      swap: true,
      weight: true,
    },
    "v1 without memsw (swapaccount=0), blkio without weight": {
      files: ["memory/memory.limit_in_bytes", "blkio/blkio.throttle.read_bps_device"],
      swap: false,
      weight: false,
    },
    "v2 with memory.swap.max in child cgroups": {
      files: [
        "cgroup.controllers",
        "io.weight",
        "system.slice/memory.current",
        "system.slice/memory.swap.max",
      ],
      swap: true,
      weight: true,
    },
    "v2 without swap accounting": {
      files: ["cgroup.controllers", "system.slice/memory.current", "system.slice/memory.max"],
      swap: false,
      weight: false,
    },
  };
  for (const [name, t] of Object.entries(trees))
    test(name, () => {
      const root = fakeCgroupRoot(t.files);
      try {
        const facts = readHostFacts(root);
        assert.equal(facts.swapLimit, t.swap);
        assert.equal(facts.blkioWeight, t.weight);
        const swap = () =>
          checkResourcesOnHost(parseResources({ memory: 64 << 20, memorySwap: 128 << 20 }), facts);
        const weight = () => checkResourcesOnHost(parseResources({ blkioWeight: 300 }), facts);
        if (t.swap) swap();
        else
          assert.throws(
            swap,
            /--memory-swap is not applied on this host: its kernel has no swap accounting \(no memory.memsw.limit_in_bytes on cgroup v1, no memory.swap.max on v2/,
          );
        if (t.weight) weight();
        else
          assert.throws(
            weight,
            /--blkio-weight is not applied on this host: its kernel has no Block I\/O weight/,
          );
        // Unset or -1 (unlimited) swap is what such a host gives anyway: accepted, and no
        // swap limit is written where there is none to write.
        checkResourcesOnHost(parseResources({ memory: 64 << 20, memorySwap: -1 }), facts);
        const spec = linuxResources(parseResources({ memory: 64 << 20 }) ?? {}, facts);
        assert.equal(spec.memory?.swap, t.swap ? 128 << 20 : undefined);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
});

describe("--ulimit NAME=-1 is unlimited, as Docker reads it", () => {
  test("-1 becomes RLIM_INFINITY (2^64-1) in the spec; a soft limit above the hard one is refused", () => {
    const s = defaultRuntimeSpec();
    applyResources(
      s,
      parseResources({
        ulimits: [
          { name: "core", soft: -1, hard: -1 },
          { name: "memlock", soft: 64, hard: -1 },
        ],
      }),
      host,
    );
    assert.deepEqual(s.process?.rlimits, [
      { type: "RLIMIT_CORE", soft: RLIM_INFINITY, hard: RLIM_INFINITY },
      { type: "RLIMIT_MEMLOCK", soft: 64, hard: RLIM_INFINITY },
    ]);
    assert.throws(
      () => parseResources({ ulimits: [{ name: "core", soft: -1, hard: 1024 }] }),
      /soft limit must be less than or equal to hard limit: soft: -1 \(unlimited\), hard: 1024/,
    );
    assert.throws(
      () => parseResources({ ulimits: [{ name: "core", soft: -2, hard: -2 }] }),
      /-1 \(unlimited\) is the only negative value/,
    );
  });
});
