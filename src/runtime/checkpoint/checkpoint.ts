/**
 * `pier-runtime checkpoint`: dumps a running container with CRIU, as `runc checkpoint` does (the
 * same criu_opts, external mounts and namespaces, `descriptors.json` for restore), then, unless
 * the container is left running or this was a pre-dump, deletes it as runc does.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { RuntimeError } from "../error.js";
import type { RuntimeContext } from "../lifecycle/context.js";
import { CriuError } from "./criu-error.js";
import { checkCriuVersion, findCriu, missingFeatures } from "./criu-path.js";
import { foreignProcess } from "./foreign-limits.js";
import { cgroupV1MountPoints, dumpExternalNamespaces, dumpExtMounts } from "./mounts.js";
import { CgMode, type CriuOpts, ReqType } from "./rpc.js";
import { CriuSession } from "./swrk.js";

/** Flags shared by checkpoint and restore (runc's names). */
export interface CriuFlags {
  /** `--criu PATH` (global flag). */
  criu?: string;
  imagePath: string;
  workPath?: string;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  manageCgroupsMode?: keyof typeof CgMode;
  /** `--empty-ns network`. */
  emptyNs?: string[];
  autoDedup?: boolean;
  lazyPages?: boolean;
}

/** Options of {@link checkpointContainer}. */
export interface CheckpointOptions extends CriuFlags {
  id: string;
  leaveRunning?: boolean;
  parentPath?: string;
  preDump?: boolean;
  /** The caller's environment (PIER_CRIU, PATH). */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the caller went away: criu is killed (the dump unfreezes the container). */
  signal?: AbortSignal;
}

const CLONE_NEWNET = 0x40000000;

/** The criu_opts every request shares; throws for a value runc refuses. */
export function commonOpts(f: CriuFlags): Partial<CriuOpts> {
  let emptyNs = 0;
  for (const ns of f.emptyNs ?? []) {
    if (ns !== "network")
      throw new CriuError("INVALID_ARGUMENT", `--empty-ns ${ns}: only "network" is supported`);
    emptyNs |= CLONE_NEWNET;
  }
  const mode = f.manageCgroupsMode ?? "soft";
  return {
    logLevel: 4,
    manageCgroups: true,
    manageCgroupsMode: CgMode[mode],
    notifyScripts: true,
    shellJob: f.shellJob === true,
    tcpEstablished: f.tcpEstablished === true,
    extUnixSk: f.extUnixSk === true,
    fileLocks: f.fileLocks === true,
    emptyNs,
    autoDedup: f.autoDedup === true,
    lazyPages: f.lazyPages === true,
  };
}

/**
 * The CRIU configuration file, as runc picks it: the `org.criu.config` annotation (empty: none),
 * else runc's default /etc/criu/runc.conf (CRIU ignores a missing file). Its settings override
 * the RPC's.
 */
export function criuConfigFile(annotations: Readonly<Record<string, string>> | undefined): {
  configFile?: string;
} {
  const v = annotations?.["org.criu.config"];
  if (v === undefined) return { configFile: "/etc/criu/runc.conf" };
  return v ? { configFile: v } : {};
}

/** Opens (creating it 0700 if needed) a directory for CRIU; the caller closes the fd. */
export function openDir(path: string, what: string): number {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return openSync(path, "r");
  } catch (err) {
    throw new CriuError("INVALID_ARGUMENT", `${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Refuses what this kernel and CRIU cannot do, before anything is touched. */
export async function checkFeatures(
  criu: string,
  f: { lazyPages?: boolean; preDump?: boolean },
): Promise<void> {
  if (!f.lazyPages && !f.preDump) return;
  const missing = await missingFeatures(criu, {
    ...(f.preDump ? { memTrack: true } : {}),
    ...(f.lazyPages ? { lazyPages: true } : {}),
  });
  if (missing.includes("MemTrack"))
    throw new CriuError(
      "CRIU_FEATURE_MISSING",
      "--pre-dump: this kernel has no memory change tracking (soft-dirty bits; CRIU's MemTrack feature is missing)",
    );
  if (missing.includes("LazyPages"))
    throw new CriuError(
      "CRIU_FEATURE_MISSING",
      "--lazy-pages: this kernel lacks userfaultfd support for lazy pages (CRIU's LazyPages feature is missing)",
    );
  // The kernel could: but a lazy dump waits for a page server and a lazy-pages daemon on the
  // restoring side, which pier-runtime does not run; refuse rather than hang.
  if (f.lazyPages)
    throw new CriuError(
      "UNSUPPORTED",
      "--lazy-pages: lazy migration (page server and lazy-pages daemon) is not implemented by pier-runtime",
    );
}

/** Checkpoints container `opts.id` into `opts.imagePath`. */
export async function checkpointContainer(ctx: RuntimeContext, opts: CheckpointOptions): Promise<void> {
  const c = await ctx.store.load(opts.id);
  const status = ctx.store.status(c);
  if (status !== "running" && status !== "paused")
    throw new RuntimeError("INVALID_STATE", `container ${opts.id} is not running: ${status}`);
  if (opts.lazyPages && opts.preDump)
    throw new CriuError("INVALID_ARGUMENT", "--lazy-pages and --pre-dump cannot be used together");
  const criu = findCriu(opts.criu, opts.env);
  await checkCriuVersion(criu);
  await checkFeatures(criu, opts);
  const foreign = opts.preDump ? undefined : foreignProcess(c.pid);
  if (foreign)
    throw new CriuError(
      "UNSUPPORTED",
      `container ${opts.id}: process ${foreign.pid} (${foreign.comm}) runs as uid ${foreign.uids}, gid ${foreign.gids}: ` +
        "CRIU reads each process's resource limits with prlimit(2), which on another user's process needs " +
        'CAP_SYS_RESOURCE, and this process lacks it (CRIU would fail with "Can\'t get rlimit")',
    );
  const base = commonOpts(opts);
  const extra: number[] = [];
  try {
    extra.push(openDir(opts.imagePath, "--image-path"));
    if (opts.workPath) extra.push(openDir(opts.workPath, "--work-path"));
    const req: CriuOpts = {
      ...base,
      ...criuConfigFile(c.config.annotations),
      imagesDirFd: 4,
      ...(opts.workPath ? { workDirFd: 5 } : {}),
      logFile: "dump.log",
      root: c.rootfs,
      pid: c.pid,
      leaveRunning: opts.leaveRunning === true,
      // A terminal's master is outside the dumped tree (the console socket's holder): CRIU dumps
      // the slave alone, and restore makes it a new master (see restore.ts), as under runc.
      orphanPtsMaster: true,
      external: dumpExternalNamespaces(c.config),
    };
    // the container's freezer cgroup (v2: CRIU >= 3.14); without it CRIU stops tasks by ptrace
    if (c.cgroupPath) {
      const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
      const dir = v2 ? join("/sys/fs/cgroup", c.cgroupPath) : join("/sys/fs/cgroup/freezer", c.cgroupPath);
      if (existsSync(dir)) req.freezeCgroup = dir;
    }
    if (opts.parentPath) {
      req.parentImg = opts.parentPath;
      req.trackMem = true;
    }
    if (!opts.preDump) {
      req.extMnt = dumpExtMounts(c.config, c.pid);
      // cgroup v1 hierarchies inside the container are bind mounts of its own cgroup directories
      if (!c.config.linux?.namespaces?.some((n) => n.type === "cgroup"))
        for (const mp of cgroupV1MountPoints(c.pid)) req.extMnt.push({ key: mp, val: mp });
      // The init's external stdio (pipes, files of the caller), for restore's --inherit-fd.
      const fds = [0, 1, 2].map((fd) => {
        try {
          return readlinkSync(`/proc/${c.pid}/fd/${fd}`);
        } catch {
          return "/dev/null";
        }
      });
      writeFileSync(join(opts.imagePath, "descriptors.json"), JSON.stringify(fds), { mode: 0o600 });
    }
    const session = await CriuSession.start({ criu, env: opts.env, extraFds: extra });
    const stop = () => session.kill();
    opts.signal?.addEventListener("abort", stop);
    try {
      await session.call({ type: opts.preDump ? ReqType.PRE_DUMP : ReqType.DUMP, opts: req });
    } catch (err) {
      session.kill();
      throw logHint(err, opts.workPath ?? opts.imagePath, "dump.log");
    } finally {
      opts.signal?.removeEventListener("abort", stop);
    }
    await session.close();
  } finally {
    for (const fd of extra) closeSync(fd);
  }
  if (!opts.leaveRunning && !opts.preDump) {
    const { deleteContainer } = await import("../lifecycle/delete.js");
    await deleteContainer(ctx, opts.id, true);
  }
}

/**
 * A CRIU failure's message with the errors of its log (as runc quotes them) and the log's path.
 * The RLIMIT_NOFILE line is left out: CRIU logs it as an error without CAP_SYS_RESOURCE and
 * carries on, so it is never the cause.
 */
export function logHint(err: unknown, dir: string, file: string): unknown {
  if (!(err instanceof CriuError) || err.code !== "CRIU_FAILED") return err;
  const log = join(dir, file);
  let errors: string[] = [];
  try {
    errors = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l.includes("Error (") && !l.includes("RLIMIT_NOFILE"))
      .map((l) => l.replace(/^\([0-9.]+\) /, "").trim())
      .slice(-3);
  } catch {}
  const why = errors.length > 0 ? errors.join("; ") : err.message;
  return new CriuError("CRIU_FAILED", `criu failed: ${why} (log: ${log})`, { cause: err });
}
