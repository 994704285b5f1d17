/**
 * A resident command service: runs command lines for a native front end (`native/front-end.c`),
 * so that a command costs a unix-socket round trip instead of a Node.js start. The runtime's
 * (`pier-runtime`) and the `pier` CLI's services each pass their own `run`.
 * The front end's process stays the caller's: it writes the output this service frames, exits
 * with the status named here, and becomes pier-init when a command starts a container process
 * (see `native/front-end.c`). Commands run concurrently; each has its own working directory,
 * environment and output, and nothing here depends on process-wide state.
 */
import { chmodSync, closeSync, openSync, readSync, statSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import {
  FORWARDED_SIGNALS,
  frameOutput,
  parseExited,
  parseOpening,
  parseRequest,
  parseSignal,
  type ServiceRequest,
} from "./protocol.js";

/** How long the front end has to open its sync connection after `exec`. */
const SYNC_TIMEOUT_MS = 10_000;

/** The caller's process turned into another program (see {@link ServiceIo.execInCaller}). */
export interface CallerExec {
  /** The service's end of the sync connection the front end opened before its `exec`. */
  sync: Socket;
  /** The program's exit status, as the front end's parent reports it. */
  exited: Promise<number>;
}

/** What a command run by the service has of its caller. */
export interface ServiceIo {
  stdout(data: string | Uint8Array): void;
  stderr(data: string | Uint8Array): void;
  /** The caller's working directory. */
  cwd: string;
  /** The caller's environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** The calling process. */
  callerPid: number;
  /** Aborted when the caller went away. */
  signal: AbortSignal;
  /** Signals the caller received and passed on; while a listener is registered they do not end the command. */
  onSignal(listener: (sig: NodeJS.Signals) => void): () => void;
  /**
   * Makes the caller's process `exec` `program` (the front end's own pier-init when omitted),
   * once per command: the container process is then the caller's, as with a plain CLI.
   */
  execInCaller(program?: string): Promise<CallerExec>;
}

/** Options of {@link CommandService}. */
export interface CommandServiceOptions {
  socket: string;
  /** Its name in messages (the front end's). */
  name: string;
  /**
   * Runs one command line. `"direct"`: the command needs the caller's own process (the front
   * end runs the plain CLI instead); nothing may have been done for it.
   */
  run: (argv: string[], io: ServiceIo) => Promise<number | "direct">;
  /** Called when no command has run for a while or is running (see {@link CommandService.busy}). */
  onIdle?: () => void;
  /**
   * True once this service must not take new commands (its code was rebuilt): a caller is then
   * closed on without a word, which tells the front end to start a successor and ask it.
   */
  isStale?: () => boolean;
  /** Called when a caller was turned away as stale (the owner shuts the service down). */
  onStale?: () => void;
  idleMs?: number;
}

/** A listening command service. */
export class CommandService {
  private readonly server: Server;
  private readonly pendingSync = new Map<string, (s: Socket) => void>();
  private active = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Inode of the socket file this service made (a successor may have replaced the file). */
  private socketIno = 0;

  private constructor(
    private readonly opts: CommandServiceOptions,
    server: Server,
  ) {
    this.server = server;
  }

  /**
   * Listens on `opts.socket` (mode 0600). Resolves `undefined` when another service already
   * answers there; a stale socket file is replaced.
   */
  static async listen(opts: CommandServiceOptions): Promise<CommandService | undefined> {
    if (await answers(opts.socket)) return undefined;
    try {
      unlinkSync(opts.socket);
    } catch {}
    const server = createServer();
    const service = new CommandService(opts, server);
    server.on("connection", (s) => service.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.socket, () => resolve());
    });
    chmodSync(opts.socket, 0o600);
    service.socketIno = statSync(opts.socket).ino;
    service.armIdle();
    return service;
  }

  /** Commands in progress. */
  get busy(): number {
    return this.active;
  }

  /** Stops listening (commands in progress finish) and removes the socket. */
  close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    // Unlinked first, so that the next caller starts a successor at once instead of waiting.
    try {
      if (statSync(this.opts.socket).ino === this.socketIno) unlinkSync(this.opts.socket);
    } catch {}
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.opts.onIdle || this.active > 0) return;
    this.idleTimer = setTimeout(() => this.opts.onIdle?.(), this.opts.idleMs ?? 60_000);
    this.idleTimer.unref();
  }

  private accept(sock: Socket): void {
    if (this.opts.isStale?.()) {
      sock.destroy();
      this.opts.onStale?.();
      return;
    }
    let buf = Buffer.alloc(0);
    let opening: ReturnType<typeof parseOpening> | undefined;
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!opening) {
        const nl = buf.indexOf(10);
        if (nl < 0) {
          if (buf.length > 256) sock.destroy();
          return;
        }
        try {
          opening = parseOpening(buf.subarray(0, nl).toString("utf8"));
        } catch {
          sock.destroy();
          return;
        }
        buf = buf.subarray(nl + 1);
        if (opening.kind === "sync") {
          sock.off("data", onData);
          const waiter = this.pendingSync.get(opening.token);
          this.pendingSync.delete(opening.token);
          if (waiter) waiter(sock);
          else sock.destroy();
          return;
        }
      }
      if (opening.kind === "req" && buf.length >= opening.length) {
        sock.off("data", onData);
        const payload = buf.subarray(0, opening.length);
        const rest = buf.subarray(opening.length);
        let req: ServiceRequest;
        try {
          req = parseRequest(payload);
        } catch (err) {
          sock.end(
            Buffer.concat([
              frameOutput("err", `${this.opts.name}: ${(err as Error).message}\n`),
              Buffer.from("exit 1\n"),
            ]),
          );
          return;
        }
        void this.serve(sock, req, rest);
      }
    };
    sock.on("data", onData);
    sock.on("error", () => {});
  }

  private async serve(ctl: Socket, req: ServiceRequest, rest: Buffer): Promise<void> {
    this.active++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const gone = new AbortController();
    // After `exec`, pier-init's parent reports "exited N" on this connection (wait mode).
    let exitedResolve: (code: number) => void = () => {};
    const exited = new Promise<number>((resolve) => {
      exitedResolve = resolve;
    });
    const write = (data: Buffer | string) => {
      if (!ctl.destroyed && !ctl.writableEnded) ctl.write(data);
    };
    const finish = (last: string) => {
      if (!ctl.destroyed && !ctl.writableEnded) ctl.end(last);
    };
    // A signal nobody listens for ends the command as it would end a process: 128 + N.
    const signalListeners = new Set<(sig: NodeJS.Signals) => void>();
    const onCallerSignal = (sig: NodeJS.Signals) => {
      if (signalListeners.size > 0) for (const l of signalListeners) l(sig);
      else {
        finish(`exit ${128 + FORWARDED_SIGNALS[sig]!}\n`);
        gone.abort();
      }
    };
    let lines = rest.toString("utf8");
    ctl.on("data", (chunk: Buffer) => {
      lines += chunk.toString("utf8");
      for (let nl = lines.indexOf("\n"); nl >= 0; nl = lines.indexOf("\n")) {
        const line = lines.slice(0, nl);
        lines = lines.slice(nl + 1);
        const code = parseExited(line);
        if (code !== undefined) exitedResolve(code);
        const sig = parseSignal(line);
        if (sig) onCallerSignal(sig);
      }
    });
    ctl.on("close", () => {
      gone.abort();
      exitedResolve(255);
    });
    let launched = false;
    const execInCaller = async (program?: string): Promise<CallerExec> => {
      if (launched) throw new Error("the caller's process already became another program");
      launched = true;
      const token = unguessableToken();
      const sync = new Promise<Socket>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pendingSync.delete(token);
          reject(new Error("the front end did not open its sync connection"));
        }, SYNC_TIMEOUT_MS);
        this.pendingSync.set(token, (s) => {
          clearTimeout(timer);
          resolve(s);
        });
      });
      write(program ? `exec ${token} ${program}\n` : `exec ${token}\n`);
      return { sync: await sync, exited };
    };
    const io: ServiceIo = {
      stdout: (text) => write(frameOutput("out", text)),
      stderr: (text) => write(frameOutput("err", text)),
      cwd: req.cwd,
      env: req.env,
      callerPid: req.pid,
      execInCaller,
      signal: gone.signal,
      onSignal(listener) {
        signalListeners.add(listener);
        return () => signalListeners.delete(listener);
      },
    };
    let code: number | "direct";
    try {
      code = await this.opts.run(req.argv, io);
    } catch (err) {
      io.stderr(`${String(err)}\n`);
      code = 1;
    }
    finish(code === "direct" ? "direct\n" : `exit ${code}\n`);
    this.active--;
    this.armIdle();
  }
}

/**
 * 16 random bytes in hex, from the kernel's generator. Not node:crypto's randomBytes: loading
 * node:crypto cost the first command after the service started 10-35 ms (cpu-prof of a cold
 * `pier-runtime run`), and nothing else a command needs loads it.
 */
function unguessableToken(): string {
  const bytes = Buffer.alloc(16);
  const fd = openSync("/dev/urandom", "r");
  try {
    if (readSync(fd, bytes, 0, 16, null) !== 16) throw new Error("short read from /dev/urandom");
  } finally {
    closeSync(fd);
  }
  return bytes.toString("hex");
}

/** True when something accepts connections on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}
