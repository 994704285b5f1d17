/**
 * Daemons started together choose different default-bridge subnets: each makes its bridge, with
 * the subnet's route, under a host-wide lock before the next one chooses (chosen lazily, two
 * daemons took the same subnet of the pool once).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { docker, ok, startTestDaemon, type TestDaemon } from "../../testing/engine.js";
import { formatSubnet, overlaps, parseSubnet, subnetOfAddress } from "../network/subnet.js";

const daemons: TestDaemon[] = [];
after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
});

/** True when two CIDR subnets share an address. */
const overlap = (a: string, b: string): boolean => overlaps(parseSubnet(a), parseSubnet(b));

test("three daemons started at once take three subnets, each bridge made with its gateway", async () => {
  const started = await Promise.allSettled([1, 2, 3].map(() => startTestDaemon()));
  for (const s of started) if (s.status === "fulfilled") daemons.push(s.value);
  for (const s of started) if (s.status === "rejected") throw s.reason;
  // Asked at once too: a daemon that chose only now would not see the others' choices.
  const chosen = await Promise.all(
    daemons.map(async (d) => {
      const [subnet = "", bridge = ""] = (
        await ok(
          docker(d, [
            "network",
            "inspect",
            "bridge",
            "--format",
            '{{(index .IPAM.Config 0).Subnet}} {{index .Options "com.docker.network.bridge.name"}}',
          ]),
        )
      ).split(" ");
      return { subnet, bridge };
    }),
  );
  const seen: { subnet: string; bridge: string }[] = [];
  for (const { subnet, bridge } of chosen) {
    for (const other of seen)
      assert.ok(
        !overlap(other.subnet, subnet),
        `${bridge} and ${other.bridge} both took ${subnet} (${other.subnet})`,
      );
    seen.push({ subnet, bridge });
  }
  // Each bridge exists before any container, with its gateway address, so its route shows.
  for (const { subnet, bridge } of chosen) {
    const addr = spawnSync("ip", ["-4", "-o", "addr", "show", "dev", bridge], { encoding: "utf8" });
    assert.equal(addr.status, 0, `bridge ${bridge}: ${addr.stderr}`);
    const cidr = /\binet (\S+)/.exec(addr.stdout)?.[1] ?? "";
    const own = subnetOfAddress(cidr);
    assert.equal(own && formatSubnet(own.subnet), subnet, `${bridge} has ${cidr}`);
  }
  assert.equal(seen.length, 3);
});
