/**
 * The CRI against a real pierd, driven by grpc-js's own client generated at run time from
 * `api.proto` (as crictl or the kubelet would call it): a pod with busybox containers checked
 * from inside (shared network, IPC and UTS namespaces, the pod's hostname, a hostPort), CRI logs
 * and their reopening, ExecSync output, exit codes and timeouts, failing containers' codes and
 * reasons, refusals of fields pier does not apply, the pod seen by the Docker API, a pierd
 * restart, and idempotent stop/remove.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readlinkSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { type Client, call, type Msg, rejectsWith, until } from "../../testing/cri-client.js";
import { useCriDaemon } from "../../testing/cri-daemon.js";
import {
  type BusyboxRegistry,
  docker,
  findDocker,
  pier,
  startTestDaemon,
  type TestDaemon,
} from "../../testing/engine.js";
import { freePort } from "../../testing/free-port.js";

describe("CRI (runtime.v1 over gRPC)", () => {
  let reg: BusyboxRegistry;
  let d: TestDaemon;
  let rt: Client;
  let img: Client;
  let logs: string;
  let image: string;
  const fx = useCriDaemon({
    tempPrefix: "pier-cri-logs-",
    ready: (f) => {
      ({ reg, d, rt, img, dir: logs } = f);
      image = reg.image;
    },
  });
  const podLabels = { app: "web", "io.kubernetes.pod.name": "web" };
  const podConfig = (logDir: string, port: number): Msg => ({
    metadata: { name: "web", uid: "uid-1234", namespace: "default", attempt: 0 },
    hostname: "webpod",
    log_directory: logDir,
    port_mappings: [
      { protocol: "TCP", container_port: 8080, host_port: port, host_ip: "127.0.0.1" },
      { protocol: "TCP", container_port: 9090 },
    ],
    labels: podLabels,
    annotations: { "note.example/a": "kept as given" },
  });

  it("answers Version, Status and RuntimeConfig; UNIMPLEMENTED names the method", async () => {
    const v = await call(rt, "Version", { version: "v1" });
    assert.equal(v.runtime_name, "pier");
    assert.equal(v.runtime_api_version, "v1");
    const s = await call(rt, "Status", { verbose: true });
    const ready = s.status.conditions.find((c: Msg) => c.type === "RuntimeReady");
    assert.equal(ready.status, true);
    // The CNI config directory's first conflist, with Debian's plugins: ready.
    assert.equal(s.status.conditions.find((c: Msg) => c.type === "NetworkReady").status, true);
    assert.match(s.info.config, /podCidr/);
    const rc = await call(rt, "RuntimeConfig");
    assert.equal(rc.linux.cgroup_driver, "CGROUPFS");
    // The pod CIDR is the CNI network's to use (as containerd without a conf_template): recorded.
    await call(rt, "UpdateRuntimeConfig", {
      runtime_config: { network_config: { pod_cidr: "10.244.7.0/24" } },
    });
    assert.equal(
      JSON.parse((await call(rt, "Status", { verbose: true })).info.config).podCidr,
      "10.244.7.0/24",
    );
  });

  it("pulls, lists, inspects and refuses what it cannot apply in images", async () => {
    const missing = await call(img, "ImageStatus", { image: { image: image } });
    assert.equal(missing.image, null, "an absent image is no error: the response has no image");
    const pulled = await call(img, "PullImage", { image: { image } });
    assert.match(pulled.image_ref, /^sha256:[0-9a-f]{64}$/);
    const st = await call(img, "ImageStatus", { image: { image }, verbose: true });
    assert.equal(st.image.id, pulled.image_ref);
    assert.ok(st.image.repo_tags.includes(image), JSON.stringify(st.image.repo_tags));
    assert.match(st.image.repo_digests[0], /@sha256:/);
    assert.ok(Number(st.image.size) > 100000);
    assert.match(st.info.info, /"Cmd"/);
    const list = await call(img, "ListImages");
    assert.ok(list.images.some((i: Msg) => i.id === pulled.image_ref));
    const byId = await call(img, "ImageStatus", { image: { image: pulled.image_ref } });
    assert.equal(byId.image.id, pulled.image_ref);
    await rejectsWith(
      call(img, "PullImage", { image: { image }, auth: { registry_token: "abc" } }),
      grpc.status.INVALID_ARGUMENT,
      /auth\.registry_token/,
    );
    const fs = await call(img, "ImageFsInfo");
    assert.ok(Number(fs.image_filesystems[0].used_bytes.value) > 100000);
    // Removing what is not there is no error.
    await call(img, "RemoveImage", { image: { image: "127.0.0.1:1/nothing:here" } });
  });

  it("runs a pod whose containers share its namespaces, hostname, hostPort and CRI logs", async () => {
    const port = await freePort();
    const logDir = join(logs, "default_web_uid-1234");
    const config = podConfig(logDir, port);
    await rejectsWith(
      call(rt, "RunPodSandbox", {
        config: { ...config, linux: { security_context: { selinux_options: { type: "spc_t" } } } },
      }),
      grpc.status.INVALID_ARGUMENT,
      /config\.linux\.security_context\.selinux_options\.type/,
    );
    const { pod_sandbox_id: pod } = await call(rt, "RunPodSandbox", { config });
    assert.match(pod, /^[0-9a-f]{64}$/);
    const ps = await call(rt, "PodSandboxStatus", { pod_sandbox_id: pod, verbose: true });
    assert.equal(ps.status.state, "SANDBOX_READY");
    assert.match(ps.status.network.ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.deepEqual(ps.status.annotations, config.annotations);
    assert.equal(ps.status.metadata.name, "web");
    assert.ok(JSON.parse(ps.info.info).pid > 0);

    const container = (name: string, args: string[], extra: Msg = {}): Msg => ({
      pod_sandbox_id: pod,
      config: {
        metadata: { name, attempt: 0 },
        image: { image },
        command: ["sh", "-c"],
        args,
        envs: [{ key: "WHO", value: name }],
        log_path: `${name}/0.log`,
        labels: { "io.kubernetes.container.name": name },
        ...extra,
      },
      sandbox_config: config,
    });
    await rejectsWith(
      call(
        rt,
        "CreateContainer",
        container("bad", ["true"], { linux: { security_context: { privileged: true } } }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /config\.linux\.security_context\.privileged/,
    );
    await rejectsWith(
      call(
        rt,
        "CreateContainer",
        container("bad", ["true"], {
          mounts: [{ container_path: "/x", host_path: "/tmp", selinux_relabel: true }],
        }),
      ),
      grpc.status.INVALID_ARGUMENT,
      /mount\.selinux_relabel/,
    );
    const web = (
      await call(
        rt,
        "CreateContainer",
        container("web", [
          "echo hello $WHO; echo oops >&2; mkdir -p /www; echo pod-ok > /www/index.html; exec httpd -f -p 8080 -h /www",
        ]),
      )
    ).container_id;
    const side = (
      await call(
        rt,
        "CreateContainer",
        container("side", ["i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"]),
      )
    ).container_id;
    const created = await call(rt, "ContainerStatus", { container_id: web });
    assert.equal(created.status.state, "CONTAINER_CREATED");
    await call(rt, "StartContainer", { container_id: web });
    await call(rt, "StartContainer", { container_id: side });
    const st = await call(rt, "ContainerStatus", { container_id: side, verbose: true });
    assert.equal(st.status.state, "CONTAINER_RUNNING");
    assert.equal(st.status.log_path, join(logDir, "side/0.log"));
    assert.match(st.status.image_ref, /^sha256:/);

    const exec = async (id: string, cmd: string[], timeout = 0) =>
      call(rt, "ExecSync", { container_id: id, cmd, timeout });
    // One network, IPC and UTS namespace for the pod; its hostname; not the host's.
    const ns = async (id: string) =>
      (
        await exec(id, ["sh", "-c", "for n in net ipc uts; do readlink /proc/self/ns/$n; done"])
      ).stdout.toString();
    const [a, b] = [await ns(web), await ns(side)];
    assert.equal(a, b);
    assert.equal(a.split("\n").length, 4, a);
    const hostNet = readlinkSync("/proc/self/ns/net");
    assert.ok(!a.includes(hostNet), "the pod has its own network namespace");
    assert.equal((await exec(side, ["hostname"])).stdout.toString(), "webpod\n");
    // The pod shares one PID namespace (the CRI's default POD mode): pier's pause is its init.
    assert.equal((await exec(side, ["cat", "/proc/1/cmdline"])).stdout.toString(), "/pause\0");
    const fetched = await until("the web container to serve on the pod's localhost", async () => {
      const r = await exec(side, ["wget", "-qO-", "http://127.0.0.1:8080/"]);
      return r.exit_code === 0 ? r.stdout.toString() : undefined;
    });
    assert.equal(fetched, "pod-ok\n");
    // The hostPort reaches the pod from the host.
    const viaHost = await until("the hostPort to answer", async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        return res.ok ? await res.text() : undefined;
      } catch {
        return undefined;
      }
    });
    assert.equal(viaHost, "pod-ok\n");

    // ExecSync: stdout, stderr, exit codes, timeouts.
    const r = await exec(side, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.equal(r.stdout.toString(), "out\n");
    assert.equal(r.stderr.toString(), "err\n");
    assert.equal(r.exit_code, 3);
    await rejectsWith(exec(side, ["sleep", "30"], 1), grpc.status.DEADLINE_EXCEEDED, /timed out after 1s/);

    // Fields pier cannot apply are refused by name, never ignored.
    await rejectsWith(
      call(rt, "UpdateContainerResources", { container_id: side, windows: { memory_limit_in_bytes: 1 } }),
      grpc.status.INVALID_ARGUMENT,
      /request\.windows\.memory_limit_in_bytes/,
    );

    // Statistics from the cgroups: CPU time (and a rate from the second reading), memory, the
    // pod's processes and its network counters (the hostPort traffic above went through eth0).
    const cs1 = (await call(rt, "ContainerStats", { container_id: side })).stats;
    assert.equal(cs1.attributes.metadata.name, "side");
    assert.ok(Number(cs1.cpu.usage_core_nano_seconds.value) > 0, JSON.stringify(cs1.cpu));
    assert.ok(Number(cs1.memory.working_set_bytes.value) > 0, JSON.stringify(cs1.memory));
    const cs2 = (await call(rt, "ContainerStats", { container_id: side })).stats;
    assert.ok(cs2.cpu.usage_nano_cores, "a rate once there are two readings");
    const listed = await call(rt, "ListContainerStats", { filter: { pod_sandbox_id: pod } });
    assert.deepEqual(listed.stats.map((x: Msg) => x.attributes.metadata.name).sort(), ["side", "web"]);
    const pst = (await call(rt, "PodSandboxStats", { pod_sandbox_id: pod })).stats;
    assert.equal(pst.attributes.metadata.name, "web");
    assert.equal(pst.linux.containers.length, 2);
    assert.ok(Number(pst.linux.process.process_count.value) >= 3, JSON.stringify(pst.linux.process));
    assert.equal(pst.linux.network.default_interface.name, "eth0");
    assert.ok(Number(pst.linux.network.default_interface.rx_bytes.value) > 0);
    assert.equal((await call(rt, "ListPodSandboxStats")).stats.length, 1);

    // The CRI log: "TIME STREAM F LINE", both streams.
    const webLog = join(logDir, "web/0.log");
    const text = await until("the CRI log of web", () => {
      const t = existsSync(webLog) ? readFileSync(webLog, "utf8") : "";
      return t.includes("oops") && t.includes("hello") ? t : undefined;
    });
    const lines = text.trimEnd().split("\n");
    assert.ok(
      lines.some((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z stdout F hello web$/.test(l)),
      text,
    );
    assert.ok(
      lines.some((l) => /^\S+Z stderr F oops$/.test(l)),
      text,
    );
    // ReopenContainerLog: after the kubelet renames the file, new lines go to a new one.
    const sideLog = join(logDir, "side/0.log");
    await until("ticks in side's log", () =>
      existsSync(sideLog) && readFileSync(sideLog, "utf8").includes("tick") ? true : undefined,
    );
    renameSync(sideLog, `${sideLog}.1`);
    await call(rt, "ReopenContainerLog", { container_id: side });
    await until("a reopened log with new ticks", () =>
      existsSync(sideLog) && /stdout F tick \d+/.test(readFileSync(sideLog, "utf8")) ? true : undefined,
    );

    // The security context's user, seen from inside.
    const user = (
      await call(
        rt,
        "CreateContainer",
        container("user", ["id -u; id -g; sleep 3600"], {
          linux: { security_context: { run_as_user: { value: 1000 }, run_as_group: { value: 1001 } } },
        }),
      )
    ).container_id;
    await call(rt, "StartContainer", { container_id: user });
    assert.equal((await exec(user, ["id", "-u"])).stdout.toString(), "1000\n");
    assert.equal((await exec(user, ["id", "-g"])).stdout.toString(), "1001\n");
    await call(rt, "RemoveContainer", { container_id: user });

    // A failing container: its exit code and reason.
    const fail = (await call(rt, "CreateContainer", container("fail", ["exit 7"]))).container_id;
    await call(rt, "StartContainer", { container_id: fail });
    const failed = await until("the failing container to exit", async () => {
      const s = (await call(rt, "ContainerStatus", { container_id: fail })).status;
      return s.state === "CONTAINER_EXITED" ? s : undefined;
    });
    assert.equal(failed.exit_code, 7);
    assert.equal(failed.reason, "Error");
    assert.ok(BigInt(failed.finished_at) >= BigInt(failed.started_at));

    // Filters.
    const pods = await call(rt, "ListPodSandbox", { filter: { label_selector: { app: "web" } } });
    assert.deepEqual(
      pods.items.map((p: Msg) => p.id),
      [pod],
    );
    const none = await call(rt, "ListPodSandbox", { filter: { label_selector: { app: "other" } } });
    assert.equal(none.items.length, 0);
    const running = await call(rt, "ListContainers", {
      filter: { pod_sandbox_id: pod, state: { state: "CONTAINER_RUNNING" } },
    });
    assert.deepEqual(running.containers.map((c: Msg) => c.metadata.name).sort(), ["side", "web"]);
    const exited = await call(rt, "ListContainers", { filter: { state: { state: "CONTAINER_EXITED" } } });
    assert.deepEqual(
      exited.containers.map((c: Msg) => c.id),
      [fail],
    );

    // The same containers through the Docker API, labelled as containerd labels them.
    if (findDocker()) {
      const dps = await docker(d, [
        "ps",
        "-a",
        "--filter",
        "label=io.kubernetes.pod.name=web",
        "--format",
        '{{.Names}} {{.Label "io.cri-containerd.kind"}}',
      ]);
      assert.equal(dps.status, 0, dps.stderr);
      const rows = dps.stdout.trim().split("\n").sort();
      assert.deepEqual(rows, [
        "k8s_POD_web_default_uid-1234_0 sandbox",
        "k8s_fail_web_default_uid-1234_0 container",
        "k8s_side_web_default_uid-1234_0 container",
        "k8s_web_web_default_uid-1234_0 container",
      ]);
    }

    // pier's own CLI lists them as well.
    const pps = await pier(d, ["ps", "--all"]);
    assert.equal(pps.status, 0, pps.stderr);
    for (const n of [
      "k8s_POD_web_default_uid-1234_0",
      "k8s_web_web_default_uid-1234_0",
      "k8s_fail_web_default_uid-1234_0",
    ])
      assert.ok(pps.stdout.includes(n), `pier ps --all shows ${n}: ${pps.stdout}`);

    // pierd restarts: the pod and its containers are as they were, the exit code kept.
    await d.crash();
    await d.restart();
    ({ rt, img } = fx.reconnect());
    const after = await call(rt, "ContainerStatus", { container_id: fail });
    assert.equal(after.status.exit_code, 7);
    assert.equal((await call(rt, "PodSandboxStatus", { pod_sandbox_id: pod })).status.state, "SANDBOX_READY");
    assert.equal((await exec(web, ["sh", "-c", "echo $WHO"])).stdout.toString(), "web\n");

    // Stop: every container and the sandbox; twice is fine. Remove: all gone; twice is fine.
    await call(rt, "StopContainer", { container_id: web, timeout: 1 });
    assert.equal((await call(rt, "ContainerStatus", { container_id: web })).status.state, "CONTAINER_EXITED");
    await call(rt, "StopPodSandbox", { pod_sandbox_id: pod });
    await call(rt, "StopPodSandbox", { pod_sandbox_id: pod });
    assert.equal(
      (await call(rt, "PodSandboxStatus", { pod_sandbox_id: pod })).status.state,
      "SANDBOX_NOTREADY",
    );
    assert.equal(
      (await call(rt, "ContainerStatus", { container_id: side })).status.state,
      "CONTAINER_EXITED",
    );
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: pod });
    await call(rt, "RemovePodSandbox", { pod_sandbox_id: pod });
    await call(rt, "RemoveContainer", { container_id: web });
    await call(rt, "StopContainer", { container_id: web });
    assert.equal((await call(rt, "ListPodSandbox")).items.length, 0);
    assert.equal((await call(rt, "ListContainers")).containers.length, 0);
    await rejectsWith(
      call(rt, "PodSandboxStatus", { pod_sandbox_id: pod }),
      grpc.status.NOT_FOUND,
      /not found|No such/,
    );
  });

  it('--cri-socket "" serves no CRI (the other two sockets stay)', async () => {
    const off = await startTestDaemon(["--cri-socket", ""]);
    try {
      assert.ok(existsSync(off.socket) && existsSync(off.dockerSocket));
      assert.ok(!existsSync(join(off.execRoot, "cri.sock")));
      assert.doesNotMatch(off.stderr(), /criSocket/);
    } finally {
      await off.stop();
    }
    assert.match(d.stderr(), /"criSocket":"[^"]+cri\.sock"/);
  });

  it("bounds messages: a request over 16 MiB is refused by the transport", async () => {
    const big = "x".repeat(17 * 1024 * 1024);
    await rejectsWith(
      call(rt, "ListPodSandbox", { filter: { label_selector: { big } } }),
      grpc.status.RESOURCE_EXHAUSTED,
      /larger than max|exceed/i,
    );
  });
});
