/**
 * The registry client commands (`pier pull/push/copy/login/logout/tags/manifest inspect/referrers/
 * artifact`), thin shells over `src/remote`.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { RemoteOptions } from "../../remote/index.js";
import { collect, parseCount } from "../args.js";
import { parseFormat, printJson } from "../output.js";
import { ProgressRenderer, type ProgressVerbs, PULL_VERBS, PUSH_VERBS } from "../progress.js";

/** Flags of {@link addRemoteFlags} and the transfer commands. */
export interface RemoteFlags {
  insecure?: boolean;
  insecureRegistry?: string[];
  caCert?: string;
  creds?: string;
  authfile?: string;
  platform?: string;
  allPlatforms?: boolean;
  concurrency?: number;
  quiet?: boolean;
  referrers?: boolean;
  policy?: string;
  "registries.d"?: string;
  signByKey?: string;
  signPassphraseFile?: string;
  signReferrers?: boolean;
  registriesConf?: string;
}

/** Registries that speak plain HTTP without being asked: loopback ones, as Docker allows. */
function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Adds the flags every registry command takes (plain HTTP, CA, credentials). */
export function addRemoteFlags(cmd: Command): Command {
  return cmd
    .option(
      "--insecure",
      "allow plain HTTP (and self-signed certificates are still refused) for every registry",
    )
    .option("--insecure-registry <host[:port]>", "allow plain HTTP for this registry (repeatable)", collect)
    .option("--ca-cert <file>", "also trust this PEM CA certificate")
    .option("--creds <user[:password]>", "credentials for this command (else ~/.docker/config.json)")
    .option("--authfile <file>", "Docker-style config.json with credentials")
    .option(
      "--registries-conf <file>",
      "registries.conf (mirrors, blocked, short names) instead of $PIER_REGISTRIES_CONF, $CONTAINERS_REGISTRIES_CONF, ~/.config/containers or /etc/containers",
    );
}

function addTransferFlags(cmd: Command): Command {
  return addRemoteFlags(cmd)
    .option("--platform <os/arch[/variant]>", "platform to pick from an index (default: this host's)")
    .option("--all-platforms", "copy every platform of an index")
    .option("--concurrency <n>", "blobs transferred in parallel (default 4)", parseCount)
    .option("--referrers", "also copy referrers (signatures, SBOMs) of what is copied")
    .option("-q, --quiet", "no progress output");
}

/** The registry client options the flags of {@link addRemoteFlags} ask for. */
export async function remoteOptions(
  f: RemoteFlags,
  registriesInUse: readonly string[],
): Promise<RemoteOptions> {
  const insecure = [...(f.insecureRegistry ?? []), ...registriesInUse.filter(isLoopbackRegistry)];
  const { defaultSources, loadRegistriesConfig } = await import("../../remote/index.js");
  const sources = defaultSources();
  if (f.registriesConf) sources.file = f.registriesConf;
  const opts: RemoteOptions = {
    insecure: f.insecure === true ? true : insecure,
    registries: loadRegistriesConfig(sources),
  };
  if (f.caCert) opts.caCert = await readFile(f.caCert);
  if (f.authfile) opts.configPath = f.authfile;
  if (f.creds !== undefined) {
    const colon = f.creds.indexOf(":");
    opts.credentials =
      colon < 0
        ? { username: f.creds, password: "" }
        : { username: f.creds.slice(0, colon), password: f.creds.slice(colon + 1) };
  }
  return opts;
}

async function transferOptions(
  f: RemoteFlags,
  registries: readonly string[],
  verbs: ProgressVerbs,
  cmd: Command,
) {
  const { parsePlatform } = await import("../../oci/platform.js");
  const renderer = new ProgressRenderer({ quiet: f.quiet === true, verbs });
  const root = (cmd.optsWithGlobals() as { root?: string }).root;
  return {
    renderer,
    options: {
      ...(await remoteOptions(f, registries)),
      ...(root ? { storeRoot: root } : {}),
      ...(f.platform ? { platform: parsePlatform(f.platform) } : {}),
      ...(f.allPlatforms ? { allPlatforms: true } : {}),
      ...(f.concurrency !== undefined ? { concurrency: f.concurrency } : {}),
      ...(f.referrers ? { referrers: true } : {}),
      onProgress: renderer.listener,
    },
  };
}

/** The registry a reference names. */
export async function registryOf(ref: string): Promise<string> {
  const { parseReference } = await import("../../oci/reference.js");
  return parseReference(ref).registry;
}

/** The trust policy gate `--policy`/`--registries.d` (or skopeo's defaults) ask for. */
async function policyOptions(f: RemoteFlags) {
  const { trustGate } = await import("../../trust/index.js");
  const admit = await trustGate(f.policy, f["registries.d"]);
  return admit ? { admit } : {};
}

/**
 * With `--sign-by-key`: the key opened now (so a wrong passphrase fails before the transfer) and
 * a function signing the pushed digest under the destination's name.
 */
async function signerFor(
  f: RemoteFlags,
): Promise<((ref: string, digest: string, opts: RemoteOptions) => Promise<void>) | undefined> {
  if (!f.signByKey) return undefined;
  const { openPrivateKey } = await import("./trust.js");
  const key = await openPrivateKey(f.signByKey, f.signPassphraseFile);
  return async (ref, digest, opts) => {
    const { signImage } = await import("../../trust/index.js");
    const { parseReference } = await import("../../oci/reference.js");
    const r = parseReference(ref);
    const signed = await signImage(r.withDigest(digest), {
      ...opts,
      key,
      identity: r.toString(),
      ...(f.signReferrers ? { referrers: true } : {}),
    });
    for (const s of signed) process.stdout.write(`Signed ${s.digest} as ${s.identity}\n`);
  };
}

/** Registers the registry client commands on `program`. */
export function registerRemoteCommands(program: Command): void {
  const policyFlags = (cmd: Command): Command =>
    cmd
      .option("--policy <file>", "containers-policy.json to enforce (default: skopeo's, when present)")
      .option("--registries.d <dir>", "registries.d directory: where signatures live (default: skopeo's)");
  const signFlags = (cmd: Command): Command =>
    cmd
      .option("--sign-by-key <file>", "sign what is pushed with this sigstore private key")
      .option("--sign-passphrase-file <file>", "the key's passphrase (first line; else stdin or asked for)")
      .option("--sign-referrers", "also store the signature as an OCI 1.1 referrer");
  const transfers = [
    { name: "pull", description: "pull an image from a registry into the local store", verbs: PULL_VERBS },
    { name: "push", description: "push an image of the local store to its registry", verbs: PUSH_VERBS },
  ] as const;
  for (const t of transfers) {
    const c = addTransferFlags(
      program.command(t.name).description(t.description).argument("<ref>", "image reference"),
    );
    (t.name === "pull" ? policyFlags(c) : signFlags(c)).action(
      async (ref: string, f: RemoteFlags, cmd: Command) => {
        const { pull, push } = await import("../../remote/index.js");
        const { renderer, options } = await transferOptions(f, [await registryOf(ref)], t.verbs, cmd);
        if (t.name === "pull") {
          const { terminalPrompt } = await import("../prompt.js");
          const prompt = terminalPrompt();
          const result = await pull(ref, {
            ...options,
            ...(await policyOptions(f)),
            ...(prompt ? { prompt } : {}),
          }).finally(() => renderer.finish());
          process.stdout.write(`Digest: ${result.digest}\n`);
          return;
        }
        const signer = await signerFor(f);
        const result = await push(ref, options).finally(() => renderer.finish());
        process.stdout.write(`Digest: ${result.digest}\n`);
        if (signer) await signer(ref, result.digest, options);
      },
    );
  }

  signFlags(
    policyFlags(
      addTransferFlags(
        program
          .command("copy")
          .description(
            "copy an image between transports: docker://REF, oci:DIR[:TAG], oci-archive:FILE, docker-archive:FILE, or a store name",
          )
          .argument("<src>", "source")
          .argument("<dst>", "destination")
          .option("--format <format>", "convert manifests to oci or docker")
          .option("--dest-compress <alg>", "recompress layers: gzip or zstd"),
      ),
    ),
  ).action(
    async (
      src: string,
      dst: string,
      f: RemoteFlags & { format?: string; destCompress?: string },
      cmd: Command,
    ) => {
      const { copy } = await import("../../remote/index.js");
      const { parseTransport } = await import("../../remote/index.js");
      const registries = [src, dst].flatMap((t) => {
        const spec = parseTransport(t);
        return spec.kind === "docker" ? [spec.ref.registry] : [];
      });
      if (f.format !== undefined && f.format !== "oci" && f.format !== "docker")
        cmd.error(`error: --format: oci or docker, not "${f.format}"`);
      if (f.destCompress !== undefined && f.destCompress !== "gzip" && f.destCompress !== "zstd") {
        cmd.error(`error: --dest-compress: gzip or zstd, not "${f.destCompress}"`);
      }
      const { renderer, options } = await transferOptions(f, registries, PULL_VERBS, cmd);
      const dstSpec = parseTransport(dst);
      if (f.signByKey && dstSpec.kind !== "docker") {
        cmd.error("error: --sign-by-key: the destination must be a registry (docker://)");
      }
      const signer = await signerFor(f);
      const result = await copy(src, dst, {
        ...options,
        ...(await policyOptions(f)),
        ...(f.format ? { format: f.format as "oci" | "docker" } : {}),
        ...(f.destCompress ? { destCompress: f.destCompress as "gzip" | "zstd" } : {}),
      }).finally(() => renderer.finish());
      process.stdout.write(`Digest: ${result.digest}\n`);
      if (signer && dstSpec.kind === "docker") await signer(dstSpec.ref.toString(), result.digest, options);
    },
  );

  addRemoteFlags(
    program
      .command("login")
      .description("log in to a registry and store the credentials in ~/.docker/config.json")
      .argument("<registry>", "registry host[:port]")
      .option("-u, --username <user>", "user name")
      .option("-p, --password <password>", "password (prefer --password-stdin)")
      .option("--password-stdin", "read the password from stdin"),
  ).action(
    async (
      registry: string,
      f: RemoteFlags & { username?: string; password?: string; passwordStdin?: boolean },
      cmd: Command,
    ) => {
      const { login } = await import("../../remote/index.js");
      if (!f.username) cmd.error("error: --username is required");
      let password = f.password ?? "";
      if (f.passwordStdin) {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        password = Buffer.concat(chunks)
          .toString("utf8")
          .replace(/\r?\n$/, "");
      }
      await login(registry, { username: f.username!, password }, await remoteOptions(f, [registry]));
      process.stdout.write("Login Succeeded\n");
    },
  );

  program
    .command("logout")
    .description("remove stored credentials of a registry")
    .argument("<registry>", "registry host[:port]")
    .option("--authfile <file>", "Docker-style config.json")
    .action(async (registry: string, f: { authfile?: string }) => {
      const { logout } = await import("../../remote/index.js");
      const removed = await logout(registry, f.authfile ? { configPath: f.authfile } : {});
      process.stdout.write(
        removed ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`,
      );
    });

  addRemoteFlags(
    program
      .command("tags")
      .description("list the tags of a repository")
      .argument("<repo>", "repository, e.g. localhost:5000/busybox")
      .option("--format <format>", "table or json", "table"),
  ).action(async (repo: string, f: RemoteFlags & { format: string }) => {
    const format = parseFormat(f.format);
    const { listTags } = await import("../../remote/index.js");
    const tags = await listTags(repo, await remoteOptions(f, [await registryOf(repo)]));
    if (format === "json") return printJson(tags);
    process.stdout.write(tags.map((t) => `${t}\n`).join(""));
  });

  const manifest = program.command("manifest").description("inspect manifests in a registry");
  addRemoteFlags(
    manifest
      .command("inspect")
      .description("print a manifest or index")
      .argument("<ref>", "image reference")
      .option("--raw", "print the bytes exactly as the registry serves them"),
  ).action(async (ref: string, f: RemoteFlags & { raw?: boolean }) => {
    const { inspectManifest } = await import("../../remote/index.js");
    const m = await inspectManifest(ref, await remoteOptions(f, [await registryOf(ref)]));
    if (f.raw) {
      process.stdout.write(m.bytes);
      return;
    }
    printJson({
      digest: m.digest,
      mediaType: m.mediaType,
      size: m.bytes.length,
      manifest: JSON.parse(m.bytes.toString("utf8")),
    });
  });

  addRemoteFlags(
    program
      .command("referrers")
      .description("list the artifacts (signatures, SBOMs, …) that refer to an image")
      .argument("<ref>", "image reference")
      .option("--artifact-type <type>", "only this artifact type")
      .option("--format <format>", "table or json", "table"),
  ).action(async (ref: string, f: RemoteFlags & { artifactType?: string; format: string }) => {
    const format = parseFormat(f.format);
    const { listReferrers } = await import("../../remote/index.js");
    const r = await listReferrers(ref, {
      ...(await remoteOptions(f, [await registryOf(ref)])),
      ...(f.artifactType ? { artifactType: f.artifactType } : {}),
    });
    if (format === "json") return printJson(r);
    for (const d of r.referrers)
      process.stdout.write(`${d.digest}  ${d.artifactType ?? d.mediaType}  ${d.size}\n`);
  });

  const artifact = program.command("artifact").description("push and pull OCI artifacts");
  addRemoteFlags(
    artifact
      .command("push")
      .description("push files as an OCI artifact")
      .argument("<ref>", "target reference")
      .argument("<files...>", "files, one layer each")
      .requiredOption("--artifact-type <type>", "the artifact's type, e.g. application/vnd.example.sbom")
      .option("--subject <ref>", "image the artifact refers to (same repository)")
      .option("-a, --annotation <key=value>", "manifest annotation (repeatable)", collect)
      .option("-q, --quiet", "no progress output"),
  ).action(
    async (
      ref: string,
      files: string[],
      f: RemoteFlags & { artifactType: string; subject?: string; annotation?: string[] },
    ) => {
      const { pushArtifact } = await import("../../remote/index.js");
      const { parseKeyValue } = await import("../args.js");
      const renderer = new ProgressRenderer({ quiet: f.quiet === true, verbs: PUSH_VERBS });
      const annotations = Object.fromEntries((f.annotation ?? []).map(parseKeyValue));
      const r = await pushArtifact(ref, files, {
        ...(await remoteOptions(f, [await registryOf(ref)])),
        artifactType: f.artifactType,
        ...(f.subject ? { subject: f.subject } : {}),
        ...(Object.keys(annotations).length ? { annotations } : {}),
        onProgress: renderer.listener,
      }).finally(() => renderer.finish());
      process.stdout.write(`Digest: ${r.digest}\n`);
    },
  );
  addRemoteFlags(
    artifact
      .command("pull")
      .description("pull an OCI artifact's files into a directory")
      .argument("<ref>", "artifact reference")
      .option("-o, --output <dir>", "directory to write the files to", ".")
      .option("-q, --quiet", "no progress output"),
  ).action(async (ref: string, f: RemoteFlags & { output: string }) => {
    const { pullArtifact } = await import("../../remote/index.js");
    const renderer = new ProgressRenderer({ quiet: f.quiet === true });
    const r = await pullArtifact(ref, f.output, {
      ...(await remoteOptions(f, [await registryOf(ref)])),
      onProgress: renderer.listener,
    }).finally(() => renderer.finish());
    for (const file of r.files) process.stdout.write(`${file}\n`);
  });
}
