/**
 * A pier network as a CNI network configuration list (what `<root>/networks/<name>.conflist`
 * holds): the bridge plugin with host-local addresses, then portmap (published ports) and
 * firewall (forwarding allowed even where the FORWARD policy drops). pier's own fields (id,
 * creation time, labels) ride in a top-level `pier` key, which CNI runtimes ignore.
 * Outbound masquerading is one rule per network ({@link masqueradeRule}), not the bridge
 * plugin's per-container chain: that chain costs two iptables runs per start and per stop. Pure.
 */

import type { CniResult } from "./cni-result.js";
import { NetworkError } from "./error.js";
import { parseSubnet } from "./subnet.js";

/** The CNI spec version pier writes and speaks. */
export const CNI_VERSION = "1.0.0";

/** A network as pier knows it. */
export interface NetworkDefinition {
  /** The user's name (`bridge` for the default network). */
  name: string;
  /** 64 hex characters, as Docker's network ids. */
  id: string;
  /** The Linux bridge device (`pier0`, `br-<id12>`). */
  bridge: string;
  /** IPv4 subnet in CIDR form. */
  subnet: string;
  gateway: string;
  /** RFC 3339. */
  created: string;
  labels: Record<string, string>;
}

/** One plugin's configuration within a list (`type` names the binary in CNI_PATH). */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A CNI network configuration list. */
export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
  pier?: { id: string; network: string; created: string; labels: Record<string, string> };
}

/** The name of the default network, as in Docker. */
export const DEFAULT_NETWORK = "bridge";

/** The CNI network name of a pier network (host-local keys its address files by it). */
export function cniName(def: NetworkDefinition): string {
  return def.name === DEFAULT_NETWORK ? "pier" : `pier-${def.id.slice(0, 12)}`;
}

/**
 * The conflist of a network. `ipamDir` is host-local's data directory (default: its own
 * `/var/lib/cni/networks`, which every pier daemon on the host shares, as they share `pier0`).
 */
export function networkConflist(def: NetworkDefinition, ipamDir?: string): CniConflist {
  return {
    cniVersion: CNI_VERSION,
    name: cniName(def),
    plugins: [
      {
        type: "bridge",
        bridge: def.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: def.subnet, gateway: def.gateway }]],
          routes: [{ dst: "0.0.0.0/0" }],
          ...(ipamDir ? { dataDir: ipamDir } : {}),
        },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
      { type: "firewall", backend: "iptables" },
    ],
    pier: { id: def.id, network: def.name, created: def.created, labels: def.labels },
  };
}

/**
 * The plugins one container is ADDed with: portmap only when it publishes ports, firewall only
 * when the host's FORWARD policy would drop its traffic (each plugin run costs a process and
 * iptables calls, at start and again at stop); with `staticIp` the bridge plugin takes the
 * `ips` capability, which it hands to host-local (`--ip`); with `staticMac` the `mac` capability
 * (eth0's address, a restored checkpoint's).
 */
export function attachmentConflist(
  list: CniConflist,
  opts: { publishes: boolean; forwardAccepts: boolean; staticIp?: boolean; staticMac?: boolean },
): CniConflist {
  return {
    ...list,
    plugins: list.plugins
      .filter(
        (p) => !(p.type === "portmap" && !opts.publishes) && !(p.type === "firewall" && opts.forwardAccepts),
      )
      .map((p) =>
        p.type === "bridge" && (opts.staticIp || opts.staticMac)
          ? {
              ...p,
              capabilities: {
                ...p.capabilities,
                ...(opts.staticIp ? { ips: true } : {}),
                ...(opts.staticMac ? { mac: true } : {}),
              },
            }
          : p,
      ),
  };
}

/**
 * The `nat POSTROUTING` rule (iptables arguments after the chain) that masquerades what a
 * network's containers send out of the host, as Docker's one rule per bridge.
 */
export function masqueradeRule(def: NetworkDefinition): string[] {
  return [
    "-s",
    def.subnet,
    "!",
    "-o",
    def.bridge,
    "-m",
    "comment",
    "--comment",
    `pier bridge ${def.bridge}`,
    "-j",
    "MASQUERADE",
  ];
}

/**
 * The `nat POSTROUTING` rule that keeps a restored container's TCP connections unmasqueraded
 * (`--tcp-established`): the host's connection tracking knows nothing of them, so their first
 * packet (a window probe or an ACK, never a SYN) is taken for a new connection and would be
 * masqueraded to the host's address, which their peer does not know: it answers with a reset.
 * Only such picked-up connections of `address` (`10.88.0.2/16` or bare) are exempt; the
 * container's new connections (a SYN first) are masqueraded as before. Goes first in the chain.
 */
export function restoredConnectionsRule(address: string): string[] {
  return [
    "-s",
    `${address.split("/")[0]}/32`,
    "-p",
    "tcp",
    "!",
    "--syn",
    "-m",
    "conntrack",
    "--ctstate",
    "NEW",
    "-m",
    "comment",
    "--comment",
    "pier restored connections",
    "-j",
    "RETURN",
  ];
}

/**
 * A network definition from a stored conflist; throws `INVALID_ARGUMENT` naming what is missing
 * (a hand-edited or foreign file is refused, not half-read).
 */
export function definitionFromConflist(v: unknown, file: string): NetworkDefinition {
  const bad = (why: string) => new NetworkError("INVALID_ARGUMENT", `network config ${file}: ${why}`);
  if (typeof v !== "object" || v === null) throw bad("not a JSON object");
  const c = v as Partial<CniConflist>;
  const meta = c.pier;
  if (!meta || typeof meta.id !== "string" || typeof meta.network !== "string") throw bad("no pier metadata");
  const bridge = c.plugins?.find((p) => p.type === "bridge");
  const ipam = bridge?.ipam as { ranges?: { subnet?: string; gateway?: string }[][] } | undefined;
  const range = ipam?.ranges?.[0]?.[0];
  if (!bridge || typeof bridge.bridge !== "string" || !range?.subnet)
    throw bad("no bridge plugin with a subnet");
  parseSubnet(range.subnet);
  return {
    name: meta.network,
    id: meta.id,
    bridge: bridge.bridge,
    subnet: range.subnet,
    gateway: range.gateway ?? "",
    created: meta.created ?? "",
    labels: meta.labels ?? {},
  };
}

/**
 * The stdin of plugin `index` of `list`, as libcni builds it: the plugin's own config with the
 * list's `name` and `cniVersion`, `prevResult` when given, and `runtimeConfig` restricted to
 * the capabilities the plugin declares.
 */
export function pluginInput(
  list: CniConflist,
  index: number,
  prevResult?: CniResult,
  runtimeConfig: Record<string, unknown> = {},
): Record<string, unknown> {
  const plugin = list.plugins[index];
  if (!plugin) throw new NetworkError("INVALID_ARGUMENT", `network ${list.name} has no plugin ${index}`);
  const rc = Object.fromEntries(
    Object.entries(runtimeConfig).filter(([k]) => plugin.capabilities?.[k] === true),
  );
  return {
    ...plugin,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(rc).length ? { runtimeConfig: rc } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
}
