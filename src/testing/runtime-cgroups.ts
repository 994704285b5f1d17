/**
 * Helpers for the cgroup tests (not part of the library API): unique cgroup names, processes
 * that wait at a gate until they have been moved into a cgroup, and cleanup that kills what is
 * left and removes the cgroups even when a test failed halfway.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Cgroup } from "../runtime/cgroups/cgroup.js";
import { type OpenCgroupOptions, openCgroup } from "../runtime/cgroups/manager.js";
import { requireTool } from "./tools.js";

/** busybox-static, which every cgroup test uses as its workload. */
export const BUSYBOX = "/bin/busybox";

/** A cgroup path unique to this test process, under a per-file parent removed by {@link disposeTree}. */
export function uniqueParent(tag: string): string {
  return `/pier-test-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A process started by {@link startGated}: it runs `script` only after `release()`. */
export interface GatedProcess {
  child: ChildProcess;
  pid: number;
  release(): void;
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or null) and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Starts `busybox sh -c script` behind a gate (`read` on stdin), so the caller can put it in a
 * cgroup before it does anything that the cgroup should limit.
 */
export function startGated(script: string, cwd?: string): GatedProcess {
  requireTool(BUSYBOX, "busybox-static");
  const child = spawn(BUSYBOX, ["sh", "-c", `read _gate; ${script}`], {
    stdio: ["pipe", "ignore", "pipe"],
    ...(cwd !== undefined && { cwd }),
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  if (child.pid === undefined) throw new Error(`cannot start ${BUSYBOX}`);
  return { child, pid: child.pid, release: () => child.stdin?.end("go\n"), stderr: () => stderr, exited };
}

/** Kills every process in `cg` (thawing first, since a frozen task cannot die) and waits until empty. */
export async function killAll(cg: Cgroup): Promise<void> {
  if (!(await cg.exists())) return;
  for (let round = 0; round < 100; round++) {
    if ((await cg.state().catch(() => "thawed")) !== "thawed") await cg.thaw().catch(() => {});
    const pids = await cg.processes();
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await sleep(20);
  }
}

/** Removes the test cgroup tree `parent` in every hierarchy, killing what still runs in it. */
export async function disposeTree(parent: string, options: Partial<OpenCgroupOptions> = {}): Promise<void> {
  const cg = await openCgroup({ containerId: "cleanup", ...options, cgroupsPath: parent });
  await killAll(cg);
  await cg.destroy();
}

/** The host layout, and whether v1 controllers are there (v1 tests skip, saying why, on pure v2 hosts). */
export async function hostHasV1(): Promise<boolean> {
  const { readLayout } = await import("../runtime/cgroups/mountinfo.js");
  return (await readLayout()).mode !== "unified";
}

/** Fails clearly when not root: the kernel tests create real cgroups. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error("the cgroup tests create real cgroups and must run as root");
}

/**
 * A layout that makes `openCgroup` use the v2 code on any host with a cgroup2 mount: the real
 * one on unified hosts, the controller-less `unified` mount on hybrid ones.
 */
export async function v2Layout(): Promise<
  import("../runtime/cgroups/mountinfo.js").CgroupLayout | undefined
> {
  const { readLayout } = await import("../runtime/cgroups/mountinfo.js");
  const layout = await readLayout();
  return layout.unified ? { mode: "unified", unified: layout.unified, v1: {} } : undefined;
}

/** Reads the counter a `while :; do i=$((i+1)); echo $i > f; done` loop writes (retrying torn reads). */
export async function readCounter(file: string): Promise<number> {
  for (;;) {
    const text = (await readFile(file, "utf8").catch(() => "")).trim();
    if (text !== "") return Number(text);
    await sleep(5);
  }
}
