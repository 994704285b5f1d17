/**
 * `pier exec`, `pier attach` (and `pier run -i/-t`'s session): streams over pierd's own API (see
 * `src/engine/api/pier-tty.ts`): stdin goes up as the request body, output comes back in frames,
 * the last one carrying the exit code, which becomes this process's. With `-t` on a terminal, the
 * local terminal is raw, its size follows the window, and ctrl-p ctrl-q detaches.
 */
import { type IncomingMessage, request } from "node:http";
import { PassThrough } from "node:stream";
import type { Command } from "commander";
import { collectEnv } from "../args.js";
import { commandIo, requireOwnProcess } from "../io.js";
import { callJson, EngineClientError, pierSocket, responseError } from "./engine-client.js";

const enc = encodeURIComponent;

/** One frame of a pier stream: 1 stdout, 2 stderr, 3 the exit record. */
export interface StreamFrame {
  stream: number;
  data: Buffer;
}

/** Splits a byte stream into frames as they complete, keeping a partial one for later. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** The frames that `chunk` completes. */
  push(chunk: Buffer): StreamFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: StreamFrame[] = [];
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      out.push({ stream: this.buf[0]!, data: this.buf.subarray(8, 8 + size) });
      this.buf = this.buf.subarray(8 + size);
    }
    return out;
  }
}

/**
 * Finds Docker's detach sequence (ctrl-p ctrl-q) in typed input, holding back a partial match
 * until the next byte shows whether it was one (then it goes on, as in Docker).
 */
export class DetachKeys {
  private held: number[] = [];
  constructor(private readonly keys: readonly number[] = [0x10, 0x11]) {}

  /** What of `chunk` to forward, and whether the sequence is now complete. */
  push(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) return { forward: Buffer.from(out), detached: true };
        continue;
      }
      out.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else out.push(b);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}

/** Opens a streaming POST: `stdin` (when given) becomes its body as it arrives. */
function openStream(path: string, stdin: NodeJS.ReadableStream | undefined): Promise<IncomingMessage> {
  const socketPath = pierSocket();
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: "POST", path, signal: commandIo().signal }, async (res) => {
      if ((res.statusCode ?? 500) < 400) resolve(res);
      else reject(await responseError(res));
    });
    req.on("error", (err) =>
      reject(new EngineClientError("UNREACHABLE", `cannot reach pierd at ${socketPath}: ${err.message}`, 0)),
    );
    req.flushHeaders();
    if (stdin) stdin.pipe(req);
    else req.end();
  });
}

/** Copies a stream's frames to stdout/stderr; resolves with the exit code of its last frame. */
async function relay(res: IncomingMessage): Promise<number> {
  const reader = new FrameReader();
  let code: number | undefined;
  for await (const chunk of res) {
    for (const f of reader.push(chunk as Buffer)) {
      if (f.stream === 1) commandIo().stdout(f.data);
      else if (f.stream === 2) commandIo().stderr(f.data);
      else if (f.stream === 3) code = (JSON.parse(f.data.toString()) as { exitCode: number }).exitCode;
    }
  }
  if (code === undefined)
    throw new EngineClientError("STREAM_CUT", "the connection to pierd ended before the exit code", 0);
  return code;
}

/** A stream opened with this terminal wired to it. */
export interface Session {
  /** Sends the window size to the stream's resize path (again on every change). */
  followWindow(): void;
  /** Relays the output until the stream ends; resolves with its exit code. */
  finish(): Promise<number>;
  /** Drops the stream (its container could not start). */
  abort(): void;
}

/**
 * Opens `path`'s stream: stdin as the body when `stdin` (raw when `tty` and a terminal); with
 * `tty` on a terminal, {@link Session.followWindow} posts the window size to `resizePath`.
 */
export async function openSession(
  path: string,
  opts: { stdin: boolean; tty: boolean; resizePath?: (res: IncomingMessage) => string },
): Promise<Session> {
  const rawInput = opts.tty && opts.stdin && process.stdin.isTTY;
  if (rawInput) process.stdin.setRawMode(true);
  const restore = () => {
    if (rawInput) process.stdin.setRawMode(false);
  };
  let input: NodeJS.ReadableStream | undefined = opts.stdin ? process.stdin : undefined;
  if (rawInput) {
    // On a terminal, ctrl-p ctrl-q leaves the container running and this command with 0.
    const keys = new DetachKeys();
    const typed = new PassThrough();
    process.stdin.on("data", (chunk: Buffer) => {
      const r = keys.push(chunk);
      if (r.forward.length) typed.write(r.forward);
      if (r.detached) {
        restore();
        process.exit(0);
      }
    });
    process.stdin.on("end", () => typed.end());
    input = typed;
  }
  let res: IncomingMessage;
  try {
    res = await openStream(path, input);
  } catch (err) {
    restore();
    throw err;
  }
  let resize: (() => void) | undefined;
  return {
    followWindow() {
      if (!opts.tty || !opts.resizePath || !process.stdout.isTTY || resize) return;
      const target = opts.resizePath(res);
      resize = () => {
        const q = `h=${process.stdout.rows}&w=${process.stdout.columns}`;
        openStream(`${target}?${q}`, undefined).then(
          (r) => r.resume(),
          () => {},
        );
      };
      resize();
      process.stdout.on("resize", resize);
    },
    abort() {
      res.destroy();
      if (opts.stdin) {
        process.stdin.unpipe();
        process.stdin.pause();
      }
      restore();
    },
    async finish() {
      try {
        return await relay(res);
      } finally {
        restore();
        if (resize) process.stdout.off("resize", resize);
      }
    },
  };
}

/**
 * Sends the signals this command receives to container `ref` instead of dying of them, as the
 * docker CLI does for an attached container without a terminal (with one, ctrl-c is just a byte
 * on the terminal). Returns the undo.
 */
export function proxySignals(ref: string): () => void {
  const forward = (sig: NodeJS.Signals) => {
    callJson("POST", `/v1/containers/${enc(ref)}/kill?signal=${sig}`).catch(() => {});
  };
  return commandIo().onSignal(forward);
}

/**
 * Runs a session to its end and exits with its code: at once in a process of its own (its stdin
 * may never end on its own), as the command's status in the CLI service (no stdin there).
 */
async function runSession(session: Session): Promise<void> {
  session.followWindow();
  const code = await session.finish();
  const io = commandIo();
  if (io.ownProcess) process.exit(code);
  io.exitCode = code;
}

/**
 * Attaches to container `ref` (created or running: `pier run -it` attaches before it starts,
 * so nothing the container writes is missed).
 */
export function attachSession(ref: string, opts: { stdin: boolean; tty: boolean }): Promise<Session> {
  return openSession(`/v1/containers/${enc(ref)}/attach?stdin=${opts.stdin ? 1 : 0}`, {
    ...opts,
    resizePath: () => `/v1/containers/${enc(ref)}/resize`,
  });
}

interface ExecFlags {
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
}

/** Registers `exec` and `attach` on `program`. */
export function registerTtyCommands(program: Command): void {
  program
    .command("exec")
    .description("run a command in a running container (exits with its exit code)")
    .argument("<container>", "container name or id")
    .argument("<command...>", "command and arguments")
    .passThroughOptions()
    .option("-i, --interactive", "keep stdin open and pass it to the command")
    .option("-t, --tty", "allocate a terminal")
    .option("-e, --env <KEY=value>", "set an environment variable (repeatable)", collectEnv)
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-u, --user <user>", "user[:group] to run as")
    .action(async (container: string, command: string[], f: ExecFlags) => {
      if (f.interactive || f.tty) requireOwnProcess("exec -i/-t");
      const q = new URLSearchParams();
      for (const c of command) q.append("cmd", c);
      for (const e of f.env ?? []) q.append("env", e);
      if (f.workdir) q.set("workdir", f.workdir);
      if (f.user) q.set("user", f.user);
      if (f.tty) q.set("tty", "1");
      if (f.interactive) q.set("stdin", "1");
      await runSession(
        await openSession(`/v1/containers/${enc(container)}/exec?${q}`, {
          stdin: f.interactive === true,
          tty: f.tty === true,
          resizePath: (res) => `/v1/exec/${String(res.headers["pier-exec-id"])}/resize`,
        }),
      );
    });

  program
    .command("attach")
    .description("attach to a running container's output (and stdin when it keeps it open)")
    .argument("<container>", "container name or id")
    .option("--no-stdin", "do not attach stdin")
    .option("--no-sig-proxy", "do not pass received signals on to the container (no terminal only)")
    .action(async (container: string, f: { stdin: boolean; sigProxy: boolean }) => {
      const info = await callJson<{ config?: { tty?: boolean; openStdin?: boolean } }>(
        "GET",
        `/v1/containers/${enc(container)}`,
      );
      const stdin = f.stdin && info.config?.openStdin === true;
      const tty = info.config?.tty === true;
      if (stdin || tty) requireOwnProcess("attach with stdin or a terminal");
      if (!tty && f.sigProxy) proxySignals(container);
      await runSession(await attachSession(container, { stdin, tty }));
    });
}
