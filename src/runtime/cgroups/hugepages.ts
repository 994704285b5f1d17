/** The huge page sizes of this machine, named as the hugetlb controller files name them. */
import { readdirSync } from "node:fs";

/**
 * Names a huge page size the way the kernel names hugetlb control files: `hugepages-2048kB`
 * (or `2048` kB) is `2MB`, `1048576` kB is `1GB`, `64` kB is `64KB`.
 */
export function hugePageSizeName(kB: number): string {
  if (kB % (1024 * 1024) === 0) return `${kB / (1024 * 1024)}GB`;
  if (kB % 1024 === 0) return `${kB / 1024}MB`;
  return `${kB}KB`;
}

/** The page sizes listed in `/sys/kernel/mm/hugepages`, as hugetlb names them; empty if none. */
export async function readHugePageSizes(): Promise<string[]> {
  let entries: string[];
  try {
    entries = readdirSync("/sys/kernel/mm/hugepages");
  } catch {
    return [];
  }
  const sizes: string[] = [];
  for (const e of entries) {
    const m = /^hugepages-(\d+)kB$/.exec(e);
    if (m) sizes.push(hugePageSizeName(Number(m[1])));
  }
  return sizes;
}
