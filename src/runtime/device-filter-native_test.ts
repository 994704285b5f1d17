/**
 * cgroup v2 device control through pier-init: the BPF_PROG_TYPE_CGROUP_DEVICE program compiled
 * in TypeScript is loaded and attached with bpf(2) by the native helper
 * ({@link nativeDeviceFilterLoader}, what the runtime hands the cgroup library), and a real
 * busybox container moved into that v2 cgroup cannot open /dev/null.
 *
 * On a hybrid host the runtime limits devices through the v1 `devices` controller, so the v2
 * path is exercised twice: through the cgroup library on the controller-less cgroup2 tree
 * (/sys/fs/cgroup/unified), where the kernel runs attached device programs all the same; and
 * through `pier-runtime` itself in a private mount namespace whose /sys/fs/cgroup is only the
 * cgroup2 mount, so that the runtime sees a pure v2 host (create, then `update`).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { LinuxDeviceCgroup } from "../oci/runtime-spec/resources.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import {
  CLI_PATH,
  pierRuntimeCommand,
  requireTool,
  runtimeCmd,
  scriptSpec,
  writeBundle,
} from "../testing/runtime.js";
import { disposeTree, requireRoot, uniqueParent, v2Layout } from "../testing/runtime-cgroups.js";
import { openCgroup } from "./cgroups/manager.js";
import { nativeDeviceFilterLoader } from "./lifecycle/device-filter-loader.js";

let tmp = "";
let rootfs = "";
const parent = uniqueParent("devbpf");
let n = 0;

before(async () => {
  requireRoot();
  tmp = await makeTempDir("pier-devbpf-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
});

after(async () => {
  const layout = await v2Layout();
  if (layout) await disposeTree(parent, { layout });
  for (const id of runtimeCmd("pier", ["--root", join(tmp, "state"), "list", "-q"])
    .stdout.split("\n")
    .filter(Boolean))
    runtimeCmd("pier", ["--root", join(tmp, "state"), "delete", "--force", id]);
  await removeTempDir(tmp);
});

/** Runs a container that waits for a gate, moves it into a v2 cgroup with `devices`, opens the gate. */
async function containerUnderFilter(devices: LinuxDeviceCgroup[]): Promise<string> {
  const layout = await v2Layout();
  assert.ok(layout, "this test needs a cgroup2 mount (/sys/fs/cgroup or /sys/fs/cgroup/unified)");
  n += 1;
  const gate = join(tmp, `gate${n}`);
  mkdirSync(gate);
  const spec = scriptSpec(
    "while [ ! -e /gate/go ]; do usleep 10000; done; " +
      "if echo x > /dev/null; then echo null:allowed; else echo null:denied; fi; " +
      "echo zero:$(head -c 3 /dev/zero | wc -c)",
    (s) => {
      s.mounts?.push({ destination: "/gate", type: "bind", source: gate, options: ["bind"] });
    },
  );
  const dir = await writeBundle(join(tmp, `b${n}`), spec, rootfs);
  const pidFile = join(tmp, `pid${n}`);
  const [cmd, args] = pierRuntimeCommand([
    "--root",
    join(tmp, "state"),
    "run",
    "--pid-file",
    pidFile,
    "-b",
    dir,
    `devbpf${n}-${process.pid}`,
  ]);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  for (let i = 0; i < 1000 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(existsSync(pidFile), `container did not start: ${err}`);
  const pid = Number(readFileSync(pidFile, "utf8"));
  const cg = await openCgroup({
    containerId: "devbpf",
    cgroupsPath: `${parent}/c${n}`,
    layout,
    delegateControllers: false,
    deviceFilterLoader: nativeDeviceFilterLoader,
  });
  await cg.create();
  await cg.apply({ devices });
  assert.deepEqual(cg.notes, []);
  await cg.addProcess(pid);
  writeFileSync(join(gate, "go"), "");
  const code = await exited;
  assert.equal(code, 0, err);
  return out;
}

test("a v2 device program loaded by pier-init denies /dev/null to a container, allows what is listed", async () => {
  const out = await containerUnderFilter([
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
  ]);
  assert.match(out, /null:denied/);
  assert.match(out, /zero:3/);
});

test("the same container allowed /dev/null by its v2 program opens it", async () => {
  const out = await containerUnderFilter([
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
    { allow: true, type: "c", major: 1, minor: 5, access: "r" },
  ]);
  assert.match(out, /null:allowed/);
  assert.match(out, /zero:3/);
});

test("a program the kernel refuses is reported with the bpf(2) error, naming the cgroup", async () => {
  await assert.rejects(
    nativeDeviceFilterLoader("/sys/fs/cgroup/unified", Buffer.alloc(8)),
    /device filter for \/sys\/fs\/cgroup\/unified: load device filter \(BPF_PROG_LOAD\)/,
  );
});

/**
 * Runs `pier-runtime ARGS` (one Node.js process: a resident service must not keep this view) in
 * a new mount namespace where /sys/fs/cgroup is just the cgroup2 hierarchy. `stdio` defaults to
 * pipes that spawnSync reads until every holder closes them.
 */
function pierOnV2View(args: string[], stdio: "pipe" | [number, number, number] = "pipe") {
  const unshare = requireTool("unshare", "util-linux");
  return spawnSync(
    unshare,
    [
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      'umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"',
      "sh",
      process.execPath,
      CLI_PATH,
      "--root",
      join(tmp, "state-v2"),
      ...args,
    ],
    {
      encoding: "utf8",
      stdio,
      ...(stdio === "pipe" ? { input: "" } : {}),
      timeout: 60000,
      env: { ...process.env, PIER_RUNTIME_DIRECT: "1" },
    },
  );
}

/**
 * `pier-runtime run -d ARGS` on the v2 view. A detached container keeps the stdio it was given
 * (as under runc) for as long as it runs: it gets /dev/null and a file here, never pipes that
 * spawnSync would wait on until its timeout. Returns the exit status and what the runtime said.
 */
function runDetachedOnV2View(...args: string[]): { status: number | null; stderr: string } {
  const errFile = join(tmp, `run-stderr-${args.at(-1)}`);
  const nul = openSync("/dev/null", "r+");
  const err = openSync(errFile, "w");
  try {
    const r = pierOnV2View(["run", "-d", ...args], [nul, nul, err]);
    return { status: r.status, stderr: readFileSync(errFile, "utf8") };
  } finally {
    closeSync(nul);
    closeSync(err);
  }
}

test("pier-runtime on a cgroup v2 host: linux.resources.devices enforced by pier-init's program, update replaces it", async () => {
  n += 1;
  const probe =
    "if (exec 3<>/fusedev) 2>/dev/null; then echo fuse:opened; else echo fuse:denied; fi; " +
    "if echo x > /dev/null; then echo null:allowed; fi";
  const spec = scriptSpec(`cat /proc/self/cgroup | grep '^0::'; ${probe}; sleep 100`);
  const dir = await writeBundle(join(tmp, `b${n}`), spec, rootfs);
  // A device the default rules do not allow: /dev/fuse's numbers, as a node in the rootfs.
  if (!existsSync(join(rootfs, "fusedev")))
    assert.equal(spawnSync("mknod", [join(rootfs, "fusedev"), "c", "10", "229"]).status, 0);
  const id = `devv2-${process.pid}`;
  const started = Date.now();
  const run = runDetachedOnV2View("-b", dir, id);
  assert.equal(run.status, 0, run.stderr);
  // The detached container holds none of this process's pipes: run returns as soon as it started.
  assert.ok(Date.now() - started < 20000, `run -d took ${Date.now() - started} ms`);
  try {
    const ex = (script: string) => pierOnV2View(["exec", id, "sh", "-c", script]);
    let first = ex(probe);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, "fuse:denied\nnull:allowed\n");
    const resources = join(tmp, `res${n}.json`);
    writeFileSync(
      resources,
      JSON.stringify({ devices: [{ allow: true, type: "c", major: 10, minor: 229, access: "rw" }] }),
    );
    const up = pierOnV2View(["update", "--resources", resources, id]);
    assert.equal(up.status, 0, up.stderr);
    first = ex(probe);
    assert.equal(first.stdout, "fuse:opened\nnull:allowed\n");
    const st = pierOnV2View(["state", id]);
    assert.equal((JSON.parse(st.stdout) as { status: string }).status, "running");
  } finally {
    pierOnV2View(["delete", "--force", id]);
  }
});
