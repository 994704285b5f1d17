/**
 * Host ports for published container ports: each one bindable on its address right now (a
 * host process listening there is refused: portmap's DNAT would silently take the port from
 * it) and not published by another container; port 0 gets a free one from the kernel.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { NetworkError } from "./error.js";
import type { PortMapping } from "./ports.js";

/**
 * The host ports for `ports`, given the ones other containers publish (`used`): a port taken
 * there or by a host process is `INVALID_STATE` (Docker's "already allocated"); 0 gets a free one.
 */
export async function allocatePorts(
  ports: readonly PortMapping[],
  used: readonly PortMapping[],
): Promise<PortMapping[]> {
  const taken = [...used];
  const out: PortMapping[] = [];
  for (const p of ports) {
    const hostPort = await bindPort(p.hostIP, p.hostPort, p.protocol);
    const clash = taken.find(
      (u) =>
        u.hostPort === hostPort &&
        u.protocol === p.protocol &&
        (u.hostIP === p.hostIP || u.hostIP === "" || p.hostIP === ""),
    );
    if (clash)
      throw new NetworkError(
        "INVALID_STATE",
        `Bind for ${p.hostIP || "0.0.0.0"}:${hostPort} failed: port is already allocated`,
      );
    const m = { ...p, hostPort };
    taken.push(m);
    out.push(m);
  }
  return out;
}

/**
 * Checks that `port` (0: the kernel's pick of a free one) can be bound on `ip` right now and
 * resolves with it. Throws `INVALID_STATE` when something listens there.
 */
function bindPort(ip: string, port: number, protocol: "tcp" | "udp"): Promise<number> {
  const host = ip || "0.0.0.0";
  const failed = (err: NodeJS.ErrnoException): NetworkError =>
    err.code === "EADDRINUSE"
      ? new NetworkError("INVALID_STATE", `Bind for ${host}:${port} failed: port is already allocated`)
      : err.code === "EADDRNOTAVAIL"
        ? new NetworkError("INVALID_ARGUMENT", `cannot publish on ${host}: not an address of this host`)
        : new NetworkError("INVALID_STATE", `Bind for ${host}:${port} failed: ${err.message}`);
  if (protocol === "udp")
    return new Promise((resolve, reject) => {
      const s = createSocket("udp4");
      s.on("error", (e) => reject(failed(e)));
      s.bind(port, host, () => {
        const bound = s.address().port;
        s.close(() => resolve(bound));
      });
    });
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", (e) => reject(failed(e)));
    s.listen(port, host, () => {
      const addr = s.address();
      const bound = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(bound));
    });
  });
}
