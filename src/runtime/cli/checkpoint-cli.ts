/**
 * `pier-runtime checkpoint` and `restore`: runc's flags over `../checkpoint/`. `restore` without
 * --detach must leave the container a child of the caller's process tree, so from the resident
 * service it asks the front end to run it in the caller's process ("direct").
 */
import { resolve } from "node:path";
import type { CheckpointOptions, CriuFlags } from "../checkpoint/checkpoint.js";
import { CriuError } from "../checkpoint/criu-error.js";
import type { CgMode } from "../checkpoint/rpc.js";
import { bool, type FlagDef, list, type ParsedArgs, parseArgs, str, UsageError } from "./args.js";

const SHARED_FLAGS: FlagDef[] = [
  { names: ["help", "h"] },
  { names: ["image-path"], value: true },
  { names: ["work-path"], value: true },
  { names: ["tcp-established"] },
  { names: ["ext-unix-sk"] },
  { names: ["shell-job"] },
  { names: ["file-locks"] },
  { names: ["manage-cgroups-mode"], value: true },
  { names: ["empty-ns"], value: true, repeat: true },
  { names: ["auto-dedup"] },
  { names: ["lazy-pages"] },
];

const CHECKPOINT_FLAGS: FlagDef[] = [
  ...SHARED_FLAGS,
  { names: ["parent-path"], value: true },
  { names: ["leave-running"] },
  { names: ["pre-dump"] },
  { names: ["page-server"], value: true },
  { names: ["status-fd"], value: true },
];

const RESTORE_FLAGS: FlagDef[] = [
  ...SHARED_FLAGS,
  { names: ["bundle", "b"], value: true },
  { names: ["detach", "d"] },
  { names: ["pid-file"], value: true },
  { names: ["console-socket"], value: true },
  { names: ["no-pivot"] },
  { names: ["no-subreaper"] },
  { names: ["lsm-profile"], value: true },
  { names: ["lsm-mount-context"], value: true },
];

/** What a checkpoint/restore command needs from the command line's globals. */
export interface CriuCliContext {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The global `--criu PATH`. */
  criu: string | undefined;
  /** Prints to the caller's stdout (--help). */
  stdout(text: string): void;
  /** Aborted when the caller went away. */
  signal?: AbortSignal | undefined;
}

function id(p: ParsedArgs, verb: string): string {
  const v = p.positional[0];
  if (p.positional.length !== 1 || !v) throw new UsageError(`"${verb}" requires exactly 1 argument(s)`);
  return v;
}

function sharedFlags(p: ParsedArgs, g: CriuCliContext): CriuFlags {
  const path = (name: string) => {
    const v = str(p, name);
    return v === undefined ? undefined : resolve(g.cwd, v);
  };
  const mode = str(p, "manage-cgroups-mode");
  if (mode !== undefined && !["soft", "full", "strict", "ignore"].includes(mode))
    throw new CriuError(
      "INVALID_ARGUMENT",
      `invalid --manage-cgroups-mode value "${mode}" (soft, full, strict, ignore)`,
    );
  const workPath = path("work-path");
  return {
    ...(g.criu ? { criu: g.criu } : {}),
    // runc's default: ./checkpoint in the caller's directory
    imagePath: path("image-path") ?? resolve(g.cwd, "checkpoint"),
    ...(workPath ? { workPath } : {}),
    tcpEstablished: bool(p, "tcp-established"),
    extUnixSk: bool(p, "ext-unix-sk"),
    shellJob: bool(p, "shell-job"),
    fileLocks: bool(p, "file-locks"),
    ...(mode ? { manageCgroupsMode: mode as keyof typeof CgMode } : {}),
    emptyNs: list(p, "empty-ns"),
    autoDedup: bool(p, "auto-dedup"),
    lazyPages: bool(p, "lazy-pages"),
  };
}

const SHARED_USAGE = `   --image-path value           path for saving criu image files (default: ./checkpoint)
   --work-path value            path for saving work files and logs
   --tcp-established            allow open tcp connections
   --ext-unix-sk                allow external unix sockets
   --shell-job                  allow shell jobs
   --file-locks                 handle file locks, for safety
   --manage-cgroups-mode value  cgroups mode: 'soft' (default), 'full', 'strict' and 'ignore'
   --empty-ns value             create a namespace, but don't restore its properties (network only)
   --auto-dedup                 enable auto deduplication of memory images
   --lazy-pages                 refused: lazy migration is not implemented
`;

const CHECKPOINT_USAGE = `NAME:
   pier-runtime checkpoint - checkpoint a running container (CRIU >= 4)

USAGE:
   pier-runtime checkpoint [command options] <container-id>

OPTIONS:
${SHARED_USAGE}   --parent-path value          path for previous criu image files in pre-dump
   --leave-running              leave the process running after checkpointing
   --pre-dump                   dump container's memory information only (refused where the kernel has no memory tracking)
`;

const RESTORE_USAGE = `NAME:
   pier-runtime restore - restore a container from a previous checkpoint (CRIU >= 4)

USAGE:
   pier-runtime restore [command options] <container-id>

OPTIONS:
${SHARED_USAGE}   --bundle value, -b value     path to the root of the bundle directory
   --detach, -d                 detach from the container's process
   --pid-file value             specify the file to write the process id to
   --console-socket value       path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
   --no-subreaper               accepted (no subreaper is set)
   --no-pivot                   accepted (CRIU restores the mount namespace)
`;

/** `checkpoint [flags] ID`. */
export async function cmdCheckpoint(
  ctx: import("../lifecycle/context.js").RuntimeContext,
  g: CriuCliContext,
  argv: string[],
): Promise<number> {
  const p = parseArgs(argv, CHECKPOINT_FLAGS);
  if (bool(p, "help")) {
    g.stdout(CHECKPOINT_USAGE);
    return 0;
  }
  const cid = id(p, "checkpoint");
  if (str(p, "page-server") !== undefined)
    throw new CriuError(
      "UNSUPPORTED",
      "--page-server: remote page servers are not supported by pier-runtime",
    );
  if (str(p, "status-fd") !== undefined)
    throw new CriuError(
      "UNSUPPORTED",
      "--status-fd: only used with --lazy-pages, which is not supported here",
    );
  const parent = str(p, "parent-path");
  const opts: CheckpointOptions = {
    ...sharedFlags(p, g),
    id: cid,
    leaveRunning: bool(p, "leave-running"),
    preDump: bool(p, "pre-dump"),
    ...(parent ? { parentPath: parent } : {}),
    env: g.env,
    ...(g.signal ? { signal: g.signal } : {}),
  };
  const { checkpointContainer } = await import("../checkpoint/checkpoint.js");
  await checkpointContainer(ctx, opts);
  return 0;
}

/** `restore [flags] ID`. */
export async function cmdRestore(
  ctx: import("../lifecycle/context.js").RuntimeContext,
  g: CriuCliContext,
  argv: string[],
): Promise<number> {
  const p = parseArgs(argv, RESTORE_FLAGS);
  if (bool(p, "help")) {
    g.stdout(RESTORE_USAGE);
    return 0;
  }
  const cid = id(p, "restore");
  for (const f of ["lsm-profile", "lsm-mount-context"])
    if (str(p, f) !== undefined)
      throw new CriuError("UNSUPPORTED", `--${f}: no LSM is applied by pier-runtime`);
  const pidFile = str(p, "pid-file");
  const consoleSocket = str(p, "console-socket");
  const { restoreContainer } = await import("../checkpoint/restore.js");
  return restoreContainer(ctx, {
    ...sharedFlags(p, g),
    id: cid,
    bundle: resolve(g.cwd, str(p, "bundle") ?? "."),
    detach: bool(p, "detach"),
    ...(pidFile ? { pidFile: resolve(g.cwd, pidFile) } : {}),
    ...(consoleSocket ? { consoleSocket: resolve(g.cwd, consoleSocket) } : {}),
    env: g.env,
  });
}
