/**
 * The files a container gets bind-mounted at `/etc/hosts`, `/etc/resolv.conf` and
 * `/etc/hostname`, rendered as Docker renders them, and the `--add-host`/`--dns*` options
 * that change them. Pure.
 */
import { isIP } from "node:net";
import { NetworkError } from "./error.js";

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
 * Docker's `/etc/hosts`: localhost and the IPv6 names, `extra` (`--add-host`), the container's
 * own address with its names (or 127.0.0.1 when it has no address, so its hostname still
 * resolves), then `peers` (the other containers of a user network) in the given order. Names
 * are deduplicated per line; anything that is not a host name is left out.
 */
export function renderHosts(
  self: HostEntry | { ip?: undefined; names: string[] },
  peers: readonly HostEntry[] = [],
  extra: readonly HostEntry[] = [],
): string {
  // A name is one word of host-name characters: a hostname with a newline must not add lines
  // to its peers' files.
  const line = (e: HostEntry) =>
    `${e.ip}\t${[...new Set(e.names.filter((n) => HOST_NAME_RE.test(n)))].join(" ")}`;
  const lines = [...BASE, ...extra.map(line), line({ ip: self.ip ?? "127.0.0.1", names: self.names })];
  for (const p of peers) if (p.names.length) lines.push(line(p));
  return `${lines.join("\n")}\n`;
}

const HOST_NAME_RE = /^[a-zA-Z0-9_]([a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$/;

/** The address `host-gateway` stands for in `--add-host name:host-gateway`. */
export const HOST_GATEWAY = "host-gateway";

/**
 * Parses one `--add-host` (`HostConfig.ExtraHosts`) entry, `name:ip` or `name=ip` (the IP may
 * be an IPv6 address, or `host-gateway`). Throws `INVALID_ARGUMENT` naming the entry.
 */
export function parseExtraHost(text: string): HostEntry {
  const m = /^([^:=\s]+)[:=](.+)$/.exec(text);
  const bad = (why: string) =>
    new NetworkError("INVALID_ARGUMENT", `invalid extra host ${JSON.stringify(text)}: ${why}`);
  if (!m) throw bad("expected NAME:IP");
  const name = m[1]!;
  const ip = m[2]!.replace(/^\[(.*)\]$/, "$1");
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(name))
    throw bad(`${JSON.stringify(name)} is not a host name`);
  if (ip !== HOST_GATEWAY && isIP(ip) === 0) throw bad(`${JSON.stringify(ip)} is not an IP address`);
  return { ip, names: [name] };
}

/** `--dns`, `--dns-search` and `--dns-option`: each replaces the host's lines of its kind. */
export interface DnsOverrides {
  servers?: string[];
  search?: string[];
  options?: string[];
}

/** Validates DNS overrides: servers must be IP addresses, the rest single words. */
export function checkDns(d: DnsOverrides): DnsOverrides {
  for (const s of d.servers ?? [])
    if (isIP(s) === 0)
      throw new NetworkError(
        "INVALID_ARGUMENT",
        `invalid DNS server ${JSON.stringify(s)}: not an IP address`,
      );
  for (const w of [...(d.search ?? []), ...(d.options ?? [])])
    if (!/^\S+$/.test(w))
      throw new NetworkError("INVALID_ARGUMENT", `invalid DNS search domain or option ${JSON.stringify(w)}`);
  return d;
}

/**
 * Applies `--dns*` overrides to a rendered resolv.conf: each kind given replaces the file's
 * lines of that kind (`nameserver`, `search`, `options`), as Docker does.
 */
export function applyDnsOverrides(resolv: string, d: DnsOverrides = {}): string {
  const kinds: [keyof DnsOverrides, RegExp, (v: string[]) => string[]][] = [
    ["servers", /^\s*nameserver\s/, (v) => v.map((s) => `nameserver ${s}`)],
    ["search", /^\s*search\s/, (v) => [`search ${v.join(" ")}`]],
    ["options", /^\s*options\s/, (v) => [`options ${v.join(" ")}`]],
  ];
  let lines = resolv.split("\n").filter((l) => l !== "");
  for (const [key, re, render] of kinds) {
    const v = d[key];
    if (v?.length) lines = [...lines.filter((l) => !re.test(l)), ...render(v)];
  }
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
