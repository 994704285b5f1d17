/** One HTTP request to a test daemon's API over its unix socket, for tests that speak raw HTTP. */
import { type IncomingHttpHeaders, request } from "node:http";

/** What {@link socketRequest} got: the status, the whole body as text, the headers. */
export interface SocketResponse {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/** Sends `method path` with `body` to the HTTP server on unix socket `socketPath`; resolves once the body has ended. */
export function socketRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers?: Record<string, string>,
): Promise<SocketResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, ...(headers ? { headers } : {}) }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => {
        text += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
