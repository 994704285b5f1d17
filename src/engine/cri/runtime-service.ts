/**
 * The CRI's RuntimeService on the engine: Version, Status (runtime and network conditions),
 * RuntimeConfig (the cgroup driver), UpdateRuntimeConfig (the pod CIDR pier's network has), and
 * the sandbox and container methods of `sandbox.ts` and `containers.ts`. Methods not listed
 * here answer grpc-js's `UNIMPLEMENTED` naming the method.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PIER_VERSION } from "../../common/version.js";
import type { Engine } from "../engine.js";
import { DEFAULT_CNI_PATH } from "../network/cni.js";
import { DEFAULT_CNI_CONF_DIR, loadCniConfig } from "../network/cni-config-dir.js";
import { CriContainers } from "./containers.js";
import { CriError } from "./error.js";
import { bool, msg, str } from "./fields.js";
import type { Message, UnaryHandler } from "./grpc.js";
import { metricDescriptors, podSandboxMetrics } from "./metrics.js";
import { type CgroupDriver, Sandboxes } from "./sandbox.js";
import { CriStats } from "./stats.js";
import { streamingCalls } from "./streaming/requests.js";
import type { StreamingServer } from "./streaming/server.js";

/** The CRI version pier speaks (`runtime.v1`, as of Kubernetes 1.32). */
export const CRI_API_VERSION = "v1";

/** Options of {@link runtimeService}. */
export interface RuntimeServiceOptions {
  /** Where the CNI plugins are (NetworkReady needs the bridge plugin there). */
  cniPath?: string;
  /** How pods' `cgroup_parent` is named (reported by RuntimeConfig; default cgroupfs). */
  cgroupDriver?: CgroupDriver;
  /** The streaming server whose URLs Exec, Attach and PortForward answer with. */
  streaming?: StreamingServer;
  /** The CNI config directory of the pod network (default /etc/cni/net.d; "": pier's bridge). */
  cniConfDir?: string;
}

/** The CRI's RuntimeService handlers on `engine`. */
export function runtimeService(
  engine: Engine,
  opts: RuntimeServiceOptions = {},
): Record<string, UnaryHandler> {
  const cgroupDriver = opts.cgroupDriver ?? "cgroupfs";
  const cniConfDir = opts.cniConfDir ?? DEFAULT_CNI_CONF_DIR;
  const sandboxes = new Sandboxes(engine, cgroupDriver, cniConfDir);
  // The kubelet's pod CIDR (UpdateRuntimeConfig): the CNI network's own config decides the
  // addresses (containerd without a conf_template does the same); reported in Status.
  let givenPodCidr = "";
  const containers = new CriContainers(engine, sandboxes);
  const stats = new CriStats(engine, sandboxes, containers);
  const cniPath = opts.cniPath ?? DEFAULT_CNI_PATH;
  const podCidr = (): string => (cniConfDir ? givenPodCidr : engine.networks.find("bridge").subnet);
  const streaming = opts.streaming ? streamingCalls(opts.streaming, containers, sandboxes) : undefined;
  /** Why the pod network is not ready, or undefined when it is. */
  const networkProblem = (): string | undefined => {
    const plugins = (types: string[]) => types.filter((p) => !existsSync(join(cniPath, p)));
    if (!cniConfDir) {
      const missing = plugins(["bridge", "host-local", "loopback"]);
      return missing.length ? `CNI plugins missing in ${cniPath}: ${missing.join(", ")}` : undefined;
    }
    const choice = loadCniConfig(cniConfDir);
    if ("missing" in choice) return `cni config load failed: ${choice.missing}`;
    const missing = plugins([...new Set(choice.conflist.plugins.map((p) => p.type))]);
    return missing.length
      ? `CNI plugins of ${choice.file} missing in ${cniPath}: ${missing.join(", ")}`
      : undefined;
  };

  return {
    async Version() {
      return {
        version: "0.1.0",
        runtime_name: "pier",
        runtime_version: PIER_VERSION,
        runtime_api_version: CRI_API_VERSION,
      };
    },

    async Status(req) {
      const problem = networkProblem();
      const out: Message = {
        status: {
          conditions: [
            { type: "RuntimeReady", status: true },
            problem
              ? { type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: problem }
              : { type: "NetworkReady", status: true },
          ],
        },
        runtime_handlers: [
          { name: "", features: { recursive_read_only_mounts: false, user_namespaces: false } },
        ],
        features: { supplemental_groups_policy: false },
      };
      if (bool(req, "verbose"))
        out.info = {
          config: JSON.stringify({
            cniPath,
            cniConfDir,
            podCidr: podCidr(),
            runtime: "pier-runtime",
            cgroupDriver,
          }),
        };
      return out;
    },

    async RuntimeConfig() {
      // The kubelet (KubeletCgroupDriverFromCRI) names pod cgroups after this. pier-runtime
      // drives cgroupfs either way; with systemd, slices are placed where systemd puts them.
      return { linux: { cgroup_driver: cgroupDriver === "systemd" ? "SYSTEMD" : "CGROUPFS" } };
    },

    async UpdateRuntimeConfig(req) {
      const cidr = str(msg(msg(req, "runtime_config"), "network_config"), "pod_cidr");
      if (cniConfDir) {
        givenPodCidr = cidr;
        return {};
      }
      // Pods are on pier's bridge network: a CIDR other than its subnet cannot be applied.
      if (cidr && cidr !== podCidr())
        throw new CriError(
          "INVALID_ARGUMENT",
          `runtime_config.network_config.pod_cidr ${cidr}: pods are on pier's bridge network (${podCidr()}); start pierd with --default-subnet ${cidr}`,
        );
      return {};
    },

    RunPodSandbox: (req, signal) => sandboxes.run(req, signal),
    StopPodSandbox: (req) => sandboxes.stop(req),
    RemovePodSandbox: (req) => sandboxes.remove(req),
    PodSandboxStatus: async (req) => sandboxes.podSandboxStatus(req),
    ListPodSandbox: async (req) => sandboxes.listPodSandbox(req),
    CreateContainer: (req, signal) => containers.create(req, signal),
    StartContainer: (req) => containers.start(req),
    StopContainer: (req) => containers.stop(req),
    RemoveContainer: (req) => containers.remove(req),
    ListContainers: (req) => containers.list(req),
    ContainerStatus: (req) => containers.status(req),
    UpdateContainerResources: (req) => containers.updateResources(req),
    ReopenContainerLog: (req) => containers.reopenLog(req),
    ExecSync: (req, signal) => containers.execSync(req, signal),
    CheckpointContainer: (req, signal) => containers.checkpoint(req, signal),
    ...(streaming
      ? { Exec: streaming.Exec, Attach: streaming.Attach, PortForward: streaming.PortForward }
      : {}),
    ContainerStats: (req) => stats.one(req),
    ListContainerStats: (req) => stats.list(req),
    PodSandboxStats: (req) => stats.pod(req),
    ListPodSandboxStats: (req) => stats.pods(req),
    ListMetricDescriptors: async () => metricDescriptors(),
    ListPodSandboxMetrics: () => podSandboxMetrics(engine, sandboxes),
  };
}
