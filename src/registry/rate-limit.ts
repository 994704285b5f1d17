/**
 * A token bucket per client key (the remote address): `rate` requests per second refill a
 * bucket of `burst`. Pure apart from the clock, which the caller passes in.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly rate: number;
  private readonly burst: number;

  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = Math.max(1, burst);
  }

  /** Seconds until `key` has a whole token again (0 when it has one now); takes nothing. */
  waitSeconds(key: string, nowMs: number): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate);
    return tokens >= 1 ? 0 : (1 - tokens) / this.rate;
  }

  /** Takes one token for `key` at time `nowMs`; `false` when the bucket is empty. */
  take(key: string, nowMs: number): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      // Bounded memory: forget every bucket rather than grow without limit under a flood of addresses.
      if (this.buckets.size > 100_000) this.buckets.clear();
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate);
    b.at = nowMs;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
