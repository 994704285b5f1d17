import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { errorCode, pushImage, rawExchange, startTestRegistry } from "../testing/registry.js";
import { writeTestLayout } from "../testing/registry-layout.js";
import { writeSelfSignedKeyPair } from "../testing/tls-cert.js";
import { runTool } from "../testing/umoci.js";
import { htpasswdSet } from "./auth/htpasswd.js";
import { loadRegistryConfig } from "./config.js";

test("a client that sends headers slowly is cut off with 408", async () => {
  const t = await startTestRegistry((c) => {
    c.http.headersTimeoutMs = 400;
  });
  try {
    const slow = await rawExchange(
      t.url,
      [
        { data: "GET /v2/ HTTP/1.1\r\n" },
        { data: "Host: x\r\n", delayMs: 300 },
        { data: "X-Slow: 1\r\n", delayMs: 300 },
        { data: "X-Slow: 2\r\n", delayMs: 300 },
        { data: "\r\n", delayMs: 300 },
      ],
      { waitMs: 4000 },
    );
    assert.match(slow.text, /^HTTP\/1.1 408/);
    assert.ok(slow.closedByServer);
    assert.equal((await fetch(`${t.url}/v2/`)).status, 200);
  } finally {
    await t.stop();
  }
});

test("the rate limit answers TOOMANYREQUESTS with Retry-After", async () => {
  const t = await startTestRegistry((c) => {
    c.rateLimit = { requestsPerSecond: 1, burst: 2 };
  });
  try {
    const statuses = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await fetch(`${t.url}/v2/`);
      statuses.push(last.status);
      if (i < 2) await last.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal(last!.headers.get("retry-after"), "1");
    assert.equal(await errorCode(last!), "TOOMANYREQUESTS");
  } finally {
    await t.stop();
  }
});

test("with deletes disabled, DELETE is UNSUPPORTED (405) and changes nothing", async () => {
  const t = await startTestRegistry((c) => {
    c.storage.delete = false;
  });
  try {
    const { digest } = await pushImage(t.url, "nodel/x", "v1", ["nodel-layer"]);
    for (const path of ["manifests/v1", `manifests/${digest}`]) {
      const res = await fetch(`${t.url}/v2/nodel/x/${path}`, { method: "DELETE" });
      assert.equal(res.status, 405);
      assert.equal(await errorCode(res), "UNSUPPORTED");
    }
    assert.equal((await fetch(`${t.url}/v2/nodel/x/manifests/v1`, { method: "HEAD" })).status, 200);
  } finally {
    await t.stop();
  }
});

test("TLS from cert and key files: skopeo pushes over https", async () => {
  const dir = await makeTempDir("pier-registry-tls-");
  try {
    const { certFile: cert, keyFile: key } = await writeSelfSignedKeyPair(dir, "127.0.0.1", {
      ipAddress: "127.0.0.1",
    });
    await writeTestLayout(join(dir, "src"));
    const t = await startTestRegistry((c) => {
      c.tls = { cert, key };
    });
    try {
      assert.match(t.url, /^https:/);
      const dest = `docker://${t.reg.host}/tls/x:v1`;
      await runTool("skopeo", [
        "--insecure-policy",
        "copy",
        "--dest-cert-dir",
        dir,
        "--dest-tls-verify=false",
        `oci:${join(dir, "src")}:multi-layer`,
        dest,
      ]);
      const tags = JSON.parse(
        await runTool("skopeo", ["list-tags", "--tls-verify=false", dest.replace(/:v1$/, "")]),
      ) as {
        Tags: string[];
      };
      assert.deepEqual(tags.Tags, ["v1"]);
    } finally {
      await t.stop();
    }
  } finally {
    await removeTempDir(dir);
  }
});

test("config: defaults < file < environment < overrides, and bad values are named", async () => {
  const dir = await makeTempDir("pier-registry-config-");
  try {
    const file = join(dir, "registry.json");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(
      file,
      JSON.stringify({ addr: "127.0.0.1:6000", root: "/from/file", storage: { delete: false } }),
    );
    const c = loadRegistryConfig({
      file,
      env: { PIER_REGISTRY_ROOT: "/from/env" },
      overrides: { addr: "[::1]:7000" },
    });
    assert.equal(c.addr, "[::1]:7000");
    assert.equal(c.root, "/from/env");
    assert.equal(c.storage.delete, false);
    assert.equal(c.storage.maxManifestBytes, 4 << 20);
    assert.throws(
      () => loadRegistryConfig({ env: {}, overrides: { addr: "nope" } }),
      /addr must be host:port/,
    );
    assert.throws(() => loadRegistryConfig({ env: { PIER_REGISTRY_AUTH: "basic" } }), /needs auth.htpasswd/);
    // Automatic cross-mount: on by default; file < environment < flags; a bad value is named.
    assert.equal(loadRegistryConfig({ env: {} }).storage.autoCrossMount, true);
    await writeFile(
      file,
      JSON.stringify({ storage: { autoCrossMount: false }, metrics: { addr: "127.0.0.1:9100" } }),
    );
    const fromFile = loadRegistryConfig({ file, env: {} });
    assert.equal(fromFile.storage.autoCrossMount, false);
    assert.equal(fromFile.storage.maxManifestBytes, 4 << 20, "the rest of storage keeps its defaults");
    assert.equal(fromFile.metrics.addr, "127.0.0.1:9100");
    assert.equal(
      loadRegistryConfig({ file, env: { PIER_REGISTRY_AUTO_CROSS_MOUNT: "true" } }).storage.autoCrossMount,
      true,
    );
    assert.equal(
      loadRegistryConfig({
        file,
        env: { PIER_REGISTRY_AUTO_CROSS_MOUNT: "1" },
        overrides: { storage: { autoCrossMount: false } },
      }).storage.autoCrossMount,
      false,
    );
    assert.throws(
      () => loadRegistryConfig({ env: { PIER_REGISTRY_AUTO_CROSS_MOUNT: "maybe" } }),
      /PIER_REGISTRY_AUTO_CROSS_MOUNT must be true or false, got maybe/,
    );
    assert.throws(
      () => loadRegistryConfig({ env: {}, overrides: { http: { maxConnectionsPerClient: 0 } } }),
      /http.maxConnectionsPerClient must be positive/,
    );
    assert.throws(
      () => loadRegistryConfig({ env: { PIER_REGISTRY_METRICS_ADDR: "nowhere" } }),
      /metrics.addr must be host:port or empty/,
    );
    await writeFile(file, "{");
    assert.throws(() => loadRegistryConfig({ file, env: {} }), /registry config .*registry.json/);
  } finally {
    await removeTempDir(dir);
  }
});

/**
 * Sends a whole request (headers, then all of `body`) before reading anything, as clients
 * without `Expect: 100-continue` do, and resolves what came back; rejects on a reset.
 */
function sendAllThenRead(url: string, head: string, body: Buffer): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let text = "";
    sock.on("data", (d) => {
      text += d.toString("latin1");
    });
    sock.on("error", (err) => reject(new Error(`${(err as Error).message} after: ${text.slice(0, 40)}`)));
    sock.on("end", () => resolve(text));
    sock.on("connect", () => {
      sock.write(head);
      // In 64 KiB pieces with pauses, so that the server answers while the body is still coming.
      let at = 0;
      const next = () => {
        if (at >= body.length) return;
        const piece = body.subarray(at, at + (64 << 10));
        at += piece.length;
        sock.write(piece, () => setImmediate(next));
      };
      next();
    });
  });
}

test("early answers reach clients that send the whole body first (no Expect: 100-continue)", async () => {
  const dir = await makeTempDir("pier-registry-early-");
  await htpasswdSet(join(dir, "htpasswd"), "alice", "alice-pw");
  const t = await startTestRegistry();
  const authed = await startTestRegistry((c) => {
    c.auth = { mode: "basic", htpasswd: join(dir, "htpasswd") };
  });
  try {
    const big = randomBytes(10 << 20);
    // A 10 MB manifest, over the 4 MiB limit: 413, not a broken pipe.
    const declared = await sendAllThenRead(
      t.url,
      `PUT /v2/early/x/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: ${MediaType.OciManifest}\r\nContent-Length: ${big.length}\r\n\r\n`,
      big,
    );
    assert.match(declared, /^HTTP\/1.1 413/);
    assert.match(declared, /MANIFEST_INVALID/);
    // The same without a length (chunked): the limit is found while reading.
    const chunked = Buffer.concat([
      Buffer.from(`${big.length.toString(16)}\r\n`),
      big,
      Buffer.from("\r\n0\r\n\r\n"),
    ]);
    const found = await sendAllThenRead(
      t.url,
      `PUT /v2/early/x/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: ${MediaType.OciManifest}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      chunked,
    );
    assert.match(found, /^HTTP\/1.1 413/);
    // A blob upload without credentials: 401 with the challenge.
    const unauthorized = await sendAllThenRead(
      authed.url,
      `POST /v2/early/x/blobs/uploads/?digest=${digestOf(big)} HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n`,
      big,
    );
    assert.match(unauthorized, /^HTTP\/1.1 401/);
    assert.match(unauthorized, /WWW-Authenticate: Basic/i);
    // Python's urllib sends the body before reading, as the client did.
    const py = await runTool("python3", [
      "-c",
      `import urllib.request, urllib.error
req = urllib.request.Request("${t.url}/v2/early/py/manifests/v1", data=b"x" * (10 << 20), method="PUT",
    headers={"Content-Type": "${MediaType.OciManifest}"})
try:
    urllib.request.urlopen(req)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode()[:200])`,
    ]);
    assert.match(py, /^413 .*MANIFEST_INVALID/);
    // The server still serves on a fresh connection.
    assert.equal((await fetch(`${t.url}/v2/`)).status, 200);
  } finally {
    await t.stop();
    await authed.stop();
    await removeTempDir(dir);
  }
});

test("Expect: 100-continue: a refused request is answered before the body, an accepted one gets 100 first", async () => {
  const dir = await makeTempDir("pier-registry-continue-");
  await htpasswdSet(join(dir, "htpasswd"), "alice", "alice-pw");
  const t = await startTestRegistry((c) => {
    c.auth = { mode: "basic", htpasswd: join(dir, "htpasswd") };
  });
  try {
    const body = randomBytes(4 << 20);
    const digest = digestOf(body);
    const head = (auth: string) =>
      `POST /v2/cont/x/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`;
    // Without credentials: 401 at once, no 100, and the body is never sent.
    const refused = await rawExchange(t.url, [{ data: head("") }], { waitMs: 3000 });
    assert.match(refused.text, /^HTTP\/1.1 401/);
    assert.ok(refused.closedByServer);
    const creds = `Authorization: Basic ${Buffer.from("alice:alice-pw").toString("base64")}\r\n`;
    const accepted = await new Promise<string>((resolve, reject) => {
      const u = new URL(t.url);
      const sock = connect(Number(u.port), u.hostname, () => sock.write(head(creds)));
      let text = "";
      sock.on("data", (d) => {
        const before = text;
        text += d.toString("latin1");
        if (!before.startsWith("HTTP/1.1 100") && text.startsWith("HTTP/1.1 100")) sock.write(body);
        if (/\r\n\r\nHTTP\/1.1 201[\s\S]*\r\n\r\n/.test(text)) {
          sock.destroy();
          resolve(text);
        }
      });
      sock.on("error", reject);
      setTimeout(() => reject(new Error(`no 201: ${text}`)), 10_000).unref();
    });
    assert.match(accepted, /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 201/);
    // curl sends Expect: 100-continue for large bodies.
    const curl = await runTool("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-u",
      "alice:wrong",
      "-H",
      "Expect: 100-continue",
      "--data-binary",
      `@${join(dir, "htpasswd")}`,
      `${t.url}/v2/cont/y/blobs/uploads/?digest=${digest}`,
    ]);
    assert.equal(curl, "401");
  } finally {
    await t.stop();
    await removeTempDir(dir);
  }
});
