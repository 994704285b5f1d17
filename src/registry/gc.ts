import { statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { LocalContentStore } from "../content/local-store.js";
import type { ContentStore } from "../content/store.js";
import { isErrno } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { RegistryMetadata } from "./metadata.js";
import { uploadRef } from "./uploads.js";

/** Options of {@link registryGc}. */
export interface RegistryGcOptions {
  /** The registry's root directory (as `config.root`). */
  root: string;
  /** Report what would be deleted, delete nothing. */
  dryRun?: boolean;
  /** Also delete manifests no tag reaches (directly, through an index, or as a referrer of a kept manifest). */
  untagged?: boolean;
  /** Never touch blobs or manifests newer than this (default 3600): they may belong to a push in flight. */
  graceSeconds?: number;
  /** Cancel upload sessions opened longer ago than this (default 7 days), deleting their data. */
  uploadMaxAgeSeconds?: number;
  /** The content store (default: `<root>/content`). */
  store?: ContentStore;
}

/** What a collection deleted (or would delete, in a dry run). */
export interface RegistryGcReport {
  dryRun: boolean;
  manifestsDeleted: { repo: string; digest: string }[];
  blobsDeleted: Digest[];
  /** Abandoned upload sessions cancelled. */
  uploadsCancelled: string[];
  /** Leftovers of interrupted ingests removed from the content store (not in a dry run). */
  ingestRemoved: string[];
  bytesFreed: number;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (!isErrno(err, "ENOENT")) throw err;
  }
}

/** Pure: the manifests of one repository that no tag keeps alive (directly, as an index child, or as a referrer). */
export function unreachableManifests(
  manifests: { digest: string; subject: string | null }[],
  tagged: Iterable<string>,
  children: (digest: string) => string[],
): string[] {
  const keep = new Set<string>();
  const visit = (d: string) => {
    if (keep.has(d)) return;
    keep.add(d);
    for (const c of children(d)) visit(c);
  };
  for (const d of tagged) visit(d);
  // Referrers of kept manifests are kept, and what they reach; repeat until nothing changes.
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of manifests) {
      if (!keep.has(m.digest) && m.subject !== null && keep.has(m.subject)) {
        visit(m.digest);
        grew = true;
      }
    }
  }
  return manifests.filter((m) => !keep.has(m.digest)).map((m) => m.digest);
}

/**
 * Removes what interrupted uploads left in the content store's ingest area: temp files of dead
 * processes (a monolithic upload cut off by a crash) and resumable data of no open upload
 * session. The data of open sessions stays, so they resume after a restart.
 */
export function pruneRegistryIngest(store: ContentStore, meta: RegistryMetadata): Promise<string[]> {
  return store.pruneIngest?.({ liveRefs: meta.uploadIds().map(uploadRef) }) ?? Promise.resolve([]);
}

/**
 * Mark and sweep (the model is distribution's `garbage-collect`): a blob survives when a
 * manifest in any repository references it, it is itself a manifest, it is pending (being
 * published), or it was published or found by a `HEAD` within the grace period. Everything else
 * is unlinked from every repository and its bytes deleted. Upload sessions abandoned for longer
 * than `uploadMaxAgeSeconds` are cancelled and their partial data deleted, and leftovers of
 * interrupted uploads removed (see {@link pruneRegistryIngest}). The sweep runs inside one SQLite
 * write transaction, so a push cannot link a blob between the decision and the deletion; safe
 * while a registry serves the same root. Files in the content store that no row knows (a crash
 * between publish and record) are deleted once older than the grace period.
 */
export async function registryGc(options: RegistryGcOptions): Promise<RegistryGcReport> {
  const graceMs = (options.graceSeconds ?? 3600) * 1000;
  const dryRun = options.dryRun ?? false;
  const store = options.store ?? (await LocalContentStore.open(join(options.root, "content")));
  const meta = RegistryMetadata.open(join(options.root, "metadata.db"));
  const db = meta.database;
  const report: RegistryGcReport = {
    dryRun,
    manifestsDeleted: [],
    blobsDeleted: [],
    uploadsCancelled: [],
    ingestRemoved: [],
    bytesFreed: 0,
  };
  try {
    const cutoff = Date.now() - graceMs;
    const uploadCutoff = Date.now() - (options.uploadMaxAgeSeconds ?? 7 * 24 * 3600) * 1000;
    for (const id of meta.staleUploads(uploadCutoff)) {
      if (dryRun) {
        report.uploadsCancelled.push(id);
        continue;
      }
      // A session a request is writing right now holds its writer's lock: leave it for next time.
      const writer = await store.writer(uploadRef(id)).catch(() => undefined);
      if (!writer) continue;
      await writer.abort();
      meta.deleteUpload(id);
      report.uploadsCancelled.push(id);
    }
    if (!dryRun) report.ingestRemoved = await pruneRegistryIngest(store, meta);
    if (options.untagged) {
      const repos = db.prepare<[], { name: string }>("SELECT name FROM repos").all();
      const manifestsOf = db.prepare<[string], { digest: string; subject: string | null; created: number }>(
        "SELECT digest, subject, created FROM manifests WHERE repo = ?",
      );
      const tagsOf = db.prepare<[string], { digest: string }>(
        "SELECT DISTINCT digest FROM tags WHERE repo = ?",
      );
      const refsOf = db.prepare<[string], { ref: string }>("SELECT ref FROM manifest_refs WHERE digest = ?");
      const del = db.prepare<[string, string]>("DELETE FROM manifests WHERE repo = ? AND digest = ?");
      const unlink = db.prepare<[string, string]>("DELETE FROM links WHERE repo = ? AND digest = ?");
      db.transaction(() => {
        for (const { name } of repos) {
          const manifests = manifestsOf.all(name);
          const created = new Map(manifests.map((m) => [m.digest, m.created]));
          const doomed = unreachableManifests(
            manifests,
            tagsOf.all(name).map((r) => r.digest),
            (d) => refsOf.all(d).map((r) => r.ref),
          ).filter((d) => (created.get(d) ?? 0) < cutoff);
          for (const digest of doomed) {
            report.manifestsDeleted.push({ repo: name, digest });
            if (!dryRun) {
              del.run(name, digest);
              unlink.run(name, digest);
            }
          }
        }
      }).immediate();
    }
    const candidates = db.prepare<[number, number], { digest: string; size: number }>(
      `SELECT digest, size FROM blobs WHERE touched < ?
         AND digest NOT IN (SELECT digest FROM manifests)
         AND digest NOT IN (SELECT r.ref FROM manifest_refs r WHERE r.digest IN (SELECT digest FROM manifests))
         AND digest NOT IN (SELECT digest FROM pending WHERE since >= ?)`,
    );
    const sweep = db.transaction(() => {
      const doomed = candidates.all(cutoff, cutoff);
      for (const { digest, size } of doomed) {
        report.blobsDeleted.push(digest as Digest);
        report.bytesFreed += size;
        if (dryRun) continue;
        db.prepare("DELETE FROM links WHERE digest = ?").run(digest);
        db.prepare("DELETE FROM blobs WHERE digest = ?").run(digest);
        // Deleted while holding the write lock: a publish of the same digest waits for us.
        removeFile(store.blobPath(digest as Digest));
      }
      if (!dryRun) {
        db.prepare("DELETE FROM manifest_refs WHERE digest NOT IN (SELECT digest FROM manifests)").run();
        db.prepare("DELETE FROM pending WHERE since < ?").run(cutoff);
      }
    });
    sweep.immediate();
    // Files without a row: published by a process that died before recording them.
    const inBlobs = db.prepare<[string], { digest: string }>("SELECT digest FROM blobs WHERE digest = ?");
    const inPending = db.prepare<[string], { digest: string }>("SELECT digest FROM pending WHERE digest = ?");
    const known = { get: (d: string) => inBlobs.get(d) ?? inPending.get(d) };
    const orphans: Digest[] = [];
    for await (const info of store.list()) {
      if (known.get(info.digest) === undefined) orphans.push(info.digest);
    }
    db.transaction(() => {
      for (const digest of orphans) {
        if (known.get(digest) !== undefined) continue;
        let st: ReturnType<typeof statSync>;
        try {
          st = statSync(store.blobPath(digest));
        } catch {
          continue;
        }
        if (st.mtimeMs >= cutoff) continue;
        report.blobsDeleted.push(digest);
        report.bytesFreed += st.size;
        if (!dryRun) removeFile(store.blobPath(digest));
      }
    }).immediate();
  } finally {
    meta.close();
  }
  return report;
}
