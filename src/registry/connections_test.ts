import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { digestOf } from "../oci/digest.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { pushImage, startTestRegistry } from "../testing/registry.js";
import { writeSelfSignedKeyPair } from "../testing/tls-cert.js";
import { defaultRegistryConfig } from "./config.js";
import { ConnectionGate, clientKey, openFileLimit } from "./connection-gate.js";
import { connectionCap } from "./server.js";

const nothing = `sha256:${"0".repeat(64)}`;

test("clientKey: IPv4 as is, IPv4-mapped unwrapped, IPv6 by its /64", () => {
  assert.equal(clientKey("192.0.2.7"), "192.0.2.7");
  assert.equal(clientKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(clientKey("2001:db8:0:1:aaaa::1"), "2001:db8:0:1::/64");
  assert.equal(clientKey("2001:db8:0:1:bbbb:cccc:dddd:2"), "2001:db8:0:1::/64");
  assert.equal(clientKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(clientKey("::1"), "0:0:0:0::/64");
});

test("ConnectionGate counts per client and in total", () => {
  const gate = new ConnectionGate(3, 2);
  assert.equal(gate.admit("a"), "ok");
  assert.equal(gate.admit("a"), "ok");
  assert.equal(gate.admit("a"), "client");
  assert.equal(gate.admit("b"), "total");
  gate.release("a");
  gate.release("b");
  assert.equal(gate.admit("b"), "ok");
  assert.equal(gate.open, 3);
});

test("connectionCap: half the file limit by default; a cap the limit cannot hold is refused", () => {
  const c = defaultRegistryConfig();
  assert.equal(connectionCap(c, 20_000), 9872);
  assert.equal(connectionCap(c, 1024), 384);
  assert.equal(connectionCap(c, 1 << 30), 16_384);
  c.http.maxConnections = 5000;
  assert.equal(connectionCap(c, 20_000), 5000);
  assert.throws(() => connectionCap(c, 4096), /http.maxConnections 5000 needs more open files .*4096/);
});

/** A connection from `localAddress` that starts a 1 MiB upload and sends nothing more. */
function slowUpload(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: "127.0.0.1", localAddress }, () => {
      sock.write(
        `POST /v2/slow/x/blobs/uploads/?digest=${nothing} HTTP/1.1\r\nHost: x\r\nContent-Length: ${1 << 20}\r\n\r\nx`,
      );
      resolve(sock);
    });
    sock.on("error", reject);
  });
}

/** One `GET /v2/` from `localAddress` on a fresh connection: the raw answer. */
function rawGet(port: number, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const sock = connect({ port, host: "127.0.0.1", localAddress }, () =>
      sock.write("GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    sock.on("data", (d) => {
      text += d.toString("latin1");
    });
    sock.on("end", () => resolve(text));
    sock.on("error", reject);
  });
}

test("connections over the caps get 503 with Retry-After; other clients are served", async () => {
  const t = await startTestRegistry((c) => {
    c.http.maxConnections = 20;
    c.http.maxConnectionsPerClient = 5;
  });
  const socks: Socket[] = [];
  try {
    const port = t.reg.port;
    for (let i = 0; i < 5; i++) socks.push(await slowUpload(port, "127.0.0.4"));
    const sixth = await rawGet(port, "127.0.0.4");
    assert.match(sixth, /^HTTP\/1.1 503/);
    assert.match(sixth, /Retry-After: 1/i);
    assert.match(sixth, /TOOMANYREQUESTS.*5 connections open/);
    assert.match(await rawGet(port, "127.0.0.1"), /^HTTP\/1.1 200/, "another client is served");
    for (let i = 0; i < 15; i++) socks.push(await slowUpload(port, `127.0.1.${i}`));
    const over = await rawGet(port, "127.0.0.1");
    assert.match(over, /^HTTP\/1.1 503/);
    assert.match(over, /serves 20 connections at most/);
    for (const s of socks.splice(0)) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.match(await rawGet(port, "127.0.0.1"), /^HTTP\/1.1 200/, "served again once they are gone");
  } finally {
    for (const s of socks) s.destroy();
    await t.stop();
  }
});

test("the per-client cap holds over TLS too (the TLS socket is matched to its TCP connection)", async () => {
  const dir = await makeTempDir("pier-registry-tls-cap-");
  const { certFile: cert, keyFile: key } = await writeSelfSignedKeyPair(dir, "127.0.0.1", {
    ipAddress: "127.0.0.1",
  });
  const t = await startTestRegistry((c) => {
    c.tls = { cert, key };
    c.http.maxConnectionsPerClient = 2;
  });
  const socks: TLSSocket[] = [];
  /** A TLS connection from `localAddress` that sends `request` and resolves the first answer's head. */
  const tlsRequest = (localAddress: string, request: string) =>
    new Promise<{ sock: TLSSocket; head: Promise<string> }>((resolve, reject) => {
      const sock = tlsConnect(
        {
          socket: connect({ port: t.reg.port, host: "127.0.0.1", localAddress }),
          rejectUnauthorized: false,
        },
        () => {
          sock.write(request);
          resolve({
            sock,
            head: new Promise((done) => {
              let text = "";
              sock.on("data", (d) => {
                text += d.toString("latin1");
                if (text.includes("\r\n\r\n")) done(text);
              });
            }),
          });
        },
      );
      sock.on("error", reject);
      socks.push(sock);
    });
  try {
    const slow = `POST /v2/slow/x/blobs/uploads/?digest=${nothing} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx`;
    await tlsRequest("127.0.0.5", slow);
    await tlsRequest("127.0.0.5", slow);
    const third = await tlsRequest("127.0.0.5", "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(await third.head, /^HTTP\/1.1 503/);
    const other = await tlsRequest("127.0.0.1", "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(await other.head, /^HTTP\/1.1 200/);
  } finally {
    for (const s of socks) s.destroy();
    await t.stop(500);
    await removeTempDir(dir);
  }
});

test("a body trickling below the minimum rate is cut off with 408", async () => {
  const t = await startTestRegistry((c) => {
    c.http.bodyRateGraceMs = 1000;
    c.http.minBodyBytesPerSecond = 1000;
  });
  try {
    const text = await new Promise<string>((resolve, reject) => {
      let out = "";
      const sock = connect(t.reg.port, "127.0.0.1", () => {
        sock.write(
          `POST /v2/slow/x/blobs/uploads/?digest=${nothing} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`,
        );
        // One byte every 200 ms: never idle, but 5 bytes/s.
        const drip = setInterval(() => (sock.destroyed ? clearInterval(drip) : sock.write("x")), 200);
        sock.on("close", () => clearInterval(drip));
      });
      sock.on("data", (d) => {
        out += d.toString("latin1");
      });
      sock.on("end", () => resolve(out));
      sock.on("error", (err) => reject(new Error(`${err.message} after ${JSON.stringify(out)}`)));
      setTimeout(() => reject(new Error(`not cut off: ${out}`)), 8000).unref();
    });
    assert.match(text, /^HTTP\/1.1 408/);
    assert.match(text, /request body too slow/);
  } finally {
    await t.stop();
  }
});

// The slow clients run in a child process (their own event loop and files); each holds one
// upload open, sending a byte a second, from one of 20 loopback addresses (under the per-client
// cap). The child stops itself after 10 minutes whatever happens (a safety net only: on a slow
// machine connecting 5000 clients alone takes tens of seconds).
const SLOW_CLIENTS = `
const net = require("node:net");
const [port, count, extra] = process.argv.slice(1).map(Number);
const socks = [], slow = [];
let errors = 0, extra503 = 0, extraDone = 0, extraCut = 0;
const head = "POST /v2/slow/c/blobs/uploads/?digest=sha256:${"0".repeat(64)} HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1048576\\r\\n\\r\\nx";
const open = (i) => new Promise((resolve) => {
  const s = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0." + (10 + (i % 20)) }, () => { s.write(head); resolve(); });
  s.on("error", () => { errors++; resolve(); });
  socks.push(s);
  slow.push(s);
});
const stop = () => { for (const s of socks) s.destroy(); process.exit(0); };
setTimeout(stop, 600000).unref();
process.stdin.on("end", stop);
process.stdin.resume();
(async () => {
  for (let i = 0; i < count; i += 250) await Promise.all(Array.from({ length: Math.min(250, count - i) }, (_, j) => open(i + j)));
  setInterval(() => { for (const s of slow) if (!s.destroyed) s.write("x"); }, 1000);
  // The server may not have accepted every connection yet: wait for the parent's go.
  process.stdout.write("opened\\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  // More from one address than the per-client cap: the surplus is answered 503.
  await Promise.all(Array.from({ length: extra }, () => new Promise((resolve) => {
    let text = "";
    const s = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.10" }, () => s.write("GET /v2/ HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"));
    s.on("data", (d) => { if (text.includes("\\r\\n\\r\\n")) return; text += d; if (!text.includes("\\r\\n\\r\\n")) return; extraDone++; if (/^HTTP\\/1.1 503/.test(text)) extra503++; resolve(); });
    s.on("error", () => { errors++; resolve(); });
    s.on("close", () => { if (!text.includes("\\r\\n\\r\\n")) extraCut++; resolve(); });
    socks.push(s);
  })));
  process.stdout.write(JSON.stringify({ open: slow.filter((s) => !s.destroyed).length, errors, extra503, extraDone, extraCut }) + "\\n");
})();
`;

test("5000 slow clients: pushes and pulls still succeed, the surplus of one address gets 503", async (ctx) => {
  // Each slow client costs the registry a socket and an ingest file, and the child a socket.
  const limit = openFileLimit() ?? 1024;
  const count = Math.min(5000, Math.floor((limit - 1024) / 2));
  if (count < 5000) ctx.diagnostic(`open-file limit ${limit}: scaled down to ${count} slow clients`);
  // The default rate floor would cut these 1 byte/s bodies 30 s in (tested above); here they
  // must stay for the whole test, however long the machine takes to connect them all.
  const t = await startTestRegistry((c) => {
    c.http.bodyRateGraceMs = 300_000;
  });
  const child = spawn(process.execPath, ["-e", SLOW_CLIENTS, String(t.reg.port), String(count), "300"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const parts = out.split("\n");
      out = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    });
    const line = (n: number) =>
      new Promise<string>((resolve, reject) => {
        const check = () => (lines.length > n ? resolve(lines[n]!) : waiters.push(check));
        check();
        child.once("exit", (code) => reject(new Error(`slow clients exited with ${code}`)));
      });
    assert.equal(await line(0), "opened");
    // Until the registry has accepted them all (its gauge says so, and stays put: the gauge
    // counts this test's own connections too), the surplus would race them.
    let seen = -1;
    for (let i = 0; ; i++) {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const open = Number(/^pier_registry_open_connections (\d+)/m.exec(text)?.[1]);
      if (open >= count && open === seen) break;
      seen = open;
      if (i > 100) throw new Error(`the registry accepted only ${open} of ${count} connections`);
      await new Promise((r) => setTimeout(r, 300));
    }
    child.stdin!.write("go\n");
    const report = JSON.parse(await line(1)) as {
      open: number;
      errors: number;
      extra503: number;
      extraDone: number;
      extraCut: number;
    };
    assert.equal(report.errors, 0);
    assert.ok(report.open >= count, `${report.open} slow connections open`);
    // 250 per address are admitted, 256 allowed: 6 of the 300 extra get in (and stay, kept
    // alive), the other 294 are refused: answered 503 or, on a machine too busy to read their
    // request within 10 s, closed unanswered.
    assert.equal(report.extraDone + report.extraCut, 300);
    assert.equal(report.extraDone - report.extra503, 6, "admitted");
    assert.equal(report.extra503 + report.extraCut, 294, "refused");
    if (report.extraCut > 0) ctx.diagnostic(`${report.extraCut} refused connections were closed unanswered`);
    const refused = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(refused, /pier_registry_refused_connections_total\{cap="client"\} 294/);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const { digest } = await pushImage(t.url, `busy/app${i}`, "v1", [`layer during the flood ${i}`]);
      const manifest = await fetch(`${t.url}/v2/busy/app${i}/manifests/v1`, {
        headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
      });
      assert.equal(manifest.status, 200);
      const body = Buffer.from(await manifest.arrayBuffer());
      assert.equal(digestOf(body), digest);
      const layer = JSON.parse(body.toString()).layers[0].digest as string;
      assert.equal(
        await (await fetch(`${t.url}/v2/busy/app${i}/blobs/${layer}`)).text(),
        `layer during the flood ${i}`,
      );
      times.push(performance.now() - started);
    }
    ctx.diagnostic(
      `${report.open} slow clients open; push+pull of an image: ${times.map((x) => x.toFixed(0)).join(", ")} ms`,
    );
    assert.ok(Math.max(...times) < 2000);
  } finally {
    child.stdin!.end();
    await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(undefined)));
    await t.stop(1000);
  }
});
