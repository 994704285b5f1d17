/**
 * The engine's networks: definitions persisted as CNI conflists under `<root>/networks/`
 * (`definitions.ts`), and per-container attachments — a network namespace at `<execRoot>/netns/<id>`, `lo` up, the
 * container's network ADDed through CNI with its published ports, and the `/etc/hosts`,
 * `/etc/resolv.conf`, `/etc/hostname` files it gets. Each attachment's state is written to
 * `<execRoot>/network/<id>.json` before anything is created, so a teardown (at exit, at
 * removal, after a failed start, or after a pierd restart) always knows what to undo.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { hostname as hostHostname } from "node:os";
import { join } from "node:path";
import { mountPoints } from "../../runtime/native-mounter.js";
import { MasqueradeRules, removeBridge } from "./bridges.js";
import { CniInvoker, DEFAULT_CNI_PATH } from "./cni.js";
import { type CniResult, containerAddress } from "./cni-result.js";
import {
  attachmentConflist,
  type CniConflist,
  cniName,
  DEFAULT_NETWORK,
  type NetworkDefinition,
  networkConflist,
  restoredConnectionsRule,
} from "./conflist.js";
import { BUILTIN_MODES, type NetworkCreateRequest, NetworkDefinitions } from "./definitions.js";
import { NetworkError } from "./error.js";
import {
  applyDnsOverrides,
  containerResolvConf,
  type DnsOverrides,
  HOST_GATEWAY,
  type HostEntry,
  parseExtraHost,
  renderHostname,
  renderHosts,
} from "./hosts.js";
import { deleteRule, forwardPolicy, insertRule } from "./iptables.js";
import { createNetns, isNetnsMounted, removeNetns } from "./netns.js";
import { allocatePorts } from "./port-allocation.js";
import type { PortMapping } from "./ports.js";
import type { NetworkSpec } from "./spec.js";
import { contains, parseIPv4, parseSubnet } from "./subnet.js";

/** Options of {@link NetworkService}. */
export interface NetworkServiceOptions {
  root: string;
  execRoot: string;
  /** Directory of the CNI plugins (default /usr/lib/cni). */
  cniPath?: string;
  /** Subnet of the default `bridge` network when it is first created (default 10.88.0.0/16). */
  defaultSubnet?: string;
  /** Bridge device of the default network (default pier0). */
  defaultBridge?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** What a container needs from its network: its identity, mode and published ports. */
export interface ContainerNetworkRequest {
  id: string;
  /** The container's name (peers resolve it). */
  name: string;
  /** The container's persistent directory (the hosts/resolv.conf/hostname files go there). */
  dir: string;
  /** `none`, `host`, `bridge`/`default`, or a user network's name or id; default `bridge`. */
  mode?: string;
  hostname?: string;
  ports?: readonly PortMapping[];
  /** `--add-host` entries (`name:ip`, `ip` may be `host-gateway`). */
  extraHosts?: readonly string[];
  /** `--dns`, `--dns-search`, `--dns-option`. */
  dns?: DnsOverrides;
  /** More names its peers on a user network resolve it by (`--network-alias`, compose's service name). */
  aliases?: readonly string[];
  /** `--ip`: the IPv4 address it must get on its (user) network. */
  ip?: string;
  /**
   * A restored checkpoint's address (`10.88.0.2/16` or bare): asked for again on its network
   * when it lies in that network's subnet (any network, the default one too), else a new one is
   * given, as podman restores the same address where it can.
   */
  previousAddress?: string;
  /**
   * A restored checkpoint's MAC address (`mac_address` of its network status), given to eth0
   * again together with its previous address (not with a new one), as podman restores it: the
   * host's neighbour entry for that address, still pointing at the old MAC, stays right.
   */
  previousMac?: string;
  /**
   * It is restored with its TCP connections (`--tcp-established`): they are not masqueraded
   * when the host picks them up mid-stream ({@link restoredConnectionsRule}).
   */
  restoredConnections?: boolean;
  /**
   * A network given as a CNI conflist (a CRI pod's, from the CNI config directory) instead of
   * the mode's network: ADDed with the published ports as runtime config, DELeted at teardown.
   */
  cni?: CniConflist;
  /** For `container:<ref>`: that container's id and directory (its namespace and files are shared). */
  join?: { id: string; dir: string };
}

/** One container's live attachment (what `<execRoot>/network/<id>.json` holds). */
export interface NetworkAttachment {
  id: string;
  name: string;
  hostname: string;
  /** The network's name; absent for `none`. */
  network?: string;
  networkId?: string;
  netns: string;
  hostsFile: string;
  /** `--add-host` entries, `host-gateway` resolved. */
  extraHosts?: HostEntry[];
  /** Extra names peers resolve this container by. */
  aliases?: string[];
  /** Networks it was connected to beyond its own (`docker network connect`): eth1, eth2, … */
  endpoints?: NetworkEndpoint[];
  /** The address asked for with `--ip`, in CIDR form. */
  ip?: string;
  /** The MAC address asked for (a restored checkpoint's, with its address). */
  staticMac?: string;
  /** Restored with its TCP connections: {@link restoredConnectionsRule} is in place for its address. */
  restoredConnections?: boolean;
  /** The conflist the container was ADDed with (DEL uses the same). */
  conflist?: CniConflist;
  /** Published ports with the host ports actually used. */
  ports: PortMapping[];
  result?: CniResult;
  /** `10.88.0.2/16`. */
  address?: string;
  gateway?: string;
  mac?: string;
}

/** One more network a running container is on (`docker network connect`). */
export interface NetworkEndpoint {
  network: string;
  networkId: string;
  /** `eth1`, `eth2`, … */
  ifname: string;
  aliases?: string[];
  conflist: CniConflist;
  result?: CniResult;
  address?: string;
  gateway?: string;
  mac?: string;
}

/** A persisted `docker network connect`: re-applied at every start until disconnected. */
export interface NetworkConnection {
  networkId: string;
  aliases?: string[];
}

/** A small host file's text, or `fallback` when it cannot be read. */
function readTextOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/**
 * Networks and container attachments: the definitions (`definitions.ts`), each container's
 * namespace, CNI ADD/DEL, connections to further networks, hosts files and published ports.
 */
export class NetworkService {
  readonly root: string;
  readonly execRoot: string;
  private readonly cni: CniInvoker;
  private readonly log: (msg: string, fields?: Record<string, unknown>) => void;
  /** Serialises hosts-file refreshes (two containers joining at once must both be seen). */
  private hostsQueue: Promise<void> = Promise.resolve();
  /** The masquerade rules this process has put in place. */
  private readonly masquerade = new MasqueradeRules();
  private policy: { value: string; at: number } | undefined;
  /** CNI ADDs in progress (a teardown waits for them), by container id. */
  private readonly attaching = new Map<string, Promise<unknown>>();
  /** Teardowns in progress, by container id. */
  private readonly inflight = new Map<string, Promise<void>>();

  /** The networks' definitions (conflists under `<root>/networks/`). */
  readonly definitions: NetworkDefinitions;

  constructor(opts: NetworkServiceOptions) {
    this.root = opts.root;
    this.execRoot = opts.execRoot;
    this.definitions = new NetworkDefinitions(
      opts.root,
      {
        ...(opts.defaultSubnet ? { defaultSubnet: opts.defaultSubnet } : {}),
        ...(opts.defaultBridge ? { defaultBridge: opts.defaultBridge } : {}),
      },
      opts.log ?? (() => {}),
    );
    this.cni = new CniInvoker(opts.cniPath ?? DEFAULT_CNI_PATH);
    this.log = opts.log ?? (() => {});
  }

  /** See {@link NetworkDefinitions.prepareDefault}: pierd calls it at start, as dockerd makes docker0. */
  prepareDefault(): Promise<void> {
    return this.definitions.prepareDefault();
  }

  /** Every network, the default `bridge` first (made on first use). */
  list(): NetworkDefinition[] {
    return this.definitions.list();
  }

  /** A network by name, id or unique id prefix; `NOT_FOUND` otherwise. */
  find(ref: string): NetworkDefinition {
    return this.definitions.find(ref);
  }

  /** See {@link NetworkDefinitions.resolveMode}. */
  resolveMode(mode?: string): "host" | "none" | "container" | NetworkDefinition {
    return this.definitions.resolveMode(mode);
  }

  /** See {@link NetworkDefinitions.create}. */
  create(req: NetworkCreateRequest): Promise<NetworkDefinition> {
    return this.definitions.create(req);
  }

  private stateFile(id: string): string {
    return join(this.execRoot, "network", `${id}.json`);
  }

  /** Where a container's network namespace is bound. */
  netnsPath(id: string): string {
    return join(this.execRoot, "netns", id);
  }

  /**
   * Removes a user network and its bridge. Throws `INVALID_STATE` (409) when `users` (names of
   * containers configured for it) is not empty, and `INVALID_ARGUMENT` for the pre-defined ones.
   */
  async remove(ref: string, users: readonly string[]): Promise<void> {
    await this.settled();
    if ((BUILTIN_MODES as readonly string[]).includes(ref) || ref === DEFAULT_NETWORK)
      throw new NetworkError("INVALID_ARGUMENT", `${ref} is a pre-defined network and cannot be removed`);
    const def = this.find(ref);
    if (def.name === DEFAULT_NETWORK)
      throw new NetworkError(
        "INVALID_ARGUMENT",
        `${def.name} is a pre-defined network and cannot be removed`,
      );
    const attached = this.attachments()
      .filter((a) => this.networkIdsOf(a).includes(def.id))
      .map((a) => a.name);
    const all = [...new Set([...users, ...attached])];
    if (all.length)
      throw new NetworkError(
        "INVALID_STATE",
        `error while removing network: network ${def.name} id ${def.id} has active endpoints (${all.join(", ")})`,
      );
    rmSync(this.definitions.configFile(def.name), { force: true });
    await removeBridge(def, this.masquerade, true);
    rmSync(join(this.definitions.ipamDir, cniName(def)), { recursive: true, force: true });
    this.log("network removed", { name: def.name, id: def.id });
  }

  /**
   * On a clean stop of pierd: removes the bridge and masquerade rule of each network no
   * container is on (any daemon's: the default bridge may be shared), or of every network with
   * `evenInUse` (a test daemon's own bridges after its containers were killed). Bridges come
   * back at the next container's start.
   */
  async shutdown(evenInUse = false): Promise<void> {
    let defs: NetworkDefinition[];
    try {
      defs = existsSync(this.definitions.configDir) ? this.list() : [];
    } catch {
      return;
    }
    for (const def of defs) {
      if (!evenInUse && this.attachments().some((a) => this.networkIdsOf(a).includes(def.id))) continue;
      if (await removeBridge(def, this.masquerade, evenInUse))
        this.log("bridge removed", { network: def.name, bridge: def.bridge });
    }
  }

  /** Every live attachment (containers whose network is set up). */
  attachments(): NetworkAttachment[] {
    const dir = join(this.execRoot, "network");
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith(".json"));
    } catch {
      return [];
    }
    const out: NetworkAttachment[] = [];
    for (const f of files) {
      const a = this.attachment(f.slice(0, -5));
      if (a) out.push(a);
    }
    return out;
  }

  /** A container's live attachment, or `undefined` when it has none (stopped, host network). */
  attachment(id: string): NetworkAttachment | undefined {
    try {
      return JSON.parse(readFileSync(this.stateFile(id), "utf8")) as NetworkAttachment;
    } catch {
      return undefined;
    }
  }

  private async saveState(a: NetworkAttachment): Promise<void> {
    mkdirSync(join(this.execRoot, "network"), { recursive: true, mode: 0o700 });
    const file = this.stateFile(a.id);
    writeFileSync(`${file}.tmp`, JSON.stringify(a));
    renameSync(`${file}.tmp`, file);
  }

  /**
   * At container create: checks the mode (`NOT_FOUND` for an unknown network), writes the
   * container's resolv.conf, hostname and a first hosts file into `req.dir`, and returns what
   * the runtime spec needs.
   */
  async prepare(req: ContainerNetworkRequest): Promise<NetworkSpec> {
    const mode = this.resolveMode(req.mode);
    if (mode === "container") {
      const peer = this.joined(req);
      return {
        netns: this.netnsPath(peer.id),
        files: {
          hosts: join(peer.dir, "hosts"),
          resolvConf: join(peer.dir, "resolv.conf"),
          hostname: join(peer.dir, "hostname"),
        },
      };
    }
    mkdirSync(req.dir, { recursive: true, mode: 0o700 });
    const files = {
      hosts: join(req.dir, "hosts"),
      resolvConf: join(req.dir, "resolv.conf"),
      hostname: join(req.dir, "hostname"),
    };
    if (req.ip) {
      if (typeof mode !== "object")
        throw new NetworkError("INVALID_ARGUMENT", `--ip needs a user network, not --network ${req.mode}`);
      staticAddress(req.ip, mode);
    }
    const hostResolv = readTextOr("/etc/resolv.conf", "");
    const extra = this.extraHosts(req, mode);
    if (mode === "host") {
      const hostHosts = readTextOr("/etc/hosts", renderHosts({ names: [] }));
      const added = extra.map((e) => `${e.ip}\t${e.names.join(" ")}\n`).join("");
      writeFileSync(files.hosts, `${hostHosts}${hostHosts.endsWith("\n") || !hostHosts ? "" : "\n"}${added}`);
      writeFileSync(files.resolvConf, applyDnsOverrides(containerResolvConf(hostResolv, true), req.dns));
      writeFileSync(files.hostname, renderHostname(hostHostname()));
      return { files };
    }
    const name = req.hostname ?? req.id.slice(0, 12);
    writeFileSync(files.hosts, renderHosts({ names: [name] }, [], extra));
    writeFileSync(files.resolvConf, applyDnsOverrides(containerResolvConf(hostResolv), req.dns));
    writeFileSync(files.hostname, renderHostname(name));
    return { netns: this.netnsPath(req.id), files };
  }

  /**
   * At container start: makes the namespace, brings `lo` up, ADDs the network with the
   * published ports (a host port 0 gets a free one), writes the hosts files of the container
   * and of its peers. Resolves with the attachment (`undefined` for the host network). On any
   * failure everything made so far is undone before the error is thrown.
   */
  async setup(req: ContainerNetworkRequest): Promise<NetworkAttachment | undefined> {
    return (await this.begin(req)).attached;
  }

  /**
   * {@link setup} in two steps, so the runtime can create the container while the plugins run:
   * resolves once the namespace exists (joinable by path); `attached` settles when the
   * network is ADDed (on its failure everything is undone before it rejects). The container's
   * process must not start before `attached` resolved.
   */
  async begin(req: ContainerNetworkRequest): Promise<{ attached: Promise<NetworkAttachment | undefined> }> {
    const mode = this.resolveMode(req.mode);
    if (mode === "host") return { attached: Promise.resolve(undefined) };
    if (mode === "container") {
      const peer = this.joined(req);
      if (!isNetnsMounted(this.netnsPath(peer.id)))
        throw new NetworkError(
          "INVALID_STATE",
          `cannot join the network namespace of container ${peer.id}: it is not running`,
        );
      return { attached: Promise.resolve(undefined) };
    }
    await this.teardown(req.id);
    const a: NetworkAttachment = {
      id: req.id,
      name: req.name,
      hostname: req.hostname ?? req.id.slice(0, 12),
      ...(req.aliases?.length ? { aliases: [...req.aliases] } : {}),
      extraHosts: this.extraHosts(req, mode),
      netns: this.netnsPath(req.id),
      hostsFile: join(req.dir, "hosts"),
      ports: [],
    };
    if (req.cni && mode !== "none") {
      a.network = req.cni.name;
      a.ports = await this.resolvePorts(req.ports ?? [], req.id);
      a.conflist = req.cni;
    } else if (mode !== "none") {
      a.network = mode.name;
      a.networkId = mode.id;
      if (req.ip) a.ip = staticAddress(req.ip, mode);
      else if (req.previousAddress) {
        const again = sameAddress(req.previousAddress, mode);
        if (again) a.ip = again;
        if (again && req.previousMac) a.staticMac = unicastMac(req.previousMac);
      }
      if (req.restoredConnections) a.restoredConnections = true;
      a.ports = await this.resolvePorts(req.ports ?? [], req.id);
      a.conflist = attachmentConflist(networkConflist(mode, this.definitions.ipamFor(mode)), {
        publishes: a.ports.length > 0,
        forwardAccepts: (await this.forwardPolicy()) === "ACCEPT",
        staticIp: a.ip !== undefined,
        staticMac: a.staticMac !== undefined,
      });
      await this.masquerade.ensure(mode);
    }
    await this.saveState(a);
    try {
      await createNetns(a.netns);
    } catch (err) {
      await this.teardown(req.id).catch((e: Error) => this.log(`network teardown ${req.id}: ${e.message}`));
      throw err;
    }
    const adding = this.attach(a);
    this.attaching.set(a.id, adding);
    const attached = adding.then(
      (done) => {
        this.attaching.delete(a.id);
        return done;
      },
      async (err: unknown) => {
        this.attaching.delete(a.id);
        await this.teardown(a.id).catch((e: Error) => this.log(`network teardown ${a.id}: ${e.message}`));
        throw err;
      },
    );
    // A caller that fails before it awaits `attached` must not leave an unhandled rejection.
    attached.catch(() => {});
    return { attached };
  }

  /** The CNI ADD of a prepared attachment, its state, and the hosts files. */
  private async attach(a: NetworkAttachment): Promise<NetworkAttachment> {
    if (a.conflist) {
      const result = await this.cni.add(
        a.conflist,
        { containerId: a.id, netns: a.netns, ifname: "eth0" },
        this.runtimeConfig(a),
      );
      a.result = result;
      const addr = containerAddress(result, "eth0");
      if (!addr)
        throw new NetworkError(
          "CNI_INVALID_RESULT",
          `network ${a.network} gave the container no IPv4 address`,
        );
      a.address = addr.address;
      if (addr.gateway) a.gateway = addr.gateway;
      if (addr.mac) a.mac = addr.mac;
      await this.saveState(a);
      if (a.restoredConnections) await insertRule("nat", "POSTROUTING", restoredConnectionsRule(a.address));
    }
    for (const c of this.connections(a.id)) {
      const def = this.list().find((n) => n.id === c.networkId);
      if (def) await this.addEndpoint(a, def, c.aliases ?? []);
      else this.log(`network ${c.networkId} of ${a.id} is gone: not connected`);
    }
    if (a.endpoints?.length) await this.saveState(a);
    await this.refreshHosts(this.networkIdsOf(a), a);
    this.log("network attached", { id: a.id, network: a.network ?? "none", address: a.address ?? "" });
    return a;
  }

  /** The ids of every network an attachment is on (its own first). */
  private networkIdsOf(a: NetworkAttachment): string[] {
    return [...(a.networkId ? [a.networkId] : []), ...(a.endpoints ?? []).map((e) => e.networkId)];
  }

  private connectionsFile(id: string): string {
    return join(this.definitions.configDir, "endpoints", `${id}.json`);
  }

  /** The networks container `id` was connected to beyond its own, in order. */
  connections(id: string): NetworkConnection[] {
    try {
      return JSON.parse(readFileSync(this.connectionsFile(id), "utf8")) as NetworkConnection[];
    } catch {
      return [];
    }
  }

  private saveConnections(id: string, list: readonly NetworkConnection[]): void {
    const file = this.connectionsFile(id);
    if (!list.length) {
      rmSync(file, { force: true });
      return;
    }
    mkdirSync(join(this.definitions.configDir, "endpoints"), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, JSON.stringify(list));
    renameSync(`${file}.tmp`, file);
  }

  /** Ids of the containers connected to network `networkId` beyond their own network. */
  connectedTo(networkId: string): string[] {
    let files: string[];
    try {
      files = readdirSync(join(this.definitions.configDir, "endpoints")).filter((f) => f.endsWith(".json"));
    } catch {
      return [];
    }
    return files
      .map((f) => f.slice(0, -5))
      .filter((id) => this.connections(id).some((c) => c.networkId === networkId));
  }

  /** Drops a removed container's connections. */
  forget(id: string): void {
    rmSync(this.connectionsFile(id), { force: true });
  }

  /** ADDs `def` to a live attachment as its next interface (the caller saves the state). */
  private async addEndpoint(
    a: NetworkAttachment,
    def: NetworkDefinition,
    aliases: readonly string[],
  ): Promise<void> {
    const used = new Set((a.endpoints ?? []).map((e) => e.ifname));
    let n = 1;
    while (used.has(`eth${n}`)) n++;
    const e: NetworkEndpoint = {
      network: def.name,
      networkId: def.id,
      ifname: `eth${n}`,
      ...(aliases.length ? { aliases: [...aliases] } : {}),
      conflist: attachmentConflist(networkConflist(def, this.definitions.ipamFor(def)), {
        publishes: false,
        forwardAccepts: (await this.forwardPolicy()) === "ACCEPT",
      }),
    };
    await this.masquerade.ensure(def);
    e.result = await this.cni.add(e.conflist, { containerId: a.id, netns: a.netns, ifname: e.ifname });
    const addr = containerAddress(e.result, e.ifname);
    if (!addr) {
      await this.cni
        .del(e.conflist, { containerId: a.id, netns: a.netns, ifname: e.ifname }, {}, e.result)
        .catch(() => {});
      throw new NetworkError("CNI_INVALID_RESULT", `network ${def.name} gave the container no IPv4 address`);
    }
    e.address = addr.address;
    if (addr.gateway) e.gateway = addr.gateway;
    if (addr.mac) e.mac = addr.mac;
    a.endpoints = [...(a.endpoints ?? []), e];
  }

  /**
   * `docker network connect`: puts container `req.id` on network `ref` as well, now when it runs
   * and at every later start. Throws `INVALID_ARGUMENT` for a container on the host's, no or
   * another container's network, `INVALID_STATE` when it is on that network already.
   */
  async connect(req: ContainerNetworkRequest, ref: string, aliases: readonly string[] = []): Promise<void> {
    const mode = this.resolveMode(req.mode);
    if (typeof mode !== "object")
      throw new NetworkError(
        "INVALID_ARGUMENT",
        `container ${req.name} shares a network namespace (--network ${req.mode}) and cannot be connected to networks`,
      );
    const def = this.find(ref);
    const list = this.connections(req.id);
    if (def.id === mode.id || list.some((c) => c.networkId === def.id))
      throw new NetworkError(
        "INVALID_STATE",
        `endpoint with name ${req.name} already exists in network ${def.name}`,
      );
    const a = this.attachment(req.id);
    if (a) {
      await this.addEndpoint(a, def, aliases);
      await this.saveState(a);
      await this.refreshHosts([def.id], a);
    }
    this.saveConnections(req.id, [
      ...list,
      { networkId: def.id, ...(aliases.length ? { aliases: [...aliases] } : {}) },
    ]);
    this.log("network connected", { id: req.id, network: def.name });
  }

  /**
   * `docker network disconnect`: takes container `req.id` off network `ref` (now and for later
   * starts). The network it was created on cannot be taken away (`INVALID_ARGUMENT`); a
   * network it is not on is `NOT_FOUND`.
   */
  async disconnect(req: ContainerNetworkRequest, ref: string): Promise<void> {
    const mode = this.resolveMode(req.mode);
    const def = this.find(ref);
    if (typeof mode === "object" && def.id === mode.id)
      throw new NetworkError(
        "INVALID_ARGUMENT",
        `container ${req.name} was created on network ${def.name}: pier cannot disconnect it from that one`,
      );
    const list = this.connections(req.id);
    if (!list.some((c) => c.networkId === def.id))
      throw new NetworkError("NOT_FOUND", `container ${req.name} is not connected to network ${def.name}`);
    const a = this.attachment(req.id);
    const e = a?.endpoints?.find((x) => x.networkId === def.id);
    if (a && e) {
      await this.cni.del(e.conflist, { containerId: a.id, netns: a.netns, ifname: e.ifname }, {}, e.result);
      a.endpoints = a.endpoints?.filter((x) => x !== e);
      await this.saveState(a);
      await this.refreshHosts([def.id], a);
    }
    this.saveConnections(
      req.id,
      list.filter((c) => c.networkId !== def.id),
    );
    this.log("network disconnected", { id: req.id, network: def.name });
  }

  /** The FORWARD policy, read at most every 10 s (an iptables run per start is measurable). */
  private async forwardPolicy(): Promise<string> {
    if (!this.policy || Date.now() - this.policy.at > 10_000)
      this.policy = { value: await forwardPolicy(), at: Date.now() };
    return this.policy.value;
  }

  /** The container a `container:<ref>` mode joins; `INVALID_ARGUMENT` when the caller did not say. */
  private joined(req: ContainerNetworkRequest): { id: string; dir: string } {
    if (!req.join)
      throw new NetworkError(
        "INVALID_ARGUMENT",
        `network mode ${req.mode}: the container to join is unknown`,
      );
    if (req.join.id === req.id)
      throw new NetworkError("INVALID_ARGUMENT", "a container cannot join its own network");
    return req.join;
  }

  /**
   * A container's `--add-host` entries; `host-gateway` is its network's gateway (the default
   * network's for `none` and `host`), the host's address as the container sees it.
   */
  private extraHosts(
    req: ContainerNetworkRequest,
    mode: "host" | "none" | "container" | NetworkDefinition,
  ): HostEntry[] {
    const entries = (req.extraHosts ?? []).map(parseExtraHost);
    if (!entries.some((e) => e.ip === HOST_GATEWAY)) return entries;
    const gw = typeof mode === "object" ? mode.gateway : this.find(DEFAULT_NETWORK).gateway;
    return entries.map((e) => (e.ip === HOST_GATEWAY ? { ...e, ip: gw } : e));
  }

  private runtimeConfig(a: NetworkAttachment): Record<string, unknown> {
    return {
      ...(a.ip ? { ips: [a.ip] } : {}),
      ...(a.staticMac ? { mac: a.staticMac } : {}),
      portMappings: a.ports.map((p) => ({
        hostPort: p.hostPort,
        containerPort: p.containerPort,
        protocol: p.protocol,
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      })),
    };
  }

  /** Host ports for `ports` of container `id`, none taken by another container (see {@link allocatePorts}). */
  private resolvePorts(ports: readonly PortMapping[], id: string): Promise<PortMapping[]> {
    const used = this.attachments()
      .filter((a) => a.id !== id)
      .flatMap((a) => a.ports);
    return allocatePorts(ports, used);
  }

  /**
   * Rewrites the hosts file of `self` and of every container on the user networks `networkIds`,
   * so each one resolves every other container it shares a user network with, by name, id,
   * hostname and aliases (the default bridge has no name resolution, as in Docker). Files are
   * rewritten in place: the bind mount in each container keeps seeing the same inode.
   */
  private refreshHosts(networkIds: readonly (string | undefined)[], self?: NetworkAttachment): Promise<void> {
    const job = this.hostsQueue.then(async () => {
      const user = new Set(
        this.list()
          .filter((n) => n.name !== DEFAULT_NETWORK)
          .map((n) => n.id),
      );
      // Peers matter only on a user network that changed: otherwise (none, host, the default
      // bridge) just the container's own file is rewritten, without reading every attachment.
      const peersChanged = networkIds.some((n) => n !== undefined && user.has(n));
      const all = peersChanged ? this.attachments().filter((a) => a.id !== self?.id) : [];
      if (self) all.push(self);
      type Ep = {
        networkId?: string | undefined;
        address?: string | undefined;
        aliases?: string[] | undefined;
      };
      const eps = (a: NetworkAttachment) =>
        ([{ networkId: a.networkId, address: a.address, aliases: a.aliases }, ...(a.endpoints ?? [])] as Ep[])
          .filter((e) => e.networkId !== undefined && e.address !== undefined && user.has(e.networkId))
          .map((e) => ({ networkId: e.networkId!, address: e.address!, aliases: e.aliases ?? [] }));
      const names = (a: NetworkAttachment, aliases?: readonly string[]) => [
        a.hostname,
        a.name,
        a.id.slice(0, 12),
        ...(aliases ?? []),
      ];
      const changed = new Set(networkIds);
      for (const t of all) {
        const on = new Set(eps(t).map((e) => e.networkId));
        if (t.id !== self?.id && ![...on].some((n) => changed.has(n))) continue;
        const own = t.address
          ? { ip: t.address.split("/")[0]!, names: names(t, t.aliases) }
          : { names: [t.hostname] };
        const peers: HostEntry[] = [];
        for (const o of all)
          if (o.id !== t.id)
            for (const e of eps(o))
              if (on.has(e.networkId))
                peers.push({ ip: e.address.split("/")[0]!, names: names(o, e.aliases) });
        await writeFile(t.hostsFile, renderHosts(own, peers, t.extraHosts ?? [])).catch((e: Error) =>
          this.log(`hosts file of ${t.id}: ${e.message}`),
        );
      }
    });
    this.hostsQueue = job.catch(() => {});
    return job;
  }

  /**
   * Undoes a container's attachment: CNI DEL with the config and result of its ADD (releasing
   * its address, veth and iptables rules), then the namespace. Idempotent; nothing to do for a
   * container without one. Peers' hosts files drop the container. A teardown of `id` already
   * running is joined, not repeated, so callers may start one in the background and anyone who
   * needs it finished (a new setup, a network removal) awaits the same promise.
   */
  teardown(id: string): Promise<void> {
    const running = this.inflight.get(id);
    if (running) return running;
    const p = this.doTeardown(id).finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  /** Resolves once every teardown started so far has finished (failed ones included). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }

  private async doTeardown(id: string): Promise<void> {
    await this.attaching.get(id)?.catch(() => {});
    const a = this.attachment(id);
    if (!a) {
      if (isNetnsMounted(this.netnsPath(id)) || existsSync(this.netnsPath(id)))
        await removeNetns(this.netnsPath(id));
      return;
    }
    let first: unknown;
    // The namespace goes first: the kernel then destroys the veth with it, in the background,
    // and the plugins' DEL (given no namespace, as the spec allows) only releases the address
    // and rules. Deleting the veth in the namespace takes the bridge plugin ~50 ms.
    await removeNetns(a.netns).catch((err) => {
      first = err;
    });
    for (const e of [...(a.endpoints ?? [])].reverse())
      await this.cni
        .del(e.conflist, { containerId: a.id, netns: "", ifname: e.ifname }, {}, e.result)
        .catch((err) => {
          first ??= err;
        });
    if (a.conflist) {
      await this.cni
        .del(a.conflist, { containerId: a.id, netns: "", ifname: "eth0" }, this.runtimeConfig(a), a.result)
        .catch((err) => {
          first ??= err;
        });
    }
    if (a.restoredConnections && a.address)
      await deleteRule("nat", "POSTROUTING", restoredConnectionsRule(a.address)).catch((err) => {
        first ??= err;
      });
    rmSync(this.stateFile(id), { force: true });
    await this.refreshHosts(this.networkIdsOf(a));
    this.log("network detached", { id, network: a.network ?? "none" });
    if (first) throw first;
  }

  /**
   * After a pierd start: tears down every attachment whose container is not in `running`
   * (it exited or was removed while pierd was down), so no namespace, veth, address or
   * iptables rule outlives its container.
   */
  async reconcile(running: ReadonlySet<string>): Promise<void> {
    await this.settled();
    for (const a of this.attachments()) {
      if (running.has(a.id)) continue;
      await this.teardown(a.id).catch((e: Error) => this.log(`network reconcile ${a.id}: ${e.message}`));
    }
    this.releaseLeakedAddresses();
  }

  /**
   * Frees the default network's addresses whose container has no network namespace mounted
   * anywhere on the host: a pierd killed with its containers (as tests do) never ran their DEL,
   * and the address book of `pier0` is shared by every daemon. A namespace is mounted before its
   * ADD and unmounted before its DEL, so a live attachment is never taken for a leak.
   */
  private releaseLeakedAddresses(): void {
    const def = this.find(DEFAULT_NETWORK);
    const dir = join(this.definitions.ipamFor(def) ?? "/var/lib/cni/networks", cniName(def));
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => parseIPv4(f) !== undefined);
    } catch {
      return;
    }
    const mounted = new Set(
      mountPoints()
        .map((m) => /\/netns\/([0-9a-f]{64})$/.exec(m)?.[1])
        .filter((id): id is string => id !== undefined),
    );
    for (const f of files) {
      try {
        const owner = readFileSync(join(dir, f), "utf8").split(/\r?\n/)[0]?.trim() ?? "";
        if (!/^[0-9a-f]{64}$/.test(owner) || mounted.has(owner)) continue;
        rmSync(join(dir, f), { force: true });
        this.log("released a leaked address", { network: def.name, address: f, container: owner });
      } catch {}
    }
  }
}

/**
 * The CIDR form of an `--ip` address on `def`; `INVALID_ARGUMENT` on the default network (as
 * Docker: user networks only), outside the subnet, or the gateway's.
 */
function staticAddress(ip: string, def: NetworkDefinition): string {
  if (def.name === DEFAULT_NETWORK)
    throw new NetworkError(
      "INVALID_ARGUMENT",
      "user specified IP address is supported on user defined networks only",
    );
  const n = parseIPv4(ip);
  const subnet = parseSubnet(def.subnet);
  if (n === undefined || !contains(subnet, n) || ip === def.gateway)
    throw new NetworkError(
      "INVALID_ARGUMENT",
      `invalid IP address ${ip}: not a free host address of network ${def.name} (${def.subnet})`,
    );
  return `${ip}/${subnet.prefix}`;
}

/**
 * `previous` (an address, bare or CIDR) in CIDR form on `def` when `def`'s subnet holds it and it
 * is not the gateway; else `undefined` (the container gets a new address). Pure.
 */
export function sameAddress(previous: string, def: NetworkDefinition): string | undefined {
  const ip = previous.split("/")[0] ?? "";
  const n = parseIPv4(ip);
  const subnet = parseSubnet(def.subnet);
  if (n === undefined || !contains(subnet, n) || ip === def.gateway) return undefined;
  return `${ip}/${subnet.prefix}`;
}

/**
 * `mac` as a unicast Ethernet address in lower case; throws `INVALID_ARGUMENT` naming it
 * otherwise (it comes from a checkpoint archive, which a stranger may have written). Pure.
 */
export function unicastMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m) || (Number.parseInt(m.slice(0, 2), 16) & 1) === 1)
    throw new NetworkError(
      "INVALID_ARGUMENT",
      `MAC address ${JSON.stringify(mac)} is not a unicast Ethernet address`,
    );
  return m;
}

/**
 * The subnets podman's default network will take on this host: its configured one, or 10.88/16
 * when podman is installed without a config (netavark makes `podman0` only while a container
 * runs, so the host's routes do not show it).
 */
