/**
 * The same table of bundles run by `runc` (Debian) and by pier-runtime must give the same
 * observable results from inside the container.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { requireTool, runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";
let runc = "";

before(async () => {
  runc = requireTool("runc", "runc");
  tmp = await makeTempDir("pier-compat-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
  mkdirSync(join(tmp, "shared"));
  writeFileSync(join(tmp, "shared", "file"), "shared\n");
});

after(async () => {
  await removeTempDir(tmp);
});

const FACTS =
  "id; hostname; umask; pwd; env | sort; grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; ulimit -a; " +
  "cat /proc/self/uid_map /proc/self/gid_map; awk '{print $1, $2, $3, $4}' /proc/mounts; " +
  "ls -la /dev | awk 'NR>1 {print $1, $3, $4, $5, $6, $NF}'; cat /proc/sys/kernel/domainname";

const CASES: { name: string; script?: string; mutate?: (s: Spec) => void; args?: string[] }[] = [
  { name: "default spec" },
  {
    name: "user namespace",
    mutate: (s) => {
      s.linux?.namespaces?.push({ type: "user" });
      if (s.linux) {
        s.linux.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
        s.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
      }
    },
  },
  {
    name: "user, groups, umask, cwd, env, capabilities, rlimits",
    mutate: (s) => {
      const p = s.process;
      if (!p) return;
      p.user = { uid: 1000, gid: 1000, additionalGids: [10], umask: 0o027 };
      p.cwd = "/home/user";
      p.env?.push("A=b c");
      const caps = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID"];
      p.capabilities = {
        bounding: [...caps, "CAP_KILL"],
        effective: caps,
        permitted: caps,
        inheritable: caps,
        ambient: ["CAP_CHOWN"],
      };
      p.rlimits = [
        { type: "RLIMIT_NOFILE", soft: 512, hard: 1000 },
        { type: "RLIMIT_NPROC", soft: 100, hard: 200 },
        { type: "RLIMIT_CORE", soft: 0, hard: 0 },
      ];
      p.noNewPrivileges = false;
    },
  },
  {
    name: "masked and read-only paths, writes refused",
    script:
      "cat /etc/passwd | wc -c; echo x > /etc/group && echo wrote-group; touch /proc/acpi/x && echo wrote-acpi; echo 1 > /proc/sys/vm/overcommit_memory && echo wrote-sys; touch /x && echo wrote-root; true",
    mutate: (s) => {
      s.linux?.maskedPaths?.push("/etc/passwd");
      s.linux?.readonlyPaths?.push("/etc/group");
    },
  },
  {
    // runc 1.1 ignores `domainname` (pier sets it, as the spec says): not compared here.
    name: "mounts, sysctl, hostname, no read-only root",
    mutate: (s) => {
      s.mounts?.push(
        { destination: "/shared", source: join(tmp, "shared"), options: ["rbind", "ro"] },
        { destination: "/etc/file", source: join(tmp, "shared", "file"), options: ["bind", "nosuid"] },
        {
          destination: "/scratch",
          type: "tmpfs",
          source: "tmpfs",
          options: ["nodev", "noexec", "size=2m", "mode=1777"],
        },
      );
      s.hostname = "compat";
      if (s.root) s.root.readonly = false;
      if (s.linux) s.linux.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1" };
    },
  },
  { name: "exit status", script: "exit 3" },
  { name: "--no-pivot", args: ["--no-pivot"] },
];

for (const [i, c] of CASES.entries()) {
  test(`runc and pier-runtime agree: ${c.name}`, async () => {
    const dir = join(tmp, `case${i}`);
    await writeBundle(dir, scriptSpec(c.script ?? FACTS, c.mutate), rootfs);
    const id = `compat${i}-${process.pid}`;
    const theirs = runtimeCmd(runc, [
      "--root",
      join(tmp, "runc-state"),
      "run",
      ...(c.args ?? []),
      "--bundle",
      dir,
      id,
    ]);
    const ours = runtimeCmd("pier", [
      "--root",
      join(tmp, "pier-state"),
      "run",
      ...(c.args ?? []),
      "--bundle",
      dir,
      id,
    ]);
    assert.equal(theirs.status, c.script === "exit 3" ? 3 : 0, `runc failed: ${theirs.stderr}`);
    const a = ours.stdout.split("\n");
    const b = theirs.stdout.split("\n");
    const diff = b.flatMap((line, k) =>
      a[k] === line ? [] : [`line ${k + 1}: runc ${JSON.stringify(line)} pier ${JSON.stringify(a[k])}`],
    );
    assert.equal(ours.stdout, theirs.stdout, diff.slice(0, 5).join("\n"));
    assert.equal(ours.status, theirs.status, ours.stderr);
    assert.equal(ours.stderr.replace(/\s+/g, " "), theirs.stderr.replace(/\s+/g, " "));
  });
}
