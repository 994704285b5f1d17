/**
 * Pure planner for `create`: turns a validated config and facts about the host into the ordered
 * ops that `native/pier-init` executes. No I/O here: everything the plan depends on (which mount
 * sources are files, the host's cgroup hierarchies, the last capability) comes in as input, so
 * the whole decision is unit-tested without a kernel.
 */
import { posix } from "node:path";
import type { Hook, Mount, NamespaceType, Spec } from "../../oci/runtime-spec/config.js";
import { RuntimeError } from "../error.js";
import { idmappedMountOps, wantsIdmap } from "./idmapped-mounts.js";
import { CLONE_FLAGS, MS, NS_PROC_NAME } from "./linux-constants.js";
import { parseMountOptions, rootfsPropagationFlags } from "./mount-options.js";
import { op, type PlanOp } from "./ops.js";
import { procBindGuard } from "./proc-binds.js";
import { processOps, type SeccompProgram } from "./process-ops.js";
import { planSysctls } from "./sysctl.js";
import { timeOffsetsText } from "./time-namespace.js";
import { idMapOps } from "./user-namespace.js";

export { idMapText } from "./user-namespace.js";

/** A cgroup hierarchy mounted on the host (from /proc/self/mountinfo). */
export interface HostCgroupMount {
  /** e.g. `/sys/fs/cgroup/memory` or `/sys/fs/cgroup/unified` or `/sys/fs/cgroup`. */
  mountpoint: string;
  fstype: "cgroup" | "cgroup2";
  /** Controllers / names from the super options, e.g. `memory` or `name=systemd` (v1 only). */
  options: string;
  /** The container's cgroup inside this hierarchy (absolute within it), when known. */
  containerPath?: string;
}

/** Facts about the host the plan depends on. */
export interface HostFacts {
  /** What a bind source is: decides whether the destination is made a directory or a file. */
  sourceKind(path: string): "dir" | "file" | "missing";
  /** Highest capability number the kernel knows (`/proc/sys/kernel/cap_last_cap`). */
  lastCap: number;
  cgroupMounts: HostCgroupMount[];
  /** Effective uid of the runtime: non-root means rootless. */
  euid: number;
  /** The runtime runs in a nested user namespace (rootless podman): no mknod, devices bound. */
  inUserNs?: boolean;
  /** Effective gid of the runtime (the gid an unprivileged caller may map itself); default 0. */
  egid?: number;
  /** Paths of `newuidmap`/`newgidmap` (Debian's uidmap), when installed. */
  idMapHelpers?: { newuidmap?: string; newgidmap?: string };
  /** Whether the namespace file at `path` is the runtime's own (the host's) of that type. */
  isRuntimeNamespace?(path: string, type: NamespaceType): boolean;
  /** `path` with every symlink resolved (realpath), or undefined when it does not exist. */
  realPath?(path: string): string | undefined;
}

/**
 * How a new container process (create's init, an exec) joins the container's cgroups by itself,
 * without the kernel's global cgroup lock that a write to cgroup.procs takes (an RCU grace
 * period, milliseconds per start): `before` (ahead of clone and of any setns) opens the cgroup
 * v2 directory to be born in (clone3 CLONE_INTO_CGROUP) and the `tasks` file of each v1 one;
 * `child` (first thing after clone) moves the new process into the v1 ones. Only as root of the
 * host and without a user namespace (cgroupfs files belong to the host's root), and only where
 * the container has cgroups; `undefined` otherwise, and the runtime places the process.
 */
export function selfJoinOps(
  host: Pick<HostFacts, "cgroupMounts" | "euid" | "inUserNs">,
  userNs: boolean,
): { before: PlanOp[]; child: PlanOp[] } | undefined {
  if (userNs || host.euid !== 0 || host.inUserNs) return undefined;
  const mounts = host.cgroupMounts.filter((m) => m.containerPath !== undefined);
  if (mounts.length === 0) return undefined;
  const v2 = mounts.find((m) => m.fstype === "cgroup2");
  const v1Tasks = new Set(
    mounts.filter((m) => m.fstype === "cgroup").map((m) => `${m.mountpoint}${m.containerPath}/tasks`),
  );
  const before = [...v1Tasks].map((t) => op("tasksfd", t));
  if (v2) before.push(op("cgroupfd", `${v2.mountpoint}${v2.containerPath}`));
  return { before, child: v1Tasks.size ? [op("joincgroups")] : [] };
}

/** Everything {@link planCreate} needs. */
export interface CreatePlanInput {
  id: string;
  spec: Spec;
  /** Absolute path of the bundle directory (relative root paths resolve against it). */
  bundle: string;
  fifoPath: string;
  /** `detach`: the helper exits once the container is created; `wait`: it waits and exits with its status. */
  mode: "detach" | "wait";
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  consoleSocket?: string;
  seccomp?: SeccompProgram;
  host: HostFacts;
  /** The helper's parent process writes the container's pid here before it reports it. */
  parentPidFile?: string;
}

/** The plan and the non-fatal problems found while making it. */
export interface CreatePlan {
  ops: PlanOp[];
  warnings: string[];
  rootfs: string;
  /** Namespaces created new (for `state` and for exec to join). */
  newNamespaces: string[];
}

/** Sync point names the runtime answers (see `src/runtime/helper.ts`). */
export const SYNC_CGROUP = "cgroup";
export const SYNC_HOOKS = "createRuntime";
/** Sync whose reply is the seccomp listener message (config-linux.md "container process state"). */
export const SYNC_SECCOMP = "seccomp";
export const NOTIFY_READY = "ready";

interface DefaultDevice {
  path: string;
  major: number;
  minor: number;
}

/** The devices every container gets (runtime-spec config-linux.md "Default Devices"). */
export const DEFAULT_DEVICES: readonly DefaultDevice[] = [
  // runc's order, so that mount tables (bound devices in a user namespace) read the same.
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/tty", major: 5, minor: 0 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/urandom", major: 1, minor: 9 },
];

/** Ops that run one hook from inside the helper (state JSON on stdin). */
export function hookOp(h: Hook): PlanOp {
  const args = h.args ?? [];
  return op("hook", h.path, h.timeout ?? 0, args.length, ...args, ...(h.env ?? []));
}

function rel(p: string): string {
  return posix.normalize(p).replace(/^\/+/, "");
}

function mountOps(
  m: Mount,
  i: number,
  input: CreatePlanInput,
  cgroupNs: boolean,
  pre: PlanOp[],
  newUserNs: boolean,
): PlanOp[] {
  const o = parseMountOptions(m.options, m.type);
  const dest = rel(m.destination);
  if (dest === "" || dest === ".")
    throw new RuntimeError("INVALID_CONFIG", `mounts[${i}].destination: cannot mount over the root`);
  if (posix.normalize(m.destination).split("/").includes("..")) {
    throw new RuntimeError("INVALID_CONFIG", `mounts[${i}].destination: must not contain ".."`);
  }
  const out: PlanOp[] = [];
  if (m.type === "cgroup" || m.type === "cgroup2") {
    return cgroupMountOps(
      m,
      dest,
      o.flags & ~MS.RDONLY,
      (o.flags & MS.RDONLY) !== 0,
      input.host.cgroupMounts,
      cgroupNs,
    );
  }
  if (!o.bind && wantsIdmap(m, o))
    throw new RuntimeError(
      "INVALID_CONFIG",
      `mounts[${i}]: idmapped mounts are supported for bind mounts only`,
    );
  if (o.bind) {
    let source = m.source ?? "";
    if (!source.startsWith("/")) source = posix.join(input.bundle, source);
    const kind = input.host.sourceKind(source);
    if (kind === "missing")
      throw new RuntimeError("INVALID_CONFIG", `mounts[${i}].source: ${source} does not exist`);
    if (wantsIdmap(m, o)) {
      const linux = input.spec.linux ?? {};
      const idm = idmappedMountOps({
        index: i,
        mount: m,
        options: o,
        source,
        dest,
        kind,
        rootless: input.host.euid !== 0 || input.host.inUserNs === true,
        ...(newUserNs
          ? { userNs: { uidMappings: linux.uidMappings ?? [], gidMappings: linux.gidMappings ?? [] } }
          : {}),
      });
      pre.push(...idm.pre);
      out.push(...idm.child);
      for (const prop of o.propagation) out.push(op("propagate", dest, prop));
      if (o.attrSet || o.attrClear) out.push(op("setattr", dest, o.attrSet, o.attrClear));
      return out;
    }
    out.push(
      op(
        "mount",
        source,
        dest,
        "",
        o.flags,
        o.data,
        kind === "file" ? "file" : "dir",
        ...procBindGuard(dest),
      ),
    );
  } else {
    // As runc: procfs and sysfs only on an ordinary directory, never through a final symlink.
    const ordinary: [] | ["ordinary"] = m.type === "proc" || m.type === "sysfs" ? ["ordinary"] : [];
    out.push(op("mount", m.source ?? m.type ?? "none", dest, m.type ?? "", o.flags, o.data, ...ordinary));
  }
  for (const prop of o.propagation) out.push(op("propagate", dest, prop));
  if (o.attrSet || o.attrClear) out.push(op("setattr", dest, o.attrSet, o.attrClear));
  return out;
}

function cgroupMountOps(
  m: Mount,
  dest: string,
  flags: number,
  readonly: boolean,
  hierarchies: HostCgroupMount[],
  cgroupNs: boolean,
): PlanOp[] {
  const ro = readonly ? MS.RDONLY : 0;
  const base = flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
  const pureV2 = hierarchies.length === 1 && hierarchies[0]?.fstype === "cgroup2";
  if (m.type === "cgroup2" || pureV2) {
    const v2 = hierarchies.find((h) => h.fstype === "cgroup2");
    if (cgroupNs || !v2) return [op("mount", "cgroup2", dest, "cgroup2", base | ro, "")];
    return [
      op(
        "mount",
        posix.join(v2.mountpoint, v2.containerPath ?? "/"),
        dest,
        "",
        MS.BIND | MS.REC | base | ro,
        "",
        "dir",
      ),
    ];
  }
  // v1 or hybrid: a (writable) tmpfs with one mount per v1 hierarchy, exactly as runc lays it
  // out; runc shows no cgroup2 tree to a v1 container, so neither does pier.
  const out: PlanOp[] = [op("mount", "tmpfs", dest, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755")];
  for (const h of hierarchies.filter((x) => x.fstype === "cgroup")) {
    const sub = posix.join(dest, posix.basename(h.mountpoint));
    if (cgroupNs) {
      out.push(op("mount", h.fstype, sub, h.fstype, base | ro, h.fstype === "cgroup" ? h.options : ""));
    } else {
      out.push(
        op(
          "mount",
          posix.join(h.mountpoint, h.containerPath ?? "/"),
          sub,
          "",
          MS.BIND | MS.REC | base | ro,
          "",
          "dir",
        ),
      );
    }
  }
  return out;
}

/** Plans `create` (and the create half of `run`). Throws `INVALID_CONFIG` naming the field. */
export function planCreate(input: CreatePlanInput): CreatePlan {
  const { spec, host } = input;
  const proc = spec.process;
  if (!proc) throw new RuntimeError("INVALID_CONFIG", "process: is required to create a container");
  if (!spec.root?.path) throw new RuntimeError("INVALID_CONFIG", "root.path: is required");
  const rootfs = rootfsPath(spec.root.path, input.bundle, host);
  const linux = spec.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  // As runc: the rootfs is prepared (mounts, devices, pivot_root) in the container's mount
  // namespace, new or joined by path; without one the process shares the runtime's and its
  // mounts and root (runc's "prepareRootfs() can be executed only for a new mount namespace").
  const rootfsSetup = namespaces.some((n) => n.type === "mount");
  if (!rootfsSetup) {
    for (const field of ["maskedPaths", "readonlyPaths"] as const) {
      if (linux[field]?.length)
        throw new RuntimeError(
          "INVALID_CONFIG",
          `linux.${field}: unable to restrict paths without a mount namespace (linux.namespaces has no "mount")`,
        );
    }
    if (spec.root.readonly)
      throw new RuntimeError(
        "INVALID_CONFIG",
        'root.readonly: needs a mount namespace (linux.namespaces has no "mount")',
      );
  }
  if (linux.netDevices && Object.keys(linux.netDevices).length > 0)
    throw new RuntimeError("INVALID_CONFIG", "linux.netDevices: moving network devices is not supported");
  const userNs = namespaces.find((n) => n.type === "user");
  const newUserNs = userNs !== undefined && !userNs.path;
  if (newUserNs && (!linux.uidMappings?.length || !linux.gidMappings?.length)) {
    throw new RuntimeError(
      "INVALID_CONFIG",
      "linux.uidMappings: user namespace requires uid and gid mappings",
    );
  }
  if (!userNs && host.euid !== 0) {
    throw new RuntimeError("INVALID_CONFIG", "linux.namespaces: rootless containers need a user namespace");
  }
  if (spec.hostname && !namespaces.some((n) => n.type === "uts")) {
    throw new RuntimeError(
      "INVALID_CONFIG",
      "hostname: unable to set hostname without a private UTS namespace",
    );
  }
  const sysctls = planSysctls(linux.sysctl, namespaces, host.isRuntimeNamespace);
  const warnings: string[] = [];
  const pre: PlanOp[] = [op("mode", input.mode), op("preserve", input.preserveFds ?? 0)];
  if (input.parentPidFile) pre.push(op("pidfile", input.parentPidFile));
  let cloneFlags = 0;
  let cgroupNs = false;
  const timens: PlanOp[] = [];
  const newNamespaces: string[] = [];
  const ordered = [...namespaces].sort((a, b) => order(a.type) - order(b.type));
  // User and mount namespaces joined by path are entered last (in that order), right before
  // clone: the helper first makes and opens what lives on the host (exec fifo, cgroup files,
  // idmapped mount sources) with the host's paths and the host root's privileges. The others,
  // entered first, may belong to the joined user namespace: the host's root may enter those.
  const lateJoins: PlanOp[] = [];
  for (const ns of ordered) {
    if (ns.path) {
      const late = ns.type === "mount" || ns.type === "user";
      (late ? lateJoins : pre).push(op("setns", ns.path, CLONE_FLAGS[ns.type]));
      continue;
    }
    newNamespaces.push(ns.type);
    if (ns.type === "cgroup") cgroupNs = true;
    else if (ns.type === "time") timens.push(op("timens", timeOffsetsText(spec, true)));
    else cloneFlags |= CLONE_FLAGS[ns.type];
  }
  if (timens.length === 0) timeOffsetsText(spec, false);
  const rootUid = mapToHost(linux.uidMappings, 0) ?? 0;
  const rootGid = mapToHost(linux.gidMappings, 0) ?? 0;
  let setgroupsDenied = false;
  if (newUserNs) {
    const ids = idMapOps(linux.uidMappings ?? [], linux.gidMappings ?? [], host);
    pre.push(...ids.ops);
    setgroupsDenied = ids.setgroupsDenied;
  }
  pre.push(op("mkfifo", input.fifoPath, rootUid, rootGid));
  // Opened by the runtime's own user: the container's root may not traverse the state directory.
  pre.push(op("openfifo", input.fifoPath));

  // With a new user namespace, only it (and the pid namespace, which clone alone can create) come
  // from clone; the rest are unshared once the child is root inside it, so that they are made
  // by that root (an ipc namespace's mqueue, for one, belongs to whoever made it), as runc does.
  const atClone = newUserNs ? cloneFlags & (CLONE_FLAGS.user | CLONE_FLAGS.pid) : cloneFlags;
  const child: PlanOp[] = [op("clone", atClone)];
  if (atClone !== cloneFlags) child.push(op("unshare", cloneFlags & ~atClone));
  // Root of the user namespace, new or joined by path (runc's nsexec does this for both): the
  // host's root is not mapped there, so files it made would be owned by nobody (EOVERFLOW).
  if (userNs) child.push(op("root"));
  // Unshared by the container's root: owned by its user namespace, so it works rootless too. The
  // process itself enters it at execve (time_for_children), when no offset may change any more.
  if (newUserNs) child.push(...timens);
  else pre.push(...timens);
  // Moving a process into a cgroup through cgroup.procs takes the kernel's global cgroup lock for
  // writing: an RCU grace period, milliseconds on every start. Where it can (see selfJoin), the
  // container process is born in its v2 cgroup and moves itself into the v1 ones, which needs no
  // such lock. Otherwise the runtime places it: asked for here, awaited only before the first
  // step that depends on it (the cgroup namespace and its mount, seccomp, hooks, the pivot), so
  // the mounts overlap it. Without a cgroup namespace the cgroup mounts bind paths known here.
  const join = selfJoinOps(input.host, newUserNs);
  let inCgroups = join !== undefined;
  if (join) {
    pre.push(...join.before);
    child.push(...join.child);
    if (cgroupNs) child.push(op("unshare", CLONE_FLAGS.cgroup));
  } else child.push(op("syncsend", SYNC_CGROUP));
  const awaitCgroups = () => {
    if (inCgroups) return;
    inCgroups = true;
    child.push(op("syncwait"));
    if (cgroupNs) child.push(op("unshare", CLONE_FLAGS.cgroup));
  };
  child.push(op("setsid"));
  if (!input.noNewKeyring) child.push(op("keyring", `_ses.${input.id}`));
  if (proc.oomScoreAdj !== undefined) child.push(op("oom", proc.oomScoreAdj));
  if (proc.terminal) {
    if (input.consoleSocket) child.push(op("consock", input.consoleSocket));
    // `run` without a console socket: the waiting helper proxies the pty to its own stdio (as runc).
    else if (input.mode === "wait") pre.push(op("consolepair"));
    else
      throw new RuntimeError(
        "INVALID_ARGUMENT",
        "cannot allocate tty if runc will detach without setting console socket",
      );
  }
  const propagation = rootfsPropagationFlags(linux.rootfsPropagation);
  // The old root's propagation decides what of the host's mounts propagates in. runc applies the
  // value there as given; an unbindable one would then make every bind mount from the host fail
  // (EINVAL), so for those the old root gets the default and only the new root the value.
  const hostSide = propagation & MS.UNBINDABLE ? rootfsPropagationFlags(undefined) : propagation;
  if (rootfsSetup) child.push(op("rootprop", hostSide), op("rootfs", rootfs));
  const mounts = rootfsSetup ? (spec.mounts ?? []) : [];
  for (const [i, m] of mounts.entries()) {
    if (cgroupNs && (m.type === "cgroup" || m.type === "cgroup2")) awaitCgroups();
    child.push(...mountOps(m, i, input, cgroupNs, pre, newUserNs));
  }

  const devBound = mounts.some(
    (m) => posix.normalize(m.destination) === "/dev" && parseMountOptions(m.options, m.type).bind,
  );
  const devpts = mounts.some((m) => posix.normalize(m.destination) === "/dev/pts");
  if (rootfsSetup && !devBound) {
    // In any user namespace but the host's (new or joined by path), mknod is not allowed: the
    // host's device nodes are bound instead, as runc does.
    const bindDevices = userNs !== undefined || host.euid !== 0 || host.inUserNs === true;
    const devices = new Map<string, PlanOp>();
    for (const d of DEFAULT_DEVICES) {
      devices.set(
        d.path,
        op("mkdev", rel(d.path), "c", d.major, d.minor, 0o666, rootUid, rootGid, bindDevices ? 1 : 0),
      );
    }
    for (const d of linux.devices ?? []) {
      const type = d.type === "u" ? "c" : d.type;
      devices.set(
        posix.normalize(d.path),
        op(
          "mkdev",
          rel(d.path),
          type,
          d.major ?? 0,
          d.minor ?? 0,
          d.fileMode ?? 0o666,
          d.uid ?? 0,
          d.gid ?? 0,
          bindDevices ? 1 : 0,
        ),
      );
    }
    child.push(...devices.values());
    child.push(op("symlink", "/proc/self/fd", "dev/fd"));
    child.push(op("symlink", "/proc/self/fd/0", "dev/stdin"));
    child.push(op("symlink", "/proc/self/fd/1", "dev/stdout"));
    child.push(op("symlink", "/proc/self/fd/2", "dev/stderr"));
    if (devpts) child.push(op("symlink", "pts/ptmx", "dev/ptmx"));
  }
  awaitCgroups();
  // Connected here, in the host's mount namespace, where listenerPath means what the user meant.
  if (input.seccomp?.listenerPath)
    child.push(op("sync", SYNC_SECCOMP), op("seccompmsg", input.seccomp.listenerPath));
  const hooks = spec.hooks ?? {};
  const hookCount = (k: keyof typeof hooks) => hooks[k]?.length ?? 0;
  if (
    hookCount("prestart") +
      hookCount("createRuntime") +
      hookCount("createContainer") +
      hookCount("startContainer") >
    0
  ) {
    child.push(op("sync", SYNC_HOOKS));
  }
  if (hookCount("createContainer") > 0) child.push(op("hookstate", "creating"));
  for (const h of hooks.createContainer ?? []) child.push(hookOp(h));
  if (rootfsSetup) child.push(op(input.noPivot ? "chroot" : "pivot"));
  for (const s of sysctls) child.push(op("sysctl", s.path, s.value));
  for (const p of linux.readonlyPaths ?? []) child.push(op("ropath", p));
  for (const p of linux.maskedPaths ?? []) child.push(op("mask", p));
  if (spec.root.readonly) child.push(op("readonlyroot"));
  // runc applies the propagation to the new root again after the pivot (the first one was on the
  // old root, for the host's mounts); pier does it once the read-only and masked paths are bound,
  // which an unbindable root would refuse. Private is already the pivot's own.
  if (rootfsSetup && !(propagation & MS.PRIVATE)) child.push(op("rootprop", propagation));
  if (spec.hostname !== undefined && spec.hostname !== "") child.push(op("hostname", spec.hostname));
  if (spec.domainname) child.push(op("domainname", spec.domainname));
  if (proc.terminal) {
    if (proc.consoleSize) child.push(op("consize", proc.consoleSize.height, proc.consoleSize.width));
    // /dev/console is the container's own only in a mount namespace of its own making.
    child.push(rootfsSetup ? op("console", "devconsole") : op("console"));
  }
  const p = processOps({
    process: proc,
    lastCap: host.lastCap,
    setgroupsDenied,
    ...(input.seccomp ? { seccomp: input.seccomp } : {}),
    ...(spec.linux?.personality ? { personality: spec.linux.personality.domain } : {}),
  });
  warnings.push(...p.warnings);
  if (spec.linux?.personality?.flags?.length)
    warnings.push("linux.personality.flags: the runtime-spec defines no flag values; ignored");
  child.push(...p.rlimits, ...p.prepare);
  // The ready point (create returns) as runc's syncParentReady: before a filter that needs
  // privileges (no no_new_privs), otherwise after the privileges are dropped, so that create
  // reports a failure to set the user, cwd or capabilities.
  if (proc.noNewPrivileges) child.push(...p.finalize, op("notify", NOTIFY_READY));
  else child.push(op("notify", NOTIFY_READY), ...p.finalize);
  child.push(op("waitfifo"));
  // Released by start but not yet running the user program: runtime.md's "created".
  if (hookCount("startContainer") > 0) child.push(op("hookstate", "created"));
  for (const h of hooks.startContainer ?? []) child.push(hookOp(h));
  child.push(...p.exec);
  return { ops: [...pre, ...lateJoins, ...child], warnings, rootfs, newNamespaces };
}

/**
 * The rootfs directory as runc takes it: a relative `root.path` lies in the bundle's real
 * directory, and the path must exist and go through no symlink (runc: "invalid rootfs: not an
 * absolute path, or a symlink"), since pier-init bind-mounts and opens it by name.
 */
function rootfsPath(rootPath: string, bundle: string, host: HostFacts): string {
  const raw = rootPath.startsWith("/") ? rootPath : posix.join(host.realPath?.(bundle) ?? bundle, rootPath);
  const clean = posix.normalize(raw).replace(/(.)\/+$/, "$1");
  // Existence as the kernel sees it: `x/../rootfs` needs an `x`.
  if (host.sourceKind(raw) !== "dir")
    throw new RuntimeError("INVALID_CONFIG", `root.path: rootfs (${JSON.stringify(raw)}) does not exist`);
  const real = host.realPath?.(raw);
  if (real !== undefined && real !== clean)
    throw new RuntimeError(
      "INVALID_CONFIG",
      `root.path: rootfs (${JSON.stringify(raw)}) is a symlink or goes through one (it is ${JSON.stringify(real)})`,
    );
  return clean;
}

function order(type: string): number {
  // The user namespace first (it owns the others), mount late, as runc's nsexec joins them.
  return ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"].indexOf(type);
}

/** The host id that container id `id` maps to, or undefined when unmapped (or no mappings). */
export function mapToHost(
  maps: readonly { containerID: number; hostID: number; size: number }[] | undefined,
  id: number,
): number | undefined {
  for (const m of maps ?? [])
    if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return undefined;
}

/** The `/proc/<pid>/ns/<name>` path of a namespace type. */
export function nsProcPath(pid: number, type: keyof typeof NS_PROC_NAME): string {
  return `/proc/${pid}/ns/${NS_PROC_NAME[type]}`;
}
