/**
 * cgroup v2 devices: v2 has no devices files; access is decided by an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. Loading one needs the bpf(2) syscall,
 * which Node cannot make; the native helper will load the program that `compileDeviceFilter`
 * emits. Until it does, the rules are not enforced and a note says so.
 */
import type { Controller } from "../controller.js";

/** The v2 devices "controller" (always available: it is not a cgroup controller). */
export const v2Devices: Controller = {
  name: "devices",
  needed: (r) => r.devices !== undefined,
  async apply(_dir, r, ctx) {
    if (r.devices === undefined) return;
    ctx.notes.push(
      "linux.resources.devices is not enforced on cgroup v2 yet (needs an eBPF program loaded via bpf(2))",
    );
  },
};
