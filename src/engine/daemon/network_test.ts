/**
 * Networking through CNI with the stock docker CLI against pierd: the default bridge,
 * `--network none|host`, published ports reachable on 127.0.0.1, user networks resolving
 * container names, and no namespace, veth or iptables rule left once containers are gone.
 * Talks only to 127.0.0.1 and to containers on networks this test created.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { before, test } from "node:test";
import { type BusyboxRegistry, docker, pier, type TestDaemon, useTestDaemon } from "../../testing/engine.js";
import { freePort } from "../../testing/free-port.js";
import { socketRequest } from "../../testing/socket-request.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
  pull: true,
  // What the tests leave is removed while the daemon runs, so that its CNI teardown runs too.
  beforeStop: async ({ d }) => {
    const ids = (await docker(d, ["ps", "-aq"])).stdout.split("\n").filter(Boolean);
    if (ids.length) await docker(d, ["rm", "-f", ...ids]);
    for (const n of (await docker(d, ["network", "ls", "--filter", "type=custom", "-q"])).stdout
      .split("\n")
      .filter(Boolean))
      await docker(d, ["network", "rm", n]);
  },
});

function requireNetTools(): void {
  for (const [bin, pkg] of [
    ["/usr/lib/cni/bridge", "containernetworking-plugins"],
    ["/usr/lib/cni/portmap", "containernetworking-plugins"],
    ["/usr/sbin/iptables", "iptables"],
    ["/usr/bin/unshare", "util-linux"],
  ] as const)
    if (!existsSync(bin)) throw new Error(`${bin} is missing: install the Debian package ${pkg}`);
}

before(async () => {
  requireNetTools();
});

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/index.html", timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

const raw = (method: string, path: string, body?: string) =>
  socketRequest(d.dockerSocket, method, path, body);

/** A /24 in 10.23x.y.0 that no host route and no other network uses now. */
function freeSubnet(): string {
  const routes = spawnSync("ip", ["-4", "route"], { encoding: "utf8" }).stdout;
  for (;;) {
    const s = `10.${230 + Math.floor(Math.random() * 20)}.${Math.floor(Math.random() * 256)}.0`;
    if (!routes.includes(s.split(".").slice(0, 3).join("."))) return `${s}/24`;
  }
}

function iptablesRules(): string {
  const r = spawnSync("iptables-save", [], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("a container on the default bridge gets an address; none has only lo; host sees the host", async () => {
  const br = await docker(d, ["run", "--rm", reg.image, "ip", "-o", "-4", "addr", "show"]);
  assert.equal(br.status, 0, br.stderr);
  assert.match(br.stdout, /\beth0\s+inet (\d+\.){3}\d+\/\d+/);
  assert.match(br.stdout, /\blo\s+inet 127\.0\.0\.1\/8/);

  const none = await docker(d, ["run", "--rm", "--network", "none", reg.image, "ip", "-o", "link", "show"]);
  assert.equal(none.status, 0, none.stderr);
  const links = none.stdout
    .trim()
    .split("\n")
    .map((l) => l.split(":")[1]?.trim());
  assert.deepEqual(links, ["lo"]);
  assert.match(none.stdout, /\blo\b.*\bUP\b/, "lo is up");

  const hostLinks = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .stdout.trim()
    .split("\n")
    .map((l) => l.split(":")[1]?.trim().replace(/@.*/, ""));
  const host = await docker(d, ["run", "--rm", "--network", "host", reg.image, "ip", "-o", "link", "show"]);
  assert.equal(host.status, 0, host.stderr);
  for (const l of hostLinks.filter((n) => n === "eth0" || n === "lo"))
    assert.match(host.stdout, new RegExp(`: ${l}[:@]`), `host network shows ${l}`);

  const custom = await docker(d, [
    "run",
    "--rm",
    "--add-host",
    "db.example:192.0.2.10",
    "--add-host",
    "gw:host-gateway",
    "--dns",
    "192.0.2.53",
    "--dns-search",
    "corp.example",
    reg.image,
    "sh",
    "-c",
    "cat /etc/hosts /etc/resolv.conf",
  ]);
  assert.equal(custom.status, 0, custom.stderr);
  assert.match(custom.stdout, /^192\.0\.2\.10\tdb\.example$/m);
  assert.match(custom.stdout, /^(\d+\.){3}1\tgw$/m, "host-gateway is the bridge's gateway");
  assert.match(custom.stdout, /^nameserver 192\.0\.2\.53$/m);
  assert.equal(custom.stdout.match(/^nameserver /gm)?.length, 1, "--dns replaces the host's nameservers");
  assert.match(custom.stdout, /^search corp\.example$/m);
  const badHost = await docker(d, ["run", "--rm", "--add-host", "db:nope", reg.image, "true"]);
  assert.notEqual(badHost.status, 0);

  const files = await docker(d, [
    "run",
    "--rm",
    "--name",
    "filesy",
    reg.image,
    "sh",
    "-c",
    "cat /etc/hostname /etc/hosts /etc/resolv.conf",
  ]);
  assert.equal(files.status, 0, files.stderr);
  assert.match(files.stdout, /^127\.0\.0\.1\tlocalhost$/m);
  assert.doesNotMatch(files.stdout, /^nameserver 127\./m, "loopback resolvers are filtered");
  assert.match(files.stdout, /^nameserver /m);
});

test("-p 127.0.0.1:PORT:8080 reaches busybox httpd from the host; ps, port and inspect show it", async () => {
  const port = await freePort();
  // Rules of other daemons (a killed one's CNI chains) may name the same address: only new ones count.
  const before = new Set(iptablesRules().split("\n"));
  const r = await docker(d, [
    "run",
    "-d",
    "--name",
    "web",
    "-p",
    `127.0.0.1:${port}:8080`,
    reg.image,
    "sh",
    "-c",
    "mkdir -p /www && echo hello-from-pier > /www/index.html && exec httpd -f -p 8080 -h /www",
  ]);
  assert.equal(r.status, 0, r.stderr);
  let got: { status: number; body: string } | undefined;
  const until = Date.now() + 10000;
  while (Date.now() < until) {
    got = await httpGet(port).catch(() => undefined);
    if (got?.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(got?.status, 200);
  assert.equal(got?.body, "hello-from-pier\n");
  const ps = await docker(d, ["ps", "--format", "{{.Names}} {{.Ports}}"]);
  assert.match(ps.stdout, new RegExp(`^web 127\\.0\\.0\\.1:${port}->8080/tcp$`, "m"));
  const p = await docker(d, ["port", "web"]);
  assert.equal(p.stdout.trim(), `8080/tcp -> 127.0.0.1:${port}`);
  const ip = await docker(d, [
    "inspect",
    "--format",
    "{{.NetworkSettings.Networks.bridge.IPAddress}}",
    "web",
  ]);
  assert.match(ip.stdout.trim(), /^(\d+\.){3}\d+$/);
  assert.ok(iptablesRules().includes(`--dport ${port}`), "portmap's DNAT rule is there while it runs");
  const rm = await docker(d, ["rm", "-f", "web"]);
  assert.equal(rm.status, 0, rm.stderr);
  assert.ok(!iptablesRules().includes(`--dport ${port}`), "the DNAT rule is gone with the container");
  const left = iptablesRules()
    .split("\n")
    .filter((l) => l.includes(ip.stdout.trim()) && !before.has(l));
  assert.deepEqual(left, [], "no rule names the container's address");
});

test("two containers on a user network reach each other by name; rm of the network in use is 409", async () => {
  const subnet = freeSubnet();
  const c = await docker(d, ["network", "create", "--subnet", subnet, "pier-test-net"]);
  assert.equal(c.status, 0, c.stderr);
  const ls = await docker(d, ["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
  assert.match(ls.stdout, /^pier-test-net bridge$/m);
  assert.match(ls.stdout, /^bridge bridge$/m);
  assert.match(ls.stdout, /^none null$/m);
  const insp = await docker(d, [
    "network",
    "inspect",
    "--format",
    "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
    "pier-test-net",
  ]);
  assert.equal(insp.stdout.trim(), subnet);

  const srv = await docker(d, [
    "run",
    "-d",
    "--name",
    "srv",
    "--network",
    "pier-test-net",
    reg.image,
    "sh",
    "-c",
    "mkdir -p /www && echo srv-page > /www/index.html && exec httpd -f -p 8080 -h /www",
  ]);
  assert.equal(srv.status, 0, srv.stderr);
  try {
    const cli = await docker(d, [
      "run",
      "--rm",
      "--name",
      "cli",
      "--network",
      "pier-test-net",
      "--network-alias",
      "client.alias",
      reg.image,
      "sh",
      "-c",
      "ping -c1 -W2 srv >/dev/null && echo ping-ok; grep -q 'client.alias' /etc/hosts || echo no-alias; for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /tmp/page http://srv:8080/index.html && break; sleep 0.2; done; cat /tmp/page",
    ]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, "ping-ok\nsrv-page\n");
    // --network container:srv shares srv's namespace: srv's httpd is on its loopback.
    const side = await docker(d, [
      "run",
      "--rm",
      "--network",
      "container:srv",
      reg.image,
      "sh",
      "-c",
      "wget -q -O /tmp/page http://127.0.0.1:8080/index.html && cat /tmp/page; ip -o -4 addr show eth0",
    ]);
    assert.equal(side.status, 0, side.stderr);
    assert.match(side.stdout, /^srv-page\n/);
    const srvIp = (
      await docker(d, [
        "inspect",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        "srv",
      ])
    ).stdout.trim();
    assert.match(side.stdout, new RegExp(`inet ${srvIp.replace(/\./g, "\\.")}/`));
    const noTarget = await docker(d, ["run", "--rm", "--network", "container:nosuch", reg.image, "true"]);
    assert.notEqual(noTarget.status, 0);
    // srv's hosts file saw cli join and leave.
    const hosts = await docker(d, ["exec", "srv", "cat", "/etc/hosts"]);
    assert.doesNotMatch(hosts.stdout, /\bcli\b/);
    const nets = await docker(d, [
      "network",
      "inspect",
      "--format",
      "{{range .Containers}}{{.Name}} {{end}}",
      "pier-test-net",
    ]);
    assert.equal(nets.stdout.trim(), "srv");

    const busy = await raw("DELETE", "/v1.41/networks/pier-test-net");
    assert.equal(busy.status, 409);
    assert.match(JSON.parse(busy.body).message, /has active endpoints/);
    const busyCli = await docker(d, ["network", "rm", "pier-test-net"]);
    assert.notEqual(busyCli.status, 0);
  } finally {
    await docker(d, ["rm", "-f", "srv"]);
  }
  const rm = await docker(d, ["network", "rm", "pier-test-net"]);
  assert.equal(rm.status, 0, rm.stderr);
  const none = await docker(d, ["run", "--rm", "--network", "pier-test-net", reg.image, "true"]);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /network pier-test-net not found/);
});

test("a bad port spec is a 400 with a clear message and creates nothing", async () => {
  const bad = await raw(
    "POST",
    "/v1.41/containers/create?name=badport",
    JSON.stringify({
      Image: reg.image,
      HostConfig: { PortBindings: { "8080/tcp": [{ HostPort: "99999" }] } },
    }),
  );
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /invalid port specification .*99999.* out of range/);
  const proto = await raw(
    "POST",
    "/v1.41/containers/create",
    JSON.stringify({ Image: reg.image, HostConfig: { PortBindings: { "8080/sctp": [{ HostPort: "80" }] } } }),
  );
  assert.equal(proto.status, 400);
  assert.match(JSON.parse(proto.body).message, /protocol "sctp"/);
  const cliBad = await docker(d, ["run", "--rm", "-p", "127.0.0.1:notaport:80", reg.image, "true"]);
  assert.notEqual(cliBad.status, 0);
  const ps = await docker(d, ["ps", "-aq"]);
  assert.equal(ps.stdout.trim(), "", "nothing half-created");
});

test("after the containers are gone no netns, veth, address or iptables rule is left", async () => {
  const r = await docker(d, [
    "run",
    "-d",
    "--name",
    "leaky",
    "-p",
    "127.0.0.1::8080",
    reg.image,
    "sleep",
    "60",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  const ip = (await docker(d, ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", id])).stdout.trim();
  assert.match(ip, /^(\d+\.){3}\d+$/);
  const netns = join(d.execRoot, "netns", id);
  assert.ok(existsSync(netns));
  const state = JSON.parse(readFileSync(join(d.execRoot, "network", `${id}.json`), "utf8")) as {
    result: { interfaces: { name: string; sandbox?: string }[] };
  };
  const veth = state.result.interfaces.find((i) => !i.sandbox && i.name.startsWith("veth"))?.name ?? "";
  assert.match(veth, /^veth/);
  assert.equal(spawnSync("ip", ["link", "show", veth]).status, 0, "the host side of its veth exists");
  const port = (await docker(d, ["port", id, "8080"])).stdout.trim();
  assert.match(port, /^127\.0\.0\.1:\d+$/, "a free host port was picked");
  assert.ok(iptablesRules().includes(ip));
  const stop = await docker(d, ["stop", "-t", "1", id]);
  assert.equal(stop.status, 0, stop.stderr);
  assert.ok(!existsSync(netns), "the namespace goes when the container stops");
  assert.ok(!iptablesRules().includes(`${ip}/32`), "no rule for the stopped container's address");
  // A --rm container whose start fails (the namespace it joins is gone) is removed, and the
  // client returns.
  const joiner = await docker(d, ["run", "--rm", "--network", `container:${id}`, reg.image, "true"], {
    timeout: 20000,
  });
  assert.notEqual(joiner.status, 0);
  assert.match(joiner.stderr, /not running/);
  assert.equal((await docker(d, ["ps", "-aq"])).stdout.trim(), id.slice(0, 12), "the failed one is gone");
  await docker(d, ["rm", id]);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8");
  assert.ok(!mounts.includes(netns), "the namespace is not mounted any more");
  assert.deepEqual(readdirSync(join(d.execRoot, "network")), [], "no attachment state left");
  // The kernel destroys the host side of the veth with the namespace, in the background.
  const until = Date.now() + 5000;
  while (spawnSync("ip", ["link", "show", veth]).status === 0 && Date.now() < until)
    await new Promise((res) => setTimeout(res, 50));
  assert.notEqual(spawnSync("ip", ["link", "show", veth]).status, 0, `veth ${veth} is gone`);
});

test("pierd killed and restarted: a running container keeps its network; one removed meanwhile is cleaned", async () => {
  const r = await docker(d, ["run", "-d", "--name", "survivor", reg.image, "sleep", "60"]);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  const ip = (await docker(d, ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", id])).stdout.trim();
  await d.crash();
  await d.restart();
  const again = (
    await docker(d, ["inspect", "--format", "{{.NetworkSettings.IPAddress}}", id])
  ).stdout.trim();
  assert.equal(again, ip, "the attachment survives a pierd restart");
  const ping = await docker(d, ["exec", id, "ip", "-o", "-4", "addr", "show", "eth0"]);
  assert.match(ping.stdout, new RegExp(`inet ${ip.replace(/\./g, "\\.")}/`));
  await docker(d, ["rm", "-f", id]);
  assert.ok(!existsSync(join(d.execRoot, "netns", id)));
  assert.ok(!iptablesRules().includes(`${ip}/32`));
});

test("pierd stopped cleanly keeps its bridge while a container is on it, and removes it and its NAT rule once none is", async () => {
  const inspect = await docker(d, [
    "network",
    "inspect",
    "bridge",
    "--format",
    '{{index .Options "com.docker.network.bridge.name"}} {{(index .IPAM.Config 0).Subnet}}',
  ]);
  const [bridge = "", subnet = ""] = inspect.stdout.trim().split(" ");
  assert.match(bridge, /^pt[0-9a-f]{8}$/, "a test daemon has its own bridge, not the host's pier0");
  // This daemon's rule: other daemons on the host (other test files) may use the same subnet.
  const masquerade = () => iptablesRules().includes(`-A POSTROUTING -s ${subnet} ! -o ${bridge} `);
  const exists = () => spawnSync("ip", ["link", "show", bridge]).status === 0;
  const terminate = async () => {
    const gone = new Promise((r) => d.proc.once("exit", r));
    d.proc.kill("SIGTERM");
    await gone;
  };
  const r = await docker(d, ["run", "-d", reg.image, "sleep", "60"]);
  assert.equal(r.status, 0, r.stderr);
  await terminate();
  assert.ok(exists() && masquerade(), "a running container keeps the bridge and its NAT rule");
  await d.restart();
  await docker(d, ["rm", "-f", r.stdout.trim()]);
  await terminate();
  assert.ok(!exists(), `bridge ${bridge} is removed`);
  assert.ok(!masquerade(), `no masquerade rule for ${subnet} is left`);
  await d.restart();
  // The next container makes both again.
  const again = await docker(d, ["run", "--rm", reg.image, "true"]);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(exists() && masquerade());
});

test("network events are the engine's: create through pier's API, connect, disconnect and rm through Docker's", async () => {
  const since = String(Date.now() / 1000);
  const c = await pier(d, ["network", "create", "ev-net"]);
  assert.equal(c.status, 0, c.stderr);
  const r = await docker(d, ["run", "-d", "--name", "ev-net-c", reg.image, "sleep", "60"]);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  for (const args of [
    ["network", "connect", "ev-net", "ev-net-c"],
    ["network", "disconnect", "ev-net", "ev-net-c"],
    ["rm", "-f", "ev-net-c"],
    ["network", "rm", "ev-net"],
  ]) {
    const step = await docker(d, args);
    assert.equal(step.status, 0, step.stderr);
  }
  const events = await docker(d, [
    "events",
    "--since",
    since,
    "--until",
    String(Date.now() / 1000),
    "--filter",
    "type=network",
    "--format",
    "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}",
  ]);
  assert.equal(events.status, 0, events.stderr);
  assert.deepEqual(events.stdout.trim().split("\n"), [
    "create ev-net <no value>",
    `connect ev-net ${id}`,
    `disconnect ev-net ${id}`,
    "destroy ev-net <no value>",
  ]);
});

test("pier network create|ls|inspect|rm and pier run --network/-p over pier's own API", async () => {
  const subnet = freeSubnet();
  const c = await pier(d, ["network", "create", "--subnet", subnet, "pier-cli-net"]);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout.trim(), /^[a-f0-9]{64}$/);
  const ls = await pier(d, ["network", "ls"]);
  assert.match(ls.stdout, new RegExp(`pier-cli-net\\s+bridge\\s+${subnet.replace(/\./g, "\\.")}`));
  const dup = await pier(d, ["network", "create", "pier-cli-net"]);
  assert.notEqual(dup.status, 0);
  assert.match(dup.stderr, /already exists/);
  const port = await freePort();
  const r = await pier(d, [
    "run",
    "-d",
    "--name",
    "cli-web",
    "--network",
    "pier-cli-net",
    "-p",
    `127.0.0.1:${port}:8080`,
    "--expose",
    "9000",
    "-P",
    reg.image,
    "sh",
    "-c",
    "mkdir -p /www && echo via-pier-cli > /www/index.html && exec httpd -f -p 8080 -h /www",
  ]);
  try {
    assert.equal(r.status, 0, r.stderr);
    let got: { status: number; body: string } | undefined;
    const until = Date.now() + 10000;
    while (Date.now() < until && got?.status !== 200) {
      got = await httpGet(port).catch(() => undefined);
      if (got?.status !== 200) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(got?.body, "via-pier-cli\n");
    const pps = await pier(d, ["ps"]);
    assert.match(pps.stdout, /^CONTAINER ID .* PORTS /m);
    assert.match(pps.stdout, new RegExp(`127\\.0\\.0\\.1:${port}->8080/tcp`));
    const pinsp = JSON.parse((await pier(d, ["inspect", "cli-web"])).stdout) as {
      network: { address: string };
    }[];
    assert.match(pinsp[0]?.network.address ?? "", /^(\d+\.){3}\d+\/24$/);
    const ports = await docker(d, ["port", "cli-web"]);
    assert.match(ports.stdout, new RegExp(`^8080/tcp -> 127\\.0\\.0\\.1:${port}$`, "m"));
    assert.match(ports.stdout, /^9000\/tcp -> 0\.0\.0\.0:\d+$/m, "-P published the exposed port");
    const insp = await pier(d, ["network", "inspect", "pier-cli-net"]);
    const [view] = JSON.parse(insp.stdout) as { containers: { name: string; address: string }[] }[];
    assert.equal(view?.containers[0]?.name, "cli-web");
    const conn = await pier(d, ["network", "connect", "--alias", "webby", "bridge", "cli-web"]);
    assert.equal(conn.status, 0, conn.stderr);
    const onBridge = JSON.parse((await pier(d, ["network", "inspect", "bridge"])).stdout) as {
      containers: { name: string }[];
    }[];
    assert.ok(onBridge[0]?.containers.some((c) => c.name === "cli-web"));
    assert.match((await docker(d, ["exec", "cli-web", "ip", "-o", "link", "show"])).stdout, /eth1/);
    const disc = await pier(d, ["network", "disconnect", "bridge", "cli-web"]);
    assert.equal(disc.status, 0, disc.stderr);
    const busy = await pier(d, ["network", "rm", "pier-cli-net"]);
    assert.notEqual(busy.status, 0);
    assert.match(busy.stderr, /has active endpoints/);
    const bad = await pier(d, ["run", "--rm", "-p", "127.0.0.1:80:http", reg.image, "true"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /invalid port specification/);
  } finally {
    await pier(d, ["rm", "-f", "cli-web"]);
  }
  const rm = await pier(d, ["network", "rm", "pier-cli-net"]);
  assert.equal(rm.status, 0, rm.stderr);
});

test("-P publishes exposed ports on free host ports, reachable on 127.0.0.1", async () => {
  const r = await docker(d, [
    "run",
    "-d",
    "--name",
    "puball",
    "--expose",
    "8080",
    "-P",
    reg.image,
    "sh",
    "-c",
    "mkdir -p /www && echo published-all > /www/index.html && exec httpd -f -p 8080 -h /www",
  ]);
  try {
    assert.equal(r.status, 0, r.stderr);
    const p = await docker(d, ["port", "puball", "8080/tcp"]);
    const m = /^0\.0\.0\.0:(\d+)$/m.exec(p.stdout);
    assert.ok(m, `docker port: ${p.stdout}`);
    let got: { status: number; body: string } | undefined;
    const until = Date.now() + 10000;
    while (Date.now() < until && got?.status !== 200) {
      got = await httpGet(Number(m[1])).catch(() => undefined);
      if (got?.status !== 200) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(got?.body, "published-all\n");
  } finally {
    await docker(d, ["rm", "-f", "puball"]);
  }
});

test("docker network connect/disconnect: a second interface, names on both networks, 409 while connected", async () => {
  const [s1, s2] = [freeSubnet(), freeSubnet()];
  assert.equal((await docker(d, ["network", "create", "--subnet", s1, "pier-front"])).status, 0);
  assert.equal((await docker(d, ["network", "create", "--subnet", s2, "pier-back"])).status, 0);
  try {
    const app = await docker(d, [
      "run",
      "-d",
      "--name",
      "app",
      "--network",
      "pier-front",
      reg.image,
      "sleep",
      "60",
    ]);
    assert.equal(app.status, 0, app.stderr);
    const db = await docker(d, [
      "run",
      "-d",
      "--name",
      "db",
      "--network",
      "pier-back",
      reg.image,
      "sleep",
      "60",
    ]);
    assert.equal(db.status, 0, db.stderr);
    const fixedIp = s2.replace(/0\/24$/, "77");
    const fixed = await docker(d, [
      "run",
      "--rm",
      "--network",
      "pier-back",
      "--ip",
      fixedIp,
      reg.image,
      "ip",
      "-o",
      "-4",
      "addr",
      "show",
      "eth0",
    ]);
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.match(fixed.stdout, new RegExp(`inet ${fixedIp.replace(/\./g, "\\.")}/24`));
    const outside = await docker(d, [
      "run",
      "--rm",
      "--network",
      "pier-back",
      "--ip",
      "192.0.2.77",
      reg.image,
      "true",
    ]);
    assert.notEqual(outside.status, 0);
    assert.match(outside.stderr, /not a free host address of network pier-back/);
    const c = await docker(d, ["network", "connect", "--alias", "api", "pier-back", "app"]);
    assert.equal(c.status, 0, c.stderr);
    const addrs = await docker(d, ["exec", "app", "ip", "-o", "-4", "addr", "show"]);
    const prefix = (s: string) => s.split(".").slice(0, 3).join(".").replace(/\./g, "\\.");
    assert.match(addrs.stdout, new RegExp(`eth0\\s+inet ${prefix(s1)}\\.`));
    assert.match(addrs.stdout, new RegExp(`eth1\\s+inet ${prefix(s2)}\\.`));
    const ping = await docker(d, ["exec", "app", "ping", "-c1", "-W2", "db"]);
    assert.equal(
      ping.status,
      0,
      `app reaches db by name over the connected network: ${ping.stdout}${ping.stderr}`,
    );
    const back = await docker(d, ["exec", "db", "ping", "-c1", "-W2", "api"]);
    assert.equal(back.status, 0, `db resolves app's alias: ${back.stdout}${back.stderr}`);
    const nets = await docker(d, ["inspect", "--format", "{{len .NetworkSettings.Networks}}", "app"]);
    assert.equal(nets.stdout.trim(), "2");
    const again = await docker(d, ["network", "connect", "pier-back", "app"]);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /already exists/);
    const busy = await raw("DELETE", "/v1.41/networks/pier-back");
    assert.equal(busy.status, 409);
    const dc = await docker(d, ["network", "disconnect", "pier-back", "app"]);
    assert.equal(dc.status, 0, dc.stderr);
    const after = await docker(d, ["exec", "app", "ip", "-o", "link", "show"]);
    assert.doesNotMatch(after.stdout, /eth1/);
    const gone = await docker(d, ["exec", "db", "cat", "/etc/hosts"]);
    assert.doesNotMatch(gone.stdout, /\bapi\b/);
    const own = await docker(d, ["network", "disconnect", "pier-front", "app"]);
    assert.notEqual(own.status, 0);
  } finally {
    await docker(d, ["rm", "-f", "app", "db"]);
    await docker(d, ["network", "rm", "pier-front", "pier-back"]);
  }
  const ls = await docker(d, ["network", "ls", "--format", "{{.Name}}"]);
  assert.doesNotMatch(ls.stdout, /pier-(front|back)/);
});
