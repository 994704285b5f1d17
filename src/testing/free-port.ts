/** A TCP port for a test to listen on or to find closed. */
import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that nobody listens on right now (the kernel's pick, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
