import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { isErrno } from "../errors.js";
import { ContentError } from "./error.js";

/** Who holds a lock, as written into the lock file. */
export interface LockOwner {
  pid: number;
  /** Kernel start time of `pid` (field 22 of `/proc/<pid>/stat`), so a recycled pid is not mistaken for the owner. */
  start: string;
  host: string;
  /** Random per-acquisition token: release removes the file only while it still holds this token. */
  token: string;
}

/** How long and how often {@link FileLock.acquire} waits. */
export interface LockOptions {
  /** Give up with `ContentError` `LOCKED` after this long (default 30 s). */
  timeoutMs?: number;
}

// A breaker file older than this belongs to a process that died while removing a stale lock.
const BREAKER_STALE_MS = 10_000;

/**
 * The start time of a live process, or `undefined` when no such process exists (Linux `/proc`).
 * A zombie (state `Z`, dead but not yet reaped by its parent) or a dying task (`X`) counts as
 * gone: it holds nothing any more, and `kill(pid, 0)` or the mere presence of `/proc/<pid>`
 * would keep its locks for as long as its parent takes to reap it.
 */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is the state (field 3), fields[19] the start time (field 22).
    if (fields[0] === "Z" || fields[0] === "X" || fields[0] === "x") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** True when a process with this pid runs on this host (it may be a recycled pid); a zombie does not run. */
export function isProcessAlive(pid: number): boolean {
  return processStart(pid) !== undefined;
}

/**
 * The kernel start time (clock ticks since boot) of a running process, `undefined` when none
 * runs with this pid (a zombie does not run): with the pid, it names one process for good.
 */
export function processStartTime(pid: number): string | undefined {
  return processStart(pid);
}

const SELF: Omit<LockOwner, "token"> = {
  pid: process.pid,
  start: processStart(process.pid) ?? "",
  host: hostname(),
};

/**
 * Decides whether the owner recorded in a lock file is gone. Pure apart from looking the pid up;
 * an owner on another host is never judged stale (its pids are not ours to check).
 */
export function isStaleOwner(
  owner: LockOwner,
  lookup: (pid: number) => string | undefined = processStart,
): boolean {
  if (owner.host !== SELF.host) return false;
  const start = lookup(owner.pid);
  return start === undefined || (owner.start !== "" && start !== owner.start);
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof v.pid === "number" &&
      typeof v.start === "string" &&
      typeof v.host === "string" &&
      typeof v.token === "string"
    ) {
      return v as LockOwner;
    }
  } catch {
    // fall through: an unreadable lock file is judged by its age instead
  }
  return undefined;
}

/**
 * Creates `path` holding `content`, atomically: the content is written to a private temp file
 * which is then hard-linked to `path` (`link` fails with `EEXIST` when the lock exists). So a lock
 * file is never seen empty, even when its creator is killed halfway. False when it already exists.
 */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, content, { mode: 0o644 });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if (isErrno(err, "EEXIST")) return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/**
 * An exclusive cross-process lock held as a file created with `O_EXCL`, naming
 * its owner (pid, process start time, host). A lock whose owner has died (kill -9) is detected
 * and broken; breaking goes through a second exclusive file so two waiters never both break it
 * and one of them removes the other's fresh lock. Not reentrant.
 */
export class FileLock {
  readonly path: string;
  private readonly owner: LockOwner;
  private released = false;

  private constructor(path: string, owner: LockOwner) {
    this.path = path;
    this.owner = owner;
  }

  /** Takes the lock if it is free (or stale) right now; `undefined` when someone alive holds it. */
  static async tryAcquire(path: string): Promise<FileLock | undefined> {
    const owner: LockOwner = { ...SELF, token: randomBytes(12).toString("hex") };
    const content = JSON.stringify(owner);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await createExclusive(path, content)) return new FileLock(path, owner);
      if (!(await breakIfStale(path))) return undefined;
    }
    return undefined;
  }

  /** Waits for the lock (polling with backoff); throws `ContentError` `LOCKED` on timeout. */
  static async acquire(path: string, options: LockOptions = {}): Promise<FileLock> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let delay = 1;
    for (;;) {
      const lock = await FileLock.tryAcquire(path);
      if (lock) return lock;
      if (Date.now() >= deadline) {
        const holder = await readFile(path, "utf8").catch(() => "");
        throw new ContentError(
          "LOCKED",
          `lock ${path} is held by another process: ${holder || "(unknown)"}`,
          {
            detail: { path },
          },
        );
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 25);
    }
  }

  /** Releases the lock; removes the file only if it is still this holder's. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const current = parseOwner(await readFile(this.path, "utf8").catch(() => ""));
    if (current?.token === this.owner.token) await unlink(this.path).catch(() => {});
  }
}

/** Removes `path` when its owner is dead; true when the lock is (now) free to take. */
async function breakIfStale(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return true;
    throw err;
  }
  const owner = parseOwner(text);
  if (owner ? !isStaleOwner(owner) : !(await olderThan(path, BREAKER_STALE_MS))) return false;
  const breaker = `${path}.break`;
  if (!(await createExclusive(breaker, JSON.stringify({ ...SELF, token: "" })))) {
    if (await olderThan(breaker, BREAKER_STALE_MS)) await unlink(breaker).catch(() => {});
    return false;
  }
  try {
    // Re-read under the breaker: someone may have broken it and taken it fresh meanwhile.
    const again = await readFile(path, "utf8").catch(() => undefined);
    if (again === text) await unlink(path).catch(() => {});
    return true;
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch {
    return true;
  }
}

/** Runs `fn` while holding the lock at `path`, releasing it however `fn` ends. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await FileLock.acquire(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
