/**
 * Reading Docker `json-file` logs (written by the monitor): parsing, tail/since/until selection
 * and following a growing file. Entries are yielded as they are found; a follower stops once the
 * caller says the writer is done and the file has been read to its end.
 */
import { existsSync } from "node:fs";
import { open, stat } from "node:fs/promises";

/** One log record. */
export interface LogEntry {
  stream: "stdout" | "stderr";
  /** The raw text, including its newline when the program wrote one. */
  log: string;
  /** RFC 3339 with nanoseconds, as written. */
  time: string;
}

/** Parses one json-file line; `undefined` for a malformed one (a torn write is skipped). Pure. */
export function parseLogLine(line: string): LogEntry | undefined {
  try {
    const v = JSON.parse(line) as Partial<LogEntry>;
    if (
      typeof v.log !== "string" ||
      (v.stream !== "stdout" && v.stream !== "stderr") ||
      typeof v.time !== "string"
    )
      return undefined;
    return { stream: v.stream, log: v.log, time: v.time };
  } catch {
    return undefined;
  }
}

/** Seconds since the epoch of an RFC 3339 time, with the fraction. Pure. */
export function timeSeconds(time: string): number {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(time);
  if (!m) return Date.parse(time) / 1000;
  return Date.parse(`${m[1]}Z`) / 1000 + (m[2] ? Number(`0.${m[2]}`) : 0);
}

/** Which records to read. */
export interface LogQuery {
  stdout?: boolean;
  stderr?: boolean;
  /** Only the last N records that exist when reading starts (-1 or undefined: all). */
  tail?: number;
  /** Unix seconds (fractional allowed): records at or after. */
  since?: number;
  /** Unix seconds: records before. */
  until?: number;
  /** Keep reading as the file grows until `done()` says the writer finished. */
  follow?: boolean;
  /** Start at this byte offset instead of the beginning (attach reads only what comes next). */
  fromOffset?: number;
  done?: () => boolean;
  /**
   * Subscribes `notify` to "the writer may have finished" and returns the unsubscribe, so that a
   * follower ends at once instead of at its next poll.
   */
  wake?: (notify: () => void) => () => void;
  /** Stops following early (the client went away). */
  signal?: AbortSignal;
}

/** Selects entries by stream and time. Pure. */
export function wanted(e: LogEntry, q: LogQuery): boolean {
  if (e.stream === "stdout" && q.stdout === false) return false;
  if (e.stream === "stderr" && q.stderr === false) return false;
  if (q.since !== undefined || q.until !== undefined) {
    const t = timeSeconds(e.time);
    if (q.since !== undefined && t < q.since) return false;
    if (q.until !== undefined && q.until > 0 && t >= q.until) return false;
  }
  return true;
}

/** Waits `ms`, or less when `q.wake` notifies first. */
function pause(ms: number, q: LogQuery): Promise<void> {
  return new Promise((resolve) => {
    let off: (() => void) | undefined;
    const finish = () => {
      clearTimeout(timer);
      off?.();
      resolve();
    };
    const timer = setTimeout(finish, ms);
    off = q.wake?.(finish);
  });
}

type Handle = Awaited<ReturnType<typeof open>>;

/** The rotated files of the log at `path` that exist now, oldest first (`path.N` … `path.1`). */
export function rotatedFiles(path: string): string[] {
  const out: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) out.unshift(`${path}.${i}`);
  return out;
}

/** Reads one open log file from an offset, record by record. */
class Cursor {
  private partial = "";
  constructor(
    readonly fh: Handle,
    public offset = 0,
  ) {}

  /** The records that the next read completes; `undefined` at the current end of the file. */
  async next(buf: Buffer): Promise<LogEntry[] | undefined> {
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.offset);
    if (bytesRead === 0) return undefined;
    this.offset += bytesRead;
    this.partial += buf.toString("utf8", 0, bytesRead);
    const out: LogEntry[] = [];
    let nl = this.partial.indexOf("\n");
    while (nl >= 0) {
      const e = parseLogLine(this.partial.slice(0, nl));
      this.partial = this.partial.slice(nl + 1);
      nl = this.partial.indexOf("\n");
      if (e) out.push(e);
    }
    return out;
  }

  /** Starts over (the writer truncated the file: max-file=1). */
  reset(): void {
    this.offset = 0;
    this.partial = "";
  }
}

async function openOrUndefined(path: string): Promise<Handle | undefined> {
  try {
    return await open(path, "r");
  } catch {
    return undefined;
  }
}

/**
 * The last `n` records of the log at `path` (and its rotated files) that `q` wants, oldest
 * first, read backwards from the end as Docker does, so `--tail` costs what it shows, not the
 * log's size. Also returns the live file, open, and its size when read (a follower goes on
 * from there); `live` is undefined when there is no log.
 */
export async function lastRecords(
  path: string,
  q: LogQuery,
  n: number,
): Promise<{ entries: LogEntry[]; live: Handle | undefined; liveSize: number }> {
  const found: LogEntry[] = []; // newest first
  const live = await openOrUndefined(path);
  const liveSize = live ? (await live.stat()).size : 0;
  const files: (string | Handle)[] = [...(live ? [live] : []), ...rotatedFiles(path).reverse()];
  const chunk = Buffer.alloc(64 * 1024);
  for (const f of files) {
    if (found.length >= n) break;
    const fh = typeof f === "string" ? await openOrUndefined(f) : f;
    if (!fh) continue;
    try {
      let end = fh === live ? liveSize : (await fh.stat()).size;
      let carry = Buffer.alloc(0); // the start of a line whose beginning lies before `end`
      const take = (line: Buffer) => {
        const e = parseLogLine(line.toString("utf8"));
        if (e && wanted(e, q)) found.push(e);
      };
      while (end > 0 && found.length < n) {
        const start = Math.max(0, end - chunk.length);
        const { bytesRead } = await fh.read(chunk, 0, end - start, start);
        const buf = Buffer.concat([chunk.subarray(0, bytesRead), carry]);
        let stop = buf.length;
        for (let i = buf.length - 1; i >= 0 && found.length < n; i--) {
          if (buf[i] !== 10) continue;
          if (i + 1 < stop) take(buf.subarray(i + 1, stop));
          stop = i;
        }
        carry = Buffer.from(buf.subarray(0, stop));
        end = start;
        if (end === 0 && carry.length && found.length < n) take(carry);
      }
    } finally {
      if (fh !== live) await fh.close();
    }
  }
  return { entries: found.slice(0, n).reverse(), live, liveSize };
}

/**
 * Reads the log at `path` per `q`, the rotated files (`path.N` … `path.1`) first unless
 * `fromOffset` is given. A follower goes on into the new file when the monitor rotates (and
 * through any file it rotated away before the follower looked). A missing file reads as empty.
 */
export async function* readLogs(path: string, q: LogQuery = {}): AsyncGenerator<LogEntry> {
  const buf = Buffer.alloc(64 * 1024);
  const tailing = q.tail !== undefined && q.tail >= 0;
  const backlog: LogEntry[] = [];
  let caughtUp = false;
  function* pass(entries: LogEntry[]): Generator<LogEntry> {
    for (const e of entries) {
      if (!wanted(e, q)) continue;
      if (tailing && !caughtUp) {
        backlog.push(e);
        if (backlog.length > (q.tail as number)) backlog.shift();
      } else {
        yield e;
      }
    }
  }
  /** Reads whole files (rotated ones, which no longer grow). */
  async function* drain(files: readonly string[]): AsyncGenerator<LogEntry> {
    for (const f of files) {
      const fh = await openOrUndefined(f);
      if (!fh) continue;
      try {
        const c = new Cursor(fh);
        for (let got = await c.next(buf); got; got = await c.next(buf)) yield* pass(got);
      } finally {
        await fh.close();
      }
    }
  }
  let cur: Cursor | undefined;
  let startAt = q.fromOffset ?? 0;
  let finalPass = false;
  try {
    if (tailing && q.fromOffset === undefined) {
      // The tail is read backwards; a follower then goes on from where the live file ended.
      const last = await lastRecords(path, q, q.tail as number);
      if (last.live) cur = new Cursor(last.live, last.liveSize);
      startAt = last.liveSize;
      caughtUp = true;
      yield* last.entries;
      if (!q.follow) return;
    } else if (q.fromOffset === undefined) {
      yield* drain(rotatedFiles(path));
    }
    for (;;) {
      if (!cur) {
        const fh = await openOrUndefined(path);
        if (fh) cur = new Cursor(fh, startAt);
      }
      const got = cur ? await cur.next(buf) : undefined;
      if (got) {
        yield* pass(got);
        continue;
      }
      if (cur && (await cur.fh.stat()).size < cur.offset) {
        cur.reset();
        continue;
      }
      if (cur && q.follow) {
        // Rotated: the old file is complete; any file rotated after it was missed, then the new one.
        const ino = (await cur.fh.stat()).ino;
        let now: number | undefined;
        try {
          now = (await stat(path)).ino;
        } catch {}
        if (now !== undefined && now !== ino) {
          const rotated = rotatedFiles(path);
          const inos = await Promise.all(
            rotated.map((f) =>
              stat(f).then(
                (s) => s.ino,
                () => -1,
              ),
            ),
          );
          const at = inos.indexOf(ino);
          await cur.fh.close();
          cur = undefined;
          startAt = 0;
          if (at >= 0) yield* drain(rotated.slice(at + 1));
          continue;
        }
      }
      if (!caughtUp) {
        caughtUp = true;
        yield* backlog.splice(0);
      }
      if (!q.follow || q.signal?.aborted) return;
      if (q.done?.()) {
        // The writer may have finished after our last read: one more pass catches its last words.
        if (finalPass) return;
        finalPass = true;
        continue;
      }
      await pause(25, q);
    }
  } finally {
    await cur?.fh.close();
  }
}

/** Docker's multiplexed stream frame: 1 stdout / 2 stderr, three zero bytes, big-endian size. Pure. */
export function frame(stream: "stdout" | "stderr", data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream === "stdout" ? 1 : 2;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}
