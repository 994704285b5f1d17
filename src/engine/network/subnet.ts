/**
 * IPv4 subnets: parsing CIDRs, overlap, gateways, the host's routes (`/proc/net/route`) and the
 * choice of a subnet that collides with neither the host's routes nor pier's other networks. Pure.
 */
import { NetworkError } from "./error.js";

/** An IPv4 subnet: its network address as a 32-bit number and its prefix length. */
export interface Subnet {
  base: number;
  prefix: number;
}

/** Parses a dotted IPv4 address into a 32-bit number; `undefined` when it is not one. */
export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** A 32-bit number as a dotted IPv4 address. */
export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses `10.88.0.0/16`. Throws `INVALID_ARGUMENT` for anything else, for IPv6 (not supported
 * yet), and for host bits set (`10.88.0.1/16`), as Docker does.
 */
export function parseSubnet(text: string): Subnet {
  const [addr = "", len, ...rest] = text.split("/");
  if (addr.includes(":"))
    throw new NetworkError("INVALID_ARGUMENT", `IPv6 subnets are not supported by pier yet: ${text}`);
  const base = parseIPv4(addr);
  const prefix = len !== undefined && /^\d{1,2}$/.test(len) ? Number(len) : Number.NaN;
  if (base === undefined || rest.length || !(prefix >= 0 && prefix <= 32))
    throw new NetworkError("INVALID_ARGUMENT", `invalid subnet ${JSON.stringify(text)}: expected A.B.C.D/N`);
  if ((base & mask(prefix)) >>> 0 !== base)
    throw new NetworkError(
      "INVALID_ARGUMENT",
      `invalid subnet ${text}: host bits are set (did you mean ${formatIPv4((base & mask(prefix)) >>> 0)}/${prefix}?)`,
    );
  return { base, prefix };
}

/** `10.88.0.0/16`. */
export function formatSubnet(s: Subnet): string {
  return `${formatIPv4(s.base)}/${s.prefix}`;
}

/** True when two subnets share an address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0;
}

/** True when `ip` lies in `s`. */
export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.prefix)) >>> 0 === s.base;
}

/** The conventional gateway: the first host address (`10.88.0.1`). */
export function defaultGateway(s: Subnet): string {
  return formatIPv4(s.base + 1);
}

/** One route of the host: where it leads and through which interface. */
export interface HostRoute {
  iface: string;
  subnet: Subnet;
}

/**
 * The routes of `/proc/net/route` (little-endian hex columns), without the default route (which
 * overlaps everything and is not a collision).
 */
export function parseProcRoutes(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const le = (h: string) => {
      const n = Number.parseInt(h, 16);
      return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | (n >>> 24)) >>> 0;
    };
    const dest = le(f[1]!);
    const m = le(f[7]!);
    if (m === 0) continue;
    const prefix = Math.clz32(~m >>> 0);
    out.push({ iface: f[0]!, subnet: { base: (dest & m) >>> 0, prefix } });
  }
  return out;
}

/**
 * The first of `candidates` that overlaps neither `taken` nor a host route (routes through
 * `ownBridge` do not count: they are the network's own). Throws `INVALID_STATE` when none is free.
 */
export function pickSubnet(
  candidates: readonly string[],
  taken: readonly Subnet[],
  routes: readonly HostRoute[],
  ownBridge?: string,
): Subnet {
  for (const c of candidates) {
    const s = parseSubnet(c);
    if (collision(s, taken, routes, ownBridge) === undefined) return s;
  }
  throw new NetworkError(
    "INVALID_STATE",
    "no free subnet left in pier's address pools: give one with --subnet",
  );
}

/** Address ranges no container network may use: this-network, loopback, link-local, multicast and up. */
const RESERVED: readonly [string, string][] = [
  ["0.0.0.0/8", "this-network"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["224.0.0.0/3", "multicast and reserved"],
];

/**
 * Why `s` cannot be used (a message naming the reserved range, the other network or the host
 * route), or `undefined` when it is free.
 */
export function collision(
  s: Subnet,
  taken: readonly Subnet[],
  routes: readonly HostRoute[],
  ownBridge?: string,
): string | undefined {
  for (const [range, what] of RESERVED)
    if (overlaps(parseSubnet(range), s))
      return `subnet ${formatSubnet(s)} overlaps the ${what} range ${range}`;
  const t = taken.find((x) => overlaps(x, s));
  if (t) return `subnet ${formatSubnet(s)} overlaps with another pier network (${formatSubnet(t)})`;
  const r = routes.find((x) => x.iface !== ownBridge && overlaps(x.subnet, s));
  if (r)
    return `subnet ${formatSubnet(s)} overlaps with the host's route ${formatSubnet(r.subnet)} on ${r.iface}`;
  return undefined;
}

/**
 * The subnet and gateway of an interface address in CIDR form (`10.88.0.1/16` → `10.88.0.0/16`
 * via `10.88.0.1`): how a bridge that already exists is adopted. `undefined` for IPv6 or junk.
 */
export function subnetOfAddress(cidr: string): { subnet: Subnet; gateway: string } | undefined {
  const [addr = "", len] = cidr.split("/");
  const ip = parseIPv4(addr);
  const prefix = Number(len);
  if (ip === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  return { subnet: { base: (ip & mask(prefix)) >>> 0, prefix }, gateway: addr };
}

/** The subnet podman's default network (`podman0`) takes unless configured otherwise. */
export const PODMAN_DEFAULT_SUBNET = "10.88.0.0/16";

/** Docker's pools for user networks: 172.18-31.0.0/16, then 192.168.N.0/20. */
export const USER_NETWORK_POOL: readonly string[] = [
  ...Array.from({ length: 14 }, (_, i) => `172.${18 + i}.0.0/16`),
  ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
];

/** The default bridge's subnet, and what to fall back to when a host route takes it. */
export const DEFAULT_BRIDGE_POOL: readonly string[] = [
  "10.88.0.0/16",
  ...Array.from({ length: 10 }, (_, i) => `10.${90 + i}.0.0/16`),
];
