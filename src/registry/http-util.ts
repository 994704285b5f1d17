import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { RegistryError, type RegistryErrorCode } from "./errors.js";

// Requests whose client waits for `100 Continue` before sending its body, and their responses.
const awaitingContinue = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * Sends a complete response with a JSON (or empty) body and a correct `Content-Length` (and
 * `Connection: close` when the request's body was announced with `Expect: 100-continue` and never
 * asked for).
 */
export function send(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer,
): void {
  // A client still waiting for `100 Continue` has not sent its body, and will not: the
  // connection cannot carry another request after this one.
  if (awaitingContinue.has(res.req)) headers.Connection = "close";
  if (body === undefined) {
    headers["Content-Length"] = 0;
    res.writeHead(status, headers);
    res.end();
    return;
  }
  headers["Content-Length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, headers);
  res.end(body);
}

/** Sends a JSON document (`Content-Type: application/json` unless given). */
export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  headers["Content-Type"] ??= "application/json";
  send(res, status, headers, JSON.stringify(value));
}

/** The declared `Content-Length`, `undefined` when absent; a malformed one is `SIZE_INVALID`. */
export function contentLength(req: IncomingMessage): number | undefined {
  const raw = req.headers["content-length"];
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw))
    throw new RegistryError("SIZE_INVALID", `malformed Content-Length ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * Defers the `100 Continue` a request with `Expect: 100-continue` asks for until a handler
 * reads its body ({@link bodyChunks}): a request refused before that (401, 413) is answered at
 * once, and its client never sends the body. For the server's `checkContinue` event.
 */
export function deferContinue(req: IncomingMessage, res: ServerResponse): void {
  awaitingContinue.set(req, res);
}

/** True while the client of `req` still waits for `100 Continue` (it has sent no body). */
export function isAwaitingContinue(req: IncomingMessage): boolean {
  return awaitingContinue.has(req);
}

function sendContinue(req: IncomingMessage): void {
  const res = awaitingContinue.get(req);
  if (res === undefined) return;
  awaitingContinue.delete(req);
  res.writeContinue();
}

/** The slowest request body accepted: below `minBytesPerSecond` on average after `graceMs`, it is cut off. */
export interface BodyPace {
  minBytesPerSecond: number;
  graceMs: number;
  /** The spec code the 408 answer carries (`BLOB_UPLOAD_INVALID`, `MANIFEST_INVALID`). */
  code: RegistryErrorCode;
}

/**
 * The request body's chunks. Stopping early (an error, a size limit) does not destroy the
 * request, so its error can still be answered (see {@link sendBeforeBody}). With a `pace`, a body
 * that arrives slower than the minimum on average, once `graceMs` have passed, fails with 408:
 * a client trickling a byte now and then cannot hold a connection for long.
 */
export async function* bodyChunks(req: IncomingMessage, pace?: BodyPace): AsyncGenerator<Buffer> {
  sendContinue(req);
  const started = performance.now();
  let total = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (pace && pace.minBytesPerSecond > 0) {
      const ms = performance.now() - started;
      if (ms > pace.graceMs && (total * 1000) / ms < pace.minBytesPerSecond) {
        throw new RegistryError(
          pace.code,
          `request body too slow: ${total} bytes in ${Math.round(ms / 1000)} s, below the minimum of ${pace.minBytesPerSecond} bytes/s`,
          { status: 408 },
        );
      }
    }
    yield chunk;
  }
}

/**
 * Reads a whole request body of at most `limit` bytes. A declared or actual size over the limit
 * is `tooLarge()`; a client that disconnects mid-body rejects with that error.
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  tooLarge: () => RegistryError,
  pace?: BodyPace,
): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(req, pace)) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  if (declared !== undefined && total !== declared) {
    throw new RegistryError("SIZE_INVALID", `body has ${total} bytes, Content-Length said ${declared}`);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** How much of an unread body is read and discarded before an early answer closes the connection. */
export interface DrainLimits {
  maxBytes: number;
  maxMs: number;
}

/** The defaults: 64 MiB (a refused manifest, a small blob) within 30 s. */
export const DRAIN_LIMITS: DrainLimits = { maxBytes: 64 << 20, maxMs: 30_000 };

/**
 * Answers a request whose body has not been (fully) read — an early 401, 413 or 503 — so that
 * clients that send the whole body before reading (no `Expect: 100-continue`: Python, chunked
 * uploads) still see the answer: the response goes out whole at once with `Connection: close`,
 * then the rest of the body is read and discarded, up to `limits`, and only then is the
 * connection closed. Closing with unread data would make the kernel reset the connection, and
 * the client lose the answer with it. A body past the limits (or claimed so by its
 * `Content-Length`) is cut off all the same.
 */
export function sendBeforeBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: string,
  limits: DrainLimits = DRAIN_LIMITS,
): void {
  headers.Connection = "close";
  headers["Content-Length"] = Buffer.byteLength(body);
  res.writeHead(status, headers);
  // A body claimed larger than the bound is not waited for at all (a refused 10 GB upload).
  const raw = req.headers["content-length"];
  if (
    limits.maxMs <= 0 ||
    (raw !== undefined && !(/^\d{1,16}$/.test(raw) && Number(raw) <= limits.maxBytes))
  ) {
    res.end(body);
    return;
  }
  res.write(body);
  let seen = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.off("data", onData);
    res.end();
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limits.maxBytes) finish();
  };
  const timer = setTimeout(finish, limits.maxMs);
  req.on("data", onData);
  req.once("end", finish);
  req.once("close", finish);
  req.resume();
}
