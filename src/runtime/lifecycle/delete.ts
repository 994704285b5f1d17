/**
 * `delete`: removes a stopped container (with `force`, a created, running or paused one, killed
 * first): its processes, cgroup and state, then runs the `poststop` hooks (failures are warnings).
 */
import { sleep } from "../../common/sleep.js";
import { isPierError } from "../../errors.js";
import { RuntimeError } from "../error.js";
import { runHooksWarnOnly } from "../hooks.js";
import { processStartTime, type StoredContainer } from "../state-store.js";
import { type ContainerCgroup, openContainerCgroup } from "./cgroup-link.js";
import type { RuntimeContext } from "./context.js";
import { containerPids } from "./processes.js";

/** Waits until `pid` (with start time `start`) is gone, up to `ms`. */
export async function waitGone(pid: number, start: string, ms = 10000): Promise<boolean> {
  const until = Date.now() + ms;
  while (processStartTime(pid) === start) {
    if (Date.now() > until) return false;
    await sleep(2);
  }
  return true;
}

/** What a caller that created the container itself (`run`) already has of it. */
export interface KnownContainer {
  container: StoredContainer;
  cgroup: ContainerCgroup;
}

/** Deletes container `id` (`known`: its record and cgroup, else they are read). */
export async function deleteContainer(
  ctx: RuntimeContext,
  id: string,
  force = false,
  known?: KnownContainer,
): Promise<void> {
  let c: StoredContainer;
  try {
    c = known?.container ?? (await ctx.store.load(id));
  } catch (err) {
    if (force && isPierError(err, "CONTAINER_NOT_FOUND")) return;
    throw err;
  }
  const status = ctx.store.status(c);
  // runtime.md: "Attempting to delete a container that is not stopped MUST generate an error."
  // runc 1.1 kills a created one instead; pier keeps to the spec (issue 13): --force kills it.
  if (status !== "stopped" && !force) {
    throw new RuntimeError("INVALID_STATE", `cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status !== "stopped") {
    for (const pid of await containerPids(c)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    // Frozen processes die only once thawed.
    if (status === "paused") await (known?.cgroup ?? (await openContainerCgroup(c.id, c.cgroupPath)))?.thaw();
    await waitGone(c.pid, c.pidStartTime);
  }
  const cg = known?.cgroup ?? (await openContainerCgroup(c.id, c.cgroupPath));
  if (cg) await cg.destroy().catch((err: Error) => ctx.warn(`removing cgroup: ${err.message}`));
  const state = JSON.stringify({ ...ctx.store.state(c), status: "stopped", pid: 0 });
  await ctx.store.remove(id);
  await runHooksWarnOnly(c.config.hooks?.poststop, state, "poststop", ctx.warn);
}
