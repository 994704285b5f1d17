/**
 * A CRI `LinuxContainerResources` as the engine's resource settings (`resources.ts`, the model
 * `docker run` and `docker update` fill): CFS period and quota, shares, memory and swap, the
 * OOM score, cpusets, huge page limits and cgroup v2 `unified` files. Zero means unset, as in
 * the CRI. Huge page limits on a host without the hugetlb controller are treated as containerd's
 * default `tolerate_missing_hugetlb_controller` does for the zero limits the kubelet always
 * sends; a non-zero one there is refused, as is `unified` on a cgroup v1 host. Pure, given the
 * host's facts.
 */
import { existsSync, readFileSync } from "node:fs";
import { CriError } from "./error.js";
import { msgs, num, str, strMap } from "./fields.js";
import type { Message } from "./grpc.js";

/** What the host's cgroups offer, for {@link mapResources}. */
export interface CgroupHost {
  /** The unified hierarchy only (cgroup v2). */
  v2: boolean;
  /** The hugetlb controller is there. */
  hugetlb: boolean;
}

/** This host's cgroups (read each call: cheap, and a test may mount a controller). */
export function cgroupHost(): CgroupHost {
  const controllers = "/sys/fs/cgroup/cgroup.controllers";
  if (existsSync(controllers)) {
    const enabled = readFileSync(controllers, "utf8").split(/\s+/);
    return { v2: true, hugetlb: enabled.includes("hugetlb") };
  }
  return { v2: false, hugetlb: existsSync("/sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes") };
}

const invalid = (message: string): never => {
  throw new CriError("INVALID_ARGUMENT", message);
};

/** The kernel's page-size names the kubelet uses (`2MB`, `1GB`) and hugetlb's (the same). */
const PAGE_SIZE_RE = /^\d+[KMG]B$/;

/**
 * The engine's `resources` input of a CRI `LinuxContainerResources` (`field` its dotted path,
 * for errors), or undefined when nothing is set. Pure, given `host`.
 */
export function mapResources(
  r: Message | undefined,
  field: string,
  host: CgroupHost,
): Record<string, unknown> | undefined {
  if (!r) return undefined;
  const out: Record<string, unknown> = {};
  const set = (key: string, v: number) => {
    if (v !== 0) out[key] = v;
  };
  set("cpuPeriod", num(r, "cpu_period"));
  set("cpuQuota", num(r, "cpu_quota"));
  set("cpuShares", num(r, "cpu_shares"));
  const memory = num(r, "memory_limit_in_bytes");
  set("memory", memory);
  const swap = num(r, "memory_swap_limit_in_bytes");
  // Unset swap leaves swap unlimited, as containerd with runc does (not Docker's twice the memory).
  if (swap !== 0) out.memorySwap = swap;
  else if (memory !== 0) out.memorySwap = -1;
  set("oomScoreAdj", num(r, "oom_score_adj"));
  if (str(r, "cpuset_cpus")) out.cpusetCpus = str(r, "cpuset_cpus");
  if (str(r, "cpuset_mems")) out.cpusetMems = str(r, "cpuset_mems");
  const hugepages = msgs(r, "hugepage_limits").flatMap((h) => {
    const pageSize = str(h, "page_size");
    const limit = num(h, "limit");
    if (!PAGE_SIZE_RE.test(pageSize))
      invalid(`${field}.hugepage_limits.page_size ${JSON.stringify(pageSize)}: want a size like 2MB`);
    if (host.hugetlb) return [{ pageSize, limit }];
    if (limit === 0) return [];
    return invalid(
      `${field}.hugepage_limits: ${pageSize} limited to ${limit} bytes, but this host has no hugetlb cgroup controller`,
    );
  });
  if (hugepages.length) out.hugepageLimits = hugepages;
  const unified = strMap(r, "unified");
  if (Object.keys(unified).length) {
    if (!host.v2)
      invalid(
        `${field}.unified (${Object.keys(unified).join(", ")}): this host has cgroup v1, not the unified hierarchy`,
      );
    out.unified = unified;
  }
  return Object.keys(out).length ? out : undefined;
}
