/**
 * Docker's documents that pier's API serves as they are, because `pier system info|df --format`
 * templates name Docker's fields (`{{.ServerVersion}}`): `/info` and `/system/df`, built from
 * the engine's own {@link SystemInfo} and {@link DiskUsage}. Both fronts import this module.
 */
import { tryParseReference } from "../../oci/reference.js";
import { insecureRegistries, type RegistriesConfig } from "../../remote/index.js";
import type { DiskUsage, SystemInfo } from "../system.js";
import { dockerSummary } from "./docker-types.js";

/** Docker's `Architecture` for Node's `os.arch()`. Pure. */
function architecture(a: string): string {
  return a === "x64" ? "x86_64" : a === "arm64" ? "aarch64" : a;
}

/**
 * Docker's `RegistryConfig`: `Mirrors` are Docker Hub's mirrors as URLs (what `docker info`
 * prints under "Registry Mirrors"), `IndexConfigs` one entry per configured registry with its
 * own mirrors, insecure registries not `Secure`. Pure.
 */
export function registryConfig(
  config: RegistriesConfig,
  insecureFlags: readonly string[],
): Record<string, unknown> {
  const url = (location: string, insecure: boolean) =>
    `${insecure ? "http" : "https"}://${location}${location.includes("/") ? "" : "/"}`;
  const indexConfigs: Record<string, unknown> = {};
  const index = (name: string, secure: boolean, mirrors: string[]) => {
    indexConfigs[name] = { Name: name, Mirrors: mirrors, Secure: secure, Official: name === "docker.io" };
  };
  index("docker.io", true, []);
  for (const r of config.registries) {
    if (r.prefix.startsWith("*.") && !r.location) continue;
    const host = r.prefix.split("/")[0]!;
    const mirrors = r.mirrors.map((m) => url(m.location, m.insecure));
    const prior = indexConfigs[host] as { Mirrors: string[]; Secure: boolean } | undefined;
    index(host, !r.insecure && (prior?.Secure ?? true), [...(prior?.Mirrors ?? []), ...mirrors]);
  }
  // every host pier may speak HTTP (or unverified TLS) to, mirrors included, is listed as not Secure
  for (const h of [...insecureRegistries(config), ...insecureFlags])
    index(h, false, (indexConfigs[h] as { Mirrors?: string[] } | undefined)?.Mirrors ?? []);
  return {
    InsecureRegistryCIDRs: ["127.0.0.0/8"],
    IndexConfigs: indexConfigs,
    Mirrors: (indexConfigs["docker.io"] as { Mirrors: string[] }).Mirrors,
  };
}

/** Docker's `/info` document. Pure. */
export function infoDocument(info: SystemInfo): Record<string, unknown> {
  const c = info.containers;
  return {
    ID: "pier",
    Containers: c.total,
    ContainersRunning: c.running,
    ContainersPaused: c.paused,
    ContainersStopped: c.stopped,
    Images: info.images,
    Driver: info.driver,
    DriverStatus: [["Backing Filesystem", info.backingFilesystem]],
    Plugins: { Volume: ["local"], Network: ["bridge", "host", "null"], Log: ["json-file"] },
    MemoryLimit: true,
    SwapLimit: info.swapLimit,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    NEventsListener: info.eventListeners,
    CgroupDriver: "cgroupfs",
    CgroupVersion: info.cgroupVersion,
    LoggingDriver: "json-file",
    KernelVersion: info.kernelVersion,
    OperatingSystem: "pier",
    OSVersion: "",
    OSType: "linux",
    Architecture: architecture(info.arch),
    IndexServerAddress: "https://index.docker.io/v1/",
    NCPU: info.cpus,
    MemTotal: info.memTotal,
    DockerRootDir: info.root,
    HttpProxy: "",
    HttpsProxy: "",
    NoProxy: "",
    Name: info.hostname,
    ServerVersion: info.version,
    ExperimentalBuild: false,
    LiveRestoreEnabled: true,
    Runtimes: { pier: { path: "pier-runtime" } },
    DefaultRuntime: "pier",
    Swarm: { LocalNodeState: "inactive", NodeID: "", NodeAddr: "", ControlAvailable: false },
    Isolation: "",
    InitBinary: "docker-init",
    // Not a field of Docker's: what its daemon's --init sets, which dockerd does not report.
    DefaultInit: info.defaultInit,
    SecurityOptions: [
      "name=seccomp,profile=builtin",
      ...(info.cgroupVersion === "2" ? ["name=cgroupns"] : []),
    ],
    RegistryConfig: registryConfig(info.registries, info.insecureRegistries),
    Labels: [],
    Warnings: [],
  };
}

/** Docker's `/system/df` document. Pure. */
export function dfDocument(df: DiskUsage): Record<string, unknown> {
  const Images = df.images.map((u) => ({
    Id: u.image.id,
    ParentId: "",
    RepoTags: u.image.names.map((n) => tryParseReference(n)?.familiar() ?? n),
    RepoDigests: [],
    Created: u.created ? Math.floor(Date.parse(u.created) / 1000) : 0,
    Size: u.size,
    SharedSize: 0,
    VirtualSize: u.size,
    Labels: {},
    Containers: u.containers,
  }));
  return {
    LayersSize: Images.reduce((a, i) => a + i.Size, 0),
    Images,
    Containers: df.containers.map((c) => ({
      ...dockerSummary({ ...c.record, imageId: c.imageId }),
      SizeRw: c.sizeRw,
      SizeRootFs: 0,
    })),
    Volumes: df.volumes.map((v) => ({ ...v.volume, UsageData: { Size: v.size, RefCount: v.refCount } })),
    BuildCache: [],
  };
}
