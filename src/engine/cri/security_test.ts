/**
 * CRI security contexts and resources against a real pierd over its CRI socket, each field
 * checked from inside the container (its /proc, its cgroup files, what it may do): user, group
 * and supplemental groups, capabilities add/drop with ALL, privileged, read-only root,
 * no_new_privs, seccomp RuntimeDefault / Unconfined / Localhost / the legacy path, masked and
 * read-only paths, PID namespace modes (POD, CONTAINER, TARGET), a pod sysctl, CPU/memory/OOM
 * limits under the pod's cgroup_parent, UpdateContainerResources, and each refusal by name.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { makeTempDir, removeTempDir } from "../../testing/busybox.js";
import {
  type Client,
  call,
  clients,
  KUBELET_MASKED_PATHS as MASKED,
  type Msg,
  KUBELET_READONLY_PATHS as READONLY,
  rejectsWith,
  until,
} from "../../testing/cri-client.js";
import { useCriDaemon } from "../../testing/cri-daemon.js";
import { type BusyboxRegistry, startTestDaemon } from "../../testing/engine.js";
import { disposeTree, uniqueParent } from "../../testing/runtime-cgroups.js";
import { cgroupHost } from "./resources.js";

/** The status line `key` of /proc/self/status text. */
function statusField(text: string, key: string): string {
  const line = text.split("\n").find((l) => l.startsWith(`${key}:`));
  return line?.slice(key.length + 1).trim() ?? "";
}

describe("CRI security contexts and resources", () => {
  let reg: BusyboxRegistry;
  let rt: Client;
  let dir: string;
  const parent = uniqueParent("cri");
  const podCgroup = `${parent}/podu-sec`;
  let pod: string;
  let sandboxConfig: Msg;

  const exec = (id: string, cmd: string[]) => call(rt, "ExecSync", { container_id: id, cmd, timeout: 20 });
  const sh = async (id: string, script: string) => {
    const r = await exec(id, ["sh", "-c", script]);
    return { out: r.stdout.toString() as string, err: r.stderr.toString() as string, code: r.exit_code };
  };
  const create = async (name: string, linux: Msg, args = ["sleep 1000"]) =>
    (
      await call(rt, "CreateContainer", {
        pod_sandbox_id: pod,
        config: {
          metadata: { name, attempt: 0 },
          image: { image: reg.image },
          command: ["sh", "-c"],
          args,
          linux,
        },
        sandbox_config: sandboxConfig,
      })
    ).container_id as string;
  const run = async (name: string, linux: Msg, args?: string[]) => {
    const id = await create(name, linux, args);
    await call(rt, "StartContainer", { container_id: id });
    return id;
  };

  useCriDaemon({
    tempPrefix: "pier-cri-sec-",
    pull: true,
    ready: (f) => {
      ({ reg, rt, dir } = f);
    },
    setup: async () => {
      sandboxConfig = {
        metadata: { name: "sec", uid: "u-sec", namespace: "default", attempt: 0 },
        hostname: "secpod",
        linux: {
          cgroup_parent: podCgroup,
          sysctls: { "kernel.shm_rmid_forced": "1" },
          security_context: {
            privileged: true,
            seccomp: { profile_type: "RuntimeDefault" },
            namespace_options: { network: "POD", pid: "POD", ipc: "POD", userns_options: { mode: "NODE" } },
          },
          resources: { cpu_period: 100000, cpu_shares: 1024, memory_limit_in_bytes: 256 * 1024 * 1024 },
          overhead: {},
        },
      };
      pod = (await call(rt, "RunPodSandbox", { config: sandboxConfig })).pod_sandbox_id;
    },
    beforeStop: async () => {
      if (pod) await call(rt, "RemovePodSandbox", { pod_sandbox_id: pod }).catch(() => {});
    },
  });
  after(() => disposeTree(parent).catch(() => {}));

  it("runs as the user, group and supplemental groups asked for, with the capabilities added and dropped", async () => {
    const id = await run("user", {
      security_context: {
        run_as_user: { value: 1000 },
        run_as_group: { value: 2000 },
        supplemental_groups: [3000, 3001],
        capabilities: { add_capabilities: ["NET_ADMIN", "CAP_CHOWN"], drop_capabilities: ["ALL"] },
        no_new_privs: true,
        readonly_rootfs: true,
        masked_paths: MASKED,
        readonly_paths: READONLY,
        seccomp: { profile_type: "RuntimeDefault" },
      },
    });
    assert.equal((await sh(id, "id -u; id -g; id -G")).out, "1000\n2000\n2000 3000 3001\n");
    const status = (await sh(id, "cat /proc/self/status")).out;
    // A non-root user keeps the set as its bounding set only (as Docker and containerd): CHOWN
    // (bit 0) and NET_ADMIN (bit 12).
    assert.equal(statusField(status, "CapBnd"), "0000000000001001");
    assert.equal(statusField(status, "CapEff"), "0000000000000000");
    assert.equal(statusField(status, "NoNewPrivs"), "1");
    assert.equal(statusField(status, "Seccomp"), "2");
    const ro = await sh(id, "touch /made-here 2>&1; echo $?");
    assert.match(ro.out, /Read-only file system\n1\n$/);
  });

  it("gives root Docker's default set, masks the paths given, applies RuntimeDefault, Unconfined and Localhost seccomp", async () => {
    const root = await run("root", {
      security_context: {
        masked_paths: MASKED,
        readonly_paths: READONLY,
        seccomp: { profile_type: "RuntimeDefault" },
      },
    });
    const st = (await sh(root, "cat /proc/self/status")).out;
    assert.equal(statusField(st, "CapEff"), "00000000a80425fb");
    assert.equal(statusField(st, "Seccomp"), "2");
    assert.equal(statusField(st, "NoNewPrivs"), "0");
    // Masked: /dev/null (char 1:3) bound over it, as runc does.
    const keys = await sh(root, "stat -c '%t:%T' /proc/keys");
    assert.equal(keys.out, "1:3\n", JSON.stringify(keys));
    assert.match(
      (await sh(root, "(echo 1 > /proc/sys/vm/drop_caches) 2>&1; echo $?")).out,
      /Read-only file system\n1\n$/,
    );

    const unconfined = await run("unconfined", {
      security_context: { seccomp: { profile_type: "Unconfined" } },
    });
    assert.equal(statusField((await sh(unconfined, "cat /proc/self/status")).out, "Seccomp"), "0");
    // No seccomp field at all: the CRI's "" (unconfined), as containerd.
    const none = await run("noseccomp", { security_context: {} });
    assert.equal(statusField((await sh(none, "cat /proc/self/status")).out, "Seccomp"), "0");

    const profile = join(dir, "deny-mkdir.json");
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
      }),
    );
    const local = await run("localhost", {
      security_context: { seccomp: { profile_type: "Localhost", localhost_ref: profile } },
    });
    assert.equal(statusField((await sh(local, "cat /proc/self/status")).out, "Seccomp"), "2");
    assert.match((await sh(local, "mkdir /tmp/x 2>&1; echo $?")).out, /Operation not permitted\n1\n$/);
    assert.equal((await sh(local, "touch /tmp/y; echo $?")).out, "0\n");
    const legacy = await run("legacy", {
      security_context: { seccomp_profile_path: `localhost/${profile}` },
    });
    assert.match((await sh(legacy, "mkdir /tmp/x 2>&1; echo $?")).out, /Operation not permitted\n1\n$/);

    const priv = await run("priv", { security_context: { privileged: true, masked_paths: MASKED } });
    const ps = (await sh(priv, "cat /proc/self/status")).out;
    assert.equal(statusField(ps, "Seccomp"), "0");
    assert.match(statusField(ps, "CapEff"), /^000001ff/);
    assert.notEqual(
      (await sh(priv, "wc -c < /proc/kcore")).out.trim(),
      "0",
      "nothing masked when privileged",
    );
  });

  it("joins the pod's PID namespace, its own, or a target container's; sees the pod's sysctl", async () => {
    const podPid = await run("pidpod", { security_context: { namespace_options: { pid: "POD" } } });
    assert.equal((await sh(podPid, "cat /proc/1/cmdline")).out, "/pause\0");
    const own = await run("pidown", { security_context: { namespace_options: { pid: "CONTAINER" } } }, [
      "exec sleep 1001",
    ]);
    assert.equal((await sh(own, "cat /proc/1/cmdline")).out, "sleep\x001001\0");
    const target = await run("pidtarget", {
      security_context: { namespace_options: { pid: "TARGET", target_id: own } },
    });
    assert.equal((await sh(target, "cat /proc/1/cmdline")).out, "sleep\x001001\0");
    assert.equal((await sh(target, "hostname")).out, "secpod\n");
    assert.equal((await sh(target, "cat /proc/sys/kernel/shm_rmid_forced")).out, "1\n");
  });

  it("limits CPU, memory and the OOM score under the pod's cgroup, and updates them like docker update", async () => {
    const id = await run("limits", {
      // Its own PID namespace: its init is /proc/1 (whose OOM score the kernel reports).
      security_context: { namespace_options: { pid: "CONTAINER" } },
      resources: {
        cpu_period: 100000,
        cpu_quota: 50000,
        cpu_shares: 512,
        memory_limit_in_bytes: 64 * 1024 * 1024,
        memory_swap_limit_in_bytes: 64 * 1024 * 1024,
        oom_score_adj: 500,
        cpuset_cpus: "0",
        hugepage_limits: [
          { page_size: "2MB", limit: 0 },
          { page_size: "1GB", limit: 0 },
        ],
      },
    });
    assert.equal((await sh(id, "cat /proc/1/oom_score_adj")).out, "500\n");
    // ExecSync's own process gets the container's score too, as runc gives it (not pierd's 0).
    assert.equal((await sh(id, "cat /proc/self/oom_score_adj")).out, "500\n");
    assert.match((await sh(id, "grep Cpus_allowed_list /proc/self/status")).out, /\t0\n$/);
    // The container's cgroup is <cgroup_parent>/<id>, as containerd puts it.
    const cg = (await sh(id, "cat /proc/self/cgroup")).out;
    assert.match(cg, new RegExp(`memory:${podCgroup}/${id}\\n`), cg);
    const file = (ctl: string, name: string) =>
      readFileSync(join("/sys/fs/cgroup", ctl, podCgroup, id, name), "utf8").trim();
    if (cgroupHost().v2) {
      assert.equal(
        readFileSync(join("/sys/fs/cgroup", podCgroup, id, "cpu.max"), "utf8").trim(),
        "50000 100000",
      );
    } else {
      assert.equal(file("cpu", "cpu.cfs_quota_us"), "50000");
      assert.equal(file("cpu", "cpu.shares"), "512");
      assert.equal(file("memory", "memory.limit_in_bytes"), String(64 * 1024 * 1024));
      // Inside: the container's own memory cgroup says the same.
      assert.equal(
        (await sh(id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")).out.trim(),
        String(64 * 1024 * 1024),
      );
    }
    await call(rt, "UpdateContainerResources", {
      container_id: id,
      linux: {
        cpu_period: 100000,
        cpu_quota: 20000,
        cpu_shares: 256,
        memory_limit_in_bytes: 128 * 1024 * 1024,
        memory_swap_limit_in_bytes: 128 * 1024 * 1024,
        oom_score_adj: 500,
      },
    });
    if (!cgroupHost().v2) {
      assert.equal(file("cpu", "cpu.cfs_quota_us"), "20000");
      assert.equal(file("cpu", "cpu.shares"), "256");
      assert.equal(
        (await sh(id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")).out.trim(),
        String(128 * 1024 * 1024),
      );
    }
    const status = await call(rt, "ContainerStatus", { container_id: id, verbose: true });
    assert.equal(JSON.parse(status.info.info).config.resources.memory, 128 * 1024 * 1024);
    await rejectsWith(
      call(rt, "UpdateContainerResources", { container_id: id, linux: { oom_score_adj: 100 } }),
      grpc.status.INVALID_ARGUMENT,
      /linux\.oom_score_adj: 100 differs/,
    );
  });

  it("refuses what it cannot apply, naming the field, and leaves nothing behind", async () => {
    const before = (await call(rt, "ListContainers", {})).containers.length;
    const refused = async (linux: Msg, text: RegExp) =>
      rejectsWith(create("refused", linux), grpc.status.INVALID_ARGUMENT, text);
    const sc = (x: Msg) => ({ security_context: x });
    await refused(
      sc({ capabilities: { add_ambient_capabilities: ["NET_RAW"] } }),
      /capabilities\.add_ambient_capabilities/,
    );
    await refused(sc({ supplemental_groups_policy: "Strict" }), /supplemental_groups_policy Strict/);
    await refused(sc({ selinux_options: { level: "s0:c1" } }), /selinux_options\.level/);
    await refused(
      sc({ apparmor: { profile_type: "Localhost", localhost_ref: "my-profile" } }),
      /apparmor: the Localhost AppArmor profile "my-profile" cannot be applied/,
    );
    await refused(
      sc({ seccomp: { profile_type: "Localhost", localhost_ref: "/nonexistent.json" } }),
      /seccomp\.localhost_ref: cannot read/,
    );
    await refused(
      sc({ seccomp: { profile_type: "Localhost", localhost_ref: "relative.json" } }),
      /must be an absolute path/,
    );
    await refused(sc({ namespace_options: { userns_options: { mode: "POD" } } }), /userns_options\.mode POD/);
    await refused(sc({ namespace_options: { pid: "NODE" } }), /namespace_options\.pid: NODE differs/);
    await refused(
      sc({ namespace_options: { pid: "TARGET", target_id: "f".repeat(64) } }),
      /target_id f{64}: no such container/,
    );
    await refused(sc({ run_as_group: { value: 5 } }), /run_as_group needs run_as_user/);
    if (!cgroupHost().v2)
      await refused(
        { resources: { unified: { "memory.high": "1000000" } } },
        /linux\.resources\.unified \(memory\.high\): this host has cgroup v1/,
      );
    if (!cgroupHost().hugetlb)
      await refused(
        { resources: { hugepage_limits: [{ page_size: "2MB", limit: 2097152 }] } },
        /hugepage_limits: 2MB limited to 2097152 bytes, but this host has no hugetlb/,
      );
    assert.equal((await call(rt, "ListContainers", {})).containers.length, before);
    // A sandbox's cgroup_parent follows the driver RuntimeConfig reports (cgroupfs here).
    await rejectsWith(
      call(rt, "RunPodSandbox", {
        config: {
          metadata: { name: "slice", uid: "u-slice", namespace: "default", attempt: 0 },
          linux: { cgroup_parent: "kubepods-besteffort-podu.slice" },
        },
      }),
      grpc.status.INVALID_ARGUMENT,
      /config\.linux\.cgroup_parent "kubepods-besteffort-podu\.slice": the cgroup driver is cgroupfs/,
    );
    // Only sysctls of the pod's own namespaces (as runc checks them).
    await rejectsWith(
      call(rt, "RunPodSandbox", {
        config: {
          metadata: { name: "sysctl", uid: "u-sysctl", namespace: "default", attempt: 0 },
          linux: { sysctls: { "vm.swappiness": "10" } },
        },
      }),
      grpc.status.INVALID_ARGUMENT,
      /vm\.swappiness/,
    );
    // A privileged container needs a privileged pod.
    const plain = (
      await call(rt, "RunPodSandbox", {
        config: { metadata: { name: "plain", uid: "u-plain", namespace: "default", attempt: 0 } },
      })
    ).pod_sandbox_id;
    try {
      await rejectsWith(
        call(rt, "CreateContainer", {
          pod_sandbox_id: plain,
          config: {
            metadata: { name: "p", attempt: 0 },
            image: { image: reg.image },
            linux: { security_context: { privileged: true } },
          },
        }),
        grpc.status.INVALID_ARGUMENT,
        /privileged: the pod sandbox was not created privileged/,
      );
    } finally {
      await call(rt, "RemovePodSandbox", { pod_sandbox_id: plain });
    }
  });

  it("with --cri-cgroup-driver systemd, reports SYSTEMD and places a pod's slice where systemd would; no CNI config: not ready", async () => {
    // An empty CNI config directory too: the network is not ready, as containerd reports it.
    const empty = await makeTempDir("pier-cni-empty-");
    const sd = await startTestDaemon(["--cri-cgroup-driver", "systemd", "--cni-conf-dir", empty]);
    const { runtime } = clients(join(sd.execRoot, "cri.sock"));
    const slice = `piertest${process.pid}-podu.slice`;
    try {
      assert.equal((await call(runtime, "RuntimeConfig")).linux.cgroup_driver, "SYSTEMD");
      const conditions = (await call(runtime, "Status", {})).status.conditions as Msg[];
      const network = conditions.find((c) => c.type === "NetworkReady");
      assert.equal(network?.status, false);
      assert.equal(network?.reason, "NetworkPluginNotReady");
      assert.match(network?.message, /no network config found in /);
      await rejectsWith(
        call(runtime, "RunPodSandbox", {
          config: {
            metadata: { name: "n", uid: "un", namespace: "d", attempt: 0 },
            linux: { cgroup_parent: slice },
          },
        }),
        grpc.status.FAILED_PRECONDITION,
        /the pod network is not ready: no network config found/,
      );
      await rejectsWith(
        call(runtime, "RunPodSandbox", {
          config: {
            metadata: { name: "s", uid: "u", namespace: "d", attempt: 0 },
            linux: { cgroup_parent: podCgroup },
          },
        }),
        grpc.status.INVALID_ARGUMENT,
        /the cgroup driver is systemd \(RuntimeConfig\): want a slice name/,
      );
      const id = (
        await call(runtime, "RunPodSandbox", {
          config: {
            metadata: { name: "s", uid: "u", namespace: "d", attempt: 0 },
            linux: { cgroup_parent: slice, security_context: { namespace_options: { network: "NODE" } } },
          },
        })
      ).pod_sandbox_id;
      const where = `/piertest${process.pid}.slice/${slice}/pier-${id}.scope`;
      await until("the sandbox's cgroup", () =>
        existsSync(join("/sys/fs/cgroup", cgroupHost().v2 ? "" : "memory", where)) ? true : undefined,
      );
      await call(runtime, "RemovePodSandbox", { pod_sandbox_id: id });
    } finally {
      runtime.close();
      await sd.stop();
      await disposeTree(`/piertest${process.pid}.slice`).catch(() => {});
      await removeTempDir(empty);
    }
  });
});
