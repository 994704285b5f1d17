import Database from "better-sqlite3";
import type { Digest } from "../oci/digest.js";
import { RegistryError } from "./errors.js";
import type { ManifestFacts } from "./manifest.js";
import { RowCache } from "./row-cache.js";

/** A stored manifest's row: what a `GET`/`HEAD` answers with besides the bytes. */
export interface ManifestRow {
  digest: Digest;
  mediaType: string;
  size: number;
}

/** One referrer of a subject, as the referrers API lists it. */
export interface ReferrerRow {
  digest: Digest;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repos(name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs(digest TEXT PRIMARY KEY, size INTEGER NOT NULL, touched INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS links(repo TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY(repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_digest ON links(digest);
CREATE TABLE IF NOT EXISTS manifests(
  repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
  subject TEXT, artifact_type TEXT, annotations TEXT, created INTEGER NOT NULL,
  PRIMARY KEY(repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject) WHERE subject IS NOT NULL;
CREATE TABLE IF NOT EXISTS manifest_refs(digest TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY(digest, ref)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tags(repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY(repo, tag)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_digest ON tags(repo, digest);
CREATE TABLE IF NOT EXISTS pending(digest TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads(id TEXT PRIMARY KEY, repo TEXT NOT NULL, started INTEGER NOT NULL) WITHOUT ROWID;
`;

/**
 * The registry's metadata in one SQLite file (WAL mode, so a `kill -9` loses no committed
 * transaction and readers never block the writer): repositories, which blobs each repository
 * may read (links, as in distribution), manifests with their references, tags, referrers and
 * open upload sessions. Statements are prepared once. Blob bytes are not here: they live in the
 * content store, and a blob row exists only once its bytes were verified and published.
 */
export class RegistryMetadata {
  private readonly db: Database.Database;
  private readonly s;
  /** Manifest rows by `repo NUL reference` (tag or digest), as the `GET` path reads them. */
  private readonly rows: RowCache<ManifestRow>;

  private constructor(db: Database.Database) {
    this.db = db;
    const dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
    this.rows = new RowCache(() => dataVersion.get()!);
    this.s = {
      repoExists: db.prepare<[string], { name: string }>("SELECT name FROM repos WHERE name = ?"),
      addRepo: db.prepare<[string]>("INSERT OR IGNORE INTO repos(name) VALUES (?)"),
      blobInRepo: db.prepare<[string, string], { size: number }>(
        "SELECT b.size AS size FROM links l JOIN blobs b ON b.digest = l.digest WHERE l.repo = ? AND l.digest = ?",
      ),
      holders: db.prepare<[string], { repo: string; size: number }>(
        "SELECT l.repo AS repo, b.size AS size FROM links l JOIN blobs b ON b.digest = l.digest WHERE l.digest = ? ORDER BY l.repo",
      ),
      blob: db.prepare<[string], { size: number; touched: number }>(
        "SELECT size, touched FROM blobs WHERE digest = ?",
      ),
      touchBlob: db.prepare<[string, number, number]>(
        "INSERT INTO blobs(digest, size, touched) VALUES (?, ?, ?) ON CONFLICT(digest) DO UPDATE SET touched = excluded.touched",
      ),
      link: db.prepare<[string, string]>("INSERT OR IGNORE INTO links(repo, digest) VALUES (?, ?)"),
      unlink: db.prepare<[string, string]>("DELETE FROM links WHERE repo = ? AND digest = ?"),
      manifest: db.prepare<[string, string], { mediaType: string; size: number }>(
        "SELECT media_type AS mediaType, size FROM manifests WHERE repo = ? AND digest = ?",
      ),
      tag: db.prepare<[string, string], { digest: string }>(
        "SELECT digest FROM tags WHERE repo = ? AND tag = ?",
      ),
      taggedManifest: db.prepare<[string, string], { digest: string; mediaType: string; size: number }>(
        `SELECT t.digest AS digest, m.media_type AS mediaType, m.size AS size
         FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest WHERE t.repo = ? AND t.tag = ?`,
      ),
      putManifest: db.prepare<
        [string, string, string, number, string | null, string | null, string | null, number]
      >(
        `INSERT INTO manifests(repo, digest, media_type, size, subject, artifact_type, annotations, created)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(repo, digest) DO NOTHING`,
      ),
      putRef: db.prepare<[string, string]>("INSERT OR IGNORE INTO manifest_refs(digest, ref) VALUES (?, ?)"),
      putTag: db.prepare<[string, string, string]>(
        "INSERT INTO tags(repo, tag, digest) VALUES (?, ?, ?) ON CONFLICT(repo, tag) DO UPDATE SET digest = excluded.digest",
      ),
      deleteTag: db.prepare<[string, string]>("DELETE FROM tags WHERE repo = ? AND tag = ?"),
      deleteTagsOf: db.prepare<[string, string]>("DELETE FROM tags WHERE repo = ? AND digest = ?"),
      deleteManifest: db.prepare<[string, string]>("DELETE FROM manifests WHERE repo = ? AND digest = ?"),
      tags: db.prepare<[string, string, number], { tag: string }>(
        "SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?",
      ),
      repos: db.prepare<[string, number], { name: string }>(
        "SELECT name FROM repos WHERE name > ? ORDER BY name LIMIT ?",
      ),
      referrers: db.prepare<[string, string], ReferrerRow>(
        `SELECT digest, media_type AS mediaType, size, artifact_type AS artifactType, annotations
         FROM manifests WHERE repo = ? AND subject = ? ORDER BY digest`,
      ),
      createUpload: db.prepare<[string, string, number]>(
        "INSERT INTO uploads(id, repo, started) VALUES (?, ?, ?)",
      ),
      upload: db.prepare<[string], { repo: string; started: number }>(
        "SELECT repo, started FROM uploads WHERE id = ?",
      ),
      deleteUpload: db.prepare<[string]>("DELETE FROM uploads WHERE id = ?"),
      markPending: db.prepare<[string, number]>(
        "INSERT OR REPLACE INTO pending(digest, since) VALUES (?, ?)",
      ),
      clearPending: db.prepare<[string]>("DELETE FROM pending WHERE digest = ?"),
      touchIfOlder: db.prepare<[number, string, number]>(
        "UPDATE blobs SET touched = ? WHERE digest = ? AND touched < ?",
      ),
    };
  }

  /** Opens (creating when absent) the metadata database at `file`. */
  static open(file: string): RegistryMetadata {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode survives a process crash; only power loss may drop the last commits.
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 10000");
    db.exec(SCHEMA);
    return new RegistryMetadata(db);
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }

  /** True when the repository has ever been written to (and not garbage-collected). */
  repoExists(repo: string): boolean {
    return this.s.repoExists.get(repo) !== undefined;
  }

  /** Size of a blob the repository may read, or `undefined` when it is not linked into it. */
  blobSizeInRepo(repo: string, digest: string): number | undefined {
    return this.s.blobInRepo.get(repo, digest)?.size;
  }

  /** Size of a published blob in any repository, or `undefined`. */
  blobSize(digest: string): number | undefined {
    return this.s.blob.get(digest)?.size;
  }

  /**
   * Records that a blob is (about to be) published, refreshing its GC grace time. Call it before
   * publishing bytes, so that a concurrent GC either sees the fresh time or has already finished.
   */
  touchBlob(digest: Digest, size: number, now = Date.now()): void {
    this.s.touchBlob.run(digest, size, now);
  }

  /**
   * Announces that bytes for `digest` are about to be published. The garbage collector never
   * deletes a pending digest, and it holds the database's write lock while it deletes files, so
   * a publish that follows this call cannot be undone by a collection already running.
   */
  markPending(digest: Digest): void {
    this.s.markPending.run(digest, Date.now());
  }

  /** Withdraws {@link markPending} (the publish failed). */
  clearPending(digest: Digest): void {
    this.s.clearPending.run(digest);
  }

  /** Refreshes a blob's GC grace time when it is older than `staleMs` (cheap enough for a `HEAD`). */
  refreshBlob(digest: string, staleMs: number): void {
    const now = Date.now();
    this.s.touchIfOlder.run(now, digest, now - staleMs);
  }

  /** Makes a published blob readable in a repository (creating the repository); clears its pending mark. */
  linkBlob(repo: string, digest: Digest, size: number): void {
    this.db.transaction(() => {
      this.s.addRepo.run(repo);
      this.s.touchBlob.run(digest, size, Date.now());
      this.s.link.run(repo, digest);
      this.s.clearPending.run(digest);
    })();
  }

  /** Removes a blob from a repository; `false` when it was not linked. */
  unlinkBlob(repo: string, digest: string): boolean {
    return this.s.unlink.run(repo, digest).changes > 0;
  }

  /** A manifest in a repository by digest. */
  manifest(repo: string, digest: string): ManifestRow | undefined {
    const row = this.s.manifest.get(repo, digest);
    return row && { digest: digest as Digest, mediaType: row.mediaType, size: row.size };
  }

  /**
   * {@link manifest} through the row cache (the `GET` path: a manifest just pushed or deleted by
   * this process, or committed by another connection, is never missed; see {@link RowCache}).
   */
  cachedManifest(repo: string, digest: string): ManifestRow | undefined {
    const key = `${repo}\0${digest}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      row = this.manifest(repo, digest);
      if (row !== undefined) this.rows.set(key, row);
    }
    return row;
  }

  /**
   * The manifest a tag points at, in one statement (one read transaction), through the row cache
   * (a manifest GET by tag is the registry's hottest path; see {@link cachedManifest}).
   */
  taggedManifest(repo: string, tag: string): ManifestRow | undefined {
    const key = `${repo}\0${tag}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      const found = this.s.taggedManifest.get(repo, tag);
      if (found === undefined) return undefined;
      row = { digest: found.digest as Digest, mediaType: found.mediaType, size: found.size };
      this.rows.set(key, row);
    }
    return row;
  }

  /** The digest a tag points at. */
  resolveTag(repo: string, tag: string): Digest | undefined {
    return this.s.tag.get(repo, tag)?.digest as Digest | undefined;
  }

  /**
   * Records a manifest whose bytes are already published under `digest`, in one transaction:
   * checks that every referenced blob is linked into the repository and every child manifest is
   * in it (else `MANIFEST_BLOB_UNKNOWN` naming them, and nothing changes), then stores the row,
   * its references, and the tag when given.
   */
  putManifest(
    repo: string,
    digest: Digest,
    size: number,
    facts: ManifestFacts,
    tag: string | undefined,
  ): void {
    this.rows.clear();
    this.db.transaction(() => {
      const missing: string[] = [];
      for (const b of facts.blobs) if (this.s.blobInRepo.get(repo, b) === undefined) missing.push(b);
      for (const c of facts.children) if (this.s.manifest.get(repo, c) === undefined) missing.push(c);
      if (missing.length > 0) {
        throw new RegistryError(
          "MANIFEST_BLOB_UNKNOWN",
          `manifest references unknown blobs or manifests: ${missing.join(", ")}`,
          {
            detail: { missing },
          },
        );
      }
      this.s.addRepo.run(repo);
      this.s.touchBlob.run(digest, size, Date.now());
      this.s.link.run(repo, digest);
      this.s.clearPending.run(digest);
      this.s.putManifest.run(
        repo,
        digest,
        facts.mediaType,
        size,
        facts.subject ?? null,
        facts.artifactType ?? null,
        facts.annotations ? JSON.stringify(facts.annotations) : null,
        Date.now(),
      );
      for (const b of facts.blobs) this.s.putRef.run(digest, b);
      for (const c of facts.children) this.s.putRef.run(digest, c);
      if (tag !== undefined) this.s.putTag.run(repo, tag, digest);
    })();
  }

  /** Removes a tag; `false` when absent. */
  deleteTag(repo: string, tag: string): boolean {
    this.rows.clear();
    return this.s.deleteTag.run(repo, tag).changes > 0;
  }

  /** Removes a manifest from a repository together with every tag pointing at it; `false` when absent. */
  deleteManifest(repo: string, digest: string): boolean {
    this.rows.clear();
    return this.db.transaction(() => {
      const gone = this.s.deleteManifest.run(repo, digest).changes > 0;
      if (gone) {
        this.s.deleteTagsOf.run(repo, digest);
        this.s.unlink.run(repo, digest);
      }
      return gone;
    })();
  }

  /** Up to `limit` tags of a repository after `last`, in byte order. */
  listTags(repo: string, last: string, limit: number): string[] {
    return this.s.tags.all(repo, last, limit).map((r) => r.tag);
  }

  /** Up to `limit` repository names after `last`, in byte order. */
  listRepos(last: string, limit: number): string[] {
    return this.s.repos.all(last, limit).map((r) => r.name);
  }

  /**
   * The first repository (in name order) that links blob `digest` and satisfies `usable`, with
   * the blob's size; `undefined` when none does. Looks at most `maxRepos` repositories.
   */
  findBlobHolder(
    digest: string,
    usable: (repo: string) => boolean,
    maxRepos = 10_000,
  ): { repo: string; size: number } | undefined {
    let seen = 0;
    for (const row of this.s.holders.iterate(digest)) {
      if (usable(row.repo)) return row;
      if (++seen >= maxRepos) return undefined;
    }
    return undefined;
  }

  /** Manifests of a repository whose `subject` is `subject`. */
  referrers(repo: string, subject: string): ReferrerRow[] {
    return this.s.referrers.all(repo, subject);
  }

  /** Records a new upload session. */
  createUpload(id: string, repo: string): void {
    this.db.transaction(() => {
      this.s.addRepo.run(repo);
      this.s.createUpload.run(id, repo, Date.now());
    })();
  }

  /** The repository of an open upload session, or `undefined` when unknown. */
  uploadRepo(id: string): string | undefined {
    return this.s.upload.get(id)?.repo;
  }

  /** Upload sessions opened before `before` (ms since the epoch). */
  staleUploads(before: number): string[] {
    return this.db
      .prepare<[number], { id: string }>("SELECT id FROM uploads WHERE started < ?")
      .all(before)
      .map((r) => r.id);
  }

  /** Ids of every open upload session. */
  uploadIds(): string[] {
    return this.db
      .prepare<[], { id: string }>("SELECT id FROM uploads")
      .all()
      .map((r) => r.id);
  }

  /** Forgets an upload session. */
  deleteUpload(id: string): void {
    this.s.deleteUpload.run(id);
  }

  /** The raw database, for the garbage collector (same package). */
  get database(): Database.Database {
    return this.db;
  }
}
