/**
 * The definitions of pier's networks: CNI conflists under `<root>/networks/` (the default
 * `bridge` made on first use with a subnet free on this host, user networks with subnets from
 * Docker's pools), found by name, id or id prefix. No container state here (see `service.ts`).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  bridgeAddress,
  deleteBridgeDevice,
  deviceIndex,
  makeBridge,
  withHostNetworkLock,
} from "./bridges.js";
import {
  DEFAULT_NETWORK,
  definitionFromConflist,
  type NetworkDefinition,
  networkConflist,
} from "./conflist.js";
import { NetworkError } from "./error.js";
import {
  collision,
  contains,
  DEFAULT_BRIDGE_POOL,
  defaultGateway,
  formatSubnet,
  type HostRoute,
  PODMAN_DEFAULT_SUBNET,
  parseIPv4,
  parseProcRoutes,
  parseSubnet,
  pickSubnet,
  type Subnet,
  subnetOfAddress,
  USER_NETWORK_POOL,
} from "./subnet.js";

/** The pseudo networks that have no CNI config. */
export const BUILTIN_MODES = ["host", "none"] as const;

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A network to create: its name, and optionally its subnet, gateway and labels. */
export interface NetworkCreateRequest {
  name: string;
  subnet?: string;
  gateway?: string;
  labels?: Record<string, string>;
}

/** Options of {@link NetworkDefinitions}. */
export interface NetworkDefinitionsOptions {
  /** Subnet of the default `bridge` network when it is first created. */
  defaultSubnet?: string;
  /** Bridge device of the default network (default pier0). */
  defaultBridge?: string;
}

/** The network definitions under one engine root. */
export class NetworkDefinitions {
  constructor(
    readonly root: string,
    private readonly opts: NetworkDefinitionsOptions,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Where the conflists are. */
  get configDir(): string {
    return join(this.root, "networks");
  }

  /** host-local's data directory for pier's own networks. */
  get ipamDir(): string {
    return join(this.root, "networks", "ipam");
  }

  /**
   * host-local's data directory for `def`: its shared default for the default network on
   * `pier0` (every pier daemon on the host shares that bridge, so they must share its address
   * book), `<root>/networks/ipam` otherwise.
   */
  ipamFor(def: NetworkDefinition): string | undefined {
    return def.name === DEFAULT_NETWORK && def.bridge === "pier0" ? undefined : this.ipamDir;
  }

  /** The conflist file of network `name`. */
  configFile(name: string): string {
    return join(this.configDir, `${name}.conflist`);
  }

  /** The host's IPv4 routes (what a new subnet must not overlap). */
  hostRoutes(): HostRoute[] {
    try {
      return parseProcRoutes(readFileSync("/proc/net/route", "utf8"));
    } catch {
      return [];
    }
  }

  /** Writes `def`'s conflist atomically. */
  write(def: NetworkDefinition): void {
    mkdirSync(this.configDir, { recursive: true, mode: 0o700 });
    const file = this.configFile(def.name);
    const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
    const ipam = this.ipamFor(def);
    writeFileSync(tmp, `${JSON.stringify(networkConflist(def, ipam), null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  }

  /** The default `bridge` network, created on first use with a subnet free on this host. */
  private ensureDefault(): NetworkDefinition {
    const file = this.configFile(DEFAULT_NETWORK);
    if (existsSync(file)) return this.read(DEFAULT_NETWORK);
    const def = this.chooseDefault();
    this.write(def);
    return def;
  }

  /**
   * Makes the default `bridge` network now unless it exists, as {@link makeChosen} makes a
   * network: its subnet picked (or the bridge's adopted) under the host-wide lock. (Chosen
   * lazily, two daemons started together picked the same subnet: the bridge, and so its route,
   * only came with a container.) Throws `INVALID_STATE` when no subnet is free or the bridge
   * cannot be made, writing nothing.
   */
  async prepareDefault(): Promise<void> {
    if (existsSync(this.configFile(DEFAULT_NETWORK))) return;
    const def = await this.makeChosen(() =>
      existsSync(this.configFile(DEFAULT_NETWORK)) ? undefined : this.chooseDefault(),
    );
    if (def) this.log("default network made", { bridge: def.bridge, subnet: def.subnet });
  }

  /**
   * Makes a new network that `choose` defines (`undefined`: nothing to make) while holding the
   * lock every pier daemon on the host takes around such a choice: `choose` runs under it,
   * then the bridge is made with its gateway address before the conflist is written, so that
   * the next daemon's choice sees the subnet's route and takes another subnet (an existing
   * bridge is taken as it is). A failure removes the bridge it made and writes nothing.
   */
  private makeChosen<D extends NetworkDefinition | undefined>(choose: () => D): Promise<D> {
    return withHostNetworkLock(async () => {
      const def = choose();
      if (!def) return def;
      const made = deviceIndex(def.bridge) === undefined;
      if (made) await makeBridge(def);
      try {
        this.write(def);
      } catch (err) {
        if (made) await deleteBridgeDevice(def.bridge);
        throw err;
      }
      return def;
    });
  }

  /** The default network's definition as it would be made now (not written). */
  private chooseDefault(): NetworkDefinition {
    const bridge = this.opts.defaultBridge ?? "pier0";
    // Every daemon on the host shares the bridge, and the bridge plugin refuses a second
    // gateway address on it: an existing bridge's subnet is adopted. Otherwise a subnet is
    // picked that neither a host route nor podman's default network (same 10.88/16) takes.
    const existing = this.opts.defaultSubnet ? undefined : bridgeAddress(bridge);
    const adopted = existing ? subnetOfAddress(existing) : undefined;
    const subnet = this.opts.defaultSubnet
      ? parseSubnet(this.opts.defaultSubnet)
      : (adopted?.subnet ?? pickSubnet(DEFAULT_BRIDGE_POOL, podmanSubnets(), this.hostRoutes(), bridge));
    const def: NetworkDefinition = {
      name: DEFAULT_NETWORK,
      id: randomBytes(32).toString("hex"),
      bridge,
      subnet: formatSubnet(subnet),
      gateway: adopted?.gateway ?? defaultGateway(subnet),
      created: new Date().toISOString(),
      labels: {},
    };
    return def;
  }

  /** Reads network `name`'s conflist. */
  read(name: string): NetworkDefinition {
    const file = this.configFile(name);
    return definitionFromConflist(JSON.parse(readFileSync(file, "utf8")), file);
  }

  /** Every network (the default one first), created ones by name. */
  list(): NetworkDefinition[] {
    const def = this.ensureDefault();
    const others = readdirSync(this.configDir)
      .filter((f) => f.endsWith(".conflist") && f !== `${DEFAULT_NETWORK}.conflist`)
      .map((f) => {
        try {
          return this.read(f.slice(0, -".conflist".length));
        } catch (err) {
          this.log(`skipping network config ${f}: ${(err as Error).message}`);
          return undefined;
        }
      })
      .filter((d): d is NetworkDefinition => d !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
    return [def, ...others];
  }

  /** A network by name, id or unique id prefix. Throws `NOT_FOUND` (`network X not found`). */
  find(ref: string): NetworkDefinition {
    const all = this.list();
    const exact = all.find((n) => n.name === ref || n.id === ref);
    if (exact) return exact;
    const byPrefix = ref.length >= 1 ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    throw new NetworkError("NOT_FOUND", `network ${ref} not found`);
  }

  /**
   * Checks a container's network mode; resolves to `host`, `none`, `container` (another
   * container's namespace, `container:<ref>`, which the caller resolves into
   * {@link ContainerNetworkRequest.join}) or the network. Throws `NOT_FOUND` for an unknown
   * network.
   */
  resolveMode(mode?: string): "host" | "none" | "container" | NetworkDefinition {
    if (mode === "host" || mode === "none") return mode;
    if (mode === undefined || mode === "" || mode === "default") return this.find(DEFAULT_NETWORK);
    if (mode.startsWith("container:")) return "container";
    return this.find(mode);
  }

  /**
   * Creates a bridge network and its bridge device (as dockerd makes a network's bridge at
   * `network create`), as {@link makeChosen} makes a network: its subnet checked or picked under
   * the host-wide lock, so that daemons creating networks at once take different subnets.
   * `subnet` must not overlap another pier network or a host route; without it one is picked
   * from Docker's pools. Throws `NAME_CONFLICT` for a used name, `INVALID_ARGUMENT` for a bad
   * name/subnet/gateway, `INVALID_STATE` for an overlap, no free subnet or a bridge that cannot
   * be made, writing nothing.
   */
  async create(req: NetworkCreateRequest): Promise<NetworkDefinition> {
    if (!NAME_RE.test(req.name) || req.name.length > 64)
      throw new NetworkError(
        "INVALID_ARGUMENT",
        `invalid network name ${JSON.stringify(req.name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
      );
    if ((BUILTIN_MODES as readonly string[]).includes(req.name) || req.name === "default")
      throw new NetworkError("NAME_CONFLICT", `network with name ${req.name} already exists (pre-defined)`);
    const def = await this.makeChosen(() => this.define(req));
    this.log("network created", { name: def.name, id: def.id, subnet: def.subnet });
    return def;
  }

  /** The definition of new network `req` on this host as it is now (called under the host-wide lock). */
  private define(req: NetworkCreateRequest): NetworkDefinition {
    const all = this.list();
    if (all.some((n) => n.name === req.name))
      throw new NetworkError("NAME_CONFLICT", `network with name ${req.name} already exists`);
    const id = randomBytes(32).toString("hex");
    const bridge = `br-${id.slice(0, 12)}`;
    const taken = all.map((n) => parseSubnet(n.subnet));
    const routes = this.hostRoutes();
    let subnet: Subnet;
    if (req.subnet) {
      subnet = parseSubnet(req.subnet);
      if (subnet.prefix > 30)
        throw new NetworkError(
          "INVALID_ARGUMENT",
          `subnet ${req.subnet} is too small for containers (at most /30)`,
        );
      const why = collision(subnet, taken, routes, bridge);
      if (why) throw new NetworkError("INVALID_STATE", `cannot create network ${req.name}: ${why}`);
    } else subnet = pickSubnet(USER_NETWORK_POOL, taken, routes, bridge);
    let gateway = defaultGateway(subnet);
    if (req.gateway) {
      const gw = parseIPv4(req.gateway);
      if (gw === undefined || !contains(subnet, gw))
        throw new NetworkError(
          "INVALID_ARGUMENT",
          `gateway ${req.gateway} is not an address of ${formatSubnet(subnet)}`,
        );
      gateway = req.gateway;
    }
    return {
      name: req.name,
      id,
      bridge,
      subnet: formatSubnet(subnet),
      gateway,
      created: new Date().toISOString(),
      labels: req.labels ?? {},
    };
  }
}

function podmanSubnets(): Subnet[] {
  try {
    const conf = JSON.parse(readFileSync("/etc/containers/networks/podman.json", "utf8")) as {
      subnets?: { subnet?: string }[];
    };
    return (conf.subnets ?? []).flatMap((s) => (s.subnet?.includes(".") ? [parseSubnet(s.subnet)] : []));
  } catch {}
  return ["/usr/bin/podman", "/usr/local/bin/podman"].some((p) => existsSync(p))
    ? [parseSubnet(PODMAN_DEFAULT_SUBNET)]
    : [];
}
