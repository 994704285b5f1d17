/** cgroup v2 `hugetlb` controller: `hugetlb.<size>.max` (and `.rsvd.max`), usage and failures. */
import type { LinuxHugepageLimit } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { CgroupError } from "../error.js";
import {
  type CgroupWrite,
  cgroupFileExists,
  parseCgroupNumber,
  parseFlatKeyed,
  readOptional,
  writeAll,
} from "../fs.js";
import { readHugePageSizes } from "../hugepages.js";

/** Decides the v2 hugetlb writes; the reservation limit too when the kernel has it. */
export function planV2Hugetlb(limits: readonly LinuxHugepageLimit[], rsvd: boolean): CgroupWrite[] {
  return limits.flatMap((l) => {
    const w = [{ file: `hugetlb.${l.pageSize}.max`, value: String(l.limit) }];
    if (rsvd) w.push({ file: `hugetlb.${l.pageSize}.rsvd.max`, value: String(l.limit) });
    return w;
  });
}

/** The v2 hugetlb controller. */
export const v2Hugetlb: Controller = {
  name: "hugetlb",
  needed: (r) => (r.hugepageLimits?.length ?? 0) > 0,
  async apply(dir, r) {
    for (const l of r.hugepageLimits ?? []) {
      if (!(await cgroupFileExists(dir, `hugetlb.${l.pageSize}.max`))) {
        throw new CgroupError(
          "UNSUPPORTED",
          `hugepageLimits: page size ${l.pageSize} is not supported by this kernel`,
        );
      }
      await writeAll(dir, planV2Hugetlb([l], await cgroupFileExists(dir, `hugetlb.${l.pageSize}.rsvd.max`)));
    }
  },
  async stats(dir, out) {
    for (const size of await readHugePageSizes()) {
      const current = await readOptional(dir, `hugetlb.${size}.current`);
      if (current === undefined) continue;
      const events = parseFlatKeyed((await readOptional(dir, `hugetlb.${size}.events`)) ?? "");
      out.hugetlb[size] = { usage: parseCgroupNumber(current), failcnt: events.max ?? 0 };
    }
  },
};
