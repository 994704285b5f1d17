/**
 * Rootless: an unprivileged user created for the test runs `pier-runtime` on a
 * `spec --rootless` busybox bundle, with only its own id mapped (written directly) and with
 * ranges from /etc/subuid and /etc/subgid (through newuidmap/newgidmap).
 */
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { pierRuntimeCommand } from "../testing/runtime.js";
import { ensureRootlessUser, SUB_SIZE } from "../testing/runtime-rootless.js";
import { readLayout } from "./cgroups/mountinfo.js";
import { defaultStateRoot, isRootless, runningInUserNamespace, uidMapIsNested } from "./rootless.js";

let tmp = "";
let uid = 0;
let gid = 0;
let subUid = 0;
let subGid = 0;
let xdg = "";

before(async () => {
  ({ uid, gid, subUid, subGid } = ensureRootlessUser());
  tmp = await makeTempDir("pier-rootless-");
  // mktemp dirs are 0700: the user must traverse to its bundles.
  chmodSync(tmp, 0o755);
  xdg = join(tmp, "xdg");
  mkdirSync(xdg, { mode: 0o700 });
  chownSync(xdg, uid, gid);
});

after(async () => {
  const list = asUser(["list", "-q"]).stdout.split("\n").filter(Boolean);
  for (const id of list) asUser(["delete", "--force", id]);
  await removeTempDir(tmp);
});

/** Runs pier-runtime as the test user, with the default state root ($XDG_RUNTIME_DIR). */
function asUser(args: string[], cwd = tmp): SpawnSyncReturns<string> {
  return spawnSync(...pierRuntimeCommand(args), {
    cwd,
    uid,
    gid,
    env: { PATH: "/usr/bin:/bin", HOME: tmp, XDG_RUNTIME_DIR: xdg },
    encoding: "utf8",
    input: "",
    timeout: 60000,
  });
}

let n = 0;
/** A user-owned bundle from `pier-runtime spec --rootless`, edited by `mutate`. */
async function rootlessBundle(mutate: (s: Spec) => void): Promise<{ dir: string; id: string }> {
  n += 1;
  const dir = join(tmp, `b${n}`);
  mkdirSync(dir);
  await writeBusyboxRootfs(join(dir, "rootfs"));
  assert.equal(spawnSync("chown", ["-R", `${uid}:${gid}`, dir]).status, 0);
  const r = asUser(["spec", "--rootless"], dir);
  assert.equal(r.status, 0, r.stderr);
  const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Spec;
  if (spec.process) spec.process.terminal = false;
  mutate(spec);
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
  return { dir, id: `rl${n}-${process.pid}` };
}

test("defaultStateRoot: $XDG_RUNTIME_DIR/pier-runtime for users, /run/pier-runtime for root", () => {
  assert.equal(defaultStateRoot(1000, { XDG_RUNTIME_DIR: "/run/user/1000/" }), "/run/user/1000/pier-runtime");
  assert.equal(defaultStateRoot(0, { XDG_RUNTIME_DIR: "/run/user/0" }), "/run/pier-runtime");
  assert.equal(defaultStateRoot(1000, {}), "/run/pier-runtime");
  assert.equal(defaultStateRoot(1000, { XDG_RUNTIME_DIR: "relative" }), "/run/pier-runtime");
  // Root of a nested user namespace (rootless podman) is rootless too, unless it is USER=root.
  assert.equal(
    defaultStateRoot(0, { XDG_RUNTIME_DIR: "/run/user/1000" }, true),
    "/run/user/1000/pier-runtime",
  );
  assert.equal(
    defaultStateRoot(0, { XDG_RUNTIME_DIR: "/run/user/0", USER: "root" }, true),
    "/run/pier-runtime",
  );
});

test("isRootless and the nested user namespace check read /proc/self/uid_map as runc does", () => {
  assert.equal(uidMapIsNested("         0          0 4294967295\n"), false);
  assert.equal(uidMapIsNested("         0       1001          1\n         1     100000      65536\n"), true);
  assert.equal(uidMapIsNested("0 0 1000\n"), true);
  assert.equal(isRootless(0, false), false);
  assert.equal(isRootless(0, true), true);
  assert.equal(isRootless(1000, false), true);
  // The tests run as real root.
  assert.equal(runningInUserNamespace(), false);
});

test("rootless run: the caller's id is root inside, devices are bind mounts, no cgroup of its own", async () => {
  const { dir, id } = await rootlessBundle((s) => {
    if (s.process)
      s.process.args = [
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; grep -c ' /dev/null ' /proc/self/mountinfo; cat /proc/self/cgroup",
      ];
  });
  const r = asUser(["run", "-b", dir, id]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines[0], "0");
  assert.deepEqual(lines[1]?.trim().split(/\s+/), ["0", String(uid), "1"]);
  // /dev/null is a bind mount of the host's node (a user namespace cannot mknod devices).
  assert.equal(lines[2], "1");
  // Not moved into a cgroup named after the container: the tree is not delegated here.
  assert.ok(!r.stdout.includes(id), r.stdout);
  assert.equal(asUser(["list", "-q"]).stdout.includes(id), false, "run removes its state");
});

test("rootless state lives under $XDG_RUNTIME_DIR/pier-runtime by default", async () => {
  const { dir, id } = await rootlessBundle((s) => {
    if (s.process) s.process.args = ["sleep", "100"];
  });
  const c = spawnSync(...pierRuntimeCommand(["run", "-d", "-b", dir, id]), {
    uid,
    gid,
    env: { PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: xdg },
    stdio: "ignore",
    timeout: 60000,
  });
  assert.equal(c.status, 0);
  try {
    const stateFile = join(xdg, "pier-runtime", id, "state.json");
    assert.ok(existsSync(stateFile), `${stateFile} exists`);
    assert.equal(statSync(stateFile).uid, uid);
    const st = asUser(["state", id]);
    assert.equal(st.status, 0, st.stderr);
    assert.equal((JSON.parse(st.stdout) as { status: string }).status, "running");
    // Without a cgroup of its own there is nothing to freeze or measure: said so, exit 1.
    const pause = asUser(["pause", id]);
    assert.equal(pause.status, 1);
    assert.match(pause.stderr, /no cgroup to freeze/);
    const ev = asUser(["events", "--stats", id]);
    assert.equal(ev.status, 1);
    assert.match(ev.stderr, /has no cgroup to report on/);
  } finally {
    asUser(["kill", id, "KILL"]);
    for (let i = 0; i < 100 && !asUser(["state", id]).stdout.includes('"stopped"'); i++)
      await new Promise((res) => setTimeout(res, 20));
    const d = asUser(["delete", id]);
    assert.equal(d.status, 0, d.stderr);
  }
  assert.ok(!existsSync(join(xdg, "pier-runtime", id)));
});

test("rootless ranges from /etc/subuid and /etc/subgid go through newuidmap/newgidmap", async () => {
  const data = join(tmp, `data-${n + 1}`);
  mkdirSync(data, { mode: 0o777 });
  chmodSync(data, 0o777);
  const { dir, id } = await rootlessBundle((s) => {
    const linux = s.linux ?? {};
    linux.uidMappings = [
      { containerID: 0, hostID: uid, size: 1 },
      { containerID: 1, hostID: subUid, size: SUB_SIZE },
    ];
    linux.gidMappings = [
      { containerID: 0, hostID: gid, size: 1 },
      { containerID: 1, hostID: subGid, size: SUB_SIZE },
    ];
    s.linux = linux;
    s.mounts?.push({ destination: "/data", type: "bind", source: data, options: ["rbind", "rw"] });
    if (s.process) {
      s.process.user = { uid: 1000, gid: 1000 };
      s.process.args = ["sh", "-c", "id; cat /proc/self/uid_map; touch /data/f"];
    }
  });
  const r = asUser(["run", "-b", dir, id]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^uid=1000\b.* gid=1000\b/);
  assert.match(r.stdout, new RegExp(`\\b1\\s+${subUid}\\s+${SUB_SIZE}\\b`));
  // Container uid 1000 is host uid subUid + 999.
  const st = statSync(join(data, "f"));
  assert.equal(st.uid, subUid + 999);
  assert.equal(st.gid, subGid + 999);
});

test("rootless: a range outside the user's /etc/subuid is refused by newuidmap, nothing left", async () => {
  const { dir, id } = await rootlessBundle((s) => {
    const linux = s.linux ?? {};
    linux.uidMappings = [
      { containerID: 0, hostID: uid, size: 1 },
      { containerID: 1, hostID: 10, size: 10 },
    ];
    s.linux = linux;
    if (s.process) s.process.args = ["true"];
  });
  const r = asUser(["run", "-b", dir, id]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /newuidmap/);
  assert.equal(asUser(["list", "-q"]).stdout.includes(id), false);
});

test("rootless: a time namespace with offsets (unshared by the container's root)", async () => {
  const { dir, id } = await rootlessBundle((s) => {
    const linux = s.linux ?? {};
    linux.namespaces = [...(linux.namespaces ?? []), { type: "time" }];
    linux.timeOffsets = { boottime: { secs: 86400 * 5 } };
    s.linux = linux;
    if (s.process) s.process.args = ["cat", "/proc/uptime"];
  });
  const host = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const r = asUser(["run", "-b", dir, id]);
  assert.equal(r.status, 0, r.stderr);
  const inside = Number(r.stdout.split(" ")[0]);
  assert.ok(inside >= host + 86400 * 5 && inside < host + 86400 * 5 + 60, `inside ${inside}, host ${host}`);
});

test("rootless with a delegated cgroup: the container gets its own cgroup and its memory limit", async () => {
  const layout = await readLayout();
  const mounts = [
    ...new Set(
      [...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])].map((m) => m.mountPoint),
    ),
  ];
  const deleg = `pier-deleg-${process.pid}`;
  // Delegation as systemd does it for a user: a subtree the user owns, and the user's process in
  // it (in a leaf, so the subtree's root may enable controllers on cgroup2).
  for (const mp of mounts) {
    mkdirSync(join(mp, deleg, "sup"), { recursive: true });
    for (const f of ["cpuset.cpus", "cpuset.mems"])
      if (existsSync(join(mp, f)) && existsSync(join(mp, deleg, f)))
        writeFileSync(join(mp, deleg, f), readFileSync(join(mp, f), "utf8").trim() || "\n");
    if (layout.mode === "unified" && existsSync(join(mp, "cgroup.subtree_control")))
      writeFileSync(join(mp, "cgroup.subtree_control"), "+memory +pids");
    assert.equal(spawnSync("chown", ["-R", `${uid}:${gid}`, join(mp, deleg)]).status, 0);
  }
  try {
    const { dir, id } = await rootlessBundle((s) => {
      const linux = s.linux ?? {};
      linux.cgroupsPath = `/${deleg}/c1`;
      linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 100 } };
      s.linux = linux;
      if (s.process)
        s.process.args = [
          "sh",
          "-c",
          "grep -E '(^0::|memory)' /proc/self/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
        ];
    });
    const join1 = mounts.map((mp) => `echo $$ > ${join(mp, deleg, "sup", "cgroup.procs")}`).join("; ");
    const r = spawnSync(
      "sh",
      [
        "-c",
        `${join1}; exec setpriv --reuid ${uid} --regid ${gid} --clear-groups ${pierRuntimeCommand(["run", "-b", dir, id]).flat().join(" ")}`,
      ],
      { encoding: "utf8", env: { PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: xdg }, input: "", timeout: 60000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`:/${deleg}/c1\n`));
    assert.match(r.stdout, /\n67108864\n$/);
  } finally {
    for (const mp of mounts) {
      for (const sub of ["c1", "sup", ""]) {
        try {
          rmdirSync(join(mp, deleg, sub));
        } catch {}
      }
    }
  }
});

test("rootless with subordinate ranges: supplementary groups at run and at exec (setgroups allowed by newgidmap)", async () => {
  const { dir, id } = await rootlessBundle((s) => {
    const linux = s.linux ?? {};
    linux.uidMappings = [
      { containerID: 0, hostID: uid, size: 1 },
      { containerID: 1, hostID: subUid, size: SUB_SIZE },
    ];
    linux.gidMappings = [
      { containerID: 0, hostID: gid, size: 1 },
      { containerID: 1, hostID: subGid, size: SUB_SIZE },
    ];
    s.linux = linux;
    if (s.process) {
      s.process.user = { uid: 1000, gid: 1000, additionalGids: [2000] };
      s.process.args = ["sh", "-c", "id -G > /dev/shm/groups; sleep 100"];
    }
  });
  const c = spawnSync(...pierRuntimeCommand(["run", "-d", "-b", dir, id]), {
    uid,
    gid,
    env: { PATH: "/usr/bin:/bin", XDG_RUNTIME_DIR: xdg },
    stdio: "ignore",
    timeout: 60000,
  });
  assert.equal(c.status, 0);
  try {
    let atRun = "";
    for (let i = 0; i < 100 && !atRun; i++) {
      atRun = asUser(["exec", id, "cat", "/dev/shm/groups"]).stdout.trim();
      if (!atRun) await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(atRun, "1000 2000");
    const ex = asUser(["exec", "--user", "1000:1000", "--additional-gids", "3000", id, "id", "-G"]);
    assert.equal(ex.status, 0, ex.stderr);
    assert.equal(ex.stdout.trim(), "1000 3000");
  } finally {
    asUser(["delete", "--force", id]);
  }
});
