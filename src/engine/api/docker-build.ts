/**
 * `POST /build` of the Docker API, the classic builder's protocol (what `docker build` sends with
 * `DOCKER_BUILDKIT=0`, and the only one a client without buildx speaks): the context arrives as
 * a tar (plain, gzip or zstd) in the body, the answer is Docker's JSON stream (`{"stream": "Step
 * 1/4 : FROM busybox\n"}`, ` ---> Using cache`, the RUN output, `{"aux":{"ID":…}}`,
 * `Successfully built …`, `Successfully tagged …`, or `{"error":…}`). The context is a
 * stranger's input: its size is bounded while it is received, it is unpacked by pier's layer
 * applier on a worker thread (entries that leave the directory are refused), and the build
 * itself is `src/build`'s.
 */
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { type BuildEvent, buildImage, readDockerfile } from "../../build/builder.js";
import { applyLayerFile, resolveInRoot, sniffCompression } from "../../layer/index.js";
import { hostPlatform, parsePlatform } from "../../oci/platform.js";
import { EngineError } from "../error.js";
import { familiarName } from "../image-operations.js";
import { flag } from "./http.js";
import type { Call } from "./router.js";

/** Largest build context accepted (the tar as sent). */
export const MAX_CONTEXT_BYTES = 2 * 1024 ** 3;

/** Query parameters whose only accepted value is their default (anything else is refused by name). */
const DEFAULT_ONLY: Readonly<Record<string, readonly string[]>> = {
  remote: [""],
  cachefrom: ["", "[]", "null"],
  extrahosts: [""],
  squash: ["", "0", "false"],
  memory: ["", "0"],
  memswap: ["", "0"],
  cpushares: ["", "0"],
  cpusetcpus: [""],
  cpusetmems: [""],
  cpuperiod: ["", "0"],
  cpuquota: ["", "0"],
  shmsize: ["", "0"],
  cgroupparent: [""],
  isolation: ["", "default"],
  outputs: [""],
  session: [""],
};

/** `{"k":"v"}` of a JSON query parameter, refusing anything else by name. */
function jsonMap(query: URLSearchParams, name: string): Map<string, string> {
  const text = query.get(name);
  if (!text) return new Map();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new EngineError("INVALID_ARGUMENT", `${name}: not JSON`);
  }
  if (v === null) return new Map();
  if (typeof v !== "object" || Array.isArray(v))
    throw new EngineError("INVALID_ARGUMENT", `${name}: not a JSON object`);
  const out = new Map<string, string>();
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    // docker sends a build arg given without a value (and unset in its environment) as null: unset.
    if (val === null) continue;
    if (typeof val !== "string") throw new EngineError("INVALID_ARGUMENT", `${name}.${k}: not a string`);
    out.set(k, val);
  }
  return out;
}

/** Writes the request body to `file`, failing past `limit` bytes. */
async function receive(req: IncomingMessage, file: string, limit: number): Promise<void> {
  let total = 0;
  await pipeline(
    req,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        total += chunk.length;
        if (total > limit)
          throw new EngineError("INVALID_ARGUMENT", `the build context is larger than ${limit} bytes`);
        yield chunk;
      }
    },
    createWriteStream(file, { mode: 0o600 }),
  );
}

/** Docker's classic-builder lines for the builder's events. */
function classicStream(send: (v: Record<string, unknown>) => void): (e: BuildEvent) => void {
  const partial = new Map<number, string>();
  return (e) => {
    switch (e.kind) {
      case "step":
        send({ stream: `Step ${e.step}/${e.steps} : ${e.text}\n` });
        break;
      case "cached":
        send({ stream: " ---> Using cache\n" });
        break;
      case "output": {
        const text = (partial.get(e.id) ?? "") + e.data.toString("utf8");
        const cut = text.lastIndexOf("\n") + 1;
        partial.set(e.id, text.slice(cut));
        if (cut > 0) send({ stream: text.slice(0, cut) });
        break;
      }
      case "done": {
        const rest = partial.get(e.id);
        if (rest) send({ stream: `${rest}\n` });
        partial.delete(e.id);
        break;
      }
      case "warning":
        send({ stream: `${e.message}\n` });
        break;
    }
  };
}

/** The handler of `POST /build` (routed by `docker.ts`, which loads this file at the first build). */
export async function dockerBuild({ engine, req, res, query }: Call): Promise<void> {
  for (const [name, allowed] of Object.entries(DEFAULT_ONLY)) {
    const v = query.get(name);
    if (v !== null && !allowed.includes(v))
      throw new EngineError("INVALID_ARGUMENT", `build: ${name}=${v} is not supported by pier's builder`);
  }
  if (query.get("version") === "2")
    throw new EngineError(
      "INVALID_ARGUMENT",
      "build: version=2 (BuildKit sessions) is not supported; use the classic builder (DOCKER_BUILDKIT=0)",
    );
  const platform = query.get("platform");
  if (platform) {
    const p = parsePlatform(platform);
    const h = hostPlatform();
    if (p.os !== h.os || p.architecture !== h.architecture)
      throw new EngineError(
        "INVALID_ARGUMENT",
        `build: platform ${platform}: only the host's (${h.os}/${h.architecture})`,
      );
  }
  const network = query.get("networkmode");
  if (network && network !== "default" && network !== "none")
    throw new EngineError("INVALID_ARGUMENT", `build: networkmode=${network}: only default and none`);
  const store = engine.images.service.store;
  const buildRoot = join(store.root, "build");
  await mkdir(buildRoot, { recursive: true });
  const scratch = await mkdtemp(join(buildRoot, "context-"));
  let started = false;
  const send = (v: Record<string, unknown>) => {
    if (!started) {
      res.writeHead(200, { "Content-Type": "application/json" });
      started = true;
    }
    res.write(`${JSON.stringify(v)}\r\n`);
  };
  try {
    const tar = join(scratch, "context.tar");
    await receive(req, tar, MAX_CONTEXT_BYTES);
    const context = join(scratch, "context");
    await mkdir(context, { mode: 0o755 });
    const head = Buffer.alloc(4);
    const fh = await open(tar, "r");
    const { bytesRead } = await fh.read(head, 0, 4, 0).finally(() => fh.close());
    if (bytesRead > 0)
      await applyLayerFile(context, tar, {
        compression: sniffCompression(head.subarray(0, bytesRead)) ?? "none",
      });
    await rm(tar);
    const dockerfileName = query.get("dockerfile") || "Dockerfile";
    const dockerfile = await readDockerfile(
      context,
      query.get("dockerfile") ? resolveInRoot(context, dockerfileName, { followFinal: true }) : undefined,
    );
    const tags = query.getAll("t").filter((t) => t !== "");
    const quiet = flag(query, "q");
    const result = await buildImage({
      store,
      buildRoot,
      context,
      dockerfile: { text: dockerfile.text, name: dockerfileName },
      tags,
      buildArgs: jsonMap(query, "buildargs"),
      ...(query.get("target") ? { target: query.get("target")! } : {}),
      noCache: flag(query, "nocache"),
      labels: Object.fromEntries(jsonMap(query, "labels")),
      pull: async (ref) => {
        await engine.images.pull(ref);
      },
      progress: quiet ? () => {} : classicStream(send),
    });
    // As Docker's classic builder: one `image tag` event per name the build gave.
    for (const n of result.names) engine.events.record("image", "tag", result.id, { name: familiarName(n) });
    const short = result.id.replace(/^sha256:/, "").slice(0, 12);
    send({ aux: { ID: result.id } });
    if (!quiet) {
      send({ stream: `Successfully built ${short}\n` });
      for (const n of result.names) send({ stream: `Successfully tagged ${familiarName(n)}\n` });
    }
    res.end();
  } catch (err) {
    if (!started) throw err;
    const message = (err as Error).message;
    res.end(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
  } finally {
    req.resume();
    await rm(scratch, { recursive: true, force: true });
  }
}
