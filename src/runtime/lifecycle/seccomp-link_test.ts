import assert from "node:assert/strict";
import { test } from "node:test";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { validateLinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import { compileSeccompFilter } from "../seccomp/compile.js";
import { compileSeccompFor } from "./seccomp-link.js";

/** A config whose profile allows everything but `personality` with argument 0 = `value`. */
function specWith(value: bigint | number, unknownName = "no_such_syscall"): Spec {
  return {
    ociVersion: "1.0.2",
    root: { path: "rootfs" },
    linux: {
      seccomp: {
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [
          {
            names: ["personality", unknownName],
            action: "SCMP_ACT_ERRNO",
            args: [{ index: 0, value: value as bigint, op: "SCMP_CMP_EQ" }],
          },
        ],
      },
    },
  } as Spec;
}

test("seccomp: a profile compiles once per daemon, a changed one (even past 2^53) again, each exactly", () => {
  const first = compileSeccompFor(specWith(9223372036854775809n));
  const again = compileSeccompFor(specWith(9223372036854775809n));
  const other = compileSeccompFor(specWith(9223372036854775808n));
  assert.ok(first && again && other);
  assert.equal(again.bpf, first.bpf, "the same profile gives the program compiled before");
  assert.notEqual(other.bpf, first.bpf, "a value that differs only past 2^53 is another profile");
  assert.notDeepEqual(Buffer.from(other.bpf), Buffer.from(first.bpf));
  for (const [value, got] of [
    [9223372036854775809n, first],
    [9223372036854775808n, other],
  ] as const) {
    const fresh = compileSeccompFilter(validateLinuxSeccomp(specWith(value).linux?.seccomp));
    assert.deepEqual(Buffer.from(got.bpf), fresh.program, "the kept program is the compiler's own");
    assert.equal(got.flags, fresh.flags);
  }
  assert.equal(compileSeccompFor({ ociVersion: "1.0.2", root: { path: "rootfs" } } as Spec), undefined);
});

test("seccomp: the compiler's debug notes are given for a kept program too", () => {
  const spec = specWith(7, "not_a_syscall_anywhere");
  const notes = (): string[] => {
    const out: string[] = [];
    compileSeccompFor(spec, (m) => out.push(m));
    return out;
  };
  const compiled = notes();
  assert.ok(
    compiled.some((n) => n.includes("not_a_syscall_anywhere")),
    compiled.join("\n"),
  );
  assert.deepEqual(notes(), compiled);
});

test("seccomp: an invalid profile is refused every time, never kept", () => {
  const bad = { ...specWith(1), linux: { seccomp: { defaultAction: "SCMP_ACT_NOPE" } } } as unknown as Spec;
  assert.throws(() => compileSeccompFor(bad), /defaultAction/);
  assert.throws(() => compileSeccompFor(bad), /defaultAction/);
});
