/** cgroup v1 `hugetlb` controller: per-page-size limits (and reservation limits) and usage. */
import type { LinuxHugepageLimit, LinuxResources } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import { type CgroupWrite, cgroupFileExists, parseCgroupNumber, readOptional, writeAll } from "../fs.js";
import { readHugePageSizes } from "../hugepages.js";

/**
 * Decides the v1 hugetlb writes: `hugetlb.<size>.limit_in_bytes`, plus the reservation limit
 * `hugetlb.<size>.rsvd.limit_in_bytes` when the kernel has it (the spec prefers reservations).
 */
export function planV1Hugetlb(limits: readonly LinuxHugepageLimit[], rsvd: boolean): CgroupWrite[] {
  return limits.flatMap((l) => {
    const w = [{ file: `hugetlb.${l.pageSize}.limit_in_bytes`, value: String(l.limit) }];
    if (rsvd) w.push({ file: `hugetlb.${l.pageSize}.rsvd.limit_in_bytes`, value: String(l.limit) });
    return w;
  });
}

/** The v1 hugetlb controller. */
export const v1Hugetlb: Controller = {
  name: "hugetlb",
  needed: (r: LinuxResources) => (r.hugepageLimits?.length ?? 0) > 0,
  async apply(dir, r) {
    for (const l of r.hugepageLimits ?? []) {
      if (!(await cgroupFileExists(dir, `hugetlb.${l.pageSize}.limit_in_bytes`))) {
        throw new CgroupError(
          "UNSUPPORTED",
          `hugepageLimits: page size ${l.pageSize} is not supported by this kernel`,
        );
      }
      const rsvd = await cgroupFileExists(dir, `hugetlb.${l.pageSize}.rsvd.limit_in_bytes`);
      await writeAll(dir, planV1Hugetlb([l], rsvd));
    }
  },
  async stats(dir, out) {
    for (const size of await readHugePageSizes()) {
      const num = async (f: string) => {
        const t = await readOptional(dir, `hugetlb.${size}.${f}`);
        return t === undefined ? undefined : parseCgroupNumber(t);
      };
      const usage = await num("usage_in_bytes");
      if (usage === undefined) continue;
      out.hugetlb[size] = {
        usage,
        max: (await num("max_usage_in_bytes")) ?? 0,
        failcnt: (await num("failcnt")) ?? 0,
      };
    }
  },
};
