/**
 * `run --init`: pier's own tiny init (`native/docker-init.c`: reaps zombies, forwards signals)
 * bind-mounted read-only at `/sbin/docker-init` and run as the container's PID 1 with the
 * container's command after `--`, as Docker does with its docker-init.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { findNativeDir } from "../../runtime/helper.js";
import { EngineError } from "../error.js";

/** Where the init appears inside the container (Docker's path). */
export const DOCKER_INIT_PATH = "/sbin/docker-init";

/** The host path of the built init (`PIER_DOCKER_INIT` overrides); `INVALID_ARGUMENT` when missing. */
export function dockerInitBinary(): string {
  const bin = process.env.PIER_DOCKER_INIT || join(findNativeDir(), "build", "docker-init");
  if (!existsSync(bin))
    throw new EngineError(
      "INVALID_ARGUMENT",
      `--init: the init binary ${bin} is missing (build it with native/build.sh)`,
    );
  return bin;
}

/**
 * The spec with the init as its process (`/sbin/docker-init -- ARGS…`) and the init's binary
 * bound read-only at {@link DOCKER_INIT_PATH}, replacing whatever the image has there. Pure.
 */
export function withInit(spec: Spec, binary: string): Spec {
  const args = spec.process?.args ?? [];
  return {
    ...spec,
    ...(spec.process ? { process: { ...spec.process, args: [DOCKER_INIT_PATH, "--", ...args] } } : {}),
    mounts: [
      ...(spec.mounts ?? []).filter((m) => m.destination !== DOCKER_INIT_PATH),
      {
        destination: DOCKER_INIT_PATH,
        type: "bind",
        source: binary,
        options: ["bind", "ro", "nosuid", "nodev"],
      },
    ],
  };
}
