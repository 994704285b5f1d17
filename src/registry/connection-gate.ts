import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";

/**
 * The key a client's connections are counted under: its address, or for IPv6 its /64 (one
 * host usually holds a whole /64, so counting single addresses would not limit it).
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return "";
  if (address.startsWith("::ffff:") && address.includes(".")) return address.slice(7);
  if (!isIPv6(address)) return address;
  // Expand `::` to count groups, then keep the first four.
  const [head = "", tail] = address.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, "").toLowerCase())
    .join(":")}::/64`;
}

/** The soft limit on open files of this process (`/proc/self/limits`), `undefined` when unreadable. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (!m) return undefined;
    return m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Counts open connections, in total and per client key, and decides which ones are over a cap.
 * Pure: the server calls `open` when a connection arrives and `close` when it ends.
 */
export class ConnectionGate {
  readonly maxTotal: number;
  readonly maxPerClient: number;
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(maxTotal: number, maxPerClient: number) {
    this.maxTotal = maxTotal;
    this.maxPerClient = maxPerClient;
  }

  /** Open connections now. */
  get open(): number {
    return this.total;
  }

  /**
   * Counts a new connection of `key`; resolves `"ok"`, or which cap it exceeds (it is counted
   * all the same until `release`, as it holds a socket until answered and closed).
   */
  admit(key: string): "ok" | "total" | "client" {
    this.total++;
    const n = (this.perClient.get(key) ?? 0) + 1;
    this.perClient.set(key, n);
    if (this.total > this.maxTotal) return "total";
    return n > this.maxPerClient ? "client" : "ok";
  }

  /** Forgets a connection that `admit` counted. */
  release(key: string): void {
    this.total--;
    const n = (this.perClient.get(key) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(key);
    else this.perClient.set(key, n);
  }
}
