/**
 * `HOST:PORT` of a TCP listener the daemon opens (the Docker API's TLS listener, the CRI
 * streaming server). Its own module so the daemon and the fronts it composes both import it
 * downward.
 */
import { EngineError } from "./error.js";

/** A parsed listener address: the host without IPv6 brackets, and the port. */
export interface TcpAddress {
  host: string;
  port: number;
}

/**
 * `HOST:PORT` (`127.0.0.1:2376`, `[::1]:2376`) of a TCP listener. `tcp://` is accepted and
 * stripped; a missing host or port, or a port above 65535, is `INVALID_ARGUMENT`. Pure.
 */
export function parseTcpAddress(text: string): TcpAddress {
  const m = /^(?:tcp:\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535)
    throw new EngineError("INVALID_ARGUMENT", `invalid TCP address ${JSON.stringify(text)}: want HOST:PORT`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}
