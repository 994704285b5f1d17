import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import { validateLinuxSeccomp } from "../../oci/runtime-spec/seccomp.js";
import { AUDIT_ARCH_X86_64 } from "../../runtime/seccomp/arch.js";
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO } from "../../runtime/seccomp/bpf.js";
import { BpfProgram } from "../../runtime/seccomp/bpf-interpreter.js";
import { compileSeccompFilter } from "../../runtime/seccomp/compile.js";
import { dockerDefaultSeccompProfile } from "../../runtime/seccomp/docker-default.js";
import { renderDockerSeccomp } from "../../runtime/seccomp/docker-profile.js";
import { X86_64_SYSCALLS } from "../../runtime/seccomp/tables/x86_64.js";
import { seccompTestdata } from "../../runtime/seccomp/testdata/paths.js";
import type { HostFacts } from "./host-facts.js";
import {
  applySecurity,
  containerCaps,
  DOCKER_DEFAULT_CAPS,
  normalizeCap,
  parseSecurity,
  parseSecurityOpts,
  privilegedWarnings,
} from "./security.js";

const EVERY = Array.from({ length: 41 }, (_, i) => i);
const host: SecurityHost = {
  boundingSet: EVERY,
  arch: "amd64",
  kernel: "6.1.0-13-amd64",
  appArmor: false,
  selinux: false,
  device: (path) => ({ path, type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }),
  allDevices: () => [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }],
};
type SecurityHost = Pick<
  HostFacts,
  "boundingSet" | "arch" | "kernel" | "appArmor" | "selinux" | "device" | "allDevices"
>;

function spec(sec: unknown, uid = 0): Spec {
  const s = defaultRuntimeSpec();
  if (s.process) s.process.user = { uid, gid: 0 };
  applySecurity(s, parseSecurity(sec), { host });
  return s;
}

describe("Docker's default seccomp profile, rendered by pier", () => {
  test("equals moby's rendering for an amd64 container with the default capabilities", () => {
    const ours = renderDockerSeccomp(dockerDefaultSeccompProfile(), {
      caps: DOCKER_DEFAULT_CAPS,
      arch: "amd64",
      kernel: "6.1.0",
    });
    const moby = validateLinuxSeccomp(
      JSON.parse(readFileSync(seccompTestdata("docker-default-amd64.json"), "utf8")),
    );
    assert.deepEqual(ours, moby);
  });

  test("follows the capabilities: CAP_SYS_ADMIN allows mount, unshare, any clone and clone3", () => {
    const run = (caps: readonly string[], name: string, args: bigint[] = []) => {
      const compiled = compileSeccompFilter(
        renderDockerSeccomp(dockerDefaultSeccompProfile(), { caps, arch: "amd64", kernel: "6.1.0" }),
        { nativeArch: "x86_64" },
      );
      return new BpfProgram(compiled.program).run({
        nr: X86_64_SYSCALLS.get(name) as number,
        arch: AUDIT_ARCH_X86_64,
        args,
      }).ret;
    };
    const EPERM = (SECCOMP_RET_ERRNO | 1) >>> 0;
    const admin = [...DOCKER_DEFAULT_CAPS, "CAP_SYS_ADMIN"];
    assert.equal(run(DOCKER_DEFAULT_CAPS, "mount"), EPERM);
    assert.equal(run(admin, "mount"), SECCOMP_RET_ALLOW);
    assert.equal(run(admin, "unshare"), SECCOMP_RET_ALLOW);
    assert.equal(run(DOCKER_DEFAULT_CAPS, "clone", [0x10000000n]), EPERM, "CLONE_NEWUSER");
    assert.equal(run(admin, "clone", [0x10000000n]), SECCOMP_RET_ALLOW);
    assert.equal(run(admin, "clone3"), SECCOMP_RET_ALLOW);
    assert.equal(run(DOCKER_DEFAULT_CAPS, "ptrace"), SECCOMP_RET_ALLOW, "kernel >= 4.8");
    assert.equal(run(["CAP_CHOWN"], "chroot"), EPERM, "chroot needs CAP_SYS_CHROOT");
  });
});

describe("capabilities", () => {
  test("Docker's set, --cap-add/--cap-drop with ALL, --privileged", () => {
    assert.deepEqual(containerCaps(undefined, EVERY), [...DOCKER_DEFAULT_CAPS]);
    assert.deepEqual(containerCaps({ capDrop: ["ALL"], capAdd: ["CAP_KILL"] }, EVERY), ["CAP_KILL"]);
    const all = containerCaps({ capAdd: ["ALL"], capDrop: ["CAP_CHOWN"] }, EVERY);
    assert.equal(all.length, 40);
    assert.ok(!all.includes("CAP_CHOWN"));
    assert.equal(containerCaps({ privileged: true, capDrop: ["ALL"] }, EVERY).length, 41);
    assert.deepEqual(
      containerCaps({ capDrop: ["CAP_CHOWN", "CAP_MKNOD"] }, EVERY),
      DOCKER_DEFAULT_CAPS.filter((c) => c !== "CAP_CHOWN" && c !== "CAP_MKNOD"),
    );
    assert.equal(normalizeCap("sys_admin"), "CAP_SYS_ADMIN");
    assert.equal(normalizeCap("all"), "ALL");
    assert.throws(() => normalizeCap("nope"), /unknown capability: "CAP_NOPE"/);
    assert.throws(
      () =>
        containerCaps(
          { capAdd: ["CAP_SYS_RESOURCE"] },
          EVERY.filter((n) => n !== 24),
        ),
      /CAP_SYS_RESOURCE is not available/,
    );
  });

  test("a non-root user keeps only the bounding set (as moby)", () => {
    const s = spec(undefined, 1000);
    assert.deepEqual(s.process?.capabilities, { bounding: [...DOCKER_DEFAULT_CAPS] });
  });
});

describe("the spec", () => {
  test("default: Docker's caps, seccomp, no no_new_privs, masked paths, mknod rules", () => {
    const s = spec(undefined);
    assert.deepEqual(s.process?.capabilities?.effective, [...DOCKER_DEFAULT_CAPS]);
    assert.equal(s.process?.noNewPrivileges, false);
    assert.equal(s.linux?.seccomp?.defaultAction, "SCMP_ACT_ERRNO");
    assert.ok(s.linux?.maskedPaths?.includes("/sys/devices/virtual/powercap"));
    assert.deepEqual(s.linux?.resources?.devices, [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", access: "m" },
      { allow: true, type: "b", access: "m" },
    ]);
    assert.equal(s.root?.readonly, false);
  });

  test("--privileged: no seccomp, no masks, every device, /sys writable", () => {
    const s = spec({ privileged: true });
    assert.equal(s.linux?.seccomp, undefined);
    assert.deepEqual(s.linux?.maskedPaths, []);
    assert.deepEqual(s.linux?.readonlyPaths, []);
    assert.deepEqual(s.linux?.resources?.devices, [{ allow: true, access: "rwm" }]);
    assert.equal(s.linux?.devices?.[0]?.path, "/dev/kmsg");
    assert.ok(s.mounts?.find((m) => m.destination === "/sys")?.options?.includes("rw"));
  });

  test("--read-only, --security-opt, devices, groups, namespace modes", () => {
    const s = spec({
      readonlyRootfs: true,
      securityOpt: ["no-new-privileges", "seccomp=unconfined", "apparmor=x", "label=disable"],
      devices: [{ pathOnHost: "/dev/null", pathInContainer: "/dev/x", cgroupPermissions: "rw" }],
      deviceCgroupRules: ["b 7:* rmw"],
      groupAdd: ["12"],
      pidMode: "host",
      ipcMode: "host",
      utsMode: "host",
      cgroupnsMode: "private",
    });
    assert.equal(s.root?.readonly, true);
    assert.equal(s.process?.noNewPrivileges, true);
    assert.equal(s.linux?.seccomp, undefined);
    assert.deepEqual(s.linux?.devices, [
      { type: "c", path: "/dev/x", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
    assert.deepEqual(s.linux?.resources?.devices?.slice(3), [
      { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      { allow: true, type: "b", major: 7, access: "rmw" },
    ]);
    assert.deepEqual(s.process?.user.additionalGids, [12]);
    assert.deepEqual(
      s.linux?.namespaces?.map((n) => n.type),
      ["network", "mount", "cgroup"],
    );
    assert.equal(s.mounts?.find((m) => m.destination === "/dev/shm")?.source, "/dev/shm");
    assert.equal(s.hostname, undefined);
  });

  test("refusals name the problem", () => {
    assert.throws(() => parseSecurityOpts(["foo"]), /invalid --security-opt 1: "foo"/);
    assert.throws(() => parseSecurityOpts(["no-new-privileges=maybe"]), /invalid --security-opt 2/);
    assert.throws(() => parseSecurityOpts(["seccomp={"]), /seccomp profile is not JSON/);
    assert.throws(() => parseSecurity({ usernsMode: "private" }), /invalid --userns/);
    assert.throws(() => parseSecurity({ deviceCgroupRules: ["c 1:3"] }), /invalid device cgroup format/);
    assert.throws(() => parseSecurity({ pidMode: "container:../x" }), /invalid PID mode/);
    assert.throws(() => parseSecurity({ bogus: 1 }), /security\.bogus/);
    const s = defaultRuntimeSpec();
    assert.throws(
      () => applySecurity(s, parseSecurity({ utsMode: "host" }), { host, hostname: true }),
      /Conflicting options: hostname and the UTS mode/,
    );
    assert.throws(
      () =>
        applySecurity(s, parseSecurity({ securityOpt: ["apparmor=docker-default"] }), {
          host: { ...host, appArmor: true },
        }),
      /does not apply AppArmor profiles/,
    );
    assert.throws(
      () => applySecurity(s, parseSecurity({ groupAdd: ["wheel"] }), { host }),
      /Unable to find group wheel/,
    );
  });
});

describe("--privileged on a daemon without every capability", () => {
  test("a create warning names what the bounding set lacks (podman's rule, not Docker's failure)", () => {
    const sec = parseSecurity({ privileged: true });
    assert.deepEqual(privilegedWarnings(sec, { boundingSet: EVERY, lastCap: 40 }), []);
    assert.deepEqual(privilegedWarnings(parseSecurity({}), { boundingSet: [0], lastCap: 40 }), []);
    const w = privilegedWarnings(sec, {
      boundingSet: EVERY.filter((n) => n !== 24 && n !== 21),
      lastCap: 40,
    });
    assert.equal(w.length, 1);
    assert.match(w[0]!, /lacks CAP_SYS_ADMIN, CAP_SYS_RESOURCE: the container gets every other capability/);
  });
});

test("the default seccomp profile is rendered once per capability set: shared, frozen, equal to a fresh render", () => {
  const a = spec({});
  const b = spec({ capDrop: ["NET_RAW"] });
  const again = spec({});
  assert.equal(again.linux?.seccomp, a.linux?.seccomp, "the same capabilities share one rendering");
  assert.notEqual(b.linux?.seccomp, a.linux?.seccomp);
  assert.ok(Object.isFrozen(a.linux?.seccomp?.syscalls));
  for (const [s, caps] of [
    [a, DOCKER_DEFAULT_CAPS],
    [b, DOCKER_DEFAULT_CAPS.filter((c) => c !== "CAP_NET_RAW")],
  ] as const) {
    assert.deepEqual(
      s.linux?.seccomp,
      renderDockerSeccomp(dockerDefaultSeccompProfile(), { caps, arch: host.arch, kernel: host.kernel }),
    );
  }
  // A profile of the user's own is rendered for its container alone.
  const own = spec({ securityOpt: [`seccomp=${JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW" })}`] });
  assert.equal(Object.isFrozen(own.linux?.seccomp), false);
});
