import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { RegistryError } from "../errors.js";
import type { BcryptRequest, BcryptResponse } from "./bcrypt-worker.js";

/** Options of {@link BcryptPool}. */
export interface BcryptPoolOptions {
  /** Worker threads (default: one less than the CPUs, at least 1, at most 4). */
  size?: number;
  /** Requests allowed to wait for a worker; more are refused with `TOOMANYREQUESTS` (default 64). */
  maxQueued?: number;
}

type Job = { req: BcryptRequest; resolve: (v: boolean | string) => void; reject: (e: Error) => void };

const WORKER_URL = new URL("./bcrypt-worker.js", import.meta.url);

/**
 * bcrypt off the event loop: a small pool of worker threads running bcryptjs. A bcrypt compare
 * costs ~70 ms of CPU at cost 10; run on the main thread, a few clients guessing passwords stall
 * every other request. The queue is bounded, so a flood costs a refusal, not memory; the workers
 * are started on first use and do not keep the process alive.
 */
export class BcryptPool {
  private readonly size: number;
  private readonly maxQueued: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private started = 0;
  private nextId = 0;
  private closed = false;

  constructor(options: BcryptPoolOptions = {}) {
    this.size = options.size ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    this.maxQueued = options.maxQueued ?? 64;
  }

  /** True when `password` matches the bcrypt `hash` (computed on a worker thread). */
  async compare(password: string, hash: string): Promise<boolean> {
    return (await this.run({ id: 0, op: "compare", password, hash })) as boolean;
  }

  /** A bcrypt hash of `password` at `cost` (computed on a worker thread). */
  async hash(password: string, cost: number): Promise<string> {
    return (await this.run({ id: 0, op: "hash", password, cost })) as string;
  }

  /** Stops the workers; requests still waiting are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error("bcrypt pool closed"));
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  private run(req: BcryptRequest): Promise<boolean | string> {
    if (this.closed) return Promise.reject(new Error("bcrypt pool closed"));
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new RegistryError("TOOMANYREQUESTS", "too many logins waiting to be checked; retry shortly", {
          headers: { "Retry-After": "1" },
        }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { ...req, id: ++this.nextId }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker) {
        if (this.started >= this.size) return;
        worker = this.spawn();
      }
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.postMessage(job.req);
    }
  }

  private spawn(): Worker {
    this.started++;
    const worker = new Worker(WORKER_URL);
    worker.unref();
    worker.on("message", (msg: BcryptResponse) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      if (job && job.req.id === msg.id) {
        if ("error" in msg) job.reject(new Error(`bcrypt: ${msg.error}`));
        else job.resolve(msg.result);
      }
      if (!this.closed) {
        this.idle.push(worker);
        this.pump();
      }
    });
    // A worker that dies fails its job and is replaced on the next request.
    const gone = (err: Error) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      this.started--;
      job?.reject(err);
      if (!this.closed) this.pump();
    };
    worker.once("error", gone);
    worker.once("exit", (code) => {
      if (this.busy.has(worker) || this.idle.includes(worker))
        gone(new Error(`bcrypt worker exited (${code})`));
    });
    return worker;
  }
}
