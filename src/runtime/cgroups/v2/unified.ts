/** The runtime-spec `unified` map on cgroup v2: each key a file of the cgroup, written as-is. */
import { isSafeUnifiedKey } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import { type CgroupWrite, cgroupFileExists, writeAll } from "../fs.js";

/**
 * Decides the `unified` writes. Every key must be a plain file name whose controller prefix
 * (`memory` of `memory.high`) is enabled in the cgroup (`cgroup.*` files always exist).
 * Throws `UNSUPPORTED` naming the key otherwise, as the spec requires.
 */
export function planUnified(
  unified: Readonly<Record<string, string>>,
  enabled: readonly string[],
): CgroupWrite[] {
  return Object.entries(unified).map(([key, value]) => {
    if (!isSafeUnifiedKey(key))
      throw new CgroupError("INVALID_PATH", `unified.${key}: not a plain cgroup file name`);
    const controller = key.split(".")[0]!;
    if (controller !== "cgroup" && !enabled.includes(controller)) {
      throw new CgroupError(
        "UNSUPPORTED",
        `unified.${key}: the ${controller} controller is not enabled for this cgroup (enabled: ${enabled.join(" ") || "none"})`,
      );
    }
    return { file: key, value };
  });
}

/** `unified` as a controller; the manager passes the enabled controllers through `apply`. */
export function unifiedController(enabled: readonly string[]): Controller {
  return {
    name: "unified",
    needed: (r) => r.unified !== undefined && Object.keys(r.unified).length > 0,
    async apply(dir, r) {
      const writes = planUnified(r.unified ?? {}, enabled);
      for (const w of writes) {
        if (!(await cgroupFileExists(dir, w.file))) {
          throw new CgroupError("UNSUPPORTED", `unified.${w.file}: no such file in the cgroup ${dir}`);
        }
      }
      await writeAll(dir, writes);
    },
  };
}
