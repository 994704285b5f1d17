/**
 * A small client of pierd's own API (`/v1`, see docs/engine-api.yaml) over its unix socket:
 * `PIER_HOST`, else `/run/pier/pier.sock`. Errors come back as {@link EngineClientError} with the
 * daemon's stable code.
 */

import type { IncomingMessage } from "node:http";
import { request } from "node:http";
import { PierError } from "../../errors.js";
import { commandIo } from "../io.js";

/** The default socket of pierd's own API. */
export const DEFAULT_PIER_SOCKET = "/run/pier/pier.sock";

/** An error the daemon answered with (its `code`), or `UNREACHABLE`. */
export class EngineClientError extends PierError {
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(code, message);
    this.status = status;
  }
}

/** The socket to use: `PIER_HOST` (a path, or `unix://path`), else the default. */
export function pierSocket(): string {
  return (commandIo().env.PIER_HOST ?? DEFAULT_PIER_SOCKET).replace(/^unix:\/\//, "");
}

/** The error that a 4xx/5xx response carries (`{"message","code"}`, or its text). */
export async function responseError(res: IncomingMessage): Promise<EngineClientError> {
  let text = "";
  for await (const c of res) text += (c as Buffer).toString();
  let message = text;
  let code = "DAEMON_ERROR";
  try {
    const v = JSON.parse(text) as { message?: string; code?: string };
    message = v.message ?? text;
    code = v.code ?? code;
  } catch {}
  return new EngineClientError(code, message, res.statusCode ?? 500);
}

/** Sends one request; resolves with the response once its headers arrived. */
export function call(method: string, path: string, body?: unknown): Promise<IncomingMessage> {
  const socketPath = pierSocket();
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        signal: commandIo().signal,
        headers: data
          ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) }
          : {},
      },
      async (res) => {
        if ((res.statusCode ?? 500) < 400) {
          resolve(res);
          return;
        }
        reject(await responseError(res));
      },
    );
    req.on("error", (err) =>
      reject(new EngineClientError("UNREACHABLE", `cannot reach pierd at ${socketPath}: ${err.message}`, 0)),
    );
    req.end(data);
  });
}

/** Sends one request and parses a JSON answer (`undefined` for 204). */
export async function callJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await call(method, path, body);
  let text = "";
  for await (const c of res) text += (c as Buffer).toString();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Reads a JSON-lines response, one parsed value per line. */
export async function* jsonLines<T>(res: IncomingMessage): AsyncGenerator<T> {
  let buf = "";
  for await (const c of res) {
    buf += (c as Buffer).toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
      if (line.trim()) yield JSON.parse(line) as T;
    }
  }
}
