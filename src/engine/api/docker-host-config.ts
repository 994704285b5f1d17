/**
 * The resource and security fields of a Docker `HostConfig` (create, update, inspect) and the
 * engine's {@link ContainerResources} / {@link ContainerSecurity}, both ways, field by field. Pure:
 * validation is the container service's.
 */
import type { ContainerConfig } from "../containers/config.js";
import type { ContainerResources, DeviceRate } from "../containers/resources.js";
import type { ContainerSecurity } from "../containers/security.js";

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

const arr = (v: unknown): unknown[] | undefined =>
  Array.isArray(v) ? v : v == null ? undefined : (v as unknown[]);

function rates(v: unknown): unknown {
  return arr(v)?.map((d) => ({ path: obj(d).Path, rate: obj(d).Rate }));
}

/** `HostConfig`'s resource fields (also the body of `POST /containers/{id}/update`) as engine input. Pure. */
export function resourcesFromDocker(h: Record<string, unknown>, update = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    memory: h.Memory,
    memorySwap: h.MemorySwap,
    memoryReservation: h.MemoryReservation,
    nanoCpus: h.NanoCpus,
    cpuShares: h.CpuShares,
    cpuPeriod: h.CpuPeriod,
    cpuQuota: h.CpuQuota,
    cpusetCpus: h.CpusetCpus,
    cpusetMems: h.CpusetMems,
    pidsLimit: h.PidsLimit,
    blkioWeight: h.BlkioWeight,
  };
  if (!update)
    Object.assign(out, {
      memorySwappiness: h.MemorySwappiness,
      oomKillDisable: h.OomKillDisable,
      blkioWeightDevice: arr(h.BlkioWeightDevice)?.map((d) => ({ path: obj(d).Path, weight: obj(d).Weight })),
      blkioDeviceReadBps: rates(h.BlkioDeviceReadBps),
      blkioDeviceWriteBps: rates(h.BlkioDeviceWriteBps),
      blkioDeviceReadIOps: rates(h.BlkioDeviceReadIOps),
      blkioDeviceWriteIOps: rates(h.BlkioDeviceWriteIOps),
      ulimits: arr(h.Ulimits)?.map((u) => ({ name: obj(u).Name, soft: obj(u).Soft, hard: obj(u).Hard })),
      shmSize: h.ShmSize,
      oomScoreAdj: h.OomScoreAdj,
    });
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined && v !== null));
}

/** `HostConfig`'s security fields as engine input. Pure. */
export function securityFromDocker(h: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    privileged: h.Privileged,
    capAdd: h.CapAdd,
    capDrop: h.CapDrop,
    readonlyRootfs: h.ReadonlyRootfs,
    securityOpt: h.SecurityOpt,
    devices: arr(h.Devices)?.map((d) => ({
      pathOnHost: obj(d).PathOnHost,
      pathInContainer: obj(d).PathInContainer,
      cgroupPermissions: obj(d).CgroupPermissions,
    })),
    deviceCgroupRules: h.DeviceCgroupRules,
    groupAdd: h.GroupAdd,
    usernsMode: h.UsernsMode,
    cgroupnsMode: h.CgroupnsMode,
    ipcMode: h.IpcMode,
    pidMode: h.PidMode,
    utsMode: h.UTSMode,
    maskedPaths: h.MaskedPaths,
    readonlyPaths: h.ReadonlyPaths,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined && v !== null));
}

const dockerRates = (v: DeviceRate[] | undefined) => (v ?? []).map((d) => ({ Path: d.path, Rate: d.rate }));

/** The resource and security keys of `docker inspect`'s `HostConfig`, with Docker's zero values. Pure. */
export function dockerHostConfigLimits(
  c: Pick<ContainerConfig, "resources" | "security" | "cgroupParent">,
): Record<string, unknown> {
  const r: ContainerResources = c.resources ?? {};
  const s: ContainerSecurity = c.security ?? {};
  return {
    CapAdd: s.capAdd ?? null,
    CapDrop: s.capDrop ?? null,
    CgroupnsMode: s.cgroupnsMode ?? "host",
    GroupAdd: s.groupAdd ?? null,
    IpcMode: s.ipcMode ?? "private",
    OomScoreAdj: r.oomScoreAdj ?? 0,
    PidMode: s.pidMode ?? "",
    Privileged: s.privileged === true,
    ReadonlyRootfs: s.readonlyRootfs === true,
    SecurityOpt: s.securityOpt ?? null,
    UTSMode: s.utsMode ?? "",
    UsernsMode: s.usernsMode ?? "",
    ShmSize: r.shmSize ?? 67108864,
    CpuShares: r.cpuShares ?? 0,
    Memory: r.memory ?? 0,
    NanoCpus: r.nanoCpus ?? 0,
    CgroupParent: c.cgroupParent ?? "",
    BlkioWeight: r.blkioWeight ?? 0,
    BlkioWeightDevice: (r.blkioWeightDevice ?? []).map((d) => ({ Path: d.path, Weight: d.weight })),
    BlkioDeviceReadBps: dockerRates(r.blkioDeviceReadBps),
    BlkioDeviceWriteBps: dockerRates(r.blkioDeviceWriteBps),
    BlkioDeviceReadIOps: dockerRates(r.blkioDeviceReadIOps),
    BlkioDeviceWriteIOps: dockerRates(r.blkioDeviceWriteIOps),
    CpuPeriod: r.cpuPeriod ?? 0,
    CpuQuota: r.cpuQuota ?? 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: r.cpusetCpus ?? "",
    CpusetMems: r.cpusetMems ?? "",
    Devices: (s.devices ?? []).map((d) => ({
      PathOnHost: d.pathOnHost,
      PathInContainer: d.pathInContainer,
      CgroupPermissions: d.cgroupPermissions,
    })),
    DeviceCgroupRules: s.deviceCgroupRules ?? null,
    DeviceRequests: null,
    MemoryReservation: r.memoryReservation ?? 0,
    MemorySwap: r.memorySwap ?? (r.memory !== undefined ? r.memory * 2 : 0),
    MemorySwappiness: r.memorySwappiness ?? null,
    OomKillDisable: r.oomKillDisable === true,
    PidsLimit: r.pidsLimit ?? null,
    Ulimits: (r.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
    MaskedPaths: s.maskedPaths ?? null,
    ReadonlyPaths: s.readonlyPaths ?? null,
  };
}
