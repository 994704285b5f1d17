/**
 * Docker's security settings through the stock docker CLI and through `pier` against a test
 * pierd, checked from inside real containers (/proc/self/status, writes, device nodes,
 * namespaces), and the same flags under podman with runc where podman has them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CAPABILITIES } from "../../runtime/plan/linux-constants.js";
import { docker, outputFields, pier, useTestDaemon } from "../../testing/engine.js";
import { usePodmanWithRunc } from "../../testing/runtime-podman.js";
import { DOCKER_DEFAULT_CAPS } from "../containers/security.js";

/** The test pierd and its busybox registry, the image pulled. */
const fx = useTestDaemon({ pull: true });

const work = mkdtempSync(join(tmpdir(), "pier-security-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** The `Name:\tvalue` fields of /proc/self/status the tests read. */
const STATUS = "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs|Groups):' /proc/self/status";

function mask(caps: readonly string[]): string {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(CAPABILITIES[c] as number);
  return m.toString(16).padStart(16, "0");
}

const run = (args: string[], script: string) =>
  docker(fx.d, ["run", "--rm", ...args, fx.reg.image, "sh", "-c", script]);

describe("the default container (docker run)", () => {
  test("has Docker's 14 capabilities, seccomp filter mode 2 and no NoNewPrivs", async () => {
    const s = outputFields(await run([], STATUS));
    assert.equal(s.CapEff, "00000000a80425fb", "Docker's default CapEff");
    assert.equal(s.CapEff, mask(DOCKER_DEFAULT_CAPS));
    assert.equal(s.CapBnd, s.CapEff);
    assert.equal(s.Seccomp, "2");
    assert.equal(s.NoNewPrivs, "0");
    const masked = await run([], "grep -c ' /proc/keys ' /proc/self/mounts");
    assert.equal(masked.stdout, "1\n", "Docker's masked paths");
  });

  test("root may chown and mknod (CAP_CHOWN, CAP_MKNOD, `c *:* m`), not mount (seccomp, no CAP_SYS_ADMIN)", async () => {
    const r = await run(
      [],
      "mknod /tmp/n c 1 3 && chown 1:1 /tmp/n && echo ok; mkdir /m; mount -t tmpfs t /m; echo mount=$?",
    );
    assert.match(r.stdout, /^ok\nmount=[1-9]/, r.stderr);
  });

  test("--read-only: the root refuses writes; /dev/shm and a --tmpfs stay writable; /etc/hosts follows the root", async () => {
    const r = await run(
      ["--read-only", "--tmpfs", "/tmp"],
      "touch /x 2>&1; touch /dev/shm/x && touch /tmp/x && echo writable; (echo >> /etc/hosts) 2>&1",
    );
    assert.match(
      r.stdout,
      /touch: \/x: Read-only file system\nwritable\n.*Read-only file system/,
      r.stderr + r.stdout,
    );
  });
});

describe("capabilities", () => {
  test("--cap-drop ALL, --cap-add, ALL with a drop; a dropped CAP_CHOWN fails chown", async () => {
    assert.equal(outputFields(await run(["--cap-drop", "ALL"], STATUS)).CapEff, "0000000000000000");
    assert.equal(
      outputFields(
        await run(["--cap-drop", "ALL", "--cap-add", "sys_admin", "--cap-add", "CAP_KILL"], STATUS),
      ).CapEff,
      mask(["CAP_SYS_ADMIN", "CAP_KILL"]),
    );
    const all = outputFields(await run(["--cap-add", "ALL", "--cap-drop", "CHOWN"], STATUS));
    assert.equal(BigInt(`0x${all.CapEff}`) & 1n, 0n, "CAP_CHOWN dropped");
    assert.ok(BigInt(`0x${all.CapEff}`) & (1n << 21n), "CAP_SYS_ADMIN there");
    const r = await run(["--cap-drop", "CHOWN"], "touch /x; chown 1 /x");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Operation not permitted/);
  });

  test("--cap-add SYS_ADMIN also lets the default seccomp profile allow mount (its includes.caps)", async () => {
    const r = await run(["--cap-add", "SYS_ADMIN"], "mkdir /m && mount -t tmpfs t /m && echo mounted");
    assert.equal(r.stdout, "mounted\n", r.stderr);
  });

  test("an unknown capability is refused naming it", async () => {
    const r = await run(["--cap-add", "FOO"], "true");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown capability: "CAP_FOO"/);
  });
});

describe("--privileged", () => {
  test("every capability pierd holds, no seccomp, host devices, writable /sys, no masked paths", async () => {
    const own = outputFields({
      status: 0,
      signal: null,
      stdout: readFileSync("/proc/self/status", "utf8"),
      stderr: "",
    });
    const r = await run(
      ["--privileged"],
      `${STATUS}; echo "devices: $(ls /dev | wc -l)"; echo "masked: $(grep -c ' /proc/acpi \\| /proc/keys ' /proc/self/mounts)"; grep ' /sys sysfs' /proc/self/mounts`,
    );
    const s = outputFields(r);
    assert.equal(s.CapEff, own.CapBnd);
    assert.equal(s.Seccomp, "0");
    assert.ok(Number(s.devices) > 20, `${s.devices} entries in /dev`);
    assert.match(r.stdout, / \/sys sysfs rw,/);
    assert.equal(s.masked, "0", "nothing masked");
  });
});

describe("--security-opt", () => {
  test("seccomp=unconfined: no filter; seccomp=PROFILE.json: the profile is compiled and applied", async () => {
    assert.equal(outputFields(await run(["--security-opt", "seccomp=unconfined"], STATUS)).Seccomp, "0");
    const profile = join(work, "no-mkdir.json");
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
      }),
    );
    const r = await run(
      ["--security-opt", `seccomp=${profile}`],
      "grep Seccomp: /proc/self/status; mkdir /y",
    );
    assert.match(r.stdout, /Seccomp:\s+2/);
    assert.match(r.stderr, /Permission denied/, "EACCES (13) from the profile");
  });

  test("no-new-privileges sets NoNewPrivs; apparmor= and label= are accepted on a host without them", async () => {
    assert.equal(outputFields(await run(["--security-opt", "no-new-privileges"], STATUS)).NoNewPrivs, "1");
    assert.equal(
      outputFields(await run(["--security-opt", "no-new-privileges=false"], STATUS)).NoNewPrivs,
      "0",
    );
    const r = await run(
      ["--security-opt", "apparmor=unconfined", "--security-opt", "label=disable"],
      "echo ok",
    );
    assert.equal(r.stdout, "ok\n", r.stderr);
    const bad = await run(["--security-opt", "foo=bar"], "true");
    assert.match(bad.stderr, /invalid --security-opt 2: "foo=bar"/);
    const badProfile = await run(["--security-opt", `seccomp=${join(work, "missing.json")}`], "true");
    assert.notEqual(badProfile.status, 0);
  });
});

describe("devices and groups", () => {
  test("--device maps a host node; --device-cgroup-rule allows opening a node made with mknod", async () => {
    const r = await run(["--device", "/dev/null:/dev/mynull"], "echo hi > /dev/mynull && ls -l /dev/mynull");
    assert.match(r.stdout, /^c.* 1,\s+3 .*\/dev\/mynull/, r.stderr);
    // loop0 (b 7:0) is not among the nodes every container may open.
    const script = "mknod /tmp/l b 7 0 && dd if=/tmp/l of=/dev/null count=0 2>&1; echo rc=$?";
    const denied = await run([], script);
    assert.match(denied.stdout, /Operation not permitted/);
    const allowed = await run(["--device-cgroup-rule", "b 7:* rmw"], script);
    assert.doesNotMatch(allowed.stdout, /Operation not permitted/, allowed.stdout);
    const bad = await run(["--device-cgroup-rule", "x 1:3 rwm"], "true");
    assert.match(bad.stderr, /invalid device cgroup format 'x 1:3 rwm'/);
  });

  test("--group-add adds supplementary groups; an unknown name is refused", async () => {
    assert.match(
      outputFields(await run(["--group-add", "123", "--group-add", "456"], STATUS)).Groups ?? "",
      /\b123 456\b/,
    );
    const r = await run(["--group-add", "nosuchgroup"], "true");
    assert.match(r.stderr, /Unable to find group nosuchgroup/);
  });
});

describe("namespace modes", () => {
  test("--pid host, --ipc host, --uts host, --cgroupns private, --userns host", async () => {
    const pid = await run(["--pid", "host"], "readlink /proc/self/ns/pid");
    assert.equal(pid.stdout.trim(), readlinkSync("/proc/self/ns/pid"), pid.stderr);
    const own = await run([], "readlink /proc/self/ns/pid");
    assert.notEqual(own.stdout.trim(), readlinkSync("/proc/self/ns/pid"));
    const ipc = await run(["--ipc", "host"], "readlink /proc/self/ns/ipc");
    assert.equal(ipc.stdout.trim(), readlinkSync("/proc/self/ns/ipc"));
    const uts = await run(["--uts", "host"], "hostname");
    assert.equal(uts.stdout.trim(), hostname());
    const cg = await run(
      ["--cgroupns", "private"],
      "readlink /proc/self/ns/cgroup; grep memory /proc/self/cgroup",
    );
    assert.notEqual(cg.stdout.split("\n")[0], readlinkSync("/proc/self/ns/cgroup"));
    assert.match(cg.stdout, /:memory:\/\n/, "the container's cgroup is its root");
    assert.equal((await run(["--userns", "host"], "echo ok")).stdout, "ok\n");
  });

  test("--pid container:NAME and --ipc container:NAME join a running container's namespaces", async () => {
    // Its IPC namespace is joinable only when shareable (Docker's default is private).
    const peer = await docker(fx.d, [
      "run",
      "-d",
      "--name",
      "ns-peer",
      "--ipc",
      "shareable",
      fx.reg.image,
      "sleep",
      "300",
    ]);
    assert.equal(peer.status, 0, peer.stderr);
    try {
      const r = await run(
        ["--pid", "container:ns-peer", "--ipc", "container:ns-peer"],
        "ps -o comm | grep -c sleep",
      );
      assert.equal(r.stdout.trim(), "1", r.stderr);
      const a = await docker(fx.d, ["exec", "ns-peer", "readlink", "/proc/self/ns/ipc"]);
      const b = await run(["--ipc", "container:ns-peer"], "readlink /proc/self/ns/ipc");
      assert.equal(b.stdout, a.stdout);
    } finally {
      await docker(fx.d, ["rm", "-f", "ns-peer"]);
    }
  });
});

describe("pier run takes the same flags", () => {
  test("capabilities, read-only, no-new-privileges, seccomp=unconfined, devices", async () => {
    const p = await pier(fx.d, [
      "run",
      "--rm",
      "--cap-drop",
      "ALL",
      "--cap-add",
      "NET_ADMIN",
      "--read-only",
      "--security-opt",
      "no-new-privileges",
      "--security-opt",
      "seccomp=unconfined",
      "--device",
      "/dev/null:/dev/mynull",
      "--group-add",
      "77",
      fx.reg.image,
      "sh",
      "-c",
      `${STATUS}; touch /x 2>&1; echo hi > /dev/mynull && echo dev-ok`,
    ]);
    const s = outputFields(p);
    assert.equal(s.CapEff, mask(["CAP_NET_ADMIN"]));
    assert.equal(s.NoNewPrivs, "1");
    assert.equal(s.Seccomp, "0");
    assert.match(s.Groups ?? "", /\b77\b/);
    assert.match(p.stdout, /Read-only file system\ndev-ok/);
    const def = outputFields(await pier(fx.d, ["run", "--rm", fx.reg.image, "sh", "-c", STATUS]));
    assert.equal(def.CapEff, "00000000a80425fb");
    assert.equal(def.Seccomp, "2");
    assert.equal(def.NoNewPrivs, "0");
    const bad = await pier(fx.d, ["run", "--rm", "--cap-add", "NOPE", fx.reg.image, "true"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /unknown capability: "CAP_NOPE"/);
  });
});

describe("the same flags under podman with runc", () => {
  const podman = usePodmanWithRunc();

  test("give the same CapEff, Seccomp and NoNewPrivs as pierd", async () => {
    for (const args of [
      ["--cap-drop", "ALL", "--cap-add", "CHOWN", "--cap-add", "NET_RAW"],
      ["--cap-drop", "ALL", "--cap-add", "SYS_ADMIN", "--security-opt", "no-new-privileges"],
      ["--security-opt", "seccomp=unconfined", "--cap-drop", "ALL"],
    ]) {
      const ours = outputFields(await run(args, STATUS));
      const theirs = outputFields(podman.run(args, STATUS));
      for (const k of ["CapEff", "Seccomp", "NoNewPrivs"])
        assert.equal(ours[k], theirs[k], `${k} with ${args.join(" ")}`);
    }
  });
});
