import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseContainerConfig } from "../containers/config.js";
import {
  DOCKER_CREATE_FIELDS,
  DOCKER_UPDATE_FIELDS,
  dockerFieldsMarkdown,
  refuseUnappliedCreateFields,
  refuseUnappliedUpdateFields,
} from "./docker-fields.js";
import { createInputFromDocker } from "./docker-types.js";

const DOC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "docs", "docker-api-fields.md");

/** What `docker create busybox true` (docker CLI 28, API 1.41) sends: every field, mostly zero. */
const CLI_BODY = {
  Hostname: "",
  Domainname: "",
  User: "",
  AttachStdin: false,
  AttachStdout: true,
  AttachStderr: true,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: ["true"],
  Image: "busybox",
  Volumes: {},
  WorkingDir: "",
  Entrypoint: null,
  OnBuild: null,
  Labels: {},
  HostConfig: {
    Binds: null,
    ContainerIDFile: "",
    LogConfig: { Type: "", Config: {} },
    NetworkMode: "default",
    PortBindings: {},
    RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: "",
    VolumesFrom: null,
    ConsoleSize: [0, 0],
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: "",
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: "",
    Cgroup: "",
    Links: null,
    OomScoreAdj: 0,
    PidMode: "",
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: "",
    UsernsMode: "",
    ShmSize: 0,
    Isolation: "",
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: "",
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: "",
    CpusetMems: "",
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: -1,
    OomKillDisable: false,
    PidsLimit: 0,
    Ulimits: [],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: null,
    ReadonlyPaths: null,
  },
  NetworkingConfig: {
    EndpointsConfig: {
      default: {
        IPAMConfig: null,
        Links: null,
        Aliases: null,
        MacAddress: "",
        DriverOpts: null,
        GwPriority: 0,
        NetworkID: "",
        EndpointID: "",
        Gateway: "",
        IPAddress: "",
        IPPrefixLen: 0,
        IPv6Gateway: "",
        GlobalIPv6Address: "",
        GlobalIPv6PrefixLen: 0,
        DNSNames: null,
      },
    },
  },
};

/** `body` with the field at `path` (`Config.X`, `HostConfig.X`, `NetworkingConfig.EndpointsConfig.*.X…`) set. */
function withField(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const b = structuredClone(body);
  const [root, ...rest] = path.split(".");
  if (root !== "Config" && typeof b[root as string] !== "object") b[root as string] = {};
  let o = (root === "Config" ? b : b[root as string]) as Record<string, unknown>;
  const keys = rest.map((k) => (k === "*" ? "default" : k));
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1) as string] = value;
  return b;
}

describe("the Docker API field list", () => {
  test("docs/docker-api-fields.md is the table of docker-fields.ts", () => {
    assert.equal(readFileSync(DOC, "utf8"), dockerFieldsMarkdown());
  });

  test("lists each field once, and a sample for each refused one", () => {
    for (const list of [DOCKER_CREATE_FIELDS, DOCKER_UPDATE_FIELDS]) {
      const paths = list.map((f) => f.path);
      assert.equal(new Set(paths).size, paths.length);
      for (const f of list) if (f.status === "refused") assert.notEqual(f.sample, undefined, f.path);
    }
  });

  test("what the docker CLI sends by default passes, and translates", () => {
    refuseUnappliedCreateFields(CLI_BODY);
    const input = createInputFromDocker(CLI_BODY);
    assert.deepEqual(input.cmd, ["true"]);
  });

  test("each refused create field, set, is refused naming it", () => {
    for (const f of DOCKER_CREATE_FIELDS.filter((f) => f.status === "refused")) {
      const body = withField(CLI_BODY, f.path, f.sample);
      assert.throws(
        () => createInputFromDocker(body),
        (err: Error & { code?: string }) =>
          err.code === "INVALID_ARGUMENT" && err.message.includes(`${f.path} is not supported`),
        f.path,
      );
    }
  });

  test("each refused update field, set, is refused naming it; applied ones pass", () => {
    for (const f of DOCKER_UPDATE_FIELDS) {
      const key = f.path.slice("HostConfig.".length);
      const body = { [key]: f.status === "refused" ? f.sample : 1 };
      if (f.status === "applied") refuseUnappliedUpdateFields(body);
      else
        assert.throws(
          () => refuseUnappliedUpdateFields(body),
          new RegExp(`${f.path.replace(".", "\\.")} is not supported`),
        );
    }
  });

  test("a field API 1.41 does not have is refused unless it is zero", () => {
    assert.throws(
      () => createInputFromDocker({ ...CLI_BODY, Foo: 1 }),
      /Config\.Foo is not supported by pier: not a field of Docker API 1\.41/,
    );
    assert.throws(
      () => createInputFromDocker(withField(CLI_BODY, "HostConfig.Annotations", { a: "b" })),
      /HostConfig\.Annotations/,
    );
    createInputFromDocker({ ...CLI_BODY, Foo: null, Bar: "" });
  });

  test("applied fields map into the engine's resources and security", () => {
    const input = createInputFromDocker(
      withField(
        withField(withField(CLI_BODY, "HostConfig.Memory", 67108864), "HostConfig.CapAdd", ["NET_ADMIN"]),
        "HostConfig.Ulimits",
        [{ Name: "nofile", Soft: 1, Hard: 2 }],
      ),
    );
    const c = parseContainerConfig(input);
    assert.deepEqual(c.resources, { memory: 67108864, ulimits: [{ name: "nofile", soft: 1, hard: 2 }] });
    assert.deepEqual(c.security, { capAdd: ["CAP_NET_ADMIN"] });
  });
});
