/**
 * `docker top`: the host's `ps` (with the client's `ps_args`, default `-ef`) filtered to the
 * processes of the container's cgroup, as Docker does it: titles from the header line, one row
 * per process whose PID column names a member of the cgroup, the last column keeping its spaces.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerService } from "./containers/service.js";
import { EngineError } from "./error.js";

/** Docker's `ContainerTopOKBody`. */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** Where `ps` output may grow to before it is refused (a host with very many processes). */
const MAX_PS_OUTPUT = 16 << 20;

/**
 * The cgroup.procs files that may list a process's cgroup (`/proc/PID/cgroup` lines: v2's
 * `0::/path`, v1's `N:controllers:/path`), most likely first. Pure.
 */
export function procsFiles(procCgroup: string, mountRoot = "/sys/fs/cgroup"): string[] {
  const out: string[] = [];
  for (const line of procCgroup.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, controllers, path] = m as unknown as [string, string, string];
    if (controllers === "")
      out.unshift(join(mountRoot, path, "cgroup.procs"), join(mountRoot, "unified", path, "cgroup.procs"));
    else if (/(^|,)(pids|memory|cpu|name=systemd)(,|$)/.test(controllers))
      out.push(join(mountRoot, controllers.replace(/^name=/, ""), path, "cgroup.procs"));
  }
  return out;
}

/**
 * `ps` output cut into Docker's document, keeping only rows whose PID column is in `pids`.
 * `INVALID_ARGUMENT` when the header has no PID column (Docker's message). Pure.
 */
export function parseTop(output: string, pids: ReadonlySet<number>): TopResult {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  const titles = (lines[0] ?? "").trim().split(/\s+/);
  const pidIndex = titles.indexOf("PID");
  if (pidIndex < 0) throw new EngineError("INVALID_ARGUMENT", "Couldn't find PID field in ps output");
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!Number.isInteger(pid) || !pids.has(pid)) continue;
    processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(" ")]);
  }
  return { Titles: titles, Processes: processes };
}

async function containerPids(pid: number): Promise<Set<number>> {
  const files = procsFiles(await readFile(`/proc/${pid}/cgroup`, "utf8"));
  for (const f of files) {
    try {
      const text = await readFile(f, "utf8");
      return new Set(text.split("\n").filter(Boolean).map(Number));
    } catch {
      // Not this hierarchy: try the next.
    }
  }
  return new Set([pid]);
}

/** `GET /containers/{id}/top`: `INVALID_STATE` unless the container runs. */
export async function containerTop(svc: ContainerService, ref: string, psArgs = "-ef"): Promise<TopResult> {
  const rec = svc.find(ref);
  if (rec.status !== "running" || rec.pid <= 0)
    throw new EngineError("INVALID_STATE", `Container ${rec.id} is not running`);
  const pids = await containerPids(rec.pid);
  const args = psArgs.split(" ").filter(Boolean);
  const output = await new Promise<string>((resolve, reject) => {
    execFile("ps", args, { maxBuffer: MAX_PS_OUTPUT, timeout: 30000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new EngineError("INVALID_ARGUMENT", `Error running ps: ${(stderr || err.message).trim()}`, {
            cause: err,
          }),
        );
      else resolve(stdout);
    });
  });
  return parseTop(output, pids);
}
