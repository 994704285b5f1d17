/**
 * Whether CRIU may read the resource limits of every process of a container. CRIU dumps them
 * with prlimit(2) from its own process, which the kernel allows only on a process with exactly
 * the caller's real, effective and saved uids and gids, or with CAP_SYS_RESOURCE in the target's
 * user namespace. Root without CAP_SYS_RESOURCE (a sandbox that drops it) therefore cannot dump
 * a container in which a service runs as another user (a system container's dbus-daemon as
 * `messagebus`): CRIU fails with "Can't get rlimit 0: Operation not permitted". This check names
 * that process before CRIU starts.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** The capability prlimit(2) on another user's process needs. */
const CAP_SYS_RESOURCE = 24n;

/** A process whose limits CRIU cannot read. */
export interface ForeignProcess {
  pid: number;
  comm: string;
  /** Its `Uid:` and `Gid:` lines (real, effective, saved, filesystem). */
  uids: string;
  gids: string;
}

/** True when a /proc status text's effective capability set holds CAP_SYS_RESOURCE. Pure. */
export function hasSysResource(status: string): boolean {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m?.[1] !== undefined && ((BigInt(`0x${m[1]}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

/** The real, effective and saved ids of a /proc status line (`Uid:` or `Gid:`). Pure. */
export function idsOf(status: string, key: "Uid" | "Gid"): string[] {
  const m = new RegExp(`^${key}:\\s*(\\d+)\\s+(\\d+)\\s+(\\d+)`, "m").exec(status);
  return m ? [m[1] ?? "", m[2] ?? "", m[3] ?? ""] : [];
}

/**
 * True when a process with `target` status may have its limits read by a caller with `self`
 * status in the same user namespace (prlimit's check: the caller's real uid and gid are each of
 * the target's real, effective and saved ones, or the caller has CAP_SYS_RESOURCE). Pure.
 */
export function limitsReadable(self: string, target: string): boolean {
  if (hasSysResource(self)) return true;
  const uid = idsOf(self, "Uid")[0];
  const gid = idsOf(self, "Gid")[0];
  const tu = idsOf(target, "Uid");
  const tg = idsOf(target, "Gid");
  return tu.length === 3 && tg.length === 3 && tu.every((u) => u === uid) && tg.every((g) => g === gid);
}

/**
 * The first process in the PID namespace of container init `initPid` whose limits this process
 * cannot read; `undefined` when there is none, or when the container has a user namespace of its
 * own (created by this user, which then holds every capability in it).
 */
export function foreignProcess(initPid: number, proc = "/proc"): ForeignProcess | undefined {
  const read = (p: string) => readFileSync(join(proc, p), "utf8");
  const self = read("self/status");
  if (hasSysResource(self)) return undefined;
  let pidNs: string;
  try {
    if (readlinkSync(join(proc, String(initPid), "ns/user")) !== readlinkSync(join(proc, "self/ns/user")))
      return undefined;
    pidNs = readlinkSync(join(proc, String(initPid), "ns/pid"));
  } catch {
    return undefined; // gone: CRIU reports that itself
  }
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(join(proc, name, "ns/pid")) !== pidNs) continue;
      const status = read(`${name}/status`);
      if (limitsReadable(self, status)) continue;
      return {
        pid: Number(name),
        comm: /^Name:\s*(.*)$/m.exec(status)?.[1] ?? "?",
        uids: idsOf(status, "Uid").join(" "),
        gids: idsOf(status, "Gid").join(" "),
      };
    } catch {}
  }
  return undefined;
}
