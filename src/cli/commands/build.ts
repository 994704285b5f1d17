/**
 * `pier build`: builds an image from a Dockerfile (or Containerfile) into the local store, with
 * BuildKit's plain progress (`#N [stage k/n] INSTRUCTION`, the RUN output, `#N CACHED` or
 * `#N DONE 0.3s`). Base images the store lacks are pulled as `pier pull` does. `--output` and
 * `--push` also export the result (`src/build/output.ts`).
 */
import type { Command } from "commander";
import { collect } from "../args.js";
import { commandIo } from "../io.js";
import { openStore } from "../store.js";

interface BuildFlags {
  tag?: string[];
  file?: string;
  buildArg?: string[];
  target?: string;
  noCache?: boolean;
  label?: string[];
  secret?: string[];
  progress?: string;
  compression?: "gzip" | "zstd" | "none";
  quiet?: boolean;
  output?: string[];
  push?: boolean;
  cacheFrom?: string[];
  cacheTo?: string;
}

/** `K=V` pairs into a map; a bare `K` takes the value of the caller's environment, as docker does. */
function pairs(
  list: readonly string[],
  what: string,
  env: Record<string, string | undefined>,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq === 0) throw new Error(`${what}: "${item}" has no name`);
    if (eq < 0) {
      const v = env[item];
      if (v !== undefined) out.set(item, v);
    } else out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** `--secret id=ID,src=FILE` into id → file. */
function secrets(list: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of list) {
    const kv = new Map(
      s.split(",").map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)] as const),
    );
    const id = kv.get("id");
    const src = kv.get("src") ?? kv.get("source");
    if (!id || !src) throw new Error(`--secret ${s}: expected id=ID,src=FILE`);
    out.set(id, src);
  }
  return out;
}

/** Registers `pier build` on `program`. */
export function registerBuildCommand(program: Command): void {
  program
    .command("build")
    .description("build an image from a Dockerfile (or Containerfile) and a context directory")
    .argument("<context>", "the build context directory")
    .option("-t, --tag <name>", "name of the image (repeatable)", collect)
    .option("-f, --file <path>", "the Dockerfile (default: CONTEXT/Dockerfile, else CONTEXT/Containerfile)")
    .option("--build-arg <K=V>", "a build argument (repeatable)", collect)
    .option("--target <stage>", "build this stage (default: the last)")
    .option("--no-cache", "run every step, reusing no cached layer")
    .option("--label <k=v>", "a label on the image (repeatable)", collect)
    .option("--secret <id=ID,src=FILE>", "a secret for RUN --mount=type=secret (repeatable)", collect)
    .option(
      "--progress <mode>",
      "plain or tty (default: plain; tty shows the same lines on a terminal)",
      "plain",
    )
    .option("--compression <alg>", "layer compression: gzip, zstd or none (default gzip)")
    .option(
      "-o, --output <spec>",
      "also export: type=oci|docker,dest=FILE, type=oci,tar=false,dest=DIR, type=registry, type=local,dest=DIR (repeatable)",
      collect,
    )
    .option("--push", "push the image to its registry (--output type=registry)")
    .option(
      "--cache-from <spec>",
      "read build cache from a registry: type=registry,ref=REF (repeatable)",
      collect,
    )
    .option("--cache-to <spec>", "write the build cache to a registry: type=registry,ref=REF[,mode=min|max]")
    .option("-q, --quiet", "print only the image id")
    .action(async (context: string, f: BuildFlags & { cache?: boolean }, cmd: Command) => {
      const io = commandIo();
      if (f.progress !== "plain" && f.progress !== "tty" && f.progress !== "auto")
        throw new Error(`--progress: plain, tty or auto, not "${f.progress}"`);
      if (
        f.compression !== undefined &&
        f.compression !== "gzip" &&
        f.compression !== "zstd" &&
        f.compression !== "none"
      )
        throw new Error(`--compression: gzip, zstd or none, not "${f.compression}"`);
      const { exportBuild, parseOutputs } = await import("../../build/output.js");
      const outputs = parseOutputs([...(f.output ?? []), ...(f.push ? ["type=registry"] : [])], f.tag ?? []);
      if (
        f.compression !== undefined &&
        outputs.compression !== undefined &&
        f.compression !== outputs.compression
      )
        throw new Error(
          `--compression ${f.compression} and --output compression=${outputs.compression} disagree`,
        );
      const compression = f.compression ?? outputs.compression ?? "gzip";
      // The registry cache's module (and the HTTP client under it) loads only when asked for.
      const { parseCacheSpec } =
        f.cacheFrom?.length || f.cacheTo !== undefined
          ? await import("../../build/registry-cache.js")
          : { parseCacheSpec: undefined };
      const cacheFrom = (f.cacheFrom ?? []).map((v) => parseCacheSpec!(v, "--cache-from"));
      const cacheTo = f.cacheTo === undefined ? undefined : parseCacheSpec!(f.cacheTo, "--cache-to");
      const pushed = outputs.outputs.flatMap((o) => (o.type === "registry" ? o.names : []));
      const registries = [...pushed, ...cacheFrom.map((c) => c.ref), ...(cacheTo ? [cacheTo.ref] : [])];
      // The registry client loads only when a registry is involved (a local build needs none).
      const remoteFor = async (refs: string[]) => {
        const { remoteOptions, registryOf } = await import("./remote.js");
        return await remoteOptions({}, await Promise.all(refs.map(registryOf)));
      };
      const remote = registries.length > 0 ? await remoteFor(registries) : {};
      const { resolve, join } = await import("node:path");
      const { buildImage, readDockerfile } = await import("../../build/builder.js");
      const { renderPlainProgress } = await import("../../build/progress.js");
      const store = await openStore(cmd);
      const dir = resolve(io.cwd, context);
      const dockerfile = await readDockerfile(
        dir,
        f.file === undefined ? undefined : resolve(io.cwd, f.file),
      );
      const render = renderPlainProgress((line) => (f.quiet ? undefined : io.stderr(line)));
      const result = await buildImage({
        store,
        buildRoot: join(store.root, "build"),
        context: dir,
        contextHashCache: true,
        dockerfile,
        tags: f.tag ?? [],
        buildArgs: pairs(f.buildArg ?? [], "--build-arg", io.env),
        ...(f.target !== undefined ? { target: f.target } : {}),
        noCache: f.cache === false,
        labels: Object.fromEntries(pairs(f.label ?? [], "--label", {})),
        secrets: secrets(f.secret ?? []),
        compression,
        cacheFrom,
        ...(cacheTo ? { cacheTo } : {}),
        remote,
        pull: async (ref) => {
          io.stderr(`pulling ${ref}\n`);
          // As `pier pull` does: loopback registries speak plain HTTP, registries.conf applies.
          const { pull } = await import("../../remote/index.js");
          await pull(ref, { ...(await remoteFor([ref])), storeRoot: store.root });
        },
        progress: render,
      });
      if (!f.quiet) {
        for (const n of result.names) io.stderr(`naming to ${n} done\n`);
      }
      await exportBuild(outputs.outputs, {
        store,
        manifest: result.manifest.digest,
        remote,
        progress: (line) => (f.quiet ? undefined : io.stderr(`${line}\n`)),
      });
      io.stdout(`${result.id}\n`);
    });
}
