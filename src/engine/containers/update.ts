/**
 * `docker update` / `pier update`: the container's config after new limits (and restart
 * policy), and the `linux.resources` the runtime's `update` gets for a running container. Pure.
 */
import type { LinuxResources } from "../../oci/runtime-spec/resources.js";
import { EngineError } from "../error.js";
import { type ContainerConfig, parseRestartPolicy } from "./config.js";
import type { HostFacts } from "./host-facts.js";
import { checkResourcesOnHost, linuxResources, mergeResources, parseResources } from "./resources.js";

/** An untrusted update request (pier's API body; the Docker API maps into it). */
export interface ContainerUpdateInput {
  resources?: unknown;
  restartPolicy?: unknown;
}

/** What an update changes. */
export interface ContainerUpdatePlan {
  config: ContainerConfig;
  /** The cgroup settings to write now (all limits of the new config, devices excluded). */
  resources: LinuxResources;
}

/** Validates `input` against `old` and computes the new config. Errors name the field. Pure. */
export function planUpdate(
  old: ContainerConfig,
  input: ContainerUpdateInput,
  host: Pick<HostFacts, "cpus" | "blkioWeight" | "device" | "swapLimit">,
): ContainerUpdatePlan {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new EngineError("INVALID_ARGUMENT", "update must be a JSON object");
  const config: ContainerConfig = { ...old };
  const update = parseResources(input.resources, { update: true });
  if (update) config.resources = mergeResources(old.resources, update);
  checkResourcesOnHost(update, host);
  const rp = input.restartPolicy as Record<string, unknown> | undefined | null;
  if (rp !== undefined && rp !== null && typeof rp === "object" && typeof rp.name === "string" && rp.name) {
    const policy = parseRestartPolicy(rp.name);
    if (typeof rp.maximumRetryCount === "number" && rp.maximumRetryCount > 0)
      policy.maximumRetryCount = rp.maximumRetryCount;
    if (old.autoRemove && policy.name !== "no")
      throw new EngineError(
        "INVALID_ARGUMENT",
        "Restart policy cannot be updated because AutoRemove is enabled for the container",
      );
    if (policy.name === "no") delete config.restartPolicy;
    else config.restartPolicy = policy;
  }
  return { config, resources: linuxResources(config.resources ?? {}, host) };
}
