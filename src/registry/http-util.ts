import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { RegistryError } from "./errors.js";

/** Sends a complete response with a JSON (or empty) body and a correct `Content-Length`. */
export function send(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer,
): void {
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
 * Reads a whole request body of at most `limit` bytes. A declared or actual size over the limit
 * is `tooLarge()`; a client that disconnects mid-body rejects with that error.
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  tooLarge: () => RegistryError,
): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  if (declared !== undefined && total !== declared) {
    throw new RegistryError("SIZE_INVALID", `body has ${total} bytes, Content-Length said ${declared}`);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}
