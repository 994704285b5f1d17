/**
 * Every field of the Docker Engine API 1.41 create request (`Config`, `HostConfig`,
 * `NetworkingConfig`) and of `POST /containers/{id}/update`, each either applied by pier or
 * refused: a request that sets a refused field (to anything but its zero value, which the
 * docker CLI always sends) or a field API 1.41 does not have gets 400 naming it. The table is
 * the source of `docs/docker-api-fields.md`, which a test keeps equal to it. Pure.
 */
import { EngineError } from "../error.js";

/** Applied, or refused with the reason. */
export interface DockerField {
  /** `Config.X`, `HostConfig.X` or `NetworkingConfig.EndpointsConfig.*.X`. */
  path: string;
  status: "applied" | "refused";
  /** What pier does with it, or why it refuses it. */
  note: string;
  /** For a refused field: a value that sets it (the test sends it). */
  sample?: unknown;
}

const a = (path: string, note: string): DockerField => ({ path, status: "applied", note });
const r = (path: string, note: string, sample: unknown): DockerField => ({
  path,
  status: "refused",
  note,
  sample,
});

/** The fields of a create request, in the API reference's order. */
export const DOCKER_CREATE_FIELDS: readonly DockerField[] = [
  a("Config.Hostname", "the container's hostname (default: the first 12 characters of its id)"),
  r("Config.Domainname", "not implemented", "example.com"),
  a("Config.User", "user[:group], resolved in the image's /etc/passwd and /etc/group"),
  a("Config.AttachStdin", "read by the client, which attaches"),
  a("Config.AttachStdout", "read by the client, which attaches"),
  a("Config.AttachStderr", "read by the client, which attaches"),
  a("Config.ExposedPorts", "exposed ports (what -P publishes)"),
  a("Config.Tty", "a terminal for the process"),
  a("Config.OpenStdin", "stdin kept open for attach"),
  a("Config.StdinOnce", "stdin closed when the first attached client's input ends"),
  a("Config.Env", "added to the image's environment"),
  a("Config.Cmd", "the command"),
  a("Config.Healthcheck", "the healthcheck (over the image's HEALTHCHECK; NONE disables it)"),
  a(
    "Config.Healthcheck.StartInterval",
    "API 1.44: between probes while starting within StartPeriod (default 5 s); applied at any API version (Docker ignores it below 1.44)",
  ),
  r("Config.ArgsEscaped", "Windows only", true),
  a("Config.Image", "the image"),
  a("Config.Volumes", "anonymous volumes"),
  a("Config.WorkingDir", "the working directory"),
  a("Config.Entrypoint", "the entrypoint"),
  r("Config.NetworkDisabled", "use HostConfig.NetworkMode none", true),
  r("Config.MacAddress", "MAC addresses are not settable", "02:42:ac:11:00:02"),
  r("Config.OnBuild", "build-time metadata: pier builds no images from a create request", ["RUN true"]),
  a("Config.Labels", "labels"),
  a("Config.StopSignal", "the signal of stop"),
  a("Config.StopTimeout", "seconds between the stop signal and SIGKILL"),
  r("Config.Shell", "build-time metadata", ["/bin/sh", "-c"]),
  a("HostConfig.Binds", "bind mounts and named volumes"),
  a("HostConfig.ContainerIDFile", "written by the client, never read by the daemon"),
  a("HostConfig.LogConfig", "json-file with max-size and max-file; other drivers are refused"),
  a("HostConfig.NetworkMode", "bridge, none, host, container:NAME or a network"),
  a("HostConfig.PortBindings", "published ports"),
  a("HostConfig.RestartPolicy", "no, always, unless-stopped, on-failure[:N]"),
  a("HostConfig.AutoRemove", "removed when it exits"),
  r("HostConfig.VolumeDriver", "only the local volume driver exists", "nfs"),
  r("HostConfig.VolumesFrom", "not implemented", ["other"]),
  a("HostConfig.ConsoleSize", "the terminal's initial size"),
  a("HostConfig.CapAdd", "capabilities added to Docker's default set (ALL: every one)"),
  a("HostConfig.CapDrop", "capabilities dropped from it (ALL: every one)"),
  a("HostConfig.CgroupnsMode", "private or host (the default on cgroup v1)"),
  a("HostConfig.Dns", "nameservers of resolv.conf"),
  a("HostConfig.DnsOptions", "options of resolv.conf"),
  a("HostConfig.DnsSearch", "search domains of resolv.conf"),
  a("HostConfig.ExtraHosts", "lines of /etc/hosts"),
  a("HostConfig.GroupAdd", "supplementary groups (names from the image's /etc/group)"),
  a(
    "HostConfig.IpcMode",
    "private, shareable (joinable), none, host or container:NAME (a shareable or host one, with its /dev/shm, as Docker)",
  ),
  r("HostConfig.Cgroup", "joining another container's cgroup is not implemented", "container:other"),
  r("HostConfig.Links", "legacy links: use a user network", ["other:alias"]),
  a("HostConfig.OomScoreAdj", "the process's oom_score_adj"),
  a("HostConfig.PidMode", "host or container:NAME"),
  a(
    "HostConfig.Privileged",
    "every capability in pierd's own bounding set (podman's rule; Docker asks for all the kernel knows), every device, no masked paths, no seccomp",
  ),
  a("HostConfig.PublishAllPorts", "every exposed port on a free host port"),
  a("HostConfig.ReadonlyRootfs", "a read-only root filesystem"),
  a(
    "HostConfig.SecurityOpt",
    "seccomp=unconfined|PROFILE, no-new-privileges; apparmor= and label= as Docker on a host without them",
  ),
  r("HostConfig.StorageOpt", "overlay has no per-container options here", { size: "1G" }),
  a("HostConfig.Tmpfs", "tmpfs mounts"),
  a("HostConfig.UTSMode", "host"),
  a("HostConfig.UsernsMode", "host (pier never remaps users)"),
  a("HostConfig.ShmSize", "the size of /dev/shm (default 64 MiB)"),
  a("HostConfig.Sysctls", "namespaced sysctls only"),
  r("HostConfig.Runtime", "pier runs its own runtime only", "runc"),
  r("HostConfig.Isolation", "Windows only", "hyperv"),
  a("HostConfig.CpuShares", "cpu.shares"),
  a("HostConfig.Memory", "the memory limit"),
  a(
    "HostConfig.CgroupParent",
    "the cgroup the container's goes under, as Docker's cgroupfs driver (what `docker info` shows): an absolute path, a relative one (from pierd's own cgroup, as runc resolves it), or a systemd slice name (`x.slice`, placed where systemd puts that slice); `..` is refused",
  ),
  a("HostConfig.BlkioWeight", "blkio weight (refused on a host without the weight file)"),
  a("HostConfig.BlkioWeightDevice", "per-device blkio weight (likewise)"),
  a("HostConfig.BlkioDeviceReadBps", "read bytes per second of a device"),
  a("HostConfig.BlkioDeviceWriteBps", "write bytes per second of a device"),
  a("HostConfig.BlkioDeviceReadIOps", "read operations per second of a device"),
  a("HostConfig.BlkioDeviceWriteIOps", "write operations per second of a device"),
  a("HostConfig.CpuPeriod", "CFS period"),
  a("HostConfig.CpuQuota", "CFS quota"),
  r("HostConfig.CpuRealtimePeriod", "real-time CPU scheduling is not implemented", 1000000),
  r("HostConfig.CpuRealtimeRuntime", "real-time CPU scheduling is not implemented", 950000),
  a("HostConfig.CpusetCpus", "CPUs it may run on"),
  a("HostConfig.CpusetMems", "memory nodes it may use"),
  a("HostConfig.Devices", "host devices in the container"),
  a("HostConfig.DeviceCgroupRules", "device cgroup rules"),
  r("HostConfig.DeviceRequests", "device drivers (GPUs) are not implemented", [
    { Driver: "nvidia", Count: -1 },
  ]),
  r(
    "HostConfig.KernelMemory",
    "kernel memory limits are deprecated by Docker and gone in cgroup v2",
    10485760,
  ),
  r(
    "HostConfig.KernelMemoryTCP",
    "kernel memory limits are deprecated by Docker and gone in cgroup v2",
    10485760,
  ),
  a("HostConfig.MemoryReservation", "the soft memory limit"),
  a(
    "HostConfig.MemorySwap",
    "memory plus swap (default: twice the memory limit; -1 unlimited); refused on a host without swap accounting",
  ),
  a("HostConfig.MemorySwappiness", "memory.swappiness"),
  a("HostConfig.NanoCpus", "CPUs, as a CFS quota over a 100 ms period"),
  a("HostConfig.OomKillDisable", "no OOM killer in its cgroup"),
  a(
    "HostConfig.Init",
    "pier's tiny init as PID 1 (/sbin/docker-init), reaping zombies and forwarding signals; null takes pierd's --init default, false overrides it",
  ),
  a("HostConfig.PidsLimit", "maximum number of tasks"),
  a("HostConfig.Ulimits", "rlimits, soft and hard as given (-1: unlimited)"),
  r("HostConfig.CpuCount", "Windows only", 2),
  r("HostConfig.CpuPercent", "Windows only", 50),
  r("HostConfig.IOMaximumIOps", "Windows only", 100),
  r("HostConfig.IOMaximumBandwidth", "Windows only", 1048576),
  a("HostConfig.Mounts", "bind, volume and tmpfs mounts"),
  a("HostConfig.MaskedPaths", "replaces Docker's masked paths"),
  a("HostConfig.ReadonlyPaths", "replaces Docker's read-only paths"),
  a("NetworkingConfig.EndpointsConfig.*.IPAMConfig", "IPv4Address: its address on its network"),
  r("NetworkingConfig.EndpointsConfig.*.IPAMConfig.IPv6Address", "IPv6 is not implemented", "fd00::2"),
  r("NetworkingConfig.EndpointsConfig.*.IPAMConfig.LinkLocalIPs", "not implemented", ["169.254.0.5"]),
  r("NetworkingConfig.EndpointsConfig.*.Links", "legacy links: use a user network", ["other:alias"]),
  a("NetworkingConfig.EndpointsConfig.*.Aliases", "more names on its network"),
  r("NetworkingConfig.EndpointsConfig.*.NetworkID", "set by the daemon", "abc"),
  r("NetworkingConfig.EndpointsConfig.*.EndpointID", "set by the daemon", "abc"),
  r("NetworkingConfig.EndpointsConfig.*.Gateway", "set by the daemon", "10.0.0.1"),
  r(
    "NetworkingConfig.EndpointsConfig.*.IPAddress",
    "set by the daemon (use IPAMConfig.IPv4Address)",
    "10.0.0.5",
  ),
  r("NetworkingConfig.EndpointsConfig.*.IPPrefixLen", "set by the daemon", 24),
  r("NetworkingConfig.EndpointsConfig.*.IPv6Gateway", "set by the daemon", "fd00::1"),
  r("NetworkingConfig.EndpointsConfig.*.GlobalIPv6Address", "set by the daemon", "fd00::5"),
  r("NetworkingConfig.EndpointsConfig.*.GlobalIPv6PrefixLen", "set by the daemon", 64),
  r("NetworkingConfig.EndpointsConfig.*.MacAddress", "MAC addresses are not settable", "02:42:ac:11:00:02"),
  r("NetworkingConfig.EndpointsConfig.*.DriverOpts", "no network driver options", { "com.example": "x" }),
  r("NetworkingConfig.EndpointsConfig.*.GwPriority", "API 1.48: gateway priorities are not implemented", 1),
  r("NetworkingConfig.EndpointsConfig.*.DNSNames", "API 1.44: set by the daemon", ["x"]),
];

/** The resource fields `POST /containers/{id}/update` takes, and `RestartPolicy`. */
export const DOCKER_UPDATE_FIELDS: readonly DockerField[] = [
  ...[
    "CpuShares",
    "Memory",
    "NanoCpus",
    "BlkioWeight",
    "CpuPeriod",
    "CpuQuota",
    "CpusetCpus",
    "CpusetMems",
    "MemoryReservation",
    "MemorySwap",
    "PidsLimit",
  ].map((k) => a(`HostConfig.${k}`, "changed on the running container through the runtime's update")),
  a("HostConfig.RestartPolicy", "the restart policy"),
  ...[
    "CgroupParent",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "Devices",
    "DeviceCgroupRules",
    "DeviceRequests",
    "KernelMemory",
    "KernelMemoryTCP",
    "MemorySwappiness",
    "OomKillDisable",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
  ].map((k) => {
    const create = DOCKER_CREATE_FIELDS.find((f) => f.path === `HostConfig.${k}`) as DockerField;
    return r(
      `HostConfig.${k}`,
      create.status === "refused" ? create.note : "only at create",
      create.sample ?? sampleOf(k),
    );
  }),
];

function sampleOf(k: string): unknown {
  const samples: Record<string, unknown> = {
    BlkioWeightDevice: [{ Path: "/dev/null", Weight: 100 }],
    Devices: [{ PathOnHost: "/dev/null", PathInContainer: "/dev/x", CgroupPermissions: "rwm" }],
    DeviceCgroupRules: ["c 1:3 rwm"],
    MemorySwappiness: 10,
    OomKillDisable: true,
    Ulimits: [{ Name: "nofile", Soft: 10, Hard: 10 }],
  };
  return samples[k] ?? (k.startsWith("BlkioDevice") ? [{ Path: "/dev/null", Rate: 1 }] : 1);
}

/** True for a value the docker CLI sends for "not set". Pure. */
export function isUnset(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.every((x) => x === 0) || v.length === 0;
  if (typeof v === "object") return Object.values(v).every(isUnset);
  return false;
}

// What the docker CLI sends for "not set" where that is not a zero value.
const DEFAULTS: Record<string, (v: unknown) => boolean> = {
  "HostConfig.MemorySwappiness": (v) => v === -1,
};

function refuse(path: string, note: string): never {
  throw new EngineError("INVALID_ARGUMENT", `${path} is not supported by pier: ${note}`);
}

function checkObject(
  o: Record<string, unknown>,
  prefix: string,
  fields: ReadonlyMap<string, DockerField>,
  skip: ReadonlySet<string> = new Set(),
): void {
  for (const [k, v] of Object.entries(o)) {
    if (skip.has(k)) continue;
    const path = `${prefix}.${k}`;
    const f = fields.get(path);
    if (isUnset(v) || DEFAULTS[path]?.(v)) continue;
    if (!f) refuse(path, "not a field of Docker API 1.41 that pier knows");
    if (f.status === "refused") refuse(path, f.note);
  }
}

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

const CREATE = new Map(DOCKER_CREATE_FIELDS.map((f) => [f.path, f]));
const UPDATE = new Map(DOCKER_UPDATE_FIELDS.map((f) => [f.path, f]));

/**
 * Throws `INVALID_ARGUMENT` (400) naming the first field of a create body that pier refuses or
 * does not know, unless it has its zero value. Pure.
 */
export function refuseUnappliedCreateFields(body: Record<string, unknown>): void {
  checkObject(body, "Config", CREATE, new Set(["HostConfig", "NetworkingConfig"]));
  checkObject(obj(body.HostConfig), "HostConfig", CREATE);
  const networking = obj(body.NetworkingConfig);
  for (const k of Object.keys(networking))
    if (k !== "EndpointsConfig" && !isUnset(networking[k]))
      refuse(`NetworkingConfig.${k}`, "not a field of Docker API 1.41 that pier knows");
  for (const ep of Object.values(obj(networking.EndpointsConfig))) {
    const e = obj(ep);
    checkObject(e, "NetworkingConfig.EndpointsConfig.*", CREATE, new Set(["IPAMConfig"]));
    checkObject(
      obj(e.IPAMConfig),
      "NetworkingConfig.EndpointsConfig.*.IPAMConfig",
      CREATE,
      new Set(["IPv4Address"]),
    );
  }
}

/** The same for a `POST /containers/{id}/update` body (its fields are `HostConfig`'s). Pure. */
export function refuseUnappliedUpdateFields(body: Record<string, unknown>): void {
  checkObject(body, "HostConfig", UPDATE);
}

function cell(v: unknown): string {
  return v === undefined ? "" : `\`${JSON.stringify(v)}\``;
}

/** `docs/docker-api-fields.md`: the tables of {@link DOCKER_CREATE_FIELDS} and {@link DOCKER_UPDATE_FIELDS}. Pure. */
export function dockerFieldsMarkdown(): string {
  const table = (fields: readonly DockerField[]) =>
    [
      "| Field | Status | Sample (refused) | Notes |",
      "|---|---|---|---|",
      ...fields.map((f) => `| \`${f.path}\` | ${f.status} | ${cell(f.sample)} | ${f.note} |`),
    ].join("\n");
  return `# Docker Engine API 1.41: the fields pier applies and refuses

Generated from \`src/engine/api/docker-fields.ts\` (a test keeps the two equal; another walks
this list and sends each refused field to a pierd, which must answer 400 naming it).

A request may carry any field with its zero value (\`null\`, \`""\`, \`0\`, \`false\`, \`[]\`, \`{}\`):
the docker CLI sends every field that way. A refused field set to anything else, or a field
API 1.41 does not have, gets \`400\` with a message naming it. Fields under
\`NetworkingConfig.EndpointsConfig.*\` are those of every endpoint.

## POST /containers/create

${table(DOCKER_CREATE_FIELDS)}

## POST /containers/{id}/update

The body holds \`HostConfig\`'s resource fields (named without the \`HostConfig.\` prefix) and
\`RestartPolicy\`.

${table(DOCKER_UPDATE_FIELDS)}
`;
}
