/** cgroup v1 `net_cls` controller: the class id that tags the cgroup's packets. */
import type { Controller } from "../controller.js";
import { writeCgroupFile } from "../fs.js";

/** The v1 net_cls controller. */
export const v1NetCls: Controller = {
  name: "net_cls",
  needed: (r) => r.network?.classID !== undefined,
  async apply(dir, r) {
    if (r.network?.classID === undefined) return;
    await writeCgroupFile(dir, "net_cls.classid", String(r.network.classID));
  },
};
