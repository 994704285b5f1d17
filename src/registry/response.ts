/**
 * The registry's HTTP response (the server's `ServerResponse` class): it carries what the
 * request's bookkeeping needs (its id, arrival time, route label and user, for the metrics and
 * the access log) as plain fields, and adds the two headers every answer has
 * (`Docker-Distribution-API-Version`, `X-Request-Id`) in the `writeHead` call that sends the
 * others.
 *
 * Why not `setHeader` at the start of each request, as before: a header set that way makes
 * Node's `writeHead` take its slow path (every header of the answer goes through `setHeader`
 * again, is validated twice and lower-cased into a map), and a closure plus a `once` wrapper per
 * request for the `finish` bookkeeping cost as much again. A manifest `GET` spent more in them
 * than in the rest of the registry's code (bench/registry's CPU profile, session 8).
 */
import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
} from "node:http";

/** The header distribution sends on every answer (clients probe `/v2/` for it). */
export const API_VERSION_HEADER = "Docker-Distribution-API-Version";
/** Its value. */
export const API_VERSION = "registry/2.0";

/** A response of the registry's HTTP server (`http.createServer({ ServerResponse: RegistryResponse })`). */
export class RegistryResponse extends ServerResponse<IncomingMessage> {
  /** The request's id (`X-Request-Id`): the client's when well formed, else one the server made. */
  requestId = "";
  /** When the request arrived (`performance.now()`). */
  started = 0;
  /** The route label of the metrics and the access log. */
  route = "other";
  /** The authenticated user (for the access log), `undefined` when anonymous. */
  user: string | undefined = undefined;
  /** The body's length as `Content-Length` announced it (0 without one). */
  announcedBytes = 0;

  /**
   * Sends the status line and headers, with the registry's two headers added. A headers object
   * (or none: Node's implicit header) gets them as two more fields — it is the caller's to give
   * away, as every handler builds one per answer — so that Node takes its fast path; any other
   * form (a raw header array) falls back to `setHeader`. (A copy of the object, `{ ...given }`,
   * was measured: V8 promoted 6x more bytes per request to the old generation with it, which
   * grew the heap by 20 MiB within 10 s of `wrk`.)
   */
  override writeHead(
    statusCode: number,
    reasonOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    if (
      reasonOrHeaders === undefined ||
      (typeof reasonOrHeaders === "object" && !Array.isArray(reasonOrHeaders))
    ) {
      const given: OutgoingHttpHeaders = reasonOrHeaders ?? {};
      const length = given["Content-Length"] ?? given["content-length"];
      this.announcedBytes = length === undefined ? 0 : Number(length);
      given[API_VERSION_HEADER] = API_VERSION;
      given["X-Request-Id"] = this.requestId;
      return super.writeHead(statusCode, given);
    }
    this.setHeader(API_VERSION_HEADER, API_VERSION);
    this.setHeader("X-Request-Id", this.requestId);
    const out =
      typeof reasonOrHeaders === "string"
        ? super.writeHead(statusCode, reasonOrHeaders, headers)
        : super.writeHead(statusCode, reasonOrHeaders);
    this.announcedBytes = Number(this.getHeader("Content-Length") ?? 0);
    return out;
  }
}
