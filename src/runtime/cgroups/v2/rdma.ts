/** cgroup v2 `rdma` controller: identical files to v1 (`rdma.max`). */
import type { Controller } from "../controller.js";
import { rdmaController } from "../v1/rdma.js";

/** The v2 rdma controller. */
export const v2Rdma: Controller = rdmaController;
