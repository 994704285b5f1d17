import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { validateLinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64 } from "./arch.js";
import { BPF_MAXINSNS, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_THREAD } from "./bpf.js";
import { BpfProgram } from "./bpf-interpreter.js";
import { compileSeccompFilter } from "./compile.js";
import { I386_SYSCALLS } from "./tables/i386.js";
import { X32_SYSCALLS } from "./tables/x32.js";
import { X86_64_SYSCALLS } from "./tables/x86_64.js";
import { seccompTestdata } from "./testdata/paths.js";

const EPERM = (SECCOMP_RET_ERRNO | 1) >>> 0;
const ENOSYS = (SECCOMP_RET_ERRNO | 38) >>> 0;

// Docker's default profile as moby renders it for an amd64 container with the default
// capabilities (see testdata/docker-default-amd64.json).
const profile = validateLinuxSeccomp(
  JSON.parse(readFileSync(seccompTestdata("docker-default-amd64.json"), "utf8")),
);
const compiled = compileSeccompFilter(profile, { nativeArch: "x86_64" });
const prog = new BpfProgram(compiled.program);
const unconditional = profile
  .syscalls!.filter((s) => s.args === undefined && s.action === "SCMP_ACT_ALLOW")
  .flatMap((s) => s.names);

function x64(name: string, args: bigint[] = []): number {
  return prog.run({ nr: X86_64_SYSCALLS.get(name)!, arch: AUDIT_ARCH_X86_64, args }).ret;
}

describe("Docker's default profile", () => {
  it("compiles far under BPF_MAXINSNS", (t) => {
    assert.ok(compiled.instructionCount < BPF_MAXINSNS / 2, `${compiled.instructionCount} instructions`);
    assert.equal(compiled.flags, 0);
    t.diagnostic(`instructions: ${compiled.instructionCount}`);
  });

  it("allows every syscall of its allow list on x86_64, i386 and x32, and measures the cost", (t) => {
    let executed = 0;
    let count = 0;
    for (const [table, arch] of [
      [X86_64_SYSCALLS, AUDIT_ARCH_X86_64],
      [I386_SYSCALLS, AUDIT_ARCH_I386],
      [X32_SYSCALLS, AUDIT_ARCH_X86_64],
    ] as const) {
      for (const name of unconditional) {
        const nr = table.get(name);
        if (nr === undefined) continue;
        const r = prog.run({ nr, arch });
        assert.equal(r.ret, SECCOMP_RET_ALLOW, `${name} (${nr}) on arch 0x${arch.toString(16)}`);
        if (table === X86_64_SYSCALLS) {
          executed += r.executed;
          count++;
        }
      }
    }
    assert.ok(count > 300, `${count} x86_64 syscalls`);
    const average = executed / count;
    t.diagnostic(`x86_64 allowed syscalls: ${count}, average instructions executed: ${average.toFixed(2)}`);
    assert.ok(average < 16, `average ${average}`);
    assert.ok(x64("read") === SECCOMP_RET_ALLOW && x64("write") === SECCOMP_RET_ALLOW);
  });

  it("denies what Docker denies", () => {
    for (const name of [
      "kexec_load",
      "mount",
      "umount2",
      "unshare",
      "setns",
      "reboot",
      "init_module",
      "bpf",
      "ptrace_x",
    ]) {
      if (!X86_64_SYSCALLS.has(name)) continue;
      assert.equal(x64(name), EPERM, name);
    }
    assert.equal(x64("kexec_load"), EPERM);
    assert.equal(x64("clone3"), ENOSYS, "clone3 gets ENOSYS so glibc falls back to clone");
  });

  it("applies the personality and socket argument rules", () => {
    for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn])
      assert.equal(x64("personality", [v]), SECCOMP_RET_ALLOW, `${v}`);
    for (const v of [1n, 0x0400000n, 0x1ffffffffn]) assert.equal(x64("personality", [v]), EPERM, `${v}`);
    assert.equal(x64("socket", [2n]), SECCOMP_RET_ALLOW, "AF_INET");
    assert.equal(x64("socket", [16n]), SECCOMP_RET_ALLOW, "AF_NETLINK");
    assert.equal(x64("socket", [40n]), EPERM, "AF_VSOCK");
  });

  it("applies the clone namespace-flags rule (MASKED_EQ 0x7E020000 == 0)", () => {
    const threadFlags = 0x3d0f00n; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    assert.equal(x64("clone", [threadFlags]), SECCOMP_RET_ALLOW);
    assert.equal(x64("clone", [0x01200011n]), SECCOMP_RET_ALLOW, "fork-style clone");
    for (const ns of [
      0x00020000n,
      0x02000000n,
      0x04000000n,
      0x08000000n,
      0x10000000n,
      0x20000000n,
      0x40000000n,
    ]) {
      assert.equal(x64("clone", [threadFlags | ns]), EPERM, `namespace flag 0x${ns.toString(16)}`);
    }
  });

  it("returns ENOSYS for syscalls newer than the profile and kills foreign architectures", () => {
    assert.equal(prog.run({ nr: 1000, arch: AUDIT_ARCH_X86_64 }).ret, ENOSYS);
    assert.equal(prog.run({ nr: 1000, arch: AUDIT_ARCH_I386 }).ret, ENOSYS);
    assert.equal(prog.run({ nr: 0x40000000 + 1000, arch: AUDIT_ARCH_X86_64 }).ret, ENOSYS);
    assert.equal(prog.run({ nr: 0, arch: 0xc00000b7 }).ret, SECCOMP_RET_KILL_THREAD);
  });
});
