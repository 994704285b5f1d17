/**
 * pier's own API (`/v1`) for the verbs of `docker-verbs.ts`: top, rename, diff, the archive
 * endpoints (`cp`), export, commit, import, history, save and load. Tar streams and the
 * archive's path stat header are the Docker API's (one wire format for both); JSON bodies are
 * the engine's own types.
 */
import { EngineError } from "../error.js";
import {
  archiveGet,
  archivePut,
  archiveStat,
  containerChanges,
  containerExport,
  containerTopRoute,
  imageHistory,
  imageSave,
} from "./docker-verbs.js";
import { readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new EngineError("INVALID_ARGUMENT", `${name} must be a string`);
  return v;
}

function stringList(body: Record<string, unknown>, name: string): string[] {
  const v = body[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw new EngineError("INVALID_ARGUMENT", `${name} must be an array of strings`);
  return v as string[];
}

async function objectBody(call: Call): Promise<Record<string, unknown>> {
  const body = await readJson(call.req);
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new EngineError("INVALID_ARGUMENT", "the body must be a JSON object");
  return body as Record<string, unknown>;
}

async function rename(call: Call) {
  const name = stringField(await objectBody(call), "name");
  if (!name) throw new EngineError("INVALID_ARGUMENT", "name is required");
  call.engine.containers.rename(call.params[0]!, name);
  call.res.writeHead(204).end();
}

const COMMIT_FIELDS = new Set(["container", "repo", "tag", "author", "comment", "changes", "pause"]);

async function commit(call: Call) {
  const body = await objectBody(call);
  for (const k of Object.keys(body))
    if (!COMMIT_FIELDS.has(k)) throw new EngineError("INVALID_ARGUMENT", `commit: unknown field ${k}`);
  const container = stringField(body, "container");
  if (!container) throw new EngineError("INVALID_ARGUMENT", "container is required");
  if (body.pause !== undefined && typeof body.pause !== "boolean")
    throw new EngineError("INVALID_ARGUMENT", "pause must be a boolean");
  const opt = (k: string) => stringField(body, k) ?? "";
  sendJson(
    call.res,
    201,
    await call.engine.commits.commit(container, {
      repo: opt("repo"),
      tag: opt("tag"),
      author: opt("author"),
      comment: opt("comment"),
      changes: stringList(body, "changes"),
      pause: body.pause !== false,
    }),
  );
}

async function importTar({ engine, req, res, query }: Call) {
  const platform = query.get("platform");
  sendJson(
    res,
    201,
    await engine.commits.importTar(req, {
      repo: query.get("repo") ?? "",
      tag: query.get("tag") ?? "",
      message: query.get("message") ?? "",
      changes: query.getAll("changes"),
      ...(platform ? { platform } : {}),
    }),
  );
}

async function load({ engine, req, res }: Call) {
  sendJson(res, 200, { loaded: await engine.archives.load(req) });
}

const one = (verb: string) => new RegExp(`^/containers/([^/]+)/${verb}$`);

/** The verb routes of pier's API (paths without `/v1`). */
export const pierVerbRoutes: readonly Route[] = [
  ["GET", one("top"), containerTopRoute],
  ["POST", one("rename"), rename],
  ["GET", one("changes"), containerChanges],
  ["HEAD", one("archive"), archiveStat],
  ["GET", one("archive"), archiveGet],
  ["PUT", one("archive"), archivePut],
  ["GET", one("export"), containerExport],
  ["POST", /^\/commit$/, commit],
  ["POST", /^\/images\/import$/, importTar],
  ["GET", /^\/images\/save$/, imageSave],
  ["GET", /^\/images\/(.+)\/history$/, imageHistory],
  ["POST", /^\/images\/load$/, load],
];
