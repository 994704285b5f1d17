/**
 * `exec`: runs a new process inside a running container: the helper joins the container's
 * namespaces (setns), forks into its pid namespace, enters its cgroup and applies the process
 * settings. Resolves with the exit status, or with 0 at once when detached.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Process } from "../../oci/runtime-spec/config.js";
import { RuntimeError } from "../error.js";
import { type HelperLauncher, launchHelper } from "../helper.js";
import { hostCgroupMounts, lastCap } from "../host-facts.js";
import { nsProcPath, selfJoinOps } from "../plan/create-plan.js";
import { CLONE_FLAGS } from "../plan/linux-constants.js";
import { op, type PlanOp } from "../plan/ops.js";
import { processOps, type SeccompProgram } from "../plan/process-ops.js";
import { runningInUserNamespace } from "../rootless.js";
import { openContainerCgroup } from "./cgroup-link.js";
import type { RuntimeContext } from "./context.js";
import { writePidFile } from "./create.js";

/** Options of {@link execInContainer} (runc `exec` flags). */
export interface ExecOptions {
  id: string;
  process: Process;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  stdio?: readonly ("inherit" | "ignore" | "pipe" | number)[];
  /** How pier-init is started (default: a child of this process). */
  launch?: HelperLauncher;
}

/** Pure: the ops of an exec into the container whose init is `pid`. */
export function planExec(input: {
  pid: number;
  namespaces: readonly string[];
  process: Process;
  mode: "detach" | "wait";
  preserveFds: number;
  consoleSocket?: string;
  lastCap: number;
  userNs: boolean;
  /** `/proc/<pid>/setgroups` of the container reads `deny` (setgroups(2) would fail). */
  setgroupsDenied?: boolean;
  seccomp?: SeccompProgram;
  /** The process joins the container's cgroups itself (see selfJoinOps), else the runtime places it. */
  cgroupJoin?: { before: PlanOp[]; child: PlanOp[] };
  /**
   * The container's `process.oomScoreAdj`: an exec'd process gets it unless it names its own
   * (runc writes the container's value for every process it starts in it).
   */
  containerOomScoreAdj?: number;
}): PlanOp[] {
  const ops: PlanOp[] = [op("mode", input.mode), op("preserve", input.preserveFds)];
  if (input.process.terminal) {
    if (!input.consoleSocket) {
      throw new RuntimeError(
        "INVALID_ARGUMENT",
        "cannot allocate tty if runc will detach without setting console socket",
      );
    }
    // Connected from the host's mount namespace: the socket's path means nothing inside.
    ops.push(op("consock", input.consoleSocket));
  }
  // Opened while host paths still mean the host's (before the mount namespace changes).
  if (input.cgroupJoin) ops.push(...input.cgroupJoin.before);
  const order = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"] as const;
  for (const t of order) {
    if (input.namespaces.includes(t)) ops.push(op("setns", nsProcPath(input.pid, t), CLONE_FLAGS[t]));
  }
  ops.push(op("clone", 0), ...(input.cgroupJoin ? input.cgroupJoin.child : [op("sync", "cgroup")]));
  if (input.process.terminal) {
    ops.push(op("setsid"));
    if (input.process.consoleSize)
      ops.push(op("consize", input.process.consoleSize.height, input.process.consoleSize.width));
    ops.push(op("console"));
  }
  const oomScoreAdj = input.process.oomScoreAdj ?? input.containerOomScoreAdj;
  if (oomScoreAdj !== undefined) ops.push(op("oom", oomScoreAdj));
  const p = processOps({
    process: input.process,
    lastCap: input.lastCap,
    setgroupsDenied: input.setgroupsDenied ?? (input.userNs && process.geteuid?.() !== 0),
    // The container's profile binds exec'd processes too (as runc): never a way around it.
    // Without create's agent connection, SCMP_ACT_NOTIFY syscalls of an exec fail with ENOSYS.
    ...(input.seccomp ? { seccomp: input.seccomp } : {}),
  });
  ops.push(...p.rlimits, ...p.prepare, ...p.finalize, ...p.exec);
  return ops;
}

function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, "utf8").trim() === "deny";
  } catch {
    return false;
  }
}

/** Executes a process in container `opts.id`. */
export async function execInContainer(ctx: RuntimeContext, opts: ExecOptions): Promise<number> {
  const c = await ctx.store.load(opts.id);
  const status = ctx.store.status(c);
  if (status !== "running" && status !== "created")
    throw new RuntimeError("INVALID_STATE", `cannot exec in a stopped container`);
  const namespaces = (c.config.linux?.namespaces ?? []).map((n) => n.type);
  const seccomp = c.config.linux?.seccomp
    ? (await import("./seccomp-link.js")).compileSeccompFor(c.config)
    : undefined;
  const cg = await openContainerCgroup(c.id, c.cgroupPath);
  // Not into a cgroup namespace: its root hides the cgroup the helper comes from, and the kernel
  // then refuses the move (the runtime places such a process).
  const cgroupJoin =
    cg && !namespaces.includes("cgroup")
      ? selfJoinOps(
          {
            cgroupMounts: hostCgroupMounts(cg.dirs),
            euid: process.geteuid?.() ?? 0,
            inUserNs: runningInUserNamespace(),
          },
          namespaces.includes("user"),
        )
      : undefined;
  const ops = planExec({
    pid: c.pid,
    namespaces,
    process: opts.process,
    mode: opts.detach ? "detach" : "wait",
    preserveFds: opts.preserveFds ?? 0,
    ...(opts.consoleSocket ? { consoleSocket: resolve(opts.consoleSocket) } : {}),
    lastCap: lastCap(),
    userNs: namespaces.includes("user"),
    // newgidmap allows setgroups where a plain rootless gid map denies it: ask the kernel.
    setgroupsDenied: setgroupsDenied(c.pid),
    ...(seccomp ? { seccomp } : {}),
    ...(cgroupJoin ? { cgroupJoin } : {}),
    ...(c.config.process?.oomScoreAdj !== undefined
      ? { containerOomScoreAdj: c.config.process.oomScoreAdj }
      : {}),
  });
  const session = await launchHelper({
    ops,
    preserveFds: opts.preserveFds ?? 0,
    ...(opts.stdio ? { stdio: opts.stdio } : {}),
    ...(opts.launch ? { launch: opts.launch } : {}),
    until: "exec",
    onSync: async (_name, pid) => {
      if (cg) await cg.addProcess(pid);
      return undefined;
    },
  });
  if (opts.pidFile) await writePidFile(resolve(opts.pidFile), session.pid);
  if (opts.detach) return 0;
  // Only a helper that is this process's child gets this process's signals (not under the
  // runtime service, whose caller forwards them itself).
  const kill = session.kill;
  const forward = (sig: NodeJS.Signals) => {
    try {
      kill?.(sig);
    } catch {}
  };
  const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGWINCH"];
  if (kill) for (const s of sigs) process.on(s, forward);
  const code = await session.exited;
  for (const s of sigs) process.off(s, forward);
  return code;
}
