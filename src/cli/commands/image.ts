/** `pier image …`: the image commands, thin shells over `src/image`. */
import type { Command } from "commander";
import { collectEnv, collectLabel, parseCommand } from "../args.js";
import { humanSize, parseFormat, printJson, renderTable, shortDigest } from "../output.js";
import { openStore } from "../store.js";

interface BuildFlags {
  tag?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  label?: Record<string, string>;
  platform?: string;
  compression?: "gzip" | "zstd" | "none";
  stopSignal?: string;
}

function addBuildFlags(cmd: Command): Command {
  return cmd
    .option("--entrypoint <cmd>", "entrypoint: a JSON array or space-separated words", parseCommand)
    .option("--cmd <cmd>", "default arguments: a JSON array or space-separated words", parseCommand)
    .option("-e, --env <KEY=value>", "environment variable (repeatable)", collectEnv)
    .option("-w, --workdir <dir>", "working directory (absolute)")
    .option("-u, --user <user[:group]>", "user the process runs as")
    .option("-l, --label <key=value>", "label (repeatable)", collectLabel)
    .option("--stop-signal <signal>", "signal that stops the container")
    .option("--compression <alg>", "layer compression: gzip, zstd or none", parseCompression, "gzip");
}

function parseCompression(v: string): "gzip" | "zstd" | "none" {
  if (v !== "gzip" && v !== "zstd" && v !== "none")
    throw new Error(`--compression: gzip, zstd or none, not "${v}"`);
  return v;
}

function execSettings(f: BuildFlags) {
  return {
    ...(f.entrypoint ? { entrypoint: f.entrypoint } : {}),
    ...(f.cmd ? { cmd: f.cmd } : {}),
    ...(f.env ? { env: f.env } : {}),
    ...(f.workdir !== undefined ? { workdir: f.workdir } : {}),
    ...(f.user !== undefined ? { user: f.user } : {}),
    ...(f.label ? { labels: f.label } : {}),
    ...(f.stopSignal !== undefined ? { stopSignal: f.stopSignal } : {}),
    ...(f.compression ? { compression: f.compression } : {}),
  };
}

/** Registers `pier image` and its subcommands on `program`. */
export function registerImageCommands(program: Command): void {
  const image = program
    .command("image")
    .description("build, inspect, unpack, import and export images in the local store");

  addBuildFlags(
    image
      .command("create")
      .description("create an image whose root filesystem is DIR (one layer)")
      .argument("<dir>", "directory to pack as the root filesystem")
      .requiredOption("-t, --tag <name>", "name of the new image, e.g. busybox:latest")
      .option("--platform <os/arch[/variant]>", "platform recorded in the config (default: this host's)"),
  ).action(async (dir: string, flags: BuildFlags, cmd: Command) => {
    const { createImage } = await import("../../image/build.js");
    const store = await openStore(cmd);
    const built = await createImage(store, dir, flags.tag!, {
      ...execSettings(flags),
      ...(flags.platform ? { platform: flags.platform } : {}),
    });
    process.stdout.write(`${built.name} ${built.manifest.digest}\n`);
  });

  addBuildFlags(
    image
      .command("append")
      .description("add a layer (a directory or a tar file) on top of IMAGE")
      .argument("<image>", "image to extend (name, digest or id)")
      .option("--dir <dir>", "directory packed as the new layer")
      .option("--tar <file>", "tar file (plain, gzip or zstd) used as the new layer")
      .option("-t, --tag <name>", "name of the result (default: IMAGE itself)"),
  ).action(async (ref: string, flags: BuildFlags & { dir?: string; tar?: string }, cmd: Command) => {
    if ((flags.dir === undefined) === (flags.tar === undefined))
      cmd.error("error: give exactly one of --dir and --tar");
    const { appendLayer } = await import("../../image/build.js");
    const store = await openStore(cmd);
    const built = await appendLayer(store, ref, flags.dir ? { dir: flags.dir } : { tar: flags.tar! }, {
      ...execSettings(flags),
      ...(flags.tag ? { tag: flags.tag } : {}),
    });
    process.stdout.write(`${built.name} ${built.manifest.digest}\n`);
  });

  image
    .command("ls")
    .alias("list")
    .description("list images")
    .option("--format <format>", "table or json", "table")
    .option("-q, --quiet", "only print image ids")
    .action(async (flags: { format: string; quiet?: boolean }, cmd: Command) => {
      const format = parseFormat(flags.format);
      const { listImages } = await import("../../image/list.js");
      const rows = await listImages(await openStore(cmd));
      if (format === "json") return printJson(rows);
      if (flags.quiet) {
        process.stdout.write(
          [...new Set(rows.map((r) => shortDigest(r.id)))].map((id) => `${id}\n`).join(""),
        );
        return;
      }
      process.stdout.write(
        renderTable(
          ["repository", "tag", "image id", "platform", "created", "size"],
          rows.map((r) => [
            r.repository,
            r.tag,
            shortDigest(r.id),
            r.platform,
            r.created ?? "",
            humanSize(r.size),
          ]),
        ),
      );
    });

  image
    .command("inspect")
    .description("show an image's manifest, config, history and sizes")
    .argument("<image>", "name, digest or id")
    .option("--format <format>", "table or json", "table")
    .option("--platform <os/arch[/variant]>", "platform to pick from an index")
    .action(async (ref: string, flags: { format: string; platform?: string }, cmd: Command) => {
      const format = parseFormat(flags.format);
      const { describeImage } = await import("../../image/inspect.js");
      const { parsePlatform } = await import("../../oci/platform.js");
      const store = await openStore(cmd);
      const info = describeImage(
        await store.resolveImage(ref, flags.platform ? parsePlatform(flags.platform) : undefined),
      );
      if (format === "json") return printJson(info);
      const exec = info.config.config ?? {};
      const lines = [
        `Name:        ${info.name ?? "<none>"}`,
        `Digest:      ${info.digest}`,
        ...(info.manifestDigest !== info.digest ? [`Manifest:    ${info.manifestDigest}`] : []),
        `Image ID:    ${info.id}`,
        `Media type:  ${info.mediaType}`,
        `Platform:    ${info.platform}`,
        `Created:     ${info.created ?? ""}`,
        `Size:        ${humanSize(info.size)} (${info.size} bytes)`,
        `Entrypoint:  ${JSON.stringify(exec.Entrypoint ?? null)}`,
        `Cmd:         ${JSON.stringify(exec.Cmd ?? null)}`,
        `Env:         ${(exec.Env ?? []).join(" ")}`,
        `WorkingDir:  ${exec.WorkingDir ?? ""}`,
        `User:        ${exec.User ?? ""}`,
        `Layers:`,
        ...info.layers.map((l) => `  ${l.digest}  ${humanSize(l.size).padStart(8)}  ${l.mediaType}`),
        `History:`,
        ...info.history.map(
          (h) => `  ${h.created ?? ""}  ${h.created_by ?? ""}${h.empty_layer ? " (empty layer)" : ""}`,
        ),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  image
    .command("tag")
    .description("give an image another name")
    .argument("<source>", "existing image")
    .argument("<target>", "new name")
    .action(async (source: string, target: string, _f: unknown, cmd: Command) => {
      const name = await (await openStore(cmd)).tag(source, target);
      process.stdout.write(`${name}\n`);
    });

  image
    .command("rm")
    .alias("remove")
    .description("remove image names (blobs are freed by `pier image gc`)")
    .argument("<images...>", "names, digests or ids")
    .action(async (refs: string[], _f: unknown, cmd: Command) => {
      const store = await openStore(cmd);
      for (const ref of refs) {
        for (const name of await store.remove(ref)) process.stdout.write(`Untagged: ${name}\n`);
      }
    });

  image
    .command("unpack")
    .description("unpack an image into an OCI runtime bundle (rootfs/ and config.json)")
    .argument("<image>", "name, digest or id")
    .argument("<bundle>", "bundle directory to create (must not exist or be empty)")
    .option("--platform <os/arch[/variant]>", "platform to pick from an index")
    .option("--rootless", "make a config.json for a rootless container (as `runc spec --rootless`)")
    .option("--tty", "set process.terminal in config.json")
    .action(
      async (
        ref: string,
        bundle: string,
        flags: { platform?: string; rootless?: boolean; tty?: boolean },
        cmd: Command,
      ) => {
        const { unpackImage } = await import("../../image/unpack.js");
        const { parsePlatform } = await import("../../oci/platform.js");
        const store = await openStore(cmd);
        const result = await unpackImage(store, ref, bundle, {
          ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
          ...(flags.rootless ? { rootless: true } : {}),
          ...(flags.tty ? { terminal: true } : {}),
          progress: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(`${result.bundle}\n`);
      },
    );

  image
    .command("import")
    .description("import a docker-archive (`docker save`) or OCI archive into the store")
    .argument("<file>", "archive file")
    .option("-t, --tag <name>", "name for the imported image (when the archive names none)")
    .action(async (file: string, flags: { tag?: string }, cmd: Command) => {
      const { importArchiveToStore } = await import("../../image/archive-io.js");
      const names = await importArchiveToStore(await openStore(cmd), file, flags.tag);
      for (const n of names) process.stdout.write(`Loaded image: ${n}\n`);
    });

  image
    .command("export")
    .description("export images to a docker-archive (`docker load` format) or an OCI archive")
    .argument("<image>", "image to export")
    .argument("<file>", "archive to write")
    .option("--format <format>", "docker or oci", "docker")
    .action(async (ref: string, file: string, flags: { format: string }, cmd: Command) => {
      if (flags.format !== "docker" && flags.format !== "oci")
        cmd.error(`error: --format: docker or oci, not "${flags.format}"`);
      const { exportArchive } = await import("../../image/archive-io.js");
      await exportArchive(await openStore(cmd), [ref], file, flags.format as "docker" | "oci");
      process.stdout.write(`${file}\n`);
    });

  image
    .command("gc")
    .description("delete blobs that no named image references")
    .option("--dry-run", "only list what would be deleted")
    .option("--format <format>", "table or json", "table")
    .action(async (flags: { dryRun?: boolean; format: string }, cmd: Command) => {
      const format = parseFormat(flags.format);
      const { collectGarbage } = await import("../../image/gc.js");
      const result = await collectGarbage(await openStore(cmd), { dryRun: flags.dryRun === true });
      if (format === "json") return printJson(result);
      for (const b of result.removed)
        process.stdout.write(
          `${flags.dryRun ? "would delete" : "deleted"} ${b.digest} ${humanSize(b.size)}\n`,
        );
      process.stdout.write(
        `${flags.dryRun ? "would free" : "freed"} ${humanSize(result.removed.reduce((n, b) => n + b.size, 0))} in ${result.removed.length} blobs\n`,
      );
    });
}
