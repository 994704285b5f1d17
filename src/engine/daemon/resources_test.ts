/**
 * Resource limits through the stock docker CLI and through `pier` against a test pierd: the
 * cgroup files, rlimits, OOM score and /dev/shm seen from inside real containers, `inspect`,
 * `stats`, `update` on a running container, Docker's refusals, and the same flags under
 * podman with runc.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { describe, test } from "node:test";
import { docker, ok, outputFields, pier, useTestDaemon } from "../../testing/engine.js";
import { disposeTree, uniqueParent } from "../../testing/runtime-cgroups.js";
import { usePodmanWithRunc } from "../../testing/runtime-podman.js";

/** The test pierd and its busybox registry, the image pulled. */
const fx = useTestDaemon({ pull: true });

/** Prints `name: value` for each limit a container can see of itself (cgroup v1 layout). */
const READ_LIMITS = [
  "cd /sys/fs/cgroup",
  'echo "memory: $(cat memory/memory.limit_in_bytes)"',
  'echo "memsw: $(cat memory/memory.memsw.limit_in_bytes)"',
  'echo "reservation: $(cat memory/memory.soft_limit_in_bytes)"',
  'echo "oom_kill_disable: $(grep oom_kill_disable memory/memory.oom_control | cut -d" " -f2)"',
  'echo "swappiness: $(cat memory/memory.swappiness)"',
  'echo "quota: $(cat cpu/cpu.cfs_quota_us)"',
  'echo "period: $(cat cpu/cpu.cfs_period_us)"',
  'echo "shares: $(cat cpu/cpu.shares)"',
  'echo "cpus: $(cat cpuset/cpuset.cpus)"',
  'echo "pids: $(cat pids/pids.max)"',
  'echo "wbps: $(cat blkio/blkio.throttle.write_bps_device)"',
  'echo "riops: $(cat blkio/blkio.throttle.read_iops_device)"',
  'echo "oom_score_adj: $(cat /proc/self/oom_score_adj)"',
  'echo "nofile: $(ulimit -n):$(ulimit -Hn)"',
  "echo \"shm: $(df -k /dev/shm | tail -1 | awk '{print $2}')\"",
].join("; ");

const LIMIT_FLAGS = [
  "--memory",
  "64m",
  "--memory-swap",
  "128m",
  "--memory-reservation",
  "32m",
  "--memory-swappiness",
  "10",
  "--oom-kill-disable",
  "--cpus",
  "0.5",
  "--cpu-shares",
  "512",
  "--cpuset-cpus",
  "0",
  "--pids-limit",
  "50",
  "--device-write-bps",
  "/dev/loop0:1mb",
  "--device-read-iops",
  "/dev/loop0:100",
  "--oom-score-adj",
  "500",
  "--ulimit",
  "nofile=100:200",
  "--shm-size",
  "32m",
];

const EXPECTED = {
  memory: "67108864",
  memsw: "134217728",
  reservation: "33554432",
  oom_kill_disable: "1",
  swappiness: "10",
  quota: "50000",
  period: "100000",
  shares: "512",
  cpus: "0",
  pids: "50",
  wbps: "7:0 1048576",
  riops: "7:0 100",
  oom_score_adj: "500",
  nofile: "100:200",
  shm: "32768",
};

describe("docker run with limits", () => {
  test("every limit reaches the container's cgroup, rlimits, OOM score and /dev/shm", async () => {
    const r = await docker(fx.d, ["run", "--rm", ...LIMIT_FLAGS, fx.reg.image, "sh", "-c", READ_LIMITS]);
    assert.deepEqual(outputFields(r), EXPECTED);
  });

  test("without limits: none, /dev/shm of 64 MiB, swap unlimited", async () => {
    const s = outputFields(await docker(fx.d, ["run", "--rm", fx.reg.image, "sh", "-c", READ_LIMITS]));
    assert.equal(s.quota, "-1");
    assert.equal(s.pids, "max");
    assert.equal(s.shm, "65536");
    assert.equal(s.oom_kill_disable, "0");
    assert.ok(Number(s.memory) > 2 ** 40, s.memory);
  });

  test("inspect shows the limits as HostConfig keys; stats shows the memory limit", async () => {
    const r = await docker(fx.d, [
      "run",
      "-d",
      "--name",
      "limited",
      ...LIMIT_FLAGS,
      fx.reg.image,
      "sleep",
      "300",
    ]);
    assert.equal(r.status, 0, r.stderr);
    try {
      const i = await docker(fx.d, ["inspect", "--format", "{{json .HostConfig}}", "limited"]);
      const h = JSON.parse(i.stdout) as Record<string, unknown>;
      assert.equal(h.Memory, 67108864);
      assert.equal(h.MemorySwap, 134217728);
      assert.equal(h.MemoryReservation, 33554432);
      assert.equal(h.MemorySwappiness, 10);
      assert.equal(h.OomKillDisable, true);
      assert.equal(h.NanoCpus, 500000000);
      assert.equal(h.CpuShares, 512);
      assert.equal(h.CpusetCpus, "0");
      assert.equal(h.PidsLimit, 50);
      assert.equal(h.OomScoreAdj, 500);
      assert.equal(h.ShmSize, 33554432);
      assert.deepEqual(h.Ulimits, [{ Name: "nofile", Soft: 100, Hard: 200 }]);
      assert.deepEqual(h.BlkioDeviceWriteBps, [{ Path: "/dev/loop0", Rate: 1048576 }]);
      const stats = await docker(fx.d, ["stats", "--no-stream", "--format", "{{.MemUsage}}", "limited"]);
      assert.match(stats.stdout, /\/ 64MiB/, stats.stderr);
    } finally {
      await docker(fx.d, ["rm", "-f", "limited"]);
    }
  });

  test("an exec'd process gets the container's OOM score (docker exec, pier exec), as runc gives it", async () => {
    const id = await ok(docker(fx.d, ["run", "-d", "--oom-score-adj", "600", fx.reg.image, "sleep", "300"]));
    try {
      assert.equal(await ok(docker(fx.d, ["exec", id, "cat", "/proc/self/oom_score_adj"])), "600");
      assert.equal(await ok(pier(fx.d, ["exec", id, "cat", "/proc/self/oom_score_adj"])), "600");
    } finally {
      await docker(fx.d, ["rm", "-f", id]);
    }
  });

  test("Docker's refusals: kernel memory, a too small limit, swap below memory, CPUs that do not exist", async () => {
    const refused = async (flags: string[], message: RegExp) => {
      const r = await docker(fx.d, ["run", "--rm", ...flags, fx.reg.image, "true"]);
      assert.notEqual(r.status, 0, flags.join(" "));
      assert.match(r.stderr, message);
    };
    await refused(["--kernel-memory", "10m"], /HostConfig\.KernelMemory is not supported/);
    await refused(["--memory", "1m"], /Minimum memory limit allowed is 6MB/);
    await refused(
      ["--memory", "64m", "--memory-swap", "32m"],
      /Minimum memoryswap limit should be larger than memory limit/,
    );
    await refused(["--cpuset-cpus", "64"], /Requested CPUs are not available - requested 64/);
    await refused(["--cpus", "1", "--cpu-period", "50000"], /Nano CPUs and CPU Period cannot both be set/);
    await refused(["--oom-score-adj", "2000"], /range for oom score adj is \[-1000, 1000\]/);
    const ps = await docker(fx.d, ["ps", "-aq"]);
    assert.equal(ps.stdout.trim(), "", "nothing was created");
  });
});

/** The memory cgroup of process `pid` (the unified one on a cgroup v2 host), from /proc. */
function memoryCgroup(pid: number): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  const line =
    lines.find((l) => l.split(":")[1]?.split(",").includes("memory")) ??
    lines.find((l) => l.startsWith("0::"));
  if (!line) throw new Error(`no memory cgroup in /proc/${pid}/cgroup`);
  return line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
}

describe("--cgroup-parent", () => {
  test("docker run places the container's cgroup under an absolute parent, pier run under a relative one (from pierd's cgroup)", async () => {
    const absolute = uniqueParent("cgparent");
    const relative = uniqueParent("cgparent-rel").slice(1);
    const pidOf = async (id: string) =>
      Number(await ok(docker(fx.d, ["inspect", "-f", "{{.State.Pid}}", id])));
    try {
      const a = await ok(
        docker(fx.d, ["run", "-d", "--cgroup-parent", absolute, fx.reg.image, "sleep", "300"]),
      );
      assert.equal(memoryCgroup(await pidOf(a)), `${absolute}/${a}`);
      assert.equal(await ok(docker(fx.d, ["inspect", "-f", "{{.HostConfig.CgroupParent}}", a])), absolute);
      await ok(docker(fx.d, ["rm", "-f", a]));
      const r = await ok(
        pier(fx.d, ["run", "-d", "--cgroup-parent", relative, fx.reg.image, "sleep", "300"]),
      );
      const own = memoryCgroup(fx.d.proc.pid as number);
      assert.equal(memoryCgroup(await pidOf(r)), posix.join(own, relative, r));
      await ok(docker(fx.d, ["rm", "-f", r]));
    } finally {
      await disposeTree(absolute).catch(() => {});
      await disposeTree(relative).catch(() => {});
    }
  });

  test("a parent with '..' or a bad slice name is refused naming it; nothing is created", async () => {
    for (const bad of ["/a/../b", "../escape", "-bad-.slice"]) {
      const r = await docker(fx.d, ["run", "--rm", "--cgroup-parent", bad, fx.reg.image, "true"]);
      assert.notEqual(r.status, 0, bad);
      assert.match(r.stderr, new RegExp(`cgroupParent "${bad.replace(/[.]/g, "\\.")}"`));
      const p = await pier(fx.d, ["run", "--rm", "--cgroup-parent", bad, fx.reg.image, "true"]);
      assert.notEqual(p.status, 0, bad);
      assert.match(p.stderr, /cgroupParent/);
    }
    assert.equal(await ok(docker(fx.d, ["ps", "-aq"])), "", "nothing was created");
  });
});

describe("docker update", () => {
  test("changes the limits of a running container (its cgroup) and what inspect and stats show", async () => {
    const r = await docker(fx.d, [
      "run",
      "-d",
      "--name",
      "upd",
      "--memory",
      "64m",
      "--cpus",
      "0.5",
      fx.reg.image,
      "sleep",
      "300",
    ]);
    assert.equal(r.status, 0, r.stderr);
    try {
      const u = await docker(fx.d, [
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--cpus",
        "1",
        "--pids-limit",
        "20",
        "upd",
      ]);
      assert.equal(u.status, 0, u.stderr);
      const s = outputFields(await docker(fx.d, ["exec", "upd", "sh", "-c", READ_LIMITS]));
      assert.equal(s.memory, "134217728");
      assert.equal(s.memsw, "268435456");
      assert.equal(s.quota, "100000");
      assert.equal(s.pids, "20");
      const i = await docker(fx.d, [
        "inspect",
        "--format",
        "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
        "upd",
      ]);
      assert.equal(i.stdout.trim(), "134217728 1000000000 20");
      const stats = await docker(fx.d, ["stats", "--no-stream", "--format", "{{.MemUsage}}", "upd"]);
      assert.match(stats.stdout, /\/ 128MiB/);
      const rp = await docker(fx.d, ["update", "--restart", "always", "upd"]);
      assert.equal(rp.status, 0, rp.stderr);
      const policy = await docker(fx.d, ["inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", "upd"]);
      assert.equal(policy.stdout.trim(), "always");
      const bad = await docker(fx.d, ["update", "--kernel-memory", "10m", "upd"]);
      assert.match(bad.stderr, /KernelMemory is not supported/);
      // The limits survive a restart (they are in the container's config).
      const restart = await docker(fx.d, ["restart", "-t", "0", "upd"]);
      assert.equal(restart.status, 0, restart.stderr);
      assert.equal(outputFields(await docker(fx.d, ["exec", "upd", "sh", "-c", READ_LIMITS])).pids, "20");
    } finally {
      await docker(fx.d, ["rm", "-f", "upd"]);
    }
  });
});

describe("pier run and pier update take the same flags", () => {
  test("limits inside the container, then updated", async () => {
    const r = await pier(fx.d, ["run", "--rm", ...LIMIT_FLAGS, fx.reg.image, "sh", "-c", READ_LIMITS]);
    assert.deepEqual(outputFields(r), EXPECTED);
    const id = await pier(fx.d, [
      "run",
      "-d",
      "--name",
      "pupd",
      "--memory",
      "64m",
      fx.reg.image,
      "sleep",
      "300",
    ]);
    assert.equal(id.status, 0, id.stderr);
    try {
      const u = await pier(fx.d, ["update", "--memory", "96m", "--pids-limit", "30", "pupd"]);
      assert.equal(u.status, 0, u.stderr);
      const s = outputFields(await docker(fx.d, ["exec", "pupd", "sh", "-c", READ_LIMITS]));
      assert.equal(s.memory, String(96 * 1024 * 1024));
      assert.equal(s.pids, "30");
      const i = await pier(fx.d, ["inspect", "pupd"]);
      assert.match(i.stdout, /"pidsLimit": ?30/);
      const bad = await pier(fx.d, ["run", "--rm", "--memory", "1m", fx.reg.image, "true"]);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
    } finally {
      await docker(fx.d, ["rm", "-f", "pupd"]);
    }
  });
});

describe("the same limits under podman with runc", () => {
  const podman = usePodmanWithRunc();

  test("give the same cgroup values as pierd", async () => {
    const flags = LIMIT_FLAGS.filter((f, i, all) => f !== "--ulimit" && all[i - 1] !== "--ulimit");
    const theirs = outputFields(podman.run(flags, READ_LIMITS));
    const ours = outputFields(
      await docker(fx.d, ["run", "--rm", ...flags, fx.reg.image, "sh", "-c", READ_LIMITS]),
    );
    for (const k of Object.keys(EXPECTED).filter((k) => k !== "nofile")) assert.equal(ours[k], theirs[k], k);
  });
});
