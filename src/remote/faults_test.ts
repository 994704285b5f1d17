import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LocalContentStore } from "../content/local-store.js";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { makeTempDir, removeTempDir } from "../testing/busybox.js";
import { type RunningRegistry, startDockerRegistry } from "../testing/remote-docker-registry.js";
import { writeRandomImage } from "../testing/remote-image.js";
import { copy } from "./copy-transports.js";
import type { ProgressEvent } from "./progress-events.js";
import { pull } from "./pull.js";

let tmp: string;
before(async () => {
  tmp = await makeTempDir("pier-remote-faults-");
});
after(async () => {
  if (tmp) await removeTempDir(tmp);
});

/** A TCP proxy that cuts the first connection that has sent `cutAfter` bytes downstream. */
async function startCuttingProxy(upstreamPort: number, cutAfter: number) {
  const seen = { cuts: 0, requests: [] as string[] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    let down = 0;
    client.on("data", (d: Buffer) => {
      seen.requests.push(d.toString("latin1").split("\r\n\r\n")[0] ?? "");
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
      down += d.length;
      if (seen.cuts === 0 && down > cutAfter) {
        seen.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    port,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

test("a connection cut halfway through a 100 MB blob resumes with Range and ends with the right digest", async () => {
  const reg: RunningRegistry = await startDockerRegistry();
  const proxy = await startCuttingProxy(reg.port, 50 * 1024 * 1024);
  try {
    const layout = join(tmp, "big");
    const desc = await writeRandomImage(layout, "big", [100 * 1024 * 1024]);
    await copy(`oci:${layout}:big`, `docker://${reg.host}/big/img:1`, { insecure: true });
    const store = join(tmp, "big-store");
    const res = await pull(`127.0.0.1:${proxy.port}/big/img:1`, { insecure: true, storeRoot: store });
    assert.equal(res.digest, desc.digest);
    assert.equal(proxy.seen.cuts, 1);
    assert.ok(
      proxy.seen.requests.some((r) => /^GET \/v2\/big\/img\/blobs\/sha256:.*\r\nrange: bytes=\d+-/is.test(r)),
      "no Range request was sent",
    );
    const manifest = JSON.parse(
      (await (await LocalContentStore.open(join(store, "content"))).readBytes(desc.digest)).toString(),
    );
    const layer = manifest.layers[0];
    const info = await (await LocalContentStore.open(join(store, "content"))).info(layer.digest);
    assert.equal(info?.size, 100 * 1024 * 1024);
  } finally {
    await proxy.stop();
    await reg.stop();
  }
});

/** A small registry that serves one image and misbehaves as told. */
async function startFakeRegistry(behaviour: { wrongLayerBytes?: boolean; throttleFirst?: number }) {
  const layer = randomBytes(4096);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [digestOf(layer)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayer, digest: digestOf(layer), size: layer.length }],
    }),
  );
  const blobs = new Map([
    [digestOf(layer), behaviour.wrongLayerBytes ? randomBytes(layer.length) : layer],
    [digestOf(config), config],
  ]);
  const hits: { path: string; at: number; status: number }[] = [];
  let throttled = 0;
  const server: HttpServer = createHttpServer((req, res) => {
    const path = req.url ?? "";
    const reply = (status: number, headers: Record<string, string | number>, body?: Buffer) => {
      hits.push({ path, at: Date.now(), status });
      res.writeHead(status, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (path.includes("/manifests/") && throttled < (behaviour.throttleFirst ?? 0)) {
      throttled++;
      reply(
        429,
        { "retry-after": "1", "content-type": "application/json" },
        Buffer.from('{"errors":[{"code":"TOOMANYREQUESTS"}]}'),
      );
      return;
    }
    if (path === "/v2/")
      return reply(200, { "docker-distribution-api-version": "registry/2.0" }, Buffer.from("{}"));
    if (path.includes("/manifests/")) {
      return reply(
        200,
        {
          "content-type": MediaType.OciManifest,
          "docker-content-digest": digestOf(manifest),
          "content-length": manifest.length,
        },
        manifest,
      );
    }
    const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    const blob = m ? blobs.get(m[1] as `sha256:${string}`) : undefined;
    if (blob)
      return reply(200, { "content-type": "application/octet-stream", "content-length": blob.length }, blob);
    reply(404, { "content-type": "application/json" }, Buffer.from('{"errors":[{"code":"BLOB_UNKNOWN"}]}'));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    manifestDigest: digestOf(manifest),
    layerDigest: digestOf(layer),
    hits,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test("a registry that returns the wrong bytes: DIGEST_MISMATCH and nothing stored", async () => {
  const fake = await startFakeRegistry({ wrongLayerBytes: true });
  try {
    const store = join(tmp, "wrong");
    await assert.rejects(
      pull(`${fake.host}/x/y:1`, { insecure: true, storeRoot: store }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "DIGEST_MISMATCH", err.message);
        return true;
      },
    );
    const s = await LocalContentStore.open(join(store, "content"));
    assert.equal(await s.info(fake.layerDigest), undefined);
    assert.equal(await s.info(fake.manifestDigest), undefined);
    const index = JSON.parse(await readFile(join(store, "content", "index.json"), "utf8"));
    assert.deepEqual(index.manifests, []);
  } finally {
    await fake.stop();
  }
});

test("429 with Retry-After: the client waits and succeeds", async () => {
  const fake = await startFakeRegistry({ throttleFirst: 2 });
  try {
    const started = Date.now();
    const events: ProgressEvent[] = [];
    const res = await pull(`${fake.host}/x/y:1`, {
      insecure: true,
      storeRoot: join(tmp, "throttled"),
      onProgress: (e) => events.push(e),
    });
    assert.deepEqual(
      events.filter((e) => e.type === "retry").map((e) => (e.type === "retry" ? e.delayMs : 0)),
      [1000, 1000],
    );
    assert.equal(res.digest, fake.manifestDigest);
    const throttled = fake.hits.filter((h) => h.status === 429);
    assert.equal(throttled.length, 2);
    const firstOk = fake.hits.find((h) => h.path.includes("/manifests/") && h.status === 200);
    assert.ok(firstOk && firstOk.at - throttled[0]!.at >= 1900, "did not honour Retry-After");
    assert.ok(Date.now() - started >= 2000);
  } finally {
    await fake.stop();
  }
});
