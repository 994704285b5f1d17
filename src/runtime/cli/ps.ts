/**
 * `ps`: the processes of a container, as runc prints them: `ps` output filtered to the container's
 * pids (table), or a JSON array of pids.
 */
import { execFileSync } from "node:child_process";
import { RuntimeError } from "../error.js";
import type { RuntimeContext } from "../lifecycle/context.js";
import { containerPids } from "../lifecycle/processes.js";

/** The text `ps` prints for container `id`. */
export async function psContainer(
  ctx: RuntimeContext,
  id: string,
  format: string,
  psArgs: string[],
): Promise<string> {
  const c = await ctx.store.load(id);
  if (ctx.store.status(c) === "stopped") throw new RuntimeError("INVALID_STATE", "container not running");
  const pids = await containerPids(c);
  if (format === "json") return `${JSON.stringify(pids)}\n`;
  const out = execFileSync("ps", psArgs.length ? psArgs : ["-ef"], { encoding: "utf8" });
  const lines = out.split("\n");
  const header = lines[0] ?? "";
  const pidCol = header.trim().split(/\s+/).indexOf("PID");
  if (pidCol < 0) throw new RuntimeError("INVALID_ARGUMENT", "couldn't find PID field in ps output");
  const set = new Set(pids);
  const rows = lines.slice(1).filter((l) => l.trim() && set.has(Number(l.trim().split(/\s+/)[pidCol])));
  return `${[header, ...rows].join("\n")}\n`;
}
