/** `pier registry …`: serve a distribution-spec registry, collect its garbage, manage its users. */

import type { Command } from "commander";
import { keepOldGenerationTight, keepYoungGenerationSmall } from "../../common/lean-heap.js";
import { parseFormat, printJson } from "../output.js";

interface ServeFlags {
  addr?: string;
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  auth?: "none" | "basic" | "token";
  htpasswd?: string;
  metricsAddr?: string;
  autoCrossMount?: boolean;
  maxConnections?: string;
}

/** A flag's non-negative integer, or an error naming the flag. */
function countFlag(name: string, raw: string): number {
  if (!/^\d{1,9}$/.test(raw))
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Reads a password: from stdin when it is not a terminal, else asks on the terminal without echo. */
export async function readPassword(prompt: string): Promise<string> {
  const chunks: Buffer[] = [];
  if (!process.stdin.isTTY) {
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  process.stderr.write(prompt);
  process.stdin.setRawMode(true);
  return new Promise((resolve) => {
    let pw = "";
    const onData = (b: Buffer) => {
      for (const ch of b.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          process.stdin.setRawMode(false);
          process.stdin.off("data", onData);
          process.stdin.pause();
          process.stderr.write("\n");
          resolve(pw);
          return;
        }
        if (ch === "\u0003") process.exit(130);
        pw = ch === "\u007f" ? pw.slice(0, -1) : pw + ch;
      }
    };
    process.stdin.on("data", onData);
  });
}

const DEFAULT_REGISTRY_ROOT = "/var/lib/pier/registry";

/** For registry commands `--root` (or `PIER_REGISTRY_ROOT`) names the registry's data directory. */
function registryRoot(cmd: Command): string | undefined {
  return (cmd.optsWithGlobals() as { root?: string }).root ?? process.env.PIER_REGISTRY_ROOT;
}

const ROOT_HELP = "registry data directory (default /var/lib/pier/registry)";

/** Registers `pier registry` and its subcommands on `program`. */
export function registerRegistryCommands(program: Command): void {
  const registry = program.command("registry").description("run and manage a distribution-spec 1.1 registry");

  registry
    .command("serve")
    .description(
      "serve a registry (no auth, loopback only, unless configured otherwise); --root is its data directory (default /var/lib/pier/registry)",
    )
    .option("--addr <host:port>", "address to listen on (default 127.0.0.1:5000)")
    .option("--root <dir>", ROOT_HELP)
    .option("--config <file>", "JSON config file (see README); also $PIER_REGISTRY_CONFIG")
    .option("--tls-cert <file>", "serve HTTPS with this PEM certificate")
    .option("--tls-key <file>", "PEM key of --tls-cert")
    .option("--auth <mode>", "none, basic or token")
    .option("--htpasswd <file>", "htpasswd file (bcrypt) for basic and token auth")
    .option(
      "--metrics-addr <host:port>",
      "serve /metrics without auth on this (private) address instead of behind auth on --addr",
    )
    .option(
      "--auto-cross-mount",
      "a mount without from takes the blob from any repository the caller may pull (default)",
    )
    .option("--no-auto-cross-mount", "a mount without from opens an upload session")
    .option(
      "--max-connections <n>",
      "open connections at most, 503 beyond (default: half the open-file limit)",
    )
    .action(async (flags: ServeFlags, cmd: Command) => {
      // A server for as long as it runs: its memory stays at what the requests need.
      keepYoungGenerationSmall();
      keepOldGenerationTight();
      const root = registryRoot(cmd);
      const { loadRegistryConfig } = await import("../../registry/index.js");
      const { startRegistry } = await import("../../registry/index.js");
      const config = loadRegistryConfig({
        ...(flags.config ? { file: flags.config } : {}),
        overrides: {
          ...(flags.addr ? { addr: flags.addr } : {}),
          ...(root ? { root } : {}),
          ...(flags.metricsAddr !== undefined ? { metrics: { addr: flags.metricsAddr } } : {}),
          ...(flags.autoCrossMount !== undefined
            ? { storage: { autoCrossMount: flags.autoCrossMount } }
            : {}),
          ...(flags.maxConnections !== undefined
            ? { http: { maxConnections: countFlag("--max-connections", flags.maxConnections) } }
            : {}),
          ...(flags.tlsCert || flags.tlsKey
            ? { tls: { cert: flags.tlsCert ?? "", key: flags.tlsKey ?? "" } }
            : {}),
          ...(flags.auth || flags.htpasswd
            ? {
                auth: {
                  ...(flags.auth ? { mode: flags.auth } : {}),
                  ...(flags.htpasswd ? { htpasswd: flags.htpasswd } : {}),
                },
              }
            : {}),
        },
      });
      const running = await startRegistry(config);
      process.stderr.write(`pier registry serving ${running.url} (data in ${config.root})\n`);
      if (running.metricsUrl)
        process.stderr.write(`pier registry metrics on ${running.metricsUrl}/metrics\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          void running.close().then(resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });

  registry
    .command("gc")
    .description("delete blobs (and with --untagged, manifests) that nothing references")
    .option("--root <dir>", ROOT_HELP)
    .option("--dry-run", "only report what would be deleted")
    .option("--untagged", "also delete manifests that no tag reaches")
    .option("--grace <seconds>", "keep anything newer than this (default 3600)")
    .option("--format <format>", "table or json", "table")
    .action(
      async (
        flags: { dryRun?: boolean; untagged?: boolean; grace?: string; format: string },
        cmd: Command,
      ) => {
        const format = parseFormat(flags.format);
        const { registryGc } = await import("../../registry/index.js");
        const report = await registryGc({
          root: registryRoot(cmd) ?? DEFAULT_REGISTRY_ROOT,
          dryRun: flags.dryRun === true,
          untagged: flags.untagged === true,
          ...(flags.grace !== undefined ? { graceSeconds: Number(flags.grace) } : {}),
        });
        if (format === "json") return printJson(report);
        const verb = report.dryRun ? "would delete" : "deleted";
        for (const m of report.manifestsDeleted)
          process.stdout.write(`${verb} manifest ${m.repo}@${m.digest}\n`);
        for (const b of report.blobsDeleted) process.stdout.write(`${verb} blob ${b}\n`);
        for (const u of report.uploadsCancelled)
          process.stdout.write(`${report.dryRun ? "would cancel" : "cancelled"} upload ${u}\n`);
        for (const f of report.ingestRemoved)
          process.stdout.write(`removed leftover ${f} of an interrupted upload\n`);
        process.stdout.write(`${report.dryRun ? "would free" : "freed"} ${report.bytesFreed} bytes\n`);
      },
    );

  registry
    .command("htpasswd")
    .description(
      "add or update a user (bcrypt) in an htpasswd file; the password is read from stdin or asked for",
    )
    .argument("<user>", "user name")
    .option("--file <file>", "htpasswd file", "/etc/pier/htpasswd")
    .action(async (user: string, flags: { file: string }) => {
      const { htpasswdSet } = await import("../../registry/index.js");
      const password = await readPassword(`password for ${user}: `);
      if (password === "") throw new Error("htpasswd: empty password");
      await htpasswdSet(flags.file, user, password);
      process.stdout.write(`${user} set in ${flags.file}\n`);
    });
}
