/**
 * cgroup v2 device control through pier-init: the BPF_PROG_TYPE_CGROUP_DEVICE program compiled
 * in TypeScript is loaded and attached with bpf(2) by the native helper
 * ({@link nativeDeviceFilterLoader}, what the runtime hands the cgroup library), and a real
 * busybox container moved into that v2 cgroup cannot open /dev/null.
 *
 * This host is hybrid: the runtime itself limits devices through the v1 `devices` controller,
 * so the v2 path is exercised on the controller-less cgroup2 tree (/sys/fs/cgroup/unified),
 * where the kernel runs attached device programs for every process of the cgroup all the same.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { LinuxDeviceCgroup } from "../oci/runtime-spec/resources.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { openCgroup } from "./cgroups/manager.js";
import { disposeTree, requireRoot, uniqueParent, v2Layout } from "./cgroups/testing.js";
import { nativeDeviceFilterLoader } from "./lifecycle/device-filter-loader.js";
import { pierRuntimeCommand, runtimeCmd, scriptSpec, writeBundle } from "./testing.js";

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
