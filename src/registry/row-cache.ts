/**
 * A read cache of small metadata rows that stays coherent with the SQLite database it fronts,
 * for the registry's hottest path (a manifest `GET` by tag costs one SQLite read transaction,
 * two `fcntl` lock calls and a join: more than Node's HTTP server spends on the whole request).
 *
 * Writes of this process clear the cache at once ({@link RowCache.clear}). Writes of other
 * connections (`pier registry gc` while serving, another server on the same root) are seen
 * through SQLite's `PRAGMA data_version`, which changes whenever another connection commits. It
 * costs a read transaction itself, so it is asked once per event-loop turn (and at least every
 * {@link MAX_CHECK_AGE_MS}): every request answered in a turn was received before the turn
 * began, so a commit the check did not see finished after the request was sent — the request
 * was concurrent with it, and the state before it is a valid answer.
 */

/** The most rows kept (a row is a digest, a media type and a size: about 200 bytes). */
const DEFAULT_MAX_ROWS = 4096;

/**
 * Re-check the database's version at least this often (ms) even within one turn: a bound for a
 * check made in the check phase (from a `setImmediate` callback), whose turn ends only after the
 * next poll phase. Requests are answered from the poll phase, where the turn is the bound.
 */
const MAX_CHECK_AGE_MS = 10;

/** Rows by key, cleared when the database changed under them. */
export class RowCache<V> {
  private readonly rows = new Map<string, V>();
  private version: number;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private readonly endTurn = () => {
    this.checkedAt = Number.NEGATIVE_INFINITY;
  };

  /** `dataVersion` reads the database's `PRAGMA data_version` on the connection this cache fronts. */
  constructor(
    private readonly dataVersion: () => number,
    private readonly maxRows = DEFAULT_MAX_ROWS,
  ) {
    this.version = dataVersion();
  }

  /** The row cached under `key`, if the database has not changed since it was read. */
  get(key: string): V | undefined {
    this.validate();
    return this.rows.get(key);
  }

  /** Caches a row just read from the database; the oldest row goes when the cache is full. */
  set(key: string, row: V): void {
    this.validate();
    if (this.rows.size >= this.maxRows && !this.rows.has(key)) {
      const oldest = this.rows.keys().next();
      if (!oldest.done) this.rows.delete(oldest.value);
    }
    this.rows.set(key, row);
  }

  /** Forgets every row (this process changed the database). */
  clear(): void {
    this.rows.clear();
  }

  /** Rows held (for tests). */
  get size(): number {
    return this.rows.size;
  }

  private validate(): void {
    const now = performance.now();
    if (now - this.checkedAt < MAX_CHECK_AGE_MS) return;
    if (this.checkedAt === Number.NEGATIVE_INFINITY) setImmediate(this.endTurn).unref();
    this.checkedAt = now;
    const v = this.dataVersion();
    if (v !== this.version) {
      this.rows.clear();
      this.version = v;
    }
  }
}
