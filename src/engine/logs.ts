/**
 * Reading Docker `json-file` logs (written by the monitor): parsing, tail/since/until selection
 * and following a growing file. Entries are yielded as they are found; a follower stops once the
 * caller says the writer is done and the file has been read to its end.
 */
import { open } from "node:fs/promises";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads the log at `path` per `q`. A missing file reads as empty. */
export async function* readLogs(path: string, q: LogQuery = {}): AsyncGenerator<LogEntry> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  let offset = q.fromOffset ?? 0;
  let partial = "";
  const buf = Buffer.alloc(64 * 1024);
  const tailing = q.tail !== undefined && q.tail >= 0;
  const backlog: LogEntry[] = [];
  let caughtUp = false;
  let finalPass = false;
  try {
    for (;;) {
      if (!fh) {
        try {
          fh = await open(path, "r");
        } catch {
          fh = undefined;
        }
      }
      let got = 0;
      if (fh) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        got = bytesRead;
        offset += bytesRead;
        partial += buf.toString("utf8", 0, bytesRead);
        let nl = partial.indexOf("\n");
        while (nl >= 0) {
          const e = parseLogLine(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
          nl = partial.indexOf("\n");
          if (!e || !wanted(e, q)) continue;
          if (tailing && !caughtUp) {
            backlog.push(e);
            if (backlog.length > (q.tail as number)) backlog.shift();
          } else {
            yield e;
          }
        }
      }
      if (got > 0) continue;
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
      await sleep(25);
    }
  } finally {
    await fh?.close();
  }
}

/** Docker's multiplexed stream frame: 1 stdout / 2 stderr, three zero bytes, big-endian size. Pure. */
export function frame(stream: "stdout" | "stderr", data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream === "stdout" ? 1 : 2;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}
