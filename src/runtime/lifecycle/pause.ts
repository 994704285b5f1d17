/**
 * `pause` / `resume`: freezes and thaws every process of a running container through its cgroup
 * freezer; the status reads `paused` in between (runc's extra status).
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openCgroup } from "../cgroups/manager.js";
import { RuntimeError } from "../error.js";
import { effectiveDeviceRules } from "../plan/device-rules.js";
import { isRootless, runningInUserNamespace } from "../rootless.js";
import type { RuntimeContext } from "./context.js";

/** Freezes container `id`; throws `INVALID_STATE` unless it is running. */
export async function pauseContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const c = await ctx.store.load(id);
  const status = ctx.store.status(c);
  if (status !== "running") throw new RuntimeError("INVALID_STATE", `container not running`);
  if (!c.cgroupPath) throw new RuntimeError("UNSUPPORTED", "container has no cgroup to freeze");
  await (await openCgroup({ containerId: id, cgroupsPath: c.cgroupPath })).freeze();
  await writeFile(join(ctx.store.dir(id), "paused"), "");
}

/** Thaws container `id`; throws `INVALID_STATE` unless it is paused. */
export async function resumeContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const c = await ctx.store.load(id);
  if (ctx.store.status(c) !== "paused") throw new RuntimeError("INVALID_STATE", `container not paused`);
  await (await openCgroup({ containerId: id, cgroupsPath: c.cgroupPath })).thaw();
  await rm(join(ctx.store.dir(id), "paused"), { force: true });
}

/** Applies new `linux.resources` to a created or running container (`update --resources`). */
export async function updateContainer(ctx: RuntimeContext, id: string, resources: unknown): Promise<void> {
  const c = await ctx.store.load(id);
  const status = ctx.store.status(c);
  if (status === "stopped") throw new RuntimeError("INVALID_STATE", "container not running");
  const { validateLinuxResources } = await import("../../oci/runtime-spec/resources.js");
  let r: ReturnType<typeof validateLinuxResources>;
  try {
    r = validateLinuxResources(resources);
  } catch (err) {
    throw new RuntimeError("INVALID_ARGUMENT", (err as Error).message, { cause: err });
  }
  if (!c.cgroupPath) throw new RuntimeError("UNSUPPORTED", "container has no cgroup to update");
  // New device rules keep what every container needs, as at create (a bare list would cut the
  // container off /dev/null).
  if (r.devices !== undefined && !isRootless(process.geteuid?.() ?? 0, runningInUserNamespace()))
    r.devices = effectiveDeviceRules(c.config, r.devices);
  const { nativeDeviceFilterLoader } = await import("./device-filter-loader.js");
  const cg = await openCgroup({
    containerId: id,
    cgroupsPath: c.cgroupPath,
    deviceFilterLoader: nativeDeviceFilterLoader,
  });
  await cg.update(r);
}
