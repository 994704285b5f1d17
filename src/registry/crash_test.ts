import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { readdir, stat, utimes, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { errorCode, pushBlob } from "../testing/registry.js";
import { registryGc } from "./gc.js";
import { uploadRef } from "./uploads.js";

const serverModule = new URL("./server.js", import.meta.url).href;
const configModule = new URL("./config.js", import.meta.url).href;

/** Starts a registry in a child process on `root`; resolves with its URL and the process. */
async function spawnRegistry(root: string): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    import { startRegistry } from ${JSON.stringify(serverModule)};
    import { defaultRegistryConfig } from ${JSON.stringify(configModule)};
    const c = defaultRegistryConfig();
    c.addr = "127.0.0.1:0"; c.root = ${JSON.stringify(root)}; c.log.access = false;
    const r = await startRegistry(c);
    process.stdout.write(r.url + "\\n");`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.once("exit", (code) => reject(new Error(`registry child exited with ${code}`)));
  });
  return { url, child };
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** Sends a request's headers and the first `sent` bytes of its body, then waits. */
function partialRequest(url: string, head: string, body: Buffer): Promise<() => void> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const sock = connect(Number(u.port), u.hostname, () => {
      sock.write(head);
      sock.write(body, () => setTimeout(() => resolve(() => sock.destroy()), 200));
    });
    sock.on("error", () => {});
  });
}

let root: string;
const children: ChildProcess[] = [];
before(async () => {
  root = await makeTempDir("pier-registry-crash-");
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) await kill9(c);
  await removeTempDir(root);
});

test("kill -9 during a chunk upload: after restart the session resumes and the blob verifies", async () => {
  const data = randomBytes(3 << 20);
  const digest = digestOf(data);
  let srv = await spawnRegistry(root);
  children.push(srv.child);
  const start = await fetch(`${srv.url}/v2/crash/up/blobs/uploads/`, { method: "POST" });
  const loc = start.headers.get("location")!;
  const one = 1 << 20;
  const p1 = await fetch(`${srv.url}${loc}`, {
    method: "PATCH",
    headers: { "Content-Range": `0-${one - 1}` },
    body: data.subarray(0, one),
  });
  assert.equal(p1.status, 202);
  await partialRequest(
    srv.url,
    `PATCH ${loc} HTTP/1.1\r\nHost: x\r\nContent-Range: ${one}-${2 * one - 1}\r\nContent-Length: ${one}\r\n\r\n`,
    data.subarray(one, one + one / 2),
  );
  await kill9(srv.child);
  srv = await spawnRegistry(root);
  children.push(srv.child);
  const status = await fetch(`${srv.url}${loc}`);
  assert.equal(status.status, 204);
  const have = Number(status.headers.get("range")!.split("-")[1]) + 1;
  assert.ok(have >= one && have <= one + one / 2, `resume point ${have}`);
  assert.equal((await fetch(`${srv.url}/v2/crash/up/blobs/${digest}`, { method: "HEAD" })).status, 404);
  const rest = await fetch(`${srv.url}${loc}?digest=${digest}`, {
    method: "PUT",
    headers: { "Content-Range": `${have}-${data.length - 1}` },
    body: data.subarray(have),
  });
  assert.equal(rest.status, 201);
  const back = Buffer.from(await (await fetch(`${srv.url}/v2/crash/up/blobs/${digest}`)).arrayBuffer());
  assert.ok(back.equals(data));
  await kill9(srv.child);
});

test("kill -9 during a manifest PUT leaves no manifest and no tag", async () => {
  let srv = await spawnRegistry(root);
  children.push(srv.child);
  const cfg = await pushBlob(srv.url, "crash/man", "{}");
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: cfg, size: 2 },
      layers: [],
    }),
  );
  await partialRequest(
    srv.url,
    `PUT /v2/crash/man/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: ${MediaType.OciManifest}\r\nContent-Length: ${body.length}\r\n\r\n`,
    body.subarray(0, 40),
  );
  await kill9(srv.child);
  srv = await spawnRegistry(root);
  children.push(srv.child);
  const res = await fetch(`${srv.url}/v2/crash/man/manifests/v1`);
  assert.equal(res.status, 404);
  assert.equal(await errorCode(res), "MANIFEST_UNKNOWN");
  const tags = (await (await fetch(`${srv.url}/v2/crash/man/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, []);
  await kill9(srv.child);
});

test("a client killed mid-upload retries; eight clients push the same layer at once", async () => {
  const srv = await spawnRegistry(root);
  children.push(srv.child);
  const data = randomBytes(4 << 20);
  const digest = digestOf(data);
  const start = await fetch(`${srv.url}/v2/crash/retry/blobs/uploads/`, { method: "POST" });
  const loc = start.headers.get("location")!;
  const cut = await partialRequest(
    srv.url,
    `PATCH ${loc} HTTP/1.1\r\nHost: x\r\nContent-Length: ${data.length}\r\n\r\n`,
    data.subarray(0, 1 << 20),
  );
  cut();
  await new Promise((r) => setTimeout(r, 100));
  // The retry: a fresh push of the whole layer, as skopeo and podman do.
  const again = await fetch(`${srv.url}/v2/crash/retry/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: data,
  });
  assert.equal(again.status, 201);
  const pushes = Array.from({ length: 8 }, async (_, i) => {
    const repo = `crash/same${i % 2}`;
    const s = await fetch(`${srv.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
    const l = s.headers.get("location")!;
    const p = await fetch(`${srv.url}${l}`, { method: "PATCH", body: data });
    assert.equal(p.status, 202);
    const put = await fetch(`${srv.url}${l}?digest=${digest}`, { method: "PUT" });
    return put.status;
  });
  assert.deepEqual(await Promise.all(pushes), [201, 201, 201, 201, 201, 201, 201, 201]);
  for (const repo of ["crash/same0", "crash/same1", "crash/retry"]) {
    const back = Buffer.from(await (await fetch(`${srv.url}/v2/${repo}/blobs/${digest}`)).arrayBuffer());
    assert.ok(back.equals(data), repo);
  }
  await kill9(srv.child);
});

test("kill -9 during a monolithic upload: restart and gc remove its temp file; open sessions survive", async () => {
  const ingest = join(root, "content", "ingest");
  const tmpFiles = async () => (await readdir(ingest)).filter((n) => n.startsWith("tmp-"));
  /** A monolithic `POST ?digest=` of a 64 MiB claim cut off by kill -9 once 16 MiB are on disk. */
  const crashMidUpload = async (srv: { url: string; child: ChildProcess }) => {
    const body = randomBytes(24 << 20);
    await partialRequest(
      srv.url,
      `POST /v2/crash/mono/blobs/uploads/?digest=${digestOf("never")} HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 << 20}\r\n\r\n`,
      body,
    );
    for (let i = 0; i < 100; i++) {
      const sizes = await Promise.all(
        (await tmpFiles()).map(async (n) => (await stat(join(ingest, n))).size),
      );
      if (sizes.some((s) => s >= 16 << 20)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await kill9(srv.child);
  };
  let srv = await spawnRegistry(root);
  children.push(srv.child);
  // An open session with 1 MiB in it, which must resume after each restart and gc.
  const start = await fetch(`${srv.url}/v2/crash/keep/blobs/uploads/`, { method: "POST" });
  const loc = start.headers.get("location")!;
  const part = randomBytes(1 << 20);
  assert.equal((await fetch(`${srv.url}${loc}`, { method: "PATCH", body: part })).status, 202);
  // Data of a session nobody knows any more, untouched for an hour.
  const orphan = join(
    ingest,
    `ref-${createHash("sha256").update(uploadRef(randomUUID())).digest("hex")}.data`,
  );
  await writeFile(orphan, "abandoned");
  const hourAgo = new Date(Date.now() - 3600_000);
  await utimes(orphan, hourAgo, hourAgo);

  await crashMidUpload(srv);
  const left = await tmpFiles();
  assert.equal(left.length, 1, "the attack: a cut-off upload leaves its temp file");
  assert.ok((await stat(join(ingest, left[0]!))).size >= 16 << 20);
  srv = await spawnRegistry(root);
  children.push(srv.child);
  assert.deepEqual(await tmpFiles(), [], "removed at startup");
  await assert.rejects(stat(orphan), /ENOENT/, "data of no session is removed");
  const status = await fetch(`${srv.url}${loc}`);
  assert.equal(status.status, 204, "the open session survived the restart");
  assert.equal(status.headers.get("range"), `0-${part.length - 1}`);

  await crashMidUpload(srv);
  assert.equal((await tmpFiles()).length, 1);
  const report = await registryGc({ root });
  assert.equal(report.ingestRemoved.length, 1, "gc removes it too, without a restart");
  assert.match(report.ingestRemoved[0]!, /^tmp-/);
  assert.deepEqual(await tmpFiles(), []);
  srv = await spawnRegistry(root);
  children.push(srv.child);
  const data = Buffer.concat([part, randomBytes(1000)]);
  const done = await fetch(`${srv.url}${loc}?digest=${digestOf(data)}`, {
    method: "PUT",
    headers: { "Content-Range": `${part.length}-${data.length - 1}` },
    body: data.subarray(part.length),
  });
  assert.equal(done.status, 201, "the session still completes after gc");
  await kill9(srv.child);
});
