/**
 * Where a `pier` command's output goes and what it was started with. A command runs either in its
 * own Node.js process (the plain CLI: the process's stdio, environment and signals) or inside the
 * resident CLI service for the native front end (`native/build/pier`), where several commands run
 * at once, each with the caller's environment and output relayed over a socket. Commands reach
 * theirs through {@link commandIo}, never through `process.stdout`/`process.env` directly.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { FORWARDED_SIGNALS } from "../common/service/protocol.js";
import { PierError } from "../errors.js";

/** The signals a caller may pass on (Docker's --sig-proxy set; what the native front end forwards). */
export const CALLER_SIGNALS = Object.keys(FORWARDED_SIGNALS) as readonly NodeJS.Signals[];

/** One command's input and output. */
export interface CommandIo {
  stdout(data: string | Uint8Array): void;
  stderr(data: string | Uint8Array): void;
  /** The caller's environment (PIER_HOST, PIER_DEBUG, …). */
  env: Record<string, string | undefined>;
  /** The caller's working directory. */
  cwd: string;
  /** Aborted when the caller went away: streaming commands end. */
  signal?: AbortSignal;
  /**
   * Listens for the signals the caller receives ({@link CALLER_SIGNALS}); while a listener is
   * registered they do not end the command. Returns the undo.
   */
  onSignal(listener: (sig: NodeJS.Signals) => void): () => void;
  /**
   * True when this process is the caller's own: its stdin and terminal are the caller's. False in
   * the CLI service, where commands that need them are handed back ({@link NeedsOwnProcess}).
   */
  ownProcess: boolean;
  /** The status to exit with when the command returns normally (a container's exit code). */
  exitCode?: number;
}

/** The io of the plain CLI: this process's own. */
export function processIo(): CommandIo {
  return {
    stdout: (d) => process.stdout.write(d),
    stderr: (d) => process.stderr.write(d),
    env: process.env,
    cwd: process.cwd(),
    onSignal(listener) {
      for (const s of CALLER_SIGNALS) process.on(s, listener);
      return () => {
        for (const s of CALLER_SIGNALS) process.off(s, listener);
      };
    },
    ownProcess: true,
  };
}

const current = new AsyncLocalStorage<CommandIo>();
let fallback: CommandIo | undefined;

/** The io of the command running in this async context (the process's own outside any). */
export function commandIo(): CommandIo {
  const io = current.getStore();
  if (io) return io;
  fallback ??= processIo();
  return fallback;
}

/**
 * Runs `fn` with `io` as its {@link commandIo}. The process's own io needs no async context (one
 * command per process): entering one would switch on Node's promise hooks for the process's
 * whole life, a cost on every promise that a long-running command (`pier registry serve`) pays
 * per request.
 */
export function withCommandIo<T>(io: CommandIo, fn: () => Promise<T>): Promise<T> {
  if (io.ownProcess) {
    fallback = io;
    return fn();
  }
  return current.run(io, fn);
}

/**
 * Thrown (before anything was done) by a command that needs the caller's own process: its stdin,
 * its terminal, or a long life of its own. The CLI service answers it by telling the front end
 * to run the plain CLI instead.
 */
export class NeedsOwnProcess extends PierError {
  constructor(what: string) {
    super("NEEDS_OWN_PROCESS", `${what} needs the caller's own process`);
  }
}

/** Throws {@link NeedsOwnProcess} when the command does not run in the caller's process. */
export function requireOwnProcess(what: string): void {
  if (!commandIo().ownProcess) throw new NeedsOwnProcess(what);
}
