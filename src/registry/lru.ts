/**
 * A least-recently-used cache of byte buffers bounded by their total size, for manifest bodies
 * (immutable by digest, so entries never go stale). A Map keeps insertion order, which is the
 * recency order once a hit re-inserts its key.
 */
export class ByteLru<K> {
  private readonly map = new Map<K, Buffer>();
  private bytes = 0;
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** The cached buffer, marking it most recently used. */
  get(key: K): Buffer | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Caches a buffer, evicting the least recently used ones over the budget; a buffer larger than the budget is not cached. */
  set(key: K, value: Buffer): void {
    if (value.length > this.maxBytes) return;
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }

  /** Drops an entry. */
  delete(key: K): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.map.delete(key);
    }
  }

  /** Bytes held. */
  get size(): number {
    return this.bytes;
  }
}
