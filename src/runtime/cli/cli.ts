/**
 * `pier-runtime`'s commands: the runc-compatible command line over the runtime library, run
 * either in a process of its own (`main.ts`) or for a caller of the resident runtime service
 * (`../service/`); everything the caller's process provides (output, working directory,
 * environment, how pier-init starts) comes in through {@link CliIo}. Verb modules are imported
 * lazily so that a one-shot process loads only what it needs. Errors print as runc prints them
 * and exit 1.
 */
import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import type { HelperLauncher } from "../helper.js";
import { bool, type FlagDef, list, type ParsedArgs, parseArgs, str, UsageError } from "./args.js";

const GLOBAL_FLAGS: FlagDef[] = [
  { names: ["root"], value: true },
  { names: ["log"], value: true },
  { names: ["log-format"], value: true },
  { names: ["debug"] },
  { names: ["systemd-cgroup"] },
  { names: ["criu"], value: true },
  { names: ["rootless"], value: true },
  { names: ["help", "h"] },
  { names: ["version", "v"] },
];

const CREATE_FLAGS: FlagDef[] = [
  { names: ["bundle", "b"], value: true },
  { names: ["console-socket"], value: true },
  { names: ["pid-file"], value: true },
  { names: ["no-pivot"] },
  { names: ["no-new-keyring"] },
  { names: ["preserve-fds"], value: true },
];

const VERSION = "pier-runtime version 0.1.0\nspec: 1.3.0";

/** What the calling process provides to a command. */
export interface CliIo {
  stdout(data: string | Uint8Array): void;
  stderr(data: string | Uint8Array): void;
  /** The caller's working directory: relative paths in flags resolve against it. */
  cwd: string;
  /** The caller's environment (the default state root depends on it). */
  env: Readonly<Record<string, string | undefined>>;
  /** The calling process when it is not this one (its cgroups are the caller's). */
  callerPid?: number;
  /** How pier-init is started (default: a child of this process). */
  launch?: HelperLauncher;
  /** `launch` may start pier-init before its plan is made (see `CreateOptions.launchEarly`). */
  launchEarly?: boolean;
  /** Aborted when the caller went away (ends streaming commands such as `events`). */
  signal?: AbortSignal;
  /**
   * Signals the caller received and passed on (front ends that do); while a listener is
   * registered they do not end the command. Returns the undo.
   */
  onSignal?(listener: (sig: NodeJS.Signals) => void): () => void;
}

interface Globals {
  io: CliIo;
  root: string | undefined;
  log: string | undefined;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  /** `--criu PATH`: the CRIU executable for checkpoint/restore. */
  criu: string | undefined;
}

function logLine(g: Globals, level: string, msg: string): void {
  const time = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  if (g.log) {
    const line =
      g.logFormat === "json"
        ? `${JSON.stringify({ level, msg, time })}\n`
        : `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
    try {
      appendFileSync(g.log, line);
    } catch {}
    if (level === "error") g.io.stderr(`${msg}\n`);
  } else if (level === "error" || g.debug) {
    g.io.stderr(`time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`);
  }
}

async function context(g: Globals) {
  const { runtimeContext } = await import("../lifecycle/context.js");
  const { defaultStateRoot, runningInUserNamespace } = await import("../rootless.js");
  const root = g.root ?? defaultStateRoot(process.geteuid?.() ?? 0, g.io.env, runningInUserNamespace());
  const ctx = runtimeContext(root, (m) => logLine(g, "warning", m));
  if (g.systemdCgroup) ctx.systemdCgroup = true;
  return ctx;
}

function one(p: ParsedArgs, verb: string): string {
  const id = p.positional[0];
  if (p.positional.length !== 1 || !id) throw new UsageError(`"${verb}" requires exactly 1 argument(s)`);
  return id;
}

/** A path flag's value, resolved against the caller's working directory. */
function pathFlag(g: Globals, p: ParsedArgs, name: string): string | undefined {
  const v = str(p, name);
  return v === undefined ? undefined : resolve(g.io.cwd, v);
}

function fdCount(p: ParsedArgs): number {
  const v = str(p, "preserve-fds");
  if (v === undefined) return 0;
  if (!/^\d+$/.test(v)) throw new UsageError(`invalid value "${v}" for flag -preserve-fds`);
  return Number(v);
}

async function cmdCreateOrRun(g: Globals, argv: string[], run: boolean): Promise<number> {
  const flags = run
    ? [...CREATE_FLAGS, { names: ["detach", "d"] }, { names: ["keep"] }, { names: ["no-subreaper"] }]
    : CREATE_FLAGS;
  const p = parseArgs(argv, flags);
  const id = one(p, run ? "run" : "create");
  const ctx = await context(g);
  if (g.io.callerPid !== undefined) {
    // A relative cgroupsPath goes under the caller's cgroup, as it would under runc.
    const { readOwnCgroups } = await import("../cgroups/mountinfo.js");
    try {
      ctx.ownCgroups = await readOwnCgroups(g.io.callerPid);
    } catch {}
  }
  const pidFile = pathFlag(g, p, "pid-file");
  const consoleSocket = pathFlag(g, p, "console-socket");
  const opts = {
    id,
    bundle: pathFlag(g, p, "bundle") ?? g.io.cwd,
    preserveFds: fdCount(p),
    noPivot: bool(p, "no-pivot"),
    noNewKeyring: bool(p, "no-new-keyring"),
    ...(pidFile ? { pidFile } : {}),
    ...(consoleSocket ? { consoleSocket } : {}),
    ...(g.io.launch ? { launch: g.io.launch, launchEarly: g.io.launchEarly === true } : {}),
  };
  if (run) {
    const { runContainer } = await import("../lifecycle/run.js");
    return runContainer(ctx, { ...opts, detach: bool(p, "detach") });
  }
  const { createContainer } = await import("../lifecycle/create.js");
  await createContainer(ctx, opts);
  return 0;
}

async function cmdExec(g: Globals, argv: string[]): Promise<number> {
  const p = parseArgs(
    argv,
    [
      { names: ["console-socket"], value: true },
      { names: ["cwd"], value: true },
      { names: ["env", "e"], value: true, repeat: true },
      { names: ["tty", "t"] },
      { names: ["user", "u"], value: true },
      { names: ["additional-gids", "g"], value: true, repeat: true },
      { names: ["process", "p"], value: true },
      { names: ["detach", "d"] },
      { names: ["pid-file"], value: true },
      { names: ["process-label"], value: true },
      { names: ["apparmor"], value: true },
      { names: ["no-new-privs"] },
      { names: ["cap", "c"], value: true, repeat: true },
      { names: ["preserve-fds"], value: true },
      { names: ["cgroup"], value: true, repeat: true },
      { names: ["ignore-paused"] },
    ],
    true,
  );
  const [id, ...cmd] = p.positional;
  if (!id) throw new UsageError(`"exec" requires a minimum of 2 arguments`);
  const ctx = await context(g);
  const { buildExecProcess } = await import("./exec-process.js");
  const c = await ctx.store.load(id);
  const processFile = pathFlag(g, p, "process");
  const proc = await buildExecProcess(c.config, {
    ...(processFile ? { processFile } : {}),
    args: cmd,
    env: list(p, "env"),
    ...(str(p, "cwd") ? { cwd: str(p, "cwd") as string } : {}),
    ...(str(p, "user") ? { user: str(p, "user") as string } : {}),
    additionalGids: list(p, "additional-gids"),
    caps: list(p, "cap"),
    tty: bool(p, "tty"),
    noNewPrivs: bool(p, "no-new-privs"),
  });
  const { execInContainer } = await import("../lifecycle/exec.js");
  const pidFile = pathFlag(g, p, "pid-file");
  const consoleSocket = pathFlag(g, p, "console-socket");
  return execInContainer(ctx, {
    id,
    process: proc,
    detach: bool(p, "detach"),
    preserveFds: fdCount(p),
    ...(pidFile ? { pidFile } : {}),
    ...(consoleSocket ? { consoleSocket } : {}),
    ...(g.io.launch ? { launch: g.io.launch } : {}),
  });
}

function stateJson(
  c: import("../state-store.js").StoredContainer,
  s: import("../state-store.js").ContainerState,
) {
  return {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: s.pid,
    status: s.status,
    bundle: s.bundle,
    rootfs: c.rootfs,
    created: c.created,
    ...(s.annotations ? { annotations: s.annotations } : {}),
    owner: c.owner,
  };
}

async function dispatch(g: Globals, verb: string, argv: string[]): Promise<number | "direct"> {
  switch (verb) {
    case "create":
      return cmdCreateOrRun(g, argv, false);
    case "run":
      return cmdCreateOrRun(g, argv, true);
    case "exec":
      return cmdExec(g, argv);
    case "start": {
      const id = one(parseArgs(argv, []), "start");
      const { startContainer } = await import("../lifecycle/start.js");
      await startContainer(await context(g), id);
      return 0;
    }
    case "state": {
      const id = one(parseArgs(argv, []), "state");
      const ctx = await context(g);
      const c = await ctx.store.load(id);
      g.io.stdout(`${JSON.stringify(stateJson(c, ctx.store.state(c)), null, "  ")}\n`);
      return 0;
    }
    case "kill": {
      const p = parseArgs(argv, [{ names: ["all", "a"] }]);
      const [id, sig] = p.positional;
      if (!id || p.positional.length > 2)
        throw new UsageError(`"kill" requires a minimum of 1 and a maximum of 2 arguments`);
      const { parseSignal } = await import("../lifecycle/signals.js");
      const { killContainer } = await import("../lifecycle/kill.js");
      await killContainer(await context(g), id, parseSignal(sig ?? "SIGTERM"), bool(p, "all"));
      return 0;
    }
    case "delete": {
      const p = parseArgs(argv, [{ names: ["force", "f"] }]);
      if (p.positional.length === 0) throw new UsageError(`"delete" requires a minimum of 1 argument`);
      const { deleteContainer } = await import("../lifecycle/delete.js");
      const ctx = await context(g);
      for (const id of p.positional) await deleteContainer(ctx, id, bool(p, "force"));
      return 0;
    }
    case "list": {
      const p = parseArgs(argv, [{ names: ["format", "f"], value: true }, { names: ["quiet", "q"] }]);
      const { listContainers, formatList } = await import("./list.js");
      const ctx = await context(g);
      const rows = await listContainers(ctx);
      g.io.stdout(formatList(rows, str(p, "format") ?? "table", bool(p, "quiet")));
      return 0;
    }
    case "ps": {
      const p = parseArgs(argv, [{ names: ["format", "f"], value: true }], true);
      const [id, ...psArgs] = p.positional;
      if (!id) throw new UsageError(`"ps" requires a minimum of 1 argument`);
      const { psContainer } = await import("./ps.js");
      g.io.stdout(await psContainer(await context(g), id, str(p, "format") ?? "table", psArgs));
      return 0;
    }
    case "spec": {
      const p = parseArgs(argv, [{ names: ["bundle", "b"], value: true }, { names: ["rootless"] }]);
      const { writeSpecFile } = await import("./spec.js");
      await writeSpecFile(pathFlag(g, p, "bundle") ?? g.io.cwd, bool(p, "rootless"));
      return 0;
    }
    case "features": {
      parseArgs(argv, []);
      const { pierRuntimeFeatures } = await import("../features.js");
      g.io.stdout(`${JSON.stringify(pierRuntimeFeatures(), null, "    ")}\n`);
      return 0;
    }
    case "pause":
    case "resume": {
      const id = one(parseArgs(argv, []), verb);
      const { pauseContainer, resumeContainer } = await import("../lifecycle/pause.js");
      await (verb === "pause" ? pauseContainer : resumeContainer)(await context(g), id);
      return 0;
    }
    case "update": {
      const { UPDATE_FLAGS, hasUpdateFlags, resourcesFromUpdateFlags } = await import("./update-flags.js");
      const p = parseArgs(argv, UPDATE_FLAGS);
      const id = one(p, "update");
      const file = str(p, "resources");
      if (!file && !hasUpdateFlags(p))
        throw new UsageError(
          "update: give --resources FILE (or - for stdin) or resource flags (--memory, --cpu-quota…)",
        );
      let base: unknown = {};
      if (file) {
        const path = file === "-" ? file : resolve(g.io.cwd, file);
        const { readFileSync } = await import("node:fs");
        base = JSON.parse(readFileSync(path === "-" ? 0 : path, "utf8"));
      }
      const { updateContainer } = await import("../lifecycle/pause.js");
      await updateContainer(await context(g), id, resourcesFromUpdateFlags(p, base));
      return 0;
    }
    case "events": {
      const p = parseArgs(argv, [{ names: ["stats"] }, { names: ["interval"], value: true }]);
      const id = one(p, "events");
      const ctx = await context(g);
      const c = await ctx.store.load(id);
      if (ctx.store.status(c) === "stopped") {
        const { RuntimeError } = await import("../error.js");
        throw new RuntimeError("INVALID_STATE", "container with id " + id + " is not running");
      }
      const { openCgroup } = await import("../cgroups/manager.js");
      if (!c.cgroupPath) {
        // A rootless container without a delegated cgroup: nothing to measure.
        const { RuntimeError } = await import("../error.js");
        throw new RuntimeError("UNSUPPORTED", `container ${id} has no cgroup to report on`);
      }
      const cg = await openCgroup({ containerId: id, cgroupsPath: c.cgroupPath });
      const interval = Number((str(p, "interval") ?? "5s").replace(/s$/, "")) * 1000;
      for (;;) {
        g.io.stdout(`${JSON.stringify({ type: "stats", id, data: await cg.stats() })}\n`);
        if (bool(p, "stats") || ctx.store.status(await ctx.store.load(id)) === "stopped") return 0;
        await new Promise((r) => setTimeout(r, interval));
        if (g.io.signal?.aborted) return 0;
      }
    }
    case "checkpoint": {
      const { cmdCheckpoint } = await import("./checkpoint-cli.js");
      return cmdCheckpoint(
        await context(g),
        { cwd: g.io.cwd, env: g.io.env, criu: g.criu, signal: g.io.signal, stdout: (t) => g.io.stdout(t) },
        argv,
      );
    }
    case "restore": {
      // The restored container must be a child of the caller's process tree (conmon, a shell):
      // from the resident service, run in the caller's own process instead.
      if (g.io.callerPid !== undefined) return "direct";
      const { cmdRestore } = await import("./checkpoint-cli.js");
      return cmdRestore(
        await context(g),
        { cwd: g.io.cwd, env: g.io.env, criu: g.criu, stdout: (t) => g.io.stdout(t) },
        argv,
      );
    }
    default:
      throw new UsageError(`No help topic for '${verb}'`);
  }
}

const USAGE = `NAME:
   pier-runtime - Open Container Initiative runtime (runc-compatible), part of pier

USAGE:
   pier-runtime [global options] command [command options] [arguments...]

COMMANDS:
   checkpoint  checkpoint a running container (CRIU >= 4)
   create    create a container
   delete    delete any resources held by the container often used with detached container
   events    display container events such as OOM notifications, cpu, memory, and IO usage statistics
   exec      execute new process inside the container
   features  show the enabled features
   kill      kill sends the specified signal (default: SIGTERM) to the container's init process
   list      lists containers started by runc with the given root
   pause     pause suspends all processes inside the container
   resume    resumes all processes that have been previously paused
   ps        ps displays the processes running inside a container
   restore   restore a container from a previous checkpoint (CRIU >= 4)
   run       create and run a container
   spec      create a new specification file
   start     executes the user defined process in a created container
   state     output the state of a container
   update    update container resource constraints (--resources FILE, --memory, --cpu-quota…)

GLOBAL OPTIONS:
   --criu value        path to the criu binary used for checkpoint and restore (default: PIER_CRIU, /usr/local/lib/pier/criu/bin/criu, then PATH)
   --debug             enable debug logging
   --log value         set the log file to write runc logs to (default is '/dev/stderr')
   --log-format value  set the log format ('text' (default), or 'json') (default: "text")
   --root value        root directory for storage of container state (default: "/run/pier-runtime")
   --systemd-cgroup    accepted; cgroupfs is used
   --help, -h          show help
   --version, -v       print the version
`;

/** Runs the command line `argv` (without node and script); resolves with the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number | "direct"> {
  const g: Globals = {
    io,
    root: undefined,
    log: undefined,
    logFormat: "text",
    debug: false,
    systemdCgroup: false,
    criu: undefined,
  };
  try {
    const p = parseArgs(argv, GLOBAL_FLAGS, true);
    g.root = pathFlag(g, p, "root");
    g.log = pathFlag(g, p, "log");
    g.logFormat = str(p, "log-format") === "json" ? "json" : "text";
    g.debug = bool(p, "debug");
    g.systemdCgroup = bool(p, "systemd-cgroup");
    g.criu = pathFlag(g, p, "criu");
    if (bool(p, "version")) {
      g.io.stdout(`${VERSION}\n`);
      return 0;
    }
    const [verb, ...rest] = p.positional;
    if (!verb || bool(p, "help")) {
      g.io.stdout(USAGE);
      return 0;
    }
    return await dispatch(g, verb, rest);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`Incorrect Usage: ${err.message}\n\n${USAGE}`);
      logLine(g, "error", err.message);
      return 1;
    }
    const msg = err instanceof Error ? err.message : String(err);
    if (g.debug && err instanceof Error && err.stack) logLine(g, "debug", err.stack);
    logLine(g, "error", msg);
    return 1;
  }
}
