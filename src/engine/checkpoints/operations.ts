/**
 * The engine's checkpoints (Docker's `checkpoint create|ls|rm`, `start --checkpoint`, podman's
 * `checkpoint --export` / `restore --import`, `pier migrate`): a checkpoint is a directory in
 * podman's layout (see `podman-format.ts`) under `<root>/containers/<id>/checkpoints/<name>`
 * (Docker's place) or under a `--checkpoint-dir`; its archive is podman's, so each side
 * restores the other's. Dumps and restores go through the container service (CRIU through
 * the runtime); packing and unpacking through `archive.ts`.
 */

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import { normalizeImageName, type ResolvedImage } from "../../image/image-store.js";
import { applyLayerFile, resolveInRoot, storeLayer } from "../../layer/index.js";
import type { Digest } from "../../oci/digest.js";
import { MediaType } from "../../oci/media-types.js";
import { hostPlatform } from "../../oci/platform.js";
import type { Spec } from "../../oci/runtime-spec/config.js";
import type { Descriptor, ImageConfig, ImageManifest } from "../../oci/types.js";
import type { Credentials } from "../../remote/index.js";
import { parseSignal } from "../../runtime/lifecycle/signals.js";
import { parseSpecText, specText } from "../containers/config.js";
import type { ContainerService } from "../containers/service.js";
import type { ContainerRecord } from "../containers/store.js";
import { EngineError } from "../error.js";
import type { EventLog } from "../events.js";
import { familiarName, type ImageOperations } from "../image-operations.js";
import {
  type ArchiveCompression,
  DEFAULT_MAX_ARCHIVE_BYTES,
  type PackedArchive,
  packCheckpoint,
  receiveArchive,
  unpackArchive,
} from "./archive.js";
import { CHECKPOINT_ANNOTATIONS, checkCheckpointImage, checkpointImageAnnotations } from "./image-format.js";
import { type MigrateOptions, type MigrationReport, migrateContainer } from "./migrate.js";
import {
  CHECKPOINT_FILES,
  type ConfigDump,
  configDump,
  importedConfig,
  networkStatus,
  parseConfigDump,
  parseDeletedFiles,
  parseSpecDump,
  previousAddress,
  previousMac,
  restoreSpec,
} from "./podman-format.js";

/** Docker's checkpoint names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** runc's default CRIU configuration file (what the runtime reads without the annotation). */
const RUNC_CRIU_CONF = "/etc/criu/runc.conf";
/** Largest JSON document of an archive that is read (config.dump, spec.dump, …). */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** Options of {@link CheckpointOperations.create}. */
export interface CheckpointCreateOptions {
  /** The checkpoint's name (default: `checkpoint-<time>`). */
  name?: string;
  /** Keep checkpoints in `<dir>/<name>` instead of the container's own directory. */
  checkpointDir?: string;
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  signal?: AbortSignal;
}

/** One checkpoint of a container (`docker checkpoint ls`). */
export interface CheckpointSummary {
  name: string;
  /** The container it was made of. */
  container: string;
  checkpointedAt: string;
  dir: string;
}

/** Options of {@link CheckpointOperations.createImage}. */
export interface CheckpointImageOptions {
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  /** The layer's compression (default zstd). */
  compression?: ArchiveCompression;
  signal?: AbortSignal;
  /** Called once CRIU's dump is complete, before the layer is packed (a migration's phases). */
  onDumped?: () => void;
}

/** A checkpoint image made by {@link CheckpointOperations.createImage}. */
export interface CheckpointImage {
  /** Its full name. */
  name: string;
  /** Its manifest's digest. */
  digest: string;
  /** Its layer's size in bytes. */
  size: number;
  /** The digest of its subject, the container's image (absent when that is gone). */
  subject?: string;
}

/** Options of {@link CheckpointOperations.importArchive}. */
export interface CheckpointImportOptions {
  /** The new container's name (default: the checkpointed container's). */
  name?: string;
  /** Refuse archives larger than this (default {@link DEFAULT_MAX_ARCHIVE_BYTES}). */
  maxBytes?: number;
  signal?: AbortSignal;
}

function readJsonFile(path: string, what: string): unknown {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new EngineError("INVALID_ARGUMENT", `invalid checkpoint archive: ${what} is missing`);
  }
  if (size > MAX_DOCUMENT_BYTES)
    throw new EngineError("INVALID_ARGUMENT", `invalid checkpoint archive: ${what} is larger than 16 MiB`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new EngineError(
      "INVALID_ARGUMENT",
      `invalid checkpoint archive: ${what}: ${(err as Error).message}`,
    );
  }
}

/**
 * An overlay upper directory's changes as podman records them: the paths of its whiteouts
 * (character devices 0/0: deleted files) and every other entry (to pack into rootfs-diff.tar).
 */
function upperChanges(upper: string): { deleted: string[]; changed: string[] } {
  const deleted: string[] = [];
  const changed: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = relative(upper, p);
      if (st.isCharacterDevice() && st.rdev === 0) {
        deleted.push(`/${rel}`);
        continue;
      }
      changed.push(rel);
      if (st.isDirectory()) walk(p);
    }
  };
  if (existsSync(upper)) walk(upper);
  return { deleted, changed };
}

function runTar(args: readonly string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn("tar", args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    tar.stderr.on("data", (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString();
    });
    tar.on("error", reject);
    tar.on("close", (code) =>
      code === 0 ? resolve() : reject(new EngineError("CREATE_FAILED", `tar failed: ${stderr.trim()}`)),
    );
    tar.stdin.end(input);
  });
}

const now = () => new Date().toISOString();

/** Checkpoints of containers, their archives, imports and migrations. */
export class CheckpointOperations {
  constructor(
    private readonly containers: ContainerService,
    private readonly images: ImageOperations,
    private readonly events: EventLog,
  ) {}

  /** The directory holding container `id`'s checkpoints (`checkpointDir` when given). */
  private baseDir(id: string, checkpointDir?: string): string {
    return checkpointDir || join(this.containers.dir(id), "checkpoints");
  }

  private checkpointPath(id: string, name: string, checkpointDir?: string): string {
    if (!NAME.test(name))
      throw new EngineError(
        "INVALID_ARGUMENT",
        `invalid checkpoint name ${JSON.stringify(name)}: [a-zA-Z0-9][a-zA-Z0-9_.-]+`,
      );
    return join(this.baseDir(id, checkpointDir), name);
  }

  /**
   * Checkpoints running container `ref` (`docker checkpoint create`): the container stops
   * unless `leaveRunning`. The directory is complete or absent: on any failure nothing stays.
   */
  async create(ref: string, opts: CheckpointCreateOptions = {}): Promise<CheckpointSummary> {
    const rec = this.containers.find(ref);
    if (rec.status !== "running")
      throw new EngineError("INVALID_STATE", `Container ${rec.id} is not running`);
    const name = opts.name || `checkpoint-${Date.now()}`;
    const dir = this.checkpointPath(rec.id, name, opts.checkpointDir);
    if (existsSync(dir))
      throw new EngineError(
        "NAME_CONFLICT",
        `checkpoint with name ${name} already exists for container ${rec.name}`,
      );
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      await this.dumpInto(rec, dir, opts);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.events.record("container", "checkpoint", rec.id, { name: rec.name, checkpoint: name });
    return { name, container: rec.id, checkpointedAt: now(), dir };
  }

  /** Writes the documents, dumps with CRIU and records the rootfs changes, all into `dir`. */
  private async dumpInto(rec: ContainerRecord, dir: string, opts: CheckpointCreateOptions): Promise<void> {
    const spec = readFileSync(join(this.containers.dir(rec.id), "config.json"), "utf8");
    const parsed = parseSpecText(spec);
    const attachment = this.containers.networks.attachment(rec.id);
    const checkpointedAt = now();
    const dump = configDump({
      id: rec.id,
      name: rec.name,
      imageName: rec.config.image,
      imageConfigDigest: await this.images.idOf(rec.imageId),
      createdAt: rec.createdAt,
      config: rec.config,
      args: parsed.process?.args ?? [],
      stopSignal: parseSignal(rec.config.stopSignal ?? "SIGTERM"),
      network: attachment?.network,
      tcpEstablished: opts.tcpEstablished === true,
      checkpointedAt,
    });
    writeFileSync(join(dir, CHECKPOINT_FILES.spec), spec, { mode: 0o600 });
    writeFileSync(join(dir, CHECKPOINT_FILES.config), JSON.stringify(dump), { mode: 0o600 });
    if (attachment?.network && attachment.address)
      writeFileSync(
        join(dir, CHECKPOINT_FILES.network),
        JSON.stringify(
          networkStatus(attachment.network, attachment.address, attachment.gateway, attachment.mac),
        ),
        { mode: 0o600 },
      );
    await this.containers.checkpointTask(rec.id, {
      imagePath: join(dir, CHECKPOINT_FILES.images),
      workPath: dir,
      leaveRunning: opts.leaveRunning === true,
      tcpEstablished: opts.tcpEstablished === true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await this.writeRootfsDiff(rec.id, dir);
  }

  /** `rootfs-diff.tar` and `deleted.files` from the container's overlay upper layer (podman's). */
  private async writeRootfsDiff(id: string, dir: string): Promise<void> {
    if (this.containers.snapshots.driver !== "overlay") return;
    const upper = join(this.containers.snapshots.containerDir(id), "upper");
    const { deleted, changed } = upperChanges(upper);
    if (deleted.length)
      writeFileSync(join(dir, CHECKPOINT_FILES.deleted), JSON.stringify(deleted), { mode: 0o600 });
    if (changed.length === 0) return;
    await runTar(
      [
        "-C",
        upper,
        "--numeric-owner",
        "--no-recursion",
        "--null",
        "-cf",
        join(dir, CHECKPOINT_FILES.rootfsDiff),
        "-T",
        "-",
      ],
      changed.map((p) => `${p}\0`).join(""),
    );
  }

  /** Container `ref`'s checkpoints (`docker checkpoint ls`), oldest first. */
  list(ref: string, checkpointDir?: string): CheckpointSummary[] {
    const rec = this.containers.find(ref);
    const base = this.baseDir(rec.id, checkpointDir);
    if (!existsSync(base)) return [];
    const rows: CheckpointSummary[] = [];
    for (const name of readdirSync(base)) {
      const dir = join(base, name);
      if (!NAME.test(name) || !existsSync(join(dir, CHECKPOINT_FILES.images))) continue;
      let checkpointedAt = "";
      try {
        const dump = parseConfigDump(
          readJsonFile(join(dir, CHECKPOINT_FILES.config), CHECKPOINT_FILES.config),
        );
        if (dump.id !== rec.id) continue;
        checkpointedAt = dump.pierConfig?.checkpointedAt ?? "";
      } catch {
        continue;
      }
      rows.push({ name, container: rec.id, checkpointedAt, dir });
    }
    return rows.sort((a, b) => a.checkpointedAt.localeCompare(b.checkpointedAt));
  }

  /** Removes checkpoint `name` of container `ref` (`NOT_FOUND` when there is none). */
  async remove(ref: string, name: string, checkpointDir?: string): Promise<void> {
    const rec = this.containers.find(ref);
    const dir = this.existing(rec, name, checkpointDir);
    await rm(dir, { recursive: true, force: true });
  }

  private existing(rec: ContainerRecord, name: string, checkpointDir?: string): string {
    const dir = this.checkpointPath(rec.id, name, checkpointDir);
    if (!existsSync(join(dir, CHECKPOINT_FILES.images)))
      throw new EngineError("NOT_FOUND", `checkpoint ${name} does not exist for container ${rec.name}`);
    return dir;
  }

  /**
   * Starts container `ref` from its checkpoint `name` (`docker start --checkpoint`): the
   * processes go on where they were; the checkpoint stays.
   */
  async start(ref: string, name: string, checkpointDir?: string): Promise<ContainerRecord> {
    const rec = this.containers.find(ref);
    const dir = this.existing(rec, name, checkpointDir);
    const dump = parseConfigDump(readJsonFile(join(dir, CHECKPOINT_FILES.config), CHECKPOINT_FILES.config));
    if (dump.id !== rec.id)
      throw new EngineError(
        "INVALID_ARGUMENT",
        `checkpoint ${name} was made of container ${dump.id}, not ${rec.id}`,
      );
    return this.restoreFrom(rec, dir, dump);
  }

  /**
   * `address` unless another container here holds it (a checkpoint restored next to the running
   * original): then the restore takes a new one, as podman's `--ignore-static-ip` would.
   */
  private addressIfFree(id: string, address: string | undefined): string | undefined {
    if (!address) return undefined;
    const ip = address.split("/")[0];
    const taken = this.containers
      .list()
      .some((c) => c.id !== id && this.containers.networks.attachment(c.id)?.address?.split("/")[0] === ip);
    return taken ? undefined : address;
  }

  private async restoreFrom(rec: ContainerRecord, dir: string, dump: ConfigDump): Promise<ContainerRecord> {
    // CRIU's restore.log of the last restore stays here (runc leaves it in its work path).
    const work = join(this.containers.execRoot, "containers", rec.id, "criu-restore");
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true, mode: 0o700 });
    try {
      const status = existsSync(join(dir, CHECKPOINT_FILES.network))
        ? readJsonFile(join(dir, CHECKPOINT_FILES.network), CHECKPOINT_FILES.network)
        : undefined;
      const address = this.addressIfFree(rec.id, previousAddress(status));
      const mac = previousMac(status);
      return await this.containers.restoreTask(rec.id, {
        imagePath: join(dir, CHECKPOINT_FILES.images),
        workPath: work,
        tcpEstablished: dump.pierConfig?.tcpEstablished === true,
        ...(address ? { previousAddress: address } : {}),
        ...(mac ? { previousMac: mac } : {}),
      });
    } catch (err) {
      // CRIU's log says why: keep it with the error's path.
      const log = join(work, "restore.log");
      if (existsSync(log) && err instanceof Error && !err.message.includes(log))
        err.message = `${err.message} (criu log: ${log})`;
      throw err;
    }
  }

  /**
   * Packs checkpoint `name` of container `ref` as a podman archive. The caller reads the stream
   * and awaits `done`.
   */
  exportCheckpoint(
    ref: string,
    name: string,
    compression: ArchiveCompression,
    checkpointDir?: string,
  ): PackedArchive {
    const rec = this.containers.find(ref);
    return packCheckpoint(this.existing(rec, name, checkpointDir), compression);
  }

  /**
   * Checkpoints `ref` into a scratch directory and packs it (`pier checkpoint create --export`,
   * podman's `checkpoint --export`): the directory goes once the archive is read.
   */
  async createArchive(
    ref: string,
    compression: ArchiveCompression,
    opts: Omit<CheckpointCreateOptions, "name" | "checkpointDir"> & { fast?: boolean } = {},
  ): Promise<PackedArchive> {
    const { fast, ...createOpts } = opts;
    const rec = this.containers.find(ref);
    const scratch = join(this.containers.root, "checkpoint-work", randomBytes(8).toString("hex"));
    const made = await this.create(rec.id, { ...createOpts, name: "export", checkpointDir: scratch });
    const packed = packCheckpoint(made.dir, compression, { fast: fast === true });
    const cleanup = () => rm(scratch, { recursive: true, force: true }).catch(() => {});
    packed.done.then(cleanup, cleanup);
    return packed;
  }

  /**
   * Imports a podman or pier checkpoint archive as a new container and restores it
   * (`pier restore --import`, podman's `restore --import`): its image must be here
   * (`IMAGE_NOT_FOUND` otherwise). On any failure nothing of it stays.
   */
  async importArchive(source: Readable, opts: CheckpointImportOptions = {}): Promise<ContainerRecord> {
    const work = join(this.containers.root, "checkpoint-work", randomBytes(8).toString("hex"));
    const unpacked = join(work, "x");
    mkdirSync(unpacked, { recursive: true, mode: 0o700 });
    try {
      await receiveArchive(source, join(work, "archive"), opts.maxBytes ?? DEFAULT_MAX_ARCHIVE_BYTES);
      await unpackArchive(join(work, "archive"), unpacked, opts.signal);
      rmSync(join(work, "archive"), { force: true });
      return await this.restoreUnpacked(unpacked, opts);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Restores the unpacked checkpoint in `unpacked` (podman's layout) as a new container: its
   * image must be here (`IMAGE_NOT_FOUND` otherwise). On any failure nothing of it stays.
   */
  private async restoreUnpacked(unpacked: string, opts: CheckpointImportOptions): Promise<ContainerRecord> {
    let created: ContainerRecord | undefined;
    try {
      const dump = parseConfigDump(
        readJsonFile(join(unpacked, CHECKPOINT_FILES.config), CHECKPOINT_FILES.config),
      );
      const dumped = parseSpecDump(
        readJsonFile(join(unpacked, CHECKPOINT_FILES.spec), CHECKPOINT_FILES.spec),
      );
      const deleted = existsSync(join(unpacked, CHECKPOINT_FILES.deleted))
        ? parseDeletedFiles(readJsonFile(join(unpacked, CHECKPOINT_FILES.deleted), CHECKPOINT_FILES.deleted))
        : [];
      const config = importedConfig(dump, dumped);
      try {
        await this.containers.images.resolve(config.image);
      } catch (err) {
        throw new EngineError(
          "IMAGE_NOT_FOUND",
          `the checkpoint's image ${config.image} is not on this host: pull it first`,
          { cause: err },
        );
      }
      created = await this.containers.create(config, opts.name || dump.name, opts.signal);
      this.prepareBundle(created.id, dumped);
      const rootfs = this.containers.snapshots.rootfs(created.id);
      if (existsSync(join(unpacked, CHECKPOINT_FILES.rootfsDiff)))
        await applyLayerFile(rootfs, join(unpacked, CHECKPOINT_FILES.rootfsDiff), { compression: "none" });
      for (const p of deleted) rmSync(resolveInRoot(rootfs, p), { recursive: true, force: true });
      return await this.restoreFrom(created, unpacked, dump);
    } catch (err) {
      if (created) await this.containers.remove(created.id, true, true).catch(() => {});
      throw err;
    }
  }

  /**
   * Checkpoints `ref` into a new local image `imageName` (podman's `checkpoint --create-image`,
   * its format: see `image-format.ts`), whose `subject` is the container's image. The container
   * stops unless `leaveRunning`. Nothing stays of a failed attempt but unnamed blobs (collected).
   */
  async createImage(
    ref: string,
    imageName: string,
    opts: CheckpointImageOptions = {},
  ): Promise<CheckpointImage> {
    const name = normalizeImageName(imageName);
    if (name === undefined)
      throw new EngineError("INVALID_ARGUMENT", `invalid image name ${JSON.stringify(imageName)}`);
    const rec = this.containers.find(ref);
    const scratch = join(this.containers.root, "checkpoint-work", randomBytes(8).toString("hex"));
    try {
      const { onDumped, ...createOpts } = opts;
      const made = await this.create(rec.id, { ...createOpts, name: "image", checkpointDir: scratch });
      onDumped?.();
      const dump = parseConfigDump(
        readJsonFile(join(made.dir, CHECKPOINT_FILES.config), CHECKPOINT_FILES.config),
      );
      const store = this.images.service.store;
      const packed = packCheckpoint(made.dir, "none");
      const [layer] = await Promise.all([
        storeLayer(store.content, packed.stream, { compression: opts.compression ?? "zstd" }),
        packed.done,
      ]);
      const subject = await this.imageRoot(rec.imageId);
      const created = now();
      const config: ImageConfig = {
        created,
        architecture: hostPlatform().architecture,
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: [layer.diffId] },
        history: [{ created, created_by: `pier checkpoint ${rec.name}` }],
      };
      const configBytes = Buffer.from(JSON.stringify(config));
      const configInfo = await store.content.ingest(configBytes);
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: configInfo.digest, size: configInfo.size },
        layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
        ...(subject ? { subject } : {}),
        annotations: checkpointImageAnnotations(dump, subject?.digest),
      };
      const manifestInfo = await store.content.ingest(Buffer.from(JSON.stringify(manifest)));
      const descriptor: Descriptor = {
        mediaType: MediaType.OciManifest,
        digest: manifestInfo.digest,
        size: manifestInfo.size,
      };
      await store.layout.set(name, { ...descriptor, platform: hostPlatform() });
      this.events.record("image", "tag", configInfo.digest, { name: familiarName(name) });
      return {
        name,
        digest: descriptor.digest,
        size: layer.size,
        ...(subject ? { subject: subject.digest } : {}),
      };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** The root descriptor (index or manifest) the local image with manifest `manifest` is named by. */
  private async imageRoot(manifest: string): Promise<Descriptor | undefined> {
    const image = (await this.images.local()).find((i) => i.manifest === manifest || i.root === manifest);
    if (!image) return undefined;
    const named = (await this.images.service.store.list()).find((s) => s.descriptor.digest === image.root);
    if (!named) return undefined;
    const { mediaType, digest, size } = named.descriptor;
    return { mediaType, digest, size };
  }

  /**
   * Checkpoints `ref` as image `target` ({@link createImage}) and pushes it to its registry
   * (`pier checkpoint push`); the image stays in the local store too.
   */
  async pushImage(
    ref: string,
    target: string,
    opts: CheckpointImageOptions & { credentials?: Credentials } = {},
  ): Promise<CheckpointImage> {
    const made = await this.createImage(ref, target, opts);
    await this.images.push(made.name, undefined, opts.credentials);
    return made;
  }

  /**
   * Restores the checkpoint image `ref` (pier's, podman's or CRI-O's) as a new container
   * (`pier restore IMAGE`, podman's `container restore IMAGE`): pulled first when not here, and
   * so is the checkpointed container's image, both through the trust policy of every pull.
   */
  async restoreImage(
    ref: string,
    opts: CheckpointImportOptions & { credentials?: Credentials } = {},
  ): Promise<ContainerRecord> {
    const store = this.images.service.store;
    let image: ResolvedImage;
    try {
      image = await store.resolveImage(ref);
    } catch {
      await this.images.pull(ref, undefined, opts.credentials);
      image = await store.resolveImage(ref);
    }
    checkCheckpointImage(ref, image.manifest);
    const base = image.manifest.annotations?.[CHECKPOINT_ANNOTATIONS.rootfsImageName];
    if (base) {
      try {
        await this.containers.images.resolve(base);
      } catch {
        await this.images.pull(base, undefined, opts.credentials);
      }
    }
    const layer = image.manifest.layers[0]!;
    const work = join(this.containers.root, "checkpoint-work", randomBytes(8).toString("hex"));
    mkdirSync(work, { recursive: true, mode: 0o700 });
    try {
      await unpackArchive(store.content.blobPath(layer.digest as Digest), work, opts.signal);
      return await this.restoreUnpacked(work, opts);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Migrates running container `ref` to the pierd at `to` (a socket path, `unix://` or
   * `tcp://HOST:PORT`): see `migrate.ts`.
   */
  migrate(ref: string, to: string, opts: MigrateOptions = {}): Promise<MigrationReport> {
    return migrateContainer(this.containers, this, ref, to, opts);
  }

  /** Rewrites a new container's config.json so that CRIU finds every mount it dumped. */
  private prepareBundle(id: string, dumped: Spec): void {
    const dir = this.containers.dir(id);
    const own = parseSpecText(readFileSync(join(dir, "config.json"), "utf8"));
    const mountsDir = join(dir, "checkpoint-mounts");
    const sourceFor = (dest: string) => join(mountsDir, dest.replace(/[^A-Za-z0-9_.-]/g, "_"));
    const { spec, replacements } = restoreSpec(own, dumped, sourceFor);
    // This engine made the root filesystem anew: its root directory's mode may differ from the
    // other engine's (podman's storage makes it 0555 for a layer without a `./` entry, pier
    // 0755), which CRIU's file checks would refuse. A CRIU configuration file (runc's
    // `org.criu.config` annotation) skips that check, keeping runc's default file's settings.
    const annotations = { ...spec.annotations };
    if (annotations["org.criu.config"] === undefined) {
      const conf = join(dir, "criu-restore.conf");
      const defaults = existsSync(RUNC_CRIU_CONF) ? readFileSync(RUNC_CRIU_CONF, "utf8") : "";
      writeFileSync(
        conf,
        `${defaults}${defaults && !defaults.endsWith("\n") ? "\n" : ""}skip-file-rwx-check\n`,
      );
      annotations["org.criu.config"] = conf;
      spec.annotations = annotations;
    }
    for (const r of replacements) {
      mkdirSync(mountsDir, { recursive: true, mode: 0o755 });
      if (r.kind === "directory") mkdirSync(sourceFor(r.destination), { recursive: true, mode: 0o1777 });
      else writeFileSync(sourceFor(r.destination), "", { mode: 0o644 });
    }
    writeFileSync(join(dir, "config.json"), specText(spec));
  }
}
