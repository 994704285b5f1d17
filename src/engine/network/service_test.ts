/**
 * NetworkService against the real CNI plugins and kernel: namespaces, addresses, hosts files,
 * errors, and nothing left after teardown. Uses its own bridges and subnets in 10.25x.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isMountPoint } from "../../runtime/native-mounter.js";
import { cniName, DEFAULT_NETWORK, masqueradeRule } from "./conflist.js";
import { deleteRule } from "./iptables.js";
import { NetworkService } from "./service.js";

let dir: string;
let svc: NetworkService;
const tag = Math.random().toString(16).slice(2, 8);
const routes = () => spawnSync("ip", ["-4", "route"], { encoding: "utf8" }).stdout;

function freeSubnet(prefix: number): string {
  for (;;) {
    const s = `10.${250 + Math.floor(Math.random() * 5)}.${Math.floor(Math.random() * 256)}`;
    if (!routes().includes(`${s}.`)) return `${s}.0/${prefix}`;
  }
}

function inNetns(path: string, cmd: string[]): string {
  const r = spawnSync("nsenter", [`--net=${path}`, ...cmd], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

before(() => {
  for (const bin of [
    "/usr/lib/cni/bridge",
    "/usr/lib/cni/host-local",
    "/usr/bin/nsenter",
    "/usr/sbin/iptables",
  ])
    if (!existsSync(bin))
      throw new Error(`${bin} is missing: install containernetworking-plugins, util-linux and iptables`);
  dir = mkdtempSync(join(tmpdir(), "pier-net-svc-"));
  svc = new NetworkService({
    root: join(dir, "root"),
    execRoot: join(dir, "run"),
    defaultBridge: `pt${tag}`,
    defaultSubnet: freeSubnet(24),
  });
});

after(async () => {
  for (const a of svc?.attachments() ?? []) await svc.teardown(a.id).catch(() => {});
  for (const n of svc?.list() ?? []) {
    if (n.name !== DEFAULT_NETWORK) await svc.remove(n.id, []).catch(() => {});
    else {
      await deleteRule("nat", "POSTROUTING", masqueradeRule(n)).catch(() => {});
      spawnSync("ip", ["link", "del", n.bridge]);
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("networks: create, find, conflicts, bad subnets, pre-defined names", async () => {
  const def = svc.list()[0]!;
  assert.equal(def.name, "bridge");
  assert.equal(def.bridge, `pt${tag}`);
  const subnet = freeSubnet(24);
  const n = await svc.create({ name: `svc-${tag}`, subnet, labels: { a: "b" } });
  assert.equal(n.subnet, subnet);
  assert.equal(n.gateway, subnet.replace(/0\/24$/, "1"));
  assert.equal(n.bridge, `br-${n.id.slice(0, 12)}`);
  assert.equal(svc.find(n.id.slice(0, 10)).name, n.name);
  assert.ok(existsSync(join(dir, "root", "networks", `svc-${tag}.conflist`)));
  // Its bridge is made at once with the gateway address (as dockerd's), so its route shows.
  assert.match(
    spawnSync("ip", ["-4", "-o", "addr", "show", "dev", n.bridge], { encoding: "utf8" }).stdout,
    new RegExp(`inet ${n.gateway.replace(/\./g, "\\.")}/24 `),
  );
  assert.match(routes(), new RegExp(`^${subnet.replace(/\./g, "\\.")} dev ${n.bridge} `, "m"));
  await assert.rejects(svc.create({ name: `svc-${tag}` }), { code: "NAME_CONFLICT" });
  await assert.rejects(svc.create({ name: "host" }), { code: "NAME_CONFLICT" });
  await assert.rejects(svc.create({ name: "x", subnet }), /overlaps with another pier network/);
  await assert.rejects(svc.create({ name: "y", subnet: "10.0.0.1/8" }), /host bits are set/);
  await assert.rejects(
    svc.create({ name: "z", subnet: freeSubnet(24), gateway: "1.2.3.4" }),
    /not an address of/,
  );
  await assert.rejects(svc.create({ name: "bad/name" }), /invalid network name/);
  const eth0 = /^(\S+)\s+\S+\s+(\d+\.\d+\.\d+\.\d+\/\d+)/m.exec(
    spawnSync("ip", ["-4", "-o", "route", "show", "scope", "link"], { encoding: "utf8" }).stdout,
  );
  if (eth0)
    await assert.rejects(svc.create({ name: "w", subnet: eth0[2]! }), /overlaps with the host's route/);
  assert.throws(() => svc.find("nosuch"), { code: "NOT_FOUND", message: "network nosuch not found" });
  assert.throws(() => svc.resolveMode("nosuch"), /network nosuch not found/);
  assert.equal(svc.resolveMode("none"), "none");
  assert.equal((svc.resolveMode(undefined) as { name: string }).name, "bridge");
});

test("attachments: none has lo up only, a user network gives addresses and shared hosts files", async () => {
  const net = await svc.create({ name: `peers-${tag}`, subnet: freeSubnet(24) });
  const mk = async (id: string, name: string, mode: string) => {
    const cdir = join(dir, "c", id);
    const spec = await svc.prepare({ id, name, dir: cdir, mode });
    return { cdir, spec, a: await svc.setup({ id, name, dir: cdir, mode }) };
  };
  const lo = await mk(`lo${tag}`.padEnd(64, "0"), "loner", "none");
  assert.ok(lo.spec.netns && isMountPoint(lo.spec.netns));
  const links = inNetns(lo.spec.netns!, ["ip", "-o", "link", "show"]);
  assert.deepEqual(
    links
      .trim()
      .split("\n")
      .map((l) => l.split(":")[1]?.trim()),
    ["lo"],
  );
  assert.match(links, /UP/);
  assert.match(readFileSync(join(lo.cdir, "hosts"), "utf8"), /^127\.0\.0\.1\tlo/m);

  const a = await mk(`aa${tag}`.padEnd(64, "1"), "alpha", `peers-${tag}`);
  const b = await mk(`bb${tag}`.padEnd(64, "2"), "beta", net.id);
  assert.ok(a.a?.address && b.a?.address);
  assert.match(
    inNetns(a.spec.netns!, ["ip", "-o", "-4", "addr", "show", "eth0"]),
    new RegExp(a.a.address.split("/")[0]!),
  );
  const hostsA = readFileSync(join(a.cdir, "hosts"), "utf8");
  assert.match(hostsA, new RegExp(`^${b.a.address.split("/")[0]}\\t\\S+ beta`, "m"), "alpha sees beta");
  assert.match(readFileSync(join(b.cdir, "hosts"), "utf8"), /\balpha\b/, "beta sees alpha");
  await assert.rejects(svc.remove(net.name, []), { code: "INVALID_STATE" });
  await svc.teardown(b.a.id);
  assert.doesNotMatch(readFileSync(join(a.cdir, "hosts"), "utf8"), /\bbeta\b/, "beta left alpha's hosts");
  assert.ok(!existsSync(b.spec.netns!));
  await svc.teardown(a.a.id);
  await svc.teardown(lo.a!.id);
  await svc.teardown(lo.a!.id); // idempotent
  assert.deepEqual(readdirSync(join(dir, "run", "network")), []);
  assert.deepEqual(readdirSync(join(dir, "run", "netns")), []);
  await svc.remove(net.name, []);
  assert.throws(() => svc.find(net.name), { code: "NOT_FOUND" });
  assert.equal(spawnSync("ip", ["link", "show", net.bridge]).status !== 0, true, "the bridge is gone");
  assert.ok(
    !spawnSync("iptables-save", [], { encoding: "utf8" }).stdout.includes(net.subnet),
    "no rule names it",
  );
});

test("reconcile tears down attachments of containers that are gone; a taken host port is refused", async () => {
  const id = `rc${tag}`.padEnd(64, "3");
  const cdir = join(dir, "c", id);
  await svc.prepare({ id, name: "orphan", dir: cdir });
  const a = await svc.setup({
    id,
    name: "orphan",
    dir: cdir,
    ports: [{ hostIP: "127.0.0.1", hostPort: 0, containerPort: 80, protocol: "tcp" }],
  });
  const port = a?.ports[0]?.hostPort ?? 0;
  assert.ok(port > 0, "a free host port was picked");
  const other = `ot${tag}`.padEnd(64, "4");
  await assert.rejects(
    svc.setup({
      id: other,
      name: "other",
      dir: join(dir, "c", other),
      ports: [{ hostIP: "", hostPort: port, containerPort: 80, protocol: "tcp" }],
    }),
    new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`),
  );
  assert.equal(svc.attachment(other), undefined, "the refused one left nothing");
  await svc.reconcile(new Set());
  assert.equal(svc.attachment(id), undefined);
  assert.ok(!existsSync(join(dir, "run", "netns", id)));
  assert.ok(!spawnSync("iptables-save", [], { encoding: "utf8" }).stdout.includes(`--dport ${port} `));
});

test("reconcile releases default-network addresses whose namespace is gone, not live ones", async () => {
  const id = `lv${tag}`.padEnd(64, "5");
  const cdir = join(dir, "c", id);
  await svc.prepare({ id, name: "live", dir: cdir });
  const a = await svc.setup({ id, name: "live", dir: cdir });
  const def = svc.list()[0]!;
  const ipam = join(dir, "root", "networks", "ipam", cniName(def));
  const live = a!.address!.split("/")[0]!;
  assert.ok(existsSync(join(ipam, live)));
  const leaked = def.subnet.replace(/0\/24$/, "200");
  writeFileSync(join(ipam, leaked), `${"f".repeat(64)}\r\neth0`);
  await svc.reconcile(new Set([id]));
  assert.ok(!existsSync(join(ipam, leaked)), "the leaked address is free again");
  assert.ok(existsSync(join(ipam, live)), "the live one is kept");
  await svc.teardown(id);
  assert.ok(!existsSync(join(ipam, live)));
});

test("a default network adopts the subnet of a bridge that already exists (daemons share it)", () => {
  const br = `pa${tag}`;
  const sub = freeSubnet(24);
  const gw = sub.replace(/0\/24$/, "1");
  assert.equal(spawnSync("ip", ["link", "add", br, "type", "bridge"]).status, 0);
  try {
    assert.equal(spawnSync("ip", ["addr", "add", `${gw}/24`, "dev", br]).status, 0);
    const other = new NetworkService({
      root: join(dir, "root2"),
      execRoot: join(dir, "run2"),
      defaultBridge: br,
    });
    const def = other.list()[0]!;
    assert.equal(def.subnet, sub);
    assert.equal(def.gateway, gw);
  } finally {
    spawnSync("ip", ["link", "del", br]);
  }
});

test("a host port some host process listens on is refused, leaving nothing", async () => {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const id = `hp${tag}`.padEnd(64, "6");
  try {
    await assert.rejects(
      svc.setup({
        id,
        name: "taken",
        dir: join(dir, "c", id),
        ports: [{ hostIP: "127.0.0.1", hostPort: port, containerPort: 80, protocol: "tcp" }],
      }),
      { code: "INVALID_STATE", message: `Bind for 127.0.0.1:${port} failed: port is already allocated` },
    );
    assert.equal(svc.attachment(id), undefined);
    assert.ok(!existsSync(join(dir, "run", "netns", id)));
  } finally {
    server.close();
  }
});

test("a network connected while the container is stopped is attached at its next start, and torn down", async () => {
  const extra = await svc.create({ name: `later-${tag}`, subnet: freeSubnet(24) });
  const id = `cn${tag}`.padEnd(64, "7");
  const req = { id, name: "later", dir: join(dir, "c", id) };
  await svc.prepare(req);
  await svc.connect(req, extra.name, ["alias1"]);
  assert.deepEqual(svc.connectedTo(extra.id), [id]);
  await assert.rejects(svc.connect(req, extra.id), { code: "INVALID_STATE" });
  await assert.rejects(svc.connect({ ...req, mode: "host" }, extra.id), /cannot be connected/);
  const a = await svc.setup(req);
  assert.equal(a?.endpoints?.[0]?.ifname, "eth1");
  assert.match(inNetns(a!.netns, ["ip", "-o", "-4", "addr", "show", "eth1"]), /inet /);
  await assert.rejects(svc.remove(extra.name, []), { code: "INVALID_STATE" });
  await svc.teardown(id);
  await svc.disconnect(req, extra.name);
  await assert.rejects(svc.disconnect(req, extra.name), { code: "NOT_FOUND" });
  svc.forget(id);
  await svc.remove(extra.name, svc.connectedTo(extra.id));
});
