/**
 * Exec and attach behind the streaming server, whatever the wire (SPDY streams or WebSocket
 * channels): the engine's own exec instances (`ExecService`, as under the Docker API) and the
 * engine's attach (`attachOutput`/`attachInput` on the container's log and stdin socket), with
 * the terminal resized as the client's resize stream asks. The result goes on the error
 * stream as the kubelet writes it (`status.ts`).
 */
import { PassThrough, type Readable, Writable } from "node:stream";
import { attachInput, attachOutput } from "../../api/attach.js";
import { resizeContainer } from "../../containers/terminal.js";
import type { Engine } from "../../engine.js";
import { ResizeReader, type TerminalSize } from "./resize.js";
import type { CommandResult } from "./status.js";
import type { PendingRequest } from "./tokens.js";

/** The client's streams of one exec or attach, as the wire protocol delivered them. */
export interface CommandStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  resize?: Readable;
  /** Aborted when the client's connection is gone. */
  signal: AbortSignal;
  /** Ends stdout and stderr (all they hold goes first), writes `result`, closes the connection. */
  finish(result: CommandResult): Promise<void>;
}

/** Ends `w` and resolves once what it holds went out (or it is gone). */
export function endWritable(w: Writable | undefined): Promise<void> {
  if (!w || w.writableFinished || w.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    w.once("finish", resolve);
    w.once("close", resolve);
    w.end();
  });
}

/**
 * The client's stdin as a stream the engine reads: it ends when the client half-closes stdin
 * or goes away (so that a process reading stdin sees its end either way).
 */
function stdinOf(src: Readable | undefined): PassThrough {
  const p = new PassThrough();
  if (!src) return p.end() as PassThrough;
  src.pipe(p);
  src.once("close", () => p.end());
  src.once("error", () => p.end());
  return p;
}

/** Calls `apply` for every size the resize stream asks for; a malformed one ends the stream. */
function followResizes(
  resize: Readable | undefined,
  apply: (size: TerminalSize) => void,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): void {
  if (!resize) return;
  const reader = new ResizeReader();
  resize.on("data", (d: Buffer) => {
    try {
      for (const size of reader.push(d)) apply(size);
    } catch (err) {
      log("streaming: resize stream refused", { error: (err as Error).message });
      resize.removeAllListeners("data");
      resize.resume();
    }
  });
  resize.on("error", () => {});
}

/** A sink for output nobody asked for, closed when the client leaves (which ends the attach). */
function discard(signal: AbortSignal): Writable {
  const w = new Writable({ write: (_c, _e, done) => done() });
  if (signal.aborted) w.destroy();
  else signal.addEventListener("abort", () => w.destroy(), { once: true });
  return w;
}

/** Runs the exec `req` with the client's `io`; resolves once the result is written. */
export async function serveExec(
  engine: Engine,
  req: Extract<PendingRequest, { kind: "exec" }>,
  io: CommandStreams,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): Promise<void> {
  let result: CommandResult;
  let id: string | undefined;
  try {
    const inst = engine.execs.create(req.containerId, {
      cmd: req.cmd,
      env: [],
      tty: req.tty,
      attachStdin: req.stdin && io.stdin !== undefined,
    });
    id = inst.id;
    if (req.tty)
      followResizes(
        io.resize,
        (s) => void engine.execs.resize(inst.id, s.height, s.width).catch(() => {}),
        log,
      );
    const code = await engine.execs.start(inst.id, stdinOf(io.stdin), Buffer.alloc(0), 0, (stream, d) => {
      const out = stream === "stdout" ? io.stdout : io.stderr;
      if (out && !out.destroyed) out.write(d);
    });
    result = { exitCode: code };
  } catch (err) {
    result = { error: (err as Error).message };
  } finally {
    if (id) engine.execs.forget(id);
  }
  await io.finish(result);
}

/** Attaches the client's `io` to the container of `req` until it exits or the client leaves. */
export async function serveAttach(
  engine: Engine,
  req: Extract<PendingRequest, { kind: "attach" }>,
  io: CommandStreams,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): Promise<void> {
  const svc = engine.containers;
  let result: CommandResult = { exitCode: 0 };
  try {
    const rec = svc.find(req.containerId);
    if (rec.status !== "running") throw new Error(`container ${rec.id} is not running`);
    // As containerd: stdin reaches the container only when it was created with stdin open.
    if (req.stdin && io.stdin && rec.config.openStdin)
      attachInput(svc, rec.id, stdinOf(io.stdin), Buffer.alloc(0));
    else io.stdin?.resume();
    if (req.tty)
      followResizes(
        io.resize,
        (s) => {
          try {
            resizeContainer(svc, rec.id, s.height, s.width);
          } catch {}
        },
        log,
      );
    // attachOutput's `tty` means "unframed": each stream is copied raw onto its own channel.
    const tty = rec.config.tty === true;
    const outputs = tty
      ? [
          attachOutput(svc, rec.id, io.stdout ?? discard(io.signal), {
            tty: true,
            stdout: true,
            stderr: true,
          }),
        ]
      : [
          attachOutput(svc, rec.id, io.stdout ?? discard(io.signal), {
            tty: true,
            stdout: true,
            stderr: false,
          }),
          attachOutput(svc, rec.id, io.stderr ?? discard(io.signal), {
            tty: true,
            stdout: false,
            stderr: true,
          }),
        ];
    await Promise.all(outputs);
  } catch (err) {
    result = { error: (err as Error).message };
  }
  await io.finish(result);
}
