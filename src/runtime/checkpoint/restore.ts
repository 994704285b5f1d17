/**
 * `pier-runtime restore`: a new container `id` from `--bundle`'s config.json whose processes are
 * the checkpoint's, as `runc restore` makes it: the rootfs bind-mounted on a private mount point
 * for CRIU, bind mounts and devices mapped to their host sources, namespaces joined by path
 * passed on, criu (and so the restored tasks) placed in the container's cgroup, the init's
 * external pipes given the caller's stdio, a terminal's new pty master sent to
 * `--console-socket` (or, in the foreground, proxied to the caller's stdio), and the state saved
 * so `state`, `kill` and `delete` work. The restored init is the child of the criu bridge
 * (`rst_sibling`): with --detach the bridge exits and it goes to the caller's subreaper
 * (conmon), as under runc; without, the bridge waits for it and this command exits with its
 * status.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { RuntimeError } from "../error.js";
import { runHooks } from "../hooks.js";
import { type ContainerCgroup, cgroupForContainer } from "../lifecycle/cgroup-link.js";
import type { RuntimeContext } from "../lifecycle/context.js";
import { loadBundleSpec, writePidFile } from "../lifecycle/create.js";
import { isMountPoint, MNT_DETACH, nativeMount, nativeUnmount } from "../native-mounter.js";
import { processStartTime, type StoredContainer } from "../state-store.js";
import { type CriuFlags, checkFeatures, commonOpts, criuConfigFile, logHint, openDir } from "./checkpoint.js";
import { CriuError } from "./criu-error.js";
import { checkCriuVersion, findCriu } from "./criu-path.js";
import { prepareRestoreMountpoints } from "./mountpoints.js";
import { cgroupRoots, externalNsKey, nsName, restoreCgroupV1Mounts, restoreExtMounts } from "./mounts.js";
import { type CriuOpts, ReqType } from "./rpc.js";
import { CriuSession } from "./swrk.js";

/** Unmounts and removes the `.criu.cgyard.*` directories criu left in `dir`. */
async function unmountCgroupYards(dir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.startsWith(".criu.cgyard."))) {
    const yard = join(dir, name);
    await nativeUnmount(yard, MNT_DETACH).catch(() => {});
    try {
      rmdirSync(yard);
    } catch {}
  }
}

/** Options of {@link restoreContainer} (runc `restore` flags). */
export interface RestoreOptions extends CriuFlags {
  id: string;
  bundle: string;
  detach?: boolean;
  pidFile?: string;
  /** Where the restored terminal's pty master is sent (the process has `terminal: true`). */
  consoleSocket?: string;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * runc's checks of a terminal against --detach and --console-socket, before anything is done:
 * a detached terminal needs a console socket, which only a detached terminal can use (in the
 * foreground the console is proxied to the caller's stdio).
 */
export function checkRestoreConsole(
  terminal: boolean,
  detach: boolean,
  consoleSocket: string | undefined,
): void {
  if (terminal && detach && !consoleSocket)
    throw new CriuError(
      "INVALID_ARGUMENT",
      "cannot allocate tty if runc will detach without setting console socket",
    );
  if (consoleSocket && (!terminal || !detach))
    throw new CriuError(
      "INVALID_ARGUMENT",
      "cannot use console socket if runc will not detach or allocate tty",
    );
}

const MS_BIND = 0x1000;
const MS_REC = 0x4000;

function descriptors(imagePath: string): string[] {
  try {
    const v: unknown = JSON.parse(readFileSync(join(imagePath, "descriptors.json"), "utf8"));
    if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v as string[];
  } catch (err) {
    throw new CriuError("INVALID_ARGUMENT", `${imagePath}/descriptors.json: ${(err as Error).message}`, {
      cause: err,
    });
  }
  throw new CriuError("INVALID_ARGUMENT", `${imagePath}/descriptors.json: not a list of strings`);
}

/** Restores container `opts.id`; resolves with the exit status (0 at once with --detach). */
export async function restoreContainer(ctx: RuntimeContext, opts: RestoreOptions): Promise<number> {
  const { store } = ctx;
  store.dir(opts.id);
  const bundle = resolve(opts.bundle);
  const spec = await loadBundleSpec(bundle);
  const terminal = spec.process?.terminal === true;
  checkRestoreConsole(terminal, opts.detach === true, opts.consoleSocket);
  const criu = findCriu(opts.criu, opts.env);
  await checkCriuVersion(criu);
  await checkFeatures(criu, opts);
  const fds = descriptors(opts.imagePath);
  const rootfs = resolve(bundle, spec.root?.path ?? "rootfs");
  const base = commonOpts(opts);
  const dir = await store.claim(opts.id);
  const extra: number[] = [];
  let cgroup: ContainerCgroup | undefined;
  let session: CriuSession | undefined;
  let criuRoot: string | undefined;
  let restored = false;
  try {
    extra.push(openDir(opts.imagePath, "--image-path"));
    if (opts.workPath) extra.push(openDir(opts.workPath, "--work-path"));
    const req: CriuOpts = {
      ...base,
      ...criuConfigFile(spec.annotations),
      imagesDirFd: 4,
      ...(opts.workPath ? { workDirFd: 5 } : {}),
      logFile: "restore.log",
      evasiveDevices: true,
      rstSibling: true,
      // the terminal's slave is restored with a new master, which CRIU hands over (see onNotify)
      orphanPtsMaster: true,
      extMnt: restoreExtMounts(spec, bundle),
      inheritFd: [],
      joinNs: [],
    };
    const newNamespaces: string[] = [];
    for (const ns of spec.linux?.namespaces ?? []) {
      if (!ns.path) {
        newNamespaces.push(ns.type);
        continue;
      }
      if (ns.type === "network" || ns.type === "pid") {
        let fd: number;
        try {
          fd = openSync(ns.path, "r");
        } catch (err) {
          throw new CriuError(
            "INVALID_ARGUMENT",
            `namespace ${ns.type}: ${ns.path}: ${(err as Error).message}`,
          );
        }
        extra.push(fd);
        req.inheritFd?.push({ key: externalNsKey(ns.type), fd: 3 + extra.length });
      } else if (ns.type === "cgroup") {
        throw new CriuError(
          "UNSUPPORTED",
          `namespace cgroup at ${ns.path}: CRIU cannot join a cgroup namespace`,
        );
      } else {
        req.joinNs?.push({ ns: nsName(ns.type), nsFile: ns.path });
      }
    }
    // the init's external pipes become criu's (the caller's) stdio, as runc does
    fds.forEach((s, i) => {
      if (s.includes("pipe:")) req.inheritFd?.push({ key: s, fd: i });
    });
    prepareRestoreMountpoints(spec, rootfs, bundle);
    // CRIU wants a root that is a mount point whose parent is not overmounted
    criuRoot = join(dir, "criu-root");
    mkdirSync(criuRoot, { mode: 0o755 });
    await nativeMount(rootfs, criuRoot, "", MS_BIND | MS_REC, "");
    req.root = criuRoot;
    cgroup = await cgroupForContainer(opts.id, spec, ctx.systemdCgroup === true, ctx.warn, ctx.ownCgroups);
    const record: StoredContainer = {
      id: opts.id,
      pid: 0,
      pidStartTime: "",
      bundle,
      rootfs,
      created: new Date().toISOString(),
      owner: "",
      config: spec,
      newNamespaces,
      cgroupPath: cgroup.path,
      ready: false,
    };
    await store.save(record);
    session = await CriuSession.start({
      criu,
      env: opts.env,
      extraFds: extra,
      stdio: "inherit",
      ...(opts.consoleSocket ? { consoleSocket: opts.consoleSocket } : {}),
      ...(terminal && !opts.consoleSocket ? { proxyConsole: true } : {}),
    });
    // criu and the tasks it restores live in the container's cgroup
    await cgroup.addProcess(session.criuPid);
    req.cgRoot = cgroupRoots(session.criuPid);
    req.extMnt?.push(...restoreCgroupV1Mounts(spec, cgroup.path, cgroup.dirs));
    // runc runs prestart and createRuntime hooks when CRIU has made the namespaces
    // ("setup-namespaces"), with the restored init's pid, before any task runs again.
    const hooks = [...(spec.hooks?.prestart ?? []), ...(spec.hooks?.createRuntime ?? [])];
    if (hooks.length) req.notifyScripts = true;
    let consoleSent = false;
    const noConsole = () =>
      new CriuError(
        "INVALID_ARGUMENT",
        "config.json: process.terminal: the checkpoint has no terminal to restore (it was made of a container without one)",
      );
    const onNotify = async (script: string, pid: number) => {
      // the last word before the tasks run again: a terminal nobody restored fails it there
      if (script === "pre-resume" && terminal && !consoleSent) throw noConsole();
      if (script === "orphan-pts-master") {
        // The bridge has already sent the master to --console-socket (or closed it without one).
        // A second pty whose master was outside the container would be left with a closed
        // master (only one console socket): refused rather than restored half.
        if (!terminal)
          throw new CriuError(
            "INVALID_ARGUMENT",
            "the checkpoint's processes have a terminal but config.json's process.terminal is false",
          );
        if (consoleSent)
          throw new CriuError(
            "UNSUPPORTED",
            "the checkpoint has more than one terminal whose master was outside the container: only the container's own console is restored",
          );
        consoleSent = true;
        return;
      }
      if (script !== "setup-namespaces") return;
      const state = JSON.stringify({
        ociVersion: spec.ociVersion,
        id: opts.id,
        bundle,
        annotations: spec.annotations ?? {},
        status: "creating",
        pid,
      });
      await runHooks(spec.hooks?.prestart, state, "prestart");
      await runHooks(spec.hooks?.createRuntime, state, "createRuntime");
    };
    let resp: Awaited<ReturnType<CriuSession["call"]>>;
    try {
      resp = await session.call({ type: ReqType.RESTORE, opts: req }, onNotify);
    } catch (err) {
      throw logHint(err, opts.workPath ?? opts.imagePath, "restore.log");
    }
    const pid = resp.restore?.pid ?? 0;
    if (pid <= 0) throw new CriuError("CRIU_FAILED", "criu reported no pid for the restored container");
    if (terminal && !consoleSent) throw noConsole();
    record.pid = pid;
    record.pidStartTime = processStartTime(pid) ?? "";
    record.ready = true;
    await store.save(record);
    restored = true;
    if (opts.pidFile) await writePidFile(opts.pidFile, pid);
  } catch (err) {
    session?.kill();
    // A criu killed mid-restore (a hook failed) leaves its cgroup yard mounted in its work dir.
    if (session) await unmountCgroupYards(opts.workPath ?? opts.imagePath);
    // and the tasks it had restored in the container's cgroup: they go with it
    for (const pid of (await cgroup?.pids().catch(() => [])) ?? []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await cgroup?.destroy().catch(() => {});
    throw err;
  } finally {
    for (const fd of extra) closeSync(fd);
    // Unmount before anything removes the state directory: it holds the rootfs's bind mount.
    let unmounted = true;
    if (criuRoot) {
      await nativeUnmount(criuRoot, MNT_DETACH).catch(() => {});
      if (isMountPoint(criuRoot)) {
        unmounted = false;
        ctx.warn(`${criuRoot} is still mounted: the state directory is left in place`);
      }
      try {
        rmdirSync(criuRoot);
      } catch {}
    }
    if (!restored && unmounted) await store.remove(opts.id).catch(() => {});
  }
  if (!session) throw new RuntimeError("INVALID_STATE", "restore: no criu session");
  if (opts.detach) {
    await session.close();
    return 0;
  }
  return session.waitRestored((await store.load(opts.id)).pid);
}
