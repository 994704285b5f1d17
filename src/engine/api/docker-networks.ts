/**
 * The Docker Engine API's network routes (`docker network create|ls|inspect|rm|prune`) and the
 * network fields of container documents (`Ports` of `docker ps`, `NetworkSettings` and
 * `HostConfig.PortBindings` of inspect, which `docker port` reads).
 */
import { createHash } from "node:crypto";
import type { ContainerRecord } from "../containers/store.js";
import type { Engine } from "../engine.js";
import { boolFilter, checkFilters, type Filters, matchKVList } from "../filters.js";
import { DEFAULT_NETWORK, type NetworkDefinition } from "../network/conflist.js";
import { NetworkError } from "../network/error.js";
import { dockerPortList, dockerPortMap, type PortMapping } from "../network/ports.js";
import type { NetworkAttachment } from "../network/service.js";
import { parseFilters } from "./docker-types.js";
import { readJson, sendJson } from "./http.js";
import type { Call, Route } from "./router.js";

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A stable id for the pseudo networks `host` and `none`. */
function pseudoId(name: string): string {
  return createHash("sha256").update(`pier-network-${name}`).digest("hex");
}

/** A network as Docker's `GET /networks/{id}` shows it. Pure. */
export function dockerNetwork(
  def: NetworkDefinition | { name: "host" | "none" },
  attachments: readonly NetworkAttachment[] = [],
): Record<string, unknown> {
  if (!("id" in def)) {
    return {
      Name: def.name,
      Id: pseudoId(def.name),
      Created: "0001-01-01T00:00:00Z",
      Scope: "local",
      Driver: def.name === "host" ? "host" : "null",
      EnableIPv6: false,
      IPAM: { Driver: "default", Options: null, Config: [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: "" },
      ConfigOnly: false,
      Containers: {},
      Options: {},
      Labels: {},
    };
  }
  const containers: Record<string, unknown> = {};
  for (const a of attachments.flatMap(endpointViews)) {
    if (a.networkId !== def.id) continue;
    containers[a.id] = {
      Name: a.name,
      EndpointID: endpointId(a),
      MacAddress: a.mac ?? "",
      IPv4Address: a.address ?? "",
      IPv6Address: "",
    };
  }
  return {
    Name: def.name,
    Id: def.id,
    Created: def.created,
    Scope: "local",
    Driver: "bridge",
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: [{ Subnet: def.subnet, Gateway: def.gateway }] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: {
      "com.docker.network.bridge.name": def.bridge,
      ...(def.name === DEFAULT_NETWORK ? { "com.docker.network.bridge.default_bridge": "true" } : {}),
    },
    Labels: def.labels,
  };
}

/** An attachment as one view per network it is on (its own, then each connected one). */
function endpointViews(a: NetworkAttachment): NetworkAttachment[] {
  return [
    a,
    ...(a.endpoints ?? []).map((e) => ({
      ...a,
      network: e.network,
      networkId: e.networkId,
      ...(e.address ? { address: e.address } : {}),
      ...(e.gateway ? { gateway: e.gateway } : {}),
      ...(e.mac ? { mac: e.mac } : {}),
    })),
  ];
}

function endpointId(a: NetworkAttachment): string {
  return createHash("sha256")
    .update(`${a.id}/${a.networkId ?? ""}`)
    .digest("hex");
}

/**
 * Whether a network passes `docker network ls --filter` (name, id, driver, label, scope, type,
 * dangling: not predefined and, as `network prune` decides, no container configured for it
 * (`used`, by default: one attached now). Pure.
 */
export function networkMatches(
  n: Record<string, unknown>,
  filters: Filters,
  used = Object.keys(obj(n.Containers)).length > 0,
): boolean {
  checkFilters(filters, "networkList");
  const builtin = n.Name === DEFAULT_NETWORK || n.Name === "host" || n.Name === "none";
  const dangling = boolFilter(filters, "dangling");
  if (dangling !== undefined && (!builtin && !used) !== dangling) return false;
  const tests: Record<string, (v: string) => boolean> = {
    name: (v) => String(n.Name).includes(v),
    id: (v) => String(n.Id).startsWith(v),
    driver: (v) => v === String(n.Driver),
    scope: (v) => v === "local",
    type: (v) => v === (builtin ? "builtin" : "custom"),
  };
  for (const [key, test] of Object.entries(tests)) {
    const values = filters[key] ?? [];
    if (values.length && !values.some(test)) return false;
  }
  return matchKVList(filters, "label", obj(n.Labels) as Record<string, string>);
}

/** The network request of `POST /networks/create`; unsupported options are refused by name. Pure. */
export function networkCreateRequest(body: unknown): {
  name: string;
  subnet?: string;
  gateway?: string;
  labels: Record<string, string>;
} {
  const b = obj(body);
  if (typeof b.Name !== "string" || !b.Name)
    throw new NetworkError("INVALID_ARGUMENT", "network name is required");
  if (b.Driver !== undefined && b.Driver !== "" && b.Driver !== "bridge")
    throw new NetworkError(
      "INVALID_ARGUMENT",
      `network driver ${String(b.Driver)} is not supported (only bridge)`,
    );
  if (b.EnableIPv6 === true)
    throw new NetworkError("INVALID_ARGUMENT", "IPv6 networks are not supported by pier yet");
  if (b.Internal === true)
    throw new NetworkError("INVALID_ARGUMENT", "internal networks are not supported by pier yet");
  const configs = obj(b.IPAM).Config;
  const list = Array.isArray(configs) ? configs.map(obj) : [];
  if (list.length > 1)
    throw new NetworkError("INVALID_ARGUMENT", "only one IPAM config (subnet) per network is supported");
  const c = list[0] ?? {};
  if (c.IPRange) throw new NetworkError("INVALID_ARGUMENT", "--ip-range is not supported by pier yet");
  const labels = obj(b.Labels);
  if (Object.values(labels).some((v) => typeof v !== "string"))
    throw new NetworkError("INVALID_ARGUMENT", "Labels must map strings to strings");
  return {
    name: b.Name,
    ...(typeof c.Subnet === "string" && c.Subnet ? { subnet: c.Subnet } : {}),
    ...(typeof c.Gateway === "string" && c.Gateway ? { gateway: c.Gateway } : {}),
    labels: labels as Record<string, string>,
  };
}

function networkOf(engine: Engine, ref: string): NetworkDefinition | { name: "host" | "none" } {
  if (ref === "host" || ref === "none") return { name: ref };
  if (ref === pseudoId("host")) return { name: "host" };
  if (ref === pseudoId("none")) return { name: "none" };
  return engine.networks.find(ref);
}

function networkList({ engine, res, query }: Call) {
  const net = engine.networks;
  const filters = parseFilters(query.get("filters"));
  const attachments = net.attachments();
  const all = [
    ...net.list().map((d) => dockerNetwork(d, attachments)),
    dockerNetwork({ name: "host" }),
    dockerNetwork({ name: "none" }),
  ];
  sendJson(
    res,
    200,
    all.filter((n) =>
      networkMatches(
        n,
        filters,
        n.Name === "host" || n.Name === "none" || engine.containers.networkUsers(String(n.Id)).length > 0,
      ),
    ),
  );
}

async function networkCreate({ engine, req, res }: Call) {
  const net = engine.networks;
  const def = await net.create(networkCreateRequest(await readJson(req)));
  sendJson(res, 201, { Id: def.id, Warning: "" });
}

async function networkPrune({ engine, req, res, query }: Call) {
  req.resume();
  sendJson(res, 200, { NetworksDeleted: await engine.networks.prune(parseFilters(query.get("filters"))) });
}

async function networkConnectOrDisconnect({ engine, req, res, params }: Call) {
  const [ref, verb] = params as [string, "connect" | "disconnect"];
  const body = obj(await readJson(req));
  const target = networkOf(engine, ref);
  if (!("id" in target))
    throw new NetworkError(
      "INVALID_ARGUMENT",
      `containers cannot be ${verb}ed to the ${target.name} network`,
    );
  if (typeof body.Container !== "string" || !body.Container)
    throw new NetworkError("INVALID_ARGUMENT", "Container is required");
  if (verb === "connect") {
    const aliases = obj(body.EndpointConfig).Aliases;
    const names = Array.isArray(aliases) ? aliases.filter((a): a is string => typeof a === "string") : [];
    await engine.networks.connect(body.Container, target.id, names);
  } else await engine.networks.disconnect(body.Container, target.id);
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": 0 }).end();
}

function networkInspect({ engine, res, params }: Call) {
  const net = engine.networks;
  sendJson(res, 200, dockerNetwork(networkOf(engine, params[0]!), net.attachments()));
}

async function networkRemove({ engine, res, params }: Call) {
  const def = networkOf(engine, params[0]!);
  // host and none: the network service refuses them with Docker's message.
  if ("id" in def) await engine.networks.remove(def.id);
  else await engine.networks.service.remove(def.name, []);
  res.writeHead(204).end();
}

/** The network routes of the Docker API. */
export const dockerNetworkRoutes: readonly Route[] = [
  ["GET", /^\/networks$/, networkList],
  ["POST", /^\/networks\/create$/, networkCreate],
  ["POST", /^\/networks\/prune$/, networkPrune],
  ["POST", /^\/networks\/([^/]+)\/(connect|disconnect)$/, networkConnectOrDisconnect],
  ["GET", /^\/networks\/([^/]+)$/, networkInspect],
  ["DELETE", /^\/networks\/([^/]+)$/, networkRemove],
];

/** `HostConfig.PortBindings` as Docker shows a container's configured ports. Pure. */
export function dockerPortBindings(
  ports: readonly PortMapping[],
): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    const list = out[key] ?? [];
    list.push({ HostIp: p.hostIP, HostPort: p.hostPort ? String(p.hostPort) : "" });
    out[key] = list;
  }
  return out;
}

function endpoint(
  a: NetworkAttachment | undefined,
  def: NetworkDefinition | undefined,
): Record<string, unknown> {
  const [ip = "", len = "0"] = (a?.address ?? "").split("/");
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    NetworkID: def?.id ?? "",
    EndpointID: a ? endpointId(a) : "",
    Gateway: a?.gateway ?? "",
    IPAddress: ip,
    IPPrefixLen: Number(len),
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    MacAddress: a?.mac ?? "",
  };
}

function modeName(rec: ContainerRecord): string {
  const m = rec.config.networkMode;
  return m === undefined || m === "" || m === "default" ? DEFAULT_NETWORK : m;
}

/** The endpoints of the networks a container was connected to (`docker network connect`). */
function connected(
  svc: Engine,
  rec: ContainerRecord,
  a: NetworkAttachment | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const views = a ? endpointViews(a).slice(1) : [];
  for (const c of svc.networks.connections(rec.id)) {
    const def = svc.networks.list().find((n) => n.id === c.networkId);
    if (!def) continue;
    out[def.name] = endpoint(
      views.find((v) => v.networkId === c.networkId),
      def,
    );
  }
  return out;
}

function settings(svc: Engine, rec: ContainerRecord): Record<string, unknown> {
  const a = rec.status === "running" ? svc.networks.attachment(rec.id) : undefined;
  const mode = modeName(rec);
  let def: NetworkDefinition | undefined;
  try {
    def = mode === "host" || mode === "none" ? undefined : svc.networks.find(mode);
  } catch {}
  const ep = endpoint(a, def);
  return {
    Bridge: "",
    SandboxID: a ? endpointId(a) : "",
    SandboxKey: a?.netns ?? "",
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: dockerPortMap(a?.ports ?? [], rec.config.exposedPorts ?? []),
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: ep.EndpointID,
    Gateway: ep.Gateway,
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: ep.IPAddress,
    IPPrefixLen: ep.IPPrefixLen,
    IPv6Gateway: "",
    MacAddress: ep.MacAddress,
    // Another container's namespace is not an endpoint of this one (Docker shows none).
    Networks: mode.startsWith("container:") ? {} : { [def?.name ?? mode]: ep, ...connected(svc, rec, a) },
  };
}

/** Adds the network fields to one `GET /containers/json` entry (the `Ports` column). */
export function withNetworkSummary(
  summary: Record<string, unknown>,
  svc: Engine,
  rec: ContainerRecord,
): Record<string, unknown> {
  const a = rec.status === "running" ? svc.networks.attachment(rec.id) : undefined;
  const s = settings(svc, rec);
  return {
    ...summary,
    Ports: dockerPortList(a?.ports ?? []),
    HostConfig: { ...obj(summary.HostConfig), NetworkMode: rec.config.networkMode ?? "default" },
    NetworkSettings: { Networks: s.Networks },
  };
}

/** Adds the network fields to `GET /containers/{id}/json` (what `docker port` reads). */
export function withNetworkInspect(
  info: Record<string, unknown>,
  svc: Engine,
  rec: ContainerRecord,
): Record<string, unknown> {
  return {
    ...info,
    HostConfig: {
      ...obj(info.HostConfig),
      NetworkMode: rec.config.networkMode ?? "default",
      PortBindings: dockerPortBindings(rec.config.ports ?? []),
      ExtraHosts: rec.config.extraHosts ?? null,
      Dns: rec.config.dns?.servers ?? [],
      DnsSearch: rec.config.dns?.search ?? [],
      DnsOptions: rec.config.dns?.options ?? [],
    },
    NetworkSettings: settings(svc, rec),
  };
}
