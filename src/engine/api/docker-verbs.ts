/**
 * The Docker API's further verbs, translated to the engine: `top`, `rename`, `diff`
 * (`/changes`), `cp` (`HEAD/GET/PUT /archive` with `X-Docker-Container-Path-Stat`), `export`,
 * `commit`, `history`, `save` (`/images/get`, `/images/{name}/get`), `load`, `import`
 * (`/images/create?fromSrc=-`, called from the pull route) and `login` (`POST /auth`).
 */
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PathStat } from "../container-files.js";
import { containerTop } from "../container-top.js";
import { EngineError } from "../error.js";
import { familiarName } from "../image-operations.js";
import { type AuthConfig, credentialsOf, loginRegistry } from "../registry-auth.js";
import { flag, readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

/** The header Docker's CLI reads a path's stat from (base64 of the JSON stat). */
const PATH_STAT_HEADER = "X-Docker-Container-Path-Stat";

function statHeader(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString("base64");
}

function requiredParam(query: URLSearchParams, name: string): string {
  const v = query.get(name);
  if (!v) throw new EngineError("INVALID_ARGUMENT", `${name} is required`);
  return v;
}

/** Streams `tar` as the reply; a failure after the headers cuts the connection (the client sees a short tar). */
async function sendTar(
  res: ServerResponse,
  tar: Readable,
  headers: Record<string, string> = {},
): Promise<void> {
  res.writeHead(200, { "Content-Type": "application/x-tar", ...headers });
  try {
    await pipeline(tar, res);
  } catch {
    res.destroy();
  }
}

/** `containerTopRoute` handler (both APIs: the same wire format). */
export async function containerTopRoute({ engine, res, params, query }: Call) {
  sendJson(res, 200, await containerTop(engine.containers, params[0]!, query.get("ps_args") || undefined));
}

function containerRename({ engine, res, params, query }: Call) {
  engine.containers.rename(params[0]!, requiredParam(query, "name"));
  res.writeHead(204).end();
}

/** `containerChanges` handler (both APIs: the same wire format). */
export async function containerChanges({ engine, res, params }: Call) {
  const changes = await engine.files.changes(params[0]!);
  sendJson(res, 200, changes.length ? changes : null);
}

/** `archiveStat` handler (both APIs: the same wire format). */
export async function archiveStat({ engine, res, params, query }: Call) {
  const stat = await engine.files.stat(params[0]!, requiredParam(query, "path"));
  res.writeHead(200, { [PATH_STAT_HEADER]: statHeader(stat), "Content-Type": "application/json" }).end();
}

/** `archiveGet` handler (both APIs: the same wire format). */
export async function archiveGet({ engine, res, params, query }: Call) {
  const { stat, tar } = await engine.files.archive(params[0]!, requiredParam(query, "path"));
  await sendTar(res, tar, { [PATH_STAT_HEADER]: statHeader(stat) });
}

/** `archivePut` handler (both APIs: the same wire format). */
export async function archivePut({ engine, req, res, params, query }: Call) {
  await engine.files.extract(params[0]!, requiredParam(query, "path"), req, {
    noOverwriteDirNonDir: flag(query, "noOverwriteDirNonDir"),
    copyUidGid: flag(query, "copyUIDGID"),
  });
  res.writeHead(200).end();
}

/** `containerExport` handler (both APIs: the same wire format). */
export async function containerExport({ engine, res, params }: Call) {
  await sendTar(res, await engine.files.export(params[0]!));
}

async function commit({ engine, req, res, query }: Call) {
  const body = await readJson(req);
  // The CLI sends no config; one in the body would be merged by Docker, which pier does not do.
  if (body !== null && typeof body === "object" && Object.keys(body).length > 0)
    throw new EngineError(
      "INVALID_ARGUMENT",
      `commit: a container config in the request body is not supported (fields ${Object.keys(body).join(", ")}); use changes`,
    );
  const made = await engine.commits.commit(requiredParam(query, "container"), {
    repo: query.get("repo") ?? "",
    tag: query.get("tag") ?? "",
    author: query.get("author") ?? "",
    comment: query.get("comment") ?? "",
    changes: query.getAll("changes"),
    pause: flag(query, "pause", true),
  });
  sendJson(res, 201, { Id: made.id });
}

/** `POST /images/create?fromSrc=-` (the pull route hands it over): the body is the tar. */
export async function imageImport({ engine, req, res, query }: Call): Promise<void> {
  const src = query.get("fromSrc");
  if (src !== "-")
    throw new EngineError(
      "INVALID_ARGUMENT",
      `import from ${JSON.stringify(src)}: pierd imports only the request body (fromSrc=-); download the file and pipe it`,
    );
  const platform = query.get("platform");
  const made = await engine.commits.importTar(req, {
    repo: query.get("repo") ?? "",
    tag: query.get("tag") ?? "",
    message: query.get("message") ?? "",
    changes: query.getAll("changes"),
    ...(platform ? { platform } : {}),
  });
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(`${JSON.stringify({ status: made.id })}\r\n`);
}

/** `imageHistory` handler (both APIs: the same wire format). */
export async function imageHistory({ engine, res, params }: Call) {
  sendJson(res, 200, await engine.archives.history(params[0]!));
}

/** `imageSave` handler (both APIs: the same wire format). */
export async function imageSave({ engine, res, params, query }: Call) {
  const names = await engine.archives.saveNames(params[0] ? [params[0]] : query.getAll("names"));
  res.writeHead(200, { "Content-Type": "application/x-tar" });
  try {
    await engine.archives.save(names, res);
    res.end();
  } catch {
    res.destroy();
  }
}

async function imageLoad({ engine, req, res, query }: Call) {
  const loaded = await engine.archives.load(req);
  const quiet = flag(query, "quiet");
  res.writeHead(200, { "Content-Type": "application/json" });
  for (const n of loaded) {
    const line = n.startsWith("sha256:") ? `Loaded image ID: ${n}\n` : `Loaded image: ${familiarName(n)}\n`;
    res.write(`${JSON.stringify(quiet ? { stream: line } : { stream: line })}\r\n`);
  }
  res.end();
}

async function auth({ engine, req, res }: Call) {
  const body = await readJson(req);
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new EngineError("INVALID_ARGUMENT", "auth: the body must be a JSON object");
  const a = body as AuthConfig;
  const creds = credentialsOf(a);
  if (!creds)
    throw new EngineError("INVALID_ARGUMENT", "auth: username and password (or identitytoken) required");
  await engine.images.service.login(loginRegistry(a.serveraddress), creds);
  sendJson(res, 200, { Status: "Login Succeeded", IdentityToken: "" });
}

const one = (verb: string) => new RegExp(`^/containers/([^/]+)/${verb}$`);

/** The routes of this module, matched before the families' own. */
export const dockerVerbRoutes: readonly Route[] = [
  ["GET", one("top"), containerTopRoute],
  ["POST", one("rename"), containerRename],
  ["GET", one("changes"), containerChanges],
  ["HEAD", one("archive"), archiveStat],
  ["GET", one("archive"), archiveGet],
  ["PUT", one("archive"), archivePut],
  ["GET", one("export"), containerExport],
  ["POST", /^\/commit$/, commit],
  ["GET", /^\/images\/get$/, imageSave],
  ["GET", /^\/images\/(.+)\/get$/, imageSave],
  ["GET", /^\/images\/(.+)\/history$/, imageHistory],
  ["POST", /^\/images\/load$/, imageLoad],
  ["POST", /^\/auth$/, auth],
];
