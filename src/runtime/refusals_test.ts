/**
 * What the runtime refuses, on the real kernel through the native front end (issue 13, items 5
 * and 6): `delete` of a container that is not stopped, invalid or unsupported values in
 * `config.json` (refused at `create`, naming the field, nothing left behind), and `kill` of a
 * container whose process is not running, answered as runc answers it (runc run side by side).
 */
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { requireTool, runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";
let n = 0;

before(async () => {
  tmp = await makeTempDir("pier-rt-refuse-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
});

after(async () => {
  for (const rt of ["pier", requireTool("runc", "runc")])
    for (const id of runtimeCmd(rt, [
      "--root",
      join(tmp, `state-${rt === "pier" ? "pier" : "runc"}`),
      "list",
      "-q",
    ])
      .stdout.split("\n")
      .filter(Boolean))
      runtimeCmd(rt, [
        "--root",
        join(tmp, `state-${rt === "pier" ? "pier" : "runc"}`),
        "delete",
        "--force",
        id,
      ]);
  await removeTempDir(tmp);
});

/** `RUNTIME --root <its state> ARGS`, the created container's stdio not held by the caller. */
function on(runtime: "pier" | "runc") {
  const cmd = runtime === "pier" ? "pier" : requireTool("runc", "runc");
  const root = join(tmp, `state-${runtime}`);
  return {
    run: (...args: string[]) => runtimeCmd(cmd, ["--root", root, ...args]),
    detached: (...args: string[]) => runtimeCmd(cmd, ["--root", root, ...args], { detached: true }),
  };
}
const pier = on("pier");

async function bundle(spec: Spec): Promise<{ dir: string; id: string }> {
  n += 1;
  const dir = join(tmp, `b${n}`);
  await writeBundle(dir, spec, rootfs);
  return { dir, id: `refuse-${process.pid}-${n}` };
}

test("delete of a created or running container without --force fails and leaves it as it was", async () => {
  const { dir, id } = await bundle(scriptSpec("sleep 30"));
  assert.equal(pier.detached("create", "--bundle", dir, id).status, 0);
  const created = pier.run("delete", id);
  assert.equal(created.status, 1);
  assert.match(created.stderr, new RegExp(`cannot delete container ${id} that is not stopped: created`));
  assert.equal(JSON.parse(pier.run("state", id).stdout).status, "created");
  assert.equal(pier.run("start", id).status, 0);
  const running = pier.run("delete", id);
  assert.equal(running.status, 1);
  assert.match(running.stderr, /that is not stopped: running/);
  assert.equal(JSON.parse(pier.run("state", id).stdout).status, "running");
  assert.equal(pier.run("delete", "--force", id).status, 0);
  assert.equal(pier.run("state", id).status, 1);
});

test("invalid or unsupported values in config.json are refused at create, naming the field", async () => {
  const cases: [string, (s: Spec) => void, RegExp][] = [
    [
      "unknown capability",
      (s) => s.process?.capabilities?.bounding?.push("CAP_TEST"),
      /process\.capabilities\.bounding\[\d+\]: unknown capability "CAP_TEST"/,
    ],
    [
      "capability name",
      (s) => s.process?.capabilities?.effective?.push("chown"),
      /process\.capabilities\.effective\[\d+\]/,
    ],
    [
      "unknown rlimit",
      (s) => s.process?.rlimits?.push({ type: "RLIMIT_TEST", soft: 1024, hard: 1024 }),
      /process\.rlimits\[\d+\]\.type: unknown rlimit "RLIMIT_TEST"/,
    ],
    [
      "rlimit name",
      (s) => s.process?.rlimits?.push({ type: "nofile", soft: 1, hard: 1 }),
      /process\.rlimits\[\d+\]\.type/,
    ],
    [
      "ociVersion",
      (s) => {
        s.ociVersion = "invalid";
      },
      /ociVersion: not a SemVer 2\.0\.0 version: "invalid"/,
    ],
    [
      "unsupported ociVersion",
      (s) => {
        s.ociVersion = "2.0.0";
      },
      /ociVersion: unsupported version "2\.0\.0"/,
    ],
    // From the runtime-spec's schema/test/config/bad: linux-hugepage, linux-rdma, linux-netdevice.
    [
      "hugepage size",
      (s) => {
        if (s.linux) s.linux.resources = { hugepageLimits: [{ limit: 1234123, pageSize: "64kB" }] };
      },
      /linux\.resources\.hugepageLimits\[0\]\.pageSize/,
    ],
    [
      "rdma handles",
      (s) => {
        if (s.linux)
          s.linux.resources = { rdma: { mlx5_1: { hcaHandles: "not a uint32" as unknown as number } } };
      },
      /linux\.resources\.rdma\.mlx5_1\.hcaHandles/,
    ],
    [
      "netDevice name",
      (s) => {
        if (s.linux) s.linux.netDevices = { eth0: { name: 23 as unknown as string } };
      },
      /linux\.netDevices\.eth0\.name/,
    ],
    [
      "netDevices",
      (s) => {
        if (s.linux) s.linux.netDevices = { eth0: {} };
      },
      /linux\.netDevices: .*not supported/,
    ],
  ];
  for (const [what, mutate, message] of cases) {
    const { dir, id } = await bundle(scriptSpec("true", mutate));
    const r = pier.detached("create", "--bundle", dir, id);
    if (r.status === 0) pier.run("delete", "--force", id);
    assert.equal(r.status, 1, `${what}: create must fail`);
    // Again with its stderr (a failed create leaves no process holding it).
    // (runc's log format, as pier's: the message is quoted, its quotes escaped)
    const stderr = pier.run("create", "--bundle", dir, id).stderr.replace(/\\"/g, '"');
    assert.match(stderr, message, what);
    assert.equal(pier.run("state", id).status, 1, `${what}: nothing left behind`);
  }
});

test("kill of a container whose process is not running answers as runc does", async () => {
  const answers: Record<string, string[]> = {};
  for (const runtime of ["pier", "runc"] as const) {
    const rt = on(runtime);
    const { dir, id } = await bundle(scriptSpec("true"));
    assert.equal(rt.detached("create", "--bundle", dir, id).status, 0);
    assert.equal(rt.run("start", id).status, 0);
    for (let i = 0; i < 250 && !rt.run("state", id).stdout.includes('"stopped"'); i++)
      await new Promise((r) => setTimeout(r, 20));
    const got: string[] = [];
    for (const args of [[id], [id, "KILL"], [id, "9"], ["--all", id, "KILL"], ["--all", id]]) {
      const r = rt.run("kill", ...args);
      got.push(
        `${args.join(" ").replace(id, "ID")}: ${r.status} ${r.stderr.replace(/^time="[^"]*" /, "").trim()}`,
      );
    }
    const gone = rt.run("kill", `${id}-none`);
    got.push(`absent: ${gone.status} ${gone.stderr.replace(/^time="[^"]*" /, "").trim()}`);
    assert.equal(rt.run("delete", id).status, 0);
    answers[runtime] = got;
  }
  assert.deepEqual(answers.pier, answers.runc);
  assert.match(answers.pier?.[0] ?? "", /^ID: 1 level=error msg="container not running"$/);
});
