/**
 * System containers: a container whose process is systemd (or another init) booting a whole
 * distribution, as `podman run --systemd` and systemd-nspawn run them. The guest gets what
 * systemd's container interface asks of a container manager (tmpfs on /run, /run/lock, /tmp and
 * the journal, `container=` and `container_uuid=` in its environment, its own machine id written
 * into its own root, where the guest's systemd finds it as on a machine's disk) and a
 * cgroup tree it may write to: its own subtree, mounted afresh inside a private cgroup namespace,
 * never a bind of the host's hierarchy (a guest systemd given the host's `name=systemd` tree
 * removes other containers' empty cgroups when it shuts down).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { resolveInRoot } from "../../layer/index.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import { EngineError } from "../error.js";

/** `--systemd`: `true` runs the guest mode when the command is an init, `always` always. */
export type SystemdMode = "true" | "false" | "always";

/** The label that asks for a mode through the Docker API, which has no field for it. */
export const SYSTEMD_LABEL = "io.pier.systemd";

/** What a guest systemd halts on (`systemctl halt` in the guest: a clean shutdown, exit 0). */
export const SYSTEMD_STOP_SIGNAL = "SIGRTMIN+3";

/** The value of `container=` (systemd-detect-virt names the manager by it). */
export const CONTAINER_MANAGER = "pier";

// As podman decides `--systemd=true`: these paths, or any command named init or systemd.
const INIT_PATHS = new Set(["/sbin/init", "/usr/sbin/init", "/usr/local/sbin/init"]);

/** Validates a mode from a flag, a request field or the label. Pure. */
export function parseSystemdMode(v: unknown, what = "systemd"): SystemdMode {
  if (v === true) return "true";
  if (v === false) return "false";
  if (v === "true" || v === "false" || v === "always") return v;
  throw new EngineError(
    "INVALID_ARGUMENT",
    `invalid ${what} value ${JSON.stringify(v)}: must be true, false or always`,
  );
}

/** True when a container with this mode and command (argv after the image's defaults) boots as a guest. Pure. */
export function runsSystemd(mode: SystemdMode | undefined, args: readonly string[] | undefined): boolean {
  if (mode === "always") return true;
  if (mode !== "true" || !args?.length) return false;
  const cmd = args[0] ?? "";
  return INIT_PATHS.has(cmd) || basename(cmd) === "init" || basename(cmd) === "systemd";
}

/**
 * The machine id of a container: its id's first 32 hex digits, what `container_uuid` carries
 * too (systemd's format for /etc/machine-id: 32 lower-case hex digits). Pure.
 */
export function machineIdOf(containerId: string): string {
  if (!/^[0-9a-f]{32}/.test(containerId))
    throw new EngineError("INVALID_ARGUMENT", `container id ${containerId} is not hexadecimal`);
  return containerId.slice(0, 32);
}

/** The guest tmpfs mounts: where systemd keeps runtime state, and the volatile journal. */
const GUEST_TMPFS: readonly { target: string; mode: string }[] = [
  { target: "/run", mode: "755" },
  { target: "/run/lock", mode: "1777" },
  { target: "/tmp", mode: "1777" },
  { target: "/var/log/journal", mode: "2755" },
];

/**
 * Turns `spec` into a system container's spec: the guest's tmpfs mounts (where no mount of the
 * user's is), `container=pier` and `container_uuid` (the same id as the machine id the engine
 * writes into the container's root), a private cgroup namespace, and the cgroup mount writable
 * (inside that namespace it shows the container's own subtree only). Pure.
 */
export function applySystemdMode(spec: Spec, containerId: string): void {
  const process = spec.process;
  if (!process) throw new EngineError("INVALID_ARGUMENT", "a system container needs a process");
  const env = (process.env ?? []).filter(
    (e) => !e.startsWith("container=") && !e.startsWith("container_uuid="),
  );
  env.push(`container=${CONTAINER_MANAGER}`, `container_uuid=${machineIdOf(containerId)}`);
  process.env = env;
  const linux = spec.linux ?? {};
  spec.linux = linux;
  const namespaces = linux.namespaces ?? [];
  const cgroupNs = namespaces.find((n) => n.type === "cgroup");
  if (cgroupNs?.path)
    throw new EngineError(
      "INVALID_ARGUMENT",
      "a system container needs its own cgroup namespace, not a shared one",
    );
  if (!cgroupNs) namespaces.push({ type: "cgroup" });
  linux.namespaces = namespaces;
  const mounts = spec.mounts ?? [];
  const taken = new Set(mounts.map((m) => m.destination));
  for (const m of mounts)
    if (m.destination === "/sys/fs/cgroup" && (m.type === "cgroup" || m.type === "cgroup2"))
      m.options = [...(m.options ?? []).filter((o) => o !== "ro" && o !== "rw"), "rw"];
  for (const t of GUEST_TMPFS)
    if (!taken.has(t.target))
      mounts.push({
        destination: t.target,
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "nodev", `mode=${t.mode}`],
      });
  spec.mounts = mounts;
}

/**
 * Writes the machine id of container `containerId` to `/etc/machine-id` in its root (`rootfs`,
 * its own writable layer, before it first starts; symlinks resolved inside the root). A file
 * rather than a bind mount: a guest systemd commits a mounted (transient) id to disk at boot,
 * which a read-only bind would fail, and an image's own id would otherwise be every container's.
 */
export function writeMachineId(rootfs: string, containerId: string): void {
  const path = resolveInRoot(rootfs, "/etc/machine-id", { followFinal: true });
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  rmSync(path, { force: true });
  writeFileSync(path, `${machineIdOf(containerId)}\n`, { mode: 0o444 });
}

/** The annotation by which runc (and pier-runtime) take a container's own CRIU config file. */
const CRIU_CONFIG_ANNOTATION = "org.criu.config";

/**
 * Where CRIU looks for a watched file it cannot reopen by its handle (inotify watches on
 * overlayfs, which has no file handles by default): its built-in hints cover /etc and dbus's
 * `system-services` but not `/usr/share/dbus-1/system.d`, which a guest's dbus-daemon watches,
 * nor the zone file behind /etc/localtime, which a restored guest's systemd watches; the dump
 * failed with "fsnotify: Can't dump that handle".
 */
const GUEST_IRMAP_SCAN_PATHS = ["/usr/share/dbus-1", "/usr/local/share/dbus-1", "/usr/share/zoneinfo"];

/**
 * Gives system container `spec` a CRIU config file of its own, written into its bundle
 * directory `dir` (runc's `org.criu.config` annotation; a user's own annotation is kept): the
 * irmap scan paths a guest's inotify watches need for a checkpoint. As with runc, the file
 * replaces /etc/criu/runc.conf for this container.
 */
export function applyGuestCriuConfig(spec: Spec, dir: string): void {
  const annotations = spec.annotations ?? {};
  if (annotations[CRIU_CONFIG_ANNOTATION] !== undefined) return;
  const file = join(dir, "criu.conf");
  const lines = GUEST_IRMAP_SCAN_PATHS.map((p) => `irmap-scan-path ${p}`);
  writeFileSync(file, `# pier: a system container's CRIU settings\n${lines.join("\n")}\n`, { mode: 0o600 });
  spec.annotations = { ...annotations, [CRIU_CONFIG_ANNOTATION]: file };
}
