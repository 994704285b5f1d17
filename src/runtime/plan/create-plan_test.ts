import assert from "node:assert/strict";
import { test } from "node:test";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import { type CreatePlanInput, planCreate } from "./create-plan.js";
import { CLONE_FLAGS, MS } from "./linux-constants.js";
import { decodePlan, encodePlan, type OpName } from "./ops.js";

const host = {
  sourceKind: (p: string) =>
    p.endsWith("rootfs") || p === "/data"
      ? ("dir" as const)
      : p === "/etc/hosts"
        ? ("file" as const)
        : ("missing" as const),
  lastCap: 40,
  cgroupMounts: [
    { mountpoint: "/sys/fs/cgroup/memory", fstype: "cgroup" as const, options: "memory" },
    { mountpoint: "/sys/fs/cgroup/unified", fstype: "cgroup2" as const, options: "" },
  ],
  euid: 0,
};

function input(mutate?: (s: Spec) => void): CreatePlanInput {
  const spec = defaultRuntimeSpec();
  if (spec.process) spec.process.terminal = false;
  mutate?.(spec);
  return { id: "c1", spec, bundle: "/b", fifoPath: "/run/x/c1/exec.fifo", mode: "detach", host };
}

const names = (i: CreatePlanInput) => planCreate(i).ops.map((o) => o.op);

test("the default spec plans clone, cgroup sync, mounts, devices, pivot, masks and exec in order", () => {
  const plan = planCreate(input());
  const ops = plan.ops.map((o) => o.op);
  const clone = plan.ops.find((o) => o.op === "clone");
  const flags = CLONE_FLAGS.pid | CLONE_FLAGS.network | CLONE_FLAGS.ipc | CLONE_FLAGS.uts | CLONE_FLAGS.mount;
  assert.equal(clone?.args[0], String(flags));
  const at = (n: OpName) => ops.indexOf(n);
  assert.ok(at("mkfifo") < at("clone"));
  // The cgroup placement is asked for at once and awaited after the mounts, before the pivot.
  assert.ok(at("clone") < at("syncsend") && at("syncsend") < at("rootfs"));
  assert.equal(plan.ops[at("syncsend")]?.args[0], "cgroup");
  assert.ok(at("mkdev") < at("syncwait") && at("syncwait") < at("pivot"));
  assert.ok(at("rootfs") < at("mount") && at("mount") < at("mkdev") && at("mkdev") < at("pivot"));
  assert.ok(at("pivot") < at("ropath") && at("ropath") < at("mask") && at("mask") < at("readonlyroot"));
  // noNewPrivileges (the default spec): privileges dropped before create returns, as the user.
  assert.ok(at("user") < at("caps") && at("caps") < at("notify") && at("notify") < at("waitfifo"));
  assert.ok(at("bounding") < at("user"), "the bounding set is dropped while still privileged");
  assert.equal(ops.at(-1), "exec");
  assert.equal(plan.rootfs, "/b/rootfs");
  assert.deepEqual(plan.ops.find((o) => o.op === "hostname")?.args, ["runc"]);
  const caps = plan.ops.find((o) => o.op === "caps");
  assert.equal(caps?.args[1], "0x20000420");
});

test("a cgroup mount on a hybrid host is a tmpfs with one read-only mount per v1 hierarchy, as runc", () => {
  const ops = planCreate(input()).ops;
  const i = ops.findIndex((o) => o.op === "mount" && o.args[1] === "sys/fs/cgroup");
  assert.equal(ops[i]?.args[2], "tmpfs");
  assert.equal(ops[i + 1]?.args[1], "sys/fs/cgroup/memory");
  assert.equal(Number(ops[i + 1]?.args[3]) & MS.RDONLY, MS.RDONLY);
  assert.notEqual(ops[i + 2]?.args[1], "sys/fs/cgroup/unified");
});

test("a new user namespace brings id maps, bound devices and no new cgroup ns without asking", () => {
  const plan = planCreate(
    input((s) => {
      s.linux?.namespaces?.push({ type: "user" }, { type: "cgroup" });
      if (s.linux) {
        s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
    }),
  );
  assert.deepEqual(plan.ops.find((o) => o.op === "uidmap")?.args, ["0 100000 65536\n"]);
  assert.deepEqual(plan.ops.find((o) => o.op === "mkfifo")?.args.slice(1), ["100000", "100000"]);
  assert.equal(plan.ops.find((o) => o.op === "mkdev")?.args[7], "1");
  const unshares = plan.ops.filter((o) => o.op === "unshare").map((o) => Number(o.args[0]));
  assert.equal(Number(plan.ops.find((o) => o.op === "clone")?.args[0]), CLONE_FLAGS.user | CLONE_FLAGS.pid);
  assert.deepEqual(unshares, [
    CLONE_FLAGS.network | CLONE_FLAGS.ipc | CLONE_FLAGS.uts | CLONE_FLAGS.mount,
    CLONE_FLAGS.cgroup,
  ]);
});

test("with a cgroup namespace, the placement is awaited and the namespace made before the cgroup mount", () => {
  const plan = planCreate(input((s) => s.linux?.namespaces?.push({ type: "cgroup" })));
  const ops = plan.ops.map((o) => o.op);
  const wait = ops.indexOf("syncwait");
  assert.ok(ops.indexOf("syncsend") < ops.indexOf("rootfs") && ops.indexOf("rootfs") < wait);
  assert.equal(ops[wait + 1], "unshare");
  assert.equal(Number(plan.ops[wait + 1]?.args[0]), CLONE_FLAGS.cgroup);
  const cgroupMount = plan.ops.findIndex((o) => o.op === "mount" && /^cgroup2?$/.test(o.args[2] ?? ""));
  assert.ok(cgroupMount > wait + 1, "the cgroup file system is mounted inside the namespace");
  assert.equal(ops.filter((o) => o === "syncwait").length, 1);
});

test("as root, the container process is born in its v2 cgroup and moves itself into the v1 ones", () => {
  const placed = {
    ...host,
    cgroupMounts: host.cgroupMounts.map((m) => ({ ...m, containerPath: "/pier/c1" })),
  };
  const plan = planCreate({ ...input((s) => s.linux?.namespaces?.push({ type: "cgroup" })), host: placed });
  const ops = plan.ops.map((o) => o.op);
  const fd = ops.indexOf("cgroupfd");
  assert.ok(fd >= 0 && fd < ops.indexOf("clone"));
  assert.deepEqual(plan.ops[fd]?.args, ["/sys/fs/cgroup/unified/pier/c1"]);
  const tasks = ops.indexOf("tasksfd");
  assert.ok(tasks >= 0 && tasks < ops.indexOf("clone"));
  assert.deepEqual(plan.ops[tasks]?.args, ["/sys/fs/cgroup/memory/pier/c1/tasks"]);
  const join = ops.indexOf("joincgroups");
  assert.equal(join, ops.indexOf("clone") + 1, "before anything else in the child");
  assert.equal(ops[join + 1], "unshare", "its cgroup namespace after it joined");
  assert.ok(!ops.includes("syncsend") && !ops.includes("syncwait"), "no sync point for the runtime");
  // With a new user namespace the files are not the container's to write: the runtime places it.
  const userns = planCreate({
    ...input((s) => {
      s.linux?.namespaces?.push({ type: "user" });
      if (s.linux) {
        s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
    }),
    host: placed,
  });
  assert.ok(userns.ops.some((o) => o.op === "syncsend" && o.args[0] === "cgroup"));
  assert.ok(!userns.ops.some((o) => ["tasksfd", "joincgroups", "cgroupfd"].includes(o.op)));
});

test("namespaces given by path are joined before clone", () => {
  const plan = planCreate(
    input((s) => s.linux?.namespaces?.splice(1, 1, { type: "network", path: "/var/run/netns/x" })),
  );
  const setns = plan.ops.findIndex((o) => o.op === "setns");
  assert.ok(setns >= 0 && setns < plan.ops.findIndex((o) => o.op === "clone"));
  assert.equal(Number(plan.ops.find((o) => o.op === "clone")?.args[0]) & CLONE_FLAGS.network, 0);
});

test("bind mounts resolve relative sources against the bundle and know files from dirs", () => {
  const ops = planCreate(
    input((s) => {
      s.mounts?.push({ destination: "/data", source: "/data", options: ["rbind", "ro", "rprivate"] });
      s.mounts?.push({ destination: "/etc/hosts", source: "/etc/hosts", type: "bind" });
    }),
  ).ops;
  const data = ops.find((o) => o.op === "mount" && o.args[1] === "data");
  assert.deepEqual(data?.args, [
    "/data",
    "data",
    "",
    String(MS.BIND | MS.REC | MS.RDONLY),
    "",
    "dir",
    "noproc",
  ]);
  assert.ok(ops.some((o) => o.op === "propagate" && o.args[0] === "data"));
  assert.equal(ops.find((o) => o.op === "mount" && o.args[1] === "etc/hosts")?.args[5], "file");
});

test("bind mounts may not cover /proc but for lxcfs's files; procfs and sysfs want ordinary directories", () => {
  const ops = planCreate(
    input((s) => {
      s.mounts?.push({ destination: "/proc/meminfo", source: "/etc/hosts", type: "bind" });
      s.mounts?.push({ destination: "/proc/sys", source: "/data", type: "bind" });
    }),
  ).ops;
  const mount = (dest: string) => ops.find((o) => o.op === "mount" && o.args[1] === dest)?.args;
  assert.deepEqual(mount("proc/meminfo")?.slice(5), ["file"]);
  assert.deepEqual(mount("proc/sys")?.slice(5), ["dir", "noproc"]);
  assert.deepEqual(mount("proc")?.slice(5), ["ordinary"]);
  assert.deepEqual(mount("sys")?.slice(5), ["ordinary"]);
  assert.deepEqual(mount("dev")?.slice(5), []);
});

test("bad configs are refused with the field named", () => {
  const cases: [(s: Spec) => void, RegExp][] = [
    [(s) => (s.root = { path: "nowhere" }), /root\.path: rootfs \("\/b\/nowhere"\) does not exist/],
    [
      (s) => s.mounts?.push({ destination: "/x", source: "/missing", options: ["bind"] }),
      /mounts\[7\]\.source/,
    ],
    // The default spec masks paths: that needs a mount namespace (runc refuses it too).
    [(s) => s.linux?.namespaces?.splice(4, 1), /linux\.maskedPaths: .*without a mount namespace/],
    [(s) => s.linux?.namespaces?.push({ type: "user" }), /requires uid and gid mappings/],
    [(s) => (s.process = undefined), /process: is required/],
    [
      (s) => s.process?.rlimits?.push({ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }),
      /process\.rlimits\[1\]\.type/,
    ],
    [
      (s) => (s.process = { ...(s.process as NonNullable<Spec["process"]>), terminal: true }),
      /console socket/,
    ],
    [(s) => s.mounts?.push({ destination: "/", type: "tmpfs" }), /cannot mount over the root/],
  ];
  for (const [m, re] of cases) assert.throws(() => names(input(m)), re);
});

test("hooks add a sync point and in-container hooks run around pivot and start", () => {
  const ops = planCreate(
    input((s) => {
      s.hooks = {
        createContainer: [{ path: "/bin/cc", args: ["cc", "x"], env: ["A=1"], timeout: 5 }],
        startContainer: [{ path: "/bin/sc" }],
      };
    }),
  ).ops;
  const names = ops.map((o) => o.op);
  assert.ok(ops.some((o) => o.op === "sync" && o.args[0] === "createRuntime"));
  const cc = ops.findIndex((o) => o.op === "hook" && o.args[0] === "/bin/cc");
  assert.deepEqual(ops[cc]?.args, ["/bin/cc", "5", "2", "cc", "x", "A=1"]);
  assert.ok(cc < names.indexOf("pivot"));
  const sc = ops.findIndex((o) => o.op === "hook" && o.args[0] === "/bin/sc");
  assert.ok(sc > names.indexOf("waitfifo") && sc < names.indexOf("exec"));
});

test("the plan encoding round-trips and refuses NUL bytes", () => {
  const plan = planCreate(input((s) => s.process?.env?.push("MULTI=a\nb c")));
  assert.deepEqual(decodePlan(encodePlan(plan.ops)), plan.ops);
  assert.throws(() => encodePlan([{ op: "env", args: ["A=\0"] }]), /NUL/);
});

const filter = { flags: 0, bpf: new Uint8Array(8) };

test("with noNewPrivileges the filter is loaded right before execve, after every other step", () => {
  const plan = planCreate({ ...input(), seccomp: filter });
  const ops = plan.ops.map((o) => o.op);
  const sc = ops.indexOf("seccomp");
  assert.deepEqual(ops.slice(sc), ["seccomp", "exec"]);
  const at = (n: OpName) => ops.indexOf(n);
  // pier-init's own steps (close-on-exec, the cwd check, no_new_privs) come before it.
  assert.ok(at("cloexec") < at("nnp") && at("cwd") < at("nnp") && at("nnp") < at("user"));
  assert.ok(at("caps") < at("notify") && at("waitfifo") < sc);
  assert.deepEqual(plan.ops[at("cwd")]?.args, ["/"], "the first cwd verifies where it landed");
  assert.deepEqual(plan.ops[ops.lastIndexOf("cwd")]?.args, ["/", "verified"]);
});

test("without noNewPrivileges the filter is loaded before privileges are dropped, as runc does", () => {
  const plan = planCreate({
    ...input((s) => {
      if (s.process) s.process.noNewPrivileges = false;
      s.hooks = { startContainer: [{ path: "/bin/sc" }] };
    }),
    seccomp: filter,
  });
  const ops = plan.ops.map((o) => o.op);
  const at = (n: OpName) => ops.indexOf(n);
  assert.equal(at("nnp"), -1);
  // runc: syncParentReady, InitSeccomp, finalizeNamespace (bounding, user, chdir, caps), fifo,
  // startContainer hooks, execve. pier-init's own close-on-exec and cwd check stay in front.
  assert.ok(at("cloexec") < at("notify") && at("cwd") < at("notify"));
  assert.ok(at("notify") < at("seccomp") && at("seccomp") < at("bounding"));
  assert.ok(at("bounding") < at("user") && at("user") < at("caps") && at("caps") < at("waitfifo"));
  assert.ok(at("waitfifo") < at("hook") && at("hook") < at("exec"));
});

test("a mount namespace joined by path is entered right before clone, and the rootfs prepared in it", () => {
  const plan = planCreate(
    input((s) => {
      const ns = s.linux?.namespaces?.find((n) => n.type === "mount");
      if (ns) ns.path = "/proc/77/ns/mnt";
    }),
  );
  const ops = plan.ops.map((o) => o.op);
  const join = plan.ops.findIndex((o) => o.op === "setns" && o.args[0] === "/proc/77/ns/mnt");
  assert.equal(plan.ops[join]?.args[1], String(CLONE_FLAGS.mount));
  // After every host path the helper opens (fifo, cgroup files), and the only op before clone.
  assert.equal(join, ops.indexOf("clone") - 1);
  assert.ok(ops.indexOf("mkfifo") < join && ops.indexOf("openfifo") < join);
  assert.equal(Number(plan.ops[join + 1]?.args[0]) & CLONE_FLAGS.mount, 0, "no new mount namespace");
  assert.ok(ops.includes("rootfs") && ops.includes("pivot"));
  assert.ok(!plan.newNamespaces.includes("mount"));
});

test("without a mount namespace nothing of the rootfs is prepared (as runc), masks are refused", () => {
  const ops = names(
    input((s) => {
      if (s.linux) {
        s.linux.namespaces = s.linux.namespaces?.filter((n) => n.type !== "mount");
        s.linux.maskedPaths = [];
        s.linux.readonlyPaths = [];
      }
      if (s.root) s.root.readonly = false;
    }),
  );
  for (const absent of ["rootprop", "rootfs", "mount", "mkdev", "pivot", "chroot"] as const)
    assert.ok(!ops.includes(absent), absent);
  assert.ok(ops.includes("exec"));
  assert.throws(
    () =>
      names(
        input((s) => {
          s.linux?.namespaces?.splice(4, 1);
          if (s.root) s.root.readonly = true;
        }),
      ),
    /without a mount namespace/,
  );
});

function setPropagation(s: Spec, value: string): void {
  if (s.linux) s.linux.rootfsPropagation = value;
}

test("rootfsPropagation: applied to the old root before the bind and to the new root after the pivot", () => {
  for (const [value, flags] of [
    ["shared", MS.SHARED],
    ["rslave", MS.SLAVE | MS.REC],
  ] as const) {
    const ops = planCreate(input((s) => setPropagation(s, value))).ops;
    const props = ops.filter((o) => o.op === "rootprop").map((o) => Number(o.args[0]));
    assert.deepEqual(props, [flags, flags], value);
    const at = (n: string) => ops.findIndex((o) => o.op === n);
    assert.ok(at("rootprop") < at("rootfs") && at("pivot") < ops.findLastIndex((o) => o.op === "rootprop"));
  }
  // unbindable: only the new root; the old one (bind sources) gets the default rslave.
  const unbindable = planCreate(input((s) => setPropagation(s, "runbindable"))).ops;
  assert.deepEqual(
    unbindable.filter((o) => o.op === "rootprop").map((o) => Number(o.args[0])),
    [MS.SLAVE | MS.REC, MS.UNBINDABLE | MS.REC],
  );
  // private: the pivot leaves the new root private already.
  const priv = planCreate(input((s) => setPropagation(s, "private"))).ops;
  assert.equal(priv.filter((o) => o.op === "rootprop").length, 1);
});
