/**
 * The Dockerfile builder: runs the stages a target needs, in order, each instruction on the
 * stage's config and root filesystem, and records the result in pier's image store. A step that
 * changes files (RUN, COPY, ADD, WORKDIR) becomes a layer packed by `src/layer` from the step's
 * overlay upper directory, and is cached under a key made of its parent's key, the instruction
 * (expanded), the state it runs in (Env, User, WorkingDir, Shell, build args) and the content
 * digest of what it copies — as BuildKit keys its cache, never by file times. The other
 * instructions only change the config, with a history entry each (`empty_layer`).
 */
import {
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  utimes,
  writeFile,
} from "node:fs/promises";
import { join, posix, resolve } from "node:path";
import { isErrno } from "../errors.js";
import { buildTime, writeImage } from "../image/build.js";
import { mergeEnv } from "../image/bundle-config.js";
import { resolveUser } from "../image/bundle-config-user.js";
import type { ImageStore } from "../image/image-store.js";
import { readUserFiles } from "../image/rootfs-files.js";
import { storeLayer } from "../layer/index.js";
import { type Digest, digestOf } from "../oci/digest.js";
import type { Compression } from "../oci/media-types.js";
import { hostPlatform, parsePlatform } from "../oci/platform.js";
import { parseReference } from "../oci/reference.js";
import type { Mount } from "../oci/runtime-spec/config.js";
import type { Descriptor, HistoryEntry, ImageConfig, Platform } from "../oci/types.js";
import type { RemoteOptions } from "../remote/index.js";
import { SourceTree } from "./context.js";
import { copyInto } from "./copy-step.js";
import { type Dockerfile, parseDockerfile } from "./dockerfile.js";
import { BuildError, syntaxError } from "./error.js";
import { expandWord, expandWords, type Lookup, splitRawWords } from "./expand.js";
import { checkInstruction, type Instruction, parseMountFlag } from "./instructions.js";
import { packUpper } from "./pack-step.js";
// Types only: the registry cache and RUN's runtime are loaded when a build needs them (a rebuild
// whose steps all hit loads neither the HTTP client nor the container runtime).
import type { CacheRecord, ImportedCache, RegistryCacheSpec } from "./registry-cache.js";
import { type AfterUnmount, type BuildLayer, LayerDirs, StageRootfs } from "./rootfs.js";
import { neededStages, planStages, type Stage, type StagePlan, stageByRef, targetStage } from "./stages.js";

/** What a build reports as it goes. */
export type BuildEvent =
  | { kind: "step"; id: number; stage: string; step: number; steps: number; text: string }
  | { kind: "cached"; id: number }
  | { kind: "done"; id: number; seconds: number; layer?: Digest }
  | { kind: "output"; id: number; data: Buffer }
  | { kind: "warning"; message: string };

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  store: ImageStore;
  /** State directory of builds: work dirs, cache records, cache mounts, runtime state. */
  buildRoot: string;
  /** The context directory. */
  context: string;
  /**
   * Keep the digests of the context's files between builds, keyed by their stat (under the
   * build root's `context-hashes/`), so that a rebuild does not read unchanged files again —
   * for a context directory that is built again and again (`pier build DIR`); pierd's contexts
   * are fresh directories, which would only fill it.
   */
  contextHashCache?: boolean;
  /** The Dockerfile's text and name (default: `Dockerfile`, else `Containerfile`, in the context). */
  dockerfile?: { text: string; name: string };
  /** Names to give the image. */
  tags?: string[];
  buildArgs?: ReadonlyMap<string, string>;
  target?: string;
  noCache?: boolean;
  /** Labels added to the final image (`--label`). */
  labels?: Record<string, string>;
  /** `RUN --mount=type=secret,id=ID` sources: id → host file. */
  secrets?: ReadonlyMap<string, string>;
  /** Fetches an image that the store lacks into it (a registry pull); absent: not found is an error. */
  pull?: (ref: string) => Promise<void>;
  compression?: Compression;
  /** Registry caches read on a local miss (`--cache-from`), in order. */
  cacheFrom?: readonly RegistryCacheSpec[];
  /** The registry cache written after the build (`--cache-to`). */
  cacheTo?: RegistryCacheSpec;
  /** How registries of `cacheFrom`/`cacheTo` are reached (credentials, plain HTTP). */
  remote?: RemoteOptions;
  /** Timestamps in seconds (default `SOURCE_DATE_EPOCH`, else now). */
  created?: number;
  progress?: (e: BuildEvent) => void;
}

/** What a build produced. */
export interface BuildResult {
  /** The image id (its config's digest, as Docker names images). */
  id: Digest;
  manifest: Descriptor;
  names: string[];
}

interface StageState {
  stage: Stage;
  config: ImageConfig;
  layers: BuildLayer[];
  /** The cache key of the last filesystem state. */
  key: string;
  /** ARGs in scope and their values. */
  args: Map<string, string | undefined>;
  fs: StageRootfs;
  /** CMD was set in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

/** Stages built at once: two keep a 2-core machine busy while one stage waits on I/O. */
const STAGE_CONCURRENCY = 2;

/** The default shell of RUN, CMD and ENTRYPOINT in shell form. */
const DEFAULT_SHELL = ["/bin/sh", "-c"];
const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Mount points the runtime creates that must not land in a step's layer when the image lacked them. */
const RUNTIME_MOUNT_POINTS = [
  "/proc",
  "/dev",
  "/sys",
  "/dev/pts",
  "/dev/shm",
  "/dev/mqueue",
  "/sys/fs/cgroup",
];

/** Reads the Dockerfile named by `-f` (relative to the working directory) or found in the context. */
export async function readDockerfile(
  context: string,
  file?: string,
): Promise<{ text: string; name: string }> {
  const candidates = file ? [file] : [join(context, "Dockerfile"), join(context, "Containerfile")];
  for (const path of candidates) {
    try {
      return { text: await readFile(path, "utf8"), name: posix.basename(path) };
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
    }
  }
  throw new BuildError(
    "NOT_FOUND",
    file ? `${file}: no such Dockerfile` : `no Dockerfile or Containerfile in ${context}`,
  );
}

/** Builds the image a Dockerfile describes. */
export async function buildImage(opts: BuildImageOptions): Promise<BuildResult> {
  return await new Builder(opts).build();
}

class Builder {
  private readonly df: Dockerfile;
  private readonly plan: StagePlan;
  private readonly buildArgs: ReadonlyMap<string, string>;
  private readonly usedArgs = new Set<string>();
  private readonly created: number;
  private readonly iso: string;
  private readonly done = new Map<number, StageState>();
  private work = "";
  private dirs!: LayerDirs;
  /** Views of images that COPY --from reads, removed with the build. */
  private readonly extraFs: StageRootfs[] = [];
  private context!: SourceTree;
  private nextId = 1;
  private nextTmp = 1;
  /** `--cache-from` caches, loaded at the start. */
  private imported: ImportedCache[] = [];
  /** Every file step of this build, with its stage (for `--cache-to`). */
  private readonly records: (CacheRecord & { stage: number })[] = [];

  private readonly o: BuildImageOptions;

  constructor(options: BuildImageOptions) {
    // Absolute: the runtime resolves a bundle's relative root path against the bundle, not here.
    const o = { ...options, buildRoot: resolve(options.buildRoot), context: resolve(options.context) };
    this.o = o;
    const file = o.dockerfile ?? { text: "", name: "Dockerfile" };
    this.df = parseDockerfile(file.text, file.name);
    this.buildArgs = o.buildArgs ?? new Map();
    this.plan = planStages(this.df, this.buildArgs);
    this.created = buildTime(o.created);
    this.iso = new Date(this.created * 1000).toISOString();
  }

  private emit(e: BuildEvent): void {
    this.o.progress?.(e);
  }

  async build(): Promise<BuildResult> {
    for (const w of this.df.warnings) this.emit({ kind: "warning", message: w });
    const target = targetStage(this.plan, this.o.target);
    const order = neededStages(this.plan, target, (ins, s) => this.stageRefsOf(ins, s));
    for (const n of this.plan.globalArgs.keys()) if (this.buildArgs.has(n)) this.usedArgs.add(n);
    await mkdir(this.o.buildRoot, { recursive: true });
    this.work = await mkdtemp(join(this.o.buildRoot, "work-"));
    this.dirs = new LayerDirs(this.o.store, this.o.buildRoot);
    try {
      this.context = await SourceTree.context(
        this.o.context,
        this.o.contextHashCache ? join(this.o.buildRoot, "context-hashes") : undefined,
      );
      for (const c of this.o.cacheFrom ?? [])
        this.imported.push(
          await (await import("./registry-cache.js")).ImportedCache.load(
            c.ref,
            this.o.remote ?? {},
            (message) => this.emit({ kind: "warning", message }),
          ),
        );
      await this.buildStages(order);
      const final = this.done.get(target.index)!;
      for (const name of this.buildArgs.keys())
        if (!this.usedArgs.has(name))
          this.emit({
            kind: "warning",
            message: `[Warning] One or more build-args [${name}] were not consumed`,
          });
      const result = await this.commit(final);
      if (this.o.cacheTo) await this.exportCache(this.o.cacheTo, target);
      return result;
    } finally {
      for (const c of this.imported) await c.close().catch(() => {});
      for (const s of this.done.values()) await s.fs.dispose().catch(() => {});
      for (const fs of this.extraFs) await fs.dispose().catch(() => {});
      await rm(this.work, { recursive: true, force: true });
    }
  }

  /**
   * Builds the stages of `order` (dependencies first), each as soon as the stages it builds on
   * or reads from are done, at most {@link STAGE_CONCURRENCY} at once — BuildKit's solver runs
   * independent branches of the graph in parallel too. A failure lets the running stages finish
   * (their mounts are then disposed) and is thrown.
   */
  private async buildStages(order: readonly number[]): Promise<void> {
    const jobs = new Map<number, Promise<void>>();
    let running = 0;
    const waiting: (() => void)[] = [];
    const slot = async () => {
      if (running >= STAGE_CONCURRENCY) await new Promise<void>((r) => waiting.push(r));
      running++;
    };
    const release = () => {
      running--;
      waiting.shift()?.();
    };
    for (const index of order) {
      const stage = this.plan.stages[index]!;
      const deps = new Set<number>();
      if (stage.baseStage !== undefined) deps.add(stage.baseStage);
      for (const ins of stage.instructions)
        for (const ref of this.stageRefsOf(ins, stage)) {
          const dep = stageByRef(this.plan, ref, index);
          if (dep) deps.add(dep.index);
        }
      const before = [...deps].map((d) => jobs.get(d)!);
      jobs.set(
        index,
        (async () => {
          await Promise.all(before);
          await slot();
          try {
            this.done.set(index, await this.buildStage(stage));
          } finally {
            release();
          }
        })(),
      );
    }
    const results = await Promise.allSettled(jobs.values());
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Pushes the records of this build (`mode=min`: the target's base chain only) to the registry. */
  private async exportCache(to: RegistryCacheSpec, target: Stage): Promise<void> {
    const chain = new Set<number>();
    for (
      let s: Stage | undefined = target;
      s;
      s = s.baseStage === undefined ? undefined : this.plan.stages[s.baseStage]
    )
      chain.add(s.index);
    const records = this.records.filter((r) => to.mode === "max" || chain.has(r.stage));
    const started = Date.now();
    const id = this.nextId++;
    this.emit({ kind: "step", id, stage: "cache", step: 1, steps: 1, text: `exporting cache to ${to.ref}` });
    const { exportCache } = await import("./registry-cache.js");
    await exportCache(
      this.o.store,
      records.map(({ key, layer }) => ({ key, layer })),
      to.ref,
      this.o.remote ?? {},
    );
    this.emit({ kind: "done", id, seconds: (Date.now() - started) / 1000 });
  }

  /** Stage references (`--from=`) of an instruction, expanded with the global args only. */
  private stageRefsOf(ins: Instruction, _s: Stage): string[] {
    const lookup = this.globalLookup();
    const refs: string[] = [];
    const from = ins.options.get("from")?.[0];
    if (from !== undefined) refs.push(expandWord(from, lookup, this.df.escape));
    for (const m of ins.options.get("mount") ?? []) {
      const f = parseMountFlag(m, this.df.file, ins.line).get("from");
      if (f !== undefined) refs.push(expandWord(f, lookup, this.df.escape));
    }
    return refs;
  }

  private globalLookup(): Lookup {
    return (n) =>
      this.plan.globalArgs.has(n) ? (this.buildArgs.get(n) ?? this.plan.globalArgs.get(n)) : undefined;
  }

  private async buildStage(stage: Stage): Promise<StageState> {
    const fs = new StageRootfs(this.dirs, join(this.work, `s${stage.index}`));
    // Disposed with the build even when the stage fails half-way.
    this.extraFs.push(fs);
    const state = await this.fromBase(stage, fs);
    const total = stage.instructions.length + 1;
    this.announce(stage, 1, total, `FROM ${stage.base}${stage.name ? ` AS ${stage.name}` : ""}`);
    const triggers = state.config.config?.OnBuild ?? [];
    if (state.config.config) delete state.config.config.OnBuild;
    for (const t of triggers) {
      const parsed = parseDockerfile(t, `${this.df.file} (ONBUILD of ${stage.base})`);
      for (const raw of parsed.instructions)
        await this.execute(state, checkInstruction(raw, parsed.file), 0, total);
    }
    for (const [i, ins] of stage.instructions.entries()) await this.execute(state, ins, i + 2, total);
    return state;
  }

  private announce(stage: Stage, step: number, steps: number, text: string): number {
    const id = this.nextId++;
    this.emit({ kind: "step", id, stage: stage.name ?? `stage-${stage.index}`, step, steps, text });
    return id;
  }

  private async fromBase(stage: Stage, fs: StageRootfs): Promise<StageState> {
    const host = hostPlatform();
    if (stage.platform !== undefined) {
      const p = parsePlatform(stage.platform);
      if (p.os !== host.os || p.architecture !== host.architecture)
        throw syntaxError(
          this.df.file,
          stage.from.line,
          `--platform=${stage.platform}: only the host's platform (${host.os}/${host.architecture}) can be built (no emulation)`,
        );
    }
    const base: Omit<StageState, "stage" | "fs"> = {
      config: emptyConfig(host, this.iso),
      layers: [],
      key: "scratch",
      args: new Map(),
      cmdSet: false,
    };
    if (stage.baseStage !== undefined) {
      const parent = this.done.get(stage.baseStage)!;
      base.config = structuredClone(parent.config);
      base.layers = [...parent.layers];
      base.key = parent.key;
    } else if (stage.base.toLowerCase() !== "scratch") {
      const image = await this.resolveImage(stage.base, stage.from.line);
      base.config = structuredClone(image.config);
      base.config.history ??= [];
      base.layers = image.manifest.layers.map(
        (l, i) => ({ ...l, diffId: image.config.rootfs.diff_ids[i]! }) as BuildLayer,
      );
      base.key = `image:${image.descriptor.digest}`;
    }
    base.config.config ??= {};
    return { stage, fs, ...base };
  }

  private async resolveImage(ref: string, line: number) {
    let name: string;
    try {
      name = parseReference(ref).toString();
    } catch (err) {
      throw syntaxError(this.df.file, line, `invalid image reference "${ref}": ${(err as Error).message}`);
    }
    try {
      return await this.o.store.resolveImage(name);
    } catch (err) {
      if (!this.o.pull)
        throw new BuildError("NOT_FOUND", `${this.df.file}:${line}: image ${ref} is not in the store`, {
          cause: err,
        });
    }
    await this.o.pull(name);
    return await this.o.store.resolveImage(name);
  }

  /** Variables in effect: ENV wins over ARG of the same name, as Docker says. */
  private lookup(s: StageState): Lookup {
    return (n) => {
      const env = envValue(s.config.config?.Env ?? [], n);
      if (env !== undefined) return env;
      return s.args.get(n);
    };
  }

  private history(s: StageState, createdBy: string, empty: boolean): void {
    const h: HistoryEntry = { created: this.iso, created_by: createdBy, comment: "buildkit.dockerfile.v0" };
    if (empty) h.empty_layer = true;
    s.config.history = [...(s.config.history ?? []), h];
  }

  private async execute(s: StageState, ins: Instruction, step: number, total: number): Promise<void> {
    const esc = this.df.escape;
    const lookup = this.lookup(s);
    const cfg = s.config.config!;
    const text = `${ins.keyword}${ins.flags.map((f) => ` --${f}`).join("")} ${ins.rest}`.trimEnd();
    const id = step > 0 ? this.announce(s.stage, step, total, text) : this.nextId++;
    const started = Date.now();
    const where = (m: string) => syntaxError(this.df.file, ins.line, m);
    switch (ins.keyword) {
      case "ENV":
      case "LABEL": {
        const pairs = keyValuePairs(ins, lookup, esc, where);
        if (ins.keyword === "ENV") {
          cfg.Env = mergeEnv(
            cfg.Env ?? [],
            pairs.map(([k, v]) => `${k}=${v}`),
          );
        } else {
          cfg.Labels = { ...(cfg.Labels ?? {}), ...Object.fromEntries(pairs) };
        }
        this.history(s, `${ins.keyword} ${pairs.map(([k, v]) => `${k}=${v}`).join(" ")}`, true);
        break;
      }
      case "ARG": {
        for (const word of splitRawWords(ins.rest, esc)) {
          const eq = word.indexOf("=");
          const name = eq < 0 ? word : word.slice(0, eq);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw where(`ARG: invalid name "${name}"`);
          let value = eq < 0 ? undefined : expandWord(word.slice(eq + 1), lookup, esc);
          if (eq < 0 && this.plan.globalArgs.has(name)) value = this.plan.globalArgs.get(name);
          if (this.buildArgs.has(name)) {
            value = this.buildArgs.get(name);
            this.usedArgs.add(name);
          }
          s.args.set(name, value);
        }
        this.history(s, `ARG ${ins.rest}`, true);
        break;
      }
      case "EXPOSE": {
        const ports = { ...(cfg.ExposedPorts ?? {}) };
        for (const p of expandWords(ins.rest, lookup, esc)) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!m) throw where(`EXPOSE: invalid port "${p}"`);
          const proto = (m[3] ?? "tcp").toLowerCase();
          const lo = Number(m[1]);
          const hi = m[2] ? Number(m[2]) : lo;
          if (lo < 1 || hi > 65535 || hi < lo) throw where(`EXPOSE: invalid port range "${p}"`);
          for (let n = lo; n <= hi; n++) ports[`${n}/${proto}`] = {};
        }
        cfg.ExposedPorts = ports;
        this.history(s, `EXPOSE ${ins.rest}`, true);
        break;
      }
      case "USER":
        cfg.User = expandWord(ins.rest, lookup, esc);
        this.history(s, `USER ${cfg.User}`, true);
        break;
      case "STOPSIGNAL":
        cfg.StopSignal = expandWord(ins.rest, lookup, esc);
        this.history(s, `STOPSIGNAL ${cfg.StopSignal}`, true);
        break;
      case "MAINTAINER":
        s.config.author = expandWord(ins.rest, lookup, esc);
        this.history(s, `MAINTAINER ${s.config.author}`, true);
        break;
      case "VOLUME": {
        const paths = ins.json ?? expandWords(ins.rest, lookup, esc);
        if (paths.length === 0 || paths.some((p) => p.trim() === "")) throw where("VOLUME: empty path");
        cfg.Volumes = { ...(cfg.Volumes ?? {}), ...Object.fromEntries(paths.map((p) => [p, {}])) };
        this.history(s, `VOLUME [${paths.join(" ")}]`, true);
        break;
      }
      case "SHELL":
        if (!ins.json || ins.json.length === 0)
          throw where("SHELL requires the arguments to be in JSON form");
        cfg.Shell = ins.json;
        this.history(s, `SHELL ${JSON.stringify(ins.json)}`, true);
        break;
      case "CMD":
      case "ENTRYPOINT": {
        const argv = ins.json ?? [...(cfg.Shell ?? DEFAULT_SHELL), ins.rest];
        if (ins.keyword === "CMD") {
          cfg.Cmd = argv;
          s.cmdSet = true;
        } else {
          cfg.Entrypoint = argv;
          if (!s.cmdSet) delete cfg.Cmd;
        }
        this.history(s, `${ins.keyword} ${JSON.stringify(argv)}`, true);
        break;
      }
      case "ONBUILD":
        cfg.OnBuild = [...(cfg.OnBuild ?? []), ins.rest];
        this.history(s, `ONBUILD ${ins.rest}`, true);
        break;
      case "HEALTHCHECK":
        cfg.Healthcheck = healthcheck(ins, where);
        this.history(s, `HEALTHCHECK ${ins.rest}`, true);
        break;
      case "WORKDIR": {
        const dir = posix.resolve(cfg.WorkingDir || "/", expandWord(ins.rest, lookup, esc));
        cfg.WorkingDir = dir;
        await this.fsStep(s, id, `WORKDIR ${dir}`, { dir }, async (root) => {
          await mkdir(resolveIn(root, dir), { recursive: true, mode: 0o755 });
          return undefined;
        });
        break;
      }
      case "RUN":
        await this.run(s, ins, id);
        break;
      case "COPY":
      case "ADD":
        await this.copy(s, ins, id);
        break;
      default:
        throw where(`unknown instruction: ${ins.keyword}`);
    }
    this.emit({ kind: "done", id, seconds: (Date.now() - started) / 1000 });
  }

  /**
   * A step that may change files: a cache hit reuses its layer; otherwise `action` runs on the
   * step's overlay and what changed becomes a layer (none when nothing changed).
   */
  private async fsStep(
    s: StageState,
    id: number,
    createdBy: string,
    inputs: Record<string, unknown>,
    action: (root: string, lowers: readonly string[], upper: string) => Promise<AfterUnmount | undefined>,
  ): Promise<void> {
    const cfg = s.config.config!;
    const key = digestOf(
      JSON.stringify({
        parent: s.key,
        createdBy,
        inputs,
        env: cfg.Env ?? [],
        user: cfg.User ?? "",
        workdir: cfg.WorkingDir ?? "",
        shell: cfg.Shell ?? null,
      }),
    );
    const record = join(this.o.buildRoot, "cache", `${key.slice("sha256:".length)}.json`);
    if (!this.o.noCache) {
      let hit = await this.readCache(record);
      for (const c of this.imported) {
        if (hit !== undefined) break;
        hit = await c.lookup(key, this.o.store);
        if (hit !== undefined) await this.writeCache(record, hit);
      }
      if (hit !== undefined) {
        // Last used now: `builder prune --filter until=` and --keep-storage keep what builds use.
        await utimes(record, new Date(), new Date()).catch(() => {});
        this.emit({ kind: "cached", id });
        this.addLayer(s, hit, createdBy);
        this.records.push({ key, layer: hit, stage: s.stage.index });
        s.key = key;
        return;
      }
    }
    const upper = await s.fs.step(s.layers, ({ merged, lowers, upper }) => action(merged, lowers, upper));
    let layer: BuildLayer | null = null;
    try {
      const empty = (await readdir(upper)).length === 0;
      if (
        !empty ||
        createdBy.startsWith("RUN") ||
        createdBy.startsWith("COPY") ||
        createdBy.startsWith("ADD")
      ) {
        const epoch = this.epoch();
        const tar = await packUpper(upper, epoch);
        const stored = await storeLayer(this.o.store.content, tar, {
          compression: this.o.compression ?? "gzip",
        });
        layer = {
          digest: stored.digest,
          diffId: stored.diffId,
          size: stored.size,
          mediaType: stored.mediaType,
        };
      }
    } catch (err) {
      await s.fs.drop(upper);
      throw err;
    }
    await this.writeCache(record, layer);
    this.addLayer(s, layer, createdBy);
    this.records.push({ key, layer, stage: s.stage.index });
    // The upper is the new layer's directory as overlayfs reads it: the next step stacks on it.
    if (layer) await s.fs.keep(upper, s.layers);
    else await s.fs.drop(upper);
    s.key = key;
  }

  private async writeCache(record: string, layer: BuildLayer | null): Promise<void> {
    await mkdir(join(this.o.buildRoot, "cache"), { recursive: true });
    // A temp name of this write alone: two builds may record the same step at once.
    const tmp = `${record}.${process.pid}.${this.nextTmp++}.tmp`;
    await writeFile(tmp, JSON.stringify({ layer }));
    await rename(tmp, record);
  }

  private epoch(): number | undefined {
    const e = process.env.SOURCE_DATE_EPOCH;
    return this.o.created ?? (e && /^\d+$/.test(e) ? Number(e) : undefined);
  }

  private addLayer(s: StageState, layer: BuildLayer | null, createdBy: string): void {
    if (layer) {
      s.layers.push(layer);
      s.config.rootfs = { type: "layers", diff_ids: [...s.config.rootfs.diff_ids, layer.diffId] };
    }
    this.history(s, createdBy, layer === null);
  }

  /** A cache record's layer (`null`: the step changed nothing), or `undefined` on a miss. */
  private async readCache(record: string): Promise<BuildLayer | null | undefined> {
    let v: { layer: BuildLayer | null };
    try {
      v = JSON.parse(await readFile(record, "utf8")) as { layer: BuildLayer | null };
    } catch {
      return undefined;
    }
    if (v.layer === null) return null;
    // The blob may have been collected since: then the step runs again.
    return (await this.o.store.content.info(v.layer.digest)) ? v.layer : undefined;
  }

  private async run(s: StageState, ins: Instruction, id: number): Promise<void> {
    const cfg = s.config.config!;
    const shell = cfg.Shell ?? DEFAULT_SHELL;
    let args: string[];
    if (ins.json) args = ins.json;
    else if (ins.heredocs.length === 1 && /^<<-?["']?\w+["']?$/.test(ins.rest.trim()))
      args = [...shell, ins.heredocs[0]!.content];
    else if (ins.heredocs.length > 0)
      args = [...shell, `${ins.rest}\n${ins.heredocs.map((h) => `${h.content}${h.name}\n`).join("")}`];
    else args = [...shell, ins.rest];
    const network = ins.options.get("network")?.[0] ?? "default";
    if (network !== "none" && network !== "default")
      throw syntaxError(
        this.df.file,
        ins.line,
        `RUN --network=${network}: only none and default are supported (host needs an entitlement)`,
      );
    if (ins.options.has("security"))
      throw new BuildError(
        "UNSUPPORTED",
        `${this.df.file}:${ins.line}: RUN --security needs the security.insecure entitlement, which pier does not grant`,
      );
    const lookup = this.lookup(s);
    const mounts: Mount[] = [];
    const mountInputs: string[] = [];
    /** What bind mounts show, by content (BuildKit keys a bind by its files, not its flag). */
    const mountContent: string[] = [];
    for (const m of ins.options.get("mount") ?? []) {
      const spec = parseMountFlag(expandWord(m, lookup, this.df.escape), this.df.file, ins.line);
      const { mount, content } = await this.runMount(s, spec, ins, cfg.WorkingDir || "/");
      mounts.push(mount);
      mountInputs.push(m);
      if (content !== undefined) mountContent.push(content);
    }
    // Build args in scope are in RUN's environment (not in the image's config).
    const argEnv = [...s.args].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
    const env = mergeEnv(argEnv, cfg.Env ?? [DEFAULT_PATH]);
    if (!env.some((e) => e.startsWith("PATH="))) env.unshift(DEFAULT_PATH);
    const createdBy = `RUN ${mountInputs.length ? `${mountInputs.map((m) => `--mount=${m}`).join(" ")} ` : ""}${args.join(" ")} # buildkit`;
    await this.fsStep(
      s,
      id,
      createdBy,
      { args, network, argEnv, mounts: mountInputs, ...(mountContent.length ? { mountContent } : {}) },
      async (root, lowers, upper) => {
        const { runStep } = await import("./run-step.js");
        const status = await runStep({
          rootfs: root,
          args,
          env,
          workdir: cfg.WorkingDir || "/",
          user: cfg.User ?? "",
          network,
          mounts,
          output: (data) => this.emit({ kind: "output", id, data }),
          stateRoot: join(this.o.buildRoot, "runtime"),
          scratch: this.work,
        });
        await dropMountPoints(lowers, upper, [...RUNTIME_MOUNT_POINTS, ...mounts.map((m) => m.destination)]);
        if (status !== 0)
          throw new BuildError(
            "RUN_FAILED",
            `${this.df.file}:${ins.line}: RUN ${args.slice(ins.json ? 0 : shell.length).join(" ")}: exit code ${status}`,
            {
              detail: { exitCode: status },
            },
          );
        return undefined;
      },
    );
  }

  /** One `RUN --mount` as a runtime mount, and for a bind what keys its content. */
  private async runMount(
    s: StageState,
    spec: Map<string, string>,
    ins: Instruction,
    workdir: string,
  ): Promise<{ mount: Mount; content?: string }> {
    const type = spec.get("type") ?? "bind";
    const target = spec.get("target") ?? spec.get("dst") ?? spec.get("destination");
    const where = (m: string) => syntaxError(this.df.file, ins.line, `--mount: ${m}`);
    const known: Record<string, string[]> = {
      bind: [
        "type",
        "target",
        "dst",
        "destination",
        "source",
        "src",
        "from",
        "ro",
        "readonly",
        "rw",
        "readwrite",
      ],
      cache: [
        "type",
        "target",
        "dst",
        "destination",
        "id",
        "sharing",
        "ro",
        "readonly",
        "mode",
        "uid",
        "gid",
      ],
      tmpfs: ["type", "target", "dst", "destination", "size"],
      secret: ["type", "target", "dst", "destination", "id", "required"],
    };
    if (!(type in known)) throw where(`type=${type} is not supported (bind, cache, tmpfs, secret)`);
    for (const k of spec.keys())
      if (!known[type]!.includes(k)) throw where(`option ${k} is not supported for type=${type}`);
    if (type === "secret") {
      const sid = spec.get("id") ?? posix.basename(target ?? "");
      if (!sid) throw where("a secret mount needs id= or target=");
      const src = this.o.secrets?.get(sid);
      if (src === undefined) throw where(`secret ${sid} was not given (--secret id=${sid},src=FILE)`);
      return {
        mount: {
          destination: target ?? `/run/secrets/${sid}`,
          type: "bind",
          source: src,
          options: ["rbind", "ro"],
        },
      };
    }
    if (target === undefined) throw where("target= is required");
    const destination = posix.resolve(workdir, target);
    if (type === "tmpfs") {
      const size = spec.get("size");
      return {
        mount: {
          destination,
          type: "tmpfs",
          source: "tmpfs",
          options: ["nosuid", "nodev", ...(size ? [`size=${size}`] : [])],
        },
      };
    }
    const ro = spec.has("ro") || spec.has("readonly");
    if (type === "cache") {
      const sharing = spec.get("sharing") ?? "shared";
      if (!["shared", "locked", "private"].includes(sharing)) throw where(`sharing=${sharing}`);
      const cid = spec.get("id") ?? destination;
      const dir = join(this.o.buildRoot, "cache-mounts", digestOf(cid).slice("sha256:".length));
      await mkdir(dir, { recursive: true, mode: Number.parseInt(spec.get("mode") ?? "755", 8) });
      const uid = Number(spec.get("uid") ?? 0);
      const gid = Number(spec.get("gid") ?? 0);
      await chown(dir, uid, gid);
      return { mount: { destination, type: "bind", source: dir, options: ["rbind", ro ? "ro" : "rw"] } };
    }
    // bind: read-only (BuildKit discards writes to a rw bind; pier refuses it rather than pretend).
    if (spec.has("rw") || spec.has("readwrite"))
      throw where("rw binds are not supported (BuildKit discards their writes); use a cache mount");
    const from = spec.get("from");
    let tree: SourceTree = this.context;
    let stageKey: string | undefined;
    if (from !== undefined) {
      const dep = stageByRef(this.plan, from, s.stage.index);
      if (!dep) throw where(`from=${from}: only earlier stages can be bound`);
      const st = this.done.get(dep.index)!;
      tree = new SourceTree(await st.fs.view(st.layers));
      stageKey = st.key;
    }
    const matched = (await tree.match(spec.get("source") ?? spec.get("src") ?? "."))[0]!;
    // The context as .dockerignore leaves it (another stage's root has no ignore rules).
    const source = await tree.bindSource(matched, this.work);
    const content = stageKey ?? (await tree.digest(await tree.entries(matched))).digest;
    return { mount: { destination, type: "bind", source, options: ["rbind", "ro"] }, content };
  }

  private async copy(s: StageState, ins: Instruction, id: number): Promise<void> {
    const lookup = this.lookup(s);
    const esc = this.df.escape;
    const where = (m: string) => syntaxError(this.df.file, ins.line, m);
    const isAdd = ins.keyword === "ADD";
    // BuildKit takes --checksum for URLs only, which pier refuses: never accept it unapplied.
    if (ins.options.has("checksum"))
      throw where("ADD --checksum applies to URL sources only, and pier refuses URLs");
    let words = ins.json
      ? ins.json.map((w) => expandWord(w, lookup, esc))
      : expandWords(ins.rest, lookup, esc);
    let tree = this.context;
    // COPY <<EOF /dest: the heredocs are the sources.
    if (ins.heredocs.length > 0) {
      const dir = await mkdtemp(join(this.work, "heredoc-"));
      for (const h of ins.heredocs) {
        await writeFile(join(dir, h.name), h.expand ? expandHeredoc(h.content, lookup) : h.content, {
          mode: 0o644,
        });
      }
      tree = new SourceTree(dir);
      words = words.map((w) => w.replace(/^<<-?["']?(\w+)["']?$/, "$1"));
    }
    if (words.length < 2) throw where(`${ins.keyword} requires at least two arguments`);
    const dest0 = words.at(-1)!;
    const srcs = words.slice(0, -1);
    for (const src of srcs) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
        if (!isAdd) throw where(`COPY cannot take a URL (${src}); ADD can`);
        throw new BuildError(
          "UNSUPPORTED",
          `${this.df.file}:${ins.line}: ADD ${src}: remote URLs are refused (pier builds offline); download it into the context`,
        );
      }
    }
    // Another stage or an image is keyed by its own key (its files are read on a miss only, as
    // BuildKit does); the context by the content digest of what is copied.
    let sourceTree: () => Promise<SourceTree> = async () => tree;
    /** The layer directories (top first) under another stage's or an image's view. */
    let sourceLayers: (() => Promise<string[]>) | undefined;
    let sourceKey: Record<string, unknown> | undefined;
    const from = ins.options.get("from")?.[0];
    if (from !== undefined) {
      if (isAdd) throw where("ADD has no --from (use COPY --from)");
      const ref = expandWord(from, lookup, esc);
      const dep = stageByRef(this.plan, ref, s.stage.index);
      if (dep) {
        const st = this.done.get(dep.index)!;
        sourceKey = { stage: st.key, srcs };
        sourceTree = async () => new SourceTree(await st.fs.view(st.layers));
        sourceLayers = () => st.fs.layerDirs(st.layers);
      } else {
        const image = await this.resolveImage(ref, ins.line);
        sourceKey = { image: image.descriptor.digest, srcs };
        sourceTree = async () => {
          const fs = new StageRootfs(this.dirs, await mkdtemp(join(this.work, "f")));
          this.extraFs.push(fs);
          const layers = image.manifest.layers.map(
            (l, i) => ({ ...l, diffId: image.config.rootfs.diff_ids[i]! }) as BuildLayer,
          );
          sourceLayers = () => fs.layerDirs(layers);
          return new SourceTree(await fs.view(layers));
        };
      }
    }
    const cfg = s.config.config!;
    const dest = posix.resolve(cfg.WorkingDir || "/", dest0) + (dest0.endsWith("/") ? "/" : "");
    const matchAll = async (t: SourceTree) => {
      const out: string[] = [];
      for (const src of srcs) out.push(...(await t.match(src)));
      return out;
    };
    /** Each context file's content digest as the key took it, for the copy to check. */
    let expected: Map<string, string> | undefined;
    if (sourceKey === undefined) {
      const matched = await matchAll(tree);
      const entries = [];
      for (const m of matched)
        entries.push(...(await tree.entries(m)).map((e) => ({ ...e, rel: `${m}/${e.rel}` })));
      const hashed = await tree.digest(entries);
      expected = new Map();
      for (const [i, e] of entries.entries()) if (hashed.files[i]) expected.set(e.host, hashed.files[i]!);
      sourceKey = { digest: hashed.digest, matched };
    }
    const chown = ins.options.get("chown")?.[0];
    const chmod = ins.options.get("chmod")?.[0];
    if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod))
      throw where(`--chmod=${chmod}: only octal modes are supported`);
    const createdBy = `${ins.keyword} ${ins.flags.map((f) => `--${f} `).join("")}${srcs.join(" ")} ${dest0} # buildkit`;
    await this.fsStep(
      s,
      id,
      createdBy,
      { source: sourceKey, dest, chown: chown ?? null, chmod: chmod ?? null },
      async (root, _lowers, upper) => {
        const t = await sourceTree();
        const matched = await matchAll(t);
        // The context's files belong to root in the image; another stage's keep their owners.
        let uid: number | undefined = from === undefined ? 0 : undefined;
        let gid: number | undefined = uid;
        if (chown !== undefined) {
          const spec = expandWord(chown, lookup, esc);
          const u = resolveUser(spec, await readUserFiles(root));
          uid = u.uid;
          // Docker: a user without a group gets the same number as its gid.
          gid = spec.includes(":") ? u.gid : u.uid;
        }
        // Files the source's layers hold unchanged are linked, not copied, when no --chown or
        // --chmod changes them (a link shares the inode: owner and mode must stay the source's).
        const linkFrom =
          sourceLayers !== undefined && chown === undefined && chmod === undefined
            ? { layers: await sourceLayers(), upper }
            : undefined;
        return await copyInto({
          root,
          tree: t,
          sources: matched,
          dest,
          destIsDir: dest0.endsWith("/") || srcs.length > 1 || matched.length > 1,
          owner: {
            ...(uid !== undefined ? { uid } : {}),
            ...(gid !== undefined ? { gid } : {}),
            ...(chmod !== undefined ? { mode: Number.parseInt(chmod, 8) } : {}),
          },
          extractArchives: isAdd,
          ...(expected ? { expected } : {}),
          ...(linkFrom ? { linkFrom } : {}),
        });
      },
    );
  }

  private async commit(s: StageState): Promise<BuildResult> {
    const config = s.config;
    config.created = this.iso;
    if (this.o.labels && Object.keys(this.o.labels).length > 0)
      config.config = { ...config.config, Labels: { ...(config.config?.Labels ?? {}), ...this.o.labels } };
    if (!config.config?.Env?.some((e) => e.startsWith("PATH=")))
      config.config = { ...config.config, Env: [DEFAULT_PATH, ...(config.config?.Env ?? [])] };
    const layers: Descriptor[] = s.layers.map((l) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
    }));
    const names = (this.o.tags ?? []).map((t) => parseReference(t).toString());
    const written = await writeImage(this.o.store, names, config, layers, platformOf(config));
    return { id: written.config.digest, manifest: written.manifest, names };
  }
}

function emptyConfig(p: Platform, iso: string): ImageConfig {
  return {
    created: iso,
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    config: { Env: [DEFAULT_PATH] },
    rootfs: { type: "layers", diff_ids: [] },
    history: [],
  };
}

function platformOf(c: ImageConfig): Platform {
  return { architecture: c.architecture, os: c.os, ...(c.variant ? { variant: c.variant } : {}) };
}

function envValue(env: readonly string[], name: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    if (e.startsWith(`${name}=`)) return e.slice(name.length + 1);
  }
  return undefined;
}

/** Resolves an absolute container path inside `root`. */
function resolveIn(root: string, path: string): string {
  return join(root, posix.normalize(`/${path}`));
}

/** ENV/LABEL pairs: `k=v …`, or the legacy `KEY value with spaces` form. */
function keyValuePairs(
  ins: Instruction,
  lookup: Lookup,
  esc: string,
  where: (m: string) => Error,
): [string, string][] {
  const words = splitRawWords(ins.rest, esc);
  if (words.length === 0) throw where(`${ins.keyword} requires at least one argument`);
  if (!words[0]!.includes("=")) {
    if (words.length < 2) throw where(`${ins.keyword} names must be followed by a value (${words[0]})`);
    const rest = ins.rest.trim().slice(words[0]!.length).trim();
    return [[expandWord(words[0]!, lookup, esc), expandWord(rest, lookup, esc)]];
  }
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw where(`${ins.keyword}: "${w}" is not key=value`);
    return [expandWord(w.slice(0, eq), lookup, esc), expandWord(w.slice(eq + 1), lookup, esc)];
  });
}

/** Expands `$VAR`/`${VAR…}` in a heredoc body, keeping quotes and newlines as written. */
function expandHeredoc(content: string, lookup: Lookup): string {
  return content.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, a: string, b: string) => lookup(a ?? b) ?? "",
  );
}

/** Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds. */
function durationNs(text: string, where: (m: string) => Error): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let pos = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== text.length || text === "") throw where(`invalid duration "${text}"`);
  return Math.round(total);
}

function healthcheck(ins: Instruction, where: (m: string) => Error): Record<string, unknown> {
  const m = /^(\S+)\s*(.*)$/s.exec(ins.rest.trim());
  const kind = m?.[1]?.toUpperCase();
  if (kind === "NONE") {
    if (ins.flags.length > 0 || m?.[2]) throw where("HEALTHCHECK NONE takes no arguments");
    return { Test: ["NONE"] };
  }
  if (kind !== "CMD") throw where("HEALTHCHECK: expected CMD or NONE");
  const rest = m![2]!;
  let json: string[] | undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) json = v as string[];
  } catch {}
  const hc: Record<string, unknown> = { Test: json ? ["CMD", ...json] : ["CMD-SHELL", rest] };
  const names: Record<string, string> = {
    interval: "Interval",
    timeout: "Timeout",
    "start-period": "StartPeriod",
    "start-interval": "StartInterval",
  };
  for (const [flag, field] of Object.entries(names)) {
    const v = ins.options.get(flag)?.[0];
    if (v !== undefined) hc[field] = durationNs(v, where);
  }
  const retries = ins.options.get("retries")?.[0];
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) throw where(`--retries=${retries}: not a number`);
    hc.Retries = Number(retries);
  }
  return hc;
}

/**
 * Removes from a step's upper directory the mount points the runtime created for it (a path the
 * lower tree lacked), so that `RUN --mount` targets and /proc, /dev… of a bare root never land in
 * the layer — as BuildKit does.
 */
async function dropMountPoints(
  lowers: readonly string[],
  upper: string,
  targets: readonly string[],
): Promise<void> {
  for (const t of targets) {
    const parts = posix.normalize(t).split("/").filter(Boolean);
    // The deepest path the lower lacked is removed with what the runtime put under it, if empty of writes.
    for (let k = 1; k <= parts.length; k++) {
      const rel = parts.slice(0, k).join("/");
      if (await existsInAny(lowers, rel)) continue;
      const up = join(upper, rel);
      const target = join(upper, ...parts);
      // Only what the runtime made: empty directories and the empty file of a file mount.
      const removeEmpty = async (p: string): Promise<void> => {
        const st = await lstat(p).catch(() => undefined);
        if (!st) return;
        if (st.isDirectory()) {
          for (const n of await readdir(p)) await removeEmpty(join(p, n));
          await rmdir(p).catch(() => {});
        } else if (p === target && st.isFile() && st.size === 0) {
          await rm(p, { force: true });
        }
      };
      await removeEmpty(up);
      break;
    }
  }
}

/** True when `rel` exists in one of the layer directories (a whiteout counts: the path was there). */
async function existsInAny(dirs: readonly string[], rel: string): Promise<boolean> {
  for (const d of dirs)
    if (
      await lstat(join(d, rel)).then(
        () => true,
        () => false,
      )
    )
      return true;
  return false;
}
