/**
 * Where the seccomp filter sits in the container process's last steps (issue 13, item 1), on the
 * real kernel through the native front end: with a default-deny profile that allows only execve
 * and what the program itself needs, the container must run. pier-init used to mark fds
 * close-on-exec (close_range), reset SIGPIPE and check its cwd (getcwd) after loading the filter,
 * so such a profile killed the container before exec.
 */
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../oci/runtime-spec/default-spec.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { runtimeCmd, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";
let stateRoot = "";
let n = 0;

before(async () => {
  tmp = await makeTempDir("pier-rt-seccomp-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  stateRoot = join(tmp, "state");
});

after(async () => {
  await removeTempDir(tmp);
});

const pier = (...args: string[]) => runtimeCmd("pier", ["--root", stateRoot, ...args]);

/** What Debian's static busybox needs to run `echo` (from strace), and nothing else. */
const ECHO_NEEDS = [
  "arch_prctl",
  "brk",
  "exit",
  "exit_group",
  "getrandom",
  "getuid",
  "geteuid",
  "mprotect",
  "prctl",
  "prlimit64",
  "readlink",
  "rseq",
  "set_robust_list",
  "set_tid_address",
  "write",
];

/** What runc's (and now pier-init's) steps after a filter loaded without no_new_privs need. */
const FINALIZE_NEEDS = ["prctl", "setgroups", "setresgid", "setresuid", "capset", "chdir", "openat", "close"];

function echoSpec(allowed: string[], noNewPrivileges: boolean): Spec {
  const spec = defaultRuntimeSpec();
  const p = spec.process;
  if (p) {
    p.terminal = false;
    p.args = ["/bin/echo", "filtered-ok"];
    p.noNewPrivileges = noNewPrivileges;
  }
  if (spec.linux)
    spec.linux.seccomp = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 1,
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
      syscalls: [{ names: ["execve", ...allowed], action: "SCMP_ACT_ALLOW" }],
    };
  return spec;
}

async function run(spec: Spec): Promise<{ status: number | null; stdout: string; stderr: string }> {
  n += 1;
  const dir = await writeBundle(join(tmp, `b${n}`), spec, rootfs);
  const r = pier("run", "--bundle", dir, `seccomp-order-${process.pid}-${n}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("with noNewPrivileges, a profile allowing only execve and the program's needs runs the program", async () => {
  const r = await run(echoSpec(ECHO_NEEDS, true));
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "filtered-ok\n");
});

test("the same profile is in force: without write the program's echo fails", async () => {
  const r = await run(
    echoSpec(
      ECHO_NEEDS.filter((s) => s !== "write"),
      true,
    ),
  );
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, "");
});

test("without noNewPrivileges the filter precedes the privilege drop, as under runc", async () => {
  // The program's needs alone are not enough: the user and capability changes run under it.
  const bare = await run(echoSpec(ECHO_NEEDS, false));
  assert.notEqual(bare.status, 0);
  assert.equal(bare.stdout, "");
  // With what runc's finalizeNamespace and the exec fifo need, it runs.
  const r = await run(echoSpec([...ECHO_NEEDS, ...FINALIZE_NEEDS], false));
  assert.equal(r.stderr, "");
  assert.equal(r.status, 0);
  assert.equal(r.stdout, "filtered-ok\n");
});
