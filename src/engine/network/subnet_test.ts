import assert from "node:assert/strict";
import { test } from "node:test";
import {
  collision,
  contains,
  DEFAULT_BRIDGE_POOL,
  defaultGateway,
  formatSubnet,
  overlaps,
  parseIPv4,
  parseProcRoutes,
  parseSubnet,
  pickSubnet,
  subnetOfAddress,
  USER_NETWORK_POOL,
} from "./subnet.js";

const PROC_ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
podman0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
`;

test("subnets parse, print and overlap", () => {
  const s = parseSubnet("10.88.0.0/16");
  assert.equal(formatSubnet(s), "10.88.0.0/16");
  assert.equal(defaultGateway(s), "10.88.0.1");
  assert.ok(overlaps(s, parseSubnet("10.88.5.0/24")));
  assert.ok(!overlaps(s, parseSubnet("10.89.0.0/16")));
  assert.ok(contains(s, parseIPv4("10.88.255.254")!));
  assert.equal(parseIPv4("256.1.1.1"), undefined);
  assert.throws(() => parseSubnet("10.88.0.1/16"), /host bits are set \(did you mean 10\.88\.0\.0\/16\?\)/);
  assert.throws(() => parseSubnet("10.88.0.0"), /expected A\.B\.C\.D\/N/);
  assert.throws(() => parseSubnet("10.88.0.0/33"), /expected/);
  assert.throws(() => parseSubnet("fd00::/64"), /IPv6 subnets are not supported/);
});

test("host routes come from /proc/net/route without the default route", () => {
  const routes = parseProcRoutes(PROC_ROUTE);
  assert.deepEqual(
    routes.map((r) => `${r.iface} ${formatSubnet(r.subnet)}`),
    ["eth0 192.0.2.0/24", "podman0 10.88.0.0/16"],
  );
});

test("a subnet is picked that collides with neither a host route nor another network", () => {
  const routes = parseProcRoutes(PROC_ROUTE);
  // podman0 holds 10.88/16 here, so the default bridge moves on; pier0's own route does not count.
  assert.equal(formatSubnet(pickSubnet(DEFAULT_BRIDGE_POOL, [], routes, "pier0")), "10.90.0.0/16");
  assert.equal(formatSubnet(pickSubnet(DEFAULT_BRIDGE_POOL, [], routes, "podman0")), "10.88.0.0/16");
  assert.equal(
    formatSubnet(pickSubnet(USER_NETWORK_POOL, [parseSubnet("172.18.0.0/16")], routes)),
    "172.19.0.0/16",
  );
  assert.match(
    collision(parseSubnet("192.0.2.128/25"), [], routes) ?? "",
    /overlaps with the host's route 192\.0\.2\.0\/24 on eth0/,
  );
  assert.match(
    collision(parseSubnet("172.18.1.0/24"), [parseSubnet("172.18.0.0/16")], []) ?? "",
    /overlaps with another pier network/,
  );
  assert.throws(() => pickSubnet(["192.0.2.0/24"], [], routes), /no free subnet/);
  assert.match(collision(parseSubnet("127.1.0.0/16"), [], []) ?? "", /loopback range 127\.0\.0\.0\/8/);
  assert.match(collision(parseSubnet("0.0.0.0/0"), [], []) ?? "", /this-network/);
  assert.match(collision(parseSubnet("169.254.1.0/24"), [], []) ?? "", /link-local/);
  assert.match(collision(parseSubnet("239.1.0.0/16"), [], []) ?? "", /multicast/);
});

test("an existing bridge's address gives its subnet and gateway", () => {
  const a = subnetOfAddress("10.88.0.1/16");
  assert.equal(a && formatSubnet(a.subnet), "10.88.0.0/16");
  assert.equal(a?.gateway, "10.88.0.1");
  assert.equal(subnetOfAddress("fe80::1/64"), undefined);
  assert.equal(subnetOfAddress("junk"), undefined);
});
