/**
 * The starting `config.json` that `pier-runtime spec` writes: field for field what `runc spec`
 * (and `runc spec --rootless`) print, so that tutorials written for runc work unchanged.
 */
import type { Spec } from "./config.js";

/** Options of {@link defaultRuntimeSpec}. */
export interface DefaultSpecOptions {
  /** Rootless variant: a user namespace mapping the caller's ids, no network namespace, /sys bound. */
  rootless?: boolean;
  /** Host uid / gid mapped to root in the rootless variant (defaults: the caller's). */
  uid?: number;
  gid?: number;
}

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** A new default spec object (the caller may mutate it). */
export function defaultRuntimeSpec(options: DefaultSpecOptions = {}): Spec {
  const rootless = options.rootless === true;
  const spec: Spec = {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...CAPS],
        effective: [...CAPS],
        permitted: [...CAPS],
        ambient: [...CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runc",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: [
          "nosuid",
          "noexec",
          "newinstance",
          "ptmxmode=0666",
          "mode=0620",
          ...(rootless ? [] : ["gid=5"]),
        ],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
      },
      rootless
        ? {
            destination: "/sys",
            type: "none",
            source: "/sys",
            options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
          }
        : {
            destination: "/sys",
            type: "sysfs",
            source: "sysfs",
            options: ["nosuid", "noexec", "nodev", "ro"],
          },
      {
        destination: "/sys/fs/cgroup",
        type: "cgroup",
        source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
      },
    ],
    linux: {},
  };
  const linux = spec.linux ?? {};
  if (rootless) {
    linux.uidMappings = [{ containerID: 0, hostID: options.uid ?? process.getuid?.() ?? 0, size: 1 }];
    linux.gidMappings = [{ containerID: 0, hostID: options.gid ?? process.getgid?.() ?? 0, size: 1 }];
  } else {
    linux.resources = { devices: [{ allow: false, access: "rwm" }] };
  }
  linux.namespaces = rootless
    ? [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "user" }]
    : [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  linux.maskedPaths = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
  ];
  linux.readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
  return spec;
}

/** The spec as `runc spec` writes it to `config.json`: tab-indented JSON. */
export function formatSpec(spec: Spec): string {
  return JSON.stringify(spec, null, "\t");
}
