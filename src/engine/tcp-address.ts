/**
 * `HOST:PORT` of a TCP endpoint pierd opens or dials: the Docker API's TLS listener, the CRI
 * streaming server, a migration's `tcp://` target. One parser for all of them, in its own
 * module so the daemon and the fronts it composes both import it downward.
 */
import { isIPv6 } from "node:net";
import { EngineError } from "./error.js";

/** A parsed address: the host without IPv6 brackets, and the port. */
export interface TcpAddress {
  host: string;
  port: number;
}

/** What {@link parseTcpAddress} is parsing, for its errors and its port check. */
export interface TcpAddressUse {
  /** What the text is, for the error (`invalid ${what} "…"`); default `TCP address`. */
  what?: string;
  /** The address is dialled, not listened on: port 0 (any port) is refused. */
  dial?: boolean;
}

/**
 * `HOST:PORT` (`127.0.0.1:2376`, `node1:2376`, `[::1]:2376`); `tcp://` is accepted and
 * stripped. Throws `INVALID_ARGUMENT` naming the text and what is wrong with it: no host, no
 * port, a port that is not a number from 0 (1 to dial) to 65535, an IPv6 host without its
 * brackets or a bracketed host that is not IPv6, anything after the port (a path, a query). Pure.
 */
export function parseTcpAddress(text: string, use: TcpAddressUse = {}): TcpAddress {
  const scheme = text.startsWith("tcp://") ? "tcp://" : "";
  const bad = (why: string) =>
    new EngineError(
      "INVALID_ARGUMENT",
      `invalid ${use.what ?? "TCP address"} ${JSON.stringify(text)}: ${why} (want ${scheme}HOST:PORT)`,
    );
  const rest = text.slice(scheme.length);
  if (/[/?#@\s]/.test(rest)) throw bad("only a host and a port may be given");
  let host: string;
  let port: string;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) throw bad("no ] after the IPv6 address");
    host = rest.slice(1, close);
    if (!isIPv6(host)) throw bad(`${JSON.stringify(host)} in brackets is not an IPv6 address`);
    if (rest[close + 1] !== ":") throw bad("no port");
    port = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon < 0) throw bad("no port");
    host = rest.slice(0, colon);
    port = rest.slice(colon + 1);
    if (host.includes(":"))
      throw bad(isIPv6(host) ? `an IPv6 host goes in brackets: [${host}]:${port}` : "more than one colon");
  }
  if (host === "") throw bad("no host");
  if (port === "") throw bad("no port");
  const min = use.dial ? 1 : 0;
  if (!/^\d{1,5}$/.test(port) || Number(port) < min || Number(port) > 65535)
    throw bad(`port ${JSON.stringify(port)} is not a number from ${min} to 65535`);
  return { host, port: Number(port) };
}
