import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRuntimeSpec } from "../../oci/runtime-spec/default-spec.js";
import { applyNetworkSpec } from "./spec.js";

const files = { hosts: "/c/hosts", resolvConf: "/c/resolv.conf", hostname: "/c/hostname" };

test("a container joins pierd's namespace and gets its /etc files; its capabilities stay", () => {
  const spec = defaultRuntimeSpec();
  const caps = structuredClone(spec.process?.capabilities);
  spec.mounts = [...(spec.mounts ?? []), { destination: "/etc/resolv.conf", type: "bind", source: "/mine" }];
  applyNetworkSpec(spec, { netns: "/run/pier/netns/abc", files });
  const net = spec.linux?.namespaces?.filter((n) => n.type === "network");
  assert.deepEqual(net, [{ type: "network", path: "/run/pier/netns/abc" }]);
  assert.ok(spec.linux?.namespaces?.some((n) => n.type === "uts"));
  const dest = (d: string) => spec.mounts?.filter((m) => m.destination === d) ?? [];
  assert.equal(dest("/etc/hosts")[0]?.source, "/c/hosts");
  assert.equal(dest("/etc/hostname")[0]?.source, "/c/hostname");
  assert.deepEqual(
    dest("/etc/resolv.conf").map((m) => m.source),
    ["/mine"],
    "the user's own mount wins",
  );
  assert.equal(spec.linux?.sysctl?.["net.ipv4.ping_group_range"], "0 2147483647");
  // CAP_NET_RAW is Docker's default set's (applySecurity's), not the network's.
  assert.deepEqual(spec.process?.capabilities, caps);
});

test("the host network drops the network and UTS namespaces and the hostname", () => {
  const spec = defaultRuntimeSpec();
  spec.hostname = "x";
  applyNetworkSpec(spec, { files: { hosts: "/c/hosts", resolvConf: "/c/resolv.conf" } });
  assert.ok(!spec.linux?.namespaces?.some((n) => n.type === "network" || n.type === "uts"));
  assert.equal(spec.hostname, undefined);
  assert.ok(!spec.mounts?.some((m) => m.destination === "/etc/hostname"));
});
