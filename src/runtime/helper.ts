/**
 * Runs `native/pier-init` with a plan and speaks its sync protocol (see the header of
 * `native/pier-init.c`): learns the container pid, answers sync points (cgroup placement, hooks)
 * and resolves when the container reached the requested point. The helper is built from
 * `native/` with the system C compiler on first use when the build step has not built it.
 */
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import type { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RuntimeError } from "./error.js";
import { encodePlan, type PlanOp } from "./plan/ops.js";

let helperPath: string | undefined;

/** The `native/` directory of this install (sources and `build/`). */
export function findNativeDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "native", "pier-init.c"))) return join(dir, "native");
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new RuntimeError("HELPER_MISSING", "cannot find native/pier-init.c above the runtime's install path");
}

/**
 * Path of the built helper (`PIER_INIT` overrides). Builds it with `native/build.sh` when it is
 * missing or older than its source; throws `HELPER_MISSING` when that fails.
 */
export function ensureHelper(): string {
  if (helperPath) return helperPath;
  const override = process.env.PIER_INIT;
  if (override) {
    helperPath = override;
    return override;
  }
  const native = findNativeDir();
  const bin = join(native, "build", "pier-init");
  // Its sources: the program and the op table generated from the plan's (see plan/op-header.ts).
  const newest = Math.max(...["pier-init.c", "plan-ops.h"].map((f) => statSync(join(native, f)).mtimeMs));
  if (!existsSync(bin) || statSync(bin).mtimeMs < newest) {
    try {
      execFileSync("sh", [join(native, "build.sh")], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (err) {
      throw new RuntimeError(
        "HELPER_MISSING",
        `building ${bin} failed (is a C compiler installed?): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  helperPath = bin;
  return bin;
}

/** A started helper process, as its launcher hands it over. */
export interface LaunchedHelper {
  /** pier's end of the sync socket. */
  sync: Socket;
  /** The helper's exit status: the container's status in `wait` mode (128+signal when killed). */
  exited: Promise<number>;
  /**
   * Sends a signal to the helper; present only when the helper is this process's child, so that
   * signals this process receives are its to forward (`run`, `exec`).
   */
  kill?: (signal: NodeJS.Signals) => void;
}

/**
 * Starts the helper binary `helper` with the sync socket as the fd whose number it passes as
 * pier-init's argument; `stdio` are the fds the helper gets as 0, 1, 2, 3… The default spawns
 * the helper as a child of this process; pierd starts it under a per-container monitor, and the
 * runtime service has its caller's process become the helper.
 */
export type HelperLauncher = (
  helper: string,
  stdio: readonly (string | number)[],
) => LaunchedHelper | Promise<LaunchedHelper>;

/** The exit status of a child process, 128+signal when killed (as a shell reports it). */
export function childExitStatus(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
    child.on("error", () => resolve(255));
  });
}

/**
 * Path of the built command line front end (`native/front-end.c`), which runs commands in the
 * resident runtime service; `undefined` when it is not built.
 */
export function runtimeFrontEnd(): string | undefined {
  try {
    const bin = join(findNativeDir(), "build", "pier-runtime");
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@link launchHelper}. */
export interface LaunchOptions {
  ops: readonly PlanOp[];
  /** Stdio of the helper (and so of the container unless it gets a terminal). */
  stdio?: readonly ("inherit" | "ignore" | "pipe" | number)[];
  /** Extra fds passed as 3..3+n-1 (`--preserve-fds`). */
  preserveFds?: number;
  /** Answers a sync point; resolve with a state JSON (one line) to hand to in-container hooks. */
  onSync?(name: string, pid: number): Promise<string | undefined>;
  /** Resolve at `notify <name>` (create), at `pid` (detached exec) or at exec (sync EOF). */
  until: { notify: string } | "pid" | "exec";
  /** How the helper process is started (default: a child of this process). */
  launch?: HelperLauncher;
  /** The helper, already being started with {@link startHelper} (then `launch` is not used). */
  started?: Promise<LaunchedHelper>;
}

/** Starts the helper binary with {@link LaunchOptions}' stdio, fds and launcher. */
export async function startHelper(
  options: Pick<LaunchOptions, "stdio" | "preserveFds" | "launch">,
): Promise<LaunchedHelper> {
  const bin = ensureHelper();
  const n = options.preserveFds ?? 0;
  const base = options.stdio ?? ["inherit", "inherit", "inherit"];
  const stdio: (string | number)[] = [...base.slice(0, 3)];
  for (let i = 0; i < n; i++) stdio.push(3 + i);
  try {
    return await (options.launch ?? spawnHelper)(bin, stdio);
  } catch (err) {
    throw new RuntimeError("HELPER_FAILED", `cannot run ${bin}: ${(err as Error).message}`, { cause: err });
  }
}

/** The default {@link HelperLauncher}: the helper as a child, the socket as the last stdio entry. */
export const spawnHelper: HelperLauncher = (bin, stdio) => {
  const child = spawn(bin, [String(stdio.length)], { stdio: [...stdio, "pipe"] as StdioOptions, env: {} });
  const sync = child.stdio[stdio.length] as Socket;
  // A helper that cannot be started (ENOENT, EACCES) fails the session with that reason.
  child.on("error", (err) =>
    sync.destroy(new RuntimeError("HELPER_FAILED", `cannot run ${bin}: ${err.message}`, { cause: err })),
  );
  return {
    sync,
    exited: childExitStatus(child),
    kill: (signal) => child.kill(signal),
  };
};

/** A running helper session. */
export interface HelperSession {
  /** The container (or exec'd) process, as the host sees it. */
  pid: number;
  /** The helper's exit status: the container's status in `wait` mode (128+signal when killed). */
  exited: Promise<number>;
  /** See {@link LaunchedHelper.kill}. */
  kill?: (signal: NodeJS.Signals) => void;
}

/** A listener made here, not in a session's scope, so that it holds none of the session's state. */
const ignoreError = (): void => {};

/** How long a failed start waits for the helper's exit status to name it in the error. */
const EXIT_STATUS_WAIT_MS = 1000;

/** Starts the helper, feeds it the plan and follows the protocol until `until`. */
export async function launchHelper(options: LaunchOptions): Promise<HelperSession> {
  const launched = await (options.started ?? startHelper(options));
  const { sync: sock, exited } = launched;
  sock.write(encodePlan(options.ops));
  return new Promise<HelperSession>((resolve, reject) => {
    let pid = 0;
    let buf = "";
    let done = false;
    let error: string | undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      // The socket outlives the session (a monitor's child process holds it for the container's
      // life) and its listeners hold `options`: the container's whole spec and plan, ~70 KB
      // each in pierd with 50 containers up. An error after this point has nobody to tell.
      sock.off("data", onData);
      sock.off("error", onError);
      sock.off("close", onClose);
      sock.on("error", ignoreError);
      if (err) {
        if (pid > 0) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        sock.destroy();
        reject(err);
      } else {
        resolve({ pid, exited, ...(launched.kill ? { kill: launched.kill } : {}) });
      }
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        handle(line);
      }
    };
    const handle = (line: string) => {
      const sp = line.indexOf(" ");
      const kind = sp < 0 ? line : line.slice(0, sp);
      const arg = sp < 0 ? "" : line.slice(sp + 1);
      if (kind === "pid") {
        pid = Number(arg);
        if (options.until === "pid") {
          finish();
          sock.destroy();
        }
      } else if (kind === "error") {
        error = arg;
        finish(new RuntimeError("HELPER_FAILED", arg));
      } else if (kind === "sync") {
        const answer = options.onSync ? options.onSync(arg, pid) : Promise.resolve(undefined);
        answer.then(
          (state) => {
            if (!done) sock.write(state ? `ok ${state}\n` : "ok\n");
          },
          (err: Error) => {
            sock.write("abort\n");
            finish(err);
          },
        );
      } else if (kind === "notify") {
        if (typeof options.until === "object" && options.until.notify === arg) {
          finish();
          sock.destroy();
        }
      }
    };
    const onError = (err: Error) => {
      // A launcher's own failure (the helper never ran); plain socket errors end in `close`.
      if (err instanceof RuntimeError) finish(err);
    };
    const onClose = () => {
      if (done) return;
      if (options.until === "exec" && pid > 0 && error === undefined) {
        finish();
        return;
      }
      // The helper's status says more, but is not always known now: pier-init's parent, when it
      // relays for the runtime service (detach mode), reports nothing until this command ends.
      const known = Promise.race([
        exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), EXIT_STATUS_WAIT_MS)),
      ]);
      known.then((code) =>
        finish(
          new RuntimeError(
            "HELPER_FAILED",
            error ??
              `container init exited before it was ready${code === undefined ? "" : ` (helper status ${code})`}`,
          ),
        ),
      );
    };
    sock.on("data", onData);
    sock.on("error", onError);
    sock.on("close", onClose);
  });
}

function signalNumber(name: string): number {
  return (osConstants.signals as Record<string, number>)[name] ?? 0;
}

let sealedCopy: Promise<string | undefined> | undefined;

/**
 * `/proc/PID/fd/N` of a sealed copy of pier-init (CVE-2019-5736), held by a
 * `pier-init --sealed-copy` child for as long as this process lives, for long-lived callers
 * (the runtime service, pierd) that start many containers: pier-init executed from it does not
 * copy itself again. `undefined` when it cannot be made; callers then run the helper's file.
 */
export async function sealedHelperCopy(): Promise<string | undefined> {
  sealedCopy ??= holdSealedCopy();
  const path = await sealedCopy;
  if (path && existsSync(path)) return path;
  // The holder is gone (killed): make a new one next time, run the file this time.
  sealedCopy = undefined;
  return undefined;
}

/**
 * Starts a long-lived `pier-init MODE` child (`--sealed-copy`, `--mounter`) for as long as this
 * process lives: it ends when its stdin closes, and neither it nor its pipes keep this process
 * alive (a caller awaiting an answer refs `stdout` meanwhile).
 */
export function spawnResidentHelper(mode: string): ChildProcess {
  const child = spawn(ensureHelper(), [mode], { stdio: ["pipe", "pipe", "ignore"] });
  child.stdin?.on("error", () => {});
  child.unref();
  (child.stdin as unknown as Socket | null)?.unref();
  (child.stdout as unknown as Socket | null)?.unref();
  return child;
}

function holdSealedCopy(): Promise<string | undefined> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawnResidentHelper("--sealed-copy");
    } catch {
      resolve(undefined);
      return;
    }
    // Held open until it answers.
    (child.stdout as unknown as Socket | null)?.ref();
    let out = "";
    child.on("error", () => resolve(undefined));
    child.on("exit", () => resolve(undefined));
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m && child.pid) {
        (child.stdout as unknown as Socket | null)?.unref();
        resolve(`/proc/${child.pid}/fd/${m[1]}`);
      }
    });
  });
}
