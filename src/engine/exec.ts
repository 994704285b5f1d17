/**
 * The engine's exec instances (Docker's `POST /containers/{id}/exec`, `POST /exec/{id}/start`,
 * `GET /exec/{id}/json`; pier's `POST /v1/containers/{id}/exec`): a process run inside a running container through the runtime's
 * `exec`, its output framed onto the hijacked connection (raw with a TTY, which the monitor's
 * exec mode holds and resizes), its exit code kept for inspection. Instances live in memory: they
 * do not outlive pierd (nor do their processes' streams).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import { resolveUser } from "../image/bundle-config-user.js";
import { readUserFiles } from "../image/rootfs-files.js";
import { execMonitorCommand, resizeLine, sendResize } from "./containers/monitor.js";
import type { ContainerService } from "./containers/service.js";
import { EngineError } from "./error.js";
import type { EventLog } from "./events.js";
import { frame } from "./logs.js";

/** One exec instance: what it runs, where, and how it went. */
export interface ExecInstance extends ExecConfig {
  id: string;
  containerId: string;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** The last terminal size asked for (rows, columns). */
  size?: [number, number];
}

/** True when the runtime's JSON log at `path` holds an error (the exec never started). */
function runtimeFailed(path: string): boolean {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .some((l) => l.includes('"level":"error"'));
  } catch {
    return false;
  }
}

/** The console socket and control FIFO of exec instance `id`'s monitor. Pure. */
export function execTerminal(execRoot: string, id: string): { consoleSocket: string; controlFifo: string } {
  const base = join(execRoot, "a", `x${id.slice(0, 15)}`);
  return { consoleSocket: `${base}.con`, controlFifo: `${base}.ctl` };
}

/** Where the runtime writes the host pid of exec instance `id`'s process. Pure. */
function execPidFile(execRoot: string, id: string): string {
  return join(execRoot, "a", `x${id.slice(0, 15)}.pid`);
}

/** The pid in `path`, or 0. */
function readPid(path: string): number {
  try {
    return Number(readFileSync(path, "utf8").trim()) || 0;
  } catch {
    return 0;
  }
}

/**
 * Where a started exec's output goes when the caller keeps stdout and stderr apart itself (the
 * CRI's streaming server) instead of Docker's framing on the connection. With a TTY all of it
 * is `stdout`.
 */
export type ExecOutput = (stream: "stdout" | "stderr", data: Buffer) => void;

/** What an exec instance runs: the input of {@link ExecService.create}, from either API. */
export interface ExecConfig {
  cmd: string[];
  env: string[];
  user?: string;
  workingDir?: string;
  tty: boolean;
  attachStdin: boolean;
}

/** The exec instances of one daemon. */
export class ExecService {
  private readonly all = new Map<string, ExecInstance>();
  /** Control FIFOs of running exec instances with a terminal. */
  private readonly fifos = new Map<string, string>();
  constructor(
    private readonly svc: ContainerService,
    private readonly events: EventLog,
  ) {}

  /** Creates an instance; the container must be running and `cmd` not empty. */
  create(ref: string, config: ExecConfig): ExecInstance {
    const rec = this.svc.find(ref);
    const cmd = config.cmd;
    this.svc.execCommand(rec.id, cmd.length ? cmd : ["true"]); // validates state and command
    if (cmd.length === 0) throw new EngineError("INVALID_ARGUMENT", "No exec command specified");
    const inst: ExecInstance = {
      id: randomBytes(32).toString("hex"),
      containerId: rec.id,
      cmd,
      env: config.env,
      ...(config.user ? { user: config.user } : {}),
      ...(config.workingDir ? { workingDir: config.workingDir } : {}),
      tty: config.tty,
      attachStdin: config.attachStdin,
      running: false,
      exitCode: null,
      pid: 0,
    };
    this.all.set(inst.id, inst);
    this.events.record("container", `exec_create: ${cmd.join(" ")}`, rec.id, this.attributes(rec.id, inst));
    return inst;
  }

  private attributes(containerId: string, inst: ExecInstance): Record<string, string> {
    const rec = this.svc.store.get(containerId);
    return {
      ...(rec?.config.labels ?? {}),
      name: rec?.name ?? "",
      image: rec?.config.image ?? "",
      execID: inst.id,
    };
  }

  /**
   * Resizes the terminal of exec instance `id` (`POST /exec/{id}/resize`). Before start the size
   * is kept for it; just after, the monitor may not have made its FIFO yet: retried briefly.
   */
  async resize(id: string, rows: number, cols: number): Promise<void> {
    const inst = this.get(id);
    resizeLine(rows, cols); // validates
    inst.size = [rows, cols];
    if (!inst.tty) return;
    for (let i = 0; i < 100; i++) {
      const fifo = this.fifos.get(id);
      if (!inst.running || !fifo) return;
      if (sendResize(fifo, rows, cols)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Forgets finished instance `id` (one nobody will inspect: the CRI's streaming exec), so that
   * instances do not pile up in a long-running daemon. A running one is kept.
   */
  forget(id: string): void {
    if (!this.all.get(id)?.running) this.all.delete(id);
  }

  /** The instance `id`; `NOT_FOUND` (Docker's "No such exec instance") otherwise. */
  get(id: string): ExecInstance {
    const inst = this.all.get(id);
    if (!inst) throw new EngineError("NOT_FOUND", `No such exec instance: ${id}`);
    return inst;
  }

  /**
   * Runs the instance with its output on `conn` (framed unless it has a TTY) and, when it
   * attached stdin, `conn`'s input as its stdin; resolves with the exit code. The first
   * `bodyBytes` of input are the request's own body, not stdin. With `output`, the output goes
   * there instead of onto `conn`.
   */
  start(id: string, conn: Duplex, head: Buffer, bodyBytes = 0, output?: ExecOutput): Promise<number> {
    const inst = this.get(id);
    if (inst.running || inst.exitCode !== null)
      throw new EngineError("INVALID_STATE", `exec instance ${id} has already been started`);
    inst.running = true;
    this.events.record(
      "container",
      `exec_start: ${inst.cmd.join(" ")}`,
      inst.containerId,
      this.attributes(inst.containerId, inst),
    );
    const emit: ExecOutput =
      output ??
      ((stream, d) => {
        if (!conn.destroyed) conn.write(inst.tty ? d : frame(stream, d));
      });
    return this.run(inst, conn, head, bodyBytes, emit).then((code) => {
      this.events.record("container", "exec_die", inst.containerId, {
        ...this.attributes(inst.containerId, inst),
        exitCode: String(code),
      });
      return code;
    });
  }

  /**
   * Runs `cmd` in running container `ref` as an exec instance of its own (with the exec_create,
   * exec_start and exec_die events Docker's health probes make) and resolves with its exit code
   * and output (stdout and stderr as they came, the first `maxOutput` bytes). After `timeoutMs`
   * its process is killed and it resolves with `timedOut` (no exit code). The instance is
   * forgotten once done: probes run for as long as the container does.
   */
  async capture(
    ref: string,
    cmd: string[],
    opts: { timeoutMs: number; maxOutput: number },
  ): Promise<{ exitCode: number | null; output: string; timedOut: boolean }> {
    const inst = this.create(ref, { cmd, env: [], tty: false, attachStdin: false });
    const chunks: Buffer[] = [];
    let size = 0;
    const sink = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        // One write is one frame (see `frame`): its 8-byte header, then the data.
        const data = chunk.subarray(8, 8 + Math.max(0, opts.maxOutput - size));
        chunks.push(data);
        size += data.length;
        done();
      },
    });
    sink.push(null);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), opts.timeoutMs);
    });
    try {
      const code = await Promise.race([this.start(inst.id, sink, Buffer.alloc(0)), timeout]);
      if (code === null) {
        // The process in the container (its runtime client's death would not end it), then the client.
        for (const pid of [readPid(execPidFile(this.svc.execRoot, inst.id)), inst.pid])
          if (pid > 0)
            try {
              process.kill(pid, "SIGKILL");
            } catch {}
      }
      return { exitCode: code, output: Buffer.concat(chunks).toString("utf8"), timedOut: code === null };
    } finally {
      clearTimeout(timer);
      this.all.delete(inst.id);
    }
  }

  /** `user[:group]` with names looked up in the container's own passwd and group files. */
  private async execUser(inst: ExecInstance): Promise<string | undefined> {
    if (!inst.user || /^\d+(:\d+)?$/.test(inst.user)) return inst.user;
    const u = resolveUser(inst.user, await readUserFiles(this.svc.snapshots.rootfs(inst.containerId)));
    return `${u.uid}:${u.gid}`;
  }

  private async run(
    inst: ExecInstance,
    conn: Duplex,
    head: Buffer,
    bodyBytes: number,
    emit: ExecOutput,
  ): Promise<number> {
    // With a terminal the runtime sends the pty to an exec-mode monitor, which copies it to and
    // from its own stdio and applies resizes (pierd cannot receive an fd).
    const term = inst.tty ? execTerminal(this.svc.execRoot, inst.id) : undefined;
    const logFile = join(this.svc.execRoot, "a", `x${inst.id.slice(0, 15)}.log`);
    const pidFile = execPidFile(this.svc.execRoot, inst.id);
    let argv: string[];
    try {
      const user = await this.execUser(inst);
      argv = this.svc.execCommand(inst.containerId, inst.cmd, {
        logFile,
        pidFile,
        env:
          inst.tty && !inst.env.some((e) => e.startsWith("TERM=")) ? [...inst.env, "TERM=xterm"] : inst.env,
        ...(user ? { user } : {}),
        ...(inst.workingDir ? { workingDir: inst.workingDir } : {}),
        ...(term ? { consoleSocket: term.consoleSocket } : {}),
      });
    } catch (err) {
      // As Docker once the stream is open: the reason on stdout, exit code 126.
      emit("stdout", Buffer.from(`${(err as Error).message}\r\n`));
      inst.running = false;
      inst.exitCode = 126;
      return 126;
    }
    if (term) argv.unshift(...execMonitorCommand(term.consoleSocket, term.controlFifo));
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    inst.pid = child.pid ?? 0;
    if (term) {
      this.fifos.set(inst.id, term.controlFifo);
      // A size asked for before the start applies as soon as the monitor reads its FIFO.
      if (inst.size) void this.resize(inst.id, inst.size[0], inst.size[1]);
    }
    const out = (stream: "stdout" | "stderr") => (d: Buffer) => emit(stream, d);
    child.stdout.on("data", out("stdout"));
    child.stderr.on("data", out("stderr"));
    child.stdin.on("error", () => {});
    let skip = bodyBytes;
    const input = (d: Buffer) => {
      const n = Math.min(skip, d.length);
      skip -= n;
      if (d.length > n) child.stdin.write(d.subarray(n));
    };
    if (inst.attachStdin) {
      input(head);
      conn.on("data", input);
      conn.on("end", () => child.stdin.end());
    } else {
      child.stdin.end();
      conn.resume();
    }
    return new Promise((resolve) => {
      child.on("close", (code, signal) => {
        this.fifos.delete(inst.id);
        inst.running = false;
        inst.exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 255);
        // As Docker: a process that could not be started (the runtime said why) is 126.
        if (inst.exitCode !== 0 && runtimeFailed(logFile)) inst.exitCode = 126;
        rmSync(logFile, { force: true });
        rmSync(pidFile, { force: true });
        resolve(inst.exitCode);
      });
    });
  }
}
