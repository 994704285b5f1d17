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
