/**
 * pier's own API (`/v1`) for checkpoints: create (optionally answering with the archive), list,
 * remove, restore in place, export, import of an archive as a new container, and migration to
 * another pierd. Bodies are the engine's own types; archives are podman's format
 * (`application/x-tar`, possibly compressed).
 */
import type { ServerResponse } from "node:http";
import type { PackedArchive } from "../checkpoints/archive.js";
import { parseCompression } from "../checkpoints/archive.js";
import type { MigrationTls } from "../checkpoints/migrate.js";
import { EngineError } from "../error.js";
import { registryAuthHeader } from "../registry-auth.js";
import { clientGone, readJson, sendJson } from "./http.js";
import { withNetworkView } from "./pier-networks.js";
import type { Call, Route } from "./router.js";

interface CreateBody {
  name?: unknown;
  checkpointDir?: unknown;
  leaveRunning?: unknown;
  tcpEstablished?: unknown;
  export?: unknown;
  compression?: unknown;
  createImage?: unknown;
  push?: unknown;
}

function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new EngineError("INVALID_ARGUMENT", `${what} must be a string`);
  return v;
}

function optionalBool(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new EngineError("INVALID_ARGUMENT", `${what} must be a boolean`);
  return v;
}

/** Streams an archive as the response body; a tar failure cuts the response (no false end). */
async function sendArchive(res: ServerResponse, packed: PackedArchive): Promise<void> {
  res.writeHead(200, { "Content-Type": "application/x-tar" });
  res.once("close", () => {
    if (!res.writableFinished) packed.abort();
  });
  packed.stream.pipe(res, { end: false });
  try {
    await packed.done;
    await new Promise<void>((r) => (packed.stream.readableEnded ? r() : packed.stream.once("end", r)));
    res.end();
  } catch {
    res.destroy();
  }
}

async function checkpointCreate({ engine, req, res, params }: Call) {
  const body = (await readJson(req)) as CreateBody;
  const opts = {
    leaveRunning: optionalBool(body.leaveRunning, "leaveRunning"),
    tcpEstablished: optionalBool(body.tcpEstablished, "tcpEstablished"),
    signal: clientGone(res),
  };
  const createImage = optionalString(body.createImage, "createImage");
  const push = optionalString(body.push, "push");
  if (createImage || push) {
    if (createImage && push)
      throw new EngineError(
        "INVALID_ARGUMENT",
        "createImage and push are exclusive: push makes the image too",
      );
    if (body.export !== undefined || body.name !== undefined || body.checkpointDir !== undefined)
      throw new EngineError(
        "INVALID_ARGUMENT",
        "a checkpoint image is made instead of a named checkpoint or an archive: name, checkpointDir and export do not apply",
      );
    const imageOpts = {
      ...opts,
      compression: parseCompression(optionalString(body.compression, "compression")),
    };
    const credentials = registryAuthHeader(req.headers["x-registry-auth"]);
    const made = push
      ? await engine.checkpoints.pushImage(params[0]!, push, {
          ...imageOpts,
          ...(credentials ? { credentials } : {}),
        })
      : await engine.checkpoints.createImage(params[0]!, createImage!, imageOpts);
    sendJson(res, 201, made);
    return;
  }
  if (optionalBool(body.export, "export")) {
    const compression = parseCompression(optionalString(body.compression, "compression"));
    await sendArchive(res, await engine.checkpoints.createArchive(params[0]!, compression, opts));
    return;
  }
  const name = optionalString(body.name, "name");
  const checkpointDir = optionalString(body.checkpointDir, "checkpointDir");
  const made = await engine.checkpoints.create(params[0]!, {
    ...opts,
    ...(name ? { name } : {}),
    ...(checkpointDir ? { checkpointDir } : {}),
  });
  sendJson(res, 201, made);
}

function checkpointList({ engine, res, params, query }: Call) {
  sendJson(res, 200, engine.checkpoints.list(params[0]!, query.get("dir") || undefined));
}

async function checkpointRemove({ engine, res, params, query }: Call) {
  await engine.checkpoints.remove(params[0]!, params[1]!, query.get("dir") || undefined);
  res.writeHead(204).end();
}

async function checkpointRestore({ engine, res, params, query }: Call) {
  const rec = await engine.checkpoints.start(params[0]!, params[1]!, query.get("dir") || undefined);
  sendJson(res, 200, withNetworkView(engine, rec));
}

async function checkpointExport({ engine, res, params, query }: Call) {
  const compression = parseCompression(query.get("compression") ?? undefined);
  await sendArchive(
    res,
    engine.checkpoints.exportCheckpoint(params[0]!, params[1]!, compression, query.get("dir") || undefined),
  );
}

async function containerImport({ engine, req, res, query }: Call) {
  const name = query.get("name") || undefined;
  const rec = await engine.checkpoints.importArchive(req, {
    ...(name ? { name } : {}),
    signal: clientGone(res),
  });
  sendJson(res, 201, withNetworkView(engine, rec));
}

async function containerRestoreImage({ engine, req, res }: Call) {
  const body = (await readJson(req)) as { image?: unknown; name?: unknown };
  const image = optionalString(body.image, "image");
  if (!image) throw new EngineError("INVALID_ARGUMENT", "image is required: the checkpoint image to restore");
  const name = optionalString(body.name, "name");
  const credentials = registryAuthHeader(req.headers["x-registry-auth"]);
  const rec = await engine.checkpoints.restoreImage(image, {
    ...(name ? { name } : {}),
    ...(credentials ? { credentials } : {}),
    signal: clientGone(res),
  });
  sendJson(res, 201, withNetworkView(engine, rec));
}

/** The `tls` of a migrate body: the remote API's client PEMs, all three or none. */
function migrationTls(v: unknown): MigrationTls | undefined {
  if (v === undefined || v === null) return undefined;
  const t = v as Record<string, unknown>;
  if (typeof v !== "object" || ![t.ca, t.cert, t.key].every((p) => typeof p === "string" && p !== ""))
    throw new EngineError("INVALID_ARGUMENT", "tls must hold ca, cert and key (PEM texts)");
  return { ca: t.ca as string, cert: t.cert as string, key: t.key as string };
}

async function containerMigrate({ engine, req, res, params }: Call) {
  const body = (await readJson(req)) as {
    to?: unknown;
    compression?: unknown;
    tcpEstablished?: unknown;
    tls?: unknown;
  };
  const to = optionalString(body.to, "to");
  if (!to)
    throw new EngineError(
      "INVALID_ARGUMENT",
      "to is required: the target pierd's socket, tcp://HOST:PORT or a registry reference",
    );
  const tls = migrationTls(body.tls);
  const credentials = registryAuthHeader(req.headers["x-registry-auth"]);
  // Unsaid, the compression is the target kind's default (none to a pierd, zstd to a registry).
  const compression = optionalString(body.compression, "compression");
  const report = await engine.checkpoints.migrate(params[0]!, to, {
    ...(compression ? { compression: parseCompression(compression) } : {}),
    tcpEstablished: optionalBool(body.tcpEstablished, "tcpEstablished"),
    ...(tls ? { tls } : {}),
    ...(credentials ? { credentials } : {}),
  });
  sendJson(res, 200, report);
}

const ckpt = (rest: string) => new RegExp(`^/containers/([^/]+)/checkpoints${rest}$`);

/** The checkpoint routes of pier's API (paths without `/v1`). */
export const pierCheckpointRoutes: readonly Route[] = [
  ["POST", /^\/containers\/import$/, containerImport],
  ["POST", /^\/containers\/restore$/, containerRestoreImage],
  ["POST", ckpt(""), checkpointCreate],
  ["GET", ckpt(""), checkpointList],
  ["DELETE", ckpt("/([^/]+)"), checkpointRemove],
  ["POST", ckpt("/([^/]+)/restore"), checkpointRestore],
  ["GET", ckpt("/([^/]+)/export"), checkpointExport],
  ["POST", /^\/containers\/([^/]+)\/migrate$/, containerMigrate],
];
