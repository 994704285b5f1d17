/**
 * Helpers for the registry's own tests (not part of the library API): a registry on a free
 * loopback port in a temp directory, and small clients for blobs and manifests.
 */
import { connect } from "node:net";
import { digestOf } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { defaultRegistryConfig, type RegistryConfig } from "../registry/config.js";
import { type RunningRegistry, startRegistry } from "../registry/server.js";
import { makeTempDir, removeTempDir } from "./busybox.js";

/** A registry for one test file; `stop` closes it and removes its directory. */
export interface TestRegistry {
  reg: RunningRegistry;
  root: string;
  url: string;
  /** Closes the registry (waiting up to `graceMs` for requests in flight) and removes its root. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a registry on `127.0.0.1:0` in a fresh temp root, with access logs off. */
export async function startTestRegistry(
  tweak: (c: RegistryConfig) => void = () => {},
): Promise<TestRegistry> {
  const root = await makeTempDir("pier-registry-test-");
  const config = defaultRegistryConfig();
  config.addr = "127.0.0.1:0";
  config.root = root;
  config.log.access = false;
  tweak(config);
  // Errors stay visible in test output; lifecycle lines do not.
  const reg = await startRegistry(config, {
    log: (line) => {
      if (!line.includes('"level":"info"')) process.stderr.write(line);
    },
  });
  return {
    reg,
    root,
    url: reg.url,
    async stop(graceMs?: number) {
      await reg.close(graceMs);
      await removeTempDir(root);
    },
  };
}

/**
 * Pushes bytes as a monolithic upload and returns their digest; a registry that answers the
 * `POST` with a session instead (distribution 2.8) gets the bytes in the closing `PUT`.
 */
export async function pushBlob(url: string, repo: string, data: Buffer | string): Promise<string> {
  const digest = digestOf(data);
  let res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: "POST", body: data });
  if (res.status === 202) {
    const loc = new URL(res.headers.get("location")!, url);
    loc.searchParams.set("digest", digest);
    res = await fetch(loc, { method: "PUT", body: data });
  }
  if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`);
  return digest;
}

/** An OCI image manifest over a config and layers (given as bytes, which it pushes first). */
export async function pushImage(
  url: string,
  repo: string,
  tag: string,
  layers: (Buffer | string)[],
  extra: Record<string, unknown> = {},
): Promise<{ digest: string; body: Buffer }> {
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
    tag,
  });
  const configDigest = await pushBlob(url, repo, config);
  const layerDescs = [];
  for (const l of layers) {
    layerDescs.push({
      mediaType: MediaType.OciLayerGzip,
      digest: await pushBlob(url, repo, l),
      size: Buffer.byteLength(l),
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: Buffer.byteLength(config) },
    layers: layerDescs,
    ...extra,
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await putManifest(url, repo, tag, body, MediaType.OciManifest);
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  return { digest: digestOf(body), body };
}

/** `PUT` a manifest body. */
export function putManifest(
  url: string,
  repo: string,
  ref: string,
  body: Buffer | string,
  mediaType: string,
) {
  return fetch(`${url}/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    headers: { "Content-Type": mediaType },
    body,
  });
}

/** The `code` of the first error in a spec error body. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors: { code: string }[] };
  return body.errors[0]!.code;
}

/**
 * Sends raw bytes on a TCP connection and collects what comes back until the server closes it or
 * `waitMs` passes (for lying `Content-Length`s, slow headers and paths `fetch` would normalise).
 */
export function rawExchange(
  url: string,
  chunks: { data: string | Buffer; delayMs?: number }[],
  opts: { waitMs?: number; endAfter?: boolean } = {},
): Promise<{ text: string; closedByServer: boolean }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let text = "";
    let closedByServer = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, closedByServer });
    };
    const timer = setTimeout(finish, opts.waitMs ?? 3000);
    sock.on("data", (d) => {
      text += d.toString("latin1");
    });
    sock.on("end", () => {
      closedByServer = true;
      finish();
    });
    sock.on("error", (e) => (done ? undefined : reject(e)));
    sock.on("connect", async () => {
      for (const c of chunks) {
        if (c.delayMs) await new Promise((r) => setTimeout(r, c.delayMs));
        if (!sock.destroyed) sock.write(c.data);
      }
      if (opts.endAfter) sock.end();
    });
  });
}

/** A running Debian `docker-registry` (distribution 2.8) for differential and interop tests. */
export interface DistributionRegistry {
  url: string;
  host: string;
  stop(): Promise<void>;
}

/**
 * Starts `/usr/bin/docker-registry` on a free loopback port with a temp config and root
 * (deletes enabled). Fails with an actionable message when the binary is missing.
 */
export async function startDistribution(): Promise<DistributionRegistry> {
  const { existsSync } = await import("node:fs");
  const { writeFile } = await import("node:fs/promises");
  const { spawn } = await import("node:child_process");
  const { createServer } = await import("node:net");
  const { join } = await import("node:path");
  if (!existsSync("/usr/bin/docker-registry")) {
    throw new Error("/usr/bin/docker-registry is missing: apt-get install -y docker-registry");
  }
  const root = await makeTempDir("pier-distribution-");
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const config = join(root, "config.yml");
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(root, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/v2/`)).status === 200) break;
    } catch {
      if (i > 200) throw new Error("docker-registry did not start");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        await new Promise((r) => {
          child.once("exit", r);
          child.kill("SIGTERM");
        });
      }
      await removeTempDir(root);
    },
  };
}
