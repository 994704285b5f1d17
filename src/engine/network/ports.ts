/**
 * Published ports: the `-p [IP:][HOST:]CONTAINER[/tcp|udp]` grammar, Docker's
 * `HostConfig.PortBindings` document, and how Docker shows them back (`NetworkSettings.Ports`,
 * the `Ports` of `docker ps`). Pure.
 */
import { isIP } from "node:net";
import { NetworkError } from "./error.js";

/** Transport protocols that can be published. */
export type PortProtocol = "tcp" | "udp";

/**
 * One published port. `hostIP` "" means every host address; `hostPort` 0 means "any free port",
 * chosen when the container starts.
 */
export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

function bad(spec: string, why: string): NetworkError {
  return new NetworkError("INVALID_ARGUMENT", `invalid port specification ${JSON.stringify(spec)}: ${why}`);
}

function portRange(text: string, what: string, spec: string, allowZero: boolean): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) throw bad(spec, `${what} ${JSON.stringify(text)} is not a port number`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  for (const p of [lo, hi])
    if (p > 65535 || (p === 0 && !allowZero)) throw bad(spec, `${what} ${p} is out of range 1-65535`);
  if (hi < lo) throw bad(spec, `${what} range ${text} ends before it starts`);
  return [lo, hi];
}

function protocolOf(text: string | undefined, spec: string): PortProtocol {
  if (text === undefined || text === "" || text === "tcp") return "tcp";
  if (text === "udp") return "udp";
  throw bad(spec, `protocol ${JSON.stringify(text)} is not tcp or udp`);
}

function hostAddress(text: string, spec: string): string {
  const ip = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (ip !== "" && isIP(ip) === 0) throw bad(spec, `${JSON.stringify(ip)} is not an IP address`);
  if (isIP(ip) === 6) throw bad(spec, "IPv6 host addresses are not supported by pier's networks yet");
  return ip === "0.0.0.0" ? "" : ip;
}

/**
 * Parses one `-p` value as the docker CLI does: `CONTAINER`, `HOST:CONTAINER`,
 * `IP:HOST:CONTAINER`, `IP::CONTAINER`, each with an optional `/tcp` or `/udp`; ports may be
 * ranges of equal length (`8000-8001:80-81`). Throws `INVALID_ARGUMENT` naming the bad part.
 */
export function parsePortSpec(spec: string): PortMapping[] {
  const slash = spec.lastIndexOf("/");
  const body = slash >= 0 ? spec.slice(0, slash) : spec;
  const protocol = protocolOf(slash >= 0 ? spec.slice(slash + 1) : undefined, spec);
  // An IPv6 address in brackets holds colons of its own.
  const v6 = /^(\[[^\]]*\]):(.*)$/.exec(body);
  const parts = v6 ? [v6[1]!, ...v6[2]!.split(":")] : body.split(":");
  let ip = "";
  let host = "";
  let ctr: string;
  if (parts.length === 1) ctr = parts[0]!;
  else if (parts.length === 2) [host, ctr] = parts as [string, string];
  else if (parts.length === 3) [ip, host, ctr] = parts as [string, string, string];
  else throw bad(spec, "expected [IP:][HOST:]CONTAINER[/PROTOCOL]");
  if (ctr === "") throw bad(spec, "the container port is missing");
  const hostIP = hostAddress(ip, spec);
  const [cLo, cHi] = portRange(ctr, "container port", spec, false);
  const [hLo, hHi] = host === "" ? [0, 0] : portRange(host, "host port", spec, true);
  if (host !== "" && hHi - hLo !== cHi - cLo)
    throw bad(spec, "the host and container port ranges must have the same length");
  const out: PortMapping[] = [];
  for (let i = 0; i <= cHi - cLo; i++)
    out.push({ hostIP, hostPort: hLo === 0 ? 0 : hLo + i, containerPort: cLo + i, protocol });
  return out;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Docker's `HostConfig.PortBindings` (`{"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}]}`)
 * as port mappings. Throws `INVALID_ARGUMENT` naming the bad key or binding.
 */
export function portBindingsFromDocker(bindings: unknown): PortMapping[] {
  if (bindings === undefined || bindings === null) return [];
  if (typeof bindings !== "object" || Array.isArray(bindings))
    throw new NetworkError("INVALID_ARGUMENT", "HostConfig.PortBindings must be an object");
  const out: PortMapping[] = [];
  for (const [key, list] of Object.entries(bindings)) {
    const m = /^(\d+)(?:\/(\w+))?$/.exec(key);
    if (!m) throw bad(key, "expected CONTAINER_PORT[/PROTOCOL]");
    const [containerPort] = portRange(m[1]!, "container port", key, false);
    const protocol = protocolOf(m[2], key);
    const entries = list === null ? [{}] : list;
    if (!Array.isArray(entries)) throw bad(key, "the bindings must be an array");
    for (const b of entries.length ? entries : [{}]) {
      const e = obj(b);
      const hostIP = hostAddress(typeof e.HostIp === "string" ? e.HostIp : "", key);
      const hp = e.HostPort === undefined || e.HostPort === null ? "" : String(e.HostPort);
      const [hostPort] = hp === "" ? [0] : portRange(hp, "host port", `${hp}:${key}`, true);
      out.push({ hostIP, hostPort, containerPort, protocol });
    }
  }
  return checkPortConflicts(out);
}

/** Refuses two mappings of one host address (or "every address"), port and protocol. Returns `ports`. */
export function checkPortConflicts(ports: PortMapping[]): PortMapping[] {
  ports.forEach((p, i) => {
    if (p.hostPort === 0) return;
    const clash = ports.some(
      (q, j) =>
        j < i &&
        q.hostPort === p.hostPort &&
        q.protocol === p.protocol &&
        (q.hostIP === p.hostIP || q.hostIP === "" || p.hostIP === ""),
    );
    if (clash)
      throw new NetworkError("INVALID_ARGUMENT", `host port ${p.hostPort}/${p.protocol} is published twice`);
  });
  return ports;
}

/** Validates untrusted port mappings (pier's own API body, a stored record). */
export function checkPortMappings(v: unknown): PortMapping[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new NetworkError("INVALID_ARGUMENT", "ports must be an array");
  const out = v.map((p): PortMapping => {
    const e = obj(p);
    const spec = JSON.stringify(p);
    const int = (x: unknown, what: string, zero: boolean): number => {
      if (typeof x !== "number" || !Number.isInteger(x) || x < (zero ? 0 : 1) || x > 65535)
        throw bad(spec, `${what} must be an integer in ${zero ? 0 : 1}-65535`);
      return x;
    };
    return {
      hostIP: hostAddress(typeof e.hostIP === "string" ? e.hostIP : "", spec),
      hostPort: int(e.hostPort ?? 0, "hostPort", true),
      containerPort: int(e.containerPort, "containerPort", false),
      protocol: protocolOf(typeof e.protocol === "string" ? e.protocol : undefined, spec),
    };
  });
  return checkPortConflicts(out);
}

/** Docker's `NetworkSettings.Ports`: published ports with their bindings, exposed ones as null. */
export function dockerPortMap(
  ports: readonly PortMapping[],
  exposed: readonly string[] = [],
): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const e of exposed) out[e.includes("/") ? e : `${e}/tcp`] = null;
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    const list = out[key] ?? [];
    list.push({ HostIp: p.hostIP || "0.0.0.0", HostPort: p.hostPort ? String(p.hostPort) : "" });
    out[key] = list;
  }
  return out;
}

/** The `Ports` of one `GET /containers/json` entry (what `docker ps` shows). */
export function dockerPortList(
  ports: readonly PortMapping[],
): { IP?: string; PrivatePort: number; PublicPort?: number; Type: PortProtocol }[] {
  return ports.map((p) => ({
    IP: p.hostIP || "0.0.0.0",
    PrivatePort: p.containerPort,
    ...(p.hostPort ? { PublicPort: p.hostPort } : {}),
    Type: p.protocol,
  }));
}

function exposedKey(text: string): string | undefined {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) return undefined;
  return `${Number(m[1])}/${m[2] ?? "tcp"}`;
}

/**
 * A container's exposed ports (the image's `ExposedPorts` and its own, as `8080/tcp`, keys
 * that are not ports left out) and its port mappings; with `publishAll` (`-P`) every exposed
 * port without a mapping is published on a free host port.
 */
export function exposeAndPublish(
  imageExposed: readonly string[],
  c: { ports?: readonly PortMapping[]; exposedPorts?: readonly string[]; publishAll?: boolean },
): { exposedPorts: string[]; ports: PortMapping[] } {
  const exposedPorts = [
    ...new Set([...imageExposed, ...(c.exposedPorts ?? [])].map(exposedKey).filter((k) => k !== undefined)),
  ];
  const ports = [...(c.ports ?? [])];
  if (c.publishAll)
    for (const key of exposedPorts) {
      const [port, protocol] = key.split("/") as [string, PortProtocol];
      if (ports.some((p) => p.containerPort === Number(port) && p.protocol === protocol)) continue;
      ports.push({ hostIP: "", hostPort: 0, containerPort: Number(port), protocol });
    }
  return { exposedPorts, ports };
}

/** Ports as `docker ps` prints them: `127.0.0.1:8080->80/tcp, 0.0.0.0:53->53/udp`. */
export function formatPorts(ports: readonly PortMapping[]): string {
  return ports
    .map((p) => `${p.hostIP || "0.0.0.0"}:${p.hostPort || "?"}->${p.containerPort}/${p.protocol}`)
    .join(", ");
}
