import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { errorCode, pushImage, rawExchange, startTestRegistry } from "../testing/registry.js";
import { writeTestLayout } from "../testing/registry-layout.js";
import { writeSelfSignedKeyPair } from "../testing/tls-cert.js";
import { runTool } from "../testing/umoci.js";
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
    await writeFile(file, "{");
    assert.throws(() => loadRegistryConfig({ file, env: {} }), /registry config .*registry.json/);
  } finally {
    await removeTempDir(dir);
  }
});
