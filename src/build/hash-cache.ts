/**
 * A stat-keyed cache of a build context's file digests, as git's index and BuildKit's contenthash
 * keep one: a file whose (device, inode, size, mtime, ctime) is what it was when it was hashed is
 * not read again. The cache only saves reading: what keys a build step is still the digest of the
 * content, never a time. One JSON file per context directory, under the build root.
 *
 * Why a hit is sound: every change of a file's content (a write, a rename over it, a new file
 * that reuses the inode) sets its ctime to the current time, and ctime cannot be set from user
 * space. An entry is recorded only when the file's ctime is older than the start of the hashing
 * by {@link RACY_MARGIN_NS} (git's "racily clean" rule): a later change then necessarily carries
 * a different ctime, even on a file system whose clock ticks coarsely. A file whose stat differs in
 * any field is hashed again. The context's contents are as untrusted as ever: an attacker who
 * controls the files still only controls what they hash to.
 *
 * Synchronous on purpose: it runs on the digest worker thread ({@link import("./digest-thread.js")}).
 */
import type { BigIntStats } from "node:fs";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

/** A file changed less than this long before the hashing started is hashed, never recorded. */
export const RACY_MARGIN_NS = 2_000_000_000n;

/** Entries kept at most (a context of more files keeps the ones this build used). */
export const MAX_ENTRIES = 500_000;

/** The format version: a file of another version is ignored (and replaced). */
const VERSION = 1;

/** The stat fields a cached digest depends on, as one string. */
export function statKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

interface CacheFile {
  v: number;
  /** Path relative to the context → [stat key, sha256 of the content in hex]. */
  files: Record<string, [string, string]>;
}

/** The digests of one context's files, loaded from and saved to `file` (absent: nothing kept). */
export class FileHashCache {
  private readonly old = new Map<string, [string, string]>();
  private readonly now = new Map<string, [string, string]>();
  private changed = false;

  /** `startedNs`: when the hashing started (the wall clock, in ns; see {@link RACY_MARGIN_NS}). */
  constructor(
    private readonly file: string | undefined,
    private readonly startedNs: bigint,
  ) {
    if (file === undefined) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      return; // missing or damaged: everything is hashed (and the file rewritten)
    }
    const c = parsed as Partial<CacheFile>;
    if (c.v !== VERSION || typeof c.files !== "object" || c.files === null) return;
    for (const [rel, v] of Object.entries(c.files))
      if (
        Array.isArray(v) &&
        typeof v[0] === "string" &&
        typeof v[1] === "string" &&
        /^[0-9a-f]{64}$/.test(v[1])
      )
        this.old.set(rel, [v[0], v[1]]);
  }

  /** The recorded content digest (hex) of `rel` when its stat is still `key`. */
  lookup(rel: string, key: string): string | undefined {
    const e = this.now.get(rel) ?? this.old.get(rel);
    if (e === undefined || e[0] !== key) return undefined;
    this.now.set(rel, e);
    return e[1];
  }

  /**
   * Records that the file `rel`, in the state `st` (taken before it was read), holds content
   * whose digest is `hex` — unless it changed too recently for its stat to prove it unchanged later.
   */
  record(rel: string, st: BigIntStats, hex: string): void {
    if (st.ctimeNs > this.startedNs - RACY_MARGIN_NS || st.mtimeNs > this.startedNs - RACY_MARGIN_NS) {
      // Too recent: hashed again next time; an older entry for it is dropped.
      const had = this.old.delete(rel);
      if (this.now.delete(rel) || had) this.changed = true;
      return;
    }
    this.now.set(rel, [statKey(st), hex]);
    this.changed = true;
  }

  /** Writes the cache (when it changed): this run's entries, then older ones up to the bound. */
  save(): void {
    if (this.file === undefined || !this.changed) return;
    const kept = new Map([...this.now].slice(0, MAX_ENTRIES));
    for (const [rel, e] of this.old) {
      if (kept.size >= MAX_ENTRIES) break;
      if (!kept.has(rel)) kept.set(rel, e);
    }
    // fromEntries defines own properties: a path named __proto__ stays a path.
    const files = Object.fromEntries(kept);
    // A temp name of this writer alone; the rename makes the new file whole or absent.
    const tmp = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, JSON.stringify({ v: VERSION, files } satisfies CacheFile), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  /** Forgets everything (a file's content was seen to differ from its entry). */
  static discard(file: string): void {
    rmSync(file, { force: true });
  }
}
