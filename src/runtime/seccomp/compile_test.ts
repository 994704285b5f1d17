import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LinuxSeccomp, LinuxSeccompOperator } from "../../oci/runtime-spec/seccomp.js";
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from "./arch.js";
import {
  BPF_JA,
  BPF_JMP,
  decodeProgram,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
} from "./bpf.js";
import { BpfProgram } from "./bpf-interpreter.js";
import { compileSeccompFilter } from "./compile.js";
import { SeccompError } from "./error.js";
import { X32_SYSCALLS } from "./tables/x32.js";
import { X86_64_SYSCALLS } from "./tables/x86_64.js";

const ERRNO = (e: number) => (SECCOMP_RET_ERRNO | e) >>> 0;
const EPERM = ERRNO(1);
const ENOSYS = ERRNO(38);

function nr(name: string): number {
  const n = X86_64_SYSCALLS.get(name);
  assert.ok(n !== undefined, `no x86_64 syscall ${name}`);
  return n;
}

function load(seccomp: LinuxSeccomp, nativeArch = "x86_64"): BpfProgram {
  return new BpfProgram(compileSeccompFilter(seccomp, { nativeArch }).program);
}

function run(p: BpfProgram, name: string, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): number {
  return p.run({ nr: nr(name), arch, args }).ret;
}

describe("compileSeccompFilter", () => {
  it("returns the default action for unlisted syscalls and the rule action for listed ones", () => {
    const p = load({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" }],
    });
    assert.equal(run(p, "read"), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "write"), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "exit_group"), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "open"), EPERM);
    assert.equal(run(p, "mkdir"), EPERM);
  });

  it("encodes every action, errnoRet and defaultErrnoRet", () => {
    const p = load({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 13,
      listenerPath: "/run/agent.sock",
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW" },
        { names: ["write"], action: "SCMP_ACT_ERRNO", errnoRet: 5 },
        { names: ["open"], action: "SCMP_ACT_ERRNO" },
        { names: ["close"], action: "SCMP_ACT_KILL" },
        { names: ["stat"], action: "SCMP_ACT_KILL_THREAD" },
        { names: ["fstat"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["lstat"], action: "SCMP_ACT_TRAP" },
        { names: ["poll"], action: "SCMP_ACT_TRACE", errnoRet: 42 },
        { names: ["lseek"], action: "SCMP_ACT_TRACE" },
        { names: ["mmap"], action: "SCMP_ACT_LOG" },
        { names: ["mprotect"], action: "SCMP_ACT_NOTIFY" },
      ],
    });
    assert.equal(run(p, "read"), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "write"), ERRNO(5));
    assert.equal(run(p, "open"), EPERM, "errnoRet defaults to EPERM");
    assert.equal(run(p, "close"), SECCOMP_RET_KILL_THREAD);
    assert.equal(run(p, "stat"), SECCOMP_RET_KILL_THREAD);
    assert.equal(run(p, "fstat"), SECCOMP_RET_KILL_PROCESS);
    assert.equal(run(p, "lstat"), SECCOMP_RET_TRAP);
    assert.equal(run(p, "poll"), (SECCOMP_RET_TRACE | 42) >>> 0);
    assert.equal(run(p, "lseek"), (SECCOMP_RET_TRACE | 1) >>> 0);
    assert.equal(run(p, "mmap"), SECCOMP_RET_LOG);
    assert.equal(run(p, "mprotect"), SECCOMP_RET_USER_NOTIF);
    assert.equal(run(p, "munmap"), ERRNO(13), "defaultErrnoRet");
  });

  describe("argument comparisons (64-bit, split into 32-bit halves)", () => {
    const values = [
      0n,
      1n,
      7n,
      8n,
      9n,
      0xffffffffn,
      0x100000000n,
      0x100000001n,
      0x1ffffffffn,
      0x200000000n,
      0x7fffffff00000000n,
      0xffffffff00000000n,
      0xfffffffffffffffen,
      0xffffffffffffffffn,
      0x0000000100000008n,
      0x8000000000000008n,
    ];
    const reference: Record<
      Exclude<LinuxSeccompOperator, "SCMP_CMP_MASKED_EQ">,
      (a: bigint, v: bigint) => boolean
    > = {
      SCMP_CMP_EQ: (a, v) => a === v,
      SCMP_CMP_NE: (a, v) => a !== v,
      SCMP_CMP_LT: (a, v) => a < v,
      SCMP_CMP_LE: (a, v) => a <= v,
      SCMP_CMP_GT: (a, v) => a > v,
      SCMP_CMP_GE: (a, v) => a >= v,
    };
    for (const [op, holds] of Object.entries(reference) as [
      LinuxSeccompOperator,
      (a: bigint, v: bigint) => boolean,
    ][]) {
      it(`${op} matches a reference comparison for every pair of edge values`, () => {
        for (const value of values) {
          const p = load({
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [
              {
                names: ["personality"],
                action: "SCMP_ACT_ERRNO",
                errnoRet: 22,
                args: [{ index: 3, op, value }],
              },
            ],
          });
          for (const arg of values) {
            const expected = holds(arg, value) ? ERRNO(22) : SECCOMP_RET_ALLOW;
            const args = [0n, 0n, 0n, arg];
            assert.equal(run(p, "personality", args), expected, `${op}: arg ${arg} vs value ${value}`);
          }
        }
      });
    }

    it("SCMP_CMP_MASKED_EQ matches (arg & value) == (valueTwo & value) on both halves, as libseccomp", () => {
      const cases: [bigint, bigint][] = [
        [0xffn, 0x08n],
        [0xff00000000n, 0x1200000000n],
        [0xffffffffffffffffn, 0x100000008n],
        [0x7e020000n, 0n], // Docker's clone namespace-flags rule shape
        [0x0fn, 0x16n], // valueTwo bits outside the mask are ignored
      ];
      for (const [mask, want] of cases) {
        const p = load({
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [
            {
              names: ["clone"],
              action: "SCMP_ACT_ERRNO",
              errnoRet: 3,
              args: [{ index: 0, op: "SCMP_CMP_MASKED_EQ", value: mask, valueTwo: want }],
            },
          ],
        });
        for (const arg of [
          0n,
          8n,
          0x18n,
          0x1200000000n,
          0x1200000008n,
          0x100000008n,
          0x10000000n,
          0xffffffffffffffffn,
        ]) {
          const expected = (arg & mask) === (want & mask) ? ERRNO(3) : SECCOMP_RET_ALLOW;
          assert.equal(run(p, "clone", [arg]), expected, `mask ${mask} want ${want} arg ${arg}`);
        }
      }
    });
  });

  it("ANDs conditions of one rule and ORs rules for one syscall", () => {
    const p = load({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        {
          names: ["socket"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 0, op: "SCMP_CMP_EQ", value: 2n },
            { index: 1, op: "SCMP_CMP_EQ", value: 1n },
          ],
        },
        { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, op: "SCMP_CMP_EQ", value: 1n }] },
      ],
    });
    assert.equal(run(p, "socket", [2n, 1n]), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "socket", [2n, 2n]), EPERM, "second condition of the AND fails");
    assert.equal(run(p, "socket", [3n, 1n]), EPERM, "first condition of the AND fails");
    assert.equal(run(p, "socket", [1n, 99n]), SECCOMP_RET_ALLOW, "second rule (OR)");
  });

  it("splits a rule with two conditions on one argument into ORed rules, as runc does", () => {
    const p = load({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        {
          names: ["personality"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 0, op: "SCMP_CMP_EQ", value: 0n },
            { index: 0, op: "SCMP_CMP_EQ", value: 8n },
          ],
        },
      ],
    });
    assert.equal(run(p, "personality", [0n]), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "personality", [8n]), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "personality", [1n]), EPERM);
  });

  it("lets an unconditional rule win over conditional ones, and the first unconditional rule win", () => {
    const p = load({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 9,
          args: [{ index: 0, op: "SCMP_CMP_EQ", value: 8n }],
        },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 5 },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 6 },
      ],
    });
    assert.equal(run(p, "personality", [8n]), ERRNO(5));
    assert.equal(run(p, "personality", [1n]), ERRNO(5));
  });

  it("ignores syscall names unknown to the architecture and reports them at debug", () => {
    const notes: string[] = [];
    const r = compileSeccompFilter(
      {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: ["read", "no_such_syscall"], action: "SCMP_ACT_ALLOW" }],
      },
      { nativeArch: "x86_64", debug: (m) => notes.push(m) },
    );
    const p = new BpfProgram(r.program);
    assert.equal(run(p, "read"), SECCOMP_RET_ALLOW);
    assert.ok(
      notes.some((n) => n.includes("no_such_syscall")),
      notes.join("\n"),
    );
  });

  describe("architectures", () => {
    it("kills (KILL_THREAD, libseccomp's bad-arch action) syscalls of an architecture not in the filter", () => {
      const p = load({ defaultAction: "SCMP_ACT_ALLOW" });
      assert.equal(p.run({ nr: 3, arch: AUDIT_ARCH_I386 }).ret, SECCOMP_RET_KILL_THREAD);
      assert.equal(p.run({ nr: 3, arch: AUDIT_ARCH_AARCH64 }).ret, SECCOMP_RET_KILL_THREAD);
      assert.equal(p.run({ nr: 3, arch: 0x12345678 }).ret, SECCOMP_RET_KILL_THREAD);
      assert.equal(p.run({ nr: 3, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_ALLOW);
    });

    it("kills x32 syscalls when SCMP_ARCH_X32 is not listed, except nr -1 (as libseccomp)", () => {
      const p = load({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"] });
      const x32read = X32_SYSCALLS.get("read")!;
      assert.equal(x32read, X32_SYSCALL_BIT);
      assert.equal(p.run({ nr: x32read, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_KILL_THREAD);
      assert.equal(p.run({ nr: 0xffffffff, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_ALLOW);
      assert.equal(p.run({ nr: 0, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_ALLOW);
    });

    it("filters x32 by its own table when SCMP_ARCH_X32 is listed", () => {
      const p = load({
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
        syscalls: [{ names: ["read", "kexec_load"], action: "SCMP_ACT_ALLOW" }],
      });
      assert.equal(p.run({ nr: X32_SYSCALLS.get("read")!, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_ALLOW);
      assert.equal(
        p.run({ nr: X32_SYSCALLS.get("kexec_load")!, arch: AUDIT_ARCH_X86_64 }).ret,
        SECCOMP_RET_ALLOW,
      );
      assert.equal(p.run({ nr: X32_SYSCALLS.get("write")!, arch: AUDIT_ARCH_X86_64 }).ret, EPERM);
      assert.equal(run(p, "read"), SECCOMP_RET_ALLOW);
      assert.equal(run(p, "kexec_load"), SECCOMP_RET_ALLOW);
      assert.equal(run(p, "write"), EPERM);
    });

    it("filters i386 by its own numbers when SCMP_ARCH_X86 is listed", () => {
      const p = load({
        defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        syscalls: [{ names: ["write", "socketcall", "getpid"], action: "SCMP_ACT_ALLOW" }],
      });
      // i386: read 3, write 4, getpid 20, socketcall 102; x86_64: read 0, write 1, stat 4, getpid 39.
      assert.equal(p.run({ nr: 4, arch: AUDIT_ARCH_I386 }).ret, SECCOMP_RET_ALLOW);
      assert.equal(p.run({ nr: 102, arch: AUDIT_ARCH_I386 }).ret, SECCOMP_RET_ALLOW);
      assert.equal(p.run({ nr: 3, arch: AUDIT_ARCH_I386 }).ret, EPERM);
      assert.equal(p.run({ nr: 1, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_ALLOW);
      assert.equal(p.run({ nr: 4, arch: AUDIT_ARCH_X86_64 }).ret, EPERM);
      assert.equal(p.run({ nr: 39, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_ALLOW);
      assert.equal(p.run({ nr: 20, arch: AUDIT_ARCH_I386 }).ret, SECCOMP_RET_ALLOW);
      assert.equal(
        p.run({ nr: 103, arch: AUDIT_ARCH_I386 }).ret,
        ENOSYS,
        "above i386's highest named syscall",
      );
    });

    it("uses the aarch64 table when the native architecture is arm64", () => {
      const p = load(
        { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_ALLOW" }] },
        "arm64",
      );
      assert.equal(
        p.run({ nr: 34, arch: AUDIT_ARCH_AARCH64 }).ret,
        SECCOMP_RET_ALLOW,
        "mkdirat is 34 on aarch64",
      );
      assert.equal(p.run({ nr: 83, arch: AUDIT_ARCH_AARCH64 }).ret, EPERM);
      assert.equal(p.run({ nr: 34, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_KILL_THREAD);
    });

    it("refuses a native architecture without a table", () => {
      assert.throws(
        () => compileSeccompFilter({ defaultAction: "SCMP_ACT_ALLOW" }, { nativeArch: "s390x" }),
        (e: unknown) => e instanceof SeccompError && e.code === "UNSUPPORTED_ARCH",
      );
    });
  });

  it("returns ENOSYS above the profile's highest syscall for listed architectures (runc's stub)", () => {
    const p = load({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["read", "openat2"], action: "SCMP_ACT_ALLOW" }],
    });
    assert.equal(run(p, "openat2"), SECCOMP_RET_ALLOW);
    assert.equal(run(p, "mkdir"), EPERM, "below the highest: default action");
    assert.equal(p.run({ nr: nr("openat2") + 1, arch: AUDIT_ARCH_X86_64 }).ret, ENOSYS);
    assert.equal(p.run({ nr: 1000, arch: AUDIT_ARCH_X86_64 }).ret, ENOSYS);
    // No stub when the default action lets syscalls through, nor when no architectures are listed.
    const allow = load({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"] });
    assert.equal(allow.run({ nr: 1000, arch: AUDIT_ARCH_X86_64 }).ret, SECCOMP_RET_ALLOW);
    const unlisted = load({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }],
    });
    assert.equal(unlisted.run({ nr: 1000, arch: AUDIT_ARCH_X86_64 }).ret, EPERM);
  });

  it("maps flags to seccomp(2) numbers and adds NEW_LISTENER for SCMP_ACT_NOTIFY", () => {
    const plain = compileSeccompFilter(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
      },
      { nativeArch: "x86_64" },
    );
    assert.equal(
      plain.flags,
      SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    );
    assert.equal(plain.notify, false);
    const notify = compileSeccompFilter(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/agent.sock",
        flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
      },
      { nativeArch: "x86_64" },
    );
    assert.equal(notify.notify, true);
    assert.equal(
      notify.flags,
      SECCOMP_FILTER_FLAG_NEW_LISTENER |
        SECCOMP_FILTER_FLAG_TSYNC |
        SECCOMP_FILTER_FLAG_TSYNC_ESRCH |
        SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
    );
  });

  it("refuses SCMP_ACT_NOTIFY as default action, for write or without listenerPath, as runc does", () => {
    const invalid = (e: unknown) => e instanceof SeccompError && e.code === "INVALID_PROFILE";
    assert.throws(
      () => compileSeccompFilter({ defaultAction: "SCMP_ACT_NOTIFY" }, { nativeArch: "x86_64" }),
      invalid,
    );
    assert.throws(
      () =>
        compileSeccompFilter(
          {
            defaultAction: "SCMP_ACT_ALLOW",
            syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_NOTIFY" }],
          },
          { nativeArch: "x86_64" },
        ),
      (e: unknown) => invalid(e) && /syscalls\[0\].*write/.test((e as Error).message),
    );
    assert.throws(
      () =>
        compileSeccompFilter(
          { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] },
          { nativeArch: "x86_64" },
        ),
      (e: unknown) => invalid(e) && /listenerPath/.test((e as Error).message),
    );
  });

  it("tries ORed rules in profile order, on 64-bit and 32-bit ABIs (property test)", () => {
    // Reference semantics: the first rule whose condition holds gives the action; i386 compares
    // the low 32 bits of argument and value only (libseccomp's 32-bit ABI behaviour).
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const ops: LinuxSeccompOperator[] = [
      "SCMP_CMP_EQ",
      "SCMP_CMP_NE",
      "SCMP_CMP_LT",
      "SCMP_CMP_LE",
      "SCMP_CMP_GT",
      "SCMP_CMP_GE",
      "SCMP_CMP_MASKED_EQ",
    ];
    const pool = [0n, 1n, 2n, 5n, 0xffffffffn, 0x100000000n, 0x100000002n, 0x1ffffffffn];
    const holds = (op: LinuxSeccompOperator, a: bigint, v: bigint, v2: bigint): boolean => {
      switch (op) {
        case "SCMP_CMP_EQ":
          return a === v;
        case "SCMP_CMP_NE":
          return a !== v;
        case "SCMP_CMP_LT":
          return a < v;
        case "SCMP_CMP_LE":
          return a <= v;
        case "SCMP_CMP_GT":
          return a > v;
        case "SCMP_CMP_GE":
          return a >= v;
        case "SCMP_CMP_MASKED_EQ":
          return (a & v) === (v2 & v);
      }
    };
    for (let round = 0; round < 40; round++) {
      const rules = Array.from({ length: 2 + (next() % 8) }, (_, r) => {
        // Mostly one argument and EQ/LT/LE, so that low-half groups form.
        const op =
          next() % 3 === 0
            ? ops[next() % ops.length]!
            : ops[next() % 3 === 0 ? 2 : next() % 2 === 0 ? 0 : 3]!;
        const index = next() % 4 === 0 ? 1 : 0;
        return {
          index,
          op,
          value: pool[next() % pool.length]!,
          valueTwo: pool[next() % pool.length]!,
          errno: 10 + r,
        };
      });
      const seccomp: LinuxSeccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        syscalls: rules.map((r) => ({
          names: ["personality"],
          action: "SCMP_ACT_ERRNO" as const,
          errnoRet: r.errno,
          args: [{ index: r.index, op: r.op, value: r.value, valueTwo: r.valueTwo }],
        })),
      };
      const p = load(seccomp);
      for (const a0 of pool) {
        for (const a1 of [0n, 2n, 0x100000002n]) {
          for (const [arch, nrOf, bits] of [
            [AUDIT_ARCH_X86_64, 135, 64],
            [AUDIT_ARCH_I386, 136, 32],
          ] as const) {
            const low = (x: bigint) => (bits === 32 ? x & 0xffffffffn : x);
            const args = [a0, a1];
            const hit = rules.find((r) => holds(r.op, low(args[r.index]!), low(r.value), low(r.valueTwo)));
            const expected = hit ? ERRNO(hit.errno) : SECCOMP_RET_ALLOW;
            const got = p.run({ nr: nrOf, arch, args }).ret;
            assert.equal(
              got,
              expected,
              `round ${round} bits ${bits} args ${args} rules ${JSON.stringify(rules, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`,
            );
          }
        }
      }
    }
  });

  it("inserts long jumps when a program outgrows 8-bit jump offsets, and stays correct", () => {
    // Every syscall gets a conditional rule, so the tree's far branches jump over hundreds of
    // instructions.
    const names = [...X86_64_SYSCALLS.keys()].slice(0, 300);
    const p = compileSeccompFilter(
      {
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: names.map((n, i) => ({
          names: [n],
          action: "SCMP_ACT_ALLOW" as const,
          args: [{ index: i % 6, op: "SCMP_CMP_EQ" as const, value: BigInt(i) }],
        })),
      },
      { nativeArch: "x86_64" },
    );
    assert.ok(p.instructionCount > 1000 && p.instructionCount <= 4096, `${p.instructionCount} instructions`);
    const longJumps = decodeProgram(p.program).filter((i) => i.code === (BPF_JMP | BPF_JA) && i.k > 255);
    assert.ok(longJumps.length > 0, "the program needs BPF_JA trampolines");
    const prog = new BpfProgram(p.program);
    names.forEach((n, i) => {
      const args = [0n, 0n, 0n, 0n, 0n, 0n];
      args[i % 6] = BigInt(i);
      assert.equal(run(prog, n, args), SECCOMP_RET_ALLOW, n);
      args[i % 6] = BigInt(i + 1);
      assert.equal(run(prog, n, args), EPERM, n);
    });
  });

  it("refuses a program beyond BPF_MAXINSNS with PROGRAM_TOO_LARGE", () => {
    const names = [...X86_64_SYSCALLS.keys()];
    // Distinct values per syscall, so no two argument blocks are identical (those are shared).
    const args = (i: number) =>
      [0, 1, 2, 3, 4, 5].map((index) => ({ index, op: "SCMP_CMP_EQ" as const, value: BigInt(i) }));
    assert.throws(
      () =>
        compileSeccompFilter(
          {
            defaultAction: "SCMP_ACT_ERRNO",
            syscalls: names.map((n, i) => ({ names: [n], action: "SCMP_ACT_ALLOW" as const, args: args(i) })),
          },
          { nativeArch: "x86_64" },
        ),
      (e: unknown) => e instanceof SeccompError && e.code === "PROGRAM_TOO_LARGE",
    );
  });
});
