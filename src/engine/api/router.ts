/**
 * Route tables of the engine's HTTP fronts: `[method, pattern, handler]`, one named handler per
 * endpoint, matched in order on the path (without a version prefix or query). A pattern's groups
 * are the handler's parameters, percent-decoded.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Engine } from "../engine.js";

/** One request as a handler sees it. */
export interface Call {
  /** The operations the handler translates to. */
  engine: Engine;
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  /** The pattern's groups, decoded. */
  params: string[];
}

/** The handler of one endpoint. */
export type Handler = (call: Call) => Promise<void> | void;

/** One endpoint: HTTP method, a pattern anchored on both ends, its handler. */
export type Route = readonly [method: string, pattern: RegExp, handler: Handler];

/** One connection hijack (`Upgrade: tcp`) as a handler sees it. */
export interface UpgradeCall {
  engine: Engine;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  query: URLSearchParams;
  params: string[];
}

/** The handler of one upgrade endpoint. */
export type UpgradeRoute = readonly [method: string, pattern: RegExp, handler: (call: UpgradeCall) => void];

/** Splits `/v1.41/containers/json` into the API path; the version prefix is optional. Pure. */
export function apiPath(url: string): { path: string; query: URLSearchParams } {
  const u = new URL(url, "http://docker");
  return { path: u.pathname.replace(/^\/v\d+\.\d+(?=\/)/, ""), query: u.searchParams };
}

/**
 * The first route of `routes` for `method` and `path`, with its decoded groups; `undefined` when
 * none matches (or a group does not decode). Pure.
 */
export function matchRoute<R extends readonly [string, RegExp, unknown]>(
  routes: readonly R[],
  method: string,
  path: string,
): { route: R; params: string[] } | undefined {
  for (const route of routes) {
    if (route[0] !== method) continue;
    const m = route[1].exec(path);
    if (!m) continue;
    try {
      return { route, params: m.slice(1).map((g) => (g === undefined ? "" : decodeURIComponent(g))) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
