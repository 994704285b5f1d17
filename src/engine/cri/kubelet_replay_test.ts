/**
 * The requests a kubelet 1.32 sends for a typical BestEffort pod (one container, a service
 * account volume, default security), replayed against a real pierd, with every field the
 * kubelet fills by default (kuberuntime_sandbox.go, kuberuntime_sandbox_linux.go,
 * kuberuntime_container_linux.go, security_context.go: cgroup_parent, RuntimeDefault seccomp
 * for the sandbox and Unconfined for the container, namespace options with the node's user
 * namespace, the default masked/read-only paths, CPU shares 2, the CFS period, OOM score 1000,
 * zero huge page limits for each page size, the swap limit equal to the memory limit on a
 * cgroup v1 host or `memory.swap.max=0` on v2). The pod runs; its limits are checked from inside.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readHugePageSizes } from "../../runtime/cgroups/hugepages.js";
import {
  type Client,
  call,
  KUBELET_MASKED_PATHS as MASKED,
  type Msg,
  KUBELET_READONLY_PATHS as READONLY,
  until,
} from "../../testing/cri-client.js";
import { useCriDaemon } from "../../testing/cri-daemon.js";
import type { BusyboxRegistry } from "../../testing/engine.js";
import { disposeTree, uniqueParent } from "../../testing/runtime-cgroups.js";
import { cgroupHost } from "./resources.js";

describe("a kubelet 1.32's requests for a typical pod", () => {
  let reg: BusyboxRegistry;
  let rt: Client;
  let img: Client;
  let dir: string;
  // The kubelet's cgroupfs-driver pod cgroup (it makes /kubepods/besteffort/pod<uid> itself).
  const kubepods = uniqueParent("kubepods");
  const uid = "6f0e5b8c-1d2a-4c3b-9e8f-0a1b2c3d4e5f";

  useCriDaemon({
    tempPrefix: "pier-kubelet-",
    ready: (f) => {
      ({ reg, rt, img, dir } = f);
    },
  });
  after(() => disposeTree(kubepods).catch(() => {}));

  it("runs the pod with every default field the kubelet fills", async () => {
    // The kubelet's start-up calls.
    assert.equal((await call(rt, "Version", { version: "0.1.0" })).runtime_api_version, "v1");
    const driver = (await call(rt, "RuntimeConfig")).linux.cgroup_driver;
    assert.equal(driver, "CGROUPFS");
    await call(rt, "Status", {});
    await call(img, "ImageFsInfo", {});
    // The evented PLEG's stream of container events.
    const events: Msg[] = [];
    const stream = (
      rt as unknown as { GetContainerEvents(req: Msg): NodeJS.EventEmitter & { cancel(): void } }
    ).GetContainerEvents({});
    stream.on("data", (e: Msg) => events.push(e));
    stream.on("error", () => {});

    const podCgroup = `${kubepods}/besteffort/pod${uid}`;
    const logDir = join(dir, "pods", `default_web_${uid}`);
    const podLabels = {
      app: "web",
      "io.kubernetes.pod.name": "web",
      "io.kubernetes.pod.namespace": "default",
      "io.kubernetes.pod.uid": uid,
    };
    const sandboxConfig: Msg = {
      metadata: { name: "web", uid, namespace: "default", attempt: 0 },
      hostname: "web",
      log_directory: logDir,
      dns_config: {
        servers: ["10.96.0.10"],
        searches: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
        options: ["ndots:5"],
      },
      port_mappings: [{ protocol: "TCP", container_port: 8080 }],
      labels: podLabels,
      annotations: {
        "kubernetes.io/config.seen": "2026-12-07T18:00:00Z",
        "kubernetes.io/config.source": "api",
      },
      linux: {
        cgroup_parent: podCgroup,
        security_context: {
          namespace_options: {
            network: "POD",
            pid: "CONTAINER",
            ipc: "POD",
            userns_options: { mode: "NODE" },
          },
          privileged: false,
          seccomp: { profile_type: "RuntimeDefault" },
        },
        sysctls: {},
        overhead: {},
        resources: { cpu_period: 100000, cpu_shares: 2 },
      },
    };
    const { pod_sandbox_id: pod } = await call(rt, "RunPodSandbox", {
      config: sandboxConfig,
      runtime_handler: "",
    });
    const ps = await call(rt, "PodSandboxStatus", { pod_sandbox_id: pod, verbose: true });
    assert.equal(ps.status.state, "SANDBOX_READY");
    assert.match(ps.status.network.ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(JSON.parse(ps.info.info).cgroupParent, podCgroup);

    // The image, as the kubelet pulls and inspects it.
    const pulled = await call(img, "PullImage", {
      image: { image: reg.image },
      sandbox_config: sandboxConfig,
    });
    const status = await call(img, "ImageStatus", { image: { image: reg.image } });
    assert.equal(status.image.id, pulled.image_ref);

    // The container's files the kubelet mounts.
    const podDir = join(dir, "kubelet", "pods", uid);
    mkdirSync(join(podDir, "containers", "web"), { recursive: true });
    mkdirSync(join(podDir, "volumes", "kubernetes.io~projected", "kube-api-access-x"), { recursive: true });
    writeFileSync(join(podDir, "etc-hosts"), "127.0.0.1\tlocalhost\n10.88.0.5\tweb\n");
    writeFileSync(join(podDir, "containers", "web", "0f1e2d3c"), "");
    writeFileSync(
      join(podDir, "volumes", "kubernetes.io~projected", "kube-api-access-x", "token"),
      "t0ken\n",
    );

    const v2 = cgroupHost().v2;
    const resources: Msg = {
      cpu_period: 100000,
      cpu_shares: 2,
      oom_score_adj: 1000,
      hugepage_limits: (await readHugePageSizes()).map((page_size) => ({ page_size, limit: 0 })),
      // kubelet's ConfigureNoSwap: memory.swap.max=0 on v2; the swap limit = the memory limit (0) on v1.
      ...(v2 ? { unified: { "memory.swap.max": "0" } } : { memory_swap_limit_in_bytes: 0 }),
    };
    const { container_id: web } = await call(rt, "CreateContainer", {
      pod_sandbox_id: pod,
      config: {
        metadata: { name: "web", attempt: 0 },
        image: { image: pulled.image_ref, user_specified_image: reg.image },
        command: ["sh", "-c"],
        args: ["mkdir -p /www && echo pod-ok > /www/index.html && exec httpd -f -p 8080 -h /www"],
        envs: [
          { key: "KUBERNETES_SERVICE_HOST", value: "10.96.0.1" },
          { key: "KUBERNETES_SERVICE_PORT", value: "443" },
        ],
        mounts: [
          {
            container_path: "/var/run/secrets/kubernetes.io/serviceaccount",
            host_path: join(podDir, "volumes", "kubernetes.io~projected", "kube-api-access-x"),
            readonly: true,
          },
          { container_path: "/etc/hosts", host_path: join(podDir, "etc-hosts") },
          {
            container_path: "/dev/termination-log",
            host_path: join(podDir, "containers", "web", "0f1e2d3c"),
          },
        ],
        labels: { ...podLabels, "io.kubernetes.container.name": "web" },
        annotations: {
          "io.kubernetes.container.hash": "7f1e4b2a",
          "io.kubernetes.container.restartCount": "0",
          "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
          "io.kubernetes.container.terminationMessagePolicy": "File",
          "io.kubernetes.pod.terminationGracePeriod": "30",
        },
        log_path: "web/0.log",
        linux: {
          resources,
          security_context: {
            namespace_options: {
              network: "POD",
              pid: "CONTAINER",
              ipc: "POD",
              userns_options: { mode: "NODE" },
            },
            masked_paths: MASKED,
            readonly_paths: READONLY,
            seccomp: { profile_type: "Unconfined" },
          },
        },
      },
      sandbox_config: sandboxConfig,
    });
    await call(rt, "StartContainer", { container_id: web });
    const cs = await call(rt, "ContainerStatus", { container_id: web });
    assert.equal(cs.status.state, "CONTAINER_RUNNING");
    const listed = await call(rt, "ListContainers", {
      filter: { label_selector: { "io.kubernetes.pod.uid": uid } },
    });
    assert.deepEqual(
      listed.containers.map((c: Msg) => c.id),
      [web],
    );

    // From inside: the container serves, with the kubelet's settings applied.
    const sh = async (script: string) =>
      (
        await call(rt, "ExecSync", { container_id: web, cmd: ["sh", "-c", script], timeout: 20 })
      ).stdout.toString();
    const page = await until("the pod to serve", async () => {
      const out = await sh("wget -qO- http://127.0.0.1:8080/ 2>/dev/null");
      return out ? out : undefined;
    });
    assert.equal(page, "pod-ok\n");
    const st = await sh("cat /proc/1/status");
    assert.match(st, /\nSeccomp:\t0\n/);
    assert.match(st, /\nCapEff:\t00000000a80425fb\n/);
    assert.equal(await sh("cat /proc/1/oom_score_adj"), "1000\n");
    assert.equal(await sh("cat /proc/1/cmdline"), "httpd\0-f\0-p\x008080\0-h\0/www\0");
    assert.equal(await sh("cat /var/run/secrets/kubernetes.io/serviceaccount/token"), "t0ken\n");
    assert.equal(await sh("stat -c '%t:%T' /proc/keys"), "1:3\n");
    assert.match(await sh("cat /proc/self/cgroup"), new RegExp(`:${podCgroup}/${web}\\n`));
    if (!v2)
      assert.equal(readFileSync(join("/sys/fs/cgroup/cpu", podCgroup, web, "cpu.shares"), "utf8"), "2\n");
    assert.equal(readFileSync(join(logDir, "web", "0.log"), "utf8"), "", "httpd -f logs nothing");

    // Metrics from the cgroups (PodAndContainerStatsFromCRI).
    const descriptors = (await call(rt, "ListMetricDescriptors", {})).descriptors as Msg[];
    assert.deepEqual(descriptors.find((m) => m.name === "container_memory_working_set_bytes")?.label_keys, [
      "id",
      "name",
      "image",
    ]);
    const podMetrics = (await call(rt, "ListPodSandboxMetrics", {})).pod_metrics as Msg[];
    const mine = podMetrics.find((p) => p.pod_sandbox_id === pod);
    const webMetrics = mine?.container_metrics.find((c: Msg) => c.container_id === web)?.metrics as Msg[];
    const usage = webMetrics.find((m) => m.name === "container_memory_usage_bytes");
    assert.ok(Number(usage?.value.value) > 0, JSON.stringify(usage));
    assert.deepEqual(usage?.label_values, [web, "web", pulled.image_ref]);
    assert.equal(webMetrics.find((m) => m.name === "container_processes")?.value.value, "1");

    // The kubelet's teardown (its grace period, shortened: httpd as PID 1 ignores SIGTERM).
    await call(rt, "StopContainer", { container_id: web, timeout: 1 });
    assert.equal((await call(rt, "ContainerStatus", { container_id: web })).status.state, "CONTAINER_EXITED");
    await call(rt, "StopPodSandbox", { pod_sandbox_id: pod });
    await call(rt, "RemoveContainer", { container_id: web });
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: pod });
    assert.deepEqual((await call(rt, "ListPodSandbox", {})).items, []);

    // Each step of the sandbox and the container came as an event, in order, with the pod's status.
    const of = (id: string) => events.filter((e) => e.container_id === id).map((e) => e.container_event_type);
    const all = [
      "CONTAINER_CREATED_EVENT",
      "CONTAINER_STARTED_EVENT",
      "CONTAINER_STOPPED_EVENT",
      "CONTAINER_DELETED_EVENT",
    ];
    await until("the DELETED events", () =>
      of(web).length === 4 && of(pod).length === 4 ? true : undefined,
    );
    assert.deepEqual(of(web), all);
    assert.deepEqual(of(pod), all);
    const started = events.find(
      (e) => e.container_id === web && e.container_event_type === "CONTAINER_STARTED_EVENT",
    );
    assert.equal(started?.pod_sandbox_status.id, pod);
    assert.equal(started?.containers_statuses[0].state, "CONTAINER_RUNNING");
    assert.ok(BigInt(started?.created_at) > 0n);
    stream.cancel();
  });
});
