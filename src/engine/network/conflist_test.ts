import assert from "node:assert/strict";
import { test } from "node:test";
import type { CniResult } from "./cni-result.js";
import {
  attachmentConflist,
  cniName,
  definitionFromConflist,
  masqueradeRule,
  type NetworkDefinition,
  networkConflist,
  pluginInput,
} from "./conflist.js";

const DEF: NetworkDefinition = {
  name: "backend",
  id: "0123456789ab".repeat(5).slice(0, 64).padEnd(64, "0"),
  bridge: "br-0123456789ab",
  subnet: "172.18.0.0/16",
  gateway: "172.18.0.1",
  created: "2026-01-01T00:00:00.000Z",
  labels: { team: "net" },
};

test("a network's conflist chains bridge, portmap and firewall and round-trips", () => {
  const list = networkConflist(DEF, "/var/lib/pier/networks/ipam");
  assert.equal(list.cniVersion, "1.0.0");
  assert.equal(list.name, "pier-0123456789ab");
  assert.deepEqual(
    list.plugins.map((p) => p.type),
    ["bridge", "portmap", "firewall"],
  );
  const bridge = list.plugins[0]!;
  assert.equal(bridge.bridge, "br-0123456789ab");
  assert.equal(bridge.isGateway, true);
  assert.deepEqual(bridge.ipam, {
    type: "host-local",
    ranges: [[{ subnet: "172.18.0.0/16", gateway: "172.18.0.1" }]],
    routes: [{ dst: "0.0.0.0/0" }],
    dataDir: "/var/lib/pier/networks/ipam",
  });
  assert.deepEqual(list.plugins[1]!.capabilities, { portMappings: true });
  assert.deepEqual(definitionFromConflist(JSON.parse(JSON.stringify(list)), "x.conflist"), DEF);
  assert.equal(cniName({ ...DEF, name: "bridge" }), "pier");
  assert.equal(networkConflist({ ...DEF, name: "bridge" }).plugins[0]!.ipam instanceof Object, true);
  assert.equal(
    (networkConflist({ ...DEF, name: "bridge" }).plugins[0]!.ipam as Record<string, unknown>).dataDir,
    undefined,
  );
});

test("foreign or broken conflists are refused", () => {
  assert.throws(() => definitionFromConflist(null, "a.conflist"), /a\.conflist: not a JSON object/);
  assert.throws(() => definitionFromConflist({ plugins: [] }, "a.conflist"), /no pier metadata/);
  const list = networkConflist(DEF);
  list.plugins = list.plugins.filter((p) => p.type !== "bridge");
  assert.throws(() => definitionFromConflist(list, "a.conflist"), /no bridge plugin/);
});

test("plugin stdin is built as libcni builds it", () => {
  const list = networkConflist(DEF);
  const prev: CniResult = { cniVersion: "1.0.0", interfaces: [], ips: [], routes: [], dns: {} };
  const ports = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] };
  const bridge = pluginInput(list, 0, undefined, ports);
  assert.equal(bridge.name, list.name);
  assert.equal(bridge.cniVersion, "1.0.0");
  assert.equal(bridge.runtimeConfig, undefined, "the bridge did not ask for portMappings");
  assert.equal(bridge.prevResult, undefined);
  const portmap = pluginInput(list, 1, prev, ports);
  assert.deepEqual(portmap.runtimeConfig, ports);
  assert.deepEqual(portmap.prevResult, prev);
  assert.throws(() => pluginInput(list, 9), /has no plugin 9/);
});

test("a container gets only the plugins it needs; masquerading is one rule per network", () => {
  const list = networkConflist(DEF);
  const types = (o: { publishes: boolean; forwardAccepts: boolean }) =>
    attachmentConflist(list, o).plugins.map((p) => p.type);
  assert.deepEqual(types({ publishes: false, forwardAccepts: true }), ["bridge"]);
  assert.deepEqual(types({ publishes: true, forwardAccepts: true }), ["bridge", "portmap"]);
  assert.deepEqual(types({ publishes: false, forwardAccepts: false }), ["bridge", "firewall"]);
  const fixed = attachmentConflist(list, { publishes: false, forwardAccepts: true, staticIp: true });
  assert.deepEqual(fixed.plugins[0]!.capabilities, { ips: true });
  assert.deepEqual(pluginInput(fixed, 0, undefined, { ips: ["172.18.0.9/16"] }).runtimeConfig, {
    ips: ["172.18.0.9/16"],
  });
  const restored = attachmentConflist(list, {
    publishes: false,
    forwardAccepts: true,
    staticIp: true,
    staticMac: true,
  });
  assert.deepEqual(restored.plugins[0]!.capabilities, { ips: true, mac: true });
  assert.equal(list.plugins[0]!.ipMasq, false);
  assert.deepEqual(masqueradeRule(DEF), [
    "-s",
    "172.18.0.0/16",
    "!",
    "-o",
    "br-0123456789ab",
    "-m",
    "comment",
    "--comment",
    "pier bridge br-0123456789ab",
    "-j",
    "MASQUERADE",
  ]);
});
