/**
 * The host side of pier's bridge networks: the bridge device (its address, its ports, its
 * removal) and the masquerade rule that gives its containers the outside. The CNI bridge plugin
 * makes the bridge at a container's first ADD (pierd makes the default one when it first chooses
 * its subnet, see `makeBridge`); pierd removes it, and its rule, when it stops and no container
 * is left on it.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { withLock } from "../../content/lock.js";
import { masqueradeRule, type NetworkDefinition } from "./conflist.js";
import { NetworkError } from "./error.js";
import { deleteRule, ensureRule } from "./iptables.js";

/**
 * The lock every pier daemon on the host holds while it chooses a new bridge's subnet and makes
 * the bridge (host-wide, whatever a daemon's `--root`).
 */
export const HOST_NETWORK_LOCK = "/run/lock/pier-networks.lock";

/** Runs `fn` holding {@link HOST_NETWORK_LOCK}. */
export async function withHostNetworkLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(HOST_NETWORK_LOCK), { recursive: true, mode: 0o755 });
  return withLock(HOST_NETWORK_LOCK, fn);
}

/**
 * Makes `def`'s bridge device with its gateway address, up: what the CNI bridge plugin would
 * make at the first container (it takes the device as it finds it), made early so that the
 * subnet's route shows. On a failure the device is removed and `INVALID_STATE` names the step.
 */
export async function makeBridge(def: NetworkDefinition): Promise<void> {
  const prefix = def.subnet.split("/")[1];
  const steps: string[][] = [
    ["link", "add", def.bridge, "type", "bridge"],
    ["addr", "add", `${def.gateway}/${prefix}`, "dev", def.bridge],
    ["link", "set", def.bridge, "up"],
  ];
  for (const [i, step] of steps.entries()) {
    const r = await run("ip", step).catch((err: Error) => ({ code: null, stderr: err.message }));
    if (r.code !== 0) {
      if (i > 0) await deleteBridgeDevice(def.bridge);
      throw new NetworkError(
        "INVALID_STATE",
        `cannot make bridge ${def.bridge} for ${def.subnet}: ip ${step.join(" ")}: ${r.stderr.trim()}`,
      );
    }
  }
}

/** Deletes bridge device `dev` if it exists (its ports are let go); errors are ignored. */
export async function deleteBridgeDevice(dev: string): Promise<void> {
  if (deviceIndex(dev) !== undefined) await run("ip", ["link", "del", dev]).catch(() => {});
}

/**
 * The first IPv4 address (CIDR) of a network device, from iproute2 (Node's interface list
 * leaves out devices that are down, as an idle bridge is); `undefined` when it has none.
 */
export function bridgeAddress(dev: string): string | undefined {
  const r = spawnSync("ip", ["-4", "-o", "addr", "show", "dev", dev], { encoding: "utf8" });
  return r.status === 0 ? /\binet (\S+)/.exec(r.stdout)?.[1] : undefined;
}

/** The kernel's index of device `dev` (a new one when it was deleted and made again); `undefined` when absent. */
export function deviceIndex(dev: string): number | undefined {
  try {
    return Number(readFileSync(`/sys/class/net/${dev}/ifindex`, "utf8"));
  } catch {
    return undefined;
  }
}

/** The interfaces enslaved to bridge `dev` (containers' veths, any daemon's); empty when it is absent. */
export function bridgePorts(dev: string): string[] {
  try {
    return readdirSync(`/sys/class/net/${dev}/brif`);
  } catch {
    return [];
  }
}

/** Runs a command (off the event loop) with its stdout ignored; resolves with its exit code and stderr. */
function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/**
 * The masquerade rules this process has put in place, each remembered with its bridge's
 * device index: a bridge that another pierd removed and the plugin made again gets its rule
 * checked again.
 */
export class MasqueradeRules {
  private readonly ensured = new Map<string, number | undefined>();

  /** Puts `def`'s masquerade rule in place unless this process knows it is there. */
  async ensure(def: NetworkDefinition): Promise<void> {
    const index = deviceIndex(def.bridge);
    if (index !== undefined && this.ensured.has(def.id) && this.ensured.get(def.id) === index) return;
    await ensureRule("nat", "POSTROUTING", masqueradeRule(def));
    this.ensured.set(def.id, index);
  }

  /** Deletes `def`'s masquerade rule. */
  async remove(def: NetworkDefinition): Promise<void> {
    this.ensured.delete(def.id);
    await deleteRule("nat", "POSTROUTING", masqueradeRule(def)).catch(() => {});
  }
}

/**
 * Removes `def`'s bridge and masquerade rule when no container of any daemon is on it (or, with
 * `evenInUse`, in any case); resolves true when it did.
 */
export async function removeBridge(
  def: NetworkDefinition,
  rules: MasqueradeRules,
  evenInUse = false,
): Promise<boolean> {
  if (!evenInUse && bridgePorts(def.bridge).length > 0) return false;
  await rules.remove(def);
  await deleteBridgeDevice(def.bridge);
  return true;
}
