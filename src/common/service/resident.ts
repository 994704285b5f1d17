/**
 * The life of a resident command service process, shared by the runtime's and the `pier` CLI's:
 * listen on the socket the front end names (`--socket PATH`), leave when idle, and, so that a
 * rebuilt or upgraded pier never keeps serving old code, refuse new callers once its own files
 * changed and leave when the running commands are done.
 */
import { closeSync, statSync, writeSync } from "node:fs";
import { CommandService, type ServiceIo } from "./server.js";

/** What a service entry point passes to {@link runResidentService}. */
export interface ResidentServiceOptions {
  /** Its name in the usage line (the front end that starts it). */
  frontEnd: string;
  /** Files whose change means this process serves stale code. */
  files: readonly string[];
  /** How long it waits idle before it leaves. */
  idleMs: number;
  /** Runs one command line (see `CommandServiceOptions.run`). */
  run: (argv: string[], io: ServiceIo) => Promise<number | "direct">;
}

/** Runs the service for this process's `--socket PATH` until it leaves. */
export async function runResidentService(opts: ResidentServiceOptions): Promise<void> {
  const at = process.argv.indexOf("--socket");
  const socket = at > 0 ? process.argv[at + 1] : undefined;
  if (!socket) {
    process.stderr.write(`usage: main.js --socket PATH (started by ${opts.frontEnd})\n`);
    process.exitCode = 2;
    return;
  }
  const stamp = () => opts.files.map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0).join();
  const started = stamp();
  let service: CommandService | undefined;
  const stop = () => {
    void service?.close().then(() => process.exit(0));
  };
  // The front end that started this process waits on fd N (`--ready-fd N`) instead of polling
  // the socket: a byte once it listens; the fd's end (exit) otherwise.
  const readyAt = process.argv.indexOf("--ready-fd");
  const readyFd = readyAt > 0 ? Number(process.argv[readyAt + 1]) : Number.NaN;
  service = await CommandService.listen({
    socket,
    name: opts.frontEnd,
    run: opts.run,
    idleMs: opts.idleMs,
    onIdle: stop,
    isStale: () => stamp() !== started,
    onStale: stop,
  });
  if (Number.isInteger(readyFd) && readyFd > 2) {
    try {
      if (service) writeSync(readyFd, "1");
      closeSync(readyFd);
    } catch {}
  }
  if (!service) return;
  const check = setInterval(() => {
    if (stamp() !== started) {
      // Refuse new callers at once (they start a fresh service), finish the running ones.
      clearInterval(check);
      stop();
    }
  }, 1000);
  check.unref();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
