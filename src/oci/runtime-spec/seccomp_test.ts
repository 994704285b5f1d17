import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OciError } from "../error.js";
import { validateLinuxSeccomp } from "./seccomp.js";

function rejects(value: unknown, message: string): void {
  assert.throws(
    () => validateLinuxSeccomp(value),
    (e: unknown) => e instanceof OciError && e.code === "INVALID_DOCUMENT" && e.message === message,
    message,
  );
}

describe("validateLinuxSeccomp", () => {
  it("accepts a full profile and types argument values as bigint", () => {
    const s = validateLinuxSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
      flags: ["SECCOMP_FILTER_FLAG_LOG"],
      listenerPath: "/run/agent.sock",
      listenerMetadata: "meta",
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["clone"],
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
        },
        { names: ["personality"], action: "SCMP_ACT_TRACE", errnoRet: 3, args: null },
      ],
    });
    assert.equal(s.defaultErrnoRet, 38);
    assert.deepEqual(s.syscalls?.[1]?.args, [
      { index: 0, value: 2114060288n, valueTwo: 0n, op: "SCMP_CMP_MASKED_EQ" },
    ]);
    assert.equal(s.syscalls?.[2]?.args, undefined);
  });

  it("names the offending field", () => {
    rejects(null, "linux.seccomp: must be an object");
    rejects({}, "linux.seccomp.defaultAction: required field is missing");
    rejects({ defaultAction: "SCMP_ACT_FOO" }, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"');
    const rules = [0, 1, 2].map(() => ({ names: ["read"], action: "SCMP_ACT_ALLOW" }));
    rejects(
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [...rules, { names: ["read"], action: "SCMP_ACT_FOO" }] },
      'linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"',
    );
    rejects(
      { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_VAX"] },
      'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"',
    );
    rejects({ defaultAction: "SCMP_ACT_ALLOW", flags: ["X"] }, 'linux.seccomp.flags[0]: unknown flag "X"');
    rejects(
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_ALLOW" }] },
      "linux.seccomp.syscalls[0].names: must contain at least one syscall name",
    );
    rejects(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] },
        ],
      },
      "linux.seccomp.syscalls[0].args[0].index: must be an integer from 0 to 5 (a syscall has at most six arguments)",
    );
    rejects(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_XX" }] },
        ],
      },
      'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_XX"',
    );
    rejects(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }] },
        ],
      },
      "linux.seccomp.syscalls[0].args[0].value: must be an unsigned 64-bit integer",
    );
    rejects(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          {
            names: ["read"],
            action: "SCMP_ACT_ALLOW",
            args: [{ index: 0, value: 2 ** 60, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
      "linux.seccomp.syscalls[0].args[0].value: is above 2^53 and cannot be represented exactly in JSON numbers",
    );
  });

  it("refuses errnoRet with an action that takes none, as the spec requires", () => {
    rejects(
      { defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: 1 },
      "linux.seccomp.defaultErrnoRet: not allowed with SCMP_ACT_ALLOW (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one)",
    );
    rejects(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_KILL", errnoRet: 1 }],
      },
      "linux.seccomp.syscalls[0].errnoRet: not allowed with SCMP_ACT_KILL (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one)",
    );
    rejects(
      { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000 },
      "linux.seccomp.defaultErrnoRet: must be an integer from 0 to 65535",
    );
  });

  it("refuses listenerMetadata without listenerPath", () => {
    rejects(
      { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" },
      "linux.seccomp.listenerMetadata: must not be set without listenerPath",
    );
  });
});
