/**
 * The cgroup v2 device filter loader of the runtime: the eBPF program that
 * `cgroups/v2/device-filter.ts` compiles in TypeScript is loaded (bpf BPF_PROG_LOAD) and
 * attached to the container's v2 cgroup directory (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) by
 * pier-init, since Node.js cannot make the bpf(2) syscall. Attaching replaces the program the
 * directory had, so `update` can load a new list.
 */
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { CgroupError } from "../cgroups/error.js";
import { DEVICE_FILTER_LICENSE } from "../cgroups/v2/device-filter.js";
import type { DeviceFilterLoader } from "../cgroups/v2/devices.js";
import { ensureHelper } from "../helper.js";
import { encodePlan, op } from "../plan/ops.js";

/** Loads and attaches `program` to the v2 cgroup `dir` through pier-init; rejects with its error. */
export const nativeDeviceFilterLoader: DeviceFilterLoader = (dir, program) => {
  const bin = ensureHelper();
  const child = spawn(bin, ["3"], { stdio: ["ignore", "ignore", "pipe", "pipe"], env: {} });
  const sync = child.stdio[3] as Socket;
  let said = "";
  let stderr = "";
  sync.on("data", (d: Buffer) => {
    said += d.toString("utf8");
  });
  sync.on("error", () => {});
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString("utf8");
  });
  sync.end(encodePlan([op("devfilter", dir, DEVICE_FILTER_LICENSE, program), op("done")]));
  return new Promise<void>((resolve, reject) => {
    child.on("error", (err) =>
      reject(new CgroupError("WRITE_FAILED", `cannot run ${bin}: ${err.message}`, { cause: err })),
    );
    child.on("close", (code) => {
      if (code === 0) return resolve();
      const line = said.split("\n").find((l) => l.startsWith("error "));
      const why = line ? line.slice(6) : stderr.trim() || `pier-init exited with status ${code}`;
      reject(new CgroupError("WRITE_FAILED", `device filter for ${dir}: ${why}`));
    });
  });
};
