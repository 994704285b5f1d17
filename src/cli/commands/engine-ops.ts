/**
 * `pier pause|unpause|stats|events|images|rmi|tag|volume …|system info|df|prune`: thin
 * commands over pierd's own API (docs/engine-api.yaml), with docker's flags and
 * `--format json|table|'{{go template}}'` where docker has `--format`.
 */
import type { Command } from "commander";
import { dockerTime, humanDuration } from "../../engine/containers/status-text.js";
import type { ImageDeletion, SystemPruneReport } from "../../engine/reports.js";
import { cpuPercent, type DockerCpuStats } from "../../engine/stats-document.js";
import { collect, collectLabel } from "../args.js";
import { commandIo, requireOwnProcess } from "../io.js";
import { humanSize, renderTable, shortDigest } from "../output.js";
import { renderRows } from "../template.js";
import { call, callJson, jsonLines } from "./engine-client.js";

const enc = encodeURIComponent;

/** How a list is printed: docker's table by default, JSON lines, or a template per row. */
export function emitRows<T>(
  format: string | undefined,
  rows: readonly T[],
  headers: string[],
  cells: (r: T, index: number) => string[],
): void {
  if (format === undefined || format === "" || format === "table") {
    commandIo().stdout(renderTable(headers, rows.map(cells)));
  } else if (format === "json") {
    for (const r of rows) commandIo().stdout(`${JSON.stringify(r)}\n`);
  } else commandIo().stdout(renderRows(format, rows));
}

/** One document: pretty JSON by default (as `docker inspect`), or a template. */
function emitOne(format: string | undefined, value: unknown): void {
  if (format === undefined || format === "" || format === "json")
    commandIo().stdout(`${JSON.stringify(value, null, 2)}\n`);
  else commandIo().stdout(renderRows(format, [value]));
}

/** `Untagged: NAME` and `Deleted: ID` lines as `docker rmi` prints them (`docker system prune`: lower case). Pure. */
export function deletionLines(steps: readonly ImageDeletion[], lower = false): string {
  const [u, d] = lower ? ["untagged", "deleted"] : ["Untagged", "Deleted"];
  return steps.map((s) => ("untagged" in s ? `${u}: ${s.untagged}\n` : `${d}: ${s.deleted}\n`)).join("");
}

/** A byte count in binary units, as `docker stats` prints memory (`1.5MiB`). Pure. */
export function binarySize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 3 : v < 100 ? 2 : 1).replace(/\.?0+$/, "")}${units[u]}`;
}

interface DockerStatsDoc {
  id: string;
  name: string;
  cpu_stats: DockerCpuStats;
  precpu_stats: DockerCpuStats;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats: { current?: number };
  blkio_stats: { io_service_bytes_recursive: { op: string; value: number }[] | null };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

/** The row `docker stats` shows for one stats document (its template fields). Pure. */
export function statsRow(s: DockerStatsDoc): Record<string, string> {
  const m = s.memory_stats;
  const inactive = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  const used = m.usage !== undefined ? Math.max(0, m.usage - (inactive < m.usage ? inactive : 0)) : 0;
  const limit = m.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats.io_service_bytes_recursive ?? []) {
    if (/^read$/i.test(e.op)) read += e.value;
    if (/^write$/i.test(e.op)) write += e.value;
  }
  return {
    Container: s.id.slice(0, 12),
    ID: s.id.slice(0, 12),
    Name: s.name.replace(/^\//, ""),
    CPUPerc: `${cpuPercent(s.cpu_stats, s.precpu_stats).toFixed(2)}%`,
    MemUsage: `${binarySize(used)} / ${binarySize(limit)}`,
    MemPerc: `${limit ? ((used / limit) * 100).toFixed(2) : "0.00"}%`,
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    BlockIO: `${humanSize(read)} / ${humanSize(write)}`,
    PIDs: String(s.pids_stats.current ?? 0),
  };
}

async function statsOnce(refs: string[]): Promise<Record<string, string>[]> {
  return Promise.all(
    refs.map(async (r) =>
      statsRow(await callJson<DockerStatsDoc>("GET", `/v1/containers/${enc(r)}/stats?stream=0`)),
    ),
  );
}

function printStats(format: string | undefined, rows: Record<string, string>[]): void {
  emitRows(
    format,
    rows,
    ["container id", "name", "cpu %", "mem usage / limit", "mem %", "net i/o", "block i/o", "pids"],
    (r) => [r.ID!, r.Name!, r.CPUPerc!, r.MemUsage!, r.MemPerc!, r.NetIO!, r.BlockIO!, r.PIDs!],
  );
}

interface EventDoc {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

/** Docker's default event line: `TIME TYPE ACTION ID (k=v, …)`. Pure. */
export function eventLine(e: EventDoc): string {
  const secs = Math.floor(e.timeNano / 1e9);
  const nanos = String(e.timeNano % 1e9).padStart(9, "0");
  const when = `${new Date(secs * 1000).toISOString().replace(/\.\d+Z$/, "")}.${nanos}Z`;
  const attrs = Object.entries(e.Actor.Attributes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  return `${when} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ""}`;
}

/** `--since`/`--until` as docker takes them: unix seconds, RFC 3339, or a duration ago (`10m`). Pure. */
export function eventTime(v: string, nowMs = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(v)) return v;
  const d = /^(\d+)(s|m|h)$/.exec(v);
  if (d)
    return String(
      Math.floor(nowMs / 1000) - Number(d[1]) * { s: 1, m: 60, h: 3600 }[d[2] as "s" | "m" | "h"],
    );
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new Error(`invalid time ${JSON.stringify(v)}: unix seconds, RFC 3339 or a duration`);
  return String(t / 1000);
}

/** Docker's `--filter k=v` list as the API's `filters` JSON. Pure. */
export function filtersParam(filters: readonly string[] | undefined): string | undefined {
  if (!filters?.length) return undefined;
  const out: Record<string, string[]> = {};
  for (const f of filters) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new Error(`--filter: expected key=value, got "${f}"`);
    const key = f.slice(0, eq);
    out[key] = [...(out[key] ?? []), f.slice(eq + 1)];
  }
  return JSON.stringify(out);
}

interface ImageRow {
  name: string;
  repository: string;
  tag: string;
  digest: string;
  id: string;
  created?: string;
  size: number;
}

interface VolumeDoc {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
}

/** Asks `question` on the terminal unless `force`; resolves whether the user said yes. */
export async function confirm(question: string, force: boolean | undefined): Promise<boolean> {
  if (force) return true;
  requireOwnProcess("a question on stdin");
  commandIo().stderr(`${question}\nAre you sure you want to continue? [y/N] `);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  return /^y(es)?$/i.test(Buffer.concat(chunks).toString().trim());
}

/** Registers the operations commands on `program`. */
export function registerEngineOpsCommands(program: Command): void {
  for (const verb of ["pause", "unpause"] as const) {
    program
      .command(verb)
      .description(`${verb} all processes of containers`)
      .argument("<containers...>", "ids, names or id prefixes")
      .action(async (refs: string[]) => {
        for (const ref of refs) {
          await (await call("POST", `/v1/containers/${enc(ref)}/${verb}`)).resume();
          commandIo().stdout(`${ref}\n`);
        }
      });
  }

  program
    .command("stats")
    .description("show containers' resource usage (CPU, memory, network, block I/O, pids)")
    .argument("[containers...]", "ids or names (default: every running container)")
    .option("--no-stream", "print one reading and exit")
    .option("--format <format>", "table, json or a Go template ({{.Name}} {{.CPUPerc}} …)")
    .action(async (refs: string[], f: { stream: boolean; format?: string }) => {
      const targets = async () =>
        refs.length ? refs : (await callJson<{ id: string }[]>("GET", "/v1/containers")).map((c) => c.id);
      if (!f.stream) {
        printStats(f.format, await statsOnce(await targets()));
        return;
      }
      while (!commandIo().signal?.aborted) {
        const rows = await statsOnce(await targets());
        commandIo().stdout("\x1b[2J\x1b[H");
        printStats(f.format, rows);
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

  program
    .command("events")
    .description("stream what happens to containers, images and volumes")
    .option("--since <time>", "replay events since (unix seconds, RFC 3339, or 10m ago)")
    .option("--until <time>", "stop at this time")
    .option(
      "-f, --filter <k=v>",
      "type=, event=, container=, image=, volume=, network=, daemon=, scope=, label= (repeatable)",
      collect,
    )
    .option("--format <format>", "json or a Go template ({{.Action}} {{.Actor.Attributes.name}})")
    .action(async (f: { since?: string; until?: string; filter?: string[]; format?: string }) => {
      const q = new URLSearchParams();
      if (f.since) q.set("since", eventTime(f.since));
      if (f.until) q.set("until", eventTime(f.until));
      const filters = filtersParam(f.filter);
      if (filters) q.set("filters", filters);
      const res = await call("GET", `/v1/events?${q}`);
      for await (const e of jsonLines<EventDoc>(res)) {
        if (f.format === "json") commandIo().stdout(`${JSON.stringify(e)}\n`);
        else if (f.format) commandIo().stdout(renderRows(f.format, [e]));
        else commandIo().stdout(`${eventLine(e)}\n`);
      }
    });

  program
    .command("images")
    .description("list the daemon's images")
    .option("-q, --quiet", "only print image ids")
    .option("--format <format>", "table, json or a Go template ({{.Repository}}:{{.Tag}})")
    .option(
      "-f, --filter <k=v>",
      "dangling=, label=, before=, since=, reference=, until= (repeatable)",
      collect,
    )
    .action(async (f: { quiet?: boolean; format?: string; filter?: string[] }) => {
      const now = Date.now();
      const filters = filtersParam(f.filter);
      const path = `/v1/images${filters ? `?filters=${enc(filters)}` : ""}`;
      // docker images's fields, so that its templates and `--format json` read the same here.
      const rows = (await callJson<ImageRow[]>("GET", path)).map((r) => ({
        Containers: "N/A",
        CreatedAt: dockerTime(r.created ?? ""),
        CreatedSince: r.created ? `${humanDuration(now - Date.parse(r.created))} ago` : "N/A",
        Digest: r.digest || "<none>",
        ID: shortDigest(r.id),
        Repository: r.repository,
        SharedSize: "N/A",
        Size: humanSize(r.size),
        Tag: r.tag,
        UniqueSize: "N/A",
        VirtualSize: humanSize(r.size),
      }));
      if (f.quiet) {
        for (const id of new Set(rows.map((r) => r.ID))) commandIo().stdout(`${id}\n`);
        return;
      }
      emitRows(f.format, rows, ["repository", "tag", "image id", "created", "size"], (r) => [
        r.Repository,
        r.Tag,
        r.ID,
        r.CreatedSince,
        r.Size,
      ]);
    });

  program
    .command("rmi")
    .description("remove images (a name of several only untags; 409 while a container uses the last name)")
    .argument("<images...>", "names or ids")
    .option("-f, --force", "remove the image even if a stopped container uses it")
    .action(async (refs: string[], f: { force?: boolean }) => {
      for (const ref of refs) {
        const steps = await callJson<ImageDeletion[]>(
          "DELETE",
          `/v1/images/${enc(ref)}?force=${f.force ? 1 : 0}`,
        );
        commandIo().stdout(deletionLines(steps));
      }
    });

  program
    .command("tag")
    .description("give an image another name")
    .argument("<source>", "image name or id")
    .argument("<target>", "new name")
    .action(async (source: string, target: string) => {
      await callJson("POST", `/v1/images/${enc(source)}/tag`, { target });
    });

  const volume = program.command("volume").description("manage named volumes");
  volume
    .command("create")
    .description("create a volume")
    .argument("[name]", "volume name (default: random)")
    .option("-l, --label <k=v>", "set a label (repeatable)", collectLabel)
    .action(async (name: string | undefined, f: { label?: Record<string, string> }) => {
      const v = await callJson<VolumeDoc>("POST", "/v1/volumes", {
        ...(name ? { name } : {}),
        labels: f.label ?? {},
      });
      commandIo().stdout(`${v.Name}\n`);
    });
  volume
    .command("ls")
    .description("list volumes")
    .option("-q, --quiet", "only print names")
    .option("-f, --filter <k=v>", "name=, label=, dangling=, driver= (repeatable)", collect)
    .option("--format <format>", "table, json or a Go template ({{.Name}})")
    .action(async (f: { quiet?: boolean; filter?: string[]; format?: string }) => {
      const filters = filtersParam(f.filter);
      const list = await callJson<VolumeDoc[]>(
        "GET",
        `/v1/volumes${filters ? `?filters=${enc(filters)}` : ""}`,
      );
      if (f.quiet) {
        for (const v of list) commandIo().stdout(`${v.Name}\n`);
        return;
      }
      emitRows(f.format, list, ["driver", "volume name"], (v) => [v.Driver, v.Name]);
    });
  volume
    .command("inspect")
    .description("show volumes")
    .argument("<names...>", "volume names")
    .option("--format <format>", "json (default) or a Go template ({{.Mountpoint}})")
    .action(async (names: string[], f: { format?: string }) => {
      const docs = [];
      for (const n of names) docs.push(await callJson<VolumeDoc>("GET", `/v1/volumes/${enc(n)}`));
      if (f.format && f.format !== "json") commandIo().stdout(renderRows(f.format, docs));
      else emitOne(undefined, docs);
    });
  volume
    .command("rm")
    .description("remove volumes (409 while a container uses one)")
    .argument("<names...>", "volume names")
    .action(async (names: string[]) => {
      for (const n of names) {
        await (await call("DELETE", `/v1/volumes/${enc(n)}`)).resume();
        commandIo().stdout(`${n}\n`);
      }
    });
  volume
    .command("prune")
    .description("remove every volume no container uses")
    .option("-f, --force", "do not ask for confirmation")
    .option("--filter <k=v>", "label=, label!=, all= (repeatable)", collect)
    .action(async (f: { force?: boolean; filter?: string[] }) => {
      if (
        !(await confirm(
          "WARNING! This will remove all local volumes not used by at least one container.",
          f.force,
        ))
      )
        return;
      const filters = filtersParam(f.filter);
      const r = await callJson<{ deleted: string[]; spaceReclaimed: number }>(
        "POST",
        `/v1/volumes/prune${filters ? `?filters=${enc(filters)}` : ""}`,
      );
      if (r.deleted.length) commandIo().stdout(`Deleted Volumes:\n${r.deleted.join("\n")}\n\n`);
      commandIo().stdout(`Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });

  const system = program.command("system").description("daemon-wide information and cleanup");
  system
    .command("info")
    .description("show the daemon's information")
    .option("--format <format>", "json or a Go template ({{.ServerVersion}})")
    .action(async (f: { format?: string }) => {
      const info = await callJson<Record<string, unknown>>("GET", "/v1/system/info");
      if (f.format) {
        emitOne(f.format, info);
        return;
      }
      const keys = [
        ["Containers", "Containers"],
        [" Running", "ContainersRunning"],
        [" Paused", "ContainersPaused"],
        [" Stopped", "ContainersStopped"],
        ["Images", "Images"],
        ["Server Version", "ServerVersion"],
        ["Storage Driver", "Driver"],
        ["Logging Driver", "LoggingDriver"],
        ["Cgroup Driver", "CgroupDriver"],
        ["Cgroup Version", "CgroupVersion"],
        ["Default Runtime", "DefaultRuntime"],
        ["Init Binary", "InitBinary"],
        ["Default Init", "DefaultInit"],
        ["Kernel Version", "KernelVersion"],
        ["Operating System", "OperatingSystem"],
        ["Architecture", "Architecture"],
        ["CPUs", "NCPU"],
        ["Total Memory", "MemTotal"],
        ["Name", "Name"],
        ["Docker Root Dir", "DockerRootDir"],
      ] as const;
      for (const [label, k] of keys) {
        const v = k === "MemTotal" ? binarySize(Number(info[k])) : String(info[k]);
        commandIo().stdout(`${label}: ${v}\n`);
      }
      commandIo().stdout(registryLines(info["RegistryConfig"] as RegistryConfigInfo | undefined));
    });
  system
    .command("df")
    .description("show disk usage of images, containers and volumes")
    .option("--format <format>", "table, json or a Go template ({{.Type}} {{.Size}})")
    .action(async (f: { format?: string }) => {
      const df = await callJson<{
        Images: { Size: number; Containers: number }[];
        Containers: { SizeRw: number; State: string }[];
        Volumes: { UsageData: { Size: number; RefCount: number } }[];
      }>("GET", "/v1/system/df");
      const row = (type: string, total: number, active: number, size: number, reclaimable: number) => ({
        Type: type,
        TotalCount: String(total),
        Active: String(active),
        Size: humanSize(size),
        Reclaimable: humanSize(reclaimable),
      });
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const rows = [
        row(
          "Images",
          df.Images.length,
          df.Images.filter((i) => i.Containers > 0).length,
          sum(df.Images.map((i) => i.Size)),
          sum(df.Images.filter((i) => i.Containers === 0).map((i) => i.Size)),
        ),
        row(
          "Containers",
          df.Containers.length,
          df.Containers.filter((c) => c.State === "running").length,
          sum(df.Containers.map((c) => c.SizeRw)),
          sum(df.Containers.filter((c) => c.State !== "running").map((c) => c.SizeRw)),
        ),
        row(
          "Local Volumes",
          df.Volumes.length,
          df.Volumes.filter((v) => v.UsageData.RefCount > 0).length,
          sum(df.Volumes.map((v) => v.UsageData.Size)),
          sum(df.Volumes.filter((v) => v.UsageData.RefCount === 0).map((v) => v.UsageData.Size)),
        ),
      ];
      emitRows(f.format, rows, ["type", "total", "active", "size", "reclaimable"], (r) => [
        r.Type,
        r.TotalCount,
        r.Active,
        r.Size,
        r.Reclaimable,
      ]);
    });
  system
    .command("prune")
    .description("remove stopped containers, unused images (-a) and unused volumes (--volumes)")
    .option("-a, --all", "remove every image no container uses")
    .option("--volumes", "also remove unused volumes")
    .option("--filter <k=v>", "label=, label!=, until= (repeatable)", collect)
    .option("-f, --force", "do not ask for confirmation")
    .action(async (f: { all?: boolean; volumes?: boolean; force?: boolean; filter?: string[] }) => {
      const filters = filtersParam(f.filter);
      if (!(await confirm("WARNING! This will remove all stopped containers and unused data.", f.force)))
        return;
      const r = await callJson<SystemPruneReport>(
        "POST",
        `/v1/system/prune?all=${f.all ? 1 : 0}&volumes=${f.volumes ? 1 : 0}${filters ? `&filters=${enc(filters)}` : ""}`,
      );
      if (r.containersDeleted.length)
        commandIo().stdout(`Deleted Containers:\n${r.containersDeleted.join("\n")}\n\n`);
      if (r.networksDeleted.length)
        commandIo().stdout(`Deleted Networks:\n${r.networksDeleted.join("\n")}\n\n`);
      if (r.volumesDeleted.length) commandIo().stdout(`Deleted Volumes:\n${r.volumesDeleted.join("\n")}\n\n`);
      if (r.imagesDeleted.length)
        commandIo().stdout(`Deleted Images:\n${deletionLines(r.imagesDeleted, true)}\n`);
      commandIo().stdout(`Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });
}

/** `RegistryConfig` of `/info`, as far as `pier system info` prints it. */
interface RegistryConfigInfo {
  InsecureRegistryCIDRs?: string[];
  IndexConfigs?: Record<string, { Name: string; Mirrors: string[]; Secure: boolean }>;
}

/** Docker's "Insecure Registries" and "Registry Mirrors" sections (every registry's mirrors, not only Docker Hub's). Pure. */
function registryLines(rc: RegistryConfigInfo | undefined): string {
  if (!rc) return "";
  const indexes = Object.values(rc.IndexConfigs ?? {});
  const insecure = [
    ...indexes.filter((i) => !i.Secure).map((i) => i.Name),
    ...(rc.InsecureRegistryCIDRs ?? []),
  ];
  const mirrors = indexes.flatMap((i) => i.Mirrors.map((m) => `${m} (${i.Name})`));
  let out = `Insecure Registries:\n${insecure.map((n) => ` ${n}\n`).join("")}`;
  if (mirrors.length) out += `Registry Mirrors:\n${mirrors.map((m) => ` ${m}\n`).join("")}`;
  return out;
}
