/**
 * The wire format between the front ends (`native/front-end.c`: `pier-runtime`, `pier`) and their
 * service; the C side of it is `native/ctl-relay.h`. Pure: parsing and framing only.
 *
 * Front end -> service, first on a connection: `req LEN\n` + LEN bytes of NUL-terminated fields
 * (cwd, pid, argc, the arguments, envc, the environment), or `sync TOKEN\n` on the second connection
 * that becomes pier-init's sync socket. Later, from pier-init's parent: `exited CODE\n`.
 * Service -> front end: `out LEN\n`/`err LEN\n` + bytes, `exec TOKEN\n`, `exit CODE\n`.
 */
import { PierError } from "../../errors.js";

/** A front end spoke the wire format wrongly (code `PROTOCOL`). */
export class ServiceProtocolError extends PierError {}

/** A command line to run for the caller. */
export interface ServiceRequest {
  cwd: string;
  /** The front end's pid (its cgroups are the caller's). */
  pid: number;
  argv: string[];
  env: Record<string, string>;
}

/** What the first line of a connection says it is. */
export type Opening = { kind: "req"; length: number } | { kind: "sync"; token: string };

/** Largest request accepted: arguments plus environment, far beyond any real command line. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Parses the first line of a connection (without its `\n`); throws `PROTOCOL` when malformed. */
export function parseOpening(line: string): Opening {
  const req = /^req (\d{1,10})$/.exec(line);
  if (req) {
    const length = Number(req[1]);
    if (length > MAX_REQUEST_BYTES)
      throw new ServiceProtocolError("PROTOCOL", `request of ${length} bytes is too large`);
    return { kind: "req", length };
  }
  const sync = /^sync ([0-9a-f]{32})$/.exec(line);
  if (sync) return { kind: "sync", token: sync[1]! };
  throw new ServiceProtocolError("PROTOCOL", `unexpected opening line ${JSON.stringify(line.slice(0, 80))}`);
}

/** Parses a request payload; throws `PROTOCOL` when a field is missing or a count is wrong. */
export function parseRequest(payload: Buffer): ServiceRequest {
  const fields = payload.toString("utf8").split("\0");
  if (fields.pop() !== "") throw new ServiceProtocolError("PROTOCOL", "request does not end with a NUL");
  let i = 0;
  const next = (what: string): string => {
    const v = fields[i++];
    if (v === undefined) throw new ServiceProtocolError("PROTOCOL", `request ends before its ${what}`);
    return v;
  };
  const count = (what: string): number => {
    const v = next(what);
    if (!/^\d{1,7}$/.test(v)) throw new ServiceProtocolError("PROTOCOL", `bad ${what} ${JSON.stringify(v)}`);
    return Number(v);
  };
  const cwd = next("working directory");
  if (!cwd.startsWith("/"))
    throw new ServiceProtocolError("PROTOCOL", "the working directory is not absolute");
  const pid = count("pid");
  const argc = count("argument count");
  const argv: string[] = [];
  for (let k = 0; k < argc; k++) argv.push(next("arguments"));
  const envc = count("environment count");
  const env: Record<string, string> = {};
  for (let k = 0; k < envc; k++) {
    const kv = next("environment");
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (i !== fields.length) throw new ServiceProtocolError("PROTOCOL", "request has trailing fields");
  return { cwd, pid, argv, env };
}

/** Encodes a request as the front end sends it (for tests and other clients). */
export function encodeRequest(req: ServiceRequest): Buffer {
  const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
  const fields = [req.cwd, String(req.pid), String(req.argv.length), ...req.argv, String(env.length), ...env];
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(""), "utf8");
  return Buffer.concat([Buffer.from(`req ${body.length}\n`), body]);
}

/** Frames output for the caller's stdout or stderr. */
export function frameOutput(stream: "out" | "err", data: string | Uint8Array): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return Buffer.concat([Buffer.from(`${stream} ${body.length}\n`), body]);
}

/** The signals a front end may pass on, by name, with their numbers (for `128 + N` statuses). */
export const FORWARDED_SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

/** Parses `sig NAME` from a front end; `undefined` for any other line or an unknown signal. */
export function parseSignal(line: string): NodeJS.Signals | undefined {
  const m = /^sig (SIG[A-Z0-9]+)$/.exec(line);
  return m && FORWARDED_SIGNALS[m[1]!] !== undefined ? (m[1] as NodeJS.Signals) : undefined;
}

/** Parses `exited CODE` from pier-init's parent; `undefined` for any other line. */
export function parseExited(line: string): number | undefined {
  const m = /^exited (\d{1,3})$/.exec(line);
  return m ? Number(m[1]) : undefined;
}
