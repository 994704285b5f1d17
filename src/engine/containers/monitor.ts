/**
 * Starting and following `native/pier-monitor`, the per-container monitor (see the header of
 * `native/pier-monitor.c`): it runs the runtime's `create` as its child so that it becomes the
 * container's subreaper, keeps the container's stdio, writes its json-file log and its exit file,
 * and outlives pierd.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { childExitStatus, type HelperLauncher, sealedHelperCopy } from "../../runtime/helper.js";
import { EngineError } from "../error.js";

let monitorPath: string | undefined;

/**
 * Path of the built monitor (`PIER_MONITOR` overrides). Builds it with `native/build.sh` when
 * missing or older than its source; throws `MONITOR_FAILED` when that fails.
 */
export function ensureMonitor(): string {
  if (monitorPath) return monitorPath;
  if (process.env.PIER_MONITOR) {
    monitorPath = process.env.PIER_MONITOR;
    return monitorPath;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8 && !existsSync(join(dir, "native", "pier-monitor.c")); i++) dir = dirname(dir);
  const native = join(dir, "native");
  const src = join(native, "pier-monitor.c");
  if (!existsSync(src)) throw new EngineError("MONITOR_FAILED", "cannot find native/pier-monitor.c");
  const bin = join(native, "build", "pier-monitor");
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    try {
      execFileSync("sh", [join(native, "build.sh")], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (err) {
      throw new EngineError("MONITOR_FAILED", `building ${bin} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  monitorPath = bin;
  return bin;
}

/** The files a monitor works with. */
export interface MonitorFiles {
  log: string;
  pidFile: string;
  exitFile: string;
  /** Unix socket for stdin, when the container keeps stdin open. */
  attachSocket?: string;
  /** With `attachSocket`: the first client's end of input closes stdin (Docker's StdinOnce). */
  stdinOnce?: boolean;
  /** Unix socket on which the runtime sends the pty master (the container has a terminal). */
  consoleSocket?: string;
  /** FIFO the monitor creates for control lines (terminal resize): see {@link sendResize}. */
  controlFifo?: string;
  /** json-file rotation: rotate before writing to a log of at least this many bytes. */
  maxSize?: number;
  /** json-file rotation: how many files to keep, the live log included (1: truncate). */
  maxFiles?: number;
  /** A second log in the CRI format (`-k`), reopened on SIGUSR1 (see {@link reopenCriLog}). */
  criLog?: string;
}

/** The monitor's command-line flags for the optional `files`. Pure. */
export function monitorOptionArgs(files: Omit<MonitorFiles, "log" | "pidFile" | "exitFile">): string[] {
  const args: string[] = [];
  if (files.attachSocket) args.push("-a", files.attachSocket, ...(files.stdinOnce ? ["-o"] : []));
  if (files.consoleSocket) args.push("-c", files.consoleSocket);
  if (files.controlFifo) args.push("-w", files.controlFifo);
  if (files.maxSize !== undefined && files.maxSize > 0) {
    args.push("-m", String(files.maxSize));
    if (files.maxFiles !== undefined) args.push("-n", String(files.maxFiles));
  }
  if (files.criLog) args.push("-k", files.criLog);
  return args;
}

/**
 * The command prefix that runs a runtime `exec --tty --console-socket consoleSocket` under the
 * monitor's exec mode (`-x`): the pty is copied to and from the monitor's stdio and resized
 * through `controlFifo`; the monitor exits with the exec's exit code.
 */
export function execMonitorCommand(consoleSocket: string, controlFifo: string): string[] {
  return [ensureMonitor(), "-x", "-c", consoleSocket, "-w", controlFifo, "--"];
}

/** The control line that sets a terminal's size. Pure. */
export function resizeLine(rows: number, cols: number): string {
  if (![rows, cols].every((n) => Number.isInteger(n) && n >= 0 && n < 65536))
    throw new EngineError("INVALID_ARGUMENT", `invalid terminal size ${rows}x${cols}`);
  return `resize ${rows} ${cols}\n`;
}

/**
 * Asks the monitor owning `fifo` to resize its terminal. Never blocks: `false` when no monitor
 * reads the FIFO (gone, or the container has no terminal).
 */
export function sendResize(fifo: string, rows: number, cols: number): boolean {
  const line = resizeLine(rows, cols);
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    writeSync(fd, line);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** A monitor whose container was created. */
export interface LaunchedMonitor {
  monitorPid: number;
  containerPid: number;
  /** Resolves when the monitor has exited (its status channel closed). */
  gone: Promise<void>;
}

/** What the monitor's exit file says. */
export interface ExitRecord {
  exitCode: number;
  finishedAt: string;
  createFailed?: boolean;
}

/** Reads an exit file; `undefined` while there is none. */
export function readExitFile(path: string): ExitRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ExitRecord;
  } catch {
    return undefined;
  }
}

/** Parses one status line of the monitor. Pure. */
export function parseStatusLine(
  line: string,
):
  | { kind: "monitor" | "created" | "exited"; value: number }
  | { kind: "failed"; reason: string }
  | undefined {
  const m = /^(monitor|created|exited|failed) (.*)$/.exec(line);
  if (!m) return undefined;
  if (m[1] === "failed") return { kind: "failed", reason: m[2]! };
  const value = Number(m[2]);
  return Number.isInteger(value) ? { kind: m[1] as "monitor" | "created" | "exited", value } : undefined;
}

/** A spawned monitor and what its status channel says. */
interface SpawnedMonitor {
  child: ChildProcess;
  /** Resolves at "created PID"; rejects with the reason at "failed …" or when the monitor is gone. */
  created: Promise<LaunchedMonitor>;
}

/**
 * A monitor started ahead of time that waits for its arguments (`--args-on-stdin`): starting a
 * process from pierd (a large Node.js process: fork, then exec) blocks it for milliseconds (tens
 * on a busy host), which a container start then does not wait for. Its status channel is fd 3,
 * its sync socket fd 4. The next one is started by {@link startSpareMonitor}, which the container
 * service calls at a quiet moment.
 */
let spare: ChildProcess | undefined;

function spawnSpare(): ChildProcess {
  const child = spawn(ensureMonitor(), ["--args-on-stdin"], {
    stdio: ["pipe", "ignore", "ignore", "pipe", "pipe"],
    detached: true,
  });
  child.unref();
  // Idle, it must not keep pierd (or a test) alive.
  for (const s of [child.stdin, child.stdio[3], child.stdio[4]]) (s as Socket | null)?.unref();
  child.stdin?.on("error", () => {});
  child.on("error", () => {});
  return child;
}

function usable(child: ChildProcess | undefined): child is ChildProcess {
  return (
    child !== undefined &&
    child.exitCode === null &&
    child.signalCode === null &&
    child.stdin?.writable === true
  );
}

/** Takes the spare monitor (or starts one when there is none) and gives it `args`. */
function takeSpare(args: readonly string[]): ChildProcess {
  const child = usable(spare) ? spare : spawnSpare();
  spare = undefined;
  for (const s of [child.stdio[3], child.stdio[4]]) (s as Socket | null)?.ref();
  child.stdin?.end(args.map((a) => `${a}\0`).join(""));
  return child;
}

/** Starts the spare monitor the next container start takes, unless one waits already. */
export function startSpareMonitor(): void {
  if (!usable(spare)) spare = spawnSpare();
}

/** Ends the spare monitor (pierd shutting down). */
export function discardSpareMonitor(): void {
  spare?.stdin?.end();
  spare = undefined;
}

function spawnMonitor(files: MonitorFiles, command: readonly string[], syncSocket: boolean): SpawnedMonitor {
  const args = ["-l", files.log, "-p", files.pidFile, "-e", files.exitFile, ...monitorOptionArgs(files)];
  if (syncSocket) args.push("-s", "4");
  args.push("--", ...command);
  const child = syncSocket
    ? takeSpare(args)
    : spawn(ensureMonitor(), args, { stdio: ["ignore", "ignore", "ignore", "pipe"], detached: true });
  child.unref();
  const channel = child.stdio[3] as Readable;
  let monitorPid = 0;
  let buffered = "";
  const gone = new Promise<void>((resolve) => {
    channel.on("close", () => resolve());
    channel.on("error", () => resolve());
  });
  const created = new Promise<LaunchedMonitor>((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      reject(new Error(why));
    };
    channel.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const msg = parseStatusLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        if (!msg) continue;
        if (msg.kind === "monitor") monitorPid = msg.value;
        else if (msg.kind === "created" && !settled) {
          settled = true;
          resolve({ monitorPid, containerPid: msg.value, gone });
        } else if (msg.kind === "failed") fail(msg.reason);
      }
    });
    child.on("error", (err) => fail(err.message));
    void gone.then(() => fail("the monitor exited"));
  });
  // Callers that fail earlier never look at it: no unhandled rejection.
  created.catch(() => {});
  return { child, created };
}

/**
 * Starts a monitor running `command` (the runtime's create) and resolves once the container is
 * created, with both pids. On failure rejects with `CREATE_FAILED` carrying `explain()`'s text
 * (the runtime's own error message).
 */
export async function launchMonitor(
  files: MonitorFiles,
  command: readonly string[],
  explain: () => string,
): Promise<LaunchedMonitor> {
  try {
    return await spawnMonitor(files, command, false).created;
  } catch (err) {
    throw new EngineError("CREATE_FAILED", explain() || `container create failed: ${(err as Error).message}`);
  }
}

/** A {@link HelperLauncher} that starts pier-init under a new monitor, and that monitor's outcome. */
export interface MonitorLauncher {
  launch: HelperLauncher;
  /** The monitor started by `launch`; call only after the runtime's create succeeded. */
  launched(): Promise<LaunchedMonitor>;
}

/**
 * Runs the runtime's helper (pier-init) directly under a new monitor, its sync socket passed
 * through with `-s`: the runtime library in pierd speaks the protocol, so creating a container
 * starts no runtime process. `files.pidFile` must be the plan's parent pid file.
 */
export function monitorLauncher(files: MonitorFiles): MonitorLauncher {
  let spawned: SpawnedMonitor | undefined;
  return {
    launch: async (helper) => {
      // pierd keeps one sealed copy of pier-init for all its containers (see sealedHelperCopy).
      const copy = await sealedHelperCopy();
      spawned = spawnMonitor(files, [copy ?? helper, "3"], true);
      // The first monitor process exits at once (it detaches); the helper is not this process's.
      return { sync: spawned.child.stdio[4] as Socket, exited: childExitStatus(spawned.child) };
    },
    launched: () =>
      spawned
        ? spawned.created
        : Promise.reject(new EngineError("CREATE_FAILED", "the monitor was never started")),
  };
}

/**
 * Asks monitor `monitorPid` to reopen its CRI log (the kubelet renamed the file to rotate it);
 * `false` when that monitor is gone.
 */
export function reopenCriLog(monitorPid: number): boolean {
  if (monitorPid <= 0) return false;
  try {
    process.kill(monitorPid, "SIGUSR1");
    return true;
  } catch {
    return false;
  }
}

/** True when a process with this pid exists. */
export function processAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
