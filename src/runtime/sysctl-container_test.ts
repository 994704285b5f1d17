/**
 * `linux.sysctl` with real containers, run by runc and by pier-runtime: host-global keys used to
 * be written to the host's /proc/sys. Now both refuse them at create (and the host's value stays),
 * refuse namespaced keys when the container shares that namespace with the host, and apply the
 * namespaced ones inside the container only.
 */
import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Spec } from "../oci/runtime-spec/config.js";
import { makeTempDir, removeTempDir, writeBusyboxRootfs } from "../testing/busybox.js";
import { requireTool, runtimeCmd, scriptSpec, writeBundle } from "../testing/runtime.js";

let tmp = "";
let rootfs = "";
let runc = "";
let n = 0;

before(async () => {
  runc = requireTool("runc", "runc");
  tmp = await makeTempDir("pier-sysctl-");
  chmodSync(tmp, 0o755);
  rootfs = await writeBusyboxRootfs(join(tmp, "rootfs"));
});

after(async () => {
  await removeTempDir(tmp);
});

const hostValue = (path: string) => readFileSync(`/proc/sys/${path}`, "utf8");

/** Runs `script` with `sysctl` set (and the namespaces `mutate` leaves) with runc and pier. */
async function runBoth(
  script: string,
  sysctl: Record<string, string>,
  mutate?: (s: Spec) => void,
  runtimes: readonly string[] = [runc, "pier"],
) {
  n += 1;
  const spec = scriptSpec(script, (s) => {
    if (s.linux) s.linux.sysctl = sysctl;
    mutate?.(s);
  });
  const dir = await writeBundle(join(tmp, `b${n}`), spec, rootfs);
  const id = `sysctl${n}-${process.pid}`;
  const run = (rt: string, state: string) =>
    runtimes.includes(rt)
      ? runtimeCmd(rt, ["--root", join(tmp, state), "run", "--bundle", dir, id])
      : undefined;
  return { runc: run(runc, "runc-state"), pier: run("pier", "pier-state") as ReturnType<typeof runtimeCmd> };
}

/** The error message of a failed run, its quotes unescaped (runc's log format escapes them). */
const said = (r: { stderr: string }) => r.stderr.replaceAll('\\"', '"');

const dropNamespace = (type: string) => (s: Spec) => {
  if (s.linux) s.linux.namespaces = s.linux.namespaces?.filter((ns) => ns.type !== type);
};

test("a host-global sysctl is refused at create, by runc and pier, and the host's value stays", async () => {
  const key = "kernel/printk_ratelimit_burst";
  const before = hostValue(key);
  const other = String(Number(before.trim()) + 1);
  try {
    const r = await runBoth("echo ran", { "kernel.printk_ratelimit_burst": other });
    assert.notEqual(r.runc?.status, 0);
    assert.equal(r.pier.status, 1);
    assert.equal(r.pier.stdout, "");
    assert.match(
      said(r.pier),
      /linux\.sysctl: sysctl "kernel\.printk_ratelimit_burst" is not in a separate kernel namespace/,
    );
    assert.equal(hostValue(key), before);
  } finally {
    // Had the attack worked, the host is put back.
    if (hostValue(key) !== before) writeFileSync(`/proc/sys/${key}`, before);
  }
});

test("namespaced sysctls without their namespace of the container's own are refused, as runc does", async () => {
  const cases: [Record<string, string>, ((s: Spec) => void) | undefined, RegExp][] = [
    [
      { "kernel.shmmax": "100000" },
      dropNamespace("ipc"),
      /"kernel\.shmmax" is not allowed in the host's ipc/,
    ],
    [
      { "fs.mqueue.msg_max": "20" },
      dropNamespace("ipc"),
      /"fs\.mqueue\.msg_max" is not allowed in the host's ipc/,
    ],
    [
      { "net.ipv4.ip_forward": "0" },
      dropNamespace("network"),
      /"net\.ipv4\.ip_forward" is not allowed in the host's network/,
    ],
    [
      // The runtime's own network namespace joined by path is the host's (runc's isHostNetNS).
      { "net.ipv4.ip_forward": "0" },
      (s) => {
        const net = s.linux?.namespaces?.find((ns) => ns.type === "network");
        if (net) net.path = `/proc/${process.pid}/ns/net`;
      },
      /"net\.ipv4\.ip_forward" is not allowed in the host's network/,
    ],
    [
      { "kernel.domainname": "d" },
      (s) => {
        dropNamespace("uts")(s);
        delete s.hostname;
      },
      /"kernel\.domainname" is not in a separate kernel namespace/,
    ],
    [
      { "kernel.hostname": "h" },
      undefined,
      /"kernel\.hostname" is not allowed as it conflicts with the OCI "hostname" field/,
    ],
  ];
  const watched = ["kernel/shmmax", "fs/mqueue/msg_max", "net/ipv4/ip_forward", "kernel/domainname"];
  const host = watched.map(hostValue);
  for (const [sysctl, mutate, re] of cases) {
    const r = await runBoth("echo ran", sysctl, mutate);
    assert.notEqual(r.runc?.status, 0, `runc accepted ${JSON.stringify(sysctl)}`);
    assert.equal(r.pier.status, 1, `pier accepted ${JSON.stringify(sysctl)}`);
    assert.equal(r.pier.stdout, "");
    assert.match(said(r.pier), re);
  }
  assert.deepEqual(watched.map(hostValue), host, "the host's values did not change");
});

test("namespaced sysctls are applied inside the container only, dotted or slashed, as runc does", async () => {
  // Values the host does not have, so that reading them back proves the write.
  const forward = hostValue("net/ipv4/ip_forward").trim() === "1" ? "0" : "1";
  const rpFilter = hostValue("net/ipv4/conf/all/rp_filter").trim() === "2" ? "1" : "2";
  const sysctl = {
    "kernel.shmmax": "100000",
    "kernel.sem": "250 32000 32 129",
    "fs.mqueue.msg_max": "20",
    "net.ipv4.ip_forward": forward,
    "net/ipv4/conf/all/rp_filter": rpFilter,
    "kernel.domainname": "example.test",
  };
  const paths = [
    "kernel/shmmax",
    "kernel/sem",
    "fs/mqueue/msg_max",
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/rp_filter",
    "kernel/domainname",
  ];
  const host = paths.map(hostValue);
  const r = await runBoth(paths.map((p) => `cat /proc/sys/${p}`).join("; "), sysctl);
  assert.equal(r.runc?.status, 0, r.runc?.stderr);
  assert.equal(r.pier.status, 0, r.pier.stderr);
  assert.equal(r.pier.stdout, `100000\n250\t32000\t32\t129\n20\n${forward}\n${rpFilter}\nexample.test\n`);
  assert.equal(r.pier.stdout, r.runc?.stdout);
  assert.deepEqual(paths.map(hostValue), host, "the host's values did not change");
});

test("sysctl names with `..` or other tricks are refused before anything runs", async () => {
  for (const key of ["net/../kernel/core_pattern", "net.//.kernel.core_pattern", "net.ipv4..ip_forward"]) {
    // Only pier: these are attempts at writing outside /proc/sys/net.
    const r = await runBoth("echo ran", { [key]: "x" }, undefined, ["pier"]);
    assert.equal(r.pier.status, 1);
    assert.match(
      said(r.pier),
      new RegExp(`linux\\.sysctl: invalid sysctl name ${JSON.stringify(key).replace(/[.]/g, "\\.")}`),
    );
  }
});
