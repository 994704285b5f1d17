/**
 * The processes of a container: its cgroup's members when it has one, otherwise every process
 * that shares its init's pid namespace.
 */
import { readdirSync, readlinkSync } from "node:fs";
import type { StoredContainer } from "../state-store.js";
import { openContainerCgroup } from "./cgroup-link.js";

/** Host pids of the container's processes (init first when alive). */
export async function containerPids(c: StoredContainer): Promise<number[]> {
  const cg = await openContainerCgroup(c.id, c.cgroupPath);
  if (cg) return cg.pids();
  if (!c.newNamespaces.includes("pid")) return [c.pid];
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${c.pid}/ns/pid`);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) === ns) pids.push(Number(name));
    } catch {}
  }
  return pids.sort((a, b) => (a === c.pid ? -1 : b === c.pid ? 1 : a - b));
}
