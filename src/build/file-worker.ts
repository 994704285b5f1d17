/**
 * The builder's file work (hashing a context, copying thousands of files) runs on worker threads:
 * it is many small synchronous calls, kept off the caller's event loop (pierd's) and without a
 * thread-pool round trip per call. The workers are kept between jobs (starting one costs tens of
 * milliseconds of CPU, more than a small job): at most {@link MAX_WORKERS} at once, each leaving
 * after {@link IDLE_MS} without work, never holding the process open.
 */
import { Worker } from "node:worker_threads";
import type { CopyJob, LinkJob } from "./copy-thread.js";
import type { DigestJob } from "./digest-thread.js";
import { BuildError, type BuildErrorCode } from "./error.js";

/** A job of a file worker. */
export type FileJob =
  | { kind: "digest"; job: DigestJob }
  | { kind: "copy"; job: CopyJob }
  | { kind: "link"; job: LinkJob };

/** What a file worker answers to the job numbered `id`. */
export type FileReply = { id: number } & (
  | { ok: true; result: unknown }
  | { ok: false; code: BuildErrorCode; message: string }
);

/** Two: stages built in parallel each get one. */
const MAX_WORKERS = 2;
const IDLE_MS = 5_000;
/** A worker's heap bound: a runaway job fails there, not in the daemon. */
const WORKER_HEAP_MB = 256;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  what: string;
}

class FileWorker {
  readonly worker: Worker;
  current: { id: number; pending: Pending } | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(private readonly pool: FileWorkerPool) {
    this.worker = new Worker(new URL("./file-worker-main.js", import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    this.worker.on("message", (m: FileReply) => {
      const cur = this.current;
      if (cur === undefined || cur.id !== m.id) return;
      this.current = undefined;
      if (m.ok) cur.pending.resolve(m.result);
      else cur.pending.reject(new BuildError(m.code, `${cur.pending.what}: ${m.message}`));
      this.pool.released(this);
    });
    const died = (why: string, cause?: unknown) => {
      this.pool.dead(this);
      const cur = this.current;
      this.current = undefined;
      cur?.pending.reject(
        new BuildError("CONTEXT_PATH", `${cur.pending.what}: ${why}`, cause ? { cause } : undefined),
      );
    };
    this.worker.once("error", (err) =>
      died(
        (err as Error & { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `the worker went over its ${WORKER_HEAP_MB} MB memory bound`
          : err.message,
        err,
      ),
    );
    this.worker.once("exit", (code) => died(`the worker exited with ${code}`));
  }

  start(id: number, job: FileJob, pending: Pending): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    this.current = { id, pending };
    // Held open while it works (the caller awaits it), not while it waits for work.
    this.worker.ref();
    this.worker.postMessage({ id, job });
  }

  /** Leaves after a while without work. */
  rest(): void {
    this.worker.unref();
    this.idle = setTimeout(() => {
      // Out of the pool first: no job may reach a worker that is on its way out.
      this.pool.dead(this);
      void this.worker.terminate();
    }, IDLE_MS);
    this.idle.unref();
  }
}

class FileWorkerPool {
  private readonly workers = new Set<FileWorker>();
  private readonly queue: { id: number; job: FileJob; pending: Pending }[] = [];
  private nextId = 1;

  run(job: FileJob, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, pending: { resolve, reject, what } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let w = [...this.workers].find((x) => x.current === undefined);
      if (w === undefined) {
        if (this.workers.size >= MAX_WORKERS) return;
        w = new FileWorker(this);
        this.workers.add(w);
      }
      const next = this.queue.shift()!;
      w.start(next.id, next.job, next.pending);
    }
  }

  released(w: FileWorker): void {
    if (this.queue.length > 0) this.dispatch();
    if (w.current === undefined) w.rest();
  }

  /** Takes `w` out of the pool (it died, or leaves idle); idempotent. */
  dead(w: FileWorker): void {
    if (!this.workers.delete(w)) return;
    this.dispatch();
  }
}

const pool = new FileWorkerPool();

/**
 * Runs `job` on a file worker; resolves with its result, rejects with its `BuildError` (code
 * kept, message prefixed with `what`), or with `CONTEXT_PATH` when the worker died.
 */
export function runFileJob<T>(job: FileJob, what: string): Promise<T> {
  return pool.run(job, what) as Promise<T>;
}
