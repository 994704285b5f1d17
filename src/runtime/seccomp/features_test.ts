import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { validateLinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import { compileSeccompFilter } from "./compile.js";
import { parseKernelVersion, seccompFeatures } from "./features.js";

describe("seccompFeatures", () => {
  it("reports every action and operator runc reports, and only the archs pier filters", () => {
    const f = seccompFeatures("6.1.0-18-amd64");
    assert.equal(f.enabled, true);
    // runc's list for the same spec version (runc features).
    assert.deepEqual(f.actions, [
      "SCMP_ACT_ALLOW",
      "SCMP_ACT_ERRNO",
      "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_PROCESS",
      "SCMP_ACT_KILL_THREAD",
      "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY",
      "SCMP_ACT_TRACE",
      "SCMP_ACT_TRAP",
    ]);
    assert.equal(f.operators.length, 7);
    assert.deepEqual(f.archs, [
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
      "SCMP_ARCH_X32",
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X86_64",
    ]);
    assert.equal(f.knownFlags.length, 4);
    assert.equal(f.supportedFlags.length, 4);
  });

  it("claims only what the compiler accepts", () => {
    const f = seccompFeatures();
    for (const action of f.actions) {
      const s = validateLinuxSeccomp({
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/agent.sock",
        syscalls: [
          {
            names: ["mkdir"],
            action,
            args: f.operators.map((op, index) => ({ index: index % 6, value: 1, op })),
          },
        ],
      });
      assert.ok(compileSeccompFilter(s, { nativeArch: "x86_64" }).instructionCount > 0, action);
    }
    const archs = validateLinuxSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: f.archs,
      flags: f.knownFlags,
    });
    assert.ok(compileSeccompFilter(archs, { nativeArch: "x86_64" }).instructionCount > 0);
  });

  it("decides supported flags by kernel version", () => {
    assert.deepEqual(seccompFeatures("4.15.0").supportedFlags, [
      "SECCOMP_FILTER_FLAG_LOG",
      "SECCOMP_FILTER_FLAG_TSYNC",
    ]);
    assert.deepEqual(seccompFeatures("garbage").supportedFlags, []);
    assert.deepEqual(parseKernelVersion("6.18.44-fc"), [6, 18]);
  });

  it("matches runc's features on this host for the shared fields", (t) => {
    let out: string;
    try {
      out = execFileSync("runc", ["features"], { encoding: "utf8" });
    } catch (err) {
      throw new Error(
        `runc is required for this interop check (apt-get install -y runc): ${(err as Error).message}`,
      );
    }
    const runc = JSON.parse(out).linux.seccomp as { actions: string[]; operators: string[]; archs: string[] };
    const ours = seccompFeatures();
    assert.deepEqual(ours.actions, runc.actions);
    assert.deepEqual(ours.operators, runc.operators);
    for (const arch of ours.archs) assert.ok(runc.archs.includes(arch), arch);
    t.diagnostic(
      `runc archs pier does not filter: ${runc.archs.filter((a) => !ours.archs.includes(a)).join(", ")}`,
    );
  });
});
