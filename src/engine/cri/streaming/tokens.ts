/**
 * The streaming server's pending requests, as the kubelet's request cache keeps them: each
 * Exec/Attach/PortForward call leaves its request under a random single-use token that the
 * client presents in the URL within {@link TOKEN_TTL_MS}; at most {@link MAX_PENDING} wait at
 * once (an expired one is dropped to make room), so no caller can grow pierd's memory.
 */
import { randomBytes } from "node:crypto";
import { CriError } from "../error.js";

/** How long a token stays valid: the kubelet's `CacheTTL` (one minute). */
export const TOKEN_TTL_MS = 60_000;

/** How many requests may wait for their client at once: the kubelet's `maxInFlight`. */
export const MAX_PENDING = 1000;

/** A request the streaming server serves once. */
export type PendingRequest =
  | {
      kind: "exec";
      containerId: string;
      cmd: string[];
      tty: boolean;
      stdin: boolean;
      stdout: boolean;
      stderr: boolean;
    }
  | { kind: "attach"; containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }
  | { kind: "portforward"; sandboxId: string; ports: number[] };

/** Single-use tokens with an expiry, bounded in number. */
export class RequestTokens {
  private readonly pending = new Map<string, { request: PendingRequest; expires: number }>();

  constructor(
    private readonly ttlMs = TOKEN_TTL_MS,
    private readonly max = MAX_PENDING,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keeps `request` and returns its token; `RESOURCE_EXHAUSTED` when {@link MAX_PENDING} still wait. */
  insert(request: PendingRequest): string {
    if (this.pending.size >= this.max) this.dropExpired();
    if (this.pending.size >= this.max)
      throw new CriError(
        "RESOURCE_EXHAUSTED",
        `streaming server: ${this.max} requests already wait for their client; retry later`,
      );
    // 8 random bytes, URL-safe base64, as the kubelet's tokens.
    let token: string;
    do token = randomBytes(8).toString("base64url");
    while (this.pending.has(token));
    this.pending.set(token, { request, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The request of `token` (which is then spent), or undefined when unknown, spent or expired. */
  consume(token: string): PendingRequest | undefined {
    const entry = this.pending.get(token);
    if (!entry) return undefined;
    this.pending.delete(token);
    return entry.expires > this.now() ? entry.request : undefined;
  }

  /** How many requests wait (expired ones not yet dropped included). */
  get size(): number {
    return this.pending.size;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [token, entry] of this.pending) if (entry.expires <= now) this.pending.delete(token);
  }
}
