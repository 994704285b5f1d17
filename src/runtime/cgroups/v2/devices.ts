/**
 * cgroup v2 devices: v2 has no devices files; access is decided by an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. `compileDeviceFilter` makes the program;
 * loading it needs the bpf(2) syscall, which Node cannot make, so the caller supplies a
 * {@link DeviceFilterLoader} (the native helper). Without one, the rules are not enforced and
 * a note says so.
 */
import type { Controller } from "../controller.js";
import { compileDeviceFilter } from "./device-filter.js";

/**
 * Loads `program` (instruction bytes, see `device-filter.ts` for the load parameters) and
 * attaches it to the cgroup directory `dir` with BPF_CGROUP_DEVICE, replacing any program
 * attached before.
 */
export type DeviceFilterLoader = (dir: string, program: Buffer) => Promise<void>;

/** The v2 devices "controller" (always available: it is not a cgroup controller). */
export function v2Devices(loader?: DeviceFilterLoader): Controller {
  return {
    name: "devices",
    needed: (r) => r.devices !== undefined,
    async apply(dir, r, ctx) {
      if (r.devices === undefined) return;
      if (loader) return loader(dir, compileDeviceFilter(r.devices));
      ctx.notes.push(
        "linux.resources.devices is not enforced on cgroup v2: no eBPF loader was given to openCgroup",
      );
    },
  };
}
