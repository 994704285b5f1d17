/**
 * `pier create` beside `docker create`, and the last Docker-parity flags, through the stock
 * docker CLI and through `pier` against a test pierd: `--health-start-interval` (API 1.44),
 * `--ulimit NAME=-1`, `--ipc shareable` and Docker's refusal to join a private IPC namespace,
 * each checked from inside real containers.
 */
import assert from "node:assert/strict";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { docker, ok, pier, until, useTestDaemon } from "../../testing/engine.js";

/** The test pierd and its busybox registry, the image pulled. */
const fx = useTestDaemon({ pull: true });

/** docker's inspect of `ref` as an object. */
async function inspect(ref: string): Promise<Record<string, Record<string, unknown>>> {
  return (
    JSON.parse(await ok(docker(fx.d, ["inspect", ref]))) as Record<string, Record<string, unknown>>[]
  )[0]!;
}

/** The long options of `pier CMD --help` (`--name`, `--memory`, …). */
async function helpOptions(cmd: string): Promise<string[]> {
  const help = await ok(pier(fx.d, [cmd, "--help"]));
  return [...help.matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1] as string).sort();
}

test("pier create takes exactly run's flags (but -d) and prints the id; pier start runs it", async () => {
  const run = await helpOptions("run");
  const create = await helpOptions("create");
  assert.deepEqual(
    create,
    run.filter((o) => o !== "--detach"),
  );
  assert.ok(create.includes("--health-start-interval") && create.includes("--memory"));

  const args = ["--name", "made", "--memory", "64m", "--cap-drop", "ALL", "--ulimit", "core=-1", "-e", "A=1"];
  const id = await ok(
    pier(fx.d, [
      "create",
      ...args,
      fx.reg.image,
      "sh",
      "-c",
      "echo $A; ulimit -c; grep CapEff /proc/self/status",
    ]),
  );
  assert.match(id, /^[0-9a-f]{64}$/, "the full id, as docker create prints it");
  const viaDocker = await ok(
    docker(fx.d, ["create", "--name", "made-by-docker", ...args.slice(2), fx.reg.image]),
  );
  assert.match(viaDocker, /^[0-9a-f]{64}$/);
  const c = await inspect("made");
  assert.equal(c.Id, id);
  assert.equal(c.State?.Status, "created");
  const d = await inspect("made-by-docker");
  for (const k of ["Memory", "MemorySwap", "CapDrop", "Ulimits"] as const)
    assert.deepEqual(c.HostConfig?.[k], d.HostConfig?.[k], `HostConfig.${k} as docker create gives it`);

  assert.equal(await ok(pier(fx.d, ["start", "made"])), "made");
  await until(
    async () => (await inspect("made")).State?.Status,
    (s) => s === "exited",
    "the created container to run and exit",
  );
  assert.equal(await ok(pier(fx.d, ["logs", "made"])), "1\nunlimited\nCapEff:\t0000000000000000");
  await ok(docker(fx.d, ["rm", "made", "made-by-docker"]));
});

test("pier create --rm: removed once it exited; -i keeps stdin open, as docker create -i", async () => {
  const id = await ok(pier(fx.d, ["create", "--rm", "-i", fx.reg.image, "true"]));
  const c = await inspect(id);
  const d = await inspect(await ok(docker(fx.d, ["create", "--rm", "-i", fx.reg.image, "true"])));
  for (const [k, sub] of [
    ["AutoRemove", "HostConfig"],
    ["OpenStdin", "Config"],
    ["StdinOnce", "Config"],
  ] as const) {
    assert.equal(c[sub]?.[k], true, `${sub}.${k}`);
    assert.equal(c[sub]?.[k], d[sub]?.[k], `${sub}.${k} as docker create gives it`);
  }
  await ok(docker(fx.d, ["rm", d.Id as unknown as string]));
  await ok(pier(fx.d, ["start", id]));
  await until(
    async () => (await docker(fx.d, ["inspect", id])).status,
    (s) => s !== 0,
    "the --rm container to be removed",
  );
  const bad = await pier(fx.d, ["create", "--cpus", "lots", fx.reg.image]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /failed to parse lots as a rational number/);
});

test("--health-start-interval probes often while starting, then the interval applies", async () => {
  // The docker CLI sends StartInterval only to an API 1.44 daemon: it is asked to speak 1.44.
  const docker144 = (args: string[]) => docker(fx.d, args, { env: { DOCKER_API_VERSION: "1.44" } });
  const health = ["--health-cmd", "true", "--health-interval", "1h", "--health-start-period", "5m"];
  await ok(
    docker144([
      "run",
      "-d",
      "--name",
      "quick",
      ...health,
      "--health-start-interval",
      "100ms",
      fx.reg.image,
      "sleep",
      "300",
    ]),
  );
  await ok(
    pier(fx.d, [
      "run",
      "-d",
      "--name",
      "quick-pier",
      ...health,
      "--health-start-interval",
      "100ms",
      fx.reg.image,
      "sleep",
      "300",
    ]),
  );
  // The control: the same check without it waits Docker's default 5 s start interval.
  await ok(docker144(["run", "-d", "--name", "slow", ...health, fx.reg.image, "sleep", "300"]));
  const state = async (name: string) =>
    (await inspect(name)).State?.Health as { Status: string; Log: unknown[] } | undefined;
  for (const name of ["quick", "quick-pier"]) {
    await until(
      () => state(name),
      (h) => h?.Status === "healthy",
      `${name} to be healthy`,
    );
    const check = (await inspect(name)).Config?.Healthcheck as Record<string, unknown> | undefined;
    assert.equal(check?.StartInterval, 100_000_000);
  }
  assert.equal((await state("slow"))?.Status, "starting", "no probe before the 5 s default start interval");
  // Healthy, it is not `starting` any more: the next probe waits the 1 h interval.
  const probes = (await state("quick"))?.Log.length;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await state("quick"))?.Log.length, probes, "no probe at the start interval once healthy");
  await ok(docker(fx.d, ["rm", "-f", "quick", "quick-pier", "slow"]));
});

test("--ulimit NAME=-1 is unlimited (docker and pier); a soft limit above the hard one is refused", async () => {
  // Limits whose hard value pierd's own is already unlimited: raising one needs
  // CAP_SYS_RESOURCE, which a host (this one: a sandbox) may withhold from pierd.
  const script = "ulimit -c; ulimit -Hc; ulimit -s; ulimit -Hs";
  for (const cli of [docker, pier]) {
    const out = await ok(
      cli(fx.d, [
        "run",
        "--rm",
        "--ulimit",
        "core=-1",
        "--ulimit",
        "stack=8388608:-1",
        fx.reg.image,
        "sh",
        "-c",
        script,
      ]),
    );
    assert.equal(out, "unlimited\nunlimited\n8192\nunlimited");
  }
  await ok(docker(fx.d, ["create", "--name", "unlimited", "--ulimit", "core=-1", fx.reg.image]));
  const spec = readFileSync(
    join(fx.d.root, "containers", (await inspect("unlimited")).Id as unknown as string, "config.json"),
    "utf8",
  );
  assert.match(spec, /\{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615\}/);
  await ok(docker(fx.d, ["rm", "unlimited"]));
  // The docker CLI refuses this itself (the same words); pierd refuses it too, to pier's CLI.
  const bad = await pier(fx.d, ["run", "--rm", "--ulimit", "core=-1:1024", fx.reg.image, "true"]);
  assert.notEqual(bad.status, 0);
  assert.match(
    bad.stderr,
    /soft limit must be less than or equal to hard limit: soft: -1 \(unlimited\), hard: 1024/,
  );
});

test("--ipc shareable is joinable, with its /dev/shm; a private IPC namespace is refused as Docker does", async () => {
  await ok(
    docker(fx.d, ["run", "-d", "--name", "donor", "--ipc", "shareable", fx.reg.image, "sleep", "300"]),
  );
  await ok(docker(fx.d, ["run", "-d", "--name", "private", fx.reg.image, "sleep", "300"]));
  try {
    await ok(docker(fx.d, ["exec", "donor", "sh", "-c", "echo shared > /dev/shm/x"]));
    const donorIpc = await ok(docker(fx.d, ["exec", "donor", "readlink", "/proc/self/ns/ipc"]));
    assert.notEqual(donorIpc, readlinkSync("/proc/self/ns/ipc"), "shareable is a namespace of its own");
    for (const cli of [docker, pier]) {
      const out = await ok(
        cli(fx.d, [
          "run",
          "--rm",
          "--ipc",
          "container:donor",
          fx.reg.image,
          "sh",
          "-c",
          "readlink /proc/self/ns/ipc; cat /dev/shm/x",
        ]),
      );
      assert.equal(out, `${donorIpc}\nshared`);
    }
    // Docker's refusal, with its message: a private IPC namespace is not joinable.
    const refused = await docker(fx.d, ["run", "--rm", "--ipc", "container:private", fx.reg.image, "true"]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    assert.equal((await inspect("donor")).HostConfig?.IpcMode, "shareable");
  } finally {
    await docker(fx.d, ["rm", "-f", "donor", "private"]);
  }
});

test("--privileged: a warning names the capabilities pierd's bounding set lacks (none where it has all)", async () => {
  const bounding = BigInt(
    `0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1]}`,
  );
  const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
  const missing = [...Array(last + 1).keys()].filter((n) => !((bounding >> BigInt(n)) & 1n));
  const r = await docker(fx.d, ["run", "--rm", "--privileged", fx.reg.image, "true"]);
  assert.equal(r.status, 0, r.stderr);
  if (missing.length === 0) assert.doesNotMatch(r.stderr, /bounding set lacks/);
  else assert.match(r.stderr, /WARNING: --privileged: pierd's own bounding set lacks CAP_/);
});
