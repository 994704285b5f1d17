/**
 * Streaming a container's output to a client (Docker attach and logs): entries from the
 * json-file log, framed with Docker's 8-byte header unless the container has a TTY, and stdin
 * from the client forwarded to the monitor's attach socket.
 */
import { connect, type Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import type { ContainerService } from "../containers/service.js";
import { frame, type LogEntry, type LogQuery, readLogs } from "../logs.js";

/** The bytes a client receives for one log entry. Pure. */
export function encodeEntry(e: LogEntry, tty: boolean, timestamps: boolean, details = false): Buffer {
  // `--details`: the entry's log attributes and a space; pier's json-file records none.
  const line = details ? ` ${e.log}` : e.log;
  const data = Buffer.from(timestamps ? `${e.time} ${line}` : line, "utf8");
  return tty ? data : frame(e.stream, data);
}

/** Writes `chunk`, waiting for drain when the client is slow. */
async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
}

/** Copies log entries matching `q` of container `id` to `out` until they end (or `out` closes). */
export async function streamLogs(
  svc: ContainerService,
  id: string,
  out: Writable,
  q: LogQuery,
  opts: { tty: boolean; timestamps: boolean; details?: boolean },
): Promise<void> {
  const ac = new AbortController();
  out.once("close", () => ac.abort());
  for await (const e of readLogs(svc.logPath(id), { ...q, signal: ac.signal })) {
    if (out.destroyed) break;
    await write(out, encodeEntry(e, opts.tty, opts.timestamps, opts.details));
  }
}

/**
 * Output from now until the container's next exit (or removal), as Docker's attach gives it:
 * attaching before `start` sees everything the process writes.
 */
export async function attachOutput(
  svc: ContainerService,
  id: string,
  out: Writable,
  opts: { tty: boolean; stdout: boolean; stderr: boolean },
): Promise<void> {
  let finished = false;
  const onEnd = (eid: string) => {
    if (eid === id) finished = true;
  };
  svc.on("exit", onEnd);
  svc.on("removed", onEnd);
  try {
    await streamLogs(
      svc,
      id,
      out,
      {
        follow: true,
        fromOffset: svc.logSize(id),
        stdout: opts.stdout,
        stderr: opts.stderr,
        done: () => finished || !svc.store.get(id),
        wake: (notify) => svc.onEnd(id, notify),
      },
      { tty: opts.tty, timestamps: false },
    );
  } finally {
    svc.off("exit", onEnd);
    svc.off("removed", onEnd);
  }
}

/**
 * Forwards what the client sends to the container's stdin (the monitor's attach socket, which
 * appears once the container starts). The client's end of input closes the container's stdin.
 */
export function attachInput(svc: ContainerService, id: string, input: Readable, head: Buffer): void {
  const pending: Buffer[] = head.length ? [head] : [];
  let ended = false;
  let target: Socket | undefined;
  input.on("data", (d: Buffer) => (target ? target.write(d) : pending.push(d)));
  input.on("end", () => {
    ended = true;
    target?.end();
  });
  const tryConnect = (attempt: number) => {
    const rec = svc.store.get(id);
    if (!rec || (rec.status === "exited" && attempt > 250)) return;
    if (rec.status !== "running") {
      setTimeout(() => tryConnect(attempt + 1), 20);
      return;
    }
    const s = connect(svc.attachSocket(id));
    s.on("connect", () => {
      target = s;
      for (const d of pending.splice(0)) s.write(d);
      if (ended) s.end();
    });
    s.on("error", () => {
      if (!target) setTimeout(() => tryConnect(attempt + 1), 20);
    });
  };
  tryConnect(0);
}
