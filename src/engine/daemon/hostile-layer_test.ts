/**
 * Hostile layers through a real pierd and the docker CLI: refused or applied in bounded memory
 * and time while pierd keeps answering; an unpack stops when its client goes away; a pierd
 * killed mid-unpack cleans up after itself when it starts again.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { createGzip } from "node:zlib";
import { MediaType } from "../../oci/media-types.js";
import {
  type BusyboxRegistry,
  docker,
  requireDocker,
  type TestDaemon,
  useTestDaemon,
} from "../../testing/engine.js";
import { rawEntry, tarOf } from "../../testing/layer-tar.js";
import { pushBlob, putManifest } from "../../testing/registry.js";

let reg: BusyboxRegistry;
let d: TestDaemon;
useTestDaemon({
  ready: (fx) => {
    ({ reg, d } = fx);
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1 << 20;

/** Gzips the tar made of `parts` as it is generated; returns the blob and the tar's digest. */
async function gzipLayer(parts: () => Iterable<Buffer>): Promise<{ blob: Buffer; diffId: string }> {
  const hash = createHash("sha256");
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on("data", (c: Buffer) => out.push(c));
  const ended = once(gz, "end");
  for (const p of parts()) {
    hash.update(p);
    if (!gz.write(p)) await once(gz, "drain");
  }
  gz.end();
  await ended;
  return { blob: Buffer.concat(out), diffId: `sha256:${hash.digest("hex")}` };
}

/** Pushes a one-layer image to the test registry and pulls it into pierd; returns its name. */
async function pushAndPull(name: string, layer: { blob: Buffer; diffId: string }): Promise<string> {
  const url = reg.registry.url;
  const config = JSON.stringify({
    architecture: process.arch === "arm64" ? "arm64" : "amd64",
    os: "linux",
    config: { Cmd: ["/nothing"] },
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: {
      mediaType: MediaType.OciConfig,
      digest: await pushBlob(url, name, config),
      size: config.length,
    },
    layers: [
      {
        mediaType: MediaType.OciLayerGzip,
        digest: await pushBlob(url, name, layer.blob),
        size: layer.blob.length,
      },
    ],
  });
  const res = await putManifest(url, name, "1", manifest, MediaType.OciManifest);
  assert.equal(res.status, 201, await res.text());
  const image = `${new URL(url).host}/${name}:1`;
  const pull = await docker(d, ["pull", image]);
  assert.equal(pull.status, 0, pull.stderr);
  return image;
}

/** One `GET /_ping` on pierd's Docker socket; resolves with its latency in ms. */
function ping(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.dockerSocket, path: "/_ping", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(performance.now() - t0));
    });
    req.on("error", reject);
    req.end();
  });
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * The slowest ping of an idle pierd pinged every 25 ms for `ms`: what this machine's load alone
 * (other tests, other users of its two cores) costs a ping over a window that long.
 */
async function idlePingMs(ms: number): Promise<number> {
  let worst = 0;
  for (const until = performance.now() + ms; performance.now() < until; ) {
    worst = Math.max(worst, await ping());
    await sleep(25);
  }
  return worst;
}

/** Runs `work` while pinging pierd every 25 ms and sampling its RSS; the worst of both. */
async function watchDaemon<T>(work: Promise<T>): Promise<{ result: T; maxPingMs: number; extraRss: number }> {
  const pid = d.proc.pid as number;
  const base = rssBytes(pid);
  let maxPingMs = 0;
  let maxRss = base;
  let done = false;
  const watcher = (async () => {
    while (!done) {
      maxPingMs = Math.max(maxPingMs, await ping());
      maxRss = Math.max(maxRss, rssBytes(pid));
      await sleep(25);
    }
  })();
  try {
    return { result: await work, maxPingMs, extraRss: maxRss - base };
  } finally {
    done = true;
    await watcher;
  }
}

function unpackLeftovers(): string[] {
  const tmp = join(d.root, "snapshots", "tmp");
  return existsSync(tmp) ? readdirSync(tmp) : [];
}

/** A PAX header body of about `bytes` bytes of distinct, meaningless records. */
function records(bytes: number): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    out.push([`pier.junk.${i}`, "v".repeat(40)]);
    n += 60;
  }
  return out;
}

const hostile: [string, () => Iterable<Buffer>, RegExp | undefined][] = [
  [
    "300 consecutive 1 MiB PAX headers before one file",
    function* () {
      const header = rawEntry("x", "PaxHeaders/f", records(MiB - 2048));
      for (let i = 0; i < 300; i++) yield header;
      yield tarOf([{ name: "f", body: "x" }]);
    },
    /more than 1048576 bytes of extended headers/,
  ],
  [
    "one 4 MiB PAX header",
    function* () {
      yield rawEntry("x", "PaxHeaders/f", records(4 * MiB));
      yield tarOf([{ name: "f", body: "x" }]);
    },
    /more than 1048576 bytes of extended headers/,
  ],
  [
    "one 1 MiB global header and 20,000 files",
    function* () {
      yield rawEntry("g", "GlobalHead.0", records(MiB - 4096));
      yield tarOf(Array.from({ length: 20_000 }, (_, i) => ({ name: `d${i % 50}/f${i}`, body: "x" })));
    },
    undefined,
  ],
];

for (const [what, parts, refusal] of hostile) {
  test(`a layer of ${what}: ${refusal ? "refused" : "applied"} in bounded memory and time, pierd answering meanwhile`, async (t) => {
    requireDocker();
    const image = await pushAndPull(
      `hostile${hostile.findIndex((h) => h[0] === what)}`,
      await gzipLayer(parts),
    );
    const idleBefore = await idlePingMs(1000);
    const t0 = performance.now();
    const { result, maxPingMs, extraRss } = await watchDaemon(docker(d, ["create", "--name", "h", image]));
    const seconds = (performance.now() - t0) / 1000;
    const idleMs = Math.max(idleBefore, await idlePingMs(Math.min(seconds * 1000, 10_000)));
    t.diagnostic(
      `create ${seconds.toFixed(2)} s, pierd RSS +${(extraRss / MiB).toFixed(1)} MB, slowest /_ping ${maxPingMs.toFixed(1)} ms (idle ${idleMs.toFixed(1)} ms)`,
    );
    if (refusal) {
      assert.notEqual(result.status, 0, "the layer was applied");
      assert.match(result.stderr, refusal);
    } else {
      assert.equal(result.status, 0, result.stderr);
      await docker(d, ["rm", "h"]);
    }
    assert.ok(seconds < 30, `docker create took ${seconds.toFixed(1)} s`);
    assert.ok(extraRss < 100 * MiB, `pierd grew by ${(extraRss / MiB).toFixed(0)} MB`);
    // 50 ms beyond what the machine's load costs an idle pierd's ping (the quadratic reader: 2 s).
    assert.ok(
      maxPingMs < 50 + idleMs,
      `a /_ping took ${maxPingMs.toFixed(1)} ms during the apply (${idleMs.toFixed(1)} ms idle)`,
    );
    assert.deepEqual(unpackLeftovers(), []);
  });
}

/** A legitimate layer big enough to take seconds to apply: 40,000 files (`name` in each). */
async function slowImage(name: string): Promise<{ image: string; diffId: string }> {
  const layer = await gzipLayer(function* () {
    yield tarOf(
      Array.from({ length: 40_000 }, (_, i) => ({ name: `d${i % 100}/f${i}`, body: `${name} ${i}\n` })),
    );
  });
  return { image: await pushAndPull(name, layer), diffId: layer.diffId };
}

/** Waits until an unpack is under way (a temp snapshot holding some files). */
async function unpackUnderWay(): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const [tmp] = unpackLeftovers();
    if (tmp && existsSync(join(d.root, "snapshots", "tmp", tmp, "fs", "d0"))) return;
    if (Date.now() > until) throw new Error("no unpack started");
    await sleep(20);
  }
}

test("a client that goes away stops its container's unpack, which leaves nothing behind", async (t) => {
  const { image, diffId } = await slowImage("slow1");
  const req = request({
    socketPath: d.dockerSocket,
    method: "POST",
    path: "/v1.41/containers/create?name=gone",
    headers: { "Content-Type": "application/json" },
    agent: false,
  });
  req.on("error", () => {});
  req.end(JSON.stringify({ Image: image, Cmd: ["/nothing"] }));
  await unpackUnderWay();
  const gone = performance.now();
  req.destroy();
  while (unpackLeftovers().length > 0) {
    assert.ok(performance.now() - gone < 5000, "the unpack went on after its client left");
    await sleep(20);
  }
  const stoppedMs = performance.now() - gone;
  const ps = await docker(d, ["ps", "-a", "--format", "{{.Names}}"]);
  assert.equal(ps.stdout.trim(), "", "no container record stays");
  // A one-layer image's chain id is its diff_id.
  assert.ok(!existsSync(join(d.root, "snapshots", diffId.slice(7))), "no snapshot was committed");
  // The whole unpack takes longer than the stop did: it was stopped, not finished.
  const t0 = performance.now();
  const created = await docker(d, ["create", "--name", "kept", image]);
  assert.equal(created.status, 0, created.stderr);
  const fullMs = performance.now() - t0;
  assert.ok(stoppedMs < fullMs, `stopped after ${stoppedMs} ms, a whole unpack takes ${fullMs} ms`);
  t.diagnostic(
    `unpack stopped ${stoppedMs.toFixed(0)} ms after the client left; a whole one takes ${fullMs.toFixed(0)} ms`,
  );
  await docker(d, ["rm", "kept"]);
});

test("a pierd killed mid-unpack removes the half-applied snapshot and the half-created container at start", async () => {
  const { image } = await slowImage("slow2");
  const creating = docker(d, ["create", "--name", "interrupted", image]);
  await unpackUnderWay();
  await d.crash();
  await creating;
  assert.ok(unpackLeftovers().length > 0, "the killed pierd left its temp snapshot");
  await d.restart();
  assert.deepEqual(unpackLeftovers(), []);
  assert.match(d.stderr(), /removed half-applied layer snapshots/);
  assert.match(d.stderr(), /removing a container whose creation was interrupted/);
  const ps = await docker(d, ["ps", "-a", "--format", "{{.Names}}"]);
  assert.equal(ps.stdout.trim(), "");
  // The name is free again and the image still works.
  const again = await docker(d, ["create", "--name", "interrupted", image]);
  assert.equal(again.status, 0, again.stderr);
  await docker(d, ["rm", "interrupted"]);
});
