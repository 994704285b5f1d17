/** cgroup v1 `net_prio` controller: per-interface egress priorities. */
import type { LinuxInterfacePriority } from "../../../oci/runtime-spec/resources.js";
import type { Controller } from "../controller.js";
import { type CgroupWrite, writeAll } from "../fs.js";

/** One `net_prio.ifpriomap` write per interface (`eth0 5`). */
export function planV1NetPrio(priorities: readonly LinuxInterfacePriority[]): CgroupWrite[] {
  return priorities.map((p) => ({ file: "net_prio.ifpriomap", value: `${p.name} ${p.priority}` }));
}

/** The v1 net_prio controller. */
export const v1NetPrio: Controller = {
  name: "net_prio",
  needed: (r) => (r.network?.priorities?.length ?? 0) > 0,
  async apply(dir, r) {
    await writeAll(dir, planV1NetPrio(r.network?.priorities ?? []));
  },
};
