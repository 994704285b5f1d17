/**
 * The files a container gets bind-mounted at `/etc/hosts`, `/etc/resolv.conf` and
 * `/etc/hostname`, rendered as Docker renders them. Pure.
 */

/** One `/etc/hosts` line: an address and the names that resolve to it. */
export interface HostEntry {
  ip: string;
  names: string[];
}

const BASE = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

/**
 * Docker's `/etc/hosts`: localhost and the IPv6 names, the container's own address with its
 * names (or 127.0.0.1 when it has no address, so its hostname still resolves), then `peers`
 * (the other containers of a user network) in the given order. Names are deduplicated per line.
 */
export function renderHosts(
  self: HostEntry | { ip?: undefined; names: string[] },
  peers: readonly HostEntry[] = [],
): string {
  const line = (e: HostEntry) => `${e.ip}\t${[...new Set(e.names.filter(Boolean))].join(" ")}`;
  const lines = [...BASE, line({ ip: self.ip ?? "127.0.0.1", names: self.names })];
  for (const p of peers) if (p.names.length) lines.push(line(p));
  return `${lines.join("\n")}\n`;
}

/** Public resolvers Docker falls back to when the host has none the container can reach. */
export const FALLBACK_NAMESERVERS: readonly string[] = ["8.8.8.8", "8.8.4.4"];

/**
 * The host's `resolv.conf` as a container on a bridge sees it: loopback nameservers (127.x,
 * ::1: a local stub resolver unreachable from the container's namespace) are dropped, as
 * Docker does, and Docker's public fallbacks are used when none remain. Search and options
 * lines are kept. With `keepLoopback` (host network) the file is kept as it is.
 */
export function containerResolvConf(host: string, keepLoopback = false): string {
  if (keepLoopback) return host.endsWith("\n") || host === "" ? host : `${host}\n`;
  const lines = host.split("\n");
  const kept: string[] = [];
  let servers = 0;
  for (const l of lines) {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    if (m) {
      const ip = m[1]!;
      if (/^127\./.test(ip) || ip === "::1" || /^0:0:0:0:0:0:0:1$/.test(ip)) continue;
      servers++;
    }
    kept.push(l);
  }
  while (kept.length && kept[kept.length - 1]!.trim() === "") kept.pop();
  if (servers === 0) for (const s of FALLBACK_NAMESERVERS) kept.push(`nameserver ${s}`);
  return `${kept.join("\n")}\n`;
}

/** `/etc/hostname`. */
export function renderHostname(name: string): string {
  return `${name}\n`;
}
