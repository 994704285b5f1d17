import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { digestOf } from "../../oci/digest.js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";

const PIER = join(dirname(fileURLToPath(import.meta.url)), "..", "pier.js");

test("pier registry serve: --no-auto-cross-mount and --metrics-addr are applied; a bad --max-connections is named", async () => {
  const root = await makeTempDir("pier-cli-registry-");
  const child = spawn(
    process.execPath,
    [
      PIER,
      "registry",
      "serve",
      "--addr",
      "127.0.0.1:0",
      "--root",
      root,
      "--no-auto-cross-mount",
      "--metrics-addr",
      "127.0.0.1:0",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, PIER_REGISTRY_CONFIG: "" } },
  );
  try {
    const { url, metrics } = await new Promise<{ url: string; metrics: string }>((resolve, reject) => {
      let err = "";
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        const u = /serving (http:\/\/\S+)/.exec(err);
        const m = /metrics on (http:\/\/\S+)/.exec(err);
        if (u && m) resolve({ url: u[1]!, metrics: m[1]! });
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    });
    const data = "cli mount";
    const digest = digestOf(data);
    const put = await fetch(`${url}/v2/cli/a/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      body: data,
    });
    assert.equal(put.status, 201);
    const mount = await fetch(`${url}/v2/cli/b/blobs/uploads/?mount=${digest}`, { method: "POST" });
    assert.equal(mount.status, 202, "--no-auto-cross-mount: a session, no mount");
    assert.equal((await fetch(metrics)).status, 200);
    const here = await fetch(`${url}/metrics`);
    assert.equal(here.status, 404, "metrics only on their own address");
    await here.arrayBuffer();
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(undefined)));
    await removeTempDir(root);
  }
  const bad = spawnSync(process.execPath, [PIER, "registry", "serve", "--max-connections", "lots"], {
    encoding: "utf8",
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--max-connections must be a non-negative integer, got "lots"/);
});
