/**
 * The checkpoint archive's documents in podman's format (podman 4's `container checkpoint
 * --export`: `checkpoint/` with CRIU's images, `config.dump`, `spec.dump`, `network.status`,
 * `rootfs-diff.tar`, `deleted.files`, `stats-dump`), so that podman restores pier's archives and
 * pier restores podman's. `config.dump` is podman's ContainerConfig (the fields podman's import
 * reads); pier adds its own container configuration under `pierConfig`, which podman ignores.
 * Pure functions over parsed documents; reading and writing files is `archive.ts`'s.
 */
import type { Spec } from "../../oci/runtime-spec/config.js";
import type { ContainerConfig } from "../containers/config.js";
import { EngineError } from "../error.js";

/** File and directory names inside a checkpoint (podman's `metadata` package names). */
export const CHECKPOINT_FILES = {
  images: "checkpoint",
  config: "config.dump",
  spec: "spec.dump",
  network: "network.status",
  rootfsDiff: "rootfs-diff.tar",
  deleted: "deleted.files",
  stats: "stats-dump",
} as const;

/** Podman's default network, which pier's default (`bridge`) maps to and from. */
export const PODMAN_DEFAULT_NETWORK = "podman";
/** pier's (and Docker's) default network. */
export const PIER_DEFAULT_NETWORK = "bridge";

/** What pier records of a checkpoint beyond podman's fields. */
export interface PierCheckpointInfo {
  /** The container's pier configuration (recreated as is by a pier import). */
  config: ContainerConfig;
  /** Made with `--tcp-established` (the restore needs it too). */
  tcpEstablished: boolean;
  /** When the dump was made (RFC 3339). */
  checkpointedAt: string;
}

/** The fields of podman's `config.dump` that pier writes and reads. */
export interface ConfigDump {
  id: string;
  name: string;
  rootfsImageName: string;
  /** The image's id as podman shows it: the config digest's hex. */
  rootfsImageID: string;
  RawImageName: string;
  command: string[];
  createdTime: string;
  networkMode: string;
  newNetworks?: Record<string, { interface_name: string }>;
  createNetNS: boolean;
  stopSignal: number;
  stopTimeout: number;
  /**
   * The OCI runtime podman restores with (its name or path): `runc`, whose command line
   * pier-runtime follows and whose CRIU images are the same.
   */
  runtime?: string;
  pierConfig?: PierCheckpointInfo;
}

/** One interface of `network.status` (podman's StatusBlock, by network name). */
export interface NetworkStatus {
  [network: string]: {
    interfaces: Record<string, { subnets: { ipnet: string; gateway?: string }[]; mac_address?: string }>;
  };
}

/** What {@link configDump} needs of a container. */
export interface DumpedContainer {
  id: string;
  name: string;
  imageName: string;
  /** The image's config digest (`sha256:…`). */
  imageConfigDigest: string;
  createdAt: string;
  config: ContainerConfig;
  /** The process's arguments (the spec's). */
  args: string[];
  /** The stop signal as a number. */
  stopSignal: number;
  /** The network it is on (`bridge` for the default), `undefined` for none/host. */
  network: string | undefined;
  tcpEstablished: boolean;
  checkpointedAt: string;
}

/** The network's name as podman knows it: pier's default is podman's default. Pure. */
function podmanNetworkName(pierName: string): string {
  return pierName === PIER_DEFAULT_NETWORK ? PODMAN_DEFAULT_NETWORK : pierName;
}

/** `config.dump` for container `c`. Pure. */
export function configDump(c: DumpedContainer): ConfigDump {
  const mode = c.config.networkMode;
  return {
    id: c.id,
    name: c.name,
    rootfsImageName: c.imageName,
    rootfsImageID: c.imageConfigDigest.replace(/^sha256:/, ""),
    RawImageName: c.imageName,
    command: c.args,
    createdTime: c.createdAt,
    networkMode: mode === "host" || mode === "none" ? mode : "bridge",
    ...(c.network ? { newNetworks: { [podmanNetworkName(c.network)]: { interface_name: "eth0" } } } : {}),
    createNetNS: mode !== "host",
    stopSignal: c.stopSignal,
    stopTimeout: c.config.stopTimeout ?? 10,
    runtime: "runc",
    pierConfig: { config: c.config, tcpEstablished: c.tcpEstablished, checkpointedAt: c.checkpointedAt },
  };
}

/** `network.status` for an interface `eth0` with `address` (CIDR) on `network`. Pure. */
export function networkStatus(
  network: string,
  address: string,
  gateway: string | undefined,
  mac: string | undefined,
): NetworkStatus {
  // Under pier's own name: podman asks for a recorded address again only on a network of the
  // same name, and its default network's subnet is not pier's.
  return {
    [network]: {
      interfaces: {
        eth0: {
          subnets: [{ ipnet: address, ...(gateway ? { gateway } : {}) }],
          ...(mac ? { mac_address: mac } : {}),
        },
      },
    },
  };
}

/** The first address of `eth0` in a `network.status`; `undefined` when there is none. Pure. */
export function previousAddress(status: unknown): string | undefined {
  if (!isObject(status)) return undefined;
  for (const net of Object.values(status)) {
    if (!isObject(net) || !isObject(net.interfaces)) continue;
    const eth0 = net.interfaces.eth0;
    if (!isObject(eth0) || !Array.isArray(eth0.subnets)) continue;
    const first: unknown = eth0.subnets[0];
    if (isObject(first) && typeof first.ipnet === "string") return first.ipnet;
  }
  return undefined;
}

/** The MAC address of `eth0` in a `network.status`; `undefined` when there is none. Pure. */
export function previousMac(status: unknown): string | undefined {
  if (!isObject(status)) return undefined;
  for (const net of Object.values(status)) {
    if (!isObject(net) || !isObject(net.interfaces)) continue;
    const eth0 = net.interfaces.eth0;
    if (isObject(eth0) && typeof eth0.mac_address === "string") return eth0.mac_address;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bad(file: string, what: string): EngineError {
  return new EngineError("INVALID_ARGUMENT", `invalid checkpoint archive: ${file}: ${what}`);
}

/** Checks a parsed `config.dump`: the fields an import needs, typed. Pure. */
export function parseConfigDump(v: unknown): ConfigDump {
  const f = CHECKPOINT_FILES.config;
  if (!isObject(v)) throw bad(f, "not a JSON object");
  for (const k of ["id", "name", "rootfsImageName"] as const)
    if (typeof v[k] !== "string" || !v[k]) throw bad(f, `${k} must be a non-empty string`);
  if (v.command !== undefined && !(Array.isArray(v.command) && v.command.every((s) => typeof s === "string")))
    throw bad(f, "command must be a list of strings");
  const pier = v.pierConfig;
  if (pier !== undefined) {
    if (!isObject(pier) || !isObject(pier.config) || typeof pier.config.image !== "string")
      throw bad(f, "pierConfig must hold the container's configuration");
  }
  return v as unknown as ConfigDump;
}

/** Checks a parsed `spec.dump`: a runtime spec with a process and a root. Pure. */
export function parseSpecDump(v: unknown): Spec {
  const f = CHECKPOINT_FILES.spec;
  if (!isObject(v)) throw bad(f, "not a JSON object");
  if (!isObject(v.process) || !Array.isArray(v.process.args) || v.process.args.length === 0)
    throw bad(f, "process.args is missing");
  if (!isObject(v.root)) throw bad(f, "root is missing");
  if (v.mounts !== undefined && !Array.isArray(v.mounts)) throw bad(f, "mounts must be a list");
  return v as unknown as Spec;
}

/** Checks a parsed `deleted.files`: a list of paths. Pure. */
export function parseDeletedFiles(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
    throw bad(CHECKPOINT_FILES.deleted, "not a list of paths");
  return v as string[];
}

function isBindMount(m: { type?: string; options?: string[] }): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}
/** podman's per-container bind mounts that pier has no equivalent of: empty ones replace them. */
const EMPTY_REPLACEMENTS: Record<string, "file" | "directory"> = {
  "/run/.containerenv": "file",
  "/dev/shm": "directory",
};

/** A bind mount the restore needs that this engine makes empty: its kind and destination. */
export interface ReplacementMount {
  destination: string;
  kind: "file" | "directory";
}

/**
 * The runtime spec that restores a checkpoint in a new container: the engine's own spec for it
 * (`own`: its rootfs, network namespace, cgroup, the engine's hosts/hostname/resolv.conf), with
 * the dumped spec's mounts, masked and read-only paths (CRIU restores exactly the mounts it
 * dumped, and each bind mount needs a source here). A dumped bind mount where this engine binds
 * too (its hosts files, the container's volumes and binds, recreated from the container's
 * configuration) takes this engine's source; podman's `/run/.containerenv` and `/dev/shm` get
 * empty ones (`replacements`, made by the caller at `sourceFor`). Any other bind mount is
 * refused with `INVALID_ARGUMENT` naming it: an archive never chooses a host path to bind. Pure.
 */
export function restoreSpec(
  own: Spec,
  dumped: Spec,
  sourceFor: (destination: string) => string,
): { spec: Spec; replacements: ReplacementMount[] } {
  const ownMounts = new Map((own.mounts ?? []).map((m) => [m.destination, m]));
  const replacements: ReplacementMount[] = [];
  const mounts = (dumped.mounts ?? []).map((m) => {
    if (!isBindMount(m)) return m;
    // This engine's own bind at the same place (its hosts files, the container's volumes).
    const mine = ownMounts.get(m.destination);
    if (mine?.source && isBindMount(mine)) return { ...m, source: mine.source };
    const kind = EMPTY_REPLACEMENTS[m.destination];
    if (kind) {
      replacements.push({ destination: m.destination, kind });
      return { ...m, source: sourceFor(m.destination) };
    }
    throw new EngineError(
      "INVALID_ARGUMENT",
      `the checkpoint bind-mounts ${m.source ?? "(no source)"} at ${m.destination}: not restorable here (only the container's own volumes and binds, recreated from its configuration, are)`,
    );
  });
  const ownNs = new Map((own.linux?.namespaces ?? []).map((n) => [n.type, n]));
  const namespaces = (dumped.linux?.namespaces ?? own.linux?.namespaces ?? []).map((n) => {
    if (n.type === "network") return ownNs.get("network") ?? { type: "network" as const };
    if (n.path)
      throw new EngineError(
        "UNSUPPORTED",
        `the checkpoint joins the ${n.type} namespace at ${n.path} (another container's): not restorable here`,
      );
    return { type: n.type };
  });
  const linux = { ...own.linux, namespaces };
  if (dumped.linux?.maskedPaths) linux.maskedPaths = dumped.linux.maskedPaths;
  if (dumped.linux?.readonlyPaths) linux.readonlyPaths = dumped.linux.readonlyPaths;
  return { spec: { ...own, mounts, linux }, replacements };
}

/**
 * The pier configuration of an imported checkpoint: pier's own (`pierConfig`) when a pier made
 * it, else one from podman's `config.dump` and the dumped spec (image, command, environment,
 * working directory; podman's default network is pier's default). Pure.
 */
export function importedConfig(dump: ConfigDump, dumped: Spec): ContainerConfig {
  if (dump.pierConfig) {
    // Neither kind of --rm: the imported container is kept (and its layer not volatile).
    const { autoRemove: _drop, clientRemoves: _client, ...config } = dump.pierConfig.config;
    return config;
  }
  const args = dumped.process?.args ?? [];
  return {
    image: dump.rootfsImageName,
    entrypoint: args.slice(0, 1),
    cmd: args.slice(1),
    ...(dumped.process?.env ? { env: dumped.process.env } : {}),
    ...(dumped.process?.cwd ? { workingDir: dumped.process.cwd } : {}),
    ...(dumped.process?.terminal === true ? { tty: true } : {}),
    ...(dump.networkMode === "host" || dump.networkMode === "none" ? { networkMode: dump.networkMode } : {}),
    ...(dump.stopTimeout ? { stopTimeout: dump.stopTimeout } : {}),
  };
}
