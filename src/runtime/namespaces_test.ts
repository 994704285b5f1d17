/**
 * Namespaces on the real kernel through the native front end (issue 13, items 2 and 4): `create`
 * finishes (or fails with an error) for every combination of new namespaces, with and without a
 * user namespace and its id mappings, and every namespace type the spec lists can be joined by
 * path, as runc joins them.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, openSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { pierRuntimeCommand, requireTool, runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";
import { NS_PROC_NAME } from "./plan/linux-constants.js";

let tmp = "";
let rootfs = "";
let stateRoot = "";
let n = 0;
const holders: ChildProcess[] = [];

before(async () => {
  tmp = await makeTempDir("pier-rt-ns-");
  // The container's root (host uid 1000 below) must be able to reach the rootfs.
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  stateRoot = join(tmp, "state");
});

after(async () => {
  for (const h of holders) h.kill("SIGKILL");
  for (const id of runtimeCmd("pier", ["--root", stateRoot, "list", "-q"]).stdout.split("\n").filter(Boolean))
    runtimeCmd("pier", ["--root", stateRoot, "delete", "--force", id]);
  await removeTempDir(tmp);
});

const pier = (...args: string[]) => runtimeCmd("pier", ["--root", stateRoot, ...args], { timeout: 20000 });

/**
 * `pier-runtime create` with a deadline, its output in files: a created container keeps the
 * stdio it inherited, so pipes would never close and a spawnSync on them would wait for the
 * container instead of for create.
 */
function create(dir: string, id: string): { status: number | null; stderr: string } {
  const out = join(tmp, `${id}.err`);
  const fd = openSync(out, "w");
  try {
    const [cmd, args] = pierRuntimeCommand(["--root", stateRoot, "create", "--bundle", dir, id]);
    const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", fd], timeout: 20000 });
    return { status: r.status, stderr: readFileSync(out, "utf8") };
  } finally {
    closeSync(fd);
  }
}

async function bundle(spec: Spec): Promise<{ dir: string; id: string }> {
  n += 1;
  const dir = join(tmp, `b${n}`);
  await writeBundle(dir, spec, rootfs);
  return { dir, id: `ns-${process.pid}-${n}` };
}

type NsType = keyof typeof NS_PROC_NAME;
const OPTIONAL: NsType[] = ["ipc", "uts", "network", "pid", "cgroup", "user", "mount"];

function combinationSpec(types: readonly NsType[]): Spec {
  return scriptSpec("sleep 30", (s) => {
    const linux = s.linux ?? {};
    linux.namespaces = types.map((type) => ({ type }));
    if (types.includes("user")) {
      linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 65536 }];
      linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 65536 }];
    }
    if (!types.includes("uts")) delete s.hostname;
    if (!types.includes("mount")) {
      // Masks and a read-only root need a mount namespace of the container's own.
      delete linux.maskedPaths;
      delete linux.readonlyPaths;
      if (s.root) s.root.readonly = false;
    }
    s.linux = linux;
  });
}

/**
 * The kernel's rules for the default mounts in a new user namespace: proc needs a pid namespace,
 * mqueue an ipc namespace and sysfs a network namespace owned by it (runc fails alike).
 */
function mountsRefused(types: readonly NsType[]): string | undefined {
  if (!types.includes("user") || !types.includes("mount")) return undefined;
  if (!types.includes("pid")) return "proc";
  if (!types.includes("ipc")) return "mqueue|sysfs";
  if (!types.includes("network")) return "sysfs|mqueue";
  return undefined;
}

test("create finishes for every combination of new namespaces, user namespace with id maps included", async () => {
  const failures: string[] = [];
  for (let mask = 0; mask < 1 << OPTIONAL.length; mask++) {
    const types = OPTIONAL.filter((_, i) => mask & (1 << i));
    const { dir, id } = await bundle(combinationSpec(types));
    const r = create(dir, id);
    const name = `[${types.join(",")}]`;
    const refused = mountsRefused(types);
    if (r.status === null) failures.push(`${name}: create did not return within 20 s`);
    else if (refused) {
      if (r.status !== 1 || !new RegExp(`mount (${refused}) .*Operation not permitted`).test(r.stderr))
        failures.push(`${name}: expected the ${refused} mount refused, got ${r.status}: ${r.stderr.trim()}`);
    } else if (r.status !== 0) failures.push(`${name}: create failed: ${r.stderr.trim()}`);
    else {
      const state = JSON.parse(pier("state", id).stdout) as { status: string; pid: number };
      if (state.status !== "created") failures.push(`${name}: state ${state.status}`);
      for (const t of types) {
        const inside = readlinkSync(`/proc/${state.pid}/ns/${NS_PROC_NAME[t]}`);
        if (inside === readlinkSync(`/proc/self/ns/${NS_PROC_NAME[t]}`))
          failures.push(`${name}: ${t} not new`);
      }
    }
    const d = pier("delete", "--force", id);
    if (d.status !== 0) failures.push(`${name}: delete failed: ${d.stderr.trim()}`);
  }
  assert.deepEqual(failures, []);
});

test("create with a user namespace whose root cannot reach the rootfs fails with the reason, quickly", async () => {
  // The rootfs sits below a directory only the host's root may enter: the container's root
  // (host uid 1000) cannot bind it. runc fails the same way; pier used to hang here.
  const locked = join(tmp, "locked");
  await writeBusyboxRootfs(join(locked, "rootfs"));
  chmodSync(locked, 0o700);
  n += 1;
  const dir = join(tmp, `b${n}`);
  await writeBundle(dir, combinationSpec(["mount", "pid", "user"]), join(locked, "rootfs"));
  const started = Date.now();
  const r = create(dir, `ns-locked-${process.pid}`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /rootfs .*Permission denied/);
  assert.ok(Date.now() - started < 10000);
  assert.equal(pier("state", `ns-locked-${process.pid}`).status, 1, "nothing left behind");
});

/** A process holding new namespaces (`unshare ... --fork sleep`): the sleep child's ns files. */
function holder(flags: string[]): Promise<number> {
  const unshare = requireTool("unshare", "util-linux");
  const h = spawn(unshare, [...flags, "--fork", "sleep", "300"], { stdio: "ignore" });
  holders.push(h);
  return new Promise((resolve, reject) => {
    const poll = (tries: number) => {
      const kids = runtimeCmd("pgrep", ["-P", String(h.pid)]).stdout.trim();
      if (kids) resolve(Number(kids.split("\n")[0]));
      else if (tries > 200) reject(new Error("unshare did not start its child"));
      else setTimeout(() => poll(tries + 1), 10);
    };
    poll(0);
  });
}

test("every namespace type the spec lists is joined by path", async () => {
  const shared = await holder(["--ipc", "--uts", "--net", "--pid", "--mount", "--cgroup", "--time"]);
  // A whole id range mapped, written by this (host root) process: devpts needs gid 5, as in a
  // user namespace the container makes itself.
  const user = await holder(["--user"]);
  writeFileSync(`/proc/${user}/uid_map`, "0 1000 65536\n");
  writeFileSync(`/proc/${user}/gid_map`, "0 1000 65536\n");
  for (const type of ["ipc", "uts", "network", "pid", "mount", "cgroup", "time", "user"] as NsType[]) {
    const pid = type === "user" ? user : shared;
    const path = `/proc/${pid}/ns/${NS_PROC_NAME[type]}`;
    const { dir, id } = await bundle(
      scriptSpec("sleep 30", (s) => {
        const others = (s.linux?.namespaces ?? []).filter((ns) => ns.type !== type);
        if (s.linux) s.linux.namespaces = [...others, { type, path }];
        if (type === "uts") delete s.hostname;
      }),
    );
    const r = create(dir, id);
    assert.equal(r.status, 0, `${type}: ${r.stderr}`);
    const state = JSON.parse(pier("state", id).stdout) as { pid: number };
    assert.equal(
      readlinkSync(`/proc/${state.pid}/ns/${NS_PROC_NAME[type]}`),
      readlinkSync(path),
      `${type}: the container is in the namespace at ${path}`,
    );
    assert.equal(pier("delete", "--force", id).status, 0);
  }
});

test("a namespace path of the wrong type is refused", async () => {
  const { dir, id } = await bundle(
    scriptSpec("true", (s) => {
      const others = (s.linux?.namespaces ?? []).filter((ns) => ns.type !== "ipc");
      if (s.linux) s.linux.namespaces = [...others, { type: "ipc", path: "/proc/self/ns/net" }];
    }),
  );
  const r = create(dir, id);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /setns .*Invalid argument/);
});
