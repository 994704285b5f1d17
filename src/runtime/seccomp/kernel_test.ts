// Loads compiled filters into real processes (the test-only loader in testdata/loader.c sets
// no_new_privs, calls seccomp(2) and execs busybox) and checks what the kernel does.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type LinuxSeccomp, validateLinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import { makeTempDir, removeTempDir, requireBusybox } from "../../testing/busybox.js";
import { compileSeccompFilter } from "./compile.js";
import { seccompTestdata } from "./testdata/paths.js";

let dir = "";
let loader = "";
let notifyLoader = "";
let busybox = "";
let runs = 0;

function requireCompiler(): string {
  for (const cc of ["/usr/bin/cc", "/usr/bin/gcc"]) if (existsSync(cc)) return cc;
  throw new Error("no C compiler (cc/gcc) for the seccomp test loader: apt-get install -y gcc libc6-dev");
}

before(async () => {
  busybox = requireBusybox();
  dir = await makeTempDir("pier-seccomp-kernel-");
  loader = join(dir, "loader");
  execFileSync(requireCompiler(), ["-O2", "-o", loader, seccompTestdata("loader.c")]);
  notifyLoader = join(dir, "notify-loader");
  execFileSync(requireCompiler(), ["-O2", "-o", notifyLoader, seccompTestdata("notify-loader.c")]);
});

after(async () => {
  if (dir) await removeTempDir(dir);
});

/** Runs busybox with `args` under the compiled filter. */
async function underFilter(seccomp: LinuxSeccomp, args: string[]) {
  const { program, flags } = compileSeccompFilter(seccomp);
  const file = join(dir, `filter-${runs++}.bpf`);
  await writeFile(file, program);
  const r = spawnSync(loader, [file, String(flags), busybox, ...args], { encoding: "utf8", timeout: 20_000 });
  assert.notEqual(r.status, 125, `loader failed: ${r.stderr}`);
  return r;
}

describe("compiled filters in the real kernel", () => {
  it("EPERM for mkdir/mkdirat makes busybox mkdir fail while echo works", async () => {
    const profile: LinuxSeccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
    };
    const target = join(dir, "denied");
    const mk = await underFilter(profile, ["mkdir", target]);
    assert.equal(mk.status, 1);
    assert.match(mk.stderr, /Operation not permitted/);
    assert.equal(existsSync(target), false);
    const echo = await underFilter(profile, ["echo", "hello"]);
    assert.equal(echo.status, 0, echo.stderr);
    assert.equal(echo.stdout, "hello\n");
    // Control: without the filter the same mkdir works.
    const free = await underFilter({ defaultAction: "SCMP_ACT_ALLOW" }, ["mkdir", target]);
    assert.equal(free.status, 0, free.stderr);
    assert.equal(existsSync(target), true);
  });

  it("returns errnoRet as the syscall's error", async () => {
    const r = await underFilter(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28 }],
      },
      ["mkdir", join(dir, "enospc")],
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /No space left on device/);
  });

  it("KILL_PROCESS ends the process with SIGSYS", async () => {
    const r = await underFilter(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }],
      },
      ["mkdir", join(dir, "killed")],
    );
    assert.equal(r.signal, "SIGSYS");
  });

  it("filters on an argument value: personality denied only for PER_LINUX32", async () => {
    const profile: LinuxSeccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 0, op: "SCMP_CMP_EQ", value: 0x0008n }],
        },
      ],
    };
    const denied = await underFilter(profile, ["linux32", busybox, "true"]);
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /Operation not permitted/);
    const allowed = await underFilter(profile, ["linux64", busybox, "true"]);
    assert.equal(allowed.status, 0, allowed.stderr);
  });

  it("loads with every flag the kernel supports (TSYNC, LOG, SPEC_ALLOW)", async () => {
    const r = await underFilter(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_LOG" }],
      },
      ["mkdir", join(dir, "logged")],
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(existsSync(join(dir, "logged")), true);
  });

  it("SCMP_ACT_NOTIFY hands syscalls to an agent through the listener fd (NEW_LISTENER, WAIT_KILLABLE_RECV)", async () => {
    const { program, flags, notify } = compileSeccompFilter({
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
    });
    assert.equal(notify, true);
    const file = join(dir, `filter-${runs++}.bpf`);
    await writeFile(file, program);
    const target = join(dir, "notified");
    // The agent answers EXDEV (18), which no real mkdir here would return.
    const r = spawnSync(notifyLoader, [file, String(flags), "18", busybox, "mkdir", target], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.notEqual(r.status, 125, `harness failed: ${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /agent: syscall \d+/);
    assert.match(r.stderr, /Invalid cross-device link/);
    assert.equal(existsSync(target), false);
  });

  it("runs busybox under Docker's default profile and denies unshare", async () => {
    const docker = validateLinuxSeccomp(
      JSON.parse(readFileSync(seccompTestdata("docker-default-amd64.json"), "utf8")),
    );
    const ok = await underFilter(docker, [
      "sh",
      "-c",
      `echo ok && mkdir ${join(dir, "docker")} && ls -d ${dir}`,
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^ok\n/);
    const un = await underFilter(docker, ["unshare", "-n", busybox, "true"]);
    assert.notEqual(un.status, 0);
    assert.match(un.stderr, /Operation not permitted/);
  });
});
