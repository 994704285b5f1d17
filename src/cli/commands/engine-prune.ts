/**
 * `pier container prune`, `pier image prune`, `pier network prune` and `pier builder prune`
 * over pierd's own API, with docker's `--filter` (checked by the daemon before anything is
 * removed: an unknown filter removes nothing) and docker's output.
 */
import type { Command } from "commander";
import type { ImageDeletion, PruneReport } from "../../engine/reports.js";
import { collect } from "../args.js";
import { commandIo } from "../io.js";
import { humanSize } from "../output.js";
import { callJson } from "./engine-client.js";
import { confirm, deletionLines, filtersParam } from "./engine-ops.js";
import { parseBytes } from "./engine-run-flags.js";

function query(f: { filter?: string[] }, extra = ""): string {
  const filters = filtersParam(f.filter);
  const parts = [extra, filters ? `filters=${encodeURIComponent(filters)}` : ""].filter(Boolean);
  return parts.length ? `?${parts.join("&")}` : "";
}

function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** Registers the prune commands (on the `container`, `image`, `network` and `builder` groups). */
export function registerPruneCommands(program: Command): void {
  group(program, "container", "manage containers")
    .command("prune")
    .description("remove every stopped container passing the filters")
    .option("-f, --force", "do not ask for confirmation")
    .option("--filter <k=v>", "label=, label!=, until= (repeatable)", collect)
    .action(async (f: { force?: boolean; filter?: string[] }) => {
      const q = query(f);
      if (!(await confirm("WARNING! This will remove all stopped containers.", f.force))) return;
      const r = await callJson<PruneReport<string>>("POST", `/v1/containers/prune${q}`);
      if (r.deleted.length) commandIo().stdout(`Deleted Containers:\n${r.deleted.join("\n")}\n\n`);
      commandIo().stdout(`Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });
  group(program, "image", "manage images")
    .command("prune")
    .description("remove dangling images (-a: every image no container uses) passing the filters")
    .option("-a, --all", "every image no container uses, not only dangling ones")
    .option("-f, --force", "do not ask for confirmation")
    .option("--filter <k=v>", "label=, label!=, until= (repeatable)", collect)
    .action(async (f: { all?: boolean; force?: boolean; filter?: string[] }) => {
      const q = query(f, f.all ? "all=1" : "");
      const what = f.all
        ? "all images without at least one container associated to them"
        : "all dangling images";
      if (!(await confirm(`WARNING! This will remove ${what}.`, f.force))) return;
      const r = await callJson<PruneReport<ImageDeletion>>("POST", `/v1/images/prune${q}`);
      if (r.deleted.length) commandIo().stdout(`Deleted Images:\n${deletionLines(r.deleted, true)}\n`);
      commandIo().stdout(`Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });
  group(program, "network", "manage networks")
    .command("prune")
    .description("remove every network no container uses passing the filters")
    .option("-f, --force", "do not ask for confirmation")
    .option("--filter <k=v>", "label=, label!=, until= (repeatable)", collect)
    .action(async (f: { force?: boolean; filter?: string[] }) => {
      const q = query(f);
      if (
        !(await confirm(
          "WARNING! This will remove all custom networks not used by at least one container.",
          f.force,
        ))
      )
        return;
      const r = await callJson<{ deleted: string[] }>("POST", `/v1/networks/prune${q}`);
      if (r.deleted.length) commandIo().stdout(`Deleted Networks:\n${r.deleted.join("\n")}\n`);
    });
  group(program, "builder", "manage the build cache")
    .command("prune")
    .description(
      "remove build cache: unpacked layers and orphan step records (all: every record and cache mount)",
    )
    .option("-a, --all", "all build cache, not only what a build re-makes from stored layers")
    .option("-f, --force", "do not ask for confirmation")
    .option(
      "--filter <k=v>",
      "until=24h, id=, type=regular|exec.cachemount, … as docker builder prune (repeatable)",
      collect,
    )
    .option("--keep-storage <size>", "keep this much cache (oldest removed first), e.g. 2g", parseBytes)
    .action(async (f: { force?: boolean; all?: boolean; filter?: string[]; keepStorage?: number }) => {
      const extra = [f.all ? "all=1" : "", f.keepStorage !== undefined ? `keep-storage=${f.keepStorage}` : ""]
        .filter(Boolean)
        .join("&");
      const q = query(f, extra);
      const warning = f.all
        ? "WARNING! This will remove all build cache."
        : "WARNING! This will remove all dangling build cache.";
      if (!(await confirm(warning, f.force))) return;
      const r = await callJson<PruneReport<string>>("POST", `/v1/build/prune${q}`);
      const io = commandIo();
      if (r.deleted.length) io.stdout(`Deleted build cache objects:\n${r.deleted.join("\n")}\n\n`);
      io.stdout(`Total reclaimed space: ${humanSize(r.spaceReclaimed)}\n`);
    });
}
