/** cgroup v2 `io` controller: weights (BFQ or io.weight, converted from blkio), io.max, io.stat. */
import type { LinuxBlockIO, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { blkioWeightToIoWeight } from "../convert.js";
import { type CgroupWrite, cgroupFileExists, parseNestedKeyed, readOptional, writeAll } from "../fs.js";
import type { BlkioEntry } from "../stats.js";

/**
 * Decides the v2 io writes. With BFQ (`io.bfq.weight` exists) weights keep the blkio scale
 * (10..1000), else they are converted to `io.weight`'s 1..10000. Throttles become `io.max`
 * lines, one write each. `leafWeight` has no v2 meaning and is noted.
 */
export function planV2Io(b: LinuxBlockIO, bfq: boolean, notes: string[]): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const file = bfq ? "io.bfq.weight" : "io.weight";
  const scale = (n: number) => String(bfq ? n : blkioWeightToIoWeight(n));
  if (b.weight) w.push({ file, value: scale(b.weight) });
  for (const d of b.weightDevice ?? []) {
    if (d.weight) w.push({ file, value: `${d.major}:${d.minor} ${scale(d.weight)}` });
  }
  if (b.leafWeight || b.weightDevice?.some((d) => d.leafWeight)) {
    notes.push("blockIO.leafWeight is ignored: cgroup v2 has no leaf weights");
  }
  const throttle = [
    ["throttleReadBpsDevice", "rbps"],
    ["throttleWriteBpsDevice", "wbps"],
    ["throttleReadIOPSDevice", "riops"],
    ["throttleWriteIOPSDevice", "wiops"],
  ] as const;
  for (const [key, name] of throttle) {
    for (const d of b[key] ?? [])
      w.push({ file: "io.max", value: `${d.major}:${d.minor} ${name}=${d.rate}` });
  }
  return w;
}

/** Parses `io.stat` into runc's blkio entries (bytes and operations, Read and Write). */
export function parseIoStat(text: string): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const { key, values } of parseNestedKeyed(text)) {
    const [major, minor] = key.split(":").map(Number);
    const e = (op: string, value: number | undefined) => ({
      major: major!,
      minor: minor!,
      op,
      value: value ?? 0,
    });
    bytes.push(e("Read", values.rbytes), e("Write", values.wbytes));
    ios.push(e("Read", values.rios), e("Write", values.wios));
  }
  return { bytes, ios };
}

function ioNeeded(b: LinuxBlockIO | undefined): b is LinuxBlockIO {
  if (!b) return false;
  return Boolean(
    b.weight ||
      b.weightDevice?.length ||
      b.throttleReadBpsDevice?.length ||
      b.throttleWriteBpsDevice?.length ||
      b.throttleReadIOPSDevice?.length ||
      b.throttleWriteIOPSDevice?.length,
  );
}

/** The v2 io controller. */
export const v2Io: Controller = {
  name: "io",
  needed: (r: LinuxResources) => ioNeeded(r.blockIO),
  async apply(dir, r, ctx) {
    if (!ioNeeded(r.blockIO)) return;
    await writeAll(dir, planV2Io(r.blockIO, await cgroupFileExists(dir, "io.bfq.weight"), ctx.notes));
  },
  async stats(dir, out) {
    const text = await readOptional(dir, "io.stat");
    if (text === undefined) return;
    const { bytes, ios } = parseIoStat(text);
    out.blkio = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
  },
};
