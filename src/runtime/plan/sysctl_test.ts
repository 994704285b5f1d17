import assert from "node:assert/strict";
import { test } from "node:test";
import type { Namespace } from "../../oci/runtime-spec/config.js";
import { planSysctls, sysctlName } from "./sysctl.js";

const ALL: Namespace[] = [{ type: "ipc" }, { type: "uts" }, { type: "network" }, { type: "mount" }];
const without = (type: string) => ALL.filter((n) => n.type !== type);

function refused(
  sysctl: Record<string, string>,
  namespaces: Namespace[],
  re: RegExp,
  isHost?: () => boolean,
) {
  assert.throws(
    () => planSysctls(sysctl, namespaces, isHost),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "INVALID_CONFIG");
      assert.match(err.message, re);
      return true;
    },
  );
}

test("names: dotted and slashed forms (sysctl(8), runc) map to one file below /proc/sys", () => {
  assert.deepEqual(sysctlName("net.ipv4.ip_forward"), {
    name: "net.ipv4.ip_forward",
    path: "net/ipv4/ip_forward",
  });
  assert.deepEqual(sysctlName("net/ipv4/ip_forward"), {
    name: "net.ipv4.ip_forward",
    path: "net/ipv4/ip_forward",
  });
  // A dot inside a name (a VLAN interface): `/` in the dotted form, `.` in the slashed one.
  const vlan = { name: "net.ipv4.conf.eth0/100.rp_filter", path: "net/ipv4/conf/eth0.100/rp_filter" };
  assert.deepEqual(sysctlName("net.ipv4.conf.eth0/100.rp_filter"), vlan);
  assert.deepEqual(sysctlName("net/ipv4/conf/eth0.100/rp_filter"), vlan);
});

test("names that would leave /proc/sys or are not plain paths are refused", () => {
  for (const key of [
    "net/../kernel/core_pattern",
    "net.//.kernel.core_pattern", // dotted form: `//` is the name `..`
    "net..ipv4",
    ".net.ipv4",
    "net.ipv4.",
    "net/./ipv4",
    "",
    "net.ipv4\0x",
  ]) {
    refused({ [key]: "1" }, ALL, /^linux\.sysctl: invalid sysctl name/);
  }
});

test("host-global keys are refused whatever the namespaces (runc's message)", () => {
  for (const key of [
    "kernel.printk_ratelimit_burst",
    "kernel.core_pattern",
    "vm.overcommit_memory",
    "fs.file-max",
  ])
    refused({ [key]: "1" }, ALL, new RegExp(`sysctl "${key}" is not in a separate kernel namespace`));
});

test("IPC keys need an ipc namespace of the container's own", () => {
  const ipc = { "kernel.shmmax": "1", "kernel.sem": "250 32000 32 129", "fs.mqueue.msg_max": "20" };
  assert.deepEqual(
    planSysctls(ipc, ALL).map((w) => w.path),
    ["kernel/shmmax", "kernel/sem", "fs/mqueue/msg_max"],
  );
  refused(
    { "kernel.shmmax": "1" },
    without("ipc"),
    /"kernel.shmmax" is not allowed in the host's ipc namespace/,
  );
  refused(
    { "fs.mqueue.msg_max": "1" },
    without("ipc"),
    /"fs.mqueue.msg_max" is not allowed in the host's ipc/,
  );
  // Joined by path: fine unless that path is the runtime's own namespace (stricter than runc).
  const joined: Namespace[] = [...without("ipc"), { type: "ipc", path: "/proc/42/ns/ipc" }];
  assert.equal(planSysctls({ "kernel.shmmax": "1" }, joined, () => false).length, 1);
  refused({ "kernel.shmmax": "1" }, joined, /host's ipc namespace/, () => true);
  // Other kernel.* keys are not in the ipc namespace.
  refused({ "kernel.msgmax_bogus": "1" }, ALL, /not in a separate kernel namespace/);
});

test("net.* needs a network namespace that is not the runtime's own", () => {
  assert.equal(planSysctls({ "net.ipv4.ip_forward": "1" }, ALL)[0]?.path, "net/ipv4/ip_forward");
  refused(
    { "net.ipv4.ip_forward": "1" },
    without("network"),
    /"net.ipv4.ip_forward" is not allowed in the host's network/,
  );
  const joined: Namespace[] = [...without("network"), { type: "network", path: "/proc/1/ns/net" }];
  refused({ "net.ipv4.ip_forward": "1" }, joined, /host's network namespace/, () => true);
  assert.equal(planSysctls({ "net.ipv4.ip_forward": "1" }, joined, () => false).length, 1);
});

test("uts: kernel.domainname with a uts namespace; kernel.hostname conflicts with `hostname`", () => {
  assert.equal(planSysctls({ "kernel.domainname": "d" }, ALL)[0]?.path, "kernel/domainname");
  refused({ "kernel.domainname": "d" }, without("uts"), /not in a separate kernel namespace/);
  refused(
    { "kernel.hostname": "h" },
    ALL,
    /"kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field/,
  );
  refused({ "kernel.hostname": "h" }, without("uts"), /not in a separate kernel namespace/);
});
