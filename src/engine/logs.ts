/**
 * Reading Docker `json-file` logs (written by the monitor): parsing, tail/since/until selection
 * and following a growing file. Entries are yielded as they are found; a follower stops once the
 * caller says the writer is done and the file has been read to its end.
 */
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

/** One open log file and its inode (which names it across the monitor's renames). */
export interface OpenLogFile {
  fh: Handle;
  ino: bigint;
}

/** The files of a log, open, as they stood at one moment between two rotations. */
export interface LogFileSet {
  /** The rotated files, oldest first (`path.N` … `path.1`); they no longer grow. */
  rotated: OpenLogFile[];
  /** `path`, the file the monitor writes; undefined when it does not exist. */
  live: OpenLogFile | undefined;
}

async function openOrUndefined(path: string): Promise<Handle | undefined> {
  try {
    return await open(path, "r");
  } catch {
    return undefined;
  }
}

async function inoOf(path: string): Promise<bigint | undefined> {
  try {
    return (await stat(path, { bigint: true })).ino;
  } catch {
    return undefined;
  }
}

/** Closes every handle of `files`. */
async function closeAll(files: readonly (OpenLogFile | undefined)[]): Promise<void> {
  await Promise.all(files.map((f) => f?.fh.close()));
}

/**
 * One attempt at opening the log's files: `path` first, then `path.1`, `path.2`, … until two
 * names in a row are missing; then each name is looked up again, `path` last. The monitor
 * (pier-monitor's rotate_log) rotates by renaming `path.(i-1)` to `path.i` from the top down,
 * then `path` to `path.1`, then creating `path`: a rotation in progress leaves one name missing
 * for a moment, never two in a row, and every rename gives a name another inode. So when each
 * name still has the inode it was opened with (or is still missing), nothing was renamed
 * between the last open and the first look-up, and the handles are the files as they stood
 * then. `undefined` when a rotation ran in between.
 */
async function openLogFilesOnce(path: string): Promise<LogFileSet | undefined> {
  const opened: (OpenLogFile | undefined)[] = [];
  const openOne = async (name: string) => {
    const fh = await openOrUndefined(name);
    if (!fh) return undefined;
    try {
      return { fh, ino: (await fh.stat({ bigint: true })).ino };
    } catch (err) {
      await fh.close();
      throw err;
    }
  };
  try {
    opened.push(await openOne(path));
    for (let i = 1; opened.length < 3 || opened.at(-1) || opened.at(-2); i++)
      opened.push(await openOne(`${path}.${i}`));
    // Nothing at all: no log yet, nothing to check (a file that appears is found next time).
    if (!opened.some((f) => f)) return { rotated: [], live: undefined };
    const names = opened.map((_, i) => (i === 0 ? path : `${path}.${i}`));
    for (const i of [...names.keys()].slice(1).concat(0))
      if ((await inoOf(names[i] as string)) !== opened[i]?.ino) {
        await closeAll(opened);
        return undefined;
      }
  } catch (err) {
    await closeAll(opened);
    throw err;
  }
  const [live, ...rotated] = opened;
  return { rotated: rotated.filter((f): f is OpenLogFile => f !== undefined).reverse(), live };
}

/**
 * The log's files at `path`, open, as they stood at one moment (see `openLogFilesOnce`): a
 * rotation that runs meanwhile makes it look again, after a pause that grows to 25 ms, up to
 * 50 times. Files that do not exist are left out (no log: none at all).
 */
export async function openLogFiles(path: string): Promise<LogFileSet> {
  for (let attempt = 0; ; attempt++) {
    const set = await openLogFilesOnce(path);
    if (set) return set;
    // A writer that rotates faster than these few syscalls run (a second of tries): `path`
    // alone, as Docker's follower that missed rotations goes on with the live file.
    if (attempt === 50) {
      const live = await openOrUndefined(path);
      return { rotated: [], live: live && { fh: live, ino: (await live.stat({ bigint: true })).ino } };
    }
    if (attempt > 2) await new Promise((r) => setTimeout(r, Math.min(25, attempt)));
  }
}

/** Reads one open log file from an offset, record by record. */
class Cursor {
  private partial = "";
  /** The monitor renamed the file away: it is complete once read to its end again. */
  rotatedAway = false;
  constructor(
    readonly file: OpenLogFile,
    public offset = 0,
  ) {}

  get fh(): Handle {
    return this.file.fh;
  }

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

/**
 * The last `n` records of the log at `path` (and its rotated files) that `q` wants, oldest
 * first, read backwards from the end as Docker does, so `--tail` costs what it shows, not the
 * log's size. Also returns the newest file, open, and its size when read (a follower goes on
 * from there: the live file, or the newest rotated one while a rotation is in progress);
 * `newest` is undefined when there is no log.
 */
export async function lastRecords(
  path: string,
  q: LogQuery,
  n: number,
): Promise<{ entries: LogEntry[]; newest: OpenLogFile | undefined; newestSize: number }> {
  const found: LogEntry[] = []; // newest first
  const set = await openLogFiles(path);
  const files = [...(set.live ? [set.live] : []), ...set.rotated.reverse()];
  const newest = files[0];
  let newestSize = 0;
  const chunk = Buffer.alloc(64 * 1024);
  try {
    if (newest) newestSize = (await newest.fh.stat()).size;
    for (const { fh } of files) {
      if (found.length >= n) break;
      let end = fh === newest?.fh ? newestSize : (await fh.stat()).size;
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
    }
  } catch (err) {
    await closeAll(files);
    throw err;
  }
  await closeAll(files.slice(1));
  return { entries: found.slice(0, n).reverse(), newest, newestSize };
}

/**
 * Reads the log at `path` per `q`, the rotated files (`path.N` … `path.1`) first unless
 * `fromOffset` is given. A follower goes on into the new file when the monitor rotates, through
 * every file it rotated away before the follower looked, without losing or repeating a record
 * as long as it keeps within max-file rotations of the monitor (the files are told apart by
 * inode, not name). One that fell further behind finishes the file it was reading, loses the
 * files the monitor deleted since, and goes on with the oldest one left (Docker's follower
 * skips to the live file after missing rotations). A missing file reads as empty.
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
  /** The file being read, and the files newer than it (open; the last may be the live one). */
  let cur: Cursor | undefined;
  let queue: OpenLogFile[] = [];
  /** Takes `files` (oldest first) as the ones to read next, from the first. */
  const readNext = async (files: OpenLogFile[]) => {
    const [first, ...rest] = files;
    if (!first) return false;
    await cur?.fh.close();
    cur = new Cursor(first);
    queue = rest;
    return true;
  };
  let finalPass = false;
  try {
    if (tailing && q.fromOffset === undefined) {
      // The tail is read backwards; a follower then goes on from where the newest file ended.
      const last = await lastRecords(path, q, q.tail as number);
      if (last.newest) cur = new Cursor(last.newest, last.newestSize);
      caughtUp = true;
      yield* last.entries;
      if (!q.follow) return;
    } else if (q.fromOffset !== undefined) {
      const fh = await openOrUndefined(path);
      if (fh) cur = new Cursor({ fh, ino: (await fh.stat({ bigint: true })).ino }, q.fromOffset);
    }
    for (;;) {
      if (!cur) {
        // No log yet (or none when reading started): whatever appears, from its oldest file.
        const set = await openLogFiles(path);
        await readNext([...set.rotated, ...(set.live ? [set.live] : [])]);
      }
      const got = cur ? await cur.next(buf) : undefined;
      if (got) {
        yield* pass(got);
        continue;
      }
      if (cur && queue.length) {
        await readNext(queue);
        continue;
      }
      if (cur && (await cur.fh.stat()).size < cur.offset) {
        cur.reset();
        continue;
      }
      if (cur && q.follow && ((await inoOf(path)) ?? cur.file.ino) !== cur.file.ino) {
        // Renamed away: the monitor writes no more into it, but may have appended after our
        // last read and before the rename. Read it to its end once more, then find the files
        // rotated after it (by inode: the names may have shifted several times).
        if (!cur.rotatedAway) {
          cur.rotatedAway = true;
          continue;
        }
        const set = await openLogFiles(path);
        const files = [...set.rotated, ...(set.live ? [set.live] : [])];
        const at = files.findIndex((f) => f.ino === (cur as Cursor).file.ino);
        // Not found: deleted, the follower fell max-file rotations behind; the oldest left next.
        await closeAll(files.slice(0, at + 1));
        if (await readNext(files.slice(at + 1))) continue;
        // Mid-rotation (no new `path` yet): keep `cur` and look again at the next poll.
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
    await closeAll([cur?.file, ...queue]);
  }
}

/** Docker's multiplexed stream frame: 1 stdout / 2 stderr, three zero bytes, big-endian size. Pure. */
export function frame(stream: "stdout" | "stderr", data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream === "stdout" ? 1 : 2;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}
