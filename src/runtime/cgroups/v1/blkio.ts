/** cgroup v1 `blkio` controller: weights (CFQ or BFQ files), throttling, and I/O statistics. */
import type { LinuxBlockIO, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import { type CgroupWrite, cgroupFileExists, readOptional, writeAll } from "../fs.js";
import type { BlkioEntry } from "../stats.js";

/** Which weight files this kernel offers: `bfq` (`blkio.bfq.weight`), `cfq` (`blkio.weight`), or none. */
export type V1WeightFiles = "bfq" | "cfq" | "none";

/**
 * Decides the v1 blkio writes. Each device line is its own write (the kernel parses one line
 * per write). Throws `UNSUPPORTED` for weights when the kernel has no weight files.
 */
export function planV1Blkio(b: LinuxBlockIO, weights: V1WeightFiles): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const wantsWeight = b.weight || b.leafWeight || (b.weightDevice?.length ?? 0) > 0;
  if (wantsWeight && weights === "none") {
    throw new CgroupError(
      "UNSUPPORTED",
      "blockIO.weight: this kernel has no blkio weight files (no CFQ/BFQ scheduler)",
    );
  }
  const prefix = weights === "bfq" ? "blkio.bfq." : "blkio.";
  if (b.weight) w.push({ file: `${prefix}weight`, value: String(b.weight) });
  if (b.leafWeight) w.push({ file: "blkio.leaf_weight", value: String(b.leafWeight) });
  for (const d of b.weightDevice ?? []) {
    if (d.weight) w.push({ file: `${prefix}weight_device`, value: `${d.major}:${d.minor} ${d.weight}` });
    if (d.leafWeight)
      w.push({ file: "blkio.leaf_weight_device", value: `${d.major}:${d.minor} ${d.leafWeight}` });
  }
  const throttle = [
    ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
    ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
    ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
    ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
  ] as const;
  for (const [key, file] of throttle) {
    for (const d of b[key] ?? []) w.push({ file, value: `${d.major}:${d.minor} ${d.rate}` });
  }
  return w;
}

/** Parses a v1 blkio stat file (`8:0 Read 4096` lines, plus a `Total` line) into runc entries. */
export function parseV1BlkioStat(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [major, minor] = f[0]!.split(":").map(Number);
    out.push({ major: major!, minor: minor!, op: f[1]!, value: Number(f[2]) });
  }
  return out;
}

function blkioNeeded(b: LinuxBlockIO | undefined): b is LinuxBlockIO {
  if (!b) return false;
  return Boolean(
    b.weight ||
      b.leafWeight ||
      b.weightDevice?.length ||
      b.throttleReadBpsDevice?.length ||
      b.throttleWriteBpsDevice?.length ||
      b.throttleReadIOPSDevice?.length ||
      b.throttleWriteIOPSDevice?.length,
  );
}

/** The v1 blkio controller. */
export const v1Blkio: Controller = {
  name: "blkio",
  needed: (r: LinuxResources) => blkioNeeded(r.blockIO),
  async apply(dir, r) {
    if (!blkioNeeded(r.blockIO)) return;
    const weights: V1WeightFiles = (await cgroupFileExists(dir, "blkio.bfq.weight"))
      ? "bfq"
      : (await cgroupFileExists(dir, "blkio.weight"))
        ? "cfq"
        : "none";
    await writeAll(dir, planV1Blkio(r.blockIO, weights));
  },
  async stats(dir, out) {
    // The throttle layer counts every bio whatever the scheduler; CFQ/BFQ files only their own.
    for (const base of ["blkio.throttle.", "blkio.bfq.", "blkio."]) {
      const bytes = await readOptional(dir, `${base}io_service_bytes_recursive`);
      if (bytes === undefined) continue;
      out.blkio.ioServiceBytesRecursive = parseV1BlkioStat(bytes);
      out.blkio.ioServicedRecursive = parseV1BlkioStat(
        (await readOptional(dir, `${base}io_serviced_recursive`)) ?? "",
      );
      return;
    }
  },
};
