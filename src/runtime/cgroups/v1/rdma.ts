/** cgroup `rdma` controller (v1 and v2 share `rdma.max` and its format). */
import type { Controller } from "../controller.js";
import { rdmaLines } from "../convert.js";
import { writeAll } from "../fs.js";

/** The rdma controller: one `rdma.max` write per device. */
export const rdmaController: Controller = {
  name: "rdma",
  needed: (r) => r.rdma !== undefined && Object.keys(r.rdma).length > 0,
  async apply(dir, r) {
    await writeAll(
      dir,
      rdmaLines(r.rdma ?? {}).map((value) => ({ file: "rdma.max", value })),
    );
  },
};
