/**
 * Daemons working at once choose different subnets: the default bridge's at start, and a user
 * network's at `network create` without `--subnet`. Each daemon makes the bridge, with the
 * subnet's route, under a host-wide lock before the next one chooses (chosen without it, two
 * daemons took the same subnet of the pool).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { docker, ok, pier, startTestDaemon, type TestDaemon } from "../../testing/engine.js";
import { formatSubnet, overlaps, parseSubnet, subnetOfAddress } from "../network/subnet.js";

const daemons: TestDaemon[] = [];
after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
});

/** Starts `n` test daemons at once (each stopped after the file's tests). */
async function startDaemons(n: number): Promise<TestDaemon[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, () => startTestDaemon()));
  const up = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  daemons.push(...up);
  for (const s of started) if (s.status === "rejected") throw s.reason;
  return up;
}

/** A network's subnet and bridge device, as `docker network inspect` shows them. */
async function subnetAndBridge(d: TestDaemon, network: string): Promise<{ subnet: string; bridge: string }> {
  const [subnet = "", bridge = ""] = (
    await ok(
      docker(d, [
        "network",
        "inspect",
        network,
        "--format",
        '{{(index .IPAM.Config 0).Subnet}} {{index .Options "com.docker.network.bridge.name"}}',
      ]),
    )
  ).split(" ");
  return { subnet, bridge };
}

/**
 * Asserts that no two of `chosen` overlap and that each bridge exists with its gateway address
 * in its subnet, before any container (so its route shows to the next daemon's choice).
 */
function assertApartWithBridges(chosen: { subnet: string; bridge: string }[]): void {
  const seen: { subnet: string; bridge: string }[] = [];
  for (const { subnet, bridge } of chosen) {
    for (const other of seen)
      assert.ok(
        !overlaps(parseSubnet(other.subnet), parseSubnet(subnet)),
        `${bridge} and ${other.bridge} both took ${subnet} (${other.subnet})`,
      );
    seen.push({ subnet, bridge });
  }
  for (const { subnet, bridge } of chosen) {
    const addr = spawnSync("ip", ["-4", "-o", "addr", "show", "dev", bridge], { encoding: "utf8" });
    assert.equal(addr.status, 0, `bridge ${bridge}: ${addr.stderr}`);
    const cidr = /\binet (\S+)/.exec(addr.stdout)?.[1] ?? "";
    const own = subnetOfAddress(cidr);
    assert.equal(own && formatSubnet(own.subnet), subnet, `${bridge} has ${cidr}`);
  }
}

test("three daemons started at once take three subnets, each bridge made with its gateway", async () => {
  const started = await startDaemons(3);
  // Asked at once too: a daemon that chose only now would not see the others' choices.
  const chosen = await Promise.all(started.map((d) => subnetAndBridge(d, "bridge")));
  assertApartWithBridges(chosen);
  assert.equal(chosen.length, 3);
});

test("networks created at once on two daemons without --subnet take different subnets", async () => {
  const [a, b] = (await startDaemons(2)) as [TestDaemon, TestDaemon];
  const names = ["one", "two", "three"].map((n) => `pier-test-subnet-${n}`);
  // All six at once: three through pier's API on one daemon, three through Docker's on the other.
  await Promise.all([
    ...names.map((n) => ok(pier(a, ["network", "create", n]))),
    ...names.map((n) => ok(docker(b, ["network", "create", n]))),
  ]);
  try {
    const chosen = await Promise.all([a, b].flatMap((d) => names.map((n) => subnetAndBridge(d, n))));
    assertApartWithBridges(chosen);
    assert.equal(chosen.length, 6);
  } finally {
    for (const d of [a, b]) await docker(d, ["network", "rm", ...names]);
  }
});
