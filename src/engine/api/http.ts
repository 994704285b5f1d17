/**
 * What both HTTP APIs share: error-to-status mapping (in this one place), JSON replies with the
 * exact `Content-Type: application/json` Docker clients check, bounded JSON bodies, query flags.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PierError } from "../../errors.js";
import { EngineError } from "../error.js";

/** HTTP status for an error code of any layer. Pure. */
export function statusFor(err: unknown): number {
  if (!(err instanceof PierError)) return 500;
  switch (err.code) {
    case "NOT_FOUND":
    case "IMAGE_NOT_FOUND":
    case "CONTAINER_NOT_FOUND":
      return 404;
    case "NAME_CONFLICT":
    case "INVALID_STATE":
    case "AMBIGUOUS_REFERENCE":
      return 409;
    case "INVALID_ARGUMENT":
    case "INVALID_REFERENCE":
    case "NO_COMMAND":
    case "USER_NOT_FOUND":
    case "INVALID_DOCUMENT":
    case "NO_MATCHING_PLATFORM":
      return 400;
    case "UNAUTHORIZED":
    case "DENIED":
      return 401;
    default:
      return 500;
  }
}

/**
 * A signal that aborts when the client goes away before `res` is complete, so that long work
 * done for that request (unpacking layers) stops with it.
 */
export function clientGone(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Sends Docker's error body `{"message"}` (plus pier's stable `code`) with the mapped status. */
export function sendError(res: ServerResponse, err: unknown): void {
  const status = statusFor(err);
  const message = err instanceof Error ? err.message : String(err);
  const body: Record<string, string> = { message };
  if (err instanceof PierError) body.code = err.code;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body);
}

const MAX_BODY = 1024 * 1024;

/**
 * Reads a JSON request body (at most 1 MiB). An empty body is `{}`. Malformed JSON is
 * `INVALID_ARGUMENT` naming the parse error, so the edge answers 400.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new EngineError("INVALID_ARGUMENT", "request body larger than 1 MiB");
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EngineError("INVALID_ARGUMENT", `invalid JSON in request body: ${(err as Error).message}`);
  }
}

/** Docker's boolean query values: `1`, `true`, `True` are true. Pure. */
export function flag(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null || v === "") return dflt;
  return v === "1" || v.toLowerCase() === "true";
}

/** An optional integer query value; `INVALID_ARGUMENT` when it is not one. Pure. */
export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw new EngineError("INVALID_ARGUMENT", `invalid value for ${name}: ${v}`);
  return Number(v);
}

/** Docker's `since`/`until` values: unix seconds with an optional fraction. Pure. */
export function timeParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "" || v === "0") return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new EngineError("INVALID_ARGUMENT", `invalid value for ${name}: ${v}`);
  return Number(v);
}
