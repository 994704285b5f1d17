/**
 * Copies many files on a worker thread: a COPY of a large context is thousands of small
 * synchronous file operations, kept off the caller's event loop (pierd's) and without a
 * thread-pool round trip per call.
 */
import { runFileJob } from "./file-worker.js";

/** What the worker copies: files and symlinks whose destination's parent exists. */
export interface CopyJob {
  /** `expect`: the sha256 (hex) the file's bytes had when the step's key was computed. */
  entries: { from: string; to: string; kind: "file" | "symlink"; expect?: string; upperTo?: string }[];
  /** Owner for every entry; absent: each keeps its source's. */
  uid?: number;
  gid?: number;
  /** Mode for every file; absent: each keeps its source's. */
  mode?: number;
  /** The hash cache the expected digests came from, forgotten when a file differs from them. */
  hashCache?: string;
  /**
   * Files to link rather than copy (COPY --from, see `CopyRequest.linkFrom`): the source view's
   * root, its layer directories (top first), the step's upper directory, and the layer files
   * that carry extended attributes (copied instead). An entry's `upperTo` is its destination in
   * the upper directory.
   */
  link?: {
    viewRoot: string;
    layers: string[];
    upperRoot: string;
    withXattrs: string[];
  };
}

/** Hard links to make once the overlay is unmounted: a layer file → a path of the upper directory. */
export interface LinkJob {
  links: { from: string; to: string }[];
}

/**
 * Runs `job` on a file worker; resolves with the links it left for after the unmount (files of
 * `job.link` it found unchanged in a layer), rejects with `CONTEXT_PATH` naming the failure.
 */
export async function copyFilesOnThread(job: CopyJob): Promise<LinkJob["links"]> {
  if (job.entries.length === 0) return [];
  return await runFileJob<LinkJob["links"]>({ kind: "copy", job }, "copying");
}

/** Makes `links` on a file worker (each destination new: an existing one fails the step). */
export async function linkFilesOnThread(links: LinkJob["links"]): Promise<void> {
  await runFileJob<null>({ kind: "link", job: { links } }, "linking");
}
